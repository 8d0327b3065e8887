package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter/recording"
)

// identityCenter is Identity Center with a creation latency: a
// CreateAssignment is IN_PROGRESS, and its assignment absent, until the
// latency has passed since the call; then CreationStatus says SUCCEEDED.
// Deletions settle at once. It counts every call, by method. Users,
// organization and permission sets are the recording fake's.
type identityCenter struct {
	rec *recording.IdentityCenter

	mu      sync.Mutex
	latency time.Duration
	calls   map[string]int
	seq     int
	ops     map[string]time.Time               // creation operation id → when it settles
	present map[access.AssignmentKey]time.Time // assignment → when it is in place
}

func newIdentityCenter(rec *recording.IdentityCenter) *identityCenter {
	return &identityCenter{rec: rec, calls: map[string]int{}, ops: map[string]time.Time{}, present: map[access.AssignmentKey]time.Time{}}
}

// setLatency sets the latency of the creations from now on.
func (ic *identityCenter) setLatency(d time.Duration) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.latency = d
}

// count records a call of method.
func (ic *identityCenter) count(method string) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.calls[method]++
}

// snapshot returns the calls so far, by method.
func (ic *identityCenter) snapshot() map[string]int {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	out := make(map[string]int, len(ic.calls))
	for m, n := range ic.calls {
		out[m] = n
	}
	return out
}

func (ic *identityCenter) ResolveUser(ctx context.Context, t access.Tenant, granteeID string) (string, error) {
	ic.count("ResolveUser")
	return ic.rec.ResolveUser(ctx, t, granteeID)
}

func (ic *identityCenter) Ancestors(ctx context.Context, t access.Tenant, r access.Resource) ([]string, error) {
	ic.count("Ancestors")
	return ic.rec.Ancestors(ctx, t, r)
}

func (ic *identityCenter) AccountsUnder(ctx context.Context, t access.Tenant, ouID string, max int) ([]string, bool, error) {
	ic.count("AccountsUnder")
	return ic.rec.AccountsUnder(ctx, t, ouID, max)
}

func (ic *identityCenter) EnsurePermissionSet(ctx context.Context, t access.Tenant, spec access.ManagedPermissionSet) (string, error) {
	ic.count("EnsurePermissionSet")
	return ic.rec.EnsurePermissionSet(ctx, t, spec)
}

func (ic *identityCenter) AssignmentExists(_ context.Context, a access.Assignment) (bool, error) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.calls["AssignmentExists"]++
	at, ok := ic.present[a.Key()]
	return ok && !time.Now().Before(at), nil
}

func (ic *identityCenter) CreateAssignment(_ context.Context, a access.Assignment) (access.Operation, error) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.calls["CreateAssignment"]++
	ic.seq++
	id := fmt.Sprintf("op-create-%06d", ic.seq)
	settles := time.Now().Add(ic.latency)
	ic.ops[id] = settles
	if at, ok := ic.present[a.Key()]; !ok || at.After(settles) {
		ic.present[a.Key()] = settles
	}
	if ic.latency <= 0 {
		return access.Operation{ID: id, Status: access.OperationSucceeded}, nil
	}
	return access.Operation{ID: id, Status: access.OperationInProgress}, nil
}

func (ic *identityCenter) CreationStatus(_ context.Context, _, operationID string) (access.Operation, error) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.calls["CreationStatus"]++
	settles, ok := ic.ops[operationID]
	if !ok {
		return access.Operation{}, fmt.Errorf("unknown operation %s", operationID)
	}
	if time.Now().Before(settles) {
		return access.Operation{ID: operationID, Status: access.OperationInProgress}, nil
	}
	return access.Operation{ID: operationID, Status: access.OperationSucceeded}, nil
}

func (ic *identityCenter) DeleteAssignment(_ context.Context, a access.Assignment) (access.Operation, error) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.calls["DeleteAssignment"]++
	ic.seq++
	delete(ic.present, a.Key())
	return access.Operation{ID: fmt.Sprintf("op-delete-%06d", ic.seq), Status: access.OperationSucceeded}, nil
}

func (ic *identityCenter) DeletionStatus(_ context.Context, _, operationID string) (access.Operation, error) {
	ic.count("DeletionStatus")
	return access.Operation{ID: operationID, Status: access.OperationSucceeded}, nil
}
