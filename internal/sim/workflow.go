package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/workflow"
)

// flow models Step Functions running Elevate's state machine
// (internal/workflow/statemachine.asl.json) and EventBridge Scheduler's
// one-time expiry schedules, calling the domain's steps as the Lambda
// handlers of internal/workflow do. It is the domain's access.Workflow and
// access.Scheduler.
//
// Executions are named as workflow.StepFunctions names them, so a second
// start of the same name is the same execution. Each task is one scheduler
// tick; a failed task is retried with the definition's policy (2 s, ×2,
// full jitter), then the execution fails and the sweeper takes over. A task
// may be delivered twice (an extra invocation whose result nobody reads).
type flow struct {
	w *world
	// handlers are the workflow's Lambda handlers (internal/workflow), which
	// the tasks call as Step Functions and the Scheduler invoke them.
	handlers  workflow.Handlers
	execs     map[string]*execution
	byToken   map[string]*execution
	schedules map[string]*schedule
}

var (
	_ access.Workflow  = (*flow)(nil)
	_ access.Scheduler = (*flow)(nil)
	_ workflow.Resumer = (*flow)(nil)
)

func newFlow(w *world) *flow {
	return &flow{w: w, execs: map[string]*execution{}, byToken: map[string]*execution{}, schedules: map[string]*schedule{}}
}

// The state machine's states, as far as the simulator tells them apart.
type state int

const (
	stAttach state = iota
	stWait
	stExpire
	stProvision
	stDeprovision
	stDone
	stFailed
)

var stateNames = []string{"WaitForApproval(attach)", "WaitForApproval", "ExpireRequest", "Provision", "Deprovision", "Done", "Failed"}

func (s state) String() string { return stateNames[s] }

// execution is one Step Functions execution.
type execution struct {
	name            string
	tenant, request string
	grant           string
	state           state
	token           string
	timeoutAt       time.Time
	timeout         *task
	decided         bool
	outcome         string
	attempts        int // failed attempts of the current task
	loops           int // the steps counter of the provisioning loops
}

// The definition's limits.
const (
	maxLoops = 720
	// the Retry blocks: attempts and the largest interval.
	provisionAttempts = 10
	provisionMaxDelay = 120 * time.Second
	expireAttempts    = 8
	expireMaxDelay    = 60 * time.Second
	loopWait          = 5 * time.Second
)

// sfnCall applies the faults of a Step Functions or Scheduler API call:
// do runs unless the call fails before it took effect.
func (f *flow) sfnCall(call, tag string, do func()) error {
	w := f.w
	w.maybeNest(call)
	ft := w.fault(call, write, tag)
	switch ft {
	case faultBefore, faultThrottle:
		return fmt.Errorf("%s: %w", call, errInjected)
	case faultCrashBefore:
		crashNow(call)
	}
	do()
	switch ft {
	case faultAfter:
		return fmt.Errorf("%s: %w", call, errLost)
	case faultCrashAfter:
		crashNow(call)
	}
	return nil
}

// StartApproval starts the approval wait, named after the request, with the
// request's approval window as its timeout.
func (f *flow) StartApproval(_ context.Context, r access.Request) error {
	window := time.Duration(max(int64(math.Ceil(r.ApprovalExpiresAt.Sub(r.CreatedAt).Seconds())), 1)) * time.Second
	return f.sfnCall("sfn.StartExecution", f.w.label(r.ID), func() {
		f.start(r.ID, &execution{tenant: r.TenantID, request: r.ID, state: stAttach, timeoutAt: f.w.now().Add(window)})
	})
}

// StartProvisioning starts provisioning a grant (name: grant id, -p, revision).
func (f *flow) StartProvisioning(_ context.Context, g access.Grant) error {
	name := fmt.Sprintf("%s-p%d", g.ID, g.Revision)
	return f.sfnCall("sfn.StartExecution", f.w.label(g.ID), func() {
		f.start(name, &execution{tenant: g.TenantID, grant: g.ID, state: stProvision})
	})
}

// StartDeprovisioning starts taking a grant's assignments away.
func (f *flow) StartDeprovisioning(_ context.Context, g access.Grant) error {
	name := fmt.Sprintf("%s-d%d", g.ID, g.Revision)
	return f.sfnCall("sfn.StartExecution", f.w.label(g.ID), func() {
		f.start(name, &execution{tenant: g.TenantID, grant: g.ID, state: stDeprovision})
	})
}

// start makes an execution unless one of that name exists (Step Functions'
// idempotent start, and ExecutionAlreadyExists taken as started).
func (f *flow) start(name string, e *execution) {
	if f.execs[name] != nil {
		return
	}
	e.name = name
	f.execs[name] = e
	f.w.trace.event(f.w, "sfn: start %s (%s)", f.w.execLabel(name), e.state)
	f.next(e, time.Duration(50+f.w.rng.IntN(950))*time.Millisecond)
}

// next schedules the execution's current state's task after d.
func (f *flow) next(e *execution, d time.Duration) {
	f.w.after(d, "sfn:"+e.name, e.state.String()+" "+f.w.execLabel(e.name), func() { f.run(e) })
}

// EndApproval resumes the wait of a decided request whose token is stored.
func (f *flow) EndApproval(_ context.Context, r access.Request) error {
	if r.TaskToken == "" {
		return nil
	}
	return f.resume(r.TaskToken, r)
}

// Resume is workflow.Resumer for the attach handler.
func (f *flow) Resume(_ context.Context, token string, r access.Request) error {
	return f.resume(token, r)
}

// resume is SendTaskSuccess with the request's outcome; a task that no
// longer waits answers TaskTimedOut, which the adapter takes as done.
func (f *flow) resume(token string, r access.Request) error {
	outcome, _, ended := access.ApprovalOutcome(r)
	if !ended {
		return nil
	}
	return f.sfnCall("sfn.SendTaskSuccess", f.w.label(r.ID), func() {
		e := f.byToken[token]
		if e == nil || e.decided || (e.state != stAttach && e.state != stWait) {
			return
		}
		e.decided, e.outcome = true, outcome
		grantID := r.GrantID
		f.w.trace.event(f.w, "sfn: %s resumed: %s %s", f.w.execLabel(e.name), outcome, f.w.label(grantID))
		if e.state == stWait {
			e.timeout.dead = true
			f.decide(e, outcome, grantID)
		} else {
			e.grant = grantID // the attach task is running; it proceeds when it returns
		}
	})
}

// decide moves an execution on from the approval wait (Decided).
func (f *flow) decide(e *execution, outcome, grantID string) {
	e.attempts = 0
	if outcome == access.OutcomeApproved && grantID != "" {
		e.grant, e.state = grantID, stProvision
		f.next(e, time.Duration(50+f.w.rng.IntN(500))*time.Millisecond)
		return
	}
	f.end(e, stDone)
}

func (f *flow) end(e *execution, s state) {
	e.state = s
	f.w.trace.event(f.w, "sfn: %s ends %s", f.w.execLabel(e.name), s)
}

// run runs the execution's current task, and perhaps a duplicate of it.
func (f *flow) run(e *execution) {
	w := f.w
	if w.faultsOn && w.rng.Float64() < w.cfg.FaultRate/3 {
		w.faults++
		w.duplicates++
		w.trace.event(w, "⚡ duplicate delivery of %s %s", e.state, w.execLabel(e.name))
		dup := *e
		w.after(time.Duration(w.rng.IntN(1500))*time.Millisecond, fmt.Sprintf("sfn:%s~dup%d", e.name, w.q.seq), "duplicate "+e.state.String()+" "+w.execLabel(e.name), func() {
			f.invokeAgain(&dup)
		})
	}
	switch e.state {
	case stAttach:
		f.attach(e)
	case stExpire:
		decision, err := f.invokeExpire(e)
		if err != nil {
			f.retry(e, err, expireAttempts, expireMaxDelay)
			return
		}
		f.decide(e, decision.outcome, decision.grant)
	case stProvision, stDeprovision:
		done, err := f.invoke(e)
		switch {
		case err != nil:
			f.retry(e, err, provisionAttempts, provisionMaxDelay)
		case done:
			f.end(e, stDone)
		default:
			e.attempts = 0
			if e.loops++; e.loops >= maxLoops {
				f.end(e, stFailed)
				return
			}
			f.next(e, loopWait)
		}
	}
}

// invokeAgain is a second delivery of a task: the same call, its result
// read by nobody.
func (f *flow) invokeAgain(e *execution) {
	w := f.w
	switch e.state {
	case stAttach:
		if e.token == "" {
			return // the first delivery has not made its token yet
		}
		err := guard(func() error {
			_, err := f.handlers.AttachToken(w.ctx, workflow.AttachTokenInput{TenantID: e.tenant, RequestID: e.request, TaskToken: e.token})
			return err
		})
		w.trace.event(w, "= AttachTaskToken %s err=%v", w.label(e.request), err)
	case stExpire:
		_, _ = f.invokeExpire(e)
	case stProvision, stDeprovision:
		_, _ = f.invoke(e)
	}
}

// invoke runs the provisioning or deprovisioning handler (a grant that is
// gone is done).
func (f *flow) invoke(e *execution) (done bool, err error) {
	w := f.w
	err = guard(func() error {
		var out workflow.StepOutput
		var err error
		in := workflow.GrantStepInput{TenantID: e.tenant, GrantID: e.grant}
		if e.state == stProvision {
			out, err = f.handlers.Provision(w.ctx, in)
		} else {
			out, err = f.handlers.Deprovision(w.ctx, in)
		}
		done = out.Done
		return err
	})
	w.trace.event(w, "= %s %s done=%t err=%v", e.state, w.label(e.grant), done, err)
	return done, err
}

type decision struct{ outcome, grant string }

// invokeExpire is the ExpireRequest task.
func (f *flow) invokeExpire(e *execution) (decision, error) {
	w := f.w
	var d decision
	err := guard(func() error {
		out, err := f.handlers.ExpireRequest(w.ctx, workflow.RequestStepInput{TenantID: e.tenant, RequestID: e.request})
		d = decision{out.Outcome, out.GrantID}
		return err
	})
	w.trace.event(w, "= ExpireRequest %s → %s %s err=%v", w.label(e.request), d.outcome, w.label(d.grant), err)
	return d, err
}

// attach is the approval wait's task: store the token, or resume the wait
// at once when the request was decided before it (Handlers.AttachToken). A
// failed attach is not retried; the execution fails and the sweeper expires
// the request once its window has passed.
func (f *flow) attach(e *execution) {
	w := f.w
	if e.token == "" {
		e.token = fmt.Sprintf("token-%s-%d", e.name, w.q.seq)
		f.byToken[e.token] = e
	}
	err := guard(func() error {
		_, err := f.handlers.AttachToken(w.ctx, workflow.AttachTokenInput{TenantID: e.tenant, RequestID: e.request, TaskToken: e.token})
		return err
	})
	w.trace.event(w, "= AttachTaskToken %s err=%v", w.label(e.request), err)
	switch {
	case e.decided:
		f.decide(e, e.outcome, e.grant)
	case err != nil:
		f.end(e, stFailed)
	default:
		e.state = stWait
		e.timeout = w.schedule(e.timeoutAt, "sfn:"+e.name, "States.Timeout "+w.execLabel(e.name), func() {
			if e.state != stWait || e.decided {
				return
			}
			e.state, e.attempts = stExpire, 0
			f.run(e)
		})
	}
}

// retry schedules the next attempt of a failed task, with full jitter, or
// fails the execution once the attempts are spent (ProvisioningStuck).
func (f *flow) retry(e *execution, err error, attempts int, maxDelay time.Duration) {
	e.attempts++
	if e.attempts >= attempts {
		f.end(e, stFailed)
		return
	}
	d := min(2*time.Second<<(e.attempts-1), maxDelay)
	f.next(e, time.Duration(f.w.rng.Int64N(int64(d)+1)))
}

// schedule is one grant's one-time expiry schedule (named after the grant,
// so a new one replaces the old) and its pending delivery.
type schedule struct {
	grant      string
	generation int64
	deliveries []*task
}

// How an expiry schedule delivers: EventBridge Scheduler delivers at least
// once and retries a failing target; the simulator also makes it late, twice
// or never.
const (
	expiryRetryEvery = 3 * time.Minute
	expiryRetries    = 20
)

// ScheduleExpiry creates or replaces the grant's schedule.
func (f *flow) ScheduleExpiry(_ context.Context, g access.Grant) error {
	return f.sfnCall("scheduler.CreateSchedule", f.w.label(g.ID), func() {
		f.cancel(g.ID)
		w := f.w
		s := &schedule{grant: g.ID, generation: g.Generation}
		f.schedules[g.ID] = s
		at := g.ExpiresAt
		how := "on time"
		times := 1
		if w.faultsOn && w.rng.Float64() < w.cfg.FaultRate*3 {
			w.faults++
			w.deliveryFaults++
			switch w.rng.IntN(3) {
			case 0:
				at = at.Add(time.Duration(1+w.rng.IntN(30)) * time.Minute)
				how = "late"
			case 1:
				times, how = 2, "twice"
			default:
				times, how = 0, "never"
			}
			w.trace.event(w, "⚡ expiry of %s will fire %s", w.label(g.ID), how)
		}
		for i := range times {
			s.deliveries = append(s.deliveries, f.deliver(s, g.TenantID, at.Add(time.Duration(i*(1+w.rng.IntN(20)))*time.Second), i, 0))
		}
	})
}

// deliver schedules one delivery of an expiry, retried while it fails.
func (f *flow) deliver(s *schedule, tenantID string, at time.Time, copy, attempt int) *task {
	w := f.w
	actor := fmt.Sprintf("scheduler:%s#%d", s.grant, copy)
	return w.schedule(at, actor, fmt.Sprintf("ExpireGrant %s gen %d", w.label(s.grant), s.generation), func() {
		err := guard(func() error {
			_, err := f.handlers.Expire(w.ctx, workflow.ExpiryInput{TenantID: tenantID, GrantID: s.grant, Generation: s.generation})
			return err
		})
		w.trace.event(w, "= ExpireGrant %s err=%v", w.label(s.grant), err)
		if err != nil && attempt < expiryRetries {
			t := f.deliver(s, tenantID, w.now().Add(expiryRetryEvery), copy, attempt+1)
			s.deliveries = append(s.deliveries, t)
		}
	})
}

// ScheduleStart delivers the start of a scheduled grant once, at its
// StartsAt (the simulated requests never name starts_at; the sweeper starts
// a grant whose start is lost).
func (f *flow) ScheduleStart(_ context.Context, g access.Grant) error {
	w := f.w
	return f.sfnCall("scheduler.CreateSchedule", w.label(g.ID), func() {
		w.schedule(g.StartsAt, "scheduler:"+g.ID, fmt.Sprintf("StartGrant %s gen %d", w.label(g.ID), g.Generation), func() {
			_, err := f.handlers.Expire(w.ctx, workflow.ExpiryInput{TenantID: g.TenantID, GrantID: g.ID, Generation: g.Generation, Action: workflow.ActionStart})
			w.trace.event(w, "= StartGrant %s err=%v", w.label(g.ID), err)
		})
	})
}

// ScheduleNudge and CancelNudges are no-ops: the simulation does not
// deliver reminders or escalations (a lost one only delays an
// announcement; escalation follows the clock).
func (f *flow) ScheduleNudge(context.Context, access.Request, access.Nudge) error { return nil }
func (f *flow) CancelNudges(context.Context, access.Request) error                { return nil }

// CancelStart is a no-op: a start that fires for a grant that is no longer
// scheduled does nothing.
func (f *flow) CancelStart(context.Context, access.Grant) error { return nil }

// CancelExpiry deletes the grant's schedule.
func (f *flow) CancelExpiry(_ context.Context, g access.Grant) error {
	return f.sfnCall("scheduler.DeleteSchedule", f.w.label(g.ID), func() { f.cancel(g.ID) })
}

func (f *flow) cancel(grantID string) {
	if s := f.schedules[grantID]; s != nil {
		for _, t := range s.deliveries {
			t.dead = true
		}
		delete(f.schedules, grantID)
	}
}
