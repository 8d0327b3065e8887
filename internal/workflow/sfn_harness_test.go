package workflow_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/workflow"
	"github.com/elevate-jit/elevate/internal/workflow/stepfunctions"
)

// The state machine tests execute workflow.Definition on moto's Step
// Functions engine, started through motoserver's patched launcher (see
// docs/workflow.md). moto cannot run the Lambda functions, so each test
// queues the payloads they return, in the order the execution calls them;
// the payloads are made by the real handlers (workflow.Handlers) over fake
// domain steps, so the definition is tested against what they really send.

// sfnTimeScale shortens the Wait states (5 s) and the Retry intervals
// (2 s doubling up to 120 s) of the executions: moto sleeps them for real.
const sfnTimeScale = 0.001

// sfnDeadline bounds how long a test waits for an execution.
const sfnDeadline = 20 * time.Second

// sfnFunctions are the workflow functions' ARNs in moto's account and
// region, by the definition's substitution variable.
var sfnFunctions = map[string]string{
	"AttachTokenFunctionArn":   "arn:aws:lambda:us-east-1:123456789012:function:elevate-wf-attach-token",
	"ExpireRequestFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:elevate-wf-expire-request",
	"ProvisionFunctionArn":     "arn:aws:lambda:us-east-1:123456789012:function:elevate-wf-provision",
	"DeprovisionFunctionArn":   "arn:aws:lambda:us-east-1:123456789012:function:elevate-wf-deprovision",
}

// The ids of the tenant, request and grant the tests drive.
const (
	sfnTenant  = "7d2e9a41-1b3c-4d5e-8f70-9a8b7c6d5e4f"
	sfnRequest = "0b9f3c2e-5a1d-4e7f-9c8b-6d5a4f3e2d1c"
	sfnGrant   = "3f1c2b9e-8d7a-4c6b-9e5f-0a1b2c3d4e5f"
)

// sfnDefinition is workflow.Definition with the substitutions the stack
// makes: the partition at synthesis, the functions' ARNs at deployment.
func sfnDefinition(t *testing.T) string {
	t.Helper()
	def := strings.ReplaceAll(workflow.Definition, "${Partition}", "aws")
	for key, arn := range sfnFunctions {
		def = strings.ReplaceAll(def, "${"+key+"}", arn)
	}
	if i := strings.Index(def, "${"); i >= 0 {
		t.Fatalf("the definition has a substitution the stack does not make: %.40s", def[i:])
	}
	return def
}

// sfnMachine is the state machine created on the patched moto server.
type sfnMachine struct {
	t      *testing.T
	srv    *motoserver.Server
	client *sfn.Client
	arn    string
	// sends counts the SendTaskSuccess calls of the workflow adapter.
	sends atomic.Int32
}

// newSFNMachine resets the patched moto server, switches execution and
// canned Lambda results on, and creates the state machine. Executions
// still running when the test ends are stopped, so that none takes a
// later test's canned payloads.
func newSFNMachine(t *testing.T) *sfnMachine {
	t.Helper()
	srv := motoserver.SharedWith(t, motoserver.Options{Patched: true, TimeScale: sfnTimeScale})
	srv.Reset(t)
	srv.Configure(t, map[string]any{
		"stepfunctions": map[string]any{"execute_state_machine": true},
		"lambda":        map[string]any{"use_docker": false},
	})
	m := &sfnMachine{t: t, srv: srv, client: sfn.NewFromConfig(srv.AWSConfig())}
	out, err := m.client.CreateStateMachine(t.Context(), &sfn.CreateStateMachineInput{
		Name:       aws.String("elevate-workflow"),
		Definition: aws.String(sfnDefinition(t)),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/elevate-workflow"),
		Type:       sfntypes.StateMachineTypeStandard,
	})
	if err != nil {
		t.Fatalf("CreateStateMachine: %v\n%s", err, srv.Output())
	}
	m.arn = aws.ToString(out.StateMachineArn)
	t.Cleanup(m.stopRunning)
	return m
}

// workflow is the adapter under test, on this machine.
func (m *sfnMachine) workflow() *stepfunctions.StepFunctions {
	return stepfunctions.NewStepFunctions(countingSFN{m.client, &m.sends}, m.arn)
}

// countingSFN counts the adapter's SendTaskSuccess calls.
type countingSFN struct {
	*sfn.Client
	sends *atomic.Int32
}

func (c countingSFN) SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	c.sends.Add(1)
	return c.Client.SendTaskSuccess(ctx, in, opts...)
}

// queue queues the payloads the workflow's functions return, in the order
// the execution calls them (any function takes the next one).
func (m *sfnMachine) queue(payloads ...string) {
	m.t.Helper()
	m.srv.QueueLambdaResults(m.t, payloads...)
}

// execution is the ARN of the execution named name.
func (m *sfnMachine) execution(name string) string {
	return strings.Replace(m.arn, ":stateMachine:", ":execution:", 1) + ":" + name
}

// start starts an execution the way the adapter does, for inputs it never
// sends.
func (m *sfnMachine) start(name string, in workflow.ExecutionInput) string {
	m.t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		m.t.Fatal(err)
	}
	out, err := m.client.StartExecution(m.t.Context(), &sfn.StartExecutionInput{StateMachineArn: aws.String(m.arn), Name: aws.String(name), Input: aws.String(string(b))})
	if err != nil {
		m.t.Fatalf("StartExecution %s: %v\n%s", name, err, m.srv.Output())
	}
	return aws.ToString(out.ExecutionArn)
}

// describe returns an execution's description.
func (m *sfnMachine) describe(arn string) *sfn.DescribeExecutionOutput {
	m.t.Helper()
	d, err := m.client.DescribeExecution(m.t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		m.t.Fatalf("DescribeExecution %s: %v\n%s", arn, err, m.srv.Output())
	}
	return d
}

// finish waits until an execution has ended and returns its description.
func (m *sfnMachine) finish(arn string) *sfn.DescribeExecutionOutput {
	m.t.Helper()
	deadline := time.Now().Add(sfnDeadline)
	for {
		d := m.describe(arn)
		if d.Status != sfntypes.ExecutionStatusRunning {
			return d
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("execution %s still running after %v; it entered %v", arn, sfnDeadline, m.path(arn))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// succeeded waits for an execution and fails the test unless it succeeded
// after entering the states want, in order.
func (m *sfnMachine) succeeded(arn string, want ...string) *sfn.DescribeExecutionOutput {
	m.t.Helper()
	d := m.finish(arn)
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		m.t.Errorf("status %s (%s: %s), want SUCCEEDED", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	m.wantPath(arn, want...)
	return d
}

// failed waits for an execution and fails the test unless it failed with
// the error errName after entering the states want, in order.
func (m *sfnMachine) failed(arn, errName string, want ...string) {
	m.t.Helper()
	d := m.finish(arn)
	if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != errName {
		m.t.Errorf("status %s, error %q (%s); want FAILED with %q", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause), errName)
	}
	m.wantPath(arn, want...)
}

func (m *sfnMachine) wantPath(arn string, want ...string) {
	m.t.Helper()
	if got := m.path(arn); !slices.Equal(got, want) {
		m.t.Errorf("states entered:\n got %v\nwant %v", got, want)
	}
}

// history returns an execution's events, oldest first.
func (m *sfnMachine) history(arn string) []sfntypes.HistoryEvent {
	m.t.Helper()
	var events []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(m.client, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(m.t.Context())
		if err != nil {
			m.t.Fatalf("GetExecutionHistory %s: %v", arn, err)
		}
		events = append(events, page.Events...)
	}
	return events
}

// path is the states an execution entered, in order.
func (m *sfnMachine) path(arn string) []string {
	m.t.Helper()
	var states []string
	for _, e := range m.history(arn) {
		if strings.HasSuffix(string(e.Type), "StateEntered") && e.StateEnteredEventDetails != nil {
			states = append(states, aws.ToString(e.StateEnteredEventDetails.Name))
		}
	}
	return states
}

// sfnTask is a task the execution scheduled: the function and its payload.
type sfnTask struct {
	FunctionName string         `json:"FunctionName"`
	Payload      map[string]any `json:"Payload"`
}

// tasks are the Lambda invocations an execution scheduled, in order.
func (m *sfnMachine) tasks(arn string) []sfnTask {
	m.t.Helper()
	var tasks []sfnTask
	for _, e := range m.history(arn) {
		if e.Type != sfntypes.HistoryEventTypeTaskScheduled {
			continue
		}
		var task sfnTask
		if err := json.Unmarshal([]byte(aws.ToString(e.TaskScheduledEventDetails.Parameters)), &task); err != nil {
			m.t.Fatalf("TaskScheduled parameters: %v", err)
		}
		tasks = append(tasks, task)
	}
	return tasks
}

// events counts an execution's events of type typ.
func (m *sfnMachine) events(arn string, typ sfntypes.HistoryEventType) int {
	m.t.Helper()
	n := 0
	for _, e := range m.history(arn) {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// token waits until the approval wait's function has returned, and
// returns the task token it was given: what the real function stores on
// the request.
func (m *sfnMachine) token(arn string) string {
	m.t.Helper()
	deadline := time.Now().Add(sfnDeadline)
	for {
		token, submitted := "", false
		for _, e := range m.history(arn) {
			switch e.Type {
			case sfntypes.HistoryEventTypeTaskScheduled:
				var task struct {
					FunctionName string
					Payload      workflow.AttachTokenInput
				}
				if err := json.Unmarshal([]byte(aws.ToString(e.TaskScheduledEventDetails.Parameters)), &task); err != nil {
					m.t.Fatalf("TaskScheduled parameters: %v", err)
				}
				if task.FunctionName == sfnFunctions["AttachTokenFunctionArn"] {
					token, submitted = task.Payload.TaskToken, false
				}
			case sfntypes.HistoryEventTypeTaskSubmitted:
				submitted = token != ""
			}
		}
		if submitted {
			return token
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("no approval wait in %s after %v; it entered %v", arn, sfnDeadline, m.path(arn))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// executions are the machine's executions named name.
func (m *sfnMachine) executions(name string) int {
	m.t.Helper()
	out, err := m.client.ListExecutions(m.t.Context(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(m.arn)})
	if err != nil {
		m.t.Fatalf("ListExecutions: %v", err)
	}
	n := 0
	for _, e := range out.Executions {
		if aws.ToString(e.Name) == name {
			n++
		}
	}
	return n
}

// stopRunning stops the executions still running.
func (m *sfnMachine) stopRunning() {
	ctx := context.WithoutCancel(m.t.Context())
	out, err := m.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(m.arn), StatusFilter: sfntypes.ExecutionStatusRunning})
	if err != nil {
		m.t.Errorf("ListExecutions: %v", err)
		return
	}
	for _, e := range out.Executions {
		if _, err := m.client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: e.ExecutionArn}); err != nil {
			m.t.Errorf("StopExecution %s: %v", aws.ToString(e.Name), err)
		}
	}
}

// retryAttempts is how many times the definition's state runs a failing
// task: once, and again per its first retrier's MaxAttempts.
func retryAttempts(t *testing.T, state string) int {
	t.Helper()
	var def struct {
		States map[string]struct {
			Retry []struct{ MaxAttempts int }
		}
	}
	if err := json.Unmarshal([]byte(workflow.Definition), &def); err != nil {
		t.Fatal(err)
	}
	retry := def.States[state].Retry
	if len(retry) == 0 || retry[0].MaxAttempts < 1 {
		t.Fatalf("state %s has no retry policy", state)
	}
	return 1 + retry[0].MaxAttempts
}

// The payloads of the workflow's functions, made by the real handlers.

// fakeSteps are the domain steps behind the handlers.
type fakeSteps struct {
	request access.Request // ExpireRequest's result
	done    bool
	err     error
}

func (f fakeSteps) ExpireRequest(context.Context, string, string) (access.Request, error) {
	return f.request, f.err
}

func (f fakeSteps) ProvisionGrant(context.Context, string, string) (bool, error) {
	return f.done, f.err
}

func (f fakeSteps) DeprovisionGrant(context.Context, string, string) (bool, error) {
	return f.done, f.err
}

func (f fakeSteps) ExpireGrant(context.Context, string, string, int64) (access.Grant, error) {
	return access.Grant{}, f.err
}

func (f fakeSteps) StartGrant(context.Context, string, string, int64) (access.Grant, error) {
	return access.Grant{}, f.err
}

func (f fakeSteps) RemindRequest(context.Context, string, string) (access.Request, error) {
	return access.Request{}, f.err
}

func (f fakeSteps) EscalateRequest(context.Context, string, string) (access.Request, error) {
	return access.Request{}, f.err
}

// fakeTokens is the request store behind the approval wait's function.
type fakeTokens struct{ request access.Request }

func (f fakeTokens) AttachTaskToken(_ context.Context, _, _, token string) (access.Request, error) {
	r := f.request
	if r.Status == access.RequestPending {
		r.TaskToken = token
	}
	return r, nil
}

// lambdaPayload is what Lambda returns for a Go handler's result: the
// output as JSON, or for an error the payload the Go runtime reports
// (aws-lambda-go's messages.InvokeResponse_Error, its type named after the
// error's Go type), which the patched moto turns into a function error.
func lambdaPayload(t *testing.T, out any, err error) string {
	t.Helper()
	var v any = out
	if err != nil {
		typ := reflect.TypeOf(err)
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		v = messages.InvokeResponse_Error{Message: err.Error(), Type: typ.Name()}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// attachTokenResult is the approval wait function's payload once it has
// stored the token on a pending request.
func attachTokenResult(t *testing.T) string {
	t.Helper()
	h := workflow.Handlers{Tokens: fakeTokens{access.Request{Status: access.RequestPending}}}
	out, err := h.AttachToken(t.Context(), workflow.AttachTokenInput{TenantID: sfnTenant, RequestID: sfnRequest, TaskToken: "token"})
	return lambdaPayload(t, out, err)
}

// expireRequestResult is ExpireRequest's payload when the request is r
// after the conditional write.
func expireRequestResult(t *testing.T, r access.Request) string {
	t.Helper()
	h := workflow.Handlers{Steps: fakeSteps{request: r}}
	out, err := h.ExpireRequest(t.Context(), workflow.RequestStepInput{TenantID: sfnTenant, RequestID: sfnRequest})
	return lambdaPayload(t, out, err)
}

// provisionResult is a provisioning step's payload.
func provisionResult(t *testing.T, done bool, err error) string {
	t.Helper()
	h := workflow.Handlers{Steps: fakeSteps{done: done, err: err}}
	out, err := h.Provision(t.Context(), workflow.GrantStepInput{TenantID: sfnTenant, GrantID: sfnGrant})
	return lambdaPayload(t, out, err)
}

// deprovisionResult is a deprovisioning step's payload.
func deprovisionResult(t *testing.T, done bool, err error) string {
	t.Helper()
	h := workflow.Handlers{Steps: fakeSteps{done: done, err: err}}
	out, err := h.Deprovision(t.Context(), workflow.GrantStepInput{TenantID: sfnTenant, GrantID: sfnGrant})
	return lambdaPayload(t, out, err)
}

// pendingRequest is a request waiting for approval for window.
func pendingRequest(window time.Duration) access.Request {
	created := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	return access.Request{
		ID: sfnRequest, TenantID: sfnTenant, Status: access.RequestPending, ApprovalsRequired: 1,
		CreatedAt: created, ApprovalExpiresAt: created.Add(window),
	}
}

// decided is r decided with status; an approval creates the grant.
func decided(r access.Request, status access.RequestStatus) access.Request {
	r.Status = status
	if status == access.RequestApproved {
		r.GrantID = sfnGrant
	}
	return r
}

// The states each path enters.
var (
	pathApproved      = []string{"Mode", "WaitForApproval", "Decided", "StartProvisioning"}
	pathNotApproved   = []string{"Mode", "WaitForApproval", "Decided", "NotApproved"}
	pathProvisionLoop = []string{"Provision", "Provisioned", "WaitToProvision", "CountProvisionStep"}
)

func concat(parts ...[]string) []string { return slices.Concat(parts...) }

// decode unmarshals an execution's JSON input or output.
func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
}
