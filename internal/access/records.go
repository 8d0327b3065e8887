package access

import (
	"fmt"
	"strings"
	"time"
)

// APIKey is a stored API key. Only a hash of its secret is kept; the secret
// is shown once, when the key is created.
type APIKey struct {
	ID            string
	TenantID      string
	Name          string
	Role          Role
	PrincipalID   string
	PrincipalKind PrincipalKind
	Groups        []string
	SecretHash    []byte
	CreatedBy     string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	RevokedAt     time.Time
	RevokedBy     string
	Revision      int64
}

// ForCreator reports whether the key acts for the user who made it (rather
// than for a service principal).
func (k APIKey) ForCreator() bool {
	return k.PrincipalKind == PrincipalUser && k.PrincipalID == k.CreatedBy
}

// ActsAs says, for people, exactly what the key acts as: its principal, role
// and groups are fixed when it is made and do not follow later changes.
func (k APIKey) ActsAs() string {
	who := "service principal " + k.PrincipalID
	if k.PrincipalKind == PrincipalUser {
		who = "user " + k.PrincipalID
		if k.ForCreator() {
			who = "you (user " + k.PrincipalID + ")"
		}
	}
	groups := "no groups"
	if len(k.Groups) > 0 {
		groups = "groups " + strings.Join(k.Groups, ", ")
	}
	return fmt.Sprintf("%s with role %s and %s, fixed when the key was made: later changes to that role or those groups do not reach it", who, k.Role, groups)
}

// Usable reports whether the key may authenticate a call at now.
func (k APIKey) Usable(now time.Time) bool {
	return k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt))
}

// Severity ranks audit events; break-glass use and direct grants are high.
type Severity string

// The audit severities.
const (
	SeverityInfo Severity = "info"
	SeverityHigh Severity = "high"
)

// AuditEvent is one entry of a tenant's append-only trail. Every state change
// writes one in the same atomic commit as the change itself.
type AuditEvent struct {
	ID         string
	TenantID   string
	At         time.Time
	ActorID    string
	ActorKind  PrincipalKind
	Action     string
	Severity   Severity
	ObjectType string
	ObjectID   string
	Details    map[string]any
	// ExpiresAt is when retention ends; stores ignore the event after it.
	ExpiresAt time.Time
}

// IdempotencyScope identifies one Idempotency-Key: it is scoped to the
// tenant, the calling principal and the route.
type IdempotencyScope struct {
	TenantID    string
	PrincipalID string
	Route       string
	Key         string
}

// IdempotencyRecord remembers the outcome of the first call with a key, so a
// replay returns the same response. It is written in the same commit as the
// state change it records, so a call either happened with its record or not
// at all.
type IdempotencyRecord struct {
	Scope     IdempotencyScope
	BodyHash  string
	Outcome   Outcome
	CreatedAt time.Time
	ExpiresAt time.Time
}

// IdempotencyTTL is how long an idempotency record is kept.
const IdempotencyTTL = 24 * time.Hour

// Outcome is the result of a state-changing call: exactly one of its fields
// is set. An API key outcome never holds the key's secret.
type Outcome struct {
	Request *Request
	Grant   *Grant
	APIKey  *APIKey
	// Suspension is the outcome of lifting a break-glass suspension.
	Suspension *Suspension
}

// PolicySet is one version of a tenant's Cedar policy set.
type PolicySet struct {
	TenantID  string
	Version   int
	Text      string
	CreatedBy string
	CreatedAt time.Time
}
