package dynamo

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/elevate-jit/elevate/internal/access"
)

// The store's item structs. Domain types carry no storage tags; these do,
// and the functions below convert between the two. Times are strings in
// timeLayout ("" for the zero time, which omitempty leaves out), durations
// are nanoseconds, and metadata and audit details are JSON text, so they
// round-trip exactly.

// keys are the key attributes an item may carry.
type keys struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	GSI1PK string `dynamodbav:"GSI1PK,omitempty"`
	GSI2PK string `dynamodbav:"GSI2PK,omitempty"`
	GSI3PK string `dynamodbav:"GSI3PK,omitempty"`
	GSI4PK string `dynamodbav:"GSI4PK,omitempty"`
	GSI5PK string `dynamodbav:"GSI5PK,omitempty"`
	GSI6PK string `dynamodbav:"GSI6PK,omitempty"`
	GSK    string `dynamodbav:"GSK,omitempty"`
	// GSI7 lists active grants by their end, for the sweeper; only active
	// grants carry it.
	GSI7PK string `dynamodbav:"GSI7PK,omitempty"`
	GSI7SK string `dynamodbav:"GSI7SK,omitempty"`
	// GSI8 lists requests of one status by their last update (the approval
	// inbox's sort=updated_at), and break-glass grants whose review is
	// pending by its due time (one partition before the review is announced
	// overdue, one after).
	GSI8PK string `dynamodbav:"GSI8PK,omitempty"`
	GSI8SK string `dynamodbav:"GSI8SK,omitempty"`
	// TTL is when DynamoDB may delete the item, in Unix seconds.
	TTL int64 `dynamodbav:"ttl,omitempty"`
}

type tenantItem struct {
	keys
	tenantData
}

type tenantData struct {
	ID            string                         `dynamodbav:"id"`
	Name          string                         `dynamodbav:"name,omitempty"`
	Settings      settingsData                   `dynamodbav:"settings"`
	Boundary      *boundaryData                  `dynamodbav:"boundary,omitempty"`
	Catalog       map[string][]catalogActionData `dynamodbav:"catalog,omitempty"`
	PolicyVersion int                            `dynamodbav:"policy_version,omitempty"`
	Rev           int64                          `dynamodbav:"rev"`
	CreatedAt     string                         `dynamodbav:"created_at,omitempty"`
	UpdatedAt     string                         `dynamodbav:"updated_at,omitempty"`
}

type settingsData struct {
	JWTIssuer      string            `dynamodbav:"jwt_issuer,omitempty"`
	JWTAudience    string            `dynamodbav:"jwt_audience,omitempty"`
	JWKSURL        string            `dynamodbav:"jwks_url,omitempty"`
	GroupsClaim    string            `dynamodbav:"groups_claim,omitempty"`
	ClientID       string            `dynamodbav:"jwt_client_id,omitempty"`
	AuthzEndpoint  string            `dynamodbav:"jwt_authorization_endpoint,omitempty"`
	GroupRoles     map[string]string `dynamodbav:"group_roles,omitempty"`
	TimeZone       string            `dynamodbav:"time_zone,omitempty"`
	ApprovalWindow int64             `dynamodbav:"approval_window_ns,omitempty"`
	MaxDuration    int64             `dynamodbav:"max_duration_ns,omitempty"`
	AuditRetention int64             `dynamodbav:"audit_retention_ns,omitempty"`
	// NarrowedRoots is the tenant admins' narrowing of the boundary's roots.
	NarrowedRoots []string `dynamodbav:"narrowed_roots,omitempty"`
	// DenyReasoningOptional is absent (false) for every tenant that keeps
	// the default: a deny must say why.
	DenyReasoningOptional bool `dynamodbav:"deny_reasoning_optional,omitempty"`
	// MaxGrantLifetime is absent (0) for a tenant that keeps the default.
	MaxGrantLifetime int64 `dynamodbav:"max_grant_lifetime_ns,omitempty"`
	// MaxStartAhead is absent (0) for a tenant that keeps the default.
	MaxStartAhead int64 `dynamodbav:"max_start_ahead_ns,omitempty"`
	// ReminderPercent is absent (0) for the default; RemindersOff is absent
	// (false) unless reminders were turned off.
	ReminderPercent int  `dynamodbav:"reminder_percent,omitempty"`
	RemindersOff    bool `dynamodbav:"reminders_off,omitempty"`
	// BreakGlassReview is absent (0) for the default; SuspendAfterOverdue
	// likewise, and SuspendOverdueOff is absent unless the setting is 0.
	BreakGlassReview    int64 `dynamodbav:"break_glass_review_ns,omitempty"`
	SuspendAfterOverdue int   `dynamodbav:"suspend_after_overdue,omitempty"`
	SuspendOverdueOff   bool  `dynamodbav:"suspend_overdue_off,omitempty"`
	// EndSessions is absent for the default ("managed").
	EndSessions string `dynamodbav:"end_sessions,omitempty"`

	// Before the boundary was the operator's, these lived in the settings;
	// a tenant written then is read with them as its boundary.
	LegacyIdentityMapping string   `dynamodbav:"identity_mapping,omitempty"`
	LegacyInstanceARN     string   `dynamodbav:"instance_arn,omitempty"`
	LegacyIdentityStoreID string   `dynamodbav:"identity_store_id,omitempty"`
	LegacyAllowedRoots    []string `dynamodbav:"allowed_roots,omitempty"`
}

// boundaryData is the operator-owned boundary of a tenant.
type boundaryData struct {
	InstanceARN       string   `dynamodbav:"instance_arn,omitempty"`
	IdentityStoreID   string   `dynamodbav:"identity_store_id,omitempty"`
	IdentityMapping   string   `dynamodbav:"identity_mapping,omitempty"`
	AllowedRoots      []string `dynamodbav:"allowed_roots,omitempty"`
	Assignable        []string `dynamodbav:"assignable,omitempty"`
	MaxDuration       int64    `dynamodbav:"max_duration_ns,omitempty"`
	MinAuditRetention int64    `dynamodbav:"min_audit_retention_ns,omitempty"`
	MaxKeyLifetime    int64    `dynamodbav:"max_key_lifetime_ns,omitempty"`
	CutSessions       bool     `dynamodbav:"cut_sessions,omitempty"`
}

type catalogActionData struct {
	Name             string `dynamodbav:"name"`
	Description      string `dynamodbav:"description,omitempty"`
	PermissionSetARN string `dynamodbav:"permission_set_arn,omitempty"`
}

type resourceData struct {
	Type      string `dynamodbav:"type"`
	ID        string `dynamodbav:"id"`
	AccountID string `dynamodbav:"account_id,omitempty"`
	Region    string `dynamodbav:"region,omitempty"`
	DBUser    string `dynamodbav:"db_user,omitempty"`
}

type requestItem struct {
	keys
	requestData
}

// requestData is a request; the attributes status, requester and grantee
// are what filtered lists test.
type requestData struct {
	ID                string         `dynamodbav:"id"`
	TenantID          string         `dynamodbav:"tenant_id"`
	RequesterID       string         `dynamodbav:"requester"`
	RequesterKind     string         `dynamodbav:"requester_kind,omitempty"`
	GranteeID         string         `dynamodbav:"grantee"`
	RequesterUserID   string         `dynamodbav:"requester_user_id,omitempty"`
	GranteeUserID     string         `dynamodbav:"grantee_user_id,omitempty"`
	PermissionSetARN  string         `dynamodbav:"permission_set_arn,omitempty"`
	Resource          resourceData   `dynamodbav:"resource"`
	Action            string         `dynamodbav:"action,omitempty"`
	Justification     string         `dynamodbav:"justification,omitempty"`
	DurationSeconds   int64          `dynamodbav:"duration_seconds,omitempty"`
	BreakGlass        bool           `dynamodbav:"break_glass,omitempty"`
	Status            string         `dynamodbav:"status"`
	ApprovalMode      string         `dynamodbav:"approval_mode,omitempty"`
	ApprovalsRequired int            `dynamodbav:"approvals_required,omitempty"`
	Approvals         []approvalData `dynamodbav:"approvals,omitempty"`
	Reasoning         string         `dynamodbav:"reasoning,omitempty"`
	DecidedBy         string         `dynamodbav:"decided_by,omitempty"`
	DecidedAt         string         `dynamodbav:"decided_at,omitempty"`
	ApprovalExpiresAt string         `dynamodbav:"approval_expires_at,omitempty"`
	GrantID           string         `dynamodbav:"grant_id,omitempty"`
	ExtendsGrantID    string         `dynamodbav:"extends_grant_id,omitempty"`
	StartsAt          string         `dynamodbav:"starts_at,omitempty"`
	RemindAt          string         `dynamodbav:"remind_at,omitempty"`
	RemindedAt        string         `dynamodbav:"reminded_at,omitempty"`
	EscalateAt        string         `dynamodbav:"escalate_at,omitempty"`
	EscalateTo        string         `dynamodbav:"escalate_to,omitempty"`
	EscalatedAt       string         `dynamodbav:"escalated_at,omitempty"`
	EndSessions       string         `dynamodbav:"end_sessions,omitempty"`
	ForwardHistory    []forwardData  `dynamodbav:"forward_history,omitempty"`
	Conflicts         []conflictData `dynamodbav:"conflicts,omitempty"`
	Notices           []string       `dynamodbav:"notices,omitempty"`
	Metadata          string         `dynamodbav:"metadata,omitempty"`
	PolicyVersion     int            `dynamodbav:"policy_version,omitempty"`
	Context           *contextData   `dynamodbav:"decision_context,omitempty"`
	TaskToken         string         `dynamodbav:"task_token,omitempty"`
	Rev               int64          `dynamodbav:"rev"`
	CreatedAt         string         `dynamodbav:"created_at,omitempty"`
	UpdatedAt         string         `dynamodbav:"updated_at,omitempty"`
}

// contextData is a request's DecisionContext.
type contextData struct {
	Groups       []string          `dynamodbav:"groups,omitempty"`
	Ancestors    []string          `dynamodbav:"ancestors,omitempty"`
	TimeZone     string            `dynamodbav:"time_zone,omitempty"`
	Extension    *extensionData    `dynamodbav:"extension,omitempty"`
	ActiveGrants []activeGrantData `dynamodbav:"active_grants,omitempty"`
	Suspended    bool              `dynamodbav:"break_glass_suspended,omitempty"`
}

type activeGrantData struct {
	ID           string `dynamodbav:"id"`
	ResourceType string `dynamodbav:"resource_type"`
	ResourceID   string `dynamodbav:"resource_id"`
	AccountID    string `dynamodbav:"account_id,omitempty"`
	Action       string `dynamodbav:"action"`
}

type extensionData struct {
	RemainingSeconds        int64 `dynamodbav:"remaining_seconds"`
	Extensions              int64 `dynamodbav:"extensions"`
	OriginalDurationSeconds int64 `dynamodbav:"original_duration_seconds"`
}

func contextToData(c *access.DecisionContext) *contextData {
	if c == nil {
		return nil
	}
	d := &contextData{Groups: c.Groups, Ancestors: c.Ancestors, TimeZone: c.TimeZone, Suspended: c.BreakGlassSuspended}
	if e := c.Extension; e != nil {
		d.Extension = &extensionData{e.RemainingSeconds, e.Extensions, e.OriginalDurationSeconds}
	}
	for _, g := range c.ActiveGrants {
		d.ActiveGrants = append(d.ActiveGrants, activeGrantData(g))
	}
	return d
}

func contextFromData(d *contextData) *access.DecisionContext {
	if d == nil {
		return nil
	}
	c := &access.DecisionContext{Groups: d.Groups, Ancestors: d.Ancestors, TimeZone: d.TimeZone, BreakGlassSuspended: d.Suspended}
	if e := d.Extension; e != nil {
		c.Extension = &access.ExtensionContext{RemainingSeconds: e.RemainingSeconds, Extensions: e.Extensions, OriginalDurationSeconds: e.OriginalDurationSeconds}
	}
	for _, g := range d.ActiveGrants {
		c.ActiveGrants = append(c.ActiveGrants, access.ActiveGrantContext(g))
	}
	return c
}

type approvalData struct {
	ApproverID     string `dynamodbav:"approver_id"`
	ApproverUserID string `dynamodbav:"approver_user_id,omitempty"`
	Reasoning      string `dynamodbav:"reasoning,omitempty"`
	At             string `dynamodbav:"at,omitempty"`
}

type forwardData struct {
	From    string `dynamodbav:"from"`
	To      string `dynamodbav:"to"`
	By      string `dynamodbav:"by"`
	Comment string `dynamodbav:"comment,omitempty"`
	At      string `dynamodbav:"at,omitempty"`
}

type conflictData struct {
	PolicyID string   `dynamodbav:"policy_id"`
	Name     string   `dynamodbav:"name"`
	Enforce  string   `dynamodbav:"enforce,omitempty"`
	GrantIDs []string `dynamodbav:"grant_ids,omitempty"`
}

type grantItem struct {
	keys
	grantData
}

type grantData struct {
	ID              string           `dynamodbav:"id"`
	TenantID        string           `dynamodbav:"tenant_id"`
	RequestID       string           `dynamodbav:"request_id,omitempty"`
	GranteeID       string           `dynamodbav:"grantee"`
	GranteeUserID   string           `dynamodbav:"grantee_user_id,omitempty"`
	CreatedBy       string           `dynamodbav:"created_by,omitempty"`
	PermissionSet   string           `dynamodbav:"permission_set_arn,omitempty"`
	PolicyVersion   int              `dynamodbav:"policy_version,omitempty"`
	Resource        resourceData     `dynamodbav:"resource"`
	Action          string           `dynamodbav:"action,omitempty"`
	Status          string           `dynamodbav:"status"`
	DurationSeconds int64            `dynamodbav:"duration_seconds,omitempty"`
	StartsAt        string           `dynamodbav:"starts_at,omitempty"`
	ExpiresAt       string           `dynamodbav:"expires_at,omitempty"`
	GrantedAt       string           `dynamodbav:"granted_at,omitempty"`
	RevokedAt       string           `dynamodbav:"revoked_at,omitempty"`
	RevokedBy       string           `dynamodbav:"revoked_by,omitempty"`
	Reasoning       string           `dynamodbav:"reasoning,omitempty"`
	EndReason       string           `dynamodbav:"end_reason,omitempty"`
	EndingAt        string           `dynamodbav:"ending_at,omitempty"`
	Failure         string           `dynamodbav:"failure,omitempty"`
	Assignments     []assignmentData `dynamodbav:"assignments,omitempty"`
	Notices         []string         `dynamodbav:"notices,omitempty"`
	Metadata        string           `dynamodbav:"metadata,omitempty"`
	BreakGlass      bool             `dynamodbav:"break_glass,omitempty"`
	Generation      int64            `dynamodbav:"generation,omitempty"`
	Extensions      int              `dynamodbav:"extensions,omitempty"`
	PendingExt      string           `dynamodbav:"pending_extension,omitempty"`
	Review          *reviewData      `dynamodbav:"review,omitempty"`
	EndSessions     string           `dynamodbav:"end_sessions,omitempty"`
	Revocation      *revocationData  `dynamodbav:"revocation,omitempty"`
	Rev             int64            `dynamodbav:"rev"`
	CreatedAt       string           `dynamodbav:"created_at,omitempty"`
	UpdatedAt       string           `dynamodbav:"updated_at,omitempty"`
}

// reviewData is a break-glass grant's Review.
type reviewData struct {
	Status     string `dynamodbav:"status"`
	DueAt      string `dynamodbav:"due_at"`
	OverdueAt  string `dynamodbav:"overdue_at,omitempty"`
	ReviewerID string `dynamodbav:"reviewer_id,omitempty"`
	Reasoning  string `dynamodbav:"reasoning,omitempty"`
	ReviewedAt string `dynamodbav:"reviewed_at,omitempty"`
}

type assignmentData struct {
	InstanceARN      string `dynamodbav:"instance_arn"`
	PermissionSetARN string `dynamodbav:"permission_set_arn"`
	AccountID        string `dynamodbav:"account_id"`
	PrincipalID      string `dynamodbav:"principal_id"`
	State            string `dynamodbav:"state"`
	External         bool   `dynamodbav:"external,omitempty"`
	DeletedAt        string `dynamodbav:"deleted_at,omitempty"`
}

// revocationData is a grant's revocation receipt.
type revocationData struct {
	AssignmentDeletedAt string `dynamodbav:"assignment_deleted_at,omitempty"`
	VerifiedAbsentAt    string `dynamodbav:"verified_absent_at,omitempty"`
	SessionsCutUntil    string `dynamodbav:"sessions_cut_until,omitempty"`
	Method              string `dynamodbav:"method,omitempty"`
}

// cutSetItem is the deployment-wide session cuts of a permission set.
type cutSetItem struct {
	keys
	InstanceARN      string           `dynamodbav:"instance_arn"`
	PermissionSetARN string           `dynamodbav:"permission_set_arn"`
	Cuts             []sessionCutData `dynamodbav:"cuts,omitempty"`
	ApplyingSince    string           `dynamodbav:"applying_since,omitempty"`
	Rev              int64            `dynamodbav:"rev"`
	CreatedAt        string           `dynamodbav:"created_at,omitempty"`
	UpdatedAt        string           `dynamodbav:"updated_at,omitempty"`
}

type sessionCutData struct {
	Sid          string     `dynamodbav:"sid"`
	Holder       holderData `dynamodbav:"holder"`
	UserName     string     `dynamodbav:"user_name"`
	Accounts     []string   `dynamodbav:"accounts"`
	IssuedBefore string     `dynamodbav:"issued_before"`
	Until        string     `dynamodbav:"until"`
	State        string     `dynamodbav:"state"`
}

type apiKeyItem struct {
	keys
	apiKeyData
}

type apiKeyData struct {
	ID            string   `dynamodbav:"id"`
	TenantID      string   `dynamodbav:"tenant_id"`
	Name          string   `dynamodbav:"name,omitempty"`
	Role          string   `dynamodbav:"role,omitempty"`
	PrincipalID   string   `dynamodbav:"principal_id,omitempty"`
	PrincipalKind string   `dynamodbav:"principal_kind,omitempty"`
	Groups        []string `dynamodbav:"groups,omitempty"`
	SecretHash    []byte   `dynamodbav:"secret_hash,omitempty"`
	CreatedBy     string   `dynamodbav:"created_by,omitempty"`
	CreatedAt     string   `dynamodbav:"created_at,omitempty"`
	ExpiresAt     string   `dynamodbav:"expires_at,omitempty"`
	RevokedAt     string   `dynamodbav:"revoked_at,omitempty"`
	RevokedBy     string   `dynamodbav:"revoked_by,omitempty"`
	Rev           int64    `dynamodbav:"rev"`
}

type auditItem struct {
	keys
	ID         string `dynamodbav:"id"`
	TenantID   string `dynamodbav:"tenant_id"`
	At         string `dynamodbav:"at"`
	ActorID    string `dynamodbav:"actor_id,omitempty"`
	ActorKind  string `dynamodbav:"actor_kind,omitempty"`
	Action     string `dynamodbav:"action,omitempty"`
	Severity   string `dynamodbav:"severity,omitempty"`
	ObjectType string `dynamodbav:"object_type,omitempty"`
	ObjectID   string `dynamodbav:"object_id,omitempty"`
	Details    string `dynamodbav:"details,omitempty"`
	ExpiresAt  string `dynamodbav:"expires_at,omitempty"`
	// Outbox marks the item as an event to publish: the table's stream
	// hands the events-publish function only the items it marks
	// (OutboxAttribute is OutboxEvent).
	Outbox string `dynamodbav:"outbox"`
}

// The outbox marker: every audit item carries OutboxAttribute set to
// OutboxEvent, so that the stream's event source mapping can pass on the
// new audit items and nothing else (its filters match attribute values,
// not key suffixes).
const (
	OutboxAttribute = "outbox"
	OutboxEvent     = "event"
)

// AuditEventOf decodes the new image of an item the table's stream carries,
// which must be an audit item (its outbox attribute says so).
func AuditEventOf(image map[string]types.AttributeValue) (access.AuditEvent, error) {
	var it auditItem
	if err := unmarshal(image, &it); err != nil {
		return access.AuditEvent{}, err
	}
	if it.Outbox != OutboxEvent || !strings.HasSuffix(it.PK, "#AUDIT") {
		return access.AuditEvent{}, fmt.Errorf("dynamo: item %s/%s is not an audit event", it.PK, it.SK)
	}
	return auditFromItem(it)
}

type policyItem struct {
	keys
	TenantID  string `dynamodbav:"tenant_id"`
	Version   int    `dynamodbav:"version"`
	Text      string `dynamodbav:"text"`
	CreatedBy string `dynamodbav:"created_by,omitempty"`
	CreatedAt string `dynamodbav:"created_at,omitempty"`
}

type ledgerItem struct {
	keys
	InstanceARN      string       `dynamodbav:"instance_arn"`
	PrincipalID      string       `dynamodbav:"principal_id"`
	AccountID        string       `dynamodbav:"account_id"`
	PermissionSetARN string       `dynamodbav:"permission_set_arn"`
	State            string       `dynamodbav:"state"`
	External         bool         `dynamodbav:"external,omitempty"`
	Holders          []holderData `dynamodbav:"holders,omitempty"`
	Issuer           *holderData  `dynamodbav:"issuer,omitempty"`
	CreationIssuedAt string       `dynamodbav:"creation_issued_at,omitempty"`
	OperationID      string       `dynamodbav:"operation_id,omitempty"`
	Rev              int64        `dynamodbav:"rev"`
	CreatedAt        string       `dynamodbav:"created_at,omitempty"`
	UpdatedAt        string       `dynamodbav:"updated_at,omitempty"`
}

// touchedItem is a user Elevate assigned something to.
type touchedItem struct {
	keys
	InstanceARN string `dynamodbav:"instance_arn"`
	UserID      string `dynamodbav:"user_id"`
	ExpiresAt   string `dynamodbav:"expires_at"`
}

func touchedToItem(tp access.TouchedPrincipal) touchedItem {
	pk := touchedPK(tp.InstanceARN, tp.UserID)
	return touchedItem{
		keys:        keys{PK: pk, SK: skTouched, GSI1PK: touchedAll, GSK: sortKey(time.Unix(0, 0), pk), TTL: ttlOf(tp.ExpiresAt)},
		InstanceARN: tp.InstanceARN, UserID: tp.UserID, ExpiresAt: formatTime(tp.ExpiresAt),
	}
}

func touchedFromItem(it touchedItem) (access.TouchedPrincipal, error) {
	at, err := parseTime(it.ExpiresAt)
	return access.TouchedPrincipal{InstanceARN: it.InstanceARN, UserID: it.UserID, ExpiresAt: at}, err
}

// holderData is a (tenant, grant) pair that needs an assignment.
type holderData struct {
	TenantID string `dynamodbav:"tenant_id"`
	GrantID  string `dynamodbav:"grant_id"`
}

// attrExpiresAt is compared with the store's clock when an idempotency
// record is replaced.
const attrExpiresAt = "expires_at"

type idempotencyItem struct {
	keys
	TenantID    string      `dynamodbav:"tenant_id"`
	PrincipalID string      `dynamodbav:"principal_id"`
	Route       string      `dynamodbav:"route"`
	Key         string      `dynamodbav:"idempotency_key"`
	BodyHash    string      `dynamodbav:"body_hash,omitempty"`
	Outcome     outcomeData `dynamodbav:"outcome"`
	CreatedAt   string      `dynamodbav:"created_at,omitempty"`
	ExpiresAt   string      `dynamodbav:"expires_at,omitempty"`
}

type outcomeData struct {
	Request    *requestData    `dynamodbav:"request,omitempty"`
	Grant      *grantData      `dynamodbav:"grant,omitempty"`
	APIKey     *apiKeyData     `dynamodbav:"api_key,omitempty"`
	Suspension *suspensionData `dynamodbav:"suspension,omitempty"`
}

// issuerItem claims a JWT (issuer, audience) pair for a tenant.
type issuerItem struct {
	keys
	TenantID string `dynamodbav:"tenant_id"`
	Issuer   string `dynamodbav:"issuer"`
	Audience string `dynamodbav:"audience"`
}

// keyClaimItem claims an API key id for a tenant.
type keyClaimItem struct {
	keys
	TenantID string `dynamodbav:"tenant_id"`
}

// attrTenantID names the owner of a claim item.
const attrTenantID = "tenant_id"

// marshal turns an item struct into attributes.
func marshal(v any) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMap(v)
	if err != nil {
		return nil, fmt.Errorf("dynamo: marshal %T: %w", v, err)
	}
	return m, nil
}

// unmarshal reads attributes into an item struct.
func unmarshal(m map[string]types.AttributeValue, v any) error {
	if err := attributevalue.UnmarshalMap(m, v); err != nil {
		return fmt.Errorf("dynamo: unmarshal %T: %w", v, err)
	}
	return nil
}

// times parses several stored times at once, keeping the first error.
type times struct{ err error }

func (p *times) parse(s string) time.Time {
	t, err := parseTime(s)
	if err != nil && p.err == nil {
		p.err = err
	}
	return t
}

// encodeJSON writes metadata or audit details as JSON text; nil and empty
// maps are "" (an absent attribute).
func encodeJSON(m map[string]any) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("dynamo: metadata is not JSON: %w", err)
	}
	return string(b), nil
}

// decodeJSON reads JSON text back, numbers as json.Number so that none
// loses precision.
func decodeJSON(s string) (map[string]any, error) {
	if s == "" {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("dynamo: stored JSON: %w", err)
	}
	return m, nil
}

// Tenants.

func tenantToData(t access.Tenant) tenantData {
	s, b := t.Settings, t.Boundary
	d := tenantData{
		ID: t.ID, Name: t.Name, PolicyVersion: t.PolicyVersion, Rev: t.Revision,
		CreatedAt: formatTime(t.CreatedAt), UpdatedAt: formatTime(t.UpdatedAt),
		Settings: settingsData{
			JWTIssuer: s.JWT.Issuer, JWTAudience: s.JWT.Audience, JWKSURL: s.JWT.JWKSURL, GroupsClaim: s.JWT.GroupsClaim,
			ClientID: s.JWT.ClientID, AuthzEndpoint: s.JWT.AuthorizationEndpoint,
			TimeZone: s.TimeZone, ApprovalWindow: int64(s.ApprovalWindow), MaxDuration: int64(s.MaxDuration),
			AuditRetention: int64(s.AuditRetention), NarrowedRoots: s.AllowedRoots, DenyReasoningOptional: s.DenyReasoningOptional,
			MaxGrantLifetime: int64(s.MaxGrantLifetime), MaxStartAhead: int64(s.MaxStartAhead),
			ReminderPercent: s.ReminderPercent, RemindersOff: s.RemindersOff, EndSessions: string(s.EndSessions),
			BreakGlassReview: int64(s.BreakGlassReview), SuspendAfterOverdue: s.SuspendAfterOverdue, SuspendOverdueOff: s.SuspendOverdueOff,
		},
		Boundary: &boundaryData{
			InstanceARN: b.InstanceARN, IdentityStoreID: b.IdentityStoreID, IdentityMapping: string(b.IdentityMapping),
			AllowedRoots: b.AllowedRoots, Assignable: b.Assignable,
			MaxDuration: int64(b.MaxDuration), MinAuditRetention: int64(b.MinAuditRetention), MaxKeyLifetime: int64(b.MaxKeyLifetime),
			CutSessions: b.CutSessions,
		},
	}
	if len(s.GroupRoles) > 0 {
		d.Settings.GroupRoles = make(map[string]string, len(s.GroupRoles))
		for g, r := range s.GroupRoles {
			d.Settings.GroupRoles[g] = string(r)
		}
	}
	if len(t.Catalog) > 0 {
		d.Catalog = make(map[string][]catalogActionData, len(t.Catalog))
		for typ, actions := range t.Catalog {
			out := make([]catalogActionData, len(actions))
			for i, a := range actions {
				out[i] = catalogActionData(a)
			}
			d.Catalog[string(typ)] = out
		}
	}
	return d
}

// boundaryFromData reads a tenant's boundary, or makes one of the legacy
// settings of a tenant written before the boundary had its own attribute
// (with the default limits and no assignable permission sets, which the
// operator then adds: docs/deploy.md).
func boundaryFromData(b *boundaryData, s settingsData) access.Boundary {
	if b == nil {
		legacy := access.DefaultBoundary()
		legacy.InstanceARN, legacy.IdentityStoreID, legacy.AllowedRoots = s.LegacyInstanceARN, s.LegacyIdentityStoreID, s.LegacyAllowedRoots
		if s.LegacyIdentityMapping != "" {
			legacy.IdentityMapping = access.IdentityMapping(s.LegacyIdentityMapping)
		}
		return legacy
	}
	return access.Boundary{
		InstanceARN: b.InstanceARN, IdentityStoreID: b.IdentityStoreID, IdentityMapping: access.IdentityMapping(b.IdentityMapping),
		AllowedRoots: b.AllowedRoots, Assignable: b.Assignable,
		MaxDuration: time.Duration(b.MaxDuration), MinAuditRetention: time.Duration(b.MinAuditRetention),
		MaxKeyLifetime: cmp.Or(time.Duration(b.MaxKeyLifetime), access.DefaultMaxKeyLifetime),
		CutSessions:    b.CutSessions,
	}
}

func tenantFromData(d tenantData) (access.Tenant, error) {
	var p times
	s := d.Settings
	t := access.Tenant{
		ID: d.ID, Name: d.Name, PolicyVersion: d.PolicyVersion, Revision: d.Rev,
		CreatedAt: p.parse(d.CreatedAt), UpdatedAt: p.parse(d.UpdatedAt),
		Settings: access.Settings{
			JWT: access.JWTSettings{Issuer: s.JWTIssuer, Audience: s.JWTAudience, JWKSURL: s.JWKSURL, GroupsClaim: s.GroupsClaim,
				ClientID: s.ClientID, AuthorizationEndpoint: s.AuthzEndpoint},
			TimeZone: s.TimeZone, ApprovalWindow: time.Duration(s.ApprovalWindow), MaxDuration: time.Duration(s.MaxDuration),
			AuditRetention: time.Duration(s.AuditRetention), AllowedRoots: s.NarrowedRoots, DenyReasoningOptional: s.DenyReasoningOptional,
			MaxGrantLifetime: time.Duration(s.MaxGrantLifetime), MaxStartAhead: time.Duration(s.MaxStartAhead),
			ReminderPercent: s.ReminderPercent, RemindersOff: s.RemindersOff, EndSessions: access.EndSessions(s.EndSessions),
			BreakGlassReview: time.Duration(s.BreakGlassReview), SuspendAfterOverdue: s.SuspendAfterOverdue, SuspendOverdueOff: s.SuspendOverdueOff,
		},
		Boundary: boundaryFromData(d.Boundary, s),
	}
	if len(s.GroupRoles) > 0 {
		t.Settings.GroupRoles = make(map[string]access.Role, len(s.GroupRoles))
		for g, r := range s.GroupRoles {
			t.Settings.GroupRoles[g] = access.Role(r)
		}
	}
	if len(d.Catalog) > 0 {
		t.Catalog = make(access.Catalog, len(d.Catalog))
		for typ, actions := range d.Catalog {
			out := make([]access.CatalogAction, len(actions))
			for i, a := range actions {
				out[i] = access.CatalogAction(a)
			}
			t.Catalog[access.ResourceType(typ)] = out
		}
	}
	return t, p.err
}

func tenantToItem(t access.Tenant) tenantItem {
	return tenantItem{keys: keys{PK: tenantKey(t.ID), SK: skTenant, GSI1PK: tenantsAll, GSK: sortKey(t.CreatedAt, t.ID)}, tenantData: tenantToData(t)}
}

// Requests.

func resourceToData(r access.Resource) resourceData {
	return resourceData{Type: string(r.Type), ID: r.ID, AccountID: r.AccountID, Region: r.Region, DBUser: r.DBUser}
}

func resourceFromData(d resourceData) access.Resource {
	return access.Resource{Type: access.ResourceType(d.Type), ID: d.ID, AccountID: d.AccountID, Region: d.Region, DBUser: d.DBUser}
}

func requestToData(r access.Request) (requestData, error) {
	meta, err := encodeJSON(r.Metadata)
	if err != nil {
		return requestData{}, err
	}
	d := requestData{
		ID: r.ID, TenantID: r.TenantID, RequesterID: r.RequesterID, RequesterKind: string(r.RequesterKind), GranteeID: r.GranteeID,
		RequesterUserID: r.RequesterUserID, GranteeUserID: r.GranteeUserID, PermissionSetARN: r.PermissionSetARN,
		Resource: resourceToData(r.Resource), Action: r.Action, Justification: r.Justification,
		DurationSeconds: r.DurationSeconds, BreakGlass: r.BreakGlass, Status: string(r.Status),
		ApprovalMode: string(r.ApprovalMode), ApprovalsRequired: r.ApprovalsRequired,
		Reasoning: r.Reasoning, DecidedBy: r.DecidedBy, DecidedAt: formatTime(r.DecidedAt),
		ApprovalExpiresAt: formatTime(r.ApprovalExpiresAt), GrantID: r.GrantID, ExtendsGrantID: r.ExtendsGrantID, StartsAt: formatTime(r.StartsAt), Notices: r.Notices,
		RemindAt: formatTime(r.RemindAt), RemindedAt: formatTime(r.RemindedAt),
		EscalateAt: formatTime(r.EscalateAt), EscalateTo: r.EscalateTo, EscalatedAt: formatTime(r.EscalatedAt), EndSessions: r.EndSessions,
		Metadata: meta, PolicyVersion: r.PolicyVersion, Context: contextToData(r.Context), TaskToken: r.TaskToken, Rev: r.Revision,
		CreatedAt: formatTime(r.CreatedAt), UpdatedAt: formatTime(r.UpdatedAt),
	}
	for _, a := range r.Approvals {
		d.Approvals = append(d.Approvals, approvalData{ApproverID: a.ApproverID, ApproverUserID: a.ApproverUserID, Reasoning: a.Reasoning, At: formatTime(a.At)})
	}
	for _, f := range r.ForwardHistory {
		d.ForwardHistory = append(d.ForwardHistory, forwardData{From: f.From, To: f.To, By: f.By, Comment: f.Comment, At: formatTime(f.At)})
	}
	for _, c := range r.Conflicts {
		d.Conflicts = append(d.Conflicts, conflictData{PolicyID: c.PolicyID, Name: c.Name, Enforce: c.Enforce, GrantIDs: c.GrantIDs})
	}
	return d, nil
}

func requestFromData(d requestData) (access.Request, error) {
	var p times
	r := access.Request{
		ID: d.ID, TenantID: d.TenantID, RequesterID: d.RequesterID, RequesterKind: access.PrincipalKind(d.RequesterKind), GranteeID: d.GranteeID,
		RequesterUserID: d.RequesterUserID, GranteeUserID: d.GranteeUserID, PermissionSetARN: d.PermissionSetARN,
		Resource: resourceFromData(d.Resource), Action: d.Action, Justification: d.Justification,
		DurationSeconds: d.DurationSeconds, BreakGlass: d.BreakGlass, Status: access.RequestStatus(d.Status),
		ApprovalMode: access.ApprovalMode(d.ApprovalMode), ApprovalsRequired: d.ApprovalsRequired,
		Reasoning: d.Reasoning, DecidedBy: d.DecidedBy, DecidedAt: p.parse(d.DecidedAt),
		ApprovalExpiresAt: p.parse(d.ApprovalExpiresAt), GrantID: d.GrantID, ExtendsGrantID: d.ExtendsGrantID, StartsAt: p.parse(d.StartsAt), Notices: d.Notices,
		RemindAt: p.parse(d.RemindAt), RemindedAt: p.parse(d.RemindedAt),
		EscalateAt: p.parse(d.EscalateAt), EscalateTo: d.EscalateTo, EscalatedAt: p.parse(d.EscalatedAt), EndSessions: d.EndSessions,
		PolicyVersion: d.PolicyVersion, Context: contextFromData(d.Context), TaskToken: d.TaskToken, Revision: d.Rev,
		CreatedAt: p.parse(d.CreatedAt), UpdatedAt: p.parse(d.UpdatedAt),
	}
	for _, a := range d.Approvals {
		r.Approvals = append(r.Approvals, access.Approval{ApproverID: a.ApproverID, ApproverUserID: a.ApproverUserID, Reasoning: a.Reasoning, At: p.parse(a.At)})
	}
	for _, f := range d.ForwardHistory {
		r.ForwardHistory = append(r.ForwardHistory, access.Forward{From: f.From, To: f.To, By: f.By, Comment: f.Comment, At: p.parse(f.At)})
	}
	for _, c := range d.Conflicts {
		r.Conflicts = append(r.Conflicts, access.Conflict{PolicyID: c.PolicyID, Name: c.Name, Enforce: c.Enforce, GrantIDs: c.GrantIDs})
	}
	meta, err := decodeJSON(d.Metadata)
	r.Metadata = meta
	return r, errors.Join(p.err, err)
}

// requestToItems returns a request's item and, for a delegated request, the
// copy that lists it in its grantee's party index. The copy carries no other
// index attributes, so it appears in no other list.
func requestToItems(r access.Request) ([]requestItem, error) {
	d, err := requestToData(r)
	if err != nil {
		return nil, err
	}
	t, pos := r.TenantID, sortKey(r.CreatedAt, r.ID)
	main := requestItem{keys: keys{
		PK: requestPK(t, r.ID), SK: skRequest,
		GSI1PK: requestsAll(t), GSI2PK: requestsByStatus(t, r.Status),
		GSI3PK: requestsByRequester(t, r.RequesterID), GSI4PK: requestsByGrantee(t, r.GranteeID),
		GSI5PK: requestsByParty(t, r.RequesterID), GSK: pos,
		GSI8PK: requestsByStatus(t, r.Status), GSI8SK: sortKey(r.UpdatedAt, r.ID),
	}, requestData: d}
	if r.GranteeID == r.RequesterID { // the party index lists each spelling once
		return []requestItem{main}, nil
	}
	cp := requestItem{keys: keys{
		PK: requestPK(t, r.ID), SK: skPartyCopy + r.GranteeID,
		GSI5PK: requestsByParty(t, r.GranteeID), GSK: pos,
	}, requestData: d}
	return []requestItem{main, cp}, nil
}

// Grants.

func grantToData(g access.Grant) (grantData, error) {
	meta, err := encodeJSON(g.Metadata)
	if err != nil {
		return grantData{}, err
	}
	d := grantData{
		ID: g.ID, TenantID: g.TenantID, RequestID: g.RequestID, GranteeID: g.GranteeID, GranteeUserID: g.GranteeUserID, CreatedBy: g.CreatedBy,
		PermissionSet: g.PermissionSetARN, PolicyVersion: g.PolicyVersion,
		Resource: resourceToData(g.Resource), Action: g.Action, Status: string(g.Status),
		DurationSeconds: g.DurationSeconds, StartsAt: formatTime(g.StartsAt), ExpiresAt: formatTime(g.ExpiresAt), GrantedAt: formatTime(g.GrantedAt),
		RevokedAt: formatTime(g.RevokedAt), RevokedBy: g.RevokedBy, Reasoning: g.Reasoning,
		EndReason: string(g.EndReason), EndingAt: formatTime(g.EndingAt), Failure: g.Failure, Notices: g.Notices, Metadata: meta,
		BreakGlass: g.BreakGlass, Generation: g.Generation, Extensions: g.Extensions, PendingExt: g.PendingExtension, Rev: g.Revision,
		EndSessions: g.EndSessions,
		CreatedAt:   formatTime(g.CreatedAt), UpdatedAt: formatTime(g.UpdatedAt),
	}
	if rv := g.Review; rv != nil {
		d.Review = &reviewData{Status: string(rv.Status), DueAt: formatTime(rv.DueAt), OverdueAt: formatTime(rv.OverdueAt),
			ReviewerID: rv.ReviewerID, Reasoning: rv.Reasoning, ReviewedAt: formatTime(rv.ReviewedAt)}
	}
	for _, a := range g.Assignments {
		d.Assignments = append(d.Assignments, assignmentData{
			InstanceARN: a.InstanceARN, PermissionSetARN: a.PermissionSetARN, AccountID: a.AccountID,
			PrincipalID: a.PrincipalID, State: string(a.State), External: a.External, DeletedAt: formatTime(a.DeletedAt),
		})
	}
	if r := g.Revocation; r != nil {
		d.Revocation = &revocationData{
			AssignmentDeletedAt: formatTime(r.AssignmentDeletedAt), VerifiedAbsentAt: formatTime(r.VerifiedAbsentAt),
			SessionsCutUntil: formatTime(r.SessionsCutUntil), Method: string(r.Method),
		}
	}
	return d, nil
}

func grantFromData(d grantData) (access.Grant, error) {
	var p times
	g := access.Grant{
		ID: d.ID, TenantID: d.TenantID, RequestID: d.RequestID, GranteeID: d.GranteeID, GranteeUserID: d.GranteeUserID, CreatedBy: d.CreatedBy,
		PermissionSetARN: d.PermissionSet, PolicyVersion: d.PolicyVersion,
		Resource: resourceFromData(d.Resource), Action: d.Action, Status: access.GrantStatus(d.Status),
		DurationSeconds: d.DurationSeconds, StartsAt: p.parse(d.StartsAt), ExpiresAt: p.parse(d.ExpiresAt), GrantedAt: p.parse(d.GrantedAt),
		RevokedAt: p.parse(d.RevokedAt), RevokedBy: d.RevokedBy, Reasoning: d.Reasoning,
		EndReason: access.EndReason(d.EndReason), EndingAt: p.parse(d.EndingAt), Failure: d.Failure, Notices: d.Notices,
		BreakGlass: d.BreakGlass, Generation: d.Generation, Extensions: d.Extensions, PendingExtension: d.PendingExt, Revision: d.Rev,
		EndSessions: d.EndSessions,
		CreatedAt:   p.parse(d.CreatedAt), UpdatedAt: p.parse(d.UpdatedAt),
	}
	if rv := d.Review; rv != nil {
		g.Review = &access.Review{Status: access.ReviewStatus(rv.Status), DueAt: p.parse(rv.DueAt), OverdueAt: p.parse(rv.OverdueAt),
			ReviewerID: rv.ReviewerID, Reasoning: rv.Reasoning, ReviewedAt: p.parse(rv.ReviewedAt)}
	}
	for _, a := range d.Assignments {
		g.Assignments = append(g.Assignments, access.Assignment{
			InstanceARN: a.InstanceARN, PermissionSetARN: a.PermissionSetARN, AccountID: a.AccountID,
			PrincipalID: a.PrincipalID, State: access.AssignmentState(a.State), External: a.External, DeletedAt: p.parse(a.DeletedAt),
		})
	}
	if r := d.Revocation; r != nil {
		g.Revocation = &access.Revocation{
			AssignmentDeletedAt: p.parse(r.AssignmentDeletedAt), VerifiedAbsentAt: p.parse(r.VerifiedAbsentAt),
			SessionsCutUntil: p.parse(r.SessionsCutUntil), Method: access.CutMethod(r.Method),
		}
	}
	meta, err := decodeJSON(d.Metadata)
	g.Metadata = meta
	return g, errors.Join(p.err, err)
}

func grantToItem(g access.Grant) (grantItem, error) {
	d, err := grantToData(g)
	if err != nil {
		return grantItem{}, err
	}
	t := g.TenantID
	it := grantItem{keys: keys{
		PK: grantPK(t, g.ID), SK: skGrant,
		GSI1PK: grantsAll(t), GSI2PK: grantsByStatus(t, g.Status), GSI4PK: grantsByGrantee(t, g.GranteeID),
		GSK: sortKey(g.CreatedAt, g.ID),
	}, grantData: d}
	if g.Status == access.GrantActive {
		it.GSI7PK, it.GSI7SK = grantsExpiring(t), sortKey(g.ExpiresAt, g.ID)
	}
	if rv := g.Review; rv != nil && rv.Status == access.ReviewPending {
		it.GSI8PK, it.GSI8SK = reviewsPending(t, !rv.OverdueAt.IsZero()), sortKey(rv.DueAt, g.ID)
	}
	return it, nil
}

// Break-glass standings.

// suspensionItem is a user's break-glass standing, alone in its partition
// and listed in the tenant's GSI1 partition of standings by last change.
type suspensionItem struct {
	keys
	suspensionData
}

type suspensionData struct {
	TenantID      string `dynamodbav:"tenant_id"`
	StoreUserID   string `dynamodbav:"identity_store_user_id"`
	UserID        string `dynamodbav:"user_id"`
	Overdue       int    `dynamodbav:"overdue,omitempty"`
	Suspended     bool   `dynamodbav:"suspended,omitempty"`
	Reason        string `dynamodbav:"reason,omitempty"`
	GrantID       string `dynamodbav:"grant_id,omitempty"`
	SuspendedAt   string `dynamodbav:"suspended_at,omitempty"`
	SuspendedBy   string `dynamodbav:"suspended_by,omitempty"`
	LiftedAt      string `dynamodbav:"lifted_at,omitempty"`
	LiftedBy      string `dynamodbav:"lifted_by,omitempty"`
	LiftReasoning string `dynamodbav:"lift_reasoning,omitempty"`
	Rev           int64  `dynamodbav:"rev"`
	UpdatedAt     string `dynamodbav:"updated_at,omitempty"`
}

func suspensionToItem(sp access.Suspension) suspensionItem {
	t := sp.TenantID
	return suspensionItem{
		keys: keys{PK: suspensionPK(t, sp.IdentityStoreUserID), SK: skSuspension, GSI1PK: suspensionsAll(t), GSK: sortKey(sp.UpdatedAt, sp.IdentityStoreUserID)},
		suspensionData: suspensionData{TenantID: t, StoreUserID: sp.IdentityStoreUserID, UserID: sp.UserID, Overdue: sp.Overdue, Suspended: sp.Suspended, Reason: string(sp.Reason), GrantID: sp.GrantID,
			SuspendedAt: formatTime(sp.SuspendedAt), SuspendedBy: sp.SuspendedBy, LiftedAt: formatTime(sp.LiftedAt), LiftedBy: sp.LiftedBy,
			LiftReasoning: sp.LiftReasoning, Rev: sp.Revision, UpdatedAt: formatTime(sp.UpdatedAt)},
	}
}

func suspensionFromItem(it suspensionItem) (access.Suspension, error) {
	return suspensionFromData(it.suspensionData)
}

func suspensionFromData(it suspensionData) (access.Suspension, error) {
	var p times
	sp := access.Suspension{
		TenantID: it.TenantID, IdentityStoreUserID: it.StoreUserID, UserID: it.UserID, Overdue: it.Overdue, Suspended: it.Suspended, Reason: access.SuspensionReason(it.Reason),
		GrantID: it.GrantID, SuspendedAt: p.parse(it.SuspendedAt), SuspendedBy: it.SuspendedBy, LiftedAt: p.parse(it.LiftedAt),
		LiftedBy: it.LiftedBy, LiftReasoning: it.LiftReasoning, Revision: it.Rev, UpdatedAt: p.parse(it.UpdatedAt),
	}
	return sp, p.err
}

// API keys.

func apiKeyToData(k access.APIKey) apiKeyData {
	return apiKeyData{
		ID: k.ID, TenantID: k.TenantID, Name: k.Name, Role: string(k.Role), PrincipalID: k.PrincipalID,
		PrincipalKind: string(k.PrincipalKind), Groups: k.Groups, SecretHash: k.SecretHash, CreatedBy: k.CreatedBy,
		CreatedAt: formatTime(k.CreatedAt), ExpiresAt: formatTime(k.ExpiresAt), RevokedAt: formatTime(k.RevokedAt),
		RevokedBy: k.RevokedBy, Rev: k.Revision,
	}
}

func apiKeyFromData(d apiKeyData) (access.APIKey, error) {
	var p times
	k := access.APIKey{
		ID: d.ID, TenantID: d.TenantID, Name: d.Name, Role: access.Role(d.Role), PrincipalID: d.PrincipalID,
		PrincipalKind: access.PrincipalKind(d.PrincipalKind), Groups: d.Groups, SecretHash: d.SecretHash,
		CreatedBy: d.CreatedBy, CreatedAt: p.parse(d.CreatedAt), ExpiresAt: p.parse(d.ExpiresAt),
		RevokedAt: p.parse(d.RevokedAt), RevokedBy: d.RevokedBy, Revision: d.Rev,
	}
	return k, p.err
}

func apiKeyToItem(k access.APIKey) apiKeyItem {
	return apiKeyItem{keys: keys{
		PK: keyPK(k.TenantID, k.ID), SK: skKey, GSI1PK: keysAll(k.TenantID), GSI6PK: keyIDKey(k.ID),
		GSK: sortKey(k.CreatedAt, k.ID),
	}, apiKeyData: apiKeyToData(k)}
}

// Audit events.

func auditToItem(e access.AuditEvent) (auditItem, error) {
	details, err := encodeJSON(e.Details)
	if err != nil {
		return auditItem{}, err
	}
	return auditItem{
		keys: keys{PK: auditPK(e.TenantID), SK: sortKey(e.At, e.ID), TTL: ttlOf(e.ExpiresAt)},
		ID:   e.ID, TenantID: e.TenantID, At: formatTime(e.At), ActorID: e.ActorID, ActorKind: string(e.ActorKind),
		Action: e.Action, Severity: string(e.Severity), ObjectType: e.ObjectType, ObjectID: e.ObjectID,
		Details: details, ExpiresAt: formatTime(e.ExpiresAt), Outbox: OutboxEvent,
	}, nil
}

func auditFromItem(it auditItem) (access.AuditEvent, error) {
	var p times
	e := access.AuditEvent{
		ID: it.ID, TenantID: it.TenantID, At: p.parse(it.At), ActorID: it.ActorID, ActorKind: access.PrincipalKind(it.ActorKind),
		Action: it.Action, Severity: access.Severity(it.Severity), ObjectType: it.ObjectType, ObjectID: it.ObjectID,
		ExpiresAt: p.parse(it.ExpiresAt),
	}
	details, err := decodeJSON(it.Details)
	e.Details = details
	return e, errors.Join(p.err, err)
}

// ttlOf is the TTL attribute of an item that ends at t: DynamoDB deletes it
// some time after, and reads ignore it from t on. Zero keeps the item.
func ttlOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Add(time.Second - 1).Unix() // never before t
}

// Policy sets.

func policyToItem(p access.PolicySet) policyItem {
	return policyItem{
		keys:     keys{PK: policyPK(p.TenantID), SK: policySK(p.Version)},
		TenantID: p.TenantID, Version: p.Version, Text: p.Text, CreatedBy: p.CreatedBy, CreatedAt: formatTime(p.CreatedAt),
	}
}

func policyFromItem(it policyItem) (access.PolicySet, error) {
	at, err := parseTime(it.CreatedAt)
	return access.PolicySet{TenantID: it.TenantID, Version: it.Version, Text: it.Text, CreatedBy: it.CreatedBy, CreatedAt: at}, err
}

// Ledger entries.

func ledgerToItem(e access.LedgerEntry) ledgerItem {
	it := ledgerItem{
		keys: keys{PK: ledgerPK(e.Key), SK: skLedger,
			GSI1PK: ledgerAll, GSK: sortKey(e.CreatedAt, ledgerDigest(e.Key))},
		InstanceARN: e.Key.InstanceARN, PrincipalID: e.Key.PrincipalID, AccountID: e.Key.AccountID,
		PermissionSetARN: e.Key.PermissionSetARN, State: string(e.State), External: e.External,
		CreationIssuedAt: formatTime(e.CreationIssuedAt), OperationID: e.OperationID,
		Rev: e.Revision, CreatedAt: formatTime(e.CreatedAt), UpdatedAt: formatTime(e.UpdatedAt),
	}
	for _, h := range e.Holders {
		it.Holders = append(it.Holders, holderData(h))
	}
	if e.Issuer != (access.Holder{}) {
		it.Issuer = &holderData{e.Issuer.TenantID, e.Issuer.GrantID}
	}
	return it
}

func ledgerFromItem(it ledgerItem) (access.LedgerEntry, error) {
	var p times
	e := access.LedgerEntry{
		Key: access.AssignmentKey{
			InstanceARN: it.InstanceARN, PrincipalID: it.PrincipalID, AccountID: it.AccountID, PermissionSetARN: it.PermissionSetARN,
		},
		State: access.LedgerState(it.State), External: it.External, CreationIssuedAt: p.parse(it.CreationIssuedAt),
		OperationID: it.OperationID, Revision: it.Rev, CreatedAt: p.parse(it.CreatedAt), UpdatedAt: p.parse(it.UpdatedAt),
	}
	for _, h := range it.Holders {
		e.Holders = append(e.Holders, access.Holder(h))
	}
	if it.Issuer != nil {
		e.Issuer = access.Holder(*it.Issuer)
	}
	return e, p.err
}

// Idempotency records.

func idempotencyToItem(r access.IdempotencyRecord) (idempotencyItem, error) {
	it := idempotencyItem{
		keys:     keys{PK: idempotencyPK(r.Scope), SK: skIdem, TTL: ttlOf(r.ExpiresAt)},
		TenantID: r.Scope.TenantID, PrincipalID: r.Scope.PrincipalID, Route: r.Scope.Route, Key: r.Scope.Key,
		BodyHash: r.BodyHash, CreatedAt: formatTime(r.CreatedAt), ExpiresAt: formatTime(r.ExpiresAt),
	}
	o := r.Outcome
	if o.Request != nil {
		d, err := requestToData(*o.Request)
		if err != nil {
			return it, err
		}
		it.Outcome.Request = &d
	}
	if o.Grant != nil {
		d, err := grantToData(*o.Grant)
		if err != nil {
			return it, err
		}
		it.Outcome.Grant = &d
	}
	if o.APIKey != nil {
		d := apiKeyToData(*o.APIKey)
		it.Outcome.APIKey = &d
	}
	if o.Suspension != nil {
		d := suspensionToItem(*o.Suspension).suspensionData
		it.Outcome.Suspension = &d
	}
	return it, nil
}

func idempotencyFromItem(it idempotencyItem) (access.IdempotencyRecord, error) {
	var p times
	r := access.IdempotencyRecord{
		Scope:    access.IdempotencyScope{TenantID: it.TenantID, PrincipalID: it.PrincipalID, Route: it.Route, Key: it.Key},
		BodyHash: it.BodyHash, CreatedAt: p.parse(it.CreatedAt), ExpiresAt: p.parse(it.ExpiresAt),
	}
	var errs []error
	if d := it.Outcome.Request; d != nil {
		v, err := requestFromData(*d)
		r.Outcome.Request, errs = &v, append(errs, err)
	}
	if d := it.Outcome.Grant; d != nil {
		v, err := grantFromData(*d)
		r.Outcome.Grant, errs = &v, append(errs, err)
	}
	if d := it.Outcome.APIKey; d != nil {
		v, err := apiKeyFromData(*d)
		r.Outcome.APIKey, errs = &v, append(errs, err)
	}
	if d := it.Outcome.Suspension; d != nil {
		v, err := suspensionFromData(*d)
		r.Outcome.Suspension, errs = &v, append(errs, err)
	}
	return r, errors.Join(append(errs, p.err)...)
}

// Session cuts.

func cutSetToItem(c access.CutSet) cutSetItem {
	it := cutSetItem{
		keys:        keys{PK: cutSetPK(c.Key), SK: skCutSet, GSI1PK: cutSetsAll, GSK: sortKey(c.CreatedAt, cutSetDigest(c.Key))},
		InstanceARN: c.Key.InstanceARN, PermissionSetARN: c.Key.PermissionSetARN, ApplyingSince: formatTime(c.ApplyingSince),
		Rev: c.Revision, CreatedAt: formatTime(c.CreatedAt), UpdatedAt: formatTime(c.UpdatedAt),
	}
	for _, x := range c.Cuts {
		it.Cuts = append(it.Cuts, sessionCutData{
			Sid: x.Sid, Holder: holderData(x.Holder), UserName: x.UserName, Accounts: x.Accounts,
			IssuedBefore: formatTime(x.IssuedBefore), Until: formatTime(x.Until), State: string(x.State),
		})
	}
	return it
}

func cutSetFromItem(it cutSetItem) (access.CutSet, error) {
	var p times
	c := access.CutSet{
		Key:           access.CutSetKey{InstanceARN: it.InstanceARN, PermissionSetARN: it.PermissionSetARN},
		ApplyingSince: p.parse(it.ApplyingSince), Revision: it.Rev, CreatedAt: p.parse(it.CreatedAt), UpdatedAt: p.parse(it.UpdatedAt),
	}
	for _, x := range it.Cuts {
		c.Cuts = append(c.Cuts, access.SessionCut{
			Sid: x.Sid, Holder: access.Holder(x.Holder), UserName: x.UserName, Accounts: x.Accounts,
			IssuedBefore: p.parse(x.IssuedBefore), Until: p.parse(x.Until), State: access.CutState(x.State),
		})
	}
	return c, p.err
}
