package api

import (
	"sync"

	"golang.org/x/time/rate"

	"github.com/elevate-jit/elevate/internal/access"
)

// PrincipalLimiter is a token bucket per caller (tenant and principal), so
// one noisy client cannot starve the others. It remembers at most max
// callers; past that it starts over, which only ever errs on the side of
// letting calls through.
type PrincipalLimiter struct {
	rate  rate.Limit
	burst int
	max   int

	mu      sync.Mutex
	buckets map[[2]string]*rate.Limiter
}

// NewPrincipalLimiter allows each caller perSecond calls a second, with
// bursts of burst.
func NewPrincipalLimiter(perSecond float64, burst int) *PrincipalLimiter {
	return &PrincipalLimiter{rate: rate.Limit(perSecond), burst: max(burst, 1), max: 100000, buckets: map[[2]string]*rate.Limiter{}}
}

// Allow reports whether the caller may make one more call now.
func (l *PrincipalLimiter) Allow(p access.Principal) bool {
	k := [2]string{p.TenantID, p.ID}
	l.mu.Lock()
	b, ok := l.buckets[k]
	if !ok {
		if len(l.buckets) >= l.max {
			l.buckets = map[[2]string]*rate.Limiter{}
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[k] = b
	}
	l.mu.Unlock()
	return b.Allow()
}
