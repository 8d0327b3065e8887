package access

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Tenant is a customer organization: the boundary its operator set, the
// settings its admins own, its action catalog and the version of its current
// policy set. It is read on every call, so it is kept in one record.
type Tenant struct {
	ID   string
	Name string
	// Boundary is the operator's: a tenant admin never widens it.
	Boundary      Boundary
	Settings      Settings
	Catalog       Catalog
	PolicyVersion int
	Revision      int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// AllowedRoots are the roots a tenant's grants may target: the admins'
// narrowing when they set one, else the operator's ceiling.
func (t Tenant) AllowedRoots() []string {
	if len(t.Settings.AllowedRoots) > 0 {
		return t.Settings.AllowedRoots
	}
	return t.Boundary.AllowedRoots
}

// IdentityMapping says which Identity Store attribute a grantee id is matched
// against when provisioning.
type IdentityMapping string

// The identity mappings, immutable ids first.
const (
	MapUserID     IdentityMapping = "user_id"
	MapExternalID IdentityMapping = "external_id"
	MapUserName   IdentityMapping = "user_name"
	MapEmail      IdentityMapping = "email"
)

// Valid reports whether m is a known identity mapping.
func (m IdentityMapping) Valid() bool {
	return slices.Contains([]IdentityMapping{MapUserID, MapExternalID, MapUserName, MapEmail}, m)
}

// JWTSettings configures bearer-token authentication for a tenant.
type JWTSettings struct {
	Issuer      string
	Audience    string
	JWKSURL     string
	GroupsClaim string
	// ClientID is the public OIDC client (no secret) the console signs in
	// with, by the authorization code flow with PKCE; empty means the
	// console offers only API keys for this tenant.
	ClientID string
	// AuthorizationEndpoint overrides the one the issuer's
	// .well-known/openid-configuration names (optional).
	AuthorizationEndpoint string
}

// Enabled reports whether JWT authentication is configured.
func (j JWTSettings) Enabled() bool { return j.Issuer != "" && j.Audience != "" && j.JWKSURL != "" }

// Boundary is what a tenant may touch in AWS, set by the operator (whoever
// holds the deployment's AWS credentials) and never widened by a tenant
// admin: one Identity Center instance and its identity store, how people are
// matched to its users, the roots (organization root, OUs or accounts) its
// grants may reach at most, the existing permission sets its catalog may
// use, and the limits its admins' settings stay within. Provisioning refuses
// anything outside it, whatever the policies or the catalog say.
type Boundary struct {
	InstanceARN     string
	IdentityStoreID string
	IdentityMapping IdentityMapping
	// AllowedRoots is the ceiling; a tenant admin may narrow it.
	AllowedRoots []string
	// Assignable lists the permission sets (not managed by Elevate) the
	// tenant's catalog may map actions to.
	Assignable []string
	// MaxDuration is the ceiling of the tenant's maximum duration.
	MaxDuration time.Duration
	// MinAuditRetention is the floor of the tenant's audit retention.
	MinAuditRetention time.Duration
	// MaxKeyLifetime is the longest an API key made for a user may live.
	MaxKeyLifetime time.Duration
	// CutSessions lets Elevate cut the open sessions of the Assignable sets
	// (adding a deny to their inline policy) when the tenant's end_sessions
	// setting is "all"; without it Elevate never changes them.
	CutSessions bool
}

// Configured reports whether the boundary lets the tenant reach anything.
func (b Boundary) Configured() bool { return b.InstanceARN != "" && len(b.AllowedRoots) > 0 }

// CanAssign reports whether the tenant may assign this (unmanaged) permission set.
func (b Boundary) CanAssign(permissionSetARN string) bool {
	return slices.Contains(b.Assignable, permissionSetARN)
}

// DefaultBoundary is the boundary of a tenant created without one: it
// reaches nothing until the operator sets instance and roots.
func DefaultBoundary() Boundary {
	return Boundary{IdentityMapping: MapUserName, MaxDuration: MaxMaxDuration, MinAuditRetention: DefaultAuditRetention,
		MaxKeyLifetime: DefaultMaxKeyLifetime}
}

// Settings are what a tenant's admins configure (PATCH /v1/tenant).
type Settings struct {
	JWT            JWTSettings
	GroupRoles     map[string]Role
	TimeZone       string
	ApprovalWindow time.Duration
	MaxDuration    time.Duration
	AuditRetention time.Duration
	// AllowedRoots narrows the boundary's roots; empty means all of them.
	AllowedRoots []string
	// DenyReasoningOptional lets approvers deny without a reason; by
	// default (false) a deny must say why.
	DenyReasoningOptional bool
	// MaxGrantLifetime bounds how long a grant may last in all, extensions
	// included, from when it became active; zero means
	// DefaultMaxGrantLifetime.
	MaxGrantLifetime time.Duration
	// MaxStartAhead bounds how far ahead a request's starts_at may be; zero
	// means DefaultMaxStartAhead.
	MaxStartAhead time.Duration
	// ReminderPercent is the point of the approval window, in percent, at
	// which the approvers of a pending request are reminded (1..99); zero
	// means DefaultReminderPercent. RemindersOff turns the reminder off
	// (approval_reminder_percent 0).
	ReminderPercent int
	RemindersOff    bool
	// EndSessions says which permission sets' open sessions are cut when a
	// grant ends ("" is EndSessionsManaged).
	EndSessions EndSessions
	// BreakGlassReview is how long after a break-glass grant is made its
	// review is due (break_glass_review_seconds); zero means
	// DefaultBreakGlassReview.
	BreakGlassReview time.Duration
	// SuspendAfterOverdue is how many overdue reviews since the last lift
	// suspend a user's break-glass (break_glass_suspend_after_overdue); zero
	// means DefaultSuspendAfterOverdue. SuspendOverdueOff (the setting 0)
	// never suspends for overdue reviews.
	SuspendAfterOverdue int
	SuspendOverdueOff   bool
}

// ReviewAfter is how long after a break-glass grant is made its review is
// due.
func (s Settings) ReviewAfter() time.Duration {
	if s.BreakGlassReview <= 0 {
		return DefaultBreakGlassReview
	}
	return s.BreakGlassReview
}

// SuspendAfter is how many overdue reviews suspend a user's break-glass; 0
// means never.
func (s Settings) SuspendAfter() int {
	switch {
	case s.SuspendOverdueOff:
		return 0
	case s.SuspendAfterOverdue <= 0:
		return DefaultSuspendAfterOverdue
	}
	return s.SuspendAfterOverdue
}

// ReminderAfter is how long after a request is made its approvers are
// reminded, for an approval window of window; zero when reminders are off.
func (s Settings) ReminderAfter(window time.Duration) time.Duration {
	if s.RemindersOff {
		return 0
	}
	return window * time.Duration(s.Reminder()) / 100
}

// Reminder is the reminder's point of the approval window in percent; 0
// when reminders are off.
func (s Settings) Reminder() int {
	switch {
	case s.RemindersOff:
		return 0
	case s.ReminderPercent <= 0:
		return DefaultReminderPercent
	}
	return s.ReminderPercent
}

// StartAhead is how far ahead a request may schedule its start.
func (s Settings) StartAhead() time.Duration {
	if s.MaxStartAhead <= 0 {
		return DefaultMaxStartAhead
	}
	return s.MaxStartAhead
}

// GrantLifetime is the longest a grant may last, extensions included.
func (s Settings) GrantLifetime() time.Duration {
	if s.MaxGrantLifetime <= 0 {
		return DefaultMaxGrantLifetime
	}
	return s.MaxGrantLifetime
}

// Defaults for new tenants.
const (
	DefaultApprovalWindow = 24 * time.Hour
	DefaultMaxDuration    = 24 * time.Hour
	// DefaultMaxGrantLifetime and MaxMaxGrantLifetime bound a grant's whole
	// life, extensions included (max_grant_lifetime_seconds).
	DefaultMaxGrantLifetime = 24 * time.Hour
	MaxMaxGrantLifetime     = 14 * 24 * time.Hour
	// DefaultMaxStartAhead and MaxMaxStartAhead bound how far ahead a
	// request's starts_at may be (max_start_ahead_seconds).
	DefaultMaxStartAhead = 14 * 24 * time.Hour
	MaxMaxStartAhead     = 14 * 24 * time.Hour
	// DefaultReminderPercent reminds approvers half-way through the
	// approval window (approval_reminder_percent).
	DefaultReminderPercent = 50
	// DefaultBreakGlassReview and the bounds of break_glass_review_seconds:
	// how long after a break-glass grant is made its review is due.
	DefaultBreakGlassReview = 24 * time.Hour
	MinBreakGlassReview     = 5 * time.Minute
	MaxBreakGlassReview     = 30 * 24 * time.Hour
	// DefaultSuspendAfterOverdue and MaxSuspendAfterOverdue bound
	// break_glass_suspend_after_overdue.
	DefaultSuspendAfterOverdue = 3
	MaxSuspendAfterOverdue     = 100
	DefaultAuditRetention      = 365 * 24 * time.Hour
	DefaultGroupsClaim         = "groups"
	MaxApprovalWindow          = 7 * 24 * time.Hour
	MaxMaxDuration             = 7 * 24 * time.Hour
	MinAuditRetention          = 24 * time.Hour
	// DefaultKeyLifetime is how long an API key made for a user lives when
	// its maker gives no expiry; DefaultMaxKeyLifetime the operator's default
	// maximum, and MaxMaxKeyLifetime the most an operator may allow.
	DefaultKeyLifetime    = 90 * 24 * time.Hour
	DefaultMaxKeyLifetime = 365 * 24 * time.Hour
	MaxMaxKeyLifetime     = 5 * 365 * 24 * time.Hour
	MaxAuditRetention     = 10 * 365 * 24 * time.Hour
)

// DefaultSettings are the settings of a tenant created without any.
func DefaultSettings() Settings {
	return Settings{
		JWT:            JWTSettings{GroupsClaim: DefaultGroupsClaim},
		TimeZone:       "UTC",
		ApprovalWindow: DefaultApprovalWindow,
		MaxDuration:    DefaultMaxDuration,
		AuditRetention: DefaultAuditRetention,
	}
}

// Location returns the tenant's time zone, UTC when unset or unknown.
func (s Settings) Location() *time.Location {
	if loc, err := time.LoadLocation(s.TimeZone); err == nil && s.TimeZone != "" {
		return loc
	}
	return time.UTC
}

var (
	instanceARNPattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws(-[a-z]+)*:sso:::instance/(sso)?ins-[a-zA-Z0-9.-]{16}$`)
	})
	identityStorePattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^d-[0-9a-f]{10}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	})
	orgRootPattern   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^r-[0-9a-z]{4,32}$`) })
	groupNamePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^\x00-\x1f]{1,256}$`) })
)

// ValidInstanceARN reports whether s is an Identity Center instance ARN.
func ValidInstanceARN(s string) bool { return instanceARNPattern().MatchString(s) }

// Validate checks the settings, recording problems under their wire names.
func (s Settings) Validate(v Violations) {
	if s.JWT != (JWTSettings{GroupsClaim: s.JWT.GroupsClaim}) {
		if s.JWT.Issuer == "" {
			v.Add("jwt.issuer", "is required when JWT authentication is configured")
		}
		if s.JWT.Audience == "" {
			v.Add("jwt.audience", "is required when JWT authentication is configured")
		}
		if s.JWT.JWKSURL == "" {
			v.Add("jwt.jwks_url", "is required when JWT authentication is configured")
		}
	}
	if s.JWT.Issuer != "" && len(s.JWT.Issuer) > 512 {
		v.Add("jwt.issuer", "must be at most 512 characters")
	}
	if len(s.JWT.Audience) > 512 {
		v.Add("jwt.audience", "must be at most 512 characters")
	}
	if s.JWT.JWKSURL != "" {
		u, err := url.Parse(s.JWT.JWKSURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(s.JWT.JWKSURL) > 2048 {
			v.Add("jwt.jwks_url", "must be an https URL")
		}
	}
	if c := s.JWT.ClientID; len(c) > 256 || strings.ContainsFunc(c, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		v.Add("jwt.client_id", "must be at most 256 characters without spaces or control characters")
	}
	if e := s.JWT.AuthorizationEndpoint; e != "" {
		u, err := url.Parse(e)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || len(e) > 2048 {
			v.Add("jwt.authorization_endpoint", "must be an https URL without user info or fragment")
		}
		if s.JWT.ClientID == "" {
			v.Add("jwt.client_id", "is required when an authorization endpoint is set")
		}
	}
	if c := s.JWT.GroupsClaim; c == "" || len(c) > 128 || strings.ContainsAny(c, " \t\n") {
		v.Add("jwt.groups_claim", "must be a claim name of 1 to 128 characters without spaces")
	}
	if len(s.GroupRoles) > 100 {
		v.Add("group_roles", "must map at most 100 groups")
	}
	for g, r := range s.GroupRoles {
		if !groupNamePattern().MatchString(g) {
			v.Add("group_roles", "group names must be 1 to 256 printable characters")
		}
		if !r.Valid() {
			v.Add("group_roles."+g, "must be admin, approver or requester")
		}
	}
	validateRoots(v, "identity_center.allowed_roots", s.AllowedRoots)
	if !s.EndSessions.Valid() {
		v.Add("end_sessions", "must be managed, all or off")
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "" || s.TimeZone == "Local" {
		v.Add("time_zone", "must be an IANA time zone name such as Europe/Berlin")
	}
	if s.ApprovalWindow < time.Minute || s.ApprovalWindow > MaxApprovalWindow {
		v.Add("default_approval_window_seconds", "must be between 60 and %d", int(MaxApprovalWindow/time.Second))
	}
	if s.MaxDuration < time.Minute || s.MaxDuration > MaxMaxDuration {
		v.Add("max_duration_seconds", "must be between 60 and %d", int(MaxMaxDuration/time.Second))
	}
	if s.MaxGrantLifetime != 0 && (s.MaxGrantLifetime < time.Minute || s.MaxGrantLifetime > MaxMaxGrantLifetime) {
		v.Add("max_grant_lifetime_seconds", "must be between 60 and %d", int(MaxMaxGrantLifetime/time.Second))
	}
	if s.ReminderPercent < 0 || s.ReminderPercent > 99 {
		v.Add("approval_reminder_percent", "must be between 0 (no reminder) and 99")
	}
	if s.BreakGlassReview != 0 && (s.BreakGlassReview < MinBreakGlassReview || s.BreakGlassReview > MaxBreakGlassReview) {
		v.Add("break_glass_review_seconds", "must be between %d and %d", int(MinBreakGlassReview/time.Second), int(MaxBreakGlassReview/time.Second))
	}
	if s.SuspendAfterOverdue < 0 || s.SuspendAfterOverdue > MaxSuspendAfterOverdue {
		v.Add("break_glass_suspend_after_overdue", "must be between 0 (never) and %d", MaxSuspendAfterOverdue)
	}
	if s.MaxStartAhead != 0 && (s.MaxStartAhead < time.Minute || s.MaxStartAhead > MaxMaxStartAhead) {
		v.Add("max_start_ahead_seconds", "must be between 60 and %d", int(MaxMaxStartAhead/time.Second))
	}
	if s.AuditRetention < MinAuditRetention || s.AuditRetention > MaxAuditRetention {
		v.Add("audit_retention_days", "must be between 1 and 3650 days")
	}
}

// validateRoots checks a list of allowed roots.
func validateRoots(v Violations, field string, roots []string) {
	if len(roots) > 100 {
		v.Add(field, "must list at most 100 roots")
	}
	for _, r := range roots {
		if !ValidAccountID(r) && !ValidOUID(r) && !orgRootPattern().MatchString(r) {
			v.Add(field, "each root must be an organization root (r-…), an OU id or a 12-digit account id; %q is not", r)
		}
	}
}

// Validate checks a boundary, recording problems under the names the CLI
// and the API show it with.
func (b Boundary) Validate(v Violations) {
	if b.InstanceARN != "" && !ValidInstanceARN(b.InstanceARN) {
		v.Add("identity_center.instance_arn", "must be an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-…)")
	}
	if b.IdentityStoreID != "" && !identityStorePattern().MatchString(b.IdentityStoreID) {
		v.Add("identity_center.identity_store_id", "must be an identity store id (d-xxxxxxxxxx)")
	}
	if !b.IdentityMapping.Valid() {
		v.Add("identity_mapping", "must be user_id, external_id, user_name or email")
	}
	validateRoots(v, "identity_center.allowed_roots_ceiling", b.AllowedRoots)
	if len(b.Assignable) > 500 {
		v.Add("identity_center.assignable_permission_sets", "must list at most 500 permission sets")
	}
	for _, ps := range b.Assignable {
		switch {
		case !ValidPermissionSetARN(ps):
			v.Add("identity_center.assignable_permission_sets", "%q is not a permission set ARN", ps)
		case !ValidInstanceARN(b.InstanceARN):
			// the instance itself is reported
		case !strings.Contains(ps, ":permissionSet/"+b.InstanceARN[strings.LastIndex(b.InstanceARN, "/")+1:]+"/"):
			v.Add("identity_center.assignable_permission_sets", "%q is not a permission set of the tenant's instance", ps)
		}
	}
	if b.MaxDuration < time.Minute || b.MaxDuration > MaxMaxDuration {
		v.Add("max_duration_ceiling_seconds", "must be between 60 and %d", int(MaxMaxDuration/time.Second))
	}
	if b.MinAuditRetention < MinAuditRetention || b.MinAuditRetention > MaxAuditRetention {
		v.Add("audit_retention_floor_days", "must be between 1 and 3650 days")
	}
	if b.MaxKeyLifetime < 24*time.Hour || b.MaxKeyLifetime > MaxMaxKeyLifetime {
		v.Add("api_key_max_lifetime_days", "must be between 1 and %d days", int(MaxMaxKeyLifetime/(24*time.Hour)))
	}
}

// ValidTenantID reports whether s is a tenant id (a UUID).
func ValidTenantID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// CanonicalTenantID returns a tenant id in its canonical lowercase form.
func CanonicalTenantID(s string) string { return strings.ToLower(s) }

// ValidateTenantName checks a tenant's display name.
func ValidateTenantName(name string, v Violations) {
	if n := len([]rune(strings.TrimSpace(name))); n == 0 || n > 128 {
		v.Add("name", "must be 1 to 128 characters")
	}
}
