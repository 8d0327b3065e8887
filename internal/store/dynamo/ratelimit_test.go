package dynamo_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/ratelimit"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
)

// The table's counters hold a limit across processes: concurrent takes of
// one window never admit more than the limit, another window starts over,
// and limiters in three "containers" on one table share it.
func TestRateLimitCounter(t *testing.T) {
	client, table := newTable(t, nil)
	s := dynamo.New(client, dynamo.Options{Table: table})
	ctx := context.Background()
	w := time.Unix(1_900_000_000, 0)

	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				ok, err := s.Take(ctx, "T#tenant-a", w, 2, 21)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					admitted.Add(2)
				}
			}
		}()
	}
	wg.Wait()
	if n := admitted.Load(); n != 20 {
		t.Fatalf("%d calls admitted in one window, want 20 (the most pairs within 21)", n)
	}
	if ok, err := s.Take(ctx, "T#tenant-a", w.Add(time.Second), 2, 21); !ok || err != nil {
		t.Fatalf("the next window: %v, %v", ok, err)
	}
	if ok, err := s.Take(ctx, "T#tenant-b", w, 21, 21); !ok || err != nil {
		t.Fatalf("another key: %v, %v", ok, err)
	}

	now := w.Add(5 * time.Second)
	total := 0
	for range 3 {
		l := ratelimit.New(ratelimit.Config{PerTenant: 12, PerPrincipal: 100, Lease: 2, Shared: s, Now: func() time.Time { return now }})
		for range 10 {
			if ok, _ := l.Allow(ctx, access.Principal{TenantID: "c", ID: "p", Kind: access.PrincipalUser}); ok {
				total++
			}
		}
	}
	if total > 12 || total < 12-3 {
		t.Fatalf("three containers admitted %d calls of a tenant in one second, want at most 12", total)
	}
}
