// Package ratelimit keeps callers from starving each other: a limit per
// tenant and one per principal, that hold across every process of a
// deployment (Lambda containers share a counter in the table), with an
// in-process token bucket per key as the backstop when the shared counter
// cannot be reached.
//
// The shared counters are fixed one-second windows. A process does not ask
// the table for every call: it leases a slice of a window's allowance (one
// conditional write for Lease calls) and spends it locally, so a key costs
// at most one table write per Lease calls per process and second, plus the
// few refused writes (halving the slice) that find the window spent; after
// that the process refuses the key locally until the next second. The price
// of leasing is that a window can admit up to Lease-1 unspent calls fewer
// than its limit in a process that stops calling, and a fixed window admits
// a burst of up to twice the limit across a window boundary.
package ratelimit

import (
	"context"
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/elevate-jit/elevate/internal/access"
)

// Counter is a shared counter of calls per key and one-second window.
// Take adds n to the window's count if that keeps it within limit, and
// reports whether it did.
type Counter interface {
	Take(ctx context.Context, key string, window time.Time, n, limit int) (bool, error)
}

// Config sets the limits; zero values take the defaults.
type Config struct {
	// PerTenant and PerPrincipal are calls a second (default 100 and 20).
	PerTenant, PerPrincipal int
	// Lease is how many calls a process takes from a window at once
	// (default a tenth of the limit, at least 1).
	Lease int
	// Shared is the deployment-wide counter; nil limits each process on its
	// own (the local server).
	Shared Counter
	Now    func() time.Time
	// Report receives failures of the shared counter; calls are then limited
	// in-process only.
	Report func(ctx context.Context, err error)
}

// Limiter decides whether a caller may make one more call.
type Limiter struct {
	perTenant, perPrincipal int
	lease                   int
	shared                  Counter
	now                     func() time.Time
	report                  func(context.Context, error)

	mu     sync.Mutex
	local  map[string]*rate.Limiter
	leases map[string]*leased
}

// leased is what a process holds of one key's window; spent means the
// shared counter refused this window, so the process stops asking it.
type leased struct {
	window int64
	left   int
	spent  bool
}

// maxKeys bounds the keys remembered; past it they start over, which only
// errs on the side of letting calls through.
const maxKeys = 100000

// New builds a Limiter.
func New(c Config) *Limiter {
	l := &Limiter{perTenant: c.PerTenant, perPrincipal: c.PerPrincipal, lease: c.Lease, shared: c.Shared, now: c.Now, report: c.Report,
		local: map[string]*rate.Limiter{}, leases: map[string]*leased{}}
	if l.perTenant <= 0 {
		l.perTenant = 100
	}
	if l.perPrincipal <= 0 {
		l.perPrincipal = 20
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.report == nil {
		l.report = func(context.Context, error) {}
	}
	return l
}

// Allow reports whether p may make one more call now; when not, retryAfter
// says when to try again. The principal's limit is checked first, so one
// noisy caller exhausts its own allowance before its tenant's.
func (l *Limiter) Allow(ctx context.Context, p access.Principal) (ok bool, retryAfter time.Duration) {
	for _, k := range []struct {
		key   string
		limit int
	}{
		{"P#" + p.TenantID + "#" + string(p.Kind) + "#" + p.ID, l.perPrincipal},
		{"T#" + p.TenantID, l.perTenant},
	} {
		if !l.allow(ctx, k.key, k.limit) {
			return false, l.untilNextWindow()
		}
	}
	return true, 0
}

// untilNextWindow is the time to the next second, at least a millisecond.
func (l *Limiter) untilNextWindow() time.Duration {
	now := l.now()
	return max(now.Truncate(time.Second).Add(time.Second).Sub(now), time.Millisecond)
}

func (l *Limiter) allow(ctx context.Context, key string, limit int) bool {
	if !l.bucket(key, limit).AllowN(l.now(), 1) {
		return false
	}
	if l.shared == nil {
		return true
	}
	now := l.now()
	window := now.Unix()
	l.mu.Lock()
	h := l.leases[key]
	if h != nil && h.window == window {
		if h.left > 0 {
			h.left--
			l.mu.Unlock()
			return true
		}
		if h.spent {
			l.mu.Unlock()
			return false
		}
	}
	l.mu.Unlock()

	n := l.leaseSize(limit)
	for ; n >= 1; n /= 2 { // a smaller slice may still fit where a lease does not
		got, err := l.shared.Take(ctx, key, time.Unix(window, 0), n, limit)
		if err != nil {
			l.report(ctx, err)
			return true // the in-process bucket still limits
		}
		if got {
			l.mu.Lock()
			if len(l.leases) >= maxKeys {
				l.leases = map[string]*leased{}
			}
			l.leases[key] = &leased{window: window, left: n - 1}
			l.mu.Unlock()
			return true
		}
	}
	l.mu.Lock()
	l.leases[key] = &leased{window: window, spent: true}
	l.mu.Unlock()
	return false
}

func (l *Limiter) leaseSize(limit int) int {
	if l.lease > 0 {
		return min(l.lease, limit)
	}
	return max(1, int(math.Ceil(float64(limit)/10)))
}

// bucket is the in-process token bucket of a key: the limit a second, in
// bursts of up to a second's worth.
func (l *Limiter) bucket(key string, limit int) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.local[key]
	if !ok {
		if len(l.local) >= maxKeys {
			l.local = map[string]*rate.Limiter{}
		}
		b = rate.NewLimiter(rate.Limit(limit), limit)
		l.local[key] = b
	}
	return b
}

// RetryAfter renders a wait as a Retry-After header value: whole seconds,
// at least 1.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// MemoryCounter is a Counter in memory, for one process and tests. It keeps
// the counts of the latest two windows only.
type MemoryCounter struct {
	mu     sync.Mutex
	counts map[int64]map[string]int
}

// NewMemoryCounter returns an empty MemoryCounter.
func NewMemoryCounter() *MemoryCounter { return &MemoryCounter{counts: map[int64]map[string]int{}} }

// Take implements Counter.
func (m *MemoryCounter) Take(_ context.Context, key string, window time.Time, n, limit int) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := window.Unix()
	for old := range m.counts {
		if old < w-1 {
			delete(m.counts, old)
		}
	}
	c := m.counts[w]
	if c == nil {
		c = map[string]int{}
		m.counts[w] = c
	}
	if c[key]+n > limit {
		return false, nil
	}
	c[key] += n
	return true, nil
}
