package identitycenter

import (
	"context"
	"sync"
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

// policyLock is the lock name of a permission set's inline policy.
func policyLock(permissionSetARN string) string { return "inline-policy " + permissionSetARN }

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
