// Package ratelimit keeps callers from starving each other: a limit per
// tenant and one per principal, that hold across every process of a
// deployment (Lambda containers share a counter in the table), with an
// in-process token bucket per key as the backstop when the shared counter
// cannot be reached.
//
// A limit is calls a second. Each process enforces it with its own token
// bucket (bursts of at most a second's worth); the shared counters enforce
// it across processes over fixed windows (ten seconds by default: the
// window's allowance is the limit times its length). A process does not ask
// the table for every call: it leases a slice of a window's allowance (in
// one conditional write) and spends it locally. Slices start at one call
// and double while the process keeps calling, up to a tenth of the
// allowance, and a new window starts at half of what the process took of
// the last one; so a busy key costs about ten writes per window and
// process, plus the few refused writes (halving the slice) that find the
// window spent, after which the process refuses the key locally until the
// next window. A process that makes one call strands nothing. A caller
// making one call a second pays about two writes per key in ten calls; one
// making a call a minute pays a write per key on every call, which is the
// floor of any shared counter.
//
// The price of windows and leases: across processes a window's allowance
// may be spent in its first second (each process's bucket still caps its
// own burst), a window can admit fewer calls than its allowance when a
// process stops calling with part of a lease unspent, and a fixed window
// admits up to twice its allowance across a window boundary.
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

// Counter is a shared counter of calls per key and window (named by its
// first second).
// Take adds n to the window's count if that keeps it within limit, and
// reports whether it did.
type Counter interface {
	Take(ctx context.Context, key string, window time.Time, n, limit int) (bool, error)
}

// Config sets the limits; zero values take the defaults.
type Config struct {
	// PerTenant and PerPrincipal are calls a second (default 100 and 20).
	PerTenant, PerPrincipal int
	// Window is the length of the shared counters' windows (default 10 s,
	// whole seconds).
	Window time.Duration
	// Lease, when positive, is how many calls a process takes from a window
	// at once; by default slices grow from one (leaseSize).
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
	window                  int64 // seconds
	lease                   int
	shared                  Counter
	now                     func() time.Time
	report                  func(context.Context, error)

	mu     sync.Mutex
	local  map[string]*rate.Limiter
	leases map[string]*leased
}

// leased is what a process holds of one key's window: left of its leases,
// taken of the window in all, and what it took of the window before (prev);
// spent means the shared counter refused this window, so the process stops
// asking it.
type leased struct {
	window      int64
	left        int
	taken, prev int
	// fits, when positive, is the largest slice the window still had room
	// for: a refused slice is not asked for again.
	fits  int
	spent bool
}

// maxKeys bounds the keys remembered; past it they start over, which only
// errs on the side of letting calls through.
const maxKeys = 100000

// New builds a Limiter.
func New(c Config) *Limiter {
	l := &Limiter{perTenant: c.PerTenant, perPrincipal: c.PerPrincipal, window: int64(c.Window / time.Second), lease: c.Lease,
		shared: c.Shared, now: c.Now, report: c.Report, local: map[string]*rate.Limiter{}, leases: map[string]*leased{}}
	if l.window <= 0 {
		l.window = 10
	}
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
		if ok, wait := l.allow(ctx, k.key, k.limit); !ok {
			return false, wait
		}
	}
	return true, 0
}

// untilNextWindow is the time to the next window, at least a millisecond.
func (l *Limiter) untilNextWindow() time.Duration {
	now := l.now()
	next := time.Unix((now.Unix()/l.window+1)*l.window, 0)
	return max(next.Sub(now), time.Millisecond)
}

// allow takes one call of key's allowance: from the process's bucket, then
// from the shared window. When either refuses it says how long to wait.
func (l *Limiter) allow(ctx context.Context, key string, limit int) (bool, time.Duration) {
	now := l.now()
	b := l.bucket(key, limit)
	if !b.AllowN(now, 1) {
		missing := 1 - b.TokensAt(now)
		return false, max(time.Duration(missing/float64(limit)*float64(time.Second)), time.Millisecond)
	}
	if l.shared == nil || l.take(ctx, key, limit) {
		return true, 0
	}
	return false, l.untilNextWindow()
}

// take takes one call from the shared window, from the process's lease or
// by leasing more.
func (l *Limiter) take(ctx context.Context, key string, limit int) bool {
	window := l.now().Unix() / l.window * l.window // the window's first second
	allowance := limit * int(l.window)
	l.mu.Lock()
	h := l.leases[key]
	switch {
	case h == nil:
		if len(l.leases) >= maxKeys {
			l.leases = map[string]*leased{}
		}
		h = &leased{window: window}
		l.leases[key] = h
	case h.window != window:
		prev := 0
		if h.window == window-l.window {
			prev = h.taken
		}
		*h = leased{window: window, prev: prev}
	}
	if h.left > 0 {
		h.left--
		l.mu.Unlock()
		return true
	}
	if h.spent {
		l.mu.Unlock()
		return false
	}
	n := l.leaseSize(allowance, h)
	l.mu.Unlock()

	refused := false
	for ; n >= 1; n /= 2 { // a smaller slice may still fit where a lease does not
		got, err := l.shared.Take(ctx, key, time.Unix(window, 0), n, allowance)
		if err != nil {
			l.report(ctx, err)
			return true // the in-process bucket still limits
		}
		if got {
			l.mu.Lock()
			if h.window == window {
				h.left += n - 1
				h.taken += n
				if refused {
					h.fits = n
				}
			}
			l.mu.Unlock()
			return true
		}
		refused = true
	}
	l.mu.Lock()
	if h.window == window {
		h.spent = true
	}
	l.mu.Unlock()
	return false
}

// leaseSize is how much of a window a process leases next: what it has
// taken of the window so far (so its leases double) or half of what it took
// of the window before, at least one and at most a tenth of the allowance.
// A process that makes one call leases one, so many short-lived processes
// (Lambda containers) do not strand a window's allowance in unspent leases.
func (l *Limiter) leaseSize(allowance int, h *leased) int {
	n := min(max(1, h.taken, h.prev/2), max(1, int(math.Ceil(float64(allowance)/10))))
	if l.lease > 0 {
		n = min(l.lease, allowance)
	}
	if h.fits > 0 {
		n = min(n, h.fits)
	}
	return n
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

// MemoryCounter is a Counter in memory, for one process and tests. It
// forgets windows that began more than a minute before the latest.
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
		if old < w-60 {
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
