package access

import (
	"fmt"
	"slices"
	"time"
)

// RequestStatus is where a request is in its lifecycle.
type RequestStatus string

// The request statuses (docs/design.md, "Lifecycle"). A request stays approved after its grant ends.
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
	"":             {RequestPending, RequestApproved, RequestDenied},
	RequestPending: {RequestApproved, RequestDenied, RequestCancelled, RequestExpired, RequestFailed},
	// An approved request whose grant has not started yet may be cancelled.
	RequestApproved: {RequestFailed, RequestCancelled},
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
	// ApproverUserID is the Identity Store user the approver resolved to when
	// approving ("" when none).
	ApproverUserID string
	Reasoning      string
	At             time.Time
}

// Forward is one hand-over of a pending request to another approver
// (POST /v1/requests/{id}/forward): From no longer decides it, To does.
type Forward struct {
	// From is who the request was taken from: the previous forward's To, or
	// the caller on a first forward.
	From string
	To   string
	// By is who forwarded it: From, or an admin covering for them.
	By      string
	Comment string
	At      time.Time
}

// Conflict is a separation-of-duties conflict: a forbid policy annotated
// @sod that matches the request given the grantee's active grants.
type Conflict struct {
	PolicyID string
	Name     string
	// Enforce is "deny" when the policy says @sod_enforce("deny"), else
	// "require".
	Enforce  string
	GrantIDs []string
}

// Request is an ask for access.
type Request struct {
	ID          string
	TenantID    string
	RequesterID string
	// RequesterKind tells a user from a service principal of the same id.
	RequesterKind PrincipalKind
	GranteeID     string
	// RequesterUserID and GranteeUserID are the Identity Store users the
	// requester and the grantee resolved to when the request was made ("" for
	// a requester with none): "not yourself" compares these, not spellings.
	RequesterUserID string
	GranteeUserID   string
	// PermissionSetARN is the catalog's permission set for the action when
	// the request was made (empty for managed resource types): what approvers
	// see and what the grant assigns, whatever the catalog says later.
	PermissionSetARN  string
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
	// ExtendsGrantID names the active grant an extension request extends
	// (POST /v1/grants/{id}/extend); empty for a request for new access.
	// Once approved, GrantID names the same grant.
	ExtendsGrantID string
	// StartsAt is when the access asked for begins (starts_at); zero means
	// as soon as the request is approved.
	StartsAt time.Time
	// RemindAt is when the approvers of a pending request are reminded
	// (zero when reminders are off); RemindedAt is when they were.
	RemindAt   time.Time
	RemindedAt time.Time
	// EscalateAt is when the approval widens to the members of group
	// EscalateTo (@escalate_after, @escalate_to of the deciding permit; zero
	// and "" when none); EscalatedAt is when the escalation was announced.
	EscalateAt  time.Time
	EscalateTo  string
	EscalatedAt time.Time
	// EndSessions is the deciding permits' @end_sessions ("true", "false",
	// or "" for the tenant's setting); its grant keeps it.
	EndSessions string
	// ForwardHistory lists the request's forwards, oldest first.
	ForwardHistory []Forward
	// Conflicts are the separation-of-duties conflicts found when the
	// request was decided (docs/design.md, "Separation of duties").
	Conflicts     []Conflict
	Notices       []string
	Metadata      map[string]any
	PolicyVersion int
	// Context is what the policies saw of the request when it was decided,
	// beyond its own fields, so that a backtest can replay it (nil for a
	// request recorded before Elevate kept it).
	Context *DecisionContext
	// TaskToken is the workflow's handle on the approval wait. It never leaves
	// the backend.
	TaskToken string
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// DecisionContext is what the policies saw of a request when it was
// decided, beyond the request's own fields: the requester's groups, the
// organization above the resource, the tenant's time zone, and for an
// extension the grant it extends. The decision's time is the request's
// CreatedAt.
type DecisionContext struct {
	Groups    []string
	Ancestors []string
	// TimeZone is the tenant's IANA time zone then ("" is UTC).
	TimeZone string
	// Extension is set for a request to extend an active grant.
	Extension *ExtensionContext
	// ActiveGrants are the grantee's active grants that
	// separation-of-duties policies saw (none when the set had no @sod
	// policy).
	ActiveGrants []ActiveGrantContext
	// BreakGlassSuspended is context.break_glass_suspended: the grantee's
	// break-glass was suspended.
	BreakGlassSuspended bool
}

// ActiveGrantContext is one of the grantee's active grants as the policies
// saw it (context.active_grants).
type ActiveGrantContext struct {
	ID, ResourceType, ResourceID, AccountID, Action string
}

// ExtensionContext is what the policies saw of the grant an extension
// request extends.
type ExtensionContext struct {
	RemainingSeconds        int64
	Extensions              int64
	OriginalDurationSeconds int64
}

// Requester is the request's requester as a person.
func (r Request) Requester() Person {
	return Person{Kind: r.RequesterKind, ID: r.RequesterID, UserID: r.RequesterUserID}
}

// Grantee is the request's grantee as a person.
func (r Request) Grantee() Person {
	return Person{Kind: PrincipalUser, ID: r.GranteeID, UserID: r.GranteeUserID}
}

// Delegated reports whether the request is made on behalf of someone else.
func (r Request) Delegated() bool { return !r.Requester().Same(r.Grantee()) }

// Duration is the requested duration.
func (r Request) Duration() time.Duration { return time.Duration(r.DurationSeconds) * time.Second }

// ApprovedBy reports whether this person has already approved.
func (r Request) ApprovedBy(p Person) bool {
	return slices.ContainsFunc(r.Approvals, func(a Approval) bool {
		return p.Same(Person{Kind: PrincipalUser, ID: a.ApproverID, UserID: a.ApproverUserID})
	})
}

// ForwardedAway reports whether id forwarded the request to someone else and
// did not get it back: such an approver no longer decides it.
func (r Request) ForwardedAway(id string) bool {
	away := false
	for _, f := range r.ForwardHistory {
		switch id {
		case f.To:
			away = false
		case f.From:
			away = true
		}
	}
	return away
}

// Assignee is who the request was last forwarded to ("" when never).
func (r Request) Assignee() string {
	if n := len(r.ForwardHistory); n > 0 {
		return r.ForwardHistory[n-1].To
	}
	return ""
}

// Involves reports whether p is the request's requester or grantee.
func (r Request) Involves(p Person) bool { return p.Same(r.Requester()) || p.Same(r.Grantee()) }

// VisibleTo reports whether a caller who sees only their own requests sees
// r: the one who made it, or the one who will receive it, by (kind, id).
func (r Request) VisibleTo(p Principal) bool {
	return p.Person().Is(r.Requester()) || p.Person().Is(r.Grantee())
}

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
