package access

import (
	"fmt"
	"slices"
	"time"
)

// GrantStatus is where a grant is in its lifecycle.
type GrantStatus string

// The grant statuses (docs/design.md, "Lifecycle").
const (
	GrantScheduled    GrantStatus = "scheduled"
	GrantProvisioning GrantStatus = "provisioning"
	GrantActive       GrantStatus = "active"
	GrantRevoking     GrantStatus = "revoking"
	GrantExpired      GrantStatus = "expired"
	GrantRevoked      GrantStatus = "revoked"
	GrantFailed       GrantStatus = "failed"
)

// GrantStatuses lists every grant status.
var GrantStatuses = []GrantStatus{GrantScheduled, GrantProvisioning, GrantActive, GrantRevoking, GrantExpired, GrantRevoked, GrantFailed}

// grantTransitions is the one table of allowed grant status changes. A grant
// is revoked or expired only from revoking, that is only after its
// assignments were removed, except a scheduled grant, which has none.
var grantTransitions = map[GrantStatus][]GrantStatus{
	"": {GrantScheduled, GrantProvisioning},
	// A scheduled grant starts provisioning at its StartsAt, or is revoked
	// before: it never touched Identity Center.
	GrantScheduled:    {GrantProvisioning, GrantRevoked},
	GrantProvisioning: {GrantActive, GrantRevoking, GrantFailed},
	GrantActive:       {GrantRevoking},
	GrantRevoking:     {GrantExpired, GrantRevoked},
}

// Valid reports whether s is a known grant status.
func (s GrantStatus) Valid() bool { return slices.Contains(GrantStatuses, s) }

// CanBecome reports whether a grant may move from s to next.
func (s GrantStatus) CanBecome(next GrantStatus) bool {
	return slices.Contains(grantTransitions[s], next)
}

// Ended reports whether the grant is in a final state.
func (s GrantStatus) Ended() bool {
	return s == GrantExpired || s == GrantRevoked || s == GrantFailed
}

// EndReason says why a grant is being taken away.
type EndReason string

// The reasons a grant ends; each leads to its own final status.
const (
	EndExpiry     EndReason = "expiry"
	EndRevocation EndReason = "revocation"
)

// AssignmentState tracks one Identity Center assignment of a grant.
type AssignmentState string

// The states of an assignment as a grant sees it.
const (
	AssignmentPlanned  AssignmentState = "planned"
	AssignmentCreating AssignmentState = "creating"
	AssignmentActive   AssignmentState = "active"
	AssignmentDeleting AssignmentState = "deleting"
	AssignmentDeleted  AssignmentState = "deleted"
	AssignmentFailed   AssignmentState = "failed"
)

// Assignment is one Identity Center account assignment a grant made or uses.
type Assignment struct {
	InstanceARN      string
	PermissionSetARN string
	AccountID        string
	PrincipalID      string
	// State follows the ledger entry of the assignment, which alone holds
	// the pending operation.
	State AssignmentState
	// External is true when the assignment existed before Elevate; it is never deleted.
	External bool
	// DeletedAt is when this grant's deletion of the assignment succeeded
	// (zero when another holder or none deleted it).
	DeletedAt time.Time
}

// Key identifies the assignment in Identity Center.
func (a Assignment) Key() AssignmentKey {
	return AssignmentKey{a.InstanceARN, a.PrincipalID, a.AccountID, a.PermissionSetARN}
}

// AssignmentKey is the identity of an Identity Center account assignment.
type AssignmentKey struct {
	InstanceARN      string
	PrincipalID      string
	AccountID        string
	PermissionSetARN string
}

// Grant is access that exists, or is being made or taken away.
type Grant struct {
	ID        string
	TenantID  string
	RequestID string
	GranteeID string
	// GranteeUserID is the Identity Store user the grantee resolved to when
	// the grant was made; provisioning refuses a grantee that now resolves to
	// someone else.
	GranteeUserID string
	CreatedBy     string
	// PermissionSetARN is the catalog permission set the grant assigns, as it
	// was when the request was made (empty for managed resource types).
	PermissionSetARN string
	// PolicyVersion is the policy set version when the request was made; a
	// managed permission set is built for it.
	PolicyVersion   int
	Resource        Resource
	Action          string
	Status          GrantStatus
	DurationSeconds int64
	// StartsAt is when a scheduled grant begins provisioning (zero for a
	// grant provisioned at once); its ExpiresAt counts from activation.
	StartsAt  time.Time
	ExpiresAt time.Time
	GrantedAt time.Time
	RevokedAt time.Time
	RevokedBy string
	Reasoning string
	EndReason EndReason
	// EndingAt is when the grant became revoking: with the time it ended,
	// how long taking its access away took.
	EndingAt time.Time
	// Failure is set when provisioning failed for good; the grant becomes
	// failed once what was created is removed.
	Failure     string
	Assignments []Assignment
	Notices     []string
	Metadata    map[string]any
	BreakGlass  bool
	// Generation changes whenever a new expiry is scheduled, so that a stale
	// schedule firing late is a no-op.
	Generation int64
	// Extensions counts the approved extensions that moved ExpiresAt.
	Extensions int
	// PendingExtension is the id of the extension request last made for the
	// grant; while that request is pending no other may be made. The
	// marker is written with the request, under the grant's revision, so two
	// concurrent extensions never both become pending; a marker naming a
	// request that is no longer pending is simply stale.
	PendingExtension string
	// EndSessions is the @end_sessions of the permit that granted the access
	// ("true", "false", or "" for the tenant's setting).
	EndSessions string
	// Revocation is the receipt of a revoked or expired grant whose
	// assignments Elevate took away (docs/revocation.md); nil before.
	Revocation *Revocation
	// Review is the after-the-fact review of a break-glass grant (nil for
	// every other grant).
	Review    *Review
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (g *Grant) transition(next GrantStatus, now time.Time) error {
	if !g.Status.CanBecome(next) {
		return &Error{Code: CodeConflict, Message: "conflict", Cause: fmt.Errorf("grant %s is %s and cannot become %s", g.ID, g.Status, next)}
	}
	g.Status = next
	g.UpdatedAt = now
	return nil
}
