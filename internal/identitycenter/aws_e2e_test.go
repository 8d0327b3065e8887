package identitycenter_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/clock"
	"github.com/elevate-jit/elevate/internal/identitycenter"
	"github.com/elevate-jit/elevate/internal/store/memstore"
)

// noFlow is a Workflow and Scheduler that does nothing: the test drives the
// steps itself.
type noFlow struct{}

func (noFlow) StartApproval(context.Context, access.Request) error     { return nil }
func (noFlow) EndApproval(context.Context, access.Request) error       { return nil }
func (noFlow) StartProvisioning(context.Context, access.Grant) error   { return nil }
func (noFlow) StartDeprovisioning(context.Context, access.Grant) error { return nil }
func (noFlow) ScheduleExpiry(context.Context, access.Grant) error      { return nil }
func (noFlow) CancelExpiry(context.Context, access.Grant) error        { return nil }
func (noFlow) ScheduleStart(context.Context, access.Grant) error       { return nil }
func (noFlow) CancelStart(context.Context, access.Grant) error         { return nil }
func (noFlow) ScheduleNudge(context.Context, access.Request, access.Nudge) error {
	return nil
}
func (noFlow) CancelNudges(context.Context, access.Request) error { return nil }

// TestAWSServiceEndToEnd runs the domain on moto: an auto-approved
// read-only request on an account under the tenant's OU is provisioned,
// expired and taken away; standing access that existed before a grant
// survives the grant's end.
func TestAWSServiceEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ouA := e.ou(t, e.root, "e2e-"+randomHex(3))
	ouB := e.ou(t, ouA, "e2e-b")
	fresh := e.account(t, ouB, "fresh")
	standing := e.account(t, ouB, "standing")
	alice := e.createUser(t, "alice", "alice@example.com")
	readOnly := e.permissionSet(t, "ReadOnly-"+randomHex(3))
	e.assign(t, standing, readOnly, alice) // access alice had before Elevate

	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	store := memstore.New(memstore.WithClock(clk.Now))
	ic := e.newAWS(func(c *identitycenter.AWSConfig) { c.Now = clk.Now })
	cfg := access.Config{
		Store: store, Workflow: noFlow{}, Scheduler: noFlow{}, IdentityCenter: ic, DB: ic, Now: clk.Now,
	}
	svc := newDomain(cfg)
	ctx := e.ctx

	// moto's permission set ARNs have the form arn:aws:sso:::instance/ssoins-…/ps-…
	// (not …:permissionSet/…), which the catalog rightly rejects, so the
	// catalog and the assignable set are written to the store directly.
	ten := must(svc.CreateTenant(ctx, access.NewTenantInput{Name: "e2e", Boundary: e.boundary(ouA)}))(t)
	ten.Catalog = access.Catalog{access.ResourceAccount: {{Name: "ReadOnly", Description: "Read-only access", PermissionSetARN: readOnly}}}
	ten.Boundary.Assignable = []string{readOnly}
	ten.Revision++
	if err := store.Commit(ctx, access.Change{Tenants: []access.Tenant{ten}}); err != nil {
		t.Fatal(err)
	}
	requester := access.Principal{TenantID: ten.ID, ID: "alice", Kind: access.PrincipalUser, Role: access.RoleRequester, Groups: []string{"engineering"}}

	grant := func(account string) access.Grant {
		t.Helper()
		r := must(svc.CreateRequest(ctx, requester, access.CreateRequestInput{
			Resource: access.Resource{Type: access.ResourceAccount, ID: account},
			Action:   "ReadOnly", DurationSeconds: 3600, Justification: "INC-42: read the logs",
		}, nil))(t)
		if r.Status != access.RequestApproved || r.GrantID == "" {
			t.Fatalf("request is %s (%v), want auto-approved with a grant", r.Status, r.Notices)
		}
		for step := 1; ; step++ {
			done, err := svc.ProvisionGrant(ctx, ten.ID, r.GrantID)
			if err != nil {
				t.Fatalf("ProvisionGrant step %d: %v", step, err)
			}
			if done {
				break
			}
			if step == 20 {
				t.Fatalf("ProvisionGrant not done after %d steps", step)
			}
		}
		g := must(store.GetGrant(ctx, ten.ID, r.GrantID))(t)
		if g.Status != access.GrantActive || len(g.Assignments) != 1 {
			t.Fatalf("grant is %s with %d assignments (%v), want active with one", g.Status, len(g.Assignments), g.Notices)
		}
		return g
	}
	expire := func(g access.Grant) access.Grant {
		t.Helper()
		clk.Advance(g.ExpiresAt.Sub(clk.Now()) + time.Second)
		if got := must(svc.ExpireGrant(ctx, ten.ID, g.ID, g.Generation))(t); got.Status != access.GrantRevoking {
			t.Fatalf("grant is %s after ExpireGrant, want revoking", got.Status)
		}
		for step := 1; ; step++ {
			done, err := svc.DeprovisionGrant(ctx, ten.ID, g.ID)
			if err != nil {
				t.Fatalf("DeprovisionGrant step %d: %v", step, err)
			}
			if done {
				break
			}
			if step == 20 {
				t.Fatalf("DeprovisionGrant not done after %d steps", step)
			}
		}
		return must(store.GetGrant(ctx, ten.ID, g.ID))(t)
	}

	tests := []struct {
		name         string
		account      string
		wantExternal bool
		wantAfter    []string // users assigned the set in the account after the grant ends
	}{
		{"new access is created and taken away", fresh, false, nil},
		{"standing access is used and kept", standing, true, []string{alice}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := grant(tc.account)
			a := g.Assignments[0]
			if a.PrincipalID != alice || a.PermissionSetARN != readOnly || a.AccountID != tc.account || a.External != tc.wantExternal {
				t.Fatalf("assignment = %+v; want alice's %s in %s, external %v", a, readOnly, tc.account, tc.wantExternal)
			}
			if got := e.assigned(t, tc.account, readOnly); !slices.Equal(got, []string{alice}) {
				t.Fatalf("moto assignments while the grant is active = %v, want [alice]", got)
			}
			if ended := expire(g); ended.Status != access.GrantExpired {
				t.Fatalf("grant is %s after deprovisioning, want expired", ended.Status)
			}
			if got := e.assigned(t, tc.account, readOnly); !slices.Equal(got, tc.wantAfter) {
				t.Fatalf("moto assignments after the grant ended = %v, want %v", got, tc.wantAfter)
			}
		})
	}
}
