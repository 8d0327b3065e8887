package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// Backend is a store the simulator can run the domain on: memstore, or
// DynamoDB (on moto) for a short run.
type Backend interface {
	access.Store
	access.LedgerStore
	access.SweepStore
}

// store is the store the domain sees: the backend behind fault injection
// (DynamoDB's errors, lost answers and crashes around each call), a place
// where another actor's step may run (just before a commit lands), and the
// checker's view of every commit that lands.
type store struct {
	Backend
	w *world
}

var _ Backend = (*store)(nil)

// Commit applies a change. An answer lost after a single-item write may come
// back as a stale write: the SDK retried the conditional write and found its
// own. A transaction's retry is idempotent (its client request token), so
// its lost answer stays an error.
func (s *store) Commit(ctx context.Context, c access.Change) error {
	w := s.w
	w.maybeNest("store.Commit")
	label := w.changeLabel(c)
	f := w.fault("store.Commit", write, label)
	switch f {
	case faultBefore, faultThrottle:
		return fmt.Errorf("store commit: %w", errInjected)
	case faultCrashBefore:
		crashNow("store.Commit")
	}
	if err := s.Backend.Commit(ctx, c); err != nil {
		w.trace.event(w, "store: commit %s lost: %v", label, err)
		return err
	}
	w.check.committed(c)
	switch f {
	case faultAfter:
		if items(c) == 1 && w.rng.IntN(2) == 0 {
			return fmt.Errorf("store commit retried by the SDK: %w", access.ErrStale)
		}
		return fmt.Errorf("store commit: %w", errLost)
	case faultCrashAfter:
		crashNow("store.Commit")
	}
	return nil
}

// items counts the items a change writes.
func items(c access.Change) int {
	n := len(c.Tenants) + len(c.Requests) + len(c.Grants) + len(c.APIKeys) + len(c.PolicySets) + len(c.Ledger) + len(c.Touched) + len(c.Audit)
	if c.Idempotency != nil {
		n++
	}
	return n
}

// readFault applies a fault to a read: an error, or a crash before it.
func (s *store) readFault(call, tag string) error {
	f := s.w.fault("store."+call, read, tag)
	switch f {
	case faultCrashBefore:
		crashNow("store." + call)
	case faultNone:
		return nil
	}
	return fmt.Errorf("store %s: %w", call, errInjected)
}

func (s *store) GetTenant(ctx context.Context, id string) (access.Tenant, error) {
	if err := s.readFault("GetTenant", s.w.label(id)); err != nil {
		return access.Tenant{}, err
	}
	return s.Backend.GetTenant(ctx, id)
}

func (s *store) GetRequest(ctx context.Context, tenantID, id string) (access.Request, error) {
	if err := s.readFault("GetRequest", s.w.label(id)); err != nil {
		return access.Request{}, err
	}
	return s.Backend.GetRequest(ctx, tenantID, id)
}

func (s *store) GetGrant(ctx context.Context, tenantID, id string) (access.Grant, error) {
	s.w.maybeNest("store.GetGrant")
	if err := s.readFault("GetGrant", s.w.label(id)); err != nil {
		return access.Grant{}, err
	}
	return s.Backend.GetGrant(ctx, tenantID, id)
}

func (s *store) GetLedgerEntry(ctx context.Context, key access.AssignmentKey) (access.LedgerEntry, error) {
	s.w.maybeNest("store.GetLedgerEntry")
	if err := s.readFault("GetLedgerEntry", s.w.keyLabel(key)); err != nil {
		return access.LedgerEntry{}, err
	}
	return s.Backend.GetLedgerEntry(ctx, key)
}

func (s *store) ListGrants(ctx context.Context, tenantID string, f access.GrantFilter, p access.PageRequest) (access.Page[access.Grant], error) {
	if err := s.readFault("ListGrants", s.w.label(tenantID)); err != nil {
		return access.Page[access.Grant]{}, err
	}
	return s.Backend.ListGrants(ctx, tenantID, f, p)
}

func (s *store) ListRequests(ctx context.Context, tenantID string, f access.RequestFilter, p access.PageRequest) (access.Page[access.Request], error) {
	if err := s.readFault("ListRequests", s.w.label(tenantID)); err != nil {
		return access.Page[access.Request]{}, err
	}
	return s.Backend.ListRequests(ctx, tenantID, f, p)
}

func (s *store) ListLedgerEntries(ctx context.Context, p access.PageRequest) (access.Page[access.LedgerEntry], error) {
	if err := s.readFault("ListLedgerEntries", ""); err != nil {
		return access.Page[access.LedgerEntry]{}, err
	}
	return s.Backend.ListLedgerEntries(ctx, p)
}

func (s *store) ListGrantsExpiringBefore(ctx context.Context, tenantID string, t time.Time, p access.PageRequest) (access.Page[access.Grant], error) {
	if err := s.readFault("ListGrantsExpiringBefore", s.w.label(tenantID)); err != nil {
		return access.Page[access.Grant]{}, err
	}
	return s.Backend.ListGrantsExpiringBefore(ctx, tenantID, t, p)
}
