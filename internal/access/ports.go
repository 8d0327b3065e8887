package access

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Store keeps tenants, requests, grants, keys, audit events, idempotency
// records and policy versions. Every read is scoped to one tenant except the
// API key lookup (key ids are global). Every write goes through Commit, so a
// state change, its audit events and its idempotency record land together or
// not at all.
type Store interface {
	// Commit applies a change atomically. It returns an error wrapping
	// ErrStale when any object's stored revision is not the one the change
	// expects, ErrIdempotencyTaken when its idempotency record exists, and
	// ErrUnique when a tenant's JWT issuer and audience are already taken.
	Commit(ctx context.Context, c Change) error

	// Reads of a missing object return an error wrapping ErrNotFound.
	GetTenant(ctx context.Context, id string) (Tenant, error)
	// TenantIDForIssuer finds the tenant whose JWT settings name this issuer
	// and audience.
	TenantIDForIssuer(ctx context.Context, issuer, audience string) (string, error)
	GetRequest(ctx context.Context, tenantID, id string) (Request, error)
	ListRequests(ctx context.Context, tenantID string, f RequestFilter, p PageRequest) (Page[Request], error)
	GetGrant(ctx context.Context, tenantID, id string) (Grant, error)
	ListGrants(ctx context.Context, tenantID string, f GrantFilter, p PageRequest) (Page[Grant], error)
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	ListAPIKeys(ctx context.Context, tenantID string, p PageRequest) (Page[APIKey], error)
	ListAuditEvents(ctx context.Context, tenantID string, p PageRequest) (Page[AuditEvent], error)
	GetIdempotency(ctx context.Context, s IdempotencyScope) (IdempotencyRecord, error)
	GetPolicySet(ctx context.Context, tenantID string, version int) (PolicySet, error)
	// ListPendingReviews lists the grants whose review is not recorded yet,
	// earliest due first.
	ListPendingReviews(ctx context.Context, tenantID string, f ReviewFilter, p PageRequest) (Page[Grant], error)
	// GetSuspension returns the break-glass standing of the person whose
	// Identity Store user id is given (ErrNotFound when they have none).
	GetSuspension(ctx context.Context, tenantID, identityStoreUserID string) (Suspension, error)
	// ListSuspensions lists the tenant's break-glass standings, lifted ones
	// included, most recently changed first.
	ListSuspensions(ctx context.Context, tenantID string, p PageRequest) (Page[Suspension], error)
}

// ReviewFilter selects pending reviews; the zero filter selects all.
type ReviewFilter struct {
	// Unannounced keeps reviews not yet announced overdue.
	Unannounced bool
	// DueBy keeps reviews due at or before it; zero does not filter.
	DueBy time.Time
}

// Matches reports whether g's review is pending and passes the filter.
func (f ReviewFilter) Matches(g Grant) bool {
	rv := g.Review
	return rv != nil && rv.Status == ReviewPending &&
		(!f.Unannounced || rv.OverdueAt.IsZero()) &&
		(f.DueBy.IsZero() || !rv.DueAt.After(f.DueBy))
}

// Change is one atomic write. Each object carries the revision it will have
// once written: revision 1 creates it (it must not exist), revision n > 1
// replaces revision n-1.
type Change struct {
	Tenants    []Tenant
	Requests   []Request
	Grants     []Grant
	APIKeys    []APIKey
	PolicySets []PolicySet
	// Ledger entries (deployment-wide, keyed by their assignment) follow the
	// same revision rule; an entry with Deleted set is removed (its Revision
	// is the stored one plus one).
	Ledger []LedgerEntry
	// Touched records users Elevate assigned something to; a record is
	// written whatever is stored (it only moves ExpiresAt).
	Touched []TouchedPrincipal
	// CutSets (deployment-wide, keyed by their permission set) follow the
	// revision rule; one with Deleted set is removed.
	CutSets []CutSet
	// Suspensions are users' break-glass standings (revision rule as above).
	Suspensions []Suspension
	Audit       []AuditEvent
	Idempotency *IdempotencyRecord
}

// PageRequest asks a store for one page. After is the store's own position
// from the previous page's Next; nil starts at the beginning.
type PageRequest struct {
	Limit int
	After []byte
}

// Page is one page of a list. Next is nil on the last page.
type Page[T any] struct {
	Items []T
	Next  []byte
}

// RequestFilter selects requests; empty fields do not filter. Lists are
// newest first unless OldestFirst is set.
type RequestFilter struct {
	Statuses    []RequestStatus
	RequesterID string
	GranteeID   string
	// Party keeps requests whose requester or grantee is this user.
	Party string
	// ResourceType keeps requests for this type of resource.
	ResourceType ResourceType
	// AccountID keeps requests whose target account (Resource.TargetAccount)
	// is this one.
	AccountID string
	// UpdatedAfter and UpdatedBefore keep requests updated strictly after
	// and strictly before these times; zero does not filter.
	UpdatedAfter, UpdatedBefore time.Time
	// SortBy orders the list by creation (the default) or by last update,
	// ties broken by id.
	SortBy      RequestSort
	OldestFirst bool
}

// RequestSort names the time a request list is ordered by.
type RequestSort string

// The request list orders.
const (
	SortCreatedAt RequestSort = "created_at"
	SortUpdatedAt RequestSort = "updated_at"
)

// Matches reports whether r passes the filter; stores may use it for the
// filters they cannot express in a query.
func (f RequestFilter) Matches(r Request) bool {
	return (len(f.Statuses) == 0 || slices.Contains(f.Statuses, r.Status)) &&
		(f.RequesterID == "" || r.RequesterID == f.RequesterID) &&
		(f.GranteeID == "" || r.GranteeID == f.GranteeID) &&
		(f.Party == "" || r.RequesterID == f.Party || r.GranteeID == f.Party) &&
		(f.ResourceType == "" || r.Resource.Type == f.ResourceType) &&
		(f.AccountID == "" || r.Resource.TargetAccount() == f.AccountID) &&
		(f.UpdatedAfter.IsZero() || r.UpdatedAt.After(f.UpdatedAfter)) &&
		(f.UpdatedBefore.IsZero() || r.UpdatedAt.Before(f.UpdatedBefore))
}

// GrantFilter selects grants, newest first; empty fields do not filter.
type GrantFilter struct {
	Statuses  []GrantStatus
	GranteeID string
}

// Workflow drives the asynchronous side of the lifecycle: the approval wait,
// provisioning and deprovisioning. Implementations call back into the
// Service's step methods. Every method must be safe to call twice for the
// same object.
type Workflow interface {
	// StartApproval begins waiting for a pending request's approval until its
	// approval window ends.
	StartApproval(ctx context.Context, r Request) error
	// EndApproval resumes the wait of a request that left pending. An approved
	// request's grant is provisioned from there.
	EndApproval(ctx context.Context, r Request) error
	// StartProvisioning provisions a grant that needs no approval wait.
	StartProvisioning(ctx context.Context, g Grant) error
	// StartDeprovisioning takes a revoking grant's assignments away.
	StartDeprovisioning(ctx context.Context, g Grant) error
}

// Scheduler starts scheduled grants and ends grants on time.
type Scheduler interface {
	// ScheduleStart arranges for StartGrant(tenant, grant, generation) to be
	// called at a scheduled grant's StartsAt. Scheduling it twice is
	// harmless.
	ScheduleStart(ctx context.Context, g Grant) error
	// CancelStart removes a grant's pending start; a missing one is fine.
	CancelStart(ctx context.Context, g Grant) error
	// ScheduleNudge arranges for RemindRequest or EscalateRequest (as kind
	// says) to be called at a pending request's RemindAt or EscalateAt.
	// Scheduling it twice is harmless.
	ScheduleNudge(ctx context.Context, r Request, kind Nudge) error
	// CancelNudges removes a request's pending reminder and escalation;
	// missing ones are fine.
	CancelNudges(ctx context.Context, r Request) error
	// ScheduleExpiry arranges for ExpireGrant(tenant, grant, generation) to be
	// called at the grant's ExpiresAt. Scheduling the same generation twice is
	// harmless.
	ScheduleExpiry(ctx context.Context, g Grant) error
	// CancelExpiry removes a grant's pending expiry; a missing one is fine.
	CancelExpiry(ctx context.Context, g Grant) error
}

// OperationStatus is the state of an asynchronous Identity Center operation.
type OperationStatus string

// The Identity Center operation states.
const (
	OperationInProgress OperationStatus = "IN_PROGRESS"
	OperationSucceeded  OperationStatus = "SUCCEEDED"
	OperationFailed     OperationStatus = "FAILED"
)

// Operation is the result of polling an Identity Center operation.
type Operation struct {
	ID     string
	Status OperationStatus
	Reason string
}

// IdentityCenter is what provisioning needs from IAM Identity Center, the
// Identity Store and Organizations.
type IdentityCenter interface {
	// ResolveUser maps a grantee id to an active Identity Store user id. A
	// missing or disabled user is an error wrapping ErrUserNotFound.
	ResolveUser(ctx context.Context, t Tenant, granteeID string) (string, error)
	// Ancestors returns the organization root and OUs above a resource's
	// account (or above the OU itself), outermost first.
	Ancestors(ctx context.Context, t Tenant, r Resource) ([]string, error)
	// AccountsUnder lists the active accounts under an OU, recursively, at most max.
	AccountsUnder(ctx context.Context, t Tenant, ouID string, max int) (accounts []string, truncated bool, err error)
	// EnsurePermissionSet returns the ARN of an Elevate-managed permission set,
	// creating it if needed.
	EnsurePermissionSet(ctx context.Context, t Tenant, spec ManagedPermissionSet) (string, error)
	// AssignmentExists reports whether the assignment is already in place.
	AssignmentExists(ctx context.Context, a Assignment) (bool, error)
	CreateAssignment(ctx context.Context, a Assignment) (Operation, error)
	CreationStatus(ctx context.Context, instanceARN, operationID string) (Operation, error)
	DeleteAssignment(ctx context.Context, a Assignment) (Operation, error)
	DeletionStatus(ctx context.Context, instanceARN, operationID string) (Operation, error)
}

// ErrRetryLater means an adapter is throttled or at a deployment-wide limit
// (for example the cap on outstanding Identity Center assignment creations).
// A workflow step that meets it is not done and runs again later; it is never
// a failure.
var ErrRetryLater = errors.New("retry later")

// ErrUserNotFound means a grantee has no active Identity Store user.
var ErrUserNotFound = errors.New("grantee has no active Identity Center user")

// ManagedPermissionSet describes an Elevate-managed permission set for a
// managed resource and action.
type ManagedPermissionSet struct {
	Name            string
	Description     string
	InlinePolicy    string
	AccountID       string
	SessionDuration time.Duration
}

// Publisher announces state changes (EventBridge on AWS). It receives the
// audit events of each commit once the commit has succeeded.
type Publisher interface {
	Publish(ctx context.Context, events []AuditEvent) error
}

// onBehalfOf is the context key of the tenant an Identity Center call works
// for.
type onBehalfOf struct{}

// OnBehalfOf marks ctx as working for tenantID, so an Identity Center
// adapter can share the instance's limits fairly between the tenants on it.
func OnBehalfOf(ctx context.Context, tenantID string) context.Context {
	return context.WithValue(ctx, onBehalfOf{}, tenantID)
}

// BehalfOf returns the tenant ctx works for, or "" when none was named.
func BehalfOf(ctx context.Context) string {
	id, _ := ctx.Value(onBehalfOf{}).(string)
	return id
}
