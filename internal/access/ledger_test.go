package access_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

func TestLedgerSharedAssignment(t *testing.T) {
	f := withTenant(t)
	key := assignment("alice", acct1, psReadOnly)
	first := f.activeGrant(alice, readOnly(acct1))
	f.clock.Advance(10 * time.Minute)
	second := f.activeGrant(alice, readOnly(acct1))

	if got := f.ic.Assignments(); !slices.Equal(got, []access.AssignmentKey{key}) {
		t.Fatalf("Identity Center = %+v, want one assignment", got)
	}
	if n := f.ic.Calls("CreateAssignment"); n != 1 {
		t.Errorf("CreateAssignment called %d times, want 1", n)
	}
	if a := second.Assignments[0]; a.State != access.AssignmentActive {
		t.Errorf("second grant's assignment = %+v, want active", a)
	}
	e := must(f.store.GetLedgerEntry(f.ctx, key))(t)
	if !slices.Equal(e.Holders, held(tenantA, first.ID, second.ID)) || e.State != access.LedgerActive {
		t.Errorf("ledger entry = %+v", e)
	}

	// The first ends; the second still needs the assignment.
	if got := f.expire(first); got.Status != access.GrantExpired {
		t.Fatalf("first grant is %s, want expired", got.Status)
	}
	if got := f.ic.Assignments(); !slices.Equal(got, []access.AssignmentKey{key}) {
		t.Fatalf("Identity Center = %+v after the first grant ended, want the assignment kept", got)
	}
	if n := f.ic.Calls("DeleteAssignment"); n != 0 {
		t.Errorf("DeleteAssignment called %d times while another grant holds it", n)
	}
	if got := f.grant(tenantA, second.ID); got.Status != access.GrantActive {
		t.Errorf("second grant is %s", got.Status)
	}
	e = must(f.store.GetLedgerEntry(f.ctx, key))(t)
	if !slices.Equal(e.Holders, held(tenantA, second.ID)) {
		t.Errorf("holders = %v, want only the second grant", e.Holders)
	}

	// The second ends: now it goes.
	if got := f.expire(second); got.Status != access.GrantExpired {
		t.Fatalf("second grant is %s", got.Status)
	}
	if got := f.ic.Assignments(); len(got) != 0 {
		t.Errorf("Identity Center = %+v, want empty", got)
	}
	if n := f.ic.Calls("DeleteAssignment"); n != 1 {
		t.Errorf("DeleteAssignment called %d times, want 1", n)
	}
	if _, err := f.store.GetLedgerEntry(f.ctx, key); !isNotFound(err) {
		t.Errorf("ledger entry after both ended: %v", err)
	}
}

// isNotFound reports a store's not found or the domain's not_found.
func isNotFound(err error) bool {
	return errors.Is(err, access.ErrNotFound) || access.CodeOf(err) == access.CodeNotFound
}

func TestLedgerDifferentGrantees(t *testing.T) {
	f := withTenant(t)
	a := f.activeGrant(alice, readOnly(acct1))
	b := f.activeGrant(bob, readOnly(acct1))
	if n := len(f.ic.Assignments()); n != 2 {
		t.Fatalf("%d assignments for two grantees, want 2", n)
	}
	f.expire(a)
	if got := f.ic.Assignments(); !slices.Equal(got, []access.AssignmentKey{assignment("bob", acct1, psReadOnly)}) {
		t.Errorf("after alice's grant ended: %+v", got)
	}
	f.expire(b)
	if n := len(f.ic.Assignments()); n != 0 {
		t.Errorf("%d assignments left", n)
	}
}

func TestLedgerExternalAssignment(t *testing.T) {
	f := withTenant(t)
	key := assignment("alice", acct1, psReadOnly)
	f.ic.Preassign(access.Assignment{InstanceARN: key.InstanceARN, PermissionSetARN: key.PermissionSetARN, AccountID: key.AccountID, PrincipalID: key.PrincipalID})

	g := f.activeGrant(alice, readOnly(acct1))
	if a := g.Assignments[0]; !a.External || a.State != access.AssignmentActive {
		t.Errorf("assignment = %+v, want external, active, not created by the grant", a)
	}
	if n := f.ic.Calls("CreateAssignment"); n != 0 {
		t.Errorf("CreateAssignment called %d times for standing access", n)
	}
	if e := must(f.store.GetLedgerEntry(f.ctx, key))(t); !e.External {
		t.Errorf("ledger entry %+v is not external", e)
	}
	// A second grant joins the standing assignment too.
	f.clock.Advance(time.Minute)
	g2 := f.activeGrant(alice, readOnly(acct1))
	if a := g2.Assignments[0]; !a.External {
		t.Errorf("second assignment = %+v, want external", a)
	}

	for _, x := range []access.Grant{g, g2} {
		if got := f.expire(x); got.Status != access.GrantExpired {
			t.Fatalf("grant is %s, want expired", got.Status)
		}
		if got := f.ic.Assignments(); !slices.Equal(got, []access.AssignmentKey{key}) {
			t.Fatalf("standing access was removed: %+v", got)
		}
	}
	if n := f.ic.Calls("DeleteAssignment"); n != 0 {
		t.Errorf("DeleteAssignment called %d times on standing access", n)
	}
	if _, err := f.store.GetLedgerEntry(f.ctx, key); !isNotFound(err) {
		t.Errorf("ledger entry after the grants ended: %v", err)
	}
}

func TestLedgerDeletionFailure(t *testing.T) {
	f := withTenant(t)
	g := f.activeGrant(alice, readOnly(acct1))
	f.ic.FailDeletions(func(access.Assignment) bool { return true })
	got := must(f.svc.RevokeGrant(f.ctx, alice, g.ID, "done", nil))(t)
	if got.Status != access.GrantRevoking {
		t.Fatalf("grant is %s, want revoking", got.Status)
	}
	for i := range 6 {
		done, err := f.steps.DeprovisionGrant(f.ctx, tenantA, g.ID)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if done {
			t.Fatalf("step %d: deprovisioning is done though every deletion fails", i)
		}
		if g := f.grant(tenantA, g.ID); g.Status != access.GrantRevoking || !g.RevokedAt.IsZero() {
			t.Fatalf("step %d: grant is %s (revoked at %v), want revoking", i, g.Status, g.RevokedAt)
		}
	}
	if n := f.ic.Calls("DeleteAssignment"); n < 2 {
		t.Errorf("DeleteAssignment called %d times, want retries", n)
	}
	var failed int
	for _, ev := range f.auditOf(tenantA, g.ID) {
		if ev.Action == "grant.deletion_failed" {
			failed++
			if ev.Severity != access.SeverityHigh || ev.Details["account_id"] != acct1 {
				t.Errorf("deletion_failed event %+v", ev)
			}
		}
		if ev.Action == "grant.revoked" {
			t.Error("a grant.revoked event was written while the deletion fails")
		}
	}
	if failed == 0 {
		t.Error("no grant.deletion_failed audit event")
	}
	// The alarm counts the problem by its kind, whatever the message says.
	if !slices.ContainsFunc(f.reports, func(r string) bool { return strings.Contains(r, "["+string(access.ProblemDeletionFailed)+"]") }) {
		t.Errorf("no %s problem reported: %q", access.ProblemDeletionFailed, f.reports)
	}
	if got := f.ic.Assignments(); len(got) != 1 {
		t.Errorf("Identity Center = %+v, want the assignment still there", got)
	}
	e := must(f.store.GetLedgerEntry(f.ctx, assignment("alice", acct1, psReadOnly)))(t)
	if e.State != access.LedgerDeleting {
		t.Errorf("ledger entry is %s, want deleting", e.State)
	}

	// The deletion issued last failed too; once deletions succeed it takes at
	// most three steps: see that failure, delete again, confirm.
	f.ic.FailDeletions(nil)
	if steps := f.deprovision(tenantA, g.ID); steps > 3 {
		t.Errorf("took %d steps once deletions succeed, want at most 3", steps)
	}
	got = f.grant(tenantA, g.ID)
	if got.Status != access.GrantRevoked || got.RevokedAt.IsZero() {
		t.Errorf("grant is %s (revoked at %v), want revoked", got.Status, got.RevokedAt)
	}
	if n := len(f.ic.Assignments()); n != 0 {
		t.Errorf("%d assignments left", n)
	}
}

func TestLedgerClaimWaitsForDeletion(t *testing.T) {
	f := withTenant(t)
	f.ic.SetPendingPolls(1)
	first := f.activeGrant(alice, readOnly(acct1))
	f.clock.Advance(first.ExpiresAt.Sub(f.clock.Now()) + time.Second)
	must(f.steps.ExpireGrant(f.ctx, tenantA, first.ID, first.Generation))(t)
	// Two steps: the entry becomes deleting and the deletion is issued, still in progress.
	for range 2 {
		if done, err := f.steps.DeprovisionGrant(f.ctx, tenantA, first.ID); err != nil || done {
			t.Fatalf("DeprovisionGrant = %v, %v", done, err)
		}
	}
	// A new grant for the same assignment waits for the deletion, then creates it again.
	r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
	for range 3 {
		f.step(tenantA, r.GrantID)
	}
	if g := f.grant(tenantA, r.GrantID); g.Status != access.GrantProvisioning {
		t.Fatalf("new grant is %s while the old assignment is being deleted", g.Status)
	}
	f.deprovision(tenantA, first.ID)
	f.provision(tenantA, r.GrantID)
	if g := f.grant(tenantA, r.GrantID); g.Status != access.GrantActive {
		t.Fatalf("new grant is %s", g.Status)
	}
	if got := f.ic.Assignments(); !slices.Equal(got, []access.AssignmentKey{assignment("alice", acct1, psReadOnly)}) {
		t.Errorf("Identity Center = %+v, want the assignment re-created", got)
	}
	if n := f.ic.Calls("CreateAssignment"); n != 2 {
		t.Errorf("CreateAssignment called %d times, want 2", n)
	}
}

// held is the ledger holders of grants of one tenant.
func held(tenant string, grantIDs ...string) []access.Holder {
	out := make([]access.Holder, 0, len(grantIDs))
	for _, id := range grantIDs {
		out = append(out, access.Holder{TenantID: tenant, GrantID: id})
	}
	return out
}

// sameHolders compares holders whatever their order.
func sameHolders(a, b []access.Holder) bool {
	key := func(h access.Holder) string { return h.TenantID + "/" + h.GrantID }
	ka, kb := make([]string, 0, len(a)), make([]string, 0, len(b))
	for _, h := range a {
		ka = append(ka, key(h))
	}
	for _, h := range b {
		kb = append(kb, key(h))
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}
