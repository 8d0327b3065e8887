package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// KeyMinter makes a new API key: its id, the full secret text shown once to
// the caller, and the hash to store.
type KeyMinter func() (id, full string, hash []byte, err error)

// Config wires the domain to its adapters.
type Config struct {
	Store Store
	// Ledger reads the assignment ledger; nil means Store, which must then
	// implement LedgerStore.
	Ledger         LedgerStore
	Workflow       Workflow
	Scheduler      Scheduler
	IdentityCenter IdentityCenter
	// Publisher receives each commit's audit events; optional.
	Publisher Publisher
	// DB resolves RDS instances for managed connect permission sets; optional.
	DB DBResolver
	// MintKey makes API keys; required to create keys.
	MintKey KeyMinter
	// ProtectedAccounts no grant may target, whatever the policies say.
	ProtectedAccounts []string
	// MaxOUAccounts caps how many accounts an OU grant expands to (default 100).
	MaxOUAccounts int
	// Report receives failures of work that follows a successful commit (a
	// workflow that did not start, an event not published). The sweeper
	// finishes such work; Report makes it visible. Optional.
	Report func(ctx context.Context, p Problem)
	Now    func() time.Time
	NewID  func() string
	// Observe is told of every grant whose move to active, expired, revoked
	// or failed was committed, with the grant as stored; the functions turn
	// it into on-call metrics. Optional.
	Observe func(ctx context.Context, g Grant)
	// PolicyCacheSize bounds the parsed policy sets kept in memory (default 1024).
	PolicyCacheSize int
	// JWKSHosts, when set, is the operator's allow-list of identity provider
	// hosts a tenant's JWKS URL may name.
	JWKSHosts []string
	// AllowPrivateJWKS lets a JWKS URL name loopback and private hosts (local
	// development against a local IdP); otherwise only public hosts.
	AllowPrivateJWKS bool
	// SweepQueue, when set, receives the tenants a sweep hands to the
	// per-tenant sweep instead of sweeping them itself.
	SweepQueue SweepQueue
	// SweepAuditUsers caps how many users one sweep audits in Identity
	// Center (DefaultSweepAuditUsers when zero); the next sweep goes on.
	SweepAuditUsers int
}

// The domain serves three audiences, and each has its own type so the types
// say who may call what:
//
//   - Service: callers of the API (requesters, approvers, admins), each call
//     on behalf of an authenticated Principal;
//   - Steps: the workflow (Step Functions tasks, expiry schedules, the local
//     workflow), which advances requests and grants it is handed by id;
//   - Operator: whoever holds the deployment's AWS credentials (the CLI, the
//     local server's seeding, the sweeper): tenants, their boundary, bootstrap
//     keys, and sweeping.
//
// All three share one core; build each with its New function from the same
// Config. They are safe for concurrent use.
type (
	Service  struct{ *core }
	Steps    struct{ *core }
	Operator struct{ *core }
)

// NewService builds the API callers' use cases.
func NewService(c Config) *Service { return &Service{newCore(c)} }

// NewSteps builds the workflow's steps.
func NewSteps(c Config) *Steps { return &Steps{newCore(c)} }

// NewOperator builds the operator's use cases.
func NewOperator(c Config) *Operator { return &Operator{newCore(c)} }

// core holds the adapters and helpers every audience's use cases share.
type core struct {
	store     Store
	ledger    LedgerStore
	workflow  Workflow
	scheduler Scheduler
	ic        IdentityCenter
	db        DBResolver
	publisher Publisher
	mintKey   KeyMinter
	protected map[string]bool
	maxOU     int
	report    func(ctx context.Context, p Problem)
	observe   func(ctx context.Context, g Grant)
	now       func() time.Time
	newID     func() string
	policies  *policyCache
	jwksHosts []string
	anyJWKS   bool

	sweepQueue SweepQueue
	auditUsers int
}

func newCore(c Config) *core {
	s := &core{
		store: c.Store, workflow: c.Workflow, scheduler: c.Scheduler, ic: c.IdentityCenter, db: c.DB,
		publisher: c.Publisher, mintKey: c.MintKey, maxOU: c.MaxOUAccounts, report: c.Report, observe: c.Observe,
		now: c.Now, newID: c.NewID, protected: map[string]bool{}, jwksHosts: c.JWKSHosts, anyJWKS: c.AllowPrivateJWKS,
		sweepQueue: c.SweepQueue, auditUsers: c.SweepAuditUsers,
	}
	if s.auditUsers <= 0 {
		s.auditUsers = DefaultSweepAuditUsers
	}
	for _, a := range c.ProtectedAccounts {
		s.protected[a] = true
	}
	if s.ledger = c.Ledger; s.ledger == nil {
		s.ledger, _ = c.Store.(LedgerStore)
	}
	if s.maxOU <= 0 {
		s.maxOU = 100
	}
	if s.report == nil {
		s.report = func(context.Context, Problem) {}
	}
	if s.observe == nil {
		s.observe = func(context.Context, Grant) {}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = NewID
	}
	s.policies = newPolicyCache(c.PolicyCacheSize)
	return s
}

// NewID returns a new time-ordered UUID (version 7).
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// clock returns the current time, truncated to microseconds so that stored
// and returned times compare equal across stores and wire formats.
func (s *core) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// commit writes a change and, once it has landed, publishes its audit events.
func (s *core) commit(ctx context.Context, c Change) error {
	if err := s.store.Commit(ctx, c); err != nil {
		return err
	}
	if s.publisher != nil && len(c.Audit) > 0 {
		if err := s.publisher.Publish(ctx, c.Audit); err != nil {
			s.report(ctx, Problem{ProblemPublish, "publish events", err})
		}
	}
	return nil
}

// audit builds an audit event for a change made by actor.
func (s *core) audit(t Tenant, actor Principal, now time.Time, action, objectType, objectID string, sev Severity, details map[string]any) AuditEvent {
	retention := t.Settings.AuditRetention
	if retention <= 0 {
		retention = DefaultAuditRetention
	}
	return AuditEvent{
		ID: s.newID(), TenantID: t.ID, At: now, ActorID: actor.ID, ActorKind: actor.Kind,
		Action: action, Severity: sev, ObjectType: objectType, ObjectID: objectID,
		Details: details, ExpiresAt: now.Add(retention),
	}
}

// tenant loads the caller's tenant.
func (s *core) tenant(ctx context.Context, id string) (Tenant, error) {
	t, err := s.store.GetTenant(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Tenant{}, notFound("tenant", err)
		}
		return Tenant{}, fmt.Errorf("load tenant %s: %w", id, err)
	}
	return t, nil
}

// RequireRole fails with forbidden unless p holds at least role min; what
// names the action ("changing policies") in the message. The API checks a
// route's role with it before it reads the body, so that authorization comes
// before validation; the use cases check again.
func RequireRole(p Principal, min Role, what string) error {
	return requireRole(p, min, what)
}

// requireRole fails with forbidden unless p holds at least role min.
func requireRole(p Principal, min Role, what string) error {
	if !p.Role.AtLeast(min) {
		return Errorf(CodeForbidden, "%s needs the %s role", what, min)
	}
	return nil
}

// retry runs fn again when it lost a conditional write, re-reading what it
// needs each time. Losing three times in a row is reported as a conflict.
func retry[T any](fn func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range 3 {
		v, err = fn()
		if !errors.Is(err, ErrStale) {
			return v, err
		}
	}
	return v, &Error{Code: CodeConflict, Message: "the object changed concurrently; retry", Cause: err}
}

// withIdempotency attaches the caller's idempotency record to a change.
func withIdempotency(c *Change, idem *Idempotency, now time.Time, o Outcome) {
	if idem == nil {
		return
	}
	c.Idempotency = &IdempotencyRecord{
		Scope: idem.Scope, BodyHash: idem.BodyHash, Outcome: o,
		CreatedAt: now, ExpiresAt: now.Add(IdempotencyTTL),
	}
}

// committed maps a commit error of an idempotent call: losing the record to a
// concurrent duplicate is a conflict the client can retry into a replay.
func committed(err error) error {
	if errors.Is(err, ErrIdempotencyTaken) {
		return &Error{Code: CodeConflict, Message: "a request with this Idempotency-Key is already being processed; retry to get its response", Cause: err}
	}
	return err
}
