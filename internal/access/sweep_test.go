package access_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

func TestSweepExpiresGrantsWhoseScheduleWasLost(t *testing.T) {
	f := withTenant(t)
	g := f.activeGrant(alice, readOnly(acct1))
	// The fake scheduler never fires: a minute and a bit past the end the
	// sweeper notices.
	f.clock.Advance(time.Hour + 30*time.Second)
	rep := must(f.op.Sweep(f.ctx))(t)
	if rep.GrantsExpired != 0 {
		t.Fatalf("swept a grant only 30 s overdue: %+v", rep)
	}
	f.clock.Advance(time.Minute)
	rep = must(f.op.Sweep(f.ctx))(t)
	if rep.GrantsExpired != 1 || len(rep.Problems) != 0 {
		t.Fatalf("report = %+v", rep)
	}
	if got := f.grant(tenantA, g.ID); got.Status != access.GrantRevoking || got.EndReason != access.EndExpiry {
		t.Fatalf("overdue grant is %s (%s)", got.Status, got.EndReason)
	}
	if len(f.flow.of("StartDeprovisioning", g.ID)) != 1 {
		t.Fatal("the sweeper did not start deprovisioning")
	}
	f.deprovision(tenantA, g.ID)
	if got := f.grant(tenantA, g.ID); got.Status != access.GrantExpired || len(f.ic.Assignments()) != 0 {
		t.Fatalf("grant %s, assignments %v", got.Status, f.ic.Assignments())
	}
}

func TestSweepRestartsStuckGrants(t *testing.T) {
	f := withTenant(t)
	r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
	before := f.grant(tenantA, r.GrantID)
	f.clock.Advance(10 * time.Minute)
	if rep := must(f.op.Sweep(f.ctx))(t); rep.GrantsRestarted != 0 {
		t.Fatalf("restarted a grant provisioning for only 10 minutes: %+v", rep)
	}
	f.clock.Advance(10 * time.Minute)
	if rep := must(f.op.Sweep(f.ctx))(t); rep.GrantsRestarted != 1 {
		t.Fatalf("report = %+v", rep)
	}
	after := f.grant(tenantA, r.GrantID)
	if after.Revision != before.Revision+1 || len(f.flow.of("StartProvisioning", r.GrantID)) != 2 {
		t.Fatalf("restart: revision %d→%d, starts %d", before.Revision, after.Revision, len(f.flow.of("StartProvisioning", r.GrantID)))
	}
	f.provision(tenantA, r.GrantID)
	if got := f.grant(tenantA, r.GrantID); got.Status != access.GrantActive {
		t.Fatalf("restarted grant is %s", got.Status)
	}
}

func TestSweepExpiresStalePendingRequests(t *testing.T) {
	f := withTenant(t)
	r := must(f.svc.CreateRequest(f.ctx, bob, adminAccess(acct1), nil))(t)
	f.clock.Advance(24*time.Hour + time.Second)
	rep := must(f.op.Sweep(f.ctx))(t)
	if rep.RequestsExpired != 1 || f.request(tenantA, r.ID).Status != access.RequestExpired {
		t.Fatalf("report %+v, request %s", rep, f.request(tenantA, r.ID).Status)
	}
	if len(f.flow.of("EndApproval", r.ID)) != 1 {
		t.Fatal("the wait of the expired request was not ended")
	}
}

func TestSweepReleasesOrphanedAssignments(t *testing.T) {
	f := withTenant(t)
	g := f.activeGrant(alice, readOnly(acct1))
	// A crash left the grant ended while the ledger still holds its assignment.
	ended := f.grant(tenantA, g.ID)
	ended.Status, ended.Revision = access.GrantExpired, ended.Revision+1
	if err := f.store.Commit(f.ctx, access.Change{Grants: []access.Grant{ended}}); err != nil {
		t.Fatal(err)
	}
	// Standing access of bob's, recorded as external, is never deleted: its
	// entry, which no grant holds any more, just goes.
	standing := access.Assignment{InstanceARN: instanceARN, PrincipalID: "bob-user", AccountID: acct2, PermissionSetARN: psAdmin}
	f.ic.Preassign(standing)
	if err := f.store.Commit(f.ctx, access.Change{Ledger: []access.LedgerEntry{{Key: standing.Key(),
		State: access.LedgerActive, External: true, Holders: held(tenantA, "00000000-0000-7000-8000-999999999999"), Revision: 1, CreatedAt: t0, UpdatedAt: t0}}}); err != nil {
		t.Fatal(err)
	}

	first := must(f.op.Sweep(f.ctx))(t)  // issues the deletion
	second := must(f.op.Sweep(f.ctx))(t) // sees it succeeded
	if first.OrphansReleased+second.OrphansReleased != 1 {
		t.Fatalf("reports %+v / %+v", first, second)
	}
	if got := f.ic.Assignments(); !slices.Equal(got, []access.AssignmentKey{standing.Key()}) {
		t.Fatalf("identity center = %v, want only the standing assignment", got)
	}
	if _, err := f.store.GetLedgerEntry(f.ctx, standing.Key()); !isNotFound(err) {
		t.Fatalf("the entry of standing access no grant holds: %v", err)
	}
	if _, ok := f.findAudit(tenantA, acct1, "ledger.orphan_released"); !ok {
		t.Fatal("no audit event for the released orphan")
	}
}

func TestSweepRepairsMissingAssignments(t *testing.T) {
	for _, standing := range []bool{false, true} {
		t.Run(fmt.Sprintf("standing %v", standing), func(t *testing.T) {
			f := withTenant(t)
			key := assignment("alice", acct1, psReadOnly)
			if standing {
				f.ic.Preassign(access.Assignment{InstanceARN: key.InstanceARN, PrincipalID: key.PrincipalID, AccountID: key.AccountID, PermissionSetARN: key.PermissionSetARN})
			}
			g := f.activeGrant(alice, readOnly(acct1))
			// Someone deleted the assignment behind Elevate's back.
			_, _ = f.ic.DeleteAssignment(f.ctx, f.grant(tenantA, g.ID).Assignments[0])
			rep := must(f.op.Sweep(f.ctx))(t)
			if rep.AssignmentsMissing != 1 || rep.AssignmentsRepaired != 1 {
				t.Fatalf("report = %+v", rep)
			}
			if ev, ok := f.findAudit(tenantA, g.ID, "ledger.assignment_missing"); !ok || ev.Severity != access.SeverityHigh {
				t.Errorf("ledger.assignment_missing = %+v (found %v)", ev, ok)
			}
			if f.grant(tenantA, g.ID).Status != access.GrantActive {
				t.Fatal("the repair changed the grant")
			}
			if got := f.ic.Assignments(); !slices.Equal(got, []access.AssignmentKey{key}) {
				t.Fatalf("Identity Center = %+v, want the assignment made again", got)
			}
			// Made again by Elevate, it is Elevate's to remove at the end.
			if e := must(f.store.GetLedgerEntry(f.ctx, key))(t); e.External || e.State != access.LedgerActive {
				t.Errorf("ledger entry = %+v", e)
			}
			f.expire(f.grant(tenantA, g.ID))
			if got := f.ic.Assignments(); len(got) != 0 {
				t.Errorf("after the grant ended: %+v", got)
			}
		})
	}
}

// An assignment of a watched permission set, for a user Elevate assigned
// something to, that no ledger entry explains is reported: access Elevate
// may have made and lost track of. Other sets are not Elevate's business.
func TestSweepFindsUntrackedAssignments(t *testing.T) {
	f := withTenant(t)
	g := f.activeGrant(alice, readOnly(acct1))
	key := g.Assignments[0].Key()
	e := must(f.store.GetLedgerEntry(f.ctx, key))(t)
	e.Deleted, e.Revision = true, e.Revision+1
	if err := f.store.Commit(f.ctx, access.Change{Ledger: []access.LedgerEntry{e}}); err != nil {
		t.Fatal(err)
	}
	f.ic.Preassign(access.Assignment{InstanceARN: instanceARN, PrincipalID: key.PrincipalID, AccountID: acct2,
		PermissionSetARN: "arn:aws:sso:::permissionSet/" + instance + "/ps-ffffffffffffffff"})
	rep := must(f.op.Sweep(f.ctx))(t)
	if rep.AssignmentsUntracked != 1 {
		t.Fatalf("report = %+v, want one untracked assignment", rep)
	}
	if !slices.ContainsFunc(f.reports, func(r string) bool { return strings.Contains(r, "has no ledger entry") }) {
		t.Errorf("reports %q", f.reports)
	}
}
