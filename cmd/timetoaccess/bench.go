package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter/recording"
	"github.com/elevate-jit/elevate/internal/local"
	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/store/memstore"
	"github.com/elevate-jit/elevate/internal/workflow"
	"github.com/elevate-jit/elevate/internal/workflow/stepfunctions"
)

// A variant is a state machine the bench measures.
type variant string

const (
	// variantNow is workflow.Definition as deployed: each step says how
	// long to wait (workflow.PollWait).
	variantNow variant = "now"
	// variantFixed5 is the definition with its loops' waits forced to the
	// fixed 5 s they were before steps said how long to wait.
	variantFixed5 variant = "fixed5"
)

// functions are the workflow functions' ARNs in moto's account and
// region, by the definition's substitution variable (as the stack makes
// them), and the names they are served under.
var functions = map[string]string{
	"AttachTokenFunctionArn":   "elevate-wf-attach-token",
	"ExpireRequestFunctionArn": "elevate-wf-expire-request",
	"ProvisionFunctionArn":     "elevate-wf-provision",
	"DeprovisionFunctionArn":   "elevate-wf-deprovision",
}

// definition is workflow.Definition with the substitutions the stack
// makes, for the variant.
func definition(v variant) (string, error) {
	def := strings.ReplaceAll(workflow.Definition, "${Partition}", "aws")
	for key, name := range functions {
		def = strings.ReplaceAll(def, "${"+key+"}", "arn:aws:lambda:us-east-1:123456789012:function:"+name)
	}
	if i := strings.Index(def, "${"); i >= 0 {
		return "", fmt.Errorf("the definition has a substitution the stack does not make: %.40s", def[i:])
	}
	if v == variantFixed5 {
		const wait = `"SecondsPath": "$.step.wait_seconds"`
		if n := strings.Count(def, wait); n != 2 {
			return "", fmt.Errorf("the definition has %d waits %s, want 2 (the provisioning and deprovisioning loops)", n, wait)
		}
		def = strings.ReplaceAll(def, wait, fmt.Sprintf(`"Seconds": %d`, workflow.MaxPollWait))
	}
	return def, nil
}

// The tenant the bench drives: the demo catalog on one account of an
// organization.
const (
	tenantID    = "7d2e9a41-1b3c-4d5e-8f70-9a8b7c6d5e4f"
	instance    = "ssoins-72a3c1e9d4b5f601"
	instanceARN = "arn:aws:sso:::instance/" + instance
	root        = "r-ac01"
	ouWork      = "ou-ac01-workload"
	account     = "123456789012"
)

// approver approves every request; each run has a requester of its own, so
// that no grant shares an assignment with an earlier one.
var approver = access.Principal{TenantID: tenantID, ID: "carol", Kind: access.PrincipalUser, Role: access.RoleApprover, Groups: []string{"approvers"}}

// bench is Elevate's provisioning on moto's Step Functions engine: the
// state machines execute on a patched moto whose Lambda invocations are
// forwarded to the real workflow handlers (workflow.Handlers) here, over
// the real domain steps on the embedded store, with the stepfunctions
// workflow adapter and a fake Identity Center with a creation latency.
type bench struct {
	log      *slog.Logger
	listener net.Listener
	http     *http.Server
	ic       *identityCenter
	store    *memstore.Store
	steps    *access.Steps
	services map[variant]*access.Service
	machines map[variant]string // state machine ARNs
	sfn      *resumeClock

	mu     sync.Mutex
	active map[string]time.Time // grant id → when its move to active was committed
	seq    int
}

// newBench listens for the forwarded invocations; options is what moto
// must be started with, and connect then sets the bench up on it.
func newBench(log *slog.Logger) (*bench, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rec := recording.New(nil)
	rec.SetOrganization(instanceARN, map[string][]string{account: {root, ouWork}})
	return &bench{log: log, listener: l, ic: newIdentityCenter(rec), active: map[string]time.Time{}, services: map[variant]*access.Service{}, machines: map[variant]string{}}, nil
}

// options are the options of the moto server the bench needs, at a time
// scale.
func (b *bench) options(scale float64) motoserver.Options {
	return motoserver.Options{Patched: true, TimeScale: scale, InvokeURL: "http://" + b.listener.Addr().String() + "/"}
}

// connect creates the state machines on srv, builds the domain, and serves
// the functions.
func (b *bench) connect(ctx context.Context, srv *motoserver.Server) error {
	if err := srv.PostAPI(ctx, "/moto-api/config", map[string]any{
		"stepfunctions": map[string]any{"execute_state_machine": true},
		"lambda":        map[string]any{"use_docker": false},
	}); err != nil {
		return fmt.Errorf("configure moto: %w", err)
	}
	b.sfn = &resumeClock{Client: sfn.NewFromConfig(srv.AWSConfig())}
	b.store = memstore.New()
	config := func(wf access.Workflow) access.Config {
		return access.Config{
			Store: b.store, Workflow: wf, Scheduler: noScheduler{}, IdentityCenter: b.ic, DB: b.ic.rec, Now: time.Now,
			Observe: b.observe,
			Report: func(ctx context.Context, p access.Problem) {
				b.log.WarnContext(ctx, p.Message, "problem", string(p.Kind), "error", p.Err)
			},
		}
	}
	var adapter *stepfunctions.StepFunctions
	for _, v := range []variant{variantNow, variantFixed5} {
		def, err := definition(v)
		if err != nil {
			return err
		}
		out, err := b.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name: aws.String("elevate-workflow-" + string(v)), Definition: aws.String(def),
			RoleArn: aws.String("arn:aws:iam::123456789012:role/elevate-workflow"), Type: sfntypes.StateMachineTypeStandard,
		})
		if err != nil {
			return fmt.Errorf("create state machine %s: %w", v, err)
		}
		b.machines[v] = aws.ToString(out.StateMachineArn)
		wf := stepfunctions.NewStepFunctions(b.sfn, b.machines[v])
		b.services[v] = access.NewService(config(wf))
		if v == variantNow {
			adapter = wf
		}
	}
	// The steps only start executions of their own for grants they send
	// back (revocations), which the bench does not make.
	b.steps = access.NewSteps(config(adapter))
	op := access.NewOperator(config(adapter))
	bound := access.DefaultBoundary()
	bound.InstanceARN, bound.IdentityStoreID, bound.AllowedRoots = instanceARN, "d-90670a1b2c", []string{root}
	bound.Assignable = local.DemoCatalog(instance).PermissionSets()
	settings := access.DefaultSettings()
	settings.GroupRoles = map[string]access.Role{"approvers": access.RoleApprover, "engineering": access.RoleRequester}
	if _, err := op.CreateTenant(ctx, access.NewTenantInput{ID: tenantID, Name: "Time to access", Boundary: &bound, Settings: &settings, Catalog: local.DemoCatalog(instance)}); err != nil {
		return fmt.Errorf("create the tenant: %w", err)
	}

	h := workflow.Handlers{Steps: b.steps, Tokens: b.steps, Resumer: adapter, Log: b.log}
	fns := motoserver.Functions{
		functions["AttachTokenFunctionArn"]:   motoserver.Handle(h.AttachToken),
		functions["ExpireRequestFunctionArn"]: motoserver.Handle(h.ExpireRequest),
		functions["ProvisionFunctionArn"]:     motoserver.Handle(h.Provision),
		functions["DeprovisionFunctionArn"]:   motoserver.Handle(h.Deprovision),
	}
	b.http = &http.Server{Handler: fns, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.http.Serve(b.listener) }()
	return nil
}

// close stops serving the functions; the caller stops moto.
func (b *bench) close() {
	if b.http != nil {
		_ = b.http.Close()
	} else {
		_ = b.listener.Close()
	}
}

// observe notes when a grant's move to active was committed.
func (b *bench) observe(_ context.Context, g access.Grant) {
	if g.Status != access.GrantActive {
		return
	}
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.active[g.ID]; !ok {
		b.active[g.ID] = now
	}
}

func (b *bench) activeAt(grantID string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	at, ok := b.active[grantID]
	return at, ok
}

// sample is one measured grant.
type sample struct {
	// access is from the approval resuming the wait (SendTaskSuccess sent)
	// to the grant's move to active (committed).
	access time.Duration
	// calls are the Identity Center calls in between, by method.
	calls map[string]int
	// Where the time went, from the execution's history: the provisioning
	// rounds (Provision tasks), the Wait states' time, the Lambda tasks'
	// time (scheduled to succeeded), and the rest, moto's engine moving
	// between states (and the approval reaching it).
	rounds       int
	waits, tasks time.Duration
}

// engine is the time of s that was neither waits nor tasks.
func (s sample) engine() time.Duration { return s.access - s.waits - s.tasks }

// total is the number of Identity Center calls of s.
func (s sample) total() int {
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// run creates a request that needs an approval on the variant's state
// machine, waits until its approval wait has stored the task token,
// approves it, and waits until the grant is active. timeout bounds each
// wait.
func (b *bench) run(ctx context.Context, v variant, latency, timeout time.Duration) (sample, error) {
	svc := b.services[v]
	b.ic.setLatency(latency)
	b.mu.Lock()
	b.seq++
	requester := access.Principal{TenantID: tenantID, ID: fmt.Sprintf("requester-%d", b.seq), Kind: access.PrincipalUser, Role: access.RoleRequester, Groups: []string{"engineering"}}
	b.mu.Unlock()
	r, err := svc.CreateRequest(ctx, requester, access.CreateRequestInput{
		Resource: access.Resource{Type: access.ResourceAccount, ID: account},
		Action:   "Admin", DurationSeconds: 3600, Justification: "CHG-7: measure the time to access",
	}, nil)
	if err != nil {
		return sample{}, fmt.Errorf("create the request: %w", err)
	}
	if r.Status != access.RequestPending {
		return sample{}, fmt.Errorf("the request is %s, want pending (it needs an approval)", r.Status)
	}
	if err := until(ctx, timeout, "the approval wait stores its task token", func() (bool, error) {
		cur, err := b.store.GetRequest(ctx, tenantID, r.ID)
		return cur.TaskToken != "", err
	}); err != nil {
		return sample{}, err
	}
	before := b.ic.snapshot()
	approved, err := svc.Approve(ctx, approver, r.ID, "measured", nil)
	if err != nil {
		return sample{}, fmt.Errorf("approve: %w", err)
	}
	resumed, ok := b.sfn.resumedAt()
	if !ok || approved.GrantID == "" {
		return sample{}, fmt.Errorf("the approval did not resume the wait (request %s, grant %q)", approved.Status, approved.GrantID)
	}
	var active time.Time
	if err := until(ctx, timeout, "the grant is active", func() (bool, error) {
		at, ok := b.activeAt(approved.GrantID)
		active = at
		return ok, nil
	}); err != nil {
		g, _ := b.store.GetGrant(ctx, tenantID, approved.GrantID)
		return sample{}, fmt.Errorf("%w (the grant is %s)", err, g.Status)
	}
	after := b.ic.snapshot()
	calls := map[string]int{}
	for m, n := range after {
		if d := n - before[m]; d > 0 {
			calls[m] = d
		}
	}
	sm := sample{access: active.Sub(resumed), calls: calls}
	if err := b.breakdown(ctx, v, r.ID, timeout, &sm); err != nil {
		return sample{}, err
	}
	return sm, nil
}

// breakdown waits for the execution of the request to end and reads from
// its history the rounds, waits and tasks after the approval.
func (b *bench) breakdown(ctx context.Context, v variant, requestID string, timeout time.Duration, sm *sample) error {
	arn := aws.String(strings.Replace(b.machines[v], ":stateMachine:", ":execution:", 1) + ":" + requestID)
	if err := until(ctx, timeout, "the execution ends", func() (bool, error) {
		d, err := b.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: arn})
		if err != nil {
			return false, err
		}
		if d.Status != sfntypes.ExecutionStatusRunning && d.Status != sfntypes.ExecutionStatusSucceeded {
			return false, fmt.Errorf("execution %s: %s %s", requestID, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		return d.Status == sfntypes.ExecutionStatusSucceeded, nil
	}); err != nil {
		return err
	}
	var events []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(b.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: arn})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("execution history: %w", err)
		}
		events = append(events, page.Events...)
	}
	var (
		state         string
		waitStart     time.Time
		taskScheduled time.Time
	)
	for _, e := range events {
		at := aws.ToTime(e.Timestamp)
		switch e.Type {
		case sfntypes.HistoryEventTypeTaskStateEntered:
			state = aws.ToString(e.StateEnteredEventDetails.Name)
		case sfntypes.HistoryEventTypeWaitStateEntered:
			waitStart = at
		case sfntypes.HistoryEventTypeWaitStateExited:
			sm.waits += at.Sub(waitStart)
		case sfntypes.HistoryEventTypeTaskScheduled:
			taskScheduled = at
			if state == "Provision" {
				sm.rounds++
			}
		case sfntypes.HistoryEventTypeTaskSucceeded, sfntypes.HistoryEventTypeTaskFailed:
			if state == "Provision" {
				sm.tasks += at.Sub(taskScheduled)
			}
		}
	}
	return nil
}

// until polls done every 2 ms until it is true, fails, or timeout passes.
func until(ctx context.Context, timeout time.Duration, what string, done func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := done()
		if err != nil {
			return fmt.Errorf("waiting until %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not happen within %v", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// resumeClock is the Step Functions client of the workflow adapter; it
// notes when the adapter last sent SendTaskSuccess.
type resumeClock struct {
	*sfn.Client

	mu   sync.Mutex
	last time.Time
	sent bool
}

func (c *resumeClock) SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	now := time.Now()
	out, err := c.Client.SendTaskSuccess(ctx, in, opts...)
	if err == nil {
		c.mu.Lock()
		c.last, c.sent = now, true
		c.mu.Unlock()
	}
	return out, err
}

// resumedAt returns when the last successful SendTaskSuccess was sent, and
// forgets it.
func (c *resumeClock) resumedAt() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.last, c.sent
	c.sent = false
	return at, ok
}

// noScheduler drops every schedule: the bench ends before any grant does,
// and its requests neither start later nor wait for a reminder.
type noScheduler struct{}

func (noScheduler) ScheduleExpiry(context.Context, access.Grant) error                { return nil }
func (noScheduler) CancelExpiry(context.Context, access.Grant) error                  { return nil }
func (noScheduler) ScheduleStart(context.Context, access.Grant) error                 { return nil }
func (noScheduler) CancelStart(context.Context, access.Grant) error                   { return nil }
func (noScheduler) ScheduleNudge(context.Context, access.Request, access.Nudge) error { return nil }
func (noScheduler) CancelNudges(context.Context, access.Request) error                { return nil }
