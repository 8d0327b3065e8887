// Package stepfunctions is the workflow (access.Workflow) and the resumer of
// approval waits (workflow.Resumer) on AWS Step Functions. It is apart from
// package workflow so that only the functions that start or resume
// executions link the Step Functions client.
package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/workflow"
)

// SFNAPI is the part of the Step Functions client Elevate uses.
type SFNAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
}

// StepFunctions is the access.Workflow on AWS Step Functions (a Standard
// state machine). Executions are named after what they drive, with input
// that is the same on every retry, so starting one twice is harmless.
type StepFunctions struct {
	client  SFNAPI
	machine string
}

// NewStepFunctions returns the workflow for the state machine machineARN.
func NewStepFunctions(client SFNAPI, machineARN string) *StepFunctions {
	return &StepFunctions{client: client, machine: machineARN}
}

// StartApproval starts the approval wait, named after the request. The
// timeout is the approval window as the request was created with, so a
// retried start has the same input; a start that comes late is harmless
// because the domain expires a request found past its window.
func (s *StepFunctions) StartApproval(ctx context.Context, r access.Request) error {
	window := int64(math.Ceil(r.ApprovalExpiresAt.Sub(r.CreatedAt).Seconds()))
	return s.start(ctx, r.ID, workflow.ExecutionInput{Mode: workflow.ModeApproval, TenantID: r.TenantID, RequestID: r.ID, ApprovalTimeoutSeconds: max(window, 1)})
}

// EndApproval resumes a request's approval wait with its outcome. Without a
// stored token the waiting task has not recorded it yet, and will see the
// decision itself when it does (access.Service.AttachTaskToken).
func (s *StepFunctions) EndApproval(ctx context.Context, r access.Request) error {
	if r.TaskToken == "" {
		return nil
	}
	return s.Resume(ctx, r.TaskToken, r)
}

// Resume sends a decided request's outcome to the task waiting on token. A
// wait that already ended (timed out, or resumed before) is not an error.
func (s *StepFunctions) Resume(ctx context.Context, token string, r access.Request) error {
	outcome, grantID, ended := access.ApprovalOutcome(r)
	if !ended {
		return nil
	}
	out, err := json.Marshal(workflow.Decision{Outcome: outcome, GrantID: grantID})
	if err != nil {
		return err
	}
	_, err = s.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(out))})
	var (
		timedOut *sfntypes.TaskTimedOut
		missing  *sfntypes.TaskDoesNotExist
	)
	if errors.As(err, &timedOut) || errors.As(err, &missing) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("resume approval wait of request %s: %w", r.ID, err)
	}
	return nil
}

// StartProvisioning provisions a grant that needs no approval wait. The
// name carries the grant's revision, so the sweeper can start a stuck
// grant again after touching it.
func (s *StepFunctions) StartProvisioning(ctx context.Context, g access.Grant) error {
	return s.start(ctx, fmt.Sprintf("%s-p%d", g.ID, g.Revision), workflow.ExecutionInput{Mode: workflow.ModeProvision, TenantID: g.TenantID, GrantID: g.ID})
}

// StartDeprovisioning takes a revoking grant's assignments away.
func (s *StepFunctions) StartDeprovisioning(ctx context.Context, g access.Grant) error {
	return s.start(ctx, fmt.Sprintf("%s-d%d", g.ID, g.Revision), workflow.ExecutionInput{Mode: workflow.ModeDeprovision, TenantID: g.TenantID, GrantID: g.ID})
}

func (s *StepFunctions) start(ctx context.Context, name string, in workflow.ExecutionInput) error {
	if len(name) > 80 {
		return fmt.Errorf("execution name %q is longer than 80 characters", name)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	_, err = s.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(s.machine), Name: aws.String(name), Input: aws.String(string(b))})
	var exists *sfntypes.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return nil // started before (a retry); executions are per object and state
	}
	if err != nil {
		return fmt.Errorf("start %s execution %s: %w", in.Mode, name, err)
	}
	return nil
}
