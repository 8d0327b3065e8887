package access_test

import (
	"slices"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// The regression tests of "trust at the seams": each reproduces an attack or
// a race that broke a promise Elevate makes in AWS, not only in HTTP.

// 1. The boundary belongs to the operator: a tenant admin cannot widen what
// the tenant may touch in AWS.
func TestTenantAdminCannotWidenTheBoundary(t *testing.T) {
	otherInstance := "arn:aws:sso:::instance/ssoins-0b5e8d2c7a9f3e14"
	str := func(s string) *string { return &s }
	mapping := access.MapUserID
	for _, c := range []struct {
		name  string
		patch access.TenantPatch
	}{
		{"instance", access.TenantPatch{Boundary: access.BoundaryPatch{InstanceARN: &otherInstance}}},
		{"identity store", access.TenantPatch{Boundary: access.BoundaryPatch{IdentityStoreID: str("d-1234567890")}}},
		{"identity mapping", access.TenantPatch{Boundary: access.BoundaryPatch{IdentityMapping: &mapping}}},
		{"wider roots", access.TenantPatch{AllowedRoots: &[]string{root, "r-gx01"}}},
		{"an account outside the roots", access.TenantPatch{AllowedRoots: &[]string{outside}}},
		{"the ceiling itself", access.TenantPatch{Boundary: access.BoundaryPatch{AllowedRoots: &[]string{root, "r-gx01"}}}},
		{"assignable sets", access.TenantPatch{Boundary: access.BoundaryPatch{Assignable: &[]string{}}}},
		{"a longer maximum than the ceiling", access.TenantPatch{MaxDuration: func() *time.Duration { d := 3 * time.Hour; return &d }()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.tenant(tenantA, func(in *access.NewTenantInput) {
				in.Boundary.MaxDuration = 2 * time.Hour
				in.Settings.MaxDuration = time.Hour
			})
			before := must(f.svc.GetTenant(f.ctx, ada))(t)
			_, err := f.svc.UpdateTenant(f.ctx, ada, c.patch, nil)
			wantCode(t, err, access.CodeForbidden)
			after := must(f.svc.GetTenant(f.ctx, ada))(t)
			if after.Revision != before.Revision {
				t.Errorf("the tenant changed: revision %d → %d", before.Revision, after.Revision)
			}
		})
	}
}

// A tenant admin may narrow the allowed roots within the operator's ceiling.
func TestTenantAdminMayNarrowTheRoots(t *testing.T) {
	f := withTenant(t)
	must(f.svc.UpdateTenant(f.ctx, ada, access.TenantPatch{AllowedRoots: &[]string{ouWork}}, nil))(t)
	// acct3 is under the security OU: no longer reachable.
	_, err := f.svc.CreateRequest(f.ctx, alice, readOnly(acct3), nil)
	wantCode(t, err, access.CodeForbidden)
	must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
}

// The catalog may name only permission sets the operator made assignable.
func TestCatalogNamesOnlyAssignablePermissionSets(t *testing.T) {
	f := withTenant(t)
	foreign := "arn:aws:sso:::permissionSet/" + instance + "/ps-9f8e7d6c5b4a3921"
	c := must(f.svc.GetCatalog(f.ctx, ada))(t)
	c[access.ResourceAccount] = append(c[access.ResourceAccount], access.CatalogAction{Name: "Everything", PermissionSetARN: foreign})
	_, err := f.svc.PutCatalog(f.ctx, ada, c)
	wantCode(t, err, access.CodeForbidden)
}

// 3. One ledger per Identity Center instance: two tenants on one instance
// share alice's assignment; one tenant's expiry does not take away the
// other's access.
func TestTwoTenantsOnOneInstanceShareTheAssignment(t *testing.T) {
	onEveryStore(t, func(t *testing.T, use func(*fixture)) {
		f := newFixtureOn(t, use)
		f.tenant(tenantA, nil)
		f.tenant(tenantB, nil) // the same instance, organization and catalog
		aliceB := user(tenantB, "alice", access.RoleRequester, "engineering", "oncall")
		key := assignment("alice", acct1, psReadOnly)

		ga := f.activeGrant(alice, readOnly(acct1))
		f.clock.Advance(10 * time.Minute)
		gb := f.activeGrant(aliceB, readOnly(acct1))
		if n := f.ic.Calls("CreateAssignment"); n != 1 {
			t.Errorf("CreateAssignment called %d times, want 1", n)
		}
		if a := gb.Assignments[0]; a.External {
			t.Errorf("tenant B took tenant A's assignment for standing access: %+v", a)
		}

		f.expire(ga)
		if got := f.ic.Assignments(); !slices.Equal(got, []access.AssignmentKey{key}) {
			t.Fatalf("tenant A's expiry removed the assignment tenant B's active grant needs: %+v", got)
		}
		if g := f.grant(tenantB, gb.ID); g.Status != access.GrantActive {
			t.Fatalf("tenant B's grant is %s", g.Status)
		}
		f.expire(f.grant(tenantB, gb.ID))
		if got := f.ic.Assignments(); len(got) != 0 {
			t.Errorf("after both ended: %+v, want none", got)
		}
	})
}

// 4. A revoke that meets a creation in flight: the grantee revokes their own
// auto-approved grant while Identity Center is still creating it. The grant
// may become revoked only once nothing it caused can still appear.
func TestRevokeMeetingACreationLeavesNothingBehind(t *testing.T) {
	onEveryStore(t, func(t *testing.T, use func(*fixture)) {
		f := newFixtureOn(t, use)
		f.tenant(tenantA, nil)
		f.ic.HoldCreations()
		r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
		f.ic.OnCreateAssignment(func(access.Assignment) {
			f.ic.OnCreateAssignment(nil)
			must(f.svc.RevokeGrant(f.ctx, alice, r.GrantID, "done already", nil))(t)
		})
		_, _ = f.steps.ProvisionGrant(f.ctx, tenantA, r.GrantID) // claims and issues the creation; the revoke lands meanwhile
		if f.ic.Calls("CreateAssignment") != 1 {
			t.Fatal("setup: the first step issued no creation")
		}

		for range 3 { // Identity Center is still creating the assignment
			done, err := f.steps.DeprovisionGrant(f.ctx, tenantA, r.GrantID)
			if err != nil {
				t.Fatal(err)
			}
			if done {
				break
			}
		}
		f.ic.ReleaseHeld()
		f.deprovision(tenantA, r.GrantID)
		if g := f.grant(tenantA, r.GrantID); g.Status != access.GrantRevoked {
			t.Fatalf("grant is %s, want revoked", g.Status)
		}
		if got := f.ic.Assignments(); len(got) != 0 {
			t.Fatalf("the grant is revoked but Identity Center holds %+v", got)
		}
	})
}

// An approval binds to what is granted: the permission set is the one the
// catalog named when the request was made, whatever the catalog says when
// the grant is provisioned.
func TestApprovalBindsToThePermissionSetAsked(t *testing.T) {
	f := withTenant(t)
	r := f.pending(alice, adminAccess(acct1))
	if r.PermissionSetARN != psAdmin {
		t.Fatalf("request names %q, want %s", r.PermissionSetARN, psAdmin)
	}
	c := must(f.svc.GetCatalog(f.ctx, ada))(t)
	for i, a := range c[access.ResourceAccount] {
		if a.Name == "Admin" {
			c[access.ResourceAccount][i].PermissionSetARN = psData
		}
	}
	must(f.svc.PutCatalog(f.ctx, ada, c))(t)
	approved := must(f.svc.Approve(f.ctx, carol, r.ID, "fine", nil))(t)
	f.provision(tenantA, approved.GrantID)
	g := f.grant(tenantA, approved.GrantID)
	if g.Status != access.GrantActive || len(g.Assignments) != 1 || g.Assignments[0].PermissionSetARN != psAdmin {
		t.Fatalf("grant %s assigns %+v, want %s as approved", g.Status, g.Assignments, psAdmin)
	}
}
