// Package workflow runs Elevate's asynchronous lifecycle: the approval wait,
// provisioning, deprovisioning and expiry. Local runs it all in-process for
// the local server and tests; the AWS implementation uses Step Functions and
// EventBridge Scheduler. Both drive the same domain steps.
package workflow

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/clock"
)

// Steps are the domain operations a workflow drives.
type Steps interface {
	ExpireRequest(ctx context.Context, tenantID, id string) (access.Request, error)
	ProvisionGrant(ctx context.Context, tenantID, grantID string) (bool, error)
	DeprovisionGrant(ctx context.Context, tenantID, grantID string) (bool, error)
	ExpireGrant(ctx context.Context, tenantID, grantID string, generation int64) (access.Grant, error)
	StartGrant(ctx context.Context, tenantID, grantID string, generation int64) (access.Grant, error)
	RemindRequest(ctx context.Context, tenantID, requestID string) (access.Request, error)
	EscalateRequest(ctx context.Context, tenantID, requestID string) (access.Request, error)
}

// Local is an in-process workflow and scheduler: approval windows and
// expiries are timers on a clock, provisioning and deprovisioning are
// goroutines that repeat their step until it is done. State is lost when the
// process ends; the local server is for trying Elevate, not for production.
type Local struct {
	steps Steps
	clock clock.Clock
	log   *slog.Logger
	// Poll is the pause between two steps of a running provisioning.
	poll    time.Duration
	maxWait time.Duration

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	waits    map[string]clock.Timer
	expiries map[string]clock.Timer
	starts   map[string]clock.Timer
	nudges   map[string]clock.Timer
	running  map[string]bool
	busy     int
	idle     *sync.Cond
}

// LocalOption configures a Local workflow.
type LocalOption func(*Local)

// WithClock sets the clock used for approval windows and expiries.
func WithClock(c clock.Clock) LocalOption { return func(l *Local) { l.clock = c } }

// WithLogger sets the logger for step failures.
func WithLogger(log *slog.Logger) LocalOption { return func(l *Local) { l.log = log } }

// WithPoll sets the pause between provisioning steps.
func WithPoll(d time.Duration) LocalOption { return func(l *Local) { l.poll = d } }

// NewLocal returns an in-process workflow. Call Bind before use, and Close
// when done.
func NewLocal(opts ...LocalOption) *Local {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Local{
		clock: clock.Real{}, log: slog.Default(), poll: 20 * time.Millisecond, maxWait: 30 * time.Second,
		ctx: ctx, cancel: cancel,
		waits: map[string]clock.Timer{}, expiries: map[string]clock.Timer{}, starts: map[string]clock.Timer{}, nudges: map[string]clock.Timer{}, running: map[string]bool{},
	}
	l.idle = sync.NewCond(&l.mu)
	for _, o := range opts {
		o(l)
	}
	return l
}

// Bind sets the domain steps this workflow drives.
func (l *Local) Bind(s Steps) { l.steps = s }

// StartApproval waits for the request's approval window to end.
func (l *Local) StartApproval(_ context.Context, r access.Request) error {
	key := r.TenantID + "/" + r.ID
	d := r.ApprovalExpiresAt.Sub(l.clock.Now())
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.waits[key]; ok {
		return nil
	}
	l.waits[key] = l.clock.AfterFunc(d, func() {
		l.mu.Lock()
		delete(l.waits, key)
		l.mu.Unlock()
		l.run("expire request "+r.ID, func(ctx context.Context) (bool, error) {
			_, err := l.steps.ExpireRequest(ctx, r.TenantID, r.ID)
			return true, err
		})
	})
	return nil
}

// EndApproval stops the request's wait, and provisions its grant when approved.
func (l *Local) EndApproval(_ context.Context, r access.Request) error {
	key := r.TenantID + "/" + r.ID
	l.mu.Lock()
	if t, ok := l.waits[key]; ok {
		t.Stop()
		delete(l.waits, key)
	}
	l.mu.Unlock()
	if r.Status == access.RequestApproved && r.GrantID != "" {
		l.loop("provision grant "+r.GrantID, func(ctx context.Context) (bool, error) {
			return l.steps.ProvisionGrant(ctx, r.TenantID, r.GrantID)
		})
	}
	return nil
}

// StartProvisioning provisions a grant in the background.
func (l *Local) StartProvisioning(_ context.Context, g access.Grant) error {
	l.loop("provision grant "+g.ID, func(ctx context.Context) (bool, error) {
		return l.steps.ProvisionGrant(ctx, g.TenantID, g.ID)
	})
	return nil
}

// StartDeprovisioning takes a grant's access away in the background.
func (l *Local) StartDeprovisioning(_ context.Context, g access.Grant) error {
	l.loop("deprovision grant "+g.ID, func(ctx context.Context) (bool, error) {
		return l.steps.DeprovisionGrant(ctx, g.TenantID, g.ID)
	})
	return nil
}

// ScheduleExpiry ends the grant at its ExpiresAt, replacing an earlier schedule.
func (l *Local) ScheduleExpiry(_ context.Context, g access.Grant) error {
	gen := g.Generation
	l.schedule(l.expiries, g.TenantID+"/"+g.ID, g.ExpiresAt, "expire grant "+g.ID, func(ctx context.Context) error {
		_, err := l.steps.ExpireGrant(ctx, g.TenantID, g.ID, gen)
		return err
	})
	return nil
}

// CancelExpiry drops a grant's pending expiry.
func (l *Local) CancelExpiry(_ context.Context, g access.Grant) error {
	l.unschedule(l.expiries, g.TenantID+"/"+g.ID)
	return nil
}

// ScheduleStart starts a scheduled grant at its StartsAt, replacing an
// earlier schedule.
func (l *Local) ScheduleStart(_ context.Context, g access.Grant) error {
	gen := g.Generation
	l.schedule(l.starts, g.TenantID+"/"+g.ID, g.StartsAt, "start grant "+g.ID, func(ctx context.Context) error {
		_, err := l.steps.StartGrant(ctx, g.TenantID, g.ID, gen)
		return err
	})
	return nil
}

// CancelStart drops a grant's pending start.
func (l *Local) CancelStart(_ context.Context, g access.Grant) error {
	l.unschedule(l.starts, g.TenantID+"/"+g.ID)
	return nil
}

// ScheduleNudge reminds or escalates a pending request at its RemindAt or
// EscalateAt, replacing an earlier schedule of the same kind.
func (l *Local) ScheduleNudge(_ context.Context, r access.Request, kind access.Nudge) error {
	l.schedule(l.nudges, r.TenantID+"/"+r.ID+"/"+string(kind), kind.At(r), string(kind)+" request "+r.ID, func(ctx context.Context) error {
		var err error
		if kind == access.NudgeEscalate {
			_, err = l.steps.EscalateRequest(ctx, r.TenantID, r.ID)
		} else {
			_, err = l.steps.RemindRequest(ctx, r.TenantID, r.ID)
		}
		return err
	})
	return nil
}

// CancelNudges drops a request's pending reminder and escalation.
func (l *Local) CancelNudges(_ context.Context, r access.Request) error {
	for _, kind := range []access.Nudge{access.NudgeRemind, access.NudgeEscalate} {
		l.unschedule(l.nudges, r.TenantID+"/"+r.ID+"/"+string(kind))
	}
	return nil
}

// schedule runs step once at at, as the timer key of timers, replacing the
// timer of that key.
func (l *Local) schedule(timers map[string]clock.Timer, key string, at time.Time, name string, step func(context.Context) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := timers[key]; ok {
		t.Stop()
	}
	timers[key] = l.clock.AfterFunc(at.Sub(l.clock.Now()), func() {
		l.mu.Lock()
		delete(timers, key)
		l.mu.Unlock()
		l.run(name, func(ctx context.Context) (bool, error) { return true, step(ctx) })
	})
}

// unschedule stops and drops the timer of key, if any.
func (l *Local) unschedule(timers map[string]clock.Timer, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := timers[key]; ok {
		t.Stop()
		delete(timers, key)
	}
}

// pending lists the keys of timers, for tests.
func (l *Local) pending(timers map[string]clock.Timer) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(timers))
	for k := range timers {
		out = append(out, k)
	}
	return out
}

// Nudges lists the pending nudges (tenant/request/kind), for tests.
func (l *Local) Nudges() []string { return l.pending(l.nudges) }

// Starts lists the grants (tenant/id) with a pending start, for tests.
func (l *Local) Starts() []string { return l.pending(l.starts) }

// loop repeats step until it reports done, pausing between steps and backing
// off after errors. Only one loop runs per name at a time.
func (l *Local) loop(name string, step func(context.Context) (bool, error)) {
	l.mu.Lock()
	if l.running[name] {
		l.mu.Unlock()
		return
	}
	l.running[name] = true
	l.mu.Unlock()
	l.run(name, func(ctx context.Context) (bool, error) {
		defer func() {
			l.mu.Lock()
			delete(l.running, name)
			l.mu.Unlock()
		}()
		wait := l.poll
		for {
			done, err := step(ctx)
			switch {
			case done:
				return true, nil
			case errors.Is(err, access.ErrNotFound):
				return true, err
			case err != nil:
				l.log.WarnContext(ctx, "workflow step failed; retrying", "step", name, "error", err, "retry_in", wait.String())
				wait = min(wait*2, l.maxWait)
			default:
				wait = l.poll
			}
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-time.After(wait):
			}
		}
	})
}

// run runs fn in a goroutine, counted so Wait can tell when all work is done.
func (l *Local) run(name string, fn func(context.Context) (bool, error)) {
	l.mu.Lock()
	l.busy++
	l.mu.Unlock()
	go func() {
		defer func() {
			l.mu.Lock()
			l.busy--
			if l.busy == 0 {
				l.idle.Broadcast()
			}
			l.mu.Unlock()
		}()
		if _, err := fn(l.ctx); err != nil && !errors.Is(err, context.Canceled) {
			l.log.ErrorContext(l.ctx, "workflow step failed", "step", name, "error", err)
		}
	}()
}

// Wait blocks until no step is running. Timers that have not fired yet do
// not count. Tests use it to observe settled state.
func (l *Local) Wait() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.busy > 0 {
		l.idle.Wait()
	}
}

// Close stops every timer and running step.
func (l *Local) Close() {
	l.mu.Lock()
	for _, t := range l.waits {
		t.Stop()
	}
	for _, t := range l.expiries {
		t.Stop()
	}
	l.mu.Unlock()
	l.cancel()
	l.Wait()
}
