package access

import (
	"fmt"
	"slices"
	"time"
)

// RequestStatus is where a request is in its lifecycle.
type RequestStatus string

// The request statuses of DESIGN §4. A request stays approved after its grant ends.
const (
	RequestPending   RequestStatus = "pending"
	RequestApproved  RequestStatus = "approved"
	RequestDenied    RequestStatus = "denied"
	RequestCancelled RequestStatus = "cancelled"
	RequestExpired   RequestStatus = "expired"
	RequestFailed    RequestStatus = "failed"
)

// RequestStatuses lists every request status.
var RequestStatuses = []RequestStatus{RequestPending, RequestApproved, RequestDenied, RequestCancelled, RequestExpired, RequestFailed}

// requestTransitions is the one table of allowed request status changes. The
// empty status is "not yet stored".
var requestTransitions = map[RequestStatus][]RequestStatus{
	"":              {RequestPending, RequestApproved, RequestDenied},
	RequestPending:  {RequestApproved, RequestDenied, RequestCancelled, RequestExpired, RequestFailed},
	RequestApproved: {RequestFailed},
}

// Valid reports whether s is a known request status.
func (s RequestStatus) Valid() bool { return slices.Contains(RequestStatuses, s) }

// CanBecome reports whether a request may move from s to next.
func (s RequestStatus) CanBecome(next RequestStatus) bool {
	return slices.Contains(requestTransitions[s], next)
}

// ApprovalMode says how a request was decided.
type ApprovalMode string

// The approval modes.
const (
	ModeAuto       ApprovalMode = "auto"
	ModeRequire    ApprovalMode = "require"
	ModeBreakGlass ApprovalMode = "break_glass"
)

// Approval is one approver's yes.
type Approval struct {
	ApproverID string
	Reasoning  string
	At         time.Time
}

// Request is an ask for access.
type Request struct {
	ID                string
	TenantID          string
	RequesterID       string
	GranteeID         string
	Resource          Resource
	Action            string
	Justification     string
	DurationSeconds   int64
	BreakGlass        bool
	Status            RequestStatus
	ApprovalMode      ApprovalMode
	ApprovalsRequired int
	Approvals         []Approval
	Reasoning         string
	DecidedBy         string
	DecidedAt         time.Time
	ApprovalExpiresAt time.Time
	GrantID           string
	Notices           []string
	Metadata          map[string]any
	PolicyVersion     int
	// TaskToken is the workflow's handle on the approval wait. It never leaves
	// the backend.
	TaskToken string
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Delegated reports whether the request is made on behalf of someone else.
func (r Request) Delegated() bool { return r.GranteeID != r.RequesterID }

// Duration is the requested duration.
func (r Request) Duration() time.Duration { return time.Duration(r.DurationSeconds) * time.Second }

// ApprovedBy reports whether principal id has already approved.
func (r Request) ApprovedBy(id string) bool {
	return slices.ContainsFunc(r.Approvals, func(a Approval) bool { return a.ApproverID == id })
}

// Involves reports whether id is the request's requester or grantee.
func (r Request) Involves(id string) bool { return r.RequesterID == id || r.GranteeID == id }

// transition moves the request to next, or fails with the error the API
// reports for a request that is no longer in a state that allows it.
func (r *Request) transition(next RequestStatus, now time.Time) error {
	if !r.Status.CanBecome(next) {
		if r.Status != RequestPending {
			return &Error{Code: CodeRequestNotPending, Message: fmt.Sprintf("request is %s, not pending", r.Status)}
		}
		return &Error{Code: CodeConflict, Message: "conflict", Cause: fmt.Errorf("request %s: %s to %s", r.ID, r.Status, next)}
	}
	r.Status = next
	r.UpdatedAt = now
	return nil
}
