package access_test

import (
	"slices"
	"testing"

	"github.com/elevate-jit/elevate/internal/access"
)

// A grant that claimed a ledger entry as its creator and is revoked before it
// issued CreateAssignment must not strand another grant that joined the entry
// meanwhile: that grant waits for the entry to become active, which only the
// creator can make happen.
func TestCreatorRevokedBeforeCreatingHandsOverToCoHolder(t *testing.T) {

	f, ds := withDyingStore(t)
	a := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
	b := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
	f.claimOnly(ds, tenantA, a.GrantID) // A plans and claims the entry as its creator
	f.step(tenantA, b.GrantID)          // B joins the creating entry
	if e := must(f.store.GetLedgerEntry(f.ctx, assignment("alice", acct1, psReadOnly)))(t); e.Issuer != (access.Holder{TenantID: tenantA, GrantID: a.GrantID}) || !e.CreationIssuedAt.IsZero() {
		t.Fatalf("setup: ledger entry = %+v, want A its issuer, no creation issued yet", e)
	}
	must(f.svc.RevokeGrant(f.ctx, alice, a.GrantID, "not needed", nil))(t)
	f.deprovision(tenantA, a.GrantID)

	f.provision(tenantA, b.GrantID) // fails the test when B never finishes
	gb := f.grant(tenantA, b.GrantID)
	if gb.Status != access.GrantActive {
		t.Fatalf("B is %s, want active", gb.Status)
	}
	if got := f.ic.Assignments(); !slices.Equal(got, []access.AssignmentKey{assignment("alice", acct1, psReadOnly)}) {
		t.Errorf("Identity Center = %+v, want B's assignment", got)
	}
}

// Revoking a grant before it issued its creation must not delete an
// assignment Elevate never created: in Identity Center that deletes access
// someone else may have made meanwhile, or fails for a missing assignment.
func TestReleaseNeverDeletesAnAssignmentNeverCreated(t *testing.T) {

	f, ds := withDyingStore(t)
	r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
	f.claimOnly(ds, tenantA, r.GrantID)
	must(f.svc.RevokeGrant(f.ctx, alice, r.GrantID, "not needed", nil))(t)
	f.deprovision(tenantA, r.GrantID)
	if g := f.grant(tenantA, r.GrantID); g.Status != access.GrantRevoked {
		t.Fatalf("grant is %s", g.Status)
	}
	if c, d := f.ic.Calls("CreateAssignment"), f.ic.Calls("DeleteAssignment"); c != 0 || d != 0 {
		t.Errorf("CreateAssignment %d, DeleteAssignment %d; want neither for an assignment never created", c, d)
	}
}
