package access_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter/recording"
)

// queue is a SweepQueue that records the batches it is handed, and fails
// from the failAt-th batch on when failAt is positive.
type queue struct {
	mu      sync.Mutex
	batches [][]string
	failAt  int
}

func (q *queue) EnqueueTenantSweeps(_ context.Context, ids []string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failAt > 0 && len(q.batches)+1 >= q.failAt {
		return errors.New("queue unavailable")
	}
	q.batches = append(q.batches, slices.Clone(ids))
	return nil
}

// round returns the tenants queued since the last call, in order.
func (q *queue) round() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, b := range q.batches {
		if len(b) > 10 {
			panic(fmt.Sprintf("a batch of %d tenants", len(b)))
		}
		out = append(out, b...)
	}
	q.batches = nil
	return out
}

func tenantID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// A sweep with a queue hands every tenant to it, in batches, in a round
// that starts where the tenants checkpoint says: a complete round moves the
// next one's start a batch further; a round cut short starts the next one at
// the first tenant it did not hand over.
func TestSweepQueuesTenantsInRotatingRounds(t *testing.T) {
	q := &queue{}
	f := newFixture(t, func(c *access.Config) { c.SweepQueue = q })
	var ids []string
	for i := range 25 {
		ids = append(ids, f.tenant(tenantID(i), nil).ID)
	}
	rotated := func(start int) []string { return append(slices.Clone(ids[start:]), ids[:start]...) }

	for _, tc := range []struct {
		name    string
		failAt  int
		want    []string
		wantErr bool
	}{
		{"first round", 0, ids, false},
		{"a batch further", 0, rotated(10), false},
		{"cut short after one batch", 2, rotated(20)[:10], true},
		{"goes on where it stopped", 0, rotated(5), false},
	} {
		q.failAt = tc.failAt
		rep, err := f.op.Sweep(f.ctx)
		if (err != nil) != tc.wantErr {
			t.Fatalf("%s: Sweep error %v, want error %v", tc.name, err, tc.wantErr)
		}
		if got := q.round(); !slices.Equal(got, tc.want) {
			t.Fatalf("%s: queued %v, want %v", tc.name, got, tc.want)
		}
		if rep.TenantsQueued != len(tc.want) || rep.GrantsExpired != 0 {
			t.Errorf("%s: report %+v", tc.name, rep)
		}
	}
}

// With a queue the sweep leaves each tenant's work to SweepTenant, which the
// queue's consumers call.
func TestSweepTenantDoesTheTenantsWork(t *testing.T) {
	q := &queue{}
	f := withTenant(t, func(c *access.Config) { c.SweepQueue = q })
	g := f.activeGrant(alice, readOnly(acct1))
	stale := must(f.svc.CreateRequest(f.ctx, bob, adminAccess(acct1), nil))(t)
	f.clock.Advance(24*time.Hour + time.Minute)

	rep := must(f.op.Sweep(f.ctx))(t)
	if rep.GrantsExpired != 0 || rep.RequestsExpired != 0 || !slices.Equal(q.round(), []string{tenantA}) {
		t.Fatalf("the queueing sweep did the tenant's work: %+v", rep)
	}
	icCalls := func() int {
		n := 0
		for _, m := range []string{"ResolveUser", "EnsurePermissionSet", "AssignmentExists", "CreateAssignment", "DeleteAssignment", "Status"} {
			n += f.ic.Calls(m)
		}
		return n
	}
	before := icCalls()
	rep = must(f.op.SweepTenant(f.ctx, tenantA))(t)
	if rep.Tenants != 1 || rep.GrantsExpired != 1 || rep.RequestsExpired != 1 || len(rep.Problems) != 0 {
		t.Fatalf("SweepTenant report %+v", rep)
	}
	if got := f.grant(tenantA, g.ID); got.Status != access.GrantRevoking {
		t.Errorf("overdue grant is %s", got.Status)
	}
	if got := f.request(tenantA, stale.ID); got.Status != access.RequestExpired {
		t.Errorf("stale request is %s", got.Status)
	}
	if after := icCalls(); after != before {
		t.Errorf("SweepTenant made %d Identity Center calls, want none", after-before)
	}
	rep = must(f.op.SweepTenant(f.ctx, "00000000-0000-4000-8000-00000000dead"))(t)
	if len(rep.TenantsWithProblems) != 1 {
		t.Errorf("a missing tenant: %+v", rep)
	}
}

// collector is the recording Identity Center with managed permission sets
// to collect; it counts the listings.
type collector struct {
	*recording.IdentityCenter
	mu       sync.Mutex
	sets     map[string]bool // ARN → old enough to delete
	listings int
	asked    []string // sets inUse was asked about
	deleted  []string
}

func (c *collector) ManagedPermissionSets(_ context.Context, inst string, inUse func(string) bool) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listings++
	var out []string
	for _, arn := range slices.Sorted(mapsKeys(c.sets)) {
		c.asked = append(c.asked, arn)
		if !inUse(arn) {
			out = append(out, arn)
		}
	}
	return out, nil
}

func (c *collector) DeleteManagedPermissionSetIfUnused(_ context.Context, _ string, arn string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sets[arn] {
		return false, nil // younger than the grace period
	}
	delete(c.sets, arn)
	c.deleted = append(c.deleted, arn)
	return true, nil
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Managed permission sets are collected once per sweep, however many
// tenants share the instance, against the deployment-wide ledger: a set
// another tenant's grant holds stays, a new one stays, an old unused one
// goes.
func TestSweepCollectsPermissionSetsOncePerDeployment(t *testing.T) {
	c := &collector{IdentityCenter: recording.New(nil)}
	c.SetOrganization(instanceARN, demoOrganization)
	f := newFixture(t, func(cfg *access.Config) { cfg.IdentityCenter, cfg.DB = c, c })
	f.ic = c.IdentityCenter
	f.tenant(tenantA, nil)
	f.tenant(tenantB, nil)
	for i := range 3 {
		f.tenant(tenantID(i), nil)
	}
	held := f.activeGrant(alice, readOnly(acct1)).Assignments[0].PermissionSetARN
	const (
		fresh = "arn:aws:sso:::permissionSet/" + instance + "/ps-elv000000000001"
		old   = "arn:aws:sso:::permissionSet/" + instance + "/ps-elv000000000002"
	)
	c.sets = map[string]bool{held: true, fresh: false, old: true}

	rep := must(f.op.Sweep(f.ctx))(t)
	if c.listings != 1 {
		t.Errorf("%d listings of managed permission sets for 5 tenants, want 1", c.listings)
	}
	if rep.PermissionSetsGone != 1 || !slices.Equal(c.deleted, []string{old}) {
		t.Errorf("deleted %v (report %+v), want only %s", c.deleted, rep, old)
	}
	if _, ok := c.sets[held]; !ok {
		t.Error("the set a ledger entry names was deleted")
	}
	if _, ok := c.sets[fresh]; !ok {
		t.Error("the new set was deleted")
	}
}

// The audit looks at SweepAuditUsers users per sweep and goes on where it
// stopped: each sweep repairs the missing assignment of the user it audits.
func TestSweepAuditsUsersInSlices(t *testing.T) {
	f := withTenant(t, func(c *access.Config) { c.SweepAuditUsers = 1 })
	var keys []access.AssignmentKey
	for _, p := range []access.Principal{alice, bob} {
		g := f.activeGrant(p, readOnly(acct1))
		keys = append(keys, g.Assignments[0].Key())
		_, _ = f.ic.DeleteAssignment(f.ctx, g.Assignments[0]) // behind Elevate's back
	}
	for i := range 2 {
		rep := must(f.op.Sweep(f.ctx))(t)
		if rep.UsersAudited != 1 || rep.UsersToAudit != 2 || rep.AssignmentsRepaired != 1 {
			t.Fatalf("sweep %d: report %+v", i+1, rep)
		}
	}
	got := f.ic.Assignments()
	for _, k := range keys {
		if !slices.Contains(got, k) {
			t.Errorf("assignment %+v was not made again: %v", k, got)
		}
	}
	if rep := must(f.op.Sweep(f.ctx))(t); rep.AssignmentsMissing != 0 {
		t.Errorf("third sweep: %+v", rep)
	}
}
