package access

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Tenant is a customer organization with its settings, action catalog and
// the version of its current policy set. It is read on every call, so it is
// kept in one record.
type Tenant struct {
	ID            string
	Name          string
	Settings      Settings
	Catalog       Catalog
	PolicyVersion int
	Revision      int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// IdentityMapping says which Identity Store attribute a grantee id is matched
// against when provisioning.
type IdentityMapping string

// The identity mappings of DESIGN §3, immutable ids first.
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
}

// Enabled reports whether JWT authentication is configured.
func (j JWTSettings) Enabled() bool { return j.Issuer != "" && j.Audience != "" && j.JWKSURL != "" }

// Boundary is what a tenant may touch in AWS: one Identity Center instance,
// its identity store, and allow-listed roots (organization roots, OUs or
// accounts). Provisioning refuses anything outside it.
type Boundary struct {
	InstanceARN     string
	IdentityStoreID string
	AllowedRoots    []string
}

// Settings are a tenant's configuration (DESIGN §4, PATCH /v1/tenant).
type Settings struct {
	JWT             JWTSettings
	GroupRoles      map[string]Role
	IdentityMapping IdentityMapping
	Boundary        Boundary
	TimeZone        string
	ApprovalWindow  time.Duration
	MaxDuration     time.Duration
	AuditRetention  time.Duration
	// Organization is the tenant's OU tree for local mode: each account id maps
	// to its OU ancestors, outermost first. On AWS it comes from Organizations.
	Organization map[string][]string
}

// Defaults for new tenants.
const (
	DefaultApprovalWindow = 24 * time.Hour
	DefaultMaxDuration    = 24 * time.Hour
	DefaultAuditRetention = 365 * 24 * time.Hour
	DefaultGroupsClaim    = "groups"
	MaxApprovalWindow     = 7 * 24 * time.Hour
	MaxMaxDuration        = 7 * 24 * time.Hour
	MinAuditRetention     = 24 * time.Hour
	MaxAuditRetention     = 10 * 365 * 24 * time.Hour
)

// DefaultSettings are the settings of a tenant created without any.
func DefaultSettings() Settings {
	return Settings{
		JWT:             JWTSettings{GroupsClaim: DefaultGroupsClaim},
		IdentityMapping: MapUserName,
		TimeZone:        "UTC",
		ApprovalWindow:  DefaultApprovalWindow,
		MaxDuration:     DefaultMaxDuration,
		AuditRetention:  DefaultAuditRetention,
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
	instanceARNPattern   = regexp.MustCompile(`^arn:aws(-[a-z]+)*:sso:::instance/(sso)?ins-[a-zA-Z0-9.-]{16}$`)
	identityStorePattern = regexp.MustCompile(`^d-[0-9a-f]{10}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	orgRootPattern       = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	groupNamePattern     = regexp.MustCompile(`^[^\x00-\x1f]{1,256}$`)
)

// ValidInstanceARN reports whether s is an Identity Center instance ARN.
func ValidInstanceARN(s string) bool { return instanceARNPattern.MatchString(s) }

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
	if c := s.JWT.GroupsClaim; c == "" || len(c) > 128 || strings.ContainsAny(c, " \t\n") {
		v.Add("jwt.groups_claim", "must be a claim name of 1 to 128 characters without spaces")
	}
	if len(s.GroupRoles) > 100 {
		v.Add("group_roles", "must map at most 100 groups")
	}
	for g, r := range s.GroupRoles {
		if !groupNamePattern.MatchString(g) {
			v.Add("group_roles", "group names must be 1 to 256 printable characters")
		}
		if !r.Valid() {
			v.Add("group_roles."+g, "must be admin, approver or requester")
		}
	}
	if !s.IdentityMapping.Valid() {
		v.Add("identity_mapping", "must be user_id, external_id, user_name or email")
	}
	b := s.Boundary
	if b.InstanceARN != "" && !ValidInstanceARN(b.InstanceARN) {
		v.Add("identity_center.instance_arn", "must be an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-…)")
	}
	if b.IdentityStoreID != "" && !identityStorePattern.MatchString(b.IdentityStoreID) {
		v.Add("identity_center.identity_store_id", "must be an identity store id (d-xxxxxxxxxx)")
	}
	if len(b.AllowedRoots) > 100 {
		v.Add("identity_center.allowed_roots", "must list at most 100 roots")
	}
	for _, r := range b.AllowedRoots {
		if !ValidAccountID(r) && !ValidOUID(r) && !orgRootPattern.MatchString(r) {
			v.Add("identity_center.allowed_roots", "each root must be an organization root (r-…), an OU id or a 12-digit account id; %q is not", r)
		}
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
	if s.AuditRetention < MinAuditRetention || s.AuditRetention > MaxAuditRetention {
		v.Add("audit_retention_days", "must be between 1 and 3650 days")
	}
	if len(s.Organization) > 10000 {
		v.Add("organization", "must list at most 10000 accounts")
	}
	for acct, path := range s.Organization {
		if !ValidAccountID(acct) {
			v.Add("organization", "keys must be 12-digit account ids; %q is not", acct)
		}
		if len(path) > 6 {
			v.Add("organization."+acct, "an OU path has at most 5 OUs below the root")
		}
		for _, ou := range path {
			if !ValidOUID(ou) && !orgRootPattern.MatchString(ou) {
				v.Add("organization."+acct, "must list organization root and OU ids; %q is not", ou)
			}
		}
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
