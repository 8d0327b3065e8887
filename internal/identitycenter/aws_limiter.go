package identitycenter

import (
	"context"
	"sync"
	"time"

	"github.com/elevate-jit/elevate/internal/fairshare"
)

// Slots is a deployment-wide counting semaphore for outstanding assignment
// creations (Identity Center allows 10), shared fairly between owners (the
// tenants on whose behalf creations run: fairshare.Pool). A key is held
// from the creation call until its status is terminal.
//
// Implementations must make Acquire of a key already held succeed (a retried
// creation keeps its slot), make Release of a key not held a no-op, and let
// holds expire on their own, since a process can die between the two.
type Slots interface {
	// Acquire takes a slot for key on owner's behalf; false means every
	// slot is taken or owner holds its fair share.
	Acquire(ctx context.Context, key, owner string) (bool, error)
	Release(ctx context.Context, key string) error
}

// localHold bounds how long an in-process slot is held without a release:
// far longer than Identity Center takes to settle a creation.
const localHold = 15 * time.Minute

// localSlots is an in-process Slots, for a single process or for tests.
type localSlots struct {
	mu      sync.Mutex
	n       int
	now     func() time.Time
	held    map[string]localHolding
	refused map[string]time.Time
}

type localHolding struct {
	at    time.Time
	owner string
}

// NewLocalSlots returns an in-process Slots with n slots. It caps only this
// process; a deployment with many processes needs a shared implementation.
func NewLocalSlots(n int) Slots { return newLocalSlots(n, time.Now) }

func newLocalSlots(n int, now func() time.Time) *localSlots {
	return &localSlots{n: max(n, 1), now: now, held: map[string]localHolding{}, refused: map[string]time.Time{}}
}

func (s *localSlots) Acquire(_ context.Context, key, owner string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if h, ok := s.held[key]; ok {
		s.held[key] = localHolding{at: now, owner: h.owner}
		return true, nil
	}
	pool := fairshare.Pool{Size: s.n, Held: map[string]int{}, Refused: s.refused}
	for k, h := range s.held {
		if now.Sub(h.at) > localHold {
			delete(s.held, k)
			continue
		}
		pool.Held[h.owner]++
	}
	if !pool.Admit(owner, now) {
		s.refused[owner] = now
		return false, nil
	}
	delete(s.refused, owner)
	s.held[key] = localHolding{at: now, owner: owner}
	return true, nil
}

func (s *localSlots) Release(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.held, key)
	return nil
}
