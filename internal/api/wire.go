package api

import (
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// The wire types of the API. They are the JSON contract of the
// OpenAPI document; the domain types carry no JSON tags.

type resourceJSON struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	AccountID string `json:"account_id,omitempty"`
	Region    string `json:"region,omitempty"`
	DBUser    string `json:"db_user,omitempty"`
}

type approvalJSON struct {
	ApproverID string    `json:"approver_id"`
	Reasoning  string    `json:"reasoning"`
	ApprovedAt time.Time `json:"approved_at"`
}

type requestJSON struct {
	ID                string         `json:"id"`
	TenantID          string         `json:"tenant_id"`
	RequesterID       string         `json:"requester_id"`
	GranteeID         string         `json:"grantee_id"`
	Resource          resourceJSON   `json:"resource"`
	Action            string         `json:"action"`
	PermissionSetARN  *string        `json:"permission_set_arn"`
	Justification     string         `json:"justification"`
	DurationSeconds   int64          `json:"duration_seconds"`
	BreakGlass        bool           `json:"break_glass"`
	Status            string         `json:"status"`
	ApprovalMode      *string        `json:"approval_mode"`
	ApprovalsRequired int            `json:"approvals_required"`
	Approvals         []approvalJSON `json:"approvals"`
	Reasoning         *string        `json:"reasoning"`
	DecidedBy         *string        `json:"decided_by"`
	DecidedAt         *time.Time     `json:"decided_at"`
	ApprovalExpiresAt *time.Time     `json:"approval_expires_at"`
	GrantID           *string        `json:"grant_id"`
	ExtendsGrantID    *string        `json:"extends_grant_id"`
	StartsAt          *time.Time     `json:"starts_at"`
	EscalateAt        *time.Time     `json:"escalate_at"`
	EscalateTo        *string        `json:"escalate_to"`
	ForwardHistory    []forwardJSON  `json:"forward_history"`
	Conflicts         []conflictJSON `json:"conflicts"`
	Notices           []string       `json:"notices"`
	Metadata          map[string]any `json:"metadata"`
	PolicyVersion     int            `json:"policy_version"`
	CreatedAt         time.Time      `json:"created_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
}

type forwardJSON struct {
	From    string    `json:"from"`
	To      string    `json:"to"`
	By      string    `json:"by"`
	Comment string    `json:"comment"`
	At      time.Time `json:"at"`
}

type conflictJSON struct {
	PolicyID string   `json:"policy_id"`
	Name     string   `json:"name"`
	Enforce  string   `json:"enforce"`
	GrantIDs []string `json:"grant_ids"`
}

func fromConflicts(cs []access.Conflict) []conflictJSON {
	out := make([]conflictJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, conflictJSON{PolicyID: c.PolicyID, Name: c.Name, Enforce: c.Enforce, GrantIDs: nonNil(c.GrantIDs)})
	}
	return out
}

type assignmentJSON struct {
	InstanceARN      string `json:"instance_arn"`
	AccountID        string `json:"account_id"`
	PermissionSetARN string `json:"permission_set_arn"`
	PrincipalID      string `json:"principal_id"`
	Status           string `json:"status"`
	External         bool   `json:"external"`
}

type grantJSON struct {
	ID              string           `json:"id"`
	TenantID        string           `json:"tenant_id"`
	RequestID       *string          `json:"request_id"`
	GranteeID       string           `json:"grantee_id"`
	CreatedBy       string           `json:"created_by"`
	Resource        resourceJSON     `json:"resource"`
	Action          string           `json:"action"`
	Status          string           `json:"status"`
	DurationSeconds int64            `json:"duration_seconds"`
	BreakGlass      bool             `json:"break_glass"`
	StartsAt        *time.Time       `json:"starts_at"`
	ExpiresAt       *time.Time       `json:"expires_at"`
	Extensions      int              `json:"extensions"`
	GrantedAt       *time.Time       `json:"granted_at"`
	RevokedAt       *time.Time       `json:"revoked_at"`
	RevokedBy       *string          `json:"revoked_by"`
	Reasoning       *string          `json:"reasoning"`
	Revocation      *revocationJSON  `json:"revocation"`
	Assignments     []assignmentJSON `json:"assignments"`
	Notices         []string         `json:"notices"`
	Metadata        map[string]any   `json:"metadata"`
	Review          *reviewJSON      `json:"review"`
	CreatedAt       time.Time        `json:"created_at"`
	UpdatedAt       time.Time        `json:"updated_at"`
}

// revocationJSON is a revoked or expired grant's revocation receipt.
type revocationJSON struct {
	AssignmentDeletedAt *time.Time `json:"assignment_deleted_at"`
	VerifiedAbsentAt    *time.Time `json:"verified_absent_at"`
	SessionsCutUntil    *time.Time `json:"sessions_cut_until"`
	Method              string     `json:"method"`
}

// reviewJSON is a break-glass grant's review.
type reviewJSON struct {
	Status     string     `json:"status"`
	DueAt      time.Time  `json:"due_at"`
	Overdue    bool       `json:"overdue"`
	OverdueAt  *time.Time `json:"overdue_at"`
	ReviewerID *string    `json:"reviewer_id"`
	Reasoning  *string    `json:"reasoning"`
	ReviewedAt *time.Time `json:"reviewed_at"`
}

// suspensionJSON is a user's break-glass standing.
type suspensionJSON struct {
	UserID              string     `json:"user_id"`
	IdentityStoreUserID string     `json:"identity_store_user_id"`
	Suspended           bool       `json:"suspended"`
	Reason              *string    `json:"reason"`
	GrantID             *string    `json:"grant_id"`
	SuspendedAt         *time.Time `json:"suspended_at"`
	SuspendedBy         *string    `json:"suspended_by"`
	OverdueReviews      int        `json:"overdue_reviews"`
	LiftedAt            *time.Time `json:"lifted_at"`
	LiftedBy            *string    `json:"lifted_by"`
	LiftReasoning       *string    `json:"lift_reasoning"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

type apiKeyJSON struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Role          string     `json:"role"`
	PrincipalID   string     `json:"principal_id"`
	PrincipalKind string     `json:"principal_kind"`
	Groups        []string   `json:"groups"`
	CreatedBy     string     `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	ExpiresAt     *time.Time `json:"expires_at"`
	RevokedAt     *time.Time `json:"revoked_at"`
	// ForCaller and ActsAs say what the key acts as: its maker, or a service
	// principal, with a role and groups fixed when it was made.
	ForCaller bool   `json:"for_caller"`
	ActsAs    string `json:"acts_as"`
	// Key is the full secret, present only in the response that created it.
	Key string `json:"key,omitempty"`
}

type auditEventJSON struct {
	ID         string         `json:"id"`
	At         time.Time      `json:"at"`
	ActorID    string         `json:"actor_id"`
	ActorKind  string         `json:"actor_kind"`
	Action     string         `json:"action"`
	Severity   string         `json:"severity"`
	ObjectType string         `json:"object_type"`
	ObjectID   string         `json:"object_id"`
	Details    map[string]any `json:"details"`
}

type jwtJSON struct {
	Issuer      string `json:"issuer"`
	Audience    string `json:"audience"`
	JWKSURL     string `json:"jwks_url"`
	GroupsClaim string `json:"groups_claim"`
	// ClientID and AuthorizationEndpoint are the console's OIDC sign-in.
	ClientID              string `json:"client_id"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
}

// identityCenterJSON is the tenant boundary as tenant admins see it: all
// of it is the operator's, read-only here, except allowed_roots, which an
// admin may narrow within allowed_roots_ceiling.
type identityCenterJSON struct {
	InstanceARN         string   `json:"instance_arn"`
	IdentityStoreID     string   `json:"identity_store_id"`
	AllowedRoots        []string `json:"allowed_roots"`
	AllowedRootsCeiling []string `json:"allowed_roots_ceiling"`
	Assignable          []string `json:"assignable_permission_sets"`
	CutSessions         bool     `json:"cut_assignable_sessions"`
}

type tenantJSON struct {
	ID                           string             `json:"id"`
	Name                         string             `json:"name"`
	JWT                          jwtJSON            `json:"jwt"`
	GroupRoles                   map[string]string  `json:"group_roles"`
	IdentityMapping              string             `json:"identity_mapping"`
	IdentityCenter               identityCenterJSON `json:"identity_center"`
	TimeZone                     string             `json:"time_zone"`
	DefaultApprovalWindowSeconds int64              `json:"default_approval_window_seconds"`
	MaxDurationSeconds           int64              `json:"max_duration_seconds"`
	AuditRetentionDays           int64              `json:"audit_retention_days"`
	DenyRequiresReasoning        bool               `json:"deny_requires_reasoning"`
	MaxGrantLifetimeSeconds      int64              `json:"max_grant_lifetime_seconds"`
	MaxStartAheadSeconds         int64              `json:"max_start_ahead_seconds"`
	ApprovalReminderPercent      int                `json:"approval_reminder_percent"`
	EndSessions                  string             `json:"end_sessions"`
	BreakGlassReviewSeconds      int64              `json:"break_glass_review_seconds"`
	BreakGlassSuspendAfter       int                `json:"break_glass_suspend_after_overdue"`
	MaxDurationCeilingSeconds    int64              `json:"max_duration_ceiling_seconds"`
	AuditRetentionFloorDays      int64              `json:"audit_retention_floor_days"`
	APIKeyMaxLifetimeDays        int64              `json:"api_key_max_lifetime_days"`
	PolicyVersion                int                `json:"policy_version"`
	CreatedAt                    time.Time          `json:"created_at"`
	UpdatedAt                    time.Time          `json:"updated_at"`
}

type catalogActionJSON struct {
	Name             string `json:"name"`
	Description      string `json:"description,omitempty"`
	PermissionSetARN string `json:"permission_set_arn,omitempty"`
}

type catalogJSON struct {
	Actions map[string][]catalogActionJSON `json:"actions"`
}

type errorJSON struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
	Notices []string       `json:"notices,omitempty"`
}

type listJSON[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
	HasMore    bool    `json:"has_more"`
}

// Request bodies. Pointers tell a missing field from a zero value.

type createRequestBody struct {
	Resource        *resourceJSON  `json:"resource"`
	Action          *string        `json:"action"`
	DurationSeconds *int64         `json:"duration_seconds"`
	Justification   *string        `json:"justification"`
	GranteeID       *string        `json:"grantee_id"`
	BreakGlass      *bool          `json:"break_glass"`
	Metadata        map[string]any `json:"metadata"`
	StartsAt        *string        `json:"starts_at"`
}

type extendGrantBody struct {
	DurationSeconds *int64  `json:"duration_seconds"`
	Justification   *string `json:"justification"`
}

type forwardBody struct {
	To      *string `json:"to"`
	Comment *string `json:"comment"`
}

type reasoningBody struct {
	Reasoning *string `json:"reasoning"`
}

type reviewBody struct {
	Outcome   *string `json:"outcome"`
	Reasoning *string `json:"reasoning"`
}

type createGrantBody struct {
	GranteeID *string        `json:"grantee_id"`
	Resource  *resourceJSON  `json:"resource"`
	Action    *string        `json:"action"`
	ExpiresAt *string        `json:"expires_at"`
	Reasoning *string        `json:"reasoning"`
	Metadata  map[string]any `json:"metadata"`
}

type createAPIKeyBody struct {
	Name             *string  `json:"name"`
	Role             *string  `json:"role"`
	ServicePrincipal *string  `json:"service_principal"`
	Groups           []string `json:"groups"`
	ExpiresAt        *string  `json:"expires_at"`
}

type jwtPatchJSON struct {
	Issuer      *string `json:"issuer"`
	Audience    *string `json:"audience"`
	JWKSURL     *string `json:"jwks_url"`
	GroupsClaim *string `json:"groups_claim"`
	// ClientID and AuthorizationEndpoint are the console's OIDC sign-in.
	ClientID              *string `json:"client_id"`
	AuthorizationEndpoint *string `json:"authorization_endpoint"`
}

type identityCenterPatchJSON struct {
	InstanceARN         *string   `json:"instance_arn"`
	IdentityStoreID     *string   `json:"identity_store_id"`
	AllowedRoots        *[]string `json:"allowed_roots"`
	AllowedRootsCeiling *[]string `json:"allowed_roots_ceiling"`
	Assignable          *[]string `json:"assignable_permission_sets"`
	CutSessions         *bool     `json:"cut_assignable_sessions"`
}

type tenantPatchBody struct {
	Name                         *string                  `json:"name"`
	JWT                          *jwtPatchJSON            `json:"jwt"`
	GroupRoles                   *map[string]string       `json:"group_roles"`
	IdentityMapping              *string                  `json:"identity_mapping"`
	IdentityCenter               *identityCenterPatchJSON `json:"identity_center"`
	TimeZone                     *string                  `json:"time_zone"`
	DefaultApprovalWindowSeconds *int64                   `json:"default_approval_window_seconds"`
	MaxDurationSeconds           *int64                   `json:"max_duration_seconds"`
	AuditRetentionDays           *int64                   `json:"audit_retention_days"`
	DenyRequiresReasoning        *bool                    `json:"deny_requires_reasoning"`
	MaxGrantLifetimeSeconds      *int64                   `json:"max_grant_lifetime_seconds"`
	MaxStartAheadSeconds         *int64                   `json:"max_start_ahead_seconds"`
	ApprovalReminderPercent      *int64                   `json:"approval_reminder_percent"`
	EndSessions                  *string                  `json:"end_sessions"`
	BreakGlassReviewSeconds      *int64                   `json:"break_glass_review_seconds"`
	BreakGlassSuspendAfter       *int64                   `json:"break_glass_suspend_after_overdue"`
	MaxDurationCeilingSeconds    *int64                   `json:"max_duration_ceiling_seconds"`
	AuditRetentionFloorDays      *int64                   `json:"audit_retention_floor_days"`
	APIKeyMaxLifetimeDays        *int64                   `json:"api_key_max_lifetime_days"`
}

func toResource(r resourceJSON) access.Resource {
	return access.Resource{Type: access.ResourceType(r.Type), ID: r.ID, AccountID: r.AccountID, Region: r.Region, DBUser: r.DBUser}
}

func fromResource(r access.Resource) resourceJSON {
	return resourceJSON{Type: string(r.Type), ID: r.ID, AccountID: r.AccountID, Region: r.Region, DBUser: r.DBUser}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}

func fromRequest(r access.Request) requestJSON {
	approvals := make([]approvalJSON, 0, len(r.Approvals))
	for _, a := range r.Approvals {
		approvals = append(approvals, approvalJSON{ApproverID: a.ApproverID, Reasoning: a.Reasoning, ApprovedAt: a.At.UTC()})
	}
	forwards := make([]forwardJSON, 0, len(r.ForwardHistory))
	for _, f := range r.ForwardHistory {
		forwards = append(forwards, forwardJSON{From: f.From, To: f.To, By: f.By, Comment: f.Comment, At: f.At.UTC()})
	}
	return requestJSON{
		ForwardHistory: forwards, Conflicts: fromConflicts(r.Conflicts),
		ID: r.ID, TenantID: r.TenantID, RequesterID: r.RequesterID, GranteeID: r.GranteeID,
		Resource: fromResource(r.Resource), Action: r.Action, PermissionSetARN: optString(r.PermissionSetARN), Justification: r.Justification,
		DurationSeconds: r.DurationSeconds, BreakGlass: r.BreakGlass, Status: string(r.Status),
		ApprovalMode: optString(string(r.ApprovalMode)), ApprovalsRequired: r.ApprovalsRequired, Approvals: approvals,
		Reasoning: optString(r.Reasoning), DecidedBy: optString(r.DecidedBy), DecidedAt: optTime(r.DecidedAt),
		ApprovalExpiresAt: optTime(r.ApprovalExpiresAt), GrantID: optString(r.GrantID), ExtendsGrantID: optString(r.ExtendsGrantID), StartsAt: optTime(r.StartsAt),
		EscalateAt: optTime(r.EscalateAt), EscalateTo: optString(r.EscalateTo),
		Notices: nonNil(r.Notices), Metadata: nonNilMap(r.Metadata), PolicyVersion: r.PolicyVersion,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

func fromGrant(g access.Grant) grantJSON {
	as := make([]assignmentJSON, 0, len(g.Assignments))
	for _, a := range g.Assignments {
		as = append(as, assignmentJSON{InstanceARN: a.InstanceARN, AccountID: a.AccountID, PermissionSetARN: a.PermissionSetARN,
			PrincipalID: a.PrincipalID, Status: string(a.State), External: a.External})
	}
	return grantJSON{
		ID: g.ID, TenantID: g.TenantID, RequestID: optString(g.RequestID), GranteeID: g.GranteeID, CreatedBy: g.CreatedBy,
		Resource: fromResource(g.Resource), Action: g.Action, Status: string(g.Status), DurationSeconds: g.DurationSeconds,
		BreakGlass: g.BreakGlass, StartsAt: optTime(g.StartsAt), ExpiresAt: optTime(g.ExpiresAt), Extensions: g.Extensions, GrantedAt: optTime(g.GrantedAt),
		RevokedAt: optTime(g.RevokedAt), RevokedBy: optString(g.RevokedBy), Reasoning: optString(g.Reasoning),
		Revocation: fromRevocation(g.Revocation), Assignments: as, Notices: nonNil(g.Notices), Metadata: nonNilMap(g.Metadata), Review: fromReview(g.Review),
		CreatedAt: g.CreatedAt.UTC(), UpdatedAt: g.UpdatedAt.UTC(),
	}
}

func fromRevocation(r *access.Revocation) *revocationJSON {
	if r == nil {
		return nil
	}
	return &revocationJSON{AssignmentDeletedAt: optTime(r.AssignmentDeletedAt), VerifiedAbsentAt: optTime(r.VerifiedAbsentAt),
		SessionsCutUntil: optTime(r.SessionsCutUntil), Method: string(r.Method)}
}

// fromReview is a grant's review as shown; overdue is true once the
// sweeper announced it, until it is recorded.
func fromReview(rv *access.Review) *reviewJSON {
	if rv == nil {
		return nil
	}
	return &reviewJSON{
		Status: string(rv.Status), DueAt: rv.DueAt.UTC(), Overdue: rv.Status == access.ReviewPending && !rv.OverdueAt.IsZero(),
		OverdueAt: optTime(rv.OverdueAt), ReviewerID: optString(rv.ReviewerID), Reasoning: optString(rv.Reasoning), ReviewedAt: optTime(rv.ReviewedAt),
	}
}

func fromSuspension(sp access.Suspension) suspensionJSON {
	return suspensionJSON{
		UserID: sp.UserID, IdentityStoreUserID: sp.IdentityStoreUserID, Suspended: sp.Suspended, Reason: optString(string(sp.Reason)), GrantID: optString(sp.GrantID),
		SuspendedAt: optTime(sp.SuspendedAt), SuspendedBy: optString(sp.SuspendedBy), OverdueReviews: sp.Overdue,
		LiftedAt: optTime(sp.LiftedAt), LiftedBy: optString(sp.LiftedBy), LiftReasoning: optString(sp.LiftReasoning), UpdatedAt: sp.UpdatedAt.UTC(),
	}
}

func fromAPIKey(k access.APIKey) apiKeyJSON {
	return apiKeyJSON{
		ID: k.ID, Name: k.Name, Role: string(k.Role), PrincipalID: k.PrincipalID, PrincipalKind: string(k.PrincipalKind),
		Groups: nonNil(k.Groups), CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt.UTC(),
		ExpiresAt: optTime(k.ExpiresAt), RevokedAt: optTime(k.RevokedAt), ForCaller: k.ForCreator(), ActsAs: k.ActsAs(),
	}
}

func fromAuditEvent(e access.AuditEvent) auditEventJSON {
	return auditEventJSON{
		ID: e.ID, At: e.At.UTC(), ActorID: e.ActorID, ActorKind: string(e.ActorKind), Action: e.Action,
		Severity: string(e.Severity), ObjectType: e.ObjectType, ObjectID: e.ObjectID, Details: nonNilMap(e.Details),
	}
}

func fromTenant(t access.Tenant) tenantJSON {
	s, b := t.Settings, t.Boundary
	roles := make(map[string]string, len(s.GroupRoles))
	for g, r := range s.GroupRoles {
		roles[g] = string(r)
	}
	return tenantJSON{
		ID: t.ID, Name: t.Name,
		JWT: jwtJSON{Issuer: s.JWT.Issuer, Audience: s.JWT.Audience, JWKSURL: s.JWT.JWKSURL, GroupsClaim: s.JWT.GroupsClaim,
			ClientID: s.JWT.ClientID, AuthorizationEndpoint: s.JWT.AuthorizationEndpoint},
		GroupRoles: roles, IdentityMapping: string(b.IdentityMapping),
		IdentityCenter: identityCenterJSON{InstanceARN: b.InstanceARN, IdentityStoreID: b.IdentityStoreID,
			AllowedRoots: nonNil(t.AllowedRoots()), AllowedRootsCeiling: nonNil(b.AllowedRoots), Assignable: nonNil(b.Assignable),
			CutSessions: b.CutSessions},
		TimeZone:                     s.TimeZone,
		DefaultApprovalWindowSeconds: int64(s.ApprovalWindow / time.Second),
		MaxDurationSeconds:           int64(s.MaxDuration / time.Second),
		AuditRetentionDays:           int64(s.AuditRetention / (24 * time.Hour)),
		DenyRequiresReasoning:        !s.DenyReasoningOptional,
		MaxGrantLifetimeSeconds:      int64(s.GrantLifetime() / time.Second),
		MaxStartAheadSeconds:         int64(s.StartAhead() / time.Second),
		ApprovalReminderPercent:      s.Reminder(),
		EndSessions:                  string(s.SessionsToEnd()),
		BreakGlassReviewSeconds:      int64(s.ReviewAfter() / time.Second),
		BreakGlassSuspendAfter:       s.SuspendAfter(),
		MaxDurationCeilingSeconds:    int64(b.MaxDuration / time.Second),
		AuditRetentionFloorDays:      int64(b.MinAuditRetention / (24 * time.Hour)),
		APIKeyMaxLifetimeDays:        int64(b.MaxKeyLifetime / (24 * time.Hour)),
		PolicyVersion:                t.PolicyVersion, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(),
	}
}

func fromCatalog(c access.Catalog) catalogJSON {
	out := catalogJSON{Actions: map[string][]catalogActionJSON{}}
	for t, actions := range c {
		list := make([]catalogActionJSON, 0, len(actions))
		for _, a := range actions {
			list = append(list, catalogActionJSON{Name: a.Name, Description: a.Description, PermissionSetARN: a.PermissionSetARN})
		}
		out.Actions[string(t)] = list
	}
	return out
}

func toCatalog(c catalogJSON) access.Catalog {
	out := access.Catalog{}
	for t, actions := range c.Actions {
		list := make([]access.CatalogAction, 0, len(actions))
		for _, a := range actions {
			list = append(list, access.CatalogAction{Name: a.Name, Description: a.Description, PermissionSetARN: a.PermissionSetARN})
		}
		out[access.ResourceType(t)] = list
	}
	return out
}
