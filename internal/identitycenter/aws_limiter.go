package identitycenter

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/aws/smithy-go"

	"github.com/elevate-jit/elevate/internal/access"
)

// Slots is a deployment-wide counting semaphore for outstanding assignment
// creations (Identity Center allows 10). A key is held from the
// creation call until its status is terminal.
//
// Implementations must make Acquire of a key already held succeed (a retried
// creation keeps its slot), make Release of a key not held a no-op, and let
// holds expire on their own, since a process can die between the two.
type Slots interface {
	// Acquire takes a slot for key; false means every slot is taken.
	Acquire(ctx context.Context, key string) (bool, error)
	Release(ctx context.Context, key string) error
}

// localHold bounds how long an in-process slot is held without a release:
// far longer than Identity Center takes to settle a creation.
const localHold = 15 * time.Minute

// localSlots is an in-process Slots, for a single process or for tests.
type localSlots struct {
	mu   sync.Mutex
	n    int
	held map[string]time.Time
}

// NewLocalSlots returns an in-process Slots with n slots. It caps only this
// process; a deployment with many processes needs a shared implementation.
func NewLocalSlots(n int) Slots {
	return &localSlots{n: max(n, 1), held: map[string]time.Time{}}
}

func (s *localSlots) Acquire(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if _, ok := s.held[key]; ok {
		s.held[key] = now
		return true, nil
	}
	for k, at := range s.held {
		if now.Sub(at) > localHold {
			delete(s.held, k)
		}
	}
	if len(s.held) >= s.n {
		return false, nil
	}
	s.held[key] = now
	return true, nil
}

func (s *localSlots) Release(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.held, key)
	return nil
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

// retryOn says which failures a call retries.
type retryOn int

const (
	// retryThrottled retries throttling only.
	retryThrottled retryOn = iota
	// retryThrottledOrConflict also retries ConflictException, which SSO Admin
	// returns when a previous write has not propagated yet.
	retryThrottledOrConflict
	// retryFreshSet also retries AccessDeniedException, for calls on a
	// permission set created moments ago: the role may change only sets
	// tagged elevate:managed=true, and IAM may not see the new set's tag yet.
	retryFreshSet
)

// invoke makes one AWS call under the rate limiter, retrying throttling (and
// conflicts, if asked) with backoff. When the attempts run out the error
// wraps access.ErrRetryLater, so the workflow step waits and runs again.
func invoke[T any](ctx context.Context, a *AWS, on retryOn, call func(context.Context) (T, error)) (T, error) {
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

func retryable(err error, on retryOn) bool {
	if throttling(err) {
		return true
	}
	switch errorCode(err) {
	case "ConcurrentModificationException":
		return true
	case "ConflictException":
		return on == retryThrottledOrConflict || on == retryFreshSet
	case "AccessDeniedException":
		return on == retryFreshSet
	}
	return false
}

// throttling reports whether AWS refused a call for its rate.
func throttling(err error) bool {
	return hasCode(err, "ThrottlingException", "TooManyRequestsException")
}

// errorCode returns the AWS error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// hasCode reports whether err is an AWS error with one of the codes.
func hasCode(err error, codes ...string) bool {
	c := errorCode(err)
	return c != "" && slices.Contains(codes, c)
}
