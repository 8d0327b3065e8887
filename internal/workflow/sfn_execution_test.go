package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/workflow"
	"github.com/elevate-jit/elevate/internal/workflow/stepfunctions"
)

// TestSFNApprove: the approval wait records its token and waits; the
// approval resumes it with the grant, which is provisioned in two steps.
func TestSFNApprove(t *testing.T) {
	m := newSFNMachine(t)
	wf := m.workflow()
	r := pendingRequest(30 * time.Second)
	m.queue(attachTokenResult(t), provisionResult(t, false, nil), provisionResult(t, true, nil))
	if err := wf.StartApproval(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	arn := m.execution(r.ID)
	r.TaskToken = m.token(arn)
	if got := m.describe(arn).Status; got != sfntypes.ExecutionStatusRunning {
		t.Fatalf("status while waiting = %s, want RUNNING", got)
	}
	// What Approve does once the request is approved.
	if err := wf.EndApproval(t.Context(), decided(r, access.RequestApproved)); err != nil {
		t.Fatal(err)
	}
	m.succeeded(arn, concat(pathApproved, pathProvisionLoop, []string{"Provision", "Provisioned", "Done"})...)

	want := []sfnTask{
		{sfnFunctions["AttachTokenFunctionArn"], map[string]any{"tenant_id": sfnTenant, "request_id": sfnRequest, "task_token": r.TaskToken}},
		{sfnFunctions["ProvisionFunctionArn"], map[string]any{"tenant_id": sfnTenant, "grant_id": sfnGrant, "steps": float64(0)}},
		{sfnFunctions["ProvisionFunctionArn"], map[string]any{"tenant_id": sfnTenant, "grant_id": sfnGrant, "steps": float64(1)}},
	}
	if got := m.tasks(arn); !reflect.DeepEqual(got, want) {
		t.Errorf("tasks:\n got %v\nwant %v", got, want)
	}
	if n := m.sends.Load(); n != 1 {
		t.Errorf("SendTaskSuccess calls = %d, want 1", n)
	}
}

// TestSFNApprovedBeforeTheWait: the request was approved before the wait
// stored its token, so AttachTaskToken leaves it as it is and the
// function resumes the wait itself. No decision is lost.
func TestSFNApprovedBeforeTheWait(t *testing.T) {
	m := newSFNMachine(t)
	wf := m.workflow()
	r := pendingRequest(30 * time.Second)
	m.queue(attachTokenResult(t), provisionResult(t, true, nil))
	if err := wf.StartApproval(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	arn := m.execution(r.ID)
	// The function, run by hand with the token moto gave it.
	h := workflow.Handlers{Tokens: fakeTokens{decided(r, access.RequestApproved)}, Resumer: wf}
	if _, err := h.AttachToken(t.Context(), workflow.AttachTokenInput{TenantID: r.TenantID, RequestID: r.ID, TaskToken: m.token(arn)}); err != nil {
		t.Fatal(err)
	}
	m.succeeded(arn, concat(pathApproved, []string{"Provision", "Provisioned", "Done"})...)
}

// TestSFNNotApproved: a denial, a cancellation or a lazy expiry (a
// decision attempt past the window) ends the wait without provisioning.
func TestSFNNotApproved(t *testing.T) {
	for _, status := range []access.RequestStatus{access.RequestDenied, access.RequestCancelled, access.RequestExpired} {
		t.Run(string(status), func(t *testing.T) {
			m := newSFNMachine(t)
			wf := m.workflow()
			r := pendingRequest(30 * time.Second)
			m.queue(attachTokenResult(t))
			if err := wf.StartApproval(t.Context(), r); err != nil {
				t.Fatal(err)
			}
			arn := m.execution(r.ID)
			r.TaskToken = m.token(arn)
			if err := wf.EndApproval(t.Context(), decided(r, status)); err != nil {
				t.Fatal(err)
			}
			d := m.succeeded(arn, pathNotApproved...)
			if n := m.events(arn, sfntypes.HistoryEventTypeTaskScheduled); n != 1 {
				t.Errorf("%d tasks scheduled, want only the approval wait's", n)
			}
			var out struct{ Decision workflow.Decision }
			decode(t, aws.ToString(d.Output), &out)
			if want, _, _ := access.ApprovalOutcome(decided(r, status)); out.Decision.Outcome != want {
				t.Errorf("decision %+v, want outcome %s", out.Decision, want)
			}
		})
	}
}

// TestSFNTimeout: nobody decides within the window, so the wait times out
// (States.Timeout) and ExpireRequest decides with a conditional write.
// When an approval won that write, its grant is provisioned.
func TestSFNTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		request access.RequestStatus // after the conditional write
		results []string
		path    []string
	}{
		{"expired", access.RequestExpired, nil, []string{"Mode", "WaitForApproval", "ExpireRequest", "Decided", "NotApproved"}},
		{"approval won the race", access.RequestApproved, []string{provisionResult(t, true, nil)},
			[]string{"Mode", "WaitForApproval", "ExpireRequest", "Decided", "StartProvisioning", "Provision", "Provisioned", "Done"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newSFNMachine(t)
			r := pendingRequest(time.Second)
			m.queue(append([]string{attachTokenResult(t), expireRequestResult(t, decided(r, tc.request))}, tc.results...)...)
			if err := m.workflow().StartApproval(t.Context(), r); err != nil {
				t.Fatal(err)
			}
			arn := m.execution(r.ID)
			m.succeeded(arn, tc.path...)

			var timedOut *sfntypes.TaskTimedOutEventDetails
			for _, e := range m.history(arn) {
				if e.Type == sfntypes.HistoryEventTypeTaskTimedOut {
					timedOut = e.TaskTimedOutEventDetails
				}
			}
			if timedOut == nil || aws.ToString(timedOut.Error) != "States.Timeout" {
				t.Errorf("no States.Timeout of the approval wait: %+v", timedOut)
			}
			tasks := m.tasks(arn)
			want := sfnTask{sfnFunctions["ExpireRequestFunctionArn"], map[string]any{"tenant_id": sfnTenant, "request_id": sfnRequest}}
			if len(tasks) < 2 || !reflect.DeepEqual(tasks[1], want) {
				t.Errorf("tasks = %v, want ExpireRequest second with the tenant and request", tasks)
			}
			if tc.request == access.RequestApproved && tasks[len(tasks)-1].Payload["grant_id"] != sfnGrant {
				t.Errorf("provisioned %v, want grant %s", tasks[len(tasks)-1].Payload, sfnGrant)
			}
		})
	}
}

// TestSFNQuorum: with two approvals required, the first leaves the wait
// alone; the second resumes it. Resuming it again (the approval wait's
// function and Approve can both see the decision) is harmless.
func TestSFNQuorum(t *testing.T) {
	m := newSFNMachine(t)
	wf := m.workflow()
	ctx := t.Context()
	r := pendingRequest(30 * time.Second)
	r.ApprovalsRequired = 2
	m.queue(attachTokenResult(t), provisionResult(t, true, nil))
	if err := wf.StartApproval(ctx, r); err != nil {
		t.Fatal(err)
	}
	arn := m.execution(r.ID)
	r.TaskToken = m.token(arn)

	r.Approvals = []access.Approval{{ApproverID: "approver-1"}}
	if err := wf.EndApproval(ctx, r); err != nil {
		t.Fatal(err)
	}
	if n := m.sends.Load(); n != 0 {
		t.Fatalf("the first of two approvals resumed the wait (%d calls)", n)
	}
	if d := m.describe(arn); d.Status != sfntypes.ExecutionStatusRunning || m.events(arn, sfntypes.HistoryEventTypeTaskSucceeded) != 0 {
		t.Fatalf("after the first approval: status %s, entered %v; want still waiting", d.Status, m.path(arn))
	}

	// The second approval resumes the wait; a second resume of it while
	// the execution runs on is refused as TaskTimedOut and harmless.
	r.Approvals = append(r.Approvals, access.Approval{ApproverID: "approver-2"})
	approved := decided(r, access.RequestApproved)
	if err := wf.Resume(ctx, r.TaskToken, approved); err != nil {
		t.Fatal(err)
	}
	_, err := m.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(r.TaskToken), Output: aws.String(`{"outcome":"denied","grant_id":""}`)})
	if timedOut := (*sfntypes.TaskTimedOut)(nil); !errors.As(err, &timedOut) {
		t.Errorf("second SendTaskSuccess: %v, want TaskTimedOut", err)
	}
	if err := wf.Resume(ctx, r.TaskToken, approved); err != nil {
		t.Fatalf("second Resume: %v", err)
	}
	m.succeeded(arn, concat(pathApproved, []string{"Provision", "Provisioned", "Done"})...)

	if n := m.sends.Load(); n != 2 {
		t.Errorf("SendTaskSuccess calls = %d, want 2", n)
	}
	if n := m.events(arn, sfntypes.HistoryEventTypeTaskSucceeded); n != 2 {
		t.Errorf("%d tasks succeeded, want 2: the approval wait (once) and Provision", n)
	}

	// After the end too, Step Functions refuses the token as TaskTimedOut
	// ("Provided task does not exist anymore"), which Resume takes as done.
	_, err = m.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(r.TaskToken), Output: aws.String(`{"outcome":"approved","grant_id":"g"}`)})
	if timedOut := (*sfntypes.TaskTimedOut)(nil); !errors.As(err, &timedOut) {
		t.Errorf("SendTaskSuccess after the end: %v, want TaskTimedOut", err)
	}
	if err := wf.Resume(ctx, r.TaskToken, approved); err != nil {
		t.Errorf("Resume after the end: %v", err)
	}
}

// TestSFNLoops: provisioning and deprovisioning repeat their step, five
// seconds apart, until it is done.
func TestSFNLoops(t *testing.T) {
	for _, tc := range []struct {
		name    string
		start   func(*stepfunctions.StepFunctions, context.Context, access.Grant) error
		suffix  string // of the execution's name
		results []string
		path    []string
	}{
		{"provision", (*stepfunctions.StepFunctions).StartProvisioning, "-p4",
			[]string{provisionResult(t, false, nil), provisionResult(t, true, nil)},
			concat([]string{"Mode"}, pathProvisionLoop, []string{"Provision", "Provisioned", "Done"})},
		{"deprovision", (*stepfunctions.StepFunctions).StartDeprovisioning, "-d4",
			[]string{deprovisionResult(t, false, nil), deprovisionResult(t, false, nil), deprovisionResult(t, true, nil)},
			[]string{"Mode", "Deprovision", "Deprovisioned", "WaitToDeprovision", "CountDeprovisionStep",
				"Deprovision", "Deprovisioned", "WaitToDeprovision", "CountDeprovisionStep", "Deprovision", "Deprovisioned", "Done"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newSFNMachine(t)
			g := access.Grant{ID: sfnGrant, TenantID: sfnTenant, Revision: 4}
			m.queue(tc.results...)
			if err := tc.start(m.workflow(), t.Context(), g); err != nil {
				t.Fatal(err)
			}
			d := m.succeeded(m.execution(g.ID+tc.suffix), tc.path...)
			var out workflow.ExecutionInput
			decode(t, aws.ToString(d.Output), &out)
			if want := len(tc.results) - 1; out.Steps != want {
				t.Errorf("steps = %d, want %d (States.MathAdd per round)", out.Steps, want)
			}
		})
	}
}

// TestSFNStepFailure: a step that keeps failing is retried per the
// definition's policy and then caught: the execution fails with the stuck
// error the sweeper's alarm watches. A throttled step that succeeds on
// its retry carries on.
func TestSFNStepFailure(t *testing.T) {
	throttled := fmt.Errorf("provision grant %s: %w", sfnGrant, &ssotypes.ThrottlingException{Message: aws.String("Rate exceeded")})
	broken := errors.New("permission set quota reached")
	repeat := func(n int, s string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	provisionAttempts, deprovisionAttempts := retryAttempts(t, "Provision"), retryAttempts(t, "Deprovision")
	for _, tc := range []struct {
		name     string
		start    func(*stepfunctions.StepFunctions, context.Context, access.Grant) error
		suffix   string // of the execution's name
		results  []string
		failures int
		errName  string // of the execution; empty when it succeeds
		path     []string
	}{
		{"throttled once", (*stepfunctions.StepFunctions).StartProvisioning, "-p1",
			[]string{provisionResult(t, false, throttled), provisionResult(t, true, nil)},
			1, "", []string{"Mode", "Provision", "Provisioned", "Done"}},
		{"provisioning stuck", (*stepfunctions.StepFunctions).StartProvisioning, "-p1",
			repeat(provisionAttempts, provisionResult(t, false, broken)),
			provisionAttempts, "Elevate.ProvisioningStuck", []string{"Mode", "Provision", "ProvisioningStuck"}},
		{"deprovisioning stuck", (*stepfunctions.StepFunctions).StartDeprovisioning, "-d1",
			repeat(deprovisionAttempts, deprovisionResult(t, false, broken)),
			deprovisionAttempts, "Elevate.DeprovisioningStuck", []string{"Mode", "Deprovision", "DeprovisioningStuck"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newSFNMachine(t)
			g := access.Grant{ID: sfnGrant, TenantID: sfnTenant, Revision: 1}
			m.queue(tc.results...)
			if err := tc.start(m.workflow(), t.Context(), g); err != nil {
				t.Fatal(err)
			}
			arn := m.execution(g.ID + tc.suffix)
			if tc.errName == "" {
				m.succeeded(arn, tc.path...)
			} else {
				m.failed(arn, tc.errName, tc.path...)
			}
			var failures []string
			for _, e := range m.history(arn) {
				if e.Type == sfntypes.HistoryEventTypeTaskFailed {
					failures = append(failures, aws.ToString(e.TaskFailedEventDetails.Error))
				}
			}
			if len(failures) != tc.failures {
				t.Errorf("%d failed attempts %v, want %d", len(failures), failures, tc.failures)
			}
			for _, f := range failures {
				if f == "States.Runtime" {
					t.Errorf("a failure is States.Runtime: the definition does not fit the payload")
				}
			}
		})
	}
}

// TestSFNEnds: the loops give up after 720 rounds (an hour of five-second
// waits), and an unknown mode fails at once.
func TestSFNEnds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      workflow.ExecutionInput
		result  string
		errName string
		path    []string
	}{
		{"provisioning too long", workflow.ExecutionInput{Mode: workflow.ModeProvision, TenantID: sfnTenant, GrantID: sfnGrant, Steps: 720},
			provisionResult(t, false, nil), "Elevate.ProvisioningStuck", []string{"Mode", "Provision", "Provisioned", "ProvisioningStuck"}},
		{"deprovisioning too long", workflow.ExecutionInput{Mode: workflow.ModeDeprovision, TenantID: sfnTenant, GrantID: sfnGrant, Steps: 720},
			deprovisionResult(t, false, nil), "Elevate.DeprovisioningStuck", []string{"Mode", "Deprovision", "Deprovisioned", "DeprovisioningStuck"}},
		{"unknown mode", workflow.ExecutionInput{Mode: "sideways", TenantID: sfnTenant, GrantID: sfnGrant},
			"", "Elevate.UnknownMode", []string{"Mode", "UnknownMode"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newSFNMachine(t)
			if tc.result != "" {
				m.queue(tc.result)
			}
			m.failed(m.start("ends", tc.in), tc.errName, tc.path...)
		})
	}
}
