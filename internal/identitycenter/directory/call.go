package directory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/elevate-jit/elevate/internal/access"
)

// Caller makes the AWS calls of one process's Identity Center adapters:
// every call waits on one rate limiter (the process's share of the
// deployment's Identity Center budget) and throttling is retried with
// backoff.
type Caller struct {
	limiter  *rate.Limiter
	backoff  Backoff
	throttle func(ctx context.Context)
}

// NewCaller returns a Caller of tps calls a second (DefaultTPS for 0);
// throttled, if not nil, is told of every throttled call.
func NewCaller(tps float64, b Backoff, throttled func(ctx context.Context)) *Caller {
	if tps <= 0 {
		tps = DefaultTPS
	}
	if throttled == nil {
		throttled = func(context.Context) {}
	}
	// A burst of one keeps the process within its share even for a moment;
	// the deployment-wide rate is the sum of the shares.
	return &Caller{limiter: rate.NewLimiter(rate.Limit(tps), 1), backoff: b.withDefaults(), throttle: throttled}
}

// Backoff shapes the retries of throttled calls: exponential with full
// jitter, Attempts calls in all, each wait at most Max.
type Backoff struct {
	Attempts int
	Base     time.Duration
	Max      time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Attempts <= 0 {
		b.Attempts = 5
	}
	if b.Base <= 0 {
		b.Base = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Second
	}
	return b
}

// delay is the full-jitter wait before retry number n (0 for the first).
func (b Backoff) delay(n int) time.Duration {
	d := b.Max
	if n < 30 && b.Base<<n < b.Max {
		d = b.Base << n
	}
	return rand.N(d + 1)
}

// RetryOn says which failures a call retries.
type RetryOn int

const (
	// RetryThrottled retries throttling only.
	RetryThrottled RetryOn = iota
	// RetryThrottledOrConflict also retries ConflictException, which SSO Admin
	// returns when a previous write has not propagated yet.
	RetryThrottledOrConflict
	// RetryFreshSet also retries AccessDeniedException, for calls on a
	// permission set created moments ago: the role may change only sets
	// tagged elevate:managed=true, and IAM may not see the new set's tag yet.
	RetryFreshSet
)

// Call makes one AWS call under the rate limiter, retrying throttling (and
// conflicts, if asked) with backoff. When the attempts run out the error
// wraps access.ErrRetryLater, so the workflow step waits and runs again.
func Call[T any](ctx context.Context, a *Caller, on RetryOn, call func(context.Context) (T, error)) (T, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		if err := a.limiter.Wait(ctx); err != nil {
			if ctx.Err() == nil {
				// The wait would outlast the context's deadline: that is throttling too.
				return zero, fmt.Errorf("rate limit: %w: %w", access.ErrRetryLater, err)
			}
			return zero, err
		}
		v, err := call(ctx)
		if err == nil || !retryable(err, on) {
			return v, err
		}
		if throttling(err) {
			a.throttle(ctx)
		}
		if attempt+1 >= a.backoff.Attempts {
			return zero, fmt.Errorf("gave up after %d attempts: %w: %w", attempt+1, access.ErrRetryLater, err)
		}
		t := time.NewTimer(a.backoff.delay(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return zero, fmt.Errorf("%w (last attempt: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

func retryable(err error, on RetryOn) bool {
	if throttling(err) {
		return true
	}
	switch ErrorCode(err) {
	case "ConcurrentModificationException":
		return true
	case "ConflictException":
		return on == RetryThrottledOrConflict || on == RetryFreshSet
	case "AccessDeniedException":
		return on == RetryFreshSet
	}
	return false
}

// throttling reports whether AWS refused a call for its rate.
func throttling(err error) bool {
	return HasCode(err, "ThrottlingException", "TooManyRequestsException")
}

// ErrorCode returns the AWS error code of err, or "".
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// HasCode reports whether err is an AWS error with one of the codes.
func HasCode(err error, codes ...string) bool {
	c := ErrorCode(err)
	return c != "" && slices.Contains(codes, c)
}
