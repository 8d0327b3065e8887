package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/ratelimit"
)

var t0 = time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)

func principal(tenant, id string) access.Principal {
	return access.Principal{TenantID: tenant, ID: id, Kind: access.PrincipalUser, Role: access.RoleRequester}
}

// count calls Allow n times for p on l and returns how many were allowed.
func count(l *ratelimit.Limiter, p access.Principal, n int) int {
	ok := 0
	for range n {
		if allowed, _ := l.Allow(context.Background(), p); allowed {
			ok++
		}
	}
	return ok
}

// The limits hold across processes that share the counter: three Lambda
// containers together admit a tenant's limit a second, not three times it.
func TestLimitsHoldAcrossProcesses(t *testing.T) {
	now := t0
	clock := func() time.Time { return now }
	shared := ratelimit.NewMemoryCounter()
	containers := make([]*ratelimit.Limiter, 3)
	for i := range containers {
		containers[i] = ratelimit.New(ratelimit.Config{PerTenant: 30, PerPrincipal: 1000, Lease: 3, Shared: shared, Now: clock})
	}
	admitted := 0
	for i := range 10 { // each container sees many callers of one tenant
		for _, c := range containers {
			admitted += count(c, principal("tenant-a", string(rune('a'+i))), 10)
		}
	}
	if admitted > 30 || admitted < 30-3*(3-1) {
		t.Fatalf("%d calls admitted in one second across three containers, want at most 30 (and no more than the unspent leases below)", admitted)
	}
	now = now.Add(time.Second) // the next window admits again
	if n := count(containers[0], principal("tenant-a", "z"), 5); n != 5 {
		t.Fatalf("%d of 5 calls admitted in the next second", n)
	}
}

// One tenant's flood does not take another tenant's allowance, and one
// principal's flood stops at its own limit first.
func TestTenantsAndPrincipalsAreIsolated(t *testing.T) {
	now := t0
	l := ratelimit.New(ratelimit.Config{PerTenant: 50, PerPrincipal: 10, Shared: ratelimit.NewMemoryCounter(), Now: func() time.Time { return now }})
	if n := count(l, principal("flood", "bot"), 1000); n != 10 {
		t.Fatalf("one principal got %d calls, want its 10", n)
	}
	if n := count(l, principal("flood", "alice"), 5); n != 5 {
		t.Fatalf("another principal of the flooding tenant got %d of 5", n)
	}
	if n := count(l, principal("quiet", "bob"), 5); n != 5 {
		t.Fatalf("a quiet tenant got %d of 5 calls", n)
	}
	ok, retry := l.Allow(context.Background(), principal("flood", "bot"))
	if ok || retry <= 0 || retry > time.Second {
		t.Fatalf("Allow = %v, retry after %s", ok, retry)
	}
	if got := ratelimit.RetryAfter(retry); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
}

type failing struct{}

func (failing) Take(context.Context, string, time.Time, int, int) (bool, error) {
	return false, errors.New("table unreachable")
}

// When the shared counter fails, the in-process bucket still limits.
func TestSharedFailureFallsBackToTheProcess(t *testing.T) {
	reported := 0
	l := ratelimit.New(ratelimit.Config{PerTenant: 100, PerPrincipal: 4, Shared: failing{}, Now: func() time.Time { return t0 },
		Report: func(context.Context, error) { reported++ }})
	if n := count(l, principal("t", "p"), 10); n != 4 || reported == 0 {
		t.Fatalf("%d calls admitted (want the in-process 4), %d failures reported", n, reported)
	}
}

// counting counts the shared counter's calls.
type counting struct {
	ratelimit.Counter
	calls int
}

func (c *counting) Take(ctx context.Context, key string, w time.Time, n, limit int) (bool, error) {
	c.calls++
	return c.Counter.Take(ctx, key, w, n, limit)
}

// A flood costs the table a bounded number of writes a second: one per
// lease, a few refused ones, then nothing until the next window.
func TestFloodCostIsBounded(t *testing.T) {
	now := t0
	clock := func() time.Time { return now }
	shared := &counting{Counter: ratelimit.NewMemoryCounter()}
	first := ratelimit.New(ratelimit.Config{PerTenant: 1000, PerPrincipal: 100, Shared: shared, Now: clock})
	second := ratelimit.New(ratelimit.Config{PerTenant: 1000, PerPrincipal: 100, Shared: shared, Now: clock})
	if n := count(first, principal("flood", "bot"), 10000); n != 100 {
		t.Fatalf("%d calls admitted, want the principal's 100", n)
	}
	// 100 a second in leases of 10: 10 writes for the principal and 10 for
	// the tenant.
	if shared.calls > 20 {
		t.Fatalf("%d shared-counter calls for 100 admitted calls, want at most 20", shared.calls)
	}
	// Another process finds the principal's window spent: a few refused
	// writes (10, 5, 2, 1), then it refuses on its own.
	shared.calls = 0
	if n := count(second, principal("flood", "bot"), 10000); n != 0 {
		t.Fatalf("a second process admitted %d calls of a spent window", n)
	}
	if shared.calls > 4 {
		t.Fatalf("%d shared-counter calls to learn that a window is spent, want at most 4", shared.calls)
	}
	now = now.Add(time.Second)
	if n := count(second, principal("flood", "bot"), 1); n != 1 {
		t.Fatal("the next second refused the principal")
	}
}
