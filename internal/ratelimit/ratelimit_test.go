package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
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
		containers[i] = ratelimit.New(ratelimit.Config{PerTenant: 30, PerPrincipal: 1000, Lease: 3, Window: time.Second, Shared: shared, Now: clock})
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
	l := ratelimit.New(ratelimit.Config{PerTenant: 50, PerPrincipal: 10, Window: time.Second, Shared: ratelimit.NewMemoryCounter(), Now: func() time.Time { return now }})
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
	first := ratelimit.New(ratelimit.Config{PerTenant: 1000, PerPrincipal: 100, Window: time.Second, Shared: shared, Now: clock})
	second := ratelimit.New(ratelimit.Config{PerTenant: 1000, PerPrincipal: 100, Window: time.Second, Shared: shared, Now: clock})
	if n := count(first, principal("flood", "bot"), 10000); n != 100 {
		t.Fatalf("%d calls admitted, want the principal's 100", n)
	}
	// 100 calls in slices that double from one: for the principal 1, 1, 2,
	// 4, 8, then at most a tenth of its 100 (nine more), and at the end of
	// the window up to four refused slices (10, 5, 2, 1) as the last of it is
	// found; for the tenant 1, 1, 2, ..., 64 (eight).
	if shared.calls > 14+4+8 {
		t.Fatalf("%d shared-counter calls for 100 admitted calls, want at most 26", shared.calls)
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

// Over the default ten-second window, a steady caller at one call a second
// costs the table two writes per key in ten calls once it has run a window,
// and the shared allowance is the limit times the window: a second process
// cannot add its own.
func TestWindowAmortizesWrites(t *testing.T) {
	now := time.Unix(t0.Unix()/10*10, 0)
	clock := func() time.Time { return now }
	shared := &counting{Counter: ratelimit.NewMemoryCounter()}
	l := ratelimit.New(ratelimit.Config{PerTenant: 50, PerPrincipal: 10, Shared: shared, Now: clock})
	for second := range 20 {
		if second == 10 {
			shared.calls = 0 // the first window warmed the slices up
		}
		if n := count(l, principal("t", "steady"), 1); n != 1 {
			t.Fatal("a call a second was refused")
		}
		now = now.Add(time.Second)
	}
	if shared.calls > 4 {
		t.Fatalf("%d shared-counter calls for ten calls in a window, want at most 4 (two slices per key)", shared.calls)
	}
	// Two processes flooding for the ten seconds of a window admit 100
	// calls of one caller between them, not 200.
	now = time.Unix((now.Unix()/10+1)*10, 0)
	a := ratelimit.New(ratelimit.Config{PerTenant: 50, PerPrincipal: 10, Shared: shared, Now: clock})
	b := ratelimit.New(ratelimit.Config{PerTenant: 50, PerPrincipal: 10, Shared: shared, Now: clock})
	admitted := 0
	for range 10 {
		admitted += count(a, principal("t", "flood"), 50) + count(b, principal("t", "flood"), 50)
		now = now.Add(time.Second)
	}
	if admitted != 100 {
		t.Fatalf("%d calls admitted in one ten-second window across two processes, want 100", admitted)
	}
}

// Many short-lived processes (Lambda containers that serve a call or two)
// strand nothing: each leases one call, so a tenant gets its whole
// allowance however many processes serve it.
func TestShortLivedProcessesStrandNothing(t *testing.T) {
	now := time.Unix(t0.Unix()/10*10, 0)
	clock := func() time.Time { return now }
	shared := ratelimit.NewMemoryCounter()
	admitted := 0
	for i := range 60 { // 60 containers, one call each, in one window of 5 a second
		l := ratelimit.New(ratelimit.Config{PerTenant: 5, PerPrincipal: 5, Shared: shared, Now: clock})
		admitted += count(l, principal("t", fmt.Sprint("caller-", i%7)), 1)
	}
	if admitted != 50 {
		t.Fatalf("%d of 60 calls from short-lived processes admitted in a window of 50, want 50", admitted)
	}
}
