package sweepscale

import (
	"context"
	"sync"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/store/memstore"
)

// store is the embedded store, counting the calls a sweep makes: while the
// sweeper runs each takes storeLatency of its simulated time; while a
// tenant is swept they count towards that tenant's sweep.
type store struct {
	*memstore.Store
	clk *simClock

	mu       sync.Mutex
	counting bool // the sweeper's calls: pass its clock
	tenant   *int // a tenant sweep's calls
	calls    int
}

func (s *store) tick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.tenant != nil:
		*s.tenant++
		s.calls++
	case s.counting:
		s.calls++
		s.clk.store()
	}
}

func (s *store) Commit(ctx context.Context, c access.Change) error {
	s.tick()
	return s.Store.Commit(ctx, c)
}

func (s *store) GetTenant(ctx context.Context, id string) (access.Tenant, error) {
	s.tick()
	return s.Store.GetTenant(ctx, id)
}

func (s *store) GetRequest(ctx context.Context, tenantID, id string) (access.Request, error) {
	s.tick()
	return s.Store.GetRequest(ctx, tenantID, id)
}

func (s *store) ListRequests(ctx context.Context, tenantID string, f access.RequestFilter, p access.PageRequest) (access.Page[access.Request], error) {
	s.tick()
	return s.Store.ListRequests(ctx, tenantID, f, p)
}

func (s *store) GetGrant(ctx context.Context, tenantID, id string) (access.Grant, error) {
	s.tick()
	return s.Store.GetGrant(ctx, tenantID, id)
}

func (s *store) ListGrants(ctx context.Context, tenantID string, f access.GrantFilter, p access.PageRequest) (access.Page[access.Grant], error) {
	s.tick()
	return s.Store.ListGrants(ctx, tenantID, f, p)
}

func (s *store) ListTenantIDs(ctx context.Context, p access.PageRequest) (access.Page[string], error) {
	s.tick()
	return s.Store.ListTenantIDs(ctx, p)
}

func (s *store) ListGrantsExpiringBefore(ctx context.Context, tenantID string, t time.Time, p access.PageRequest) (access.Page[access.Grant], error) {
	s.tick()
	return s.Store.ListGrantsExpiringBefore(ctx, tenantID, t, p)
}

func (s *store) GetLedgerEntry(ctx context.Context, key access.AssignmentKey) (access.LedgerEntry, error) {
	s.tick()
	return s.Store.GetLedgerEntry(ctx, key)
}

func (s *store) ListLedgerEntries(ctx context.Context, p access.PageRequest) (access.Page[access.LedgerEntry], error) {
	s.tick()
	return s.Store.ListLedgerEntries(ctx, p)
}

func (s *store) ListTouchedPrincipals(ctx context.Context, p access.PageRequest) (access.Page[access.TouchedPrincipal], error) {
	s.tick()
	return s.Store.ListTouchedPrincipals(ctx, p)
}

func (s *store) GetSweepCheckpoint(ctx context.Context, name string) (string, error) {
	s.tick()
	return s.Store.GetSweepCheckpoint(ctx, name)
}

func (s *store) PutSweepCheckpoint(ctx context.Context, name, position string) error {
	s.tick()
	return s.Store.PutSweepCheckpoint(ctx, name, position)
}

// queue is the sweep queue: it records the batches and when the sweeper
// sent each (a call's time on its clock).
type queue struct {
	clk     *simClock
	batches []batch
}

type batch struct {
	at  time.Duration
	ids []string
}

func (q *queue) EnqueueTenantSweeps(_ context.Context, ids []string) error {
	q.clk.store()
	q.batches = append(q.batches, batch{at: q.clk.Now(), ids: append([]string(nil), ids...)})
	return nil
}

// flow is a Workflow and Scheduler that counts what the sweep starts; each
// call takes a table call's time where it is made.
type flow struct {
	mu     sync.Mutex
	starts map[string]int
	tick   func()
}

func (f *flow) record(method string) error {
	f.tick()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts[method]++
	return nil
}

func (f *flow) StartApproval(context.Context, access.Request) error { return f.record("StartApproval") }
func (f *flow) EndApproval(context.Context, access.Request) error   { return f.record("EndApproval") }
func (f *flow) StartProvisioning(context.Context, access.Grant) error {
	return f.record("StartProvisioning")
}
func (f *flow) StartDeprovisioning(context.Context, access.Grant) error {
	return f.record("StartDeprovisioning")
}
func (f *flow) ScheduleExpiry(context.Context, access.Grant) error { return f.record("ScheduleExpiry") }
func (f *flow) CancelExpiry(context.Context, access.Grant) error   { return f.record("CancelExpiry") }
func (f *flow) ScheduleStart(context.Context, access.Grant) error  { return f.record("ScheduleStart") }
func (f *flow) CancelStart(context.Context, access.Grant) error    { return f.record("CancelStart") }
func (f *flow) ScheduleNudge(context.Context, access.Request, access.Nudge) error {
	return f.record("ScheduleNudge")
}
func (f *flow) CancelNudges(context.Context, access.Request) error { return f.record("CancelNudges") }
