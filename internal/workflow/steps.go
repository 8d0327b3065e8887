package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/elevate-jit/elevate/internal/access"
)

// Resumer sends a decided request's outcome to the task waiting on token.
type Resumer interface {
	Resume(ctx context.Context, token string, r access.Request) error
}

// AttachTokenInput is the payload of the approval wait's task.
type AttachTokenInput struct {
	TenantID  string `json:"tenant_id"`
	RequestID string `json:"request_id"`
	TaskToken string `json:"task_token"`
}

// RequestStepInput names a request for a workflow step.
type RequestStepInput struct {
	TenantID  string `json:"tenant_id"`
	RequestID string `json:"request_id"`
}

// GrantStepInput names a grant for a workflow step.
type GrantStepInput struct {
	TenantID string `json:"tenant_id"`
	GrantID  string `json:"grant_id"`
	// Steps counts the loop's rounds before this one (the execution's
	// $.steps): 0 for the first.
	Steps int `json:"steps"`
}

// StepOutput tells the state machine's loop whether the step is done, and
// if not, how long to wait before the next round (the Wait state's
// SecondsPath).
type StepOutput struct {
	Done        bool `json:"done"`
	WaitSeconds int  `json:"wait_seconds"`
}

// pollWaits are the waits after the loop's first rounds: Identity Center
// settles most assignments within a second or two, so the first polls come
// soon; later ones every MaxPollWait, as the loop always did.
var pollWaits = [...]int{1, 1, 3}

// MaxPollWait is the wait, in seconds, between the later rounds of the
// provisioning and deprovisioning loops.
const MaxPollWait = 5

// PollWait is how long the loop waits, in seconds, after round steps
// (counted from 0) before the next. The loop's cap of 720 rounds thus
// stays within the hour it was (1 + 1 + 3 + 717 × 5 s).
func PollWait(steps int) int {
	if steps >= 0 && steps < len(pollWaits) {
		return pollWaits[steps]
	}
	return MaxPollWait
}

// Handlers are the workflow's Lambda handlers. Each takes its input as the
// state machine (or the scheduler) sends it and calls one domain step.
type Handlers struct {
	Steps  Steps
	Tokens interface {
		AttachTaskToken(ctx context.Context, tenantID, requestID, token string) (access.Request, error)
	}
	Resumer Resumer
	Sweeper interface {
		Sweep(ctx context.Context) (access.SweepReport, error)
	}
	Log *slog.Logger
}

// SweepOutput is what the sweeper function answers (and logs).
type SweepOutput struct {
	Tenants int `json:"tenants"`
	// TenantsQueued were handed to the sweep queue rather than swept here.
	TenantsQueued        int `json:"tenants_queued"`
	GrantsExpired        int `json:"grants_expired"`
	GrantsRestarted      int `json:"grants_restarted"`
	GrantsStarted        int `json:"grants_started"`
	RequestsExpired      int `json:"requests_expired"`
	OrphansReleased      int `json:"orphans_released"`
	AssignmentsMissing   int `json:"assignments_missing"`
	AssignmentsRepaired  int `json:"assignments_repaired"`
	AssignmentsUntracked int `json:"assignments_untracked"`
	PermissionSetsGone   int `json:"permission_sets_gone"`
	// UsersAudited of UsersToAudit had their assignments compared with the
	// ledger in this run.
	UsersAudited int      `json:"users_audited"`
	UsersToAudit int      `json:"users_to_audit"`
	Problems     []string `json:"problems"`
}

// Sweep runs the sweeper once. Problems in some tenants do not stop the
// others; they are reported, logged as errors, and fail the invocation so
// the function's error alarm sees them.
func (h Handlers) Sweep(ctx context.Context, _ json.RawMessage) (SweepOutput, error) {
	rep, err := h.Sweeper.Sweep(ctx)
	out := SweepOutput{Tenants: rep.Tenants, TenantsQueued: rep.TenantsQueued, UsersAudited: rep.UsersAudited, UsersToAudit: rep.UsersToAudit, GrantsExpired: rep.GrantsExpired, GrantsRestarted: rep.GrantsRestarted, GrantsStarted: rep.GrantsStarted,
		RequestsExpired: rep.RequestsExpired, OrphansReleased: rep.OrphansReleased, AssignmentsMissing: rep.AssignmentsMissing,
		AssignmentsRepaired: rep.AssignmentsRepaired, AssignmentsUntracked: rep.AssignmentsUntracked,
		PermissionSetsGone: rep.PermissionSetsGone, Problems: rep.Problems}
	if out.Problems == nil {
		out.Problems = []string{}
	}
	if err == nil && len(rep.Problems) > 0 {
		err = fmt.Errorf("sweep found problems in %d tenant(s)", len(rep.TenantsWithProblems))
	}
	if h.Log != nil {
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelError
		}
		h.Log.Log(ctx, level, "sweep", "report", out, "error", err)
	}
	return out, err
}

// AttachToken records the approval wait's task token on its request, or
// resumes the wait at once when the request was decided before the wait
// began, so that no decision is ever lost.
func (h Handlers) AttachToken(ctx context.Context, in AttachTokenInput) (struct{}, error) {
	if err := need(in.TenantID, in.RequestID, in.TaskToken); err != nil {
		return struct{}{}, err
	}
	r, err := h.Tokens.AttachTaskToken(ctx, in.TenantID, in.RequestID, in.TaskToken)
	if err != nil {
		return struct{}{}, err
	}
	if _, _, ended := access.ApprovalOutcome(r); ended {
		return struct{}{}, h.Resumer.Resume(ctx, in.TaskToken, r)
	}
	return struct{}{}, nil
}

// ExpireRequest ends a request whose approval window passed, and reports
// the outcome: "approved" (with its grant) when an approval won the race.
func (h Handlers) ExpireRequest(ctx context.Context, in RequestStepInput) (Decision, error) {
	if err := need(in.TenantID, in.RequestID); err != nil {
		return Decision{}, err
	}
	r, err := h.Steps.ExpireRequest(ctx, in.TenantID, in.RequestID)
	if err != nil {
		return Decision{}, err
	}
	outcome, grantID, ended := access.ApprovalOutcome(r)
	if !ended {
		outcome = access.OutcomeExpired // fired early and still pending: the wait is over anyway
	}
	return Decision{Outcome: outcome, GrantID: grantID}, nil
}

// Provision runs one provisioning step of a grant.
func (h Handlers) Provision(ctx context.Context, in GrantStepInput) (StepOutput, error) {
	if err := need(in.TenantID, in.GrantID); err != nil {
		return StepOutput{}, err
	}
	done, err := h.Steps.ProvisionGrant(ctx, in.TenantID, in.GrantID)
	return loopOutput(in.Steps, done, err)
}

// Deprovision runs one deprovisioning step of a grant.
func (h Handlers) Deprovision(ctx context.Context, in GrantStepInput) (StepOutput, error) {
	if err := need(in.TenantID, in.GrantID); err != nil {
		return StepOutput{}, err
	}
	done, err := h.Steps.DeprovisionGrant(ctx, in.TenantID, in.GrantID)
	return loopOutput(in.Steps, done, err)
}

// Expire is the target of a grant's schedules: it ends the grant, or starts
// a scheduled one (ActionStart), if the schedule is of its current
// generation (a stale schedule is a no-op).
func (h Handlers) Expire(ctx context.Context, in ExpiryInput) (struct{}, error) {
	var err error
	switch in.Action {
	case ActionRemind, ActionEscalate:
		if err := need(in.TenantID, in.RequestID); err != nil {
			return struct{}{}, err
		}
	default:
		if err := need(in.TenantID, in.GrantID); err != nil {
			return struct{}{}, err
		}
	}
	switch in.Action {
	case ActionRemind:
		_, err = h.Steps.RemindRequest(ctx, in.TenantID, in.RequestID)
	case ActionEscalate:
		_, err = h.Steps.EscalateRequest(ctx, in.TenantID, in.RequestID)
	case "", ActionExpire:
		_, err = h.Steps.ExpireGrant(ctx, in.TenantID, in.GrantID, in.Generation)
	case ActionStart:
		_, err = h.Steps.StartGrant(ctx, in.TenantID, in.GrantID, in.Generation)
	default:
		return struct{}{}, fmt.Errorf("unknown schedule action %q", in.Action)
	}
	return struct{}{}, gone(err)
}

// loopOutput ends the loop when the step is done or its grant is gone, and
// otherwise says how long to wait before round steps+1.
func loopOutput(steps int, done bool, err error) (StepOutput, error) {
	if errors.Is(err, access.ErrNotFound) {
		return StepOutput{Done: true, WaitSeconds: PollWait(steps)}, nil
	}
	return StepOutput{Done: done, WaitSeconds: PollWait(steps)}, err
}

// gone treats a missing object as done: retrying cannot make it appear.
func gone(err error) error {
	if errors.Is(err, access.ErrNotFound) {
		return nil
	}
	return err
}

func need(fields ...string) error {
	for _, f := range fields {
		if f == "" {
			return fmt.Errorf("workflow step input lacks a required field")
		}
	}
	return nil
}
