package identitycenter

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// Locker serializes the writers of one permission set's inline policy
// across processes. Two of Elevate's steps write it, each by reading the
// whole policy, changing its own part and putting the whole back: the
// session cuts of ended grants (EditInlinePolicy) and the sync of a managed
// set's spec (EnsurePermissionSet). Identity Center has no conditional put,
// so without a lock each can put back what it read before the other's
// write: a lost cut leaves a revoked grant's sessions open, and a lost spec
// change leaves a set with the permissions an admin took away.
//
// Implementations must wait while another holder holds name, until ctx
// ends, and let a hold lapse on its own after a while, in case its holder
// dies (the table's, dynamo.Store.Lock).
type Locker interface {
	Lock(ctx context.Context, name string) (unlock func(), err error)
}

// PolicyLock is the lock name of a permission set's inline policy.
func PolicyLock(permissionSetARN string) string { return "inline-policy " + permissionSetARN }

// LockWaitMargin is how long before its context's deadline a writer stops
// waiting for a permission set's policy lock: a step then answers "later"
// (access.ErrRetryLater) instead of being stopped mid-wait by its timeout.
const LockWaitMargin = 10 * time.Second

// lockPolicy takes the lock of a permission set's inline policy, waiting
// for it until LockWaitMargin before ctx's deadline.
func (a *AWS) lockPolicy(ctx context.Context, arn string) (unlock func(), err error) {
	wait := ctx
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		wait, cancel = context.WithDeadline(ctx, d.Add(-LockWaitMargin))
		defer cancel()
	}
	unlock, err = a.locks.Lock(wait, PolicyLock(arn))
	switch {
	case err == nil:
		return unlock, nil
	case ctx.Err() == nil && wait.Err() != nil:
		return nil, fmt.Errorf("another step is writing the inline policy of %s: %w", arn, access.ErrRetryLater)
	default:
		return nil, fmt.Errorf("lock the inline policy of %s: %w", arn, err)
	}
}

// localLocks is an in-process Locker, for a single process or for tests.
type localLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when released
}

// NewLocalLocks returns an in-process Locker. It serializes only this
// process's writers; a deployment with many processes needs a shared one.
func NewLocalLocks() Locker { return newLocalLocks() }

func newLocalLocks() *localLocks { return &localLocks{held: map[string]chan struct{}{}} }

func (l *localLocks) Lock(ctx context.Context, name string) (func(), error) {
	for {
		l.mu.Lock()
		ch, busy := l.held[name]
		if !busy {
			mine := make(chan struct{})
			l.held[name] = mine
			l.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					l.mu.Lock()
					delete(l.held, name)
					l.mu.Unlock()
					close(mine)
				})
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
