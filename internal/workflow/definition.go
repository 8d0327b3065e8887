package workflow

import _ "embed"

// Definition is the state machine (Amazon States Language) that the stack
// deploys and the tests execute, with ${…} substitutions for the partition
// and the step functions' ARNs.
//
//go:embed statemachine.asl.json
var Definition string

// The modes of an execution.
const (
	ModeApproval    = "approval"
	ModeProvision   = "provision"
	ModeDeprovision = "deprovision"
)

// ExecutionInput is the input of an execution of the state machine.
type ExecutionInput struct {
	Mode      string `json:"mode"`
	TenantID  string `json:"tenant_id"`
	RequestID string `json:"request_id,omitempty"`
	GrantID   string `json:"grant_id,omitempty"`
	// ApprovalTimeoutSeconds is the approval window (TimeoutSecondsPath).
	ApprovalTimeoutSeconds int64 `json:"approval_timeout_seconds,omitempty"`
	// Steps counts the provisioning loop's rounds; it starts at 0.
	Steps int `json:"steps"`
}

// Decision is how an approval wait is resumed: the output of the waiting task.
type Decision struct {
	Outcome string `json:"outcome"`
	GrantID string `json:"grant_id"`
}

// ExpiryInput is the JSON a schedule delivers to the expiry function, which
// calls ExpireGrant(TenantID, GrantID, Generation), or, when Action is
// ActionStart, StartGrant. A schedule of an older generation than the
// grant's is a no-op there. A pending request's reminder and escalation
// (ActionRemind, ActionEscalate) name RequestID instead of a grant, and
// call RemindRequest or EscalateRequest.
type ExpiryInput struct {
	TenantID   string `json:"tenant_id"`
	GrantID    string `json:"grant_id,omitempty"`
	Generation int64  `json:"generation"`
	// Action is "" (or ActionExpire) for an expiry, ActionStart for the
	// start of a scheduled grant, ActionRemind or ActionEscalate for a
	// pending request's nudges.
	Action    string `json:"action,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// The actions of the schedules.
const (
	ActionExpire   = "expire"
	ActionStart    = "start"
	ActionRemind   = "remind"
	ActionEscalate = "escalate"
)
