package workflow_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/workflow"
	"github.com/elevate-jit/elevate/internal/workflow/stepfunctions"
)

// TestSFNStartApproval: the approval wait is named after the request, its
// timeout is the window in whole seconds (rounded up, at least one), and
// starting it again, while it waits or after it ended, is harmless.
func TestSFNStartApproval(t *testing.T) {
	m := newSFNMachine(t)
	wf := m.workflow()
	ctx := t.Context()
	r := pendingRequest(90*time.Second + 200*time.Millisecond)
	m.queue(attachTokenResult(t))
	if err := wf.StartApproval(ctx, r); err != nil {
		t.Fatal(err)
	}
	arn := m.execution(r.ID)
	wantInput(t, m.describe(arn), workflow.ExecutionInput{Mode: workflow.ModeApproval, TenantID: sfnTenant, RequestID: r.ID, ApprovalTimeoutSeconds: 91})
	r.TaskToken = m.token(arn)
	if err := wf.StartApproval(ctx, r); err != nil {
		t.Errorf("second start while waiting: %v", err)
	}
	if err := wf.EndApproval(ctx, decided(r, access.RequestDenied)); err != nil {
		t.Fatal(err)
	}
	m.succeeded(arn, pathNotApproved...)
	if err := wf.StartApproval(ctx, r); err != nil {
		t.Errorf("start after the end: %v", err)
	}
	if n := m.executions(r.ID); n != 1 {
		t.Errorf("%d executions named %s, want 1", n, r.ID)
	}

	// A window that is already over still waits a second, then expires.
	late := pendingRequest(-time.Minute)
	late.ID = "5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170"
	m.queue(attachTokenResult(t), expireRequestResult(t, decided(late, access.RequestExpired)))
	if err := wf.StartApproval(ctx, late); err != nil {
		t.Fatal(err)
	}
	d := m.succeeded(m.execution(late.ID), "Mode", "WaitForApproval", "ExpireRequest", "Decided", "NotApproved")
	wantInput(t, d, workflow.ExecutionInput{Mode: workflow.ModeApproval, TenantID: sfnTenant, RequestID: late.ID, ApprovalTimeoutSeconds: 1})
}

// TestSFNStartGrantWork: provisioning and deprovisioning are named after
// the grant and its revision; a repeated start is harmless, and a grant
// the sweeper touched (a new revision) starts again.
func TestSFNStartGrantWork(t *testing.T) {
	for _, tc := range []struct {
		mode   string
		start  func(*stepfunctions.StepFunctions, context.Context, access.Grant) error
		suffix string
		result func(*testing.T, bool, error) string
		path   []string
	}{
		{workflow.ModeProvision, (*stepfunctions.StepFunctions).StartProvisioning, "-p", provisionResult, []string{"Mode", "Provision", "Provisioned", "Done"}},
		{workflow.ModeDeprovision, (*stepfunctions.StepFunctions).StartDeprovisioning, "-d", deprovisionResult, []string{"Mode", "Deprovision", "Deprovisioned", "Done"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			m := newSFNMachine(t)
			wf := m.workflow()
			ctx := t.Context()
			g := access.Grant{ID: sfnGrant, TenantID: sfnTenant, Revision: 2}
			m.queue(tc.result(t, true, nil))
			for range 2 {
				if err := tc.start(wf, ctx, g); err != nil {
					t.Fatal(err)
				}
			}
			name := g.ID + tc.suffix + "2"
			d := m.succeeded(m.execution(name), tc.path...)
			wantInput(t, d, workflow.ExecutionInput{Mode: tc.mode, TenantID: sfnTenant, GrantID: g.ID})
			if err := tc.start(wf, ctx, g); err != nil {
				t.Errorf("start after the end: %v", err)
			}
			if n := m.executions(name); n != 1 {
				t.Errorf("%d executions named %s, want 1", n, name)
			}

			g.Revision++
			m.queue(tc.result(t, true, nil))
			if err := tc.start(wf, ctx, g); err != nil {
				t.Fatal(err)
			}
			m.succeeded(m.execution(g.ID+tc.suffix+"3"), tc.path...)
		})
	}
}

// TestSFNEndApprovalWithoutWait: before the wait stored its token, and
// while a request is pending, there is nothing to resume.
func TestSFNEndApprovalWithoutWait(t *testing.T) {
	m := newSFNMachine(t)
	wf := m.workflow()
	r := pendingRequest(time.Minute)
	if err := wf.EndApproval(t.Context(), decided(r, access.RequestApproved)); err != nil {
		t.Errorf("EndApproval without a token: %v", err)
	}
	r.TaskToken = "token-of-a-wait"
	if err := wf.EndApproval(t.Context(), r); err != nil {
		t.Errorf("EndApproval of a pending request: %v", err)
	}
	if n := m.sends.Load(); n != 0 {
		t.Errorf("SendTaskSuccess calls = %d, want none", n)
	}
}

// TestSFNStartErrors: only ExecutionAlreadyExists is taken as started.
func TestSFNStartErrors(t *testing.T) {
	m := newSFNMachine(t)
	missing := strings.Replace(m.arn, "elevate-workflow", "elevate-missing", 1)
	wf := stepfunctions.NewStepFunctions(m.client, missing)
	err := wf.StartProvisioning(t.Context(), access.Grant{ID: sfnGrant, TenantID: sfnTenant, Revision: 1})
	var notFound *sfntypes.StateMachineDoesNotExist
	if !errors.As(err, &notFound) {
		t.Errorf("start on a missing state machine: %v, want StateMachineDoesNotExist", err)
	}
	long := access.Grant{ID: strings.Repeat("g", 80), TenantID: sfnTenant}
	if err := m.workflow().StartDeprovisioning(t.Context(), long); err == nil || !strings.Contains(err.Error(), "longer than 80") {
		t.Errorf("start with a name over 80 characters: %v", err)
	}
}

// wantInput checks an execution's input.
func wantInput(t *testing.T, d *sfn.DescribeExecutionOutput, want workflow.ExecutionInput) {
	t.Helper()
	var got workflow.ExecutionInput
	decode(t, aws.ToString(d.Input), &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("input of %s = %+v, want %+v", aws.ToString(d.Name), got, want)
	}
}
