package access_test

import (
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// 2. Compare people, not spellings: the Identity Store matches user names
// whatever their case, so "ADA" is ada.
func TestNotYourselfComparesResolvedIdentities(t *testing.T) {
	t.Run("direct grant to an alias of yourself", func(t *testing.T) {
		f := withTenant(t)
		_, err := f.svc.CreateGrant(f.ctx, ada, access.CreateGrantInput{
			GranteeID: "ADA", Resource: access.Resource{Type: access.ResourceAccount, ID: acct1}, Action: "Admin",
			ExpiresAt: t0.Add(time.Hour), Reasoning: "me, myself",
		}, nil)
		wantCode(t, err, access.CodeForbidden)
	})
	t.Run("approving a request for an alias of yourself", func(t *testing.T) {
		f := withTenant(t)
		r := f.pending(alice, func() access.CreateRequestInput { in := adminAccess(acct1); in.GranteeID = "Carol"; return in }())
		_, err := f.svc.Approve(f.ctx, carol, r.ID, "looks fine", nil)
		wantCode(t, err, access.CodeForbidden)
	})
	t.Run("an unknown grantee is refused at create", func(t *testing.T) {
		f := withTenant(t)
		f.ic.SetUsers("ada", "carol", "alice", "bob")
		in := readOnly(acct1)
		in.GranteeID = "mallory"
		_, err := f.svc.CreateRequest(f.ctx, alice, in, nil)
		wantFields(t, err, "grantee_id")
	})
}

// Principals are (kind, id): a service key named like a user is not that user.
func TestServicePrincipalIsNotTheUserOfTheSameName(t *testing.T) {
	f := withTenant(t)
	g := f.activeGrant(alice, readOnly(acct1))
	impostor := access.Principal{TenantID: tenantA, ID: "alice", Kind: access.PrincipalService, Role: access.RoleRequester}
	if _, err := f.svc.GetGrant(f.ctx, impostor, g.ID); access.CodeOf(err) != access.CodeNotFound {
		t.Errorf("a service key named alice reads alice's grant: %v", err)
	}
	list := must(f.svc.ListGrants(f.ctx, impostor, access.GrantFilter{}, access.PageRequest{Limit: 10}))(t)
	if len(list.Items) != 0 {
		t.Errorf("a service key named alice lists %d of alice's grants", len(list.Items))
	}
	if _, err := f.svc.RevokeGrant(f.ctx, impostor, g.ID, "mine", nil); access.CodeOf(err) != access.CodeNotFound {
		t.Errorf("a service key named alice revokes alice's grant: %v", err)
	}
	r := f.pending(alice, adminAccess(acct1))
	if _, err := f.svc.Cancel(f.ctx, impostor, r.ID, nil); access.CodeOf(err) != access.CodeNotFound {
		t.Errorf("a service key named alice cancels alice's request: %v", err)
	}
}

// Elevate's own principals are reserved: no key, token or grantee claims them.
func TestReservedPrincipals(t *testing.T) {
	f := withTenant(t)
	for _, id := range []string{access.SystemPrincipalID, access.OperatorPrincipalID} {
		_, _, err := f.svc.CreateAPIKey(f.ctx, ada, access.NewAPIKeyInput{Name: "x", Role: access.RoleRequester, ServicePrincipal: id}, nil)
		wantFields(t, err, "service_principal")
		_, _, err = f.op.BootstrapAPIKey(f.ctx, tenantA, access.APIKey{Role: access.RoleAdmin, PrincipalID: id})
		wantFields(t, err, "principal_id")
		in := readOnly(acct1)
		in.GranteeID = id
		_, err = f.svc.CreateRequest(f.ctx, alice, in, nil)
		wantFields(t, err, "grantee_id")
	}
}
