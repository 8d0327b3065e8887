package access

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/netguard"
	"github.com/elevate-jit/elevate/internal/policy"
)

// NewTenantInput describes a tenant an operator creates.
type NewTenantInput struct {
	// ID is optional; a new UUID is used when empty.
	ID   string
	Name string
	// Boundary is what the tenant may touch in AWS; nil means DefaultBoundary
	// (nothing, until the operator sets it).
	Boundary *Boundary
	Settings *Settings
	Catalog  Catalog
	// Policies is the initial Cedar policy set; empty means the default set.
	Policies string
}

// CreateTenant creates a tenant with its boundary, settings, catalog and
// first policy set version.
func (s *Operator) CreateTenant(ctx context.Context, in NewTenantInput) (Tenant, error) {
	now := s.clock()
	t := Tenant{ID: CanonicalTenantID(in.ID), Name: strings.TrimSpace(in.Name), Boundary: DefaultBoundary(),
		Settings: DefaultSettings(), Catalog: in.Catalog, PolicyVersion: 1, Revision: 1, CreatedAt: now, UpdatedAt: now}
	if t.ID == "" {
		t.ID = s.newID()
	}
	if in.Boundary != nil {
		t.Boundary = *in.Boundary
	}
	if in.Settings != nil {
		t.Settings = *in.Settings
	}
	if t.Catalog == nil {
		t.Catalog = Catalog{}
	}
	text := in.Policies
	if text == "" {
		text = policy.DefaultText
	}
	v := Violations{}
	if !ValidTenantID(t.ID) {
		v.Add("id", "must be a UUID")
	}
	ValidateTenantName(t.Name, v)
	t.Boundary.Validate(v)
	t.Settings.Validate(v)
	validateWithinBoundary(t.Boundary, t.Settings, v)
	t.Catalog.Validate(v)
	for _, ps := range t.Catalog.PermissionSets() {
		if !t.Boundary.CanAssign(ps) {
			v.Add("catalog", "permission set %s is not in the tenant's assignable permission sets", ps)
		}
	}
	if err := v.Err(); err != nil {
		return Tenant{}, err
	}
	if _, err := policy.Parse("policies.cedar", []byte(text)); err != nil {
		return Tenant{}, policyError(err)
	}
	sys := systemActor(t.ID)
	c := Change{
		Tenants:    []Tenant{t},
		PolicySets: []PolicySet{{TenantID: t.ID, Version: 1, Text: text, CreatedBy: sys.ID, CreatedAt: now}},
		Audit: []AuditEvent{s.audit(t, operatorActor(t.ID), now, AuditTenantCreated, "tenant", t.ID, SeverityHigh, map[string]any{
			"name": t.Name, "boundary": boundaryDetails(t.Boundary),
		})},
	}
	if err := s.commit(ctx, c); err != nil {
		if errors.Is(err, ErrStale) {
			return Tenant{}, Errorf(CodeConflict, "tenant %s already exists", t.ID)
		}
		if errors.Is(err, ErrUnique) {
			return Tenant{}, &Error{Code: CodeConflict, Message: "JWT issuer and audience are already used by another tenant", Cause: err}
		}
		return Tenant{}, err
	}
	return t, nil
}

// Tenant returns a tenant with everything it holds, boundary included.
func (s *Operator) Tenant(ctx context.Context, id string) (Tenant, error) {
	return s.tenant(ctx, CanonicalTenantID(id))
}

// BoundaryPatch changes some of a tenant's boundary; nil fields are left
// alone.
type BoundaryPatch struct {
	InstanceARN, IdentityStoreID *string
	IdentityMapping              *IdentityMapping
	AllowedRoots, Assignable     *[]string
	MaxDuration                  *time.Duration
	MinAuditRetention            *time.Duration
	MaxKeyLifetime               *time.Duration
	CutSessions                  *bool
}

// Apply returns b with the patch's fields set.
func (p BoundaryPatch) Apply(b Boundary) Boundary {
	setIf(&b.InstanceARN, p.InstanceARN)
	setIf(&b.IdentityStoreID, p.IdentityStoreID)
	setIf(&b.IdentityMapping, p.IdentityMapping)
	if p.AllowedRoots != nil {
		b.AllowedRoots = slices.Clone(*p.AllowedRoots)
	}
	if p.Assignable != nil {
		b.Assignable = slices.Clone(*p.Assignable)
	}
	setIf(&b.MaxDuration, p.MaxDuration)
	setIf(&b.MinAuditRetention, p.MinAuditRetention)
	setIf(&b.MaxKeyLifetime, p.MaxKeyLifetime)
	setIf(&b.CutSessions, p.CutSessions)
	return b
}

// UpdateBoundary changes a tenant's boundary. Only the operator may; the
// change is a high-severity audit event in the tenant's trail with the old
// and the new values. Settings the new limits no longer allow are clamped to
// them; a narrowing of the roots left outside a smaller ceiling is harmless
// (a target must be within both), and catalog actions on sets no longer
// assignable stop being provisioned.
func (s *Operator) UpdateBoundary(ctx context.Context, tenantID string, patch BoundaryPatch) (Tenant, error) {
	return retry(func() (Tenant, error) {
		t, err := s.tenant(ctx, CanonicalTenantID(tenantID))
		if err != nil {
			return t, err
		}
		before := t
		t.Boundary = patch.Apply(t.Boundary)
		v := Violations{}
		t.Boundary.Validate(v)
		if err := v.Err(); err != nil {
			return before, err
		}
		t.Settings.MaxDuration = min(t.Settings.MaxDuration, t.Boundary.MaxDuration)
		t.Settings.AuditRetention = max(t.Settings.AuditRetention, t.Boundary.MinAuditRetention)
		if sameBoundary(before.Boundary, t.Boundary) && before.Settings.MaxDuration == t.Settings.MaxDuration &&
			before.Settings.AuditRetention == t.Settings.AuditRetention {
			return t, nil // nothing changes: no revision, no audit event
		}
		now := s.clock()
		t.Revision++
		t.UpdatedAt = now
		ev := s.audit(t, operatorActor(t.ID), now, AuditBoundaryUpdated, "tenant", t.ID, SeverityHigh, map[string]any{
			"old": boundaryDetails(before.Boundary), "new": boundaryDetails(t.Boundary),
		})
		return t, s.commit(ctx, Change{Tenants: []Tenant{t}, Audit: []AuditEvent{ev}})
	})
}

func sameBoundary(a, b Boundary) bool {
	return a.InstanceARN == b.InstanceARN && a.IdentityStoreID == b.IdentityStoreID && a.IdentityMapping == b.IdentityMapping &&
		slices.Equal(a.AllowedRoots, b.AllowedRoots) && slices.Equal(a.Assignable, b.Assignable) &&
		a.MaxDuration == b.MaxDuration && a.MinAuditRetention == b.MinAuditRetention && a.MaxKeyLifetime == b.MaxKeyLifetime &&
		a.CutSessions == b.CutSessions
}

// boundaryDetails is a boundary as the audit trail records it.
func boundaryDetails(b Boundary) map[string]any {
	return map[string]any{
		"instance_arn": b.InstanceARN, "identity_store_id": b.IdentityStoreID, "identity_mapping": string(b.IdentityMapping),
		"allowed_roots_ceiling": slices.Clone(b.AllowedRoots), "assignable_permission_sets": slices.Clone(b.Assignable),
		"max_duration_ceiling_seconds": int64(b.MaxDuration / time.Second),
		"audit_retention_floor_days":   int64(b.MinAuditRetention / (24 * time.Hour)),
		"api_key_max_lifetime_days":    int64(b.MaxKeyLifetime / (24 * time.Hour)),
		"cut_assignable_sessions":      b.CutSessions,
	}
}

// GetTenant returns the caller's tenant and its settings (admins only).
func (s *Service) GetTenant(ctx context.Context, p Principal) (Tenant, error) {
	if err := requireRole(p, RoleAdmin, "reading tenant settings"); err != nil {
		return Tenant{}, err
	}
	return s.tenant(ctx, p.TenantID)
}

// TenantPatch changes some settings of a tenant; nil fields are left alone,
// also inside the JWT settings, so changing one of their fields never clears
// the others.
type TenantPatch struct {
	Name           *string
	JWT            JWTPatch
	GroupRoles     map[string]Role
	GroupRolesSet  bool
	TimeZone       *string
	ApprovalWindow *time.Duration
	MaxDuration    *time.Duration
	AuditRetention *time.Duration
	// DenyRequiresReasoning, when set, says whether a deny must give a reason.
	DenyRequiresReasoning *bool
	// MaxGrantLifetime bounds a grant's whole life, extensions included.
	MaxGrantLifetime *time.Duration
	// MaxStartAhead bounds how far ahead a request's start may be.
	MaxStartAhead *time.Duration
	// ReminderPercent is the reminder's point of the approval window; 0
	// turns reminders off.
	ReminderPercent *int
	// EndSessions says which sets' open sessions a grant's end cuts.
	EndSessions *EndSessions
	// BreakGlassReview is break_glass_review_seconds.
	BreakGlassReview *time.Duration
	// SuspendAfterOverdue is break_glass_suspend_after_overdue; 0 never
	// suspends for overdue reviews.
	SuspendAfterOverdue *int
	// AllowedRoots narrows the boundary's roots; an empty list means all of
	// them again.
	AllowedRoots *[]string
	// Boundary holds what a caller asked of the operator's boundary: a tenant
	// admin may repeat its current values, never change them.
	Boundary BoundaryPatch
}

// JWTPatch changes some JWT settings.
type JWTPatch struct {
	Issuer, Audience, JWKSURL, GroupsClaim *string
	ClientID, AuthorizationEndpoint        *string
}

func (p JWTPatch) set() bool {
	return p.Issuer != nil || p.Audience != nil || p.JWKSURL != nil || p.GroupsClaim != nil || p.ClientID != nil || p.AuthorizationEndpoint != nil
}

// operatorOwns is the message of an attempt to change the boundary.
const operatorOwns = "%s is part of the tenant boundary, which the operator sets (elevate tenant update); a tenant admin cannot change it"

// UpdateTenant applies a patch to the caller's tenant (admins only). The JWT
// issuer and audience pair must stay unique across tenants. Nothing in it
// may widen what the tenant reaches: the boundary is the operator's, allowed
// roots may only narrow it, the maximum duration stays within the operator's
// ceiling and the audit retention above its floor (403 forbidden).
func (s *Service) UpdateTenant(ctx context.Context, p Principal, patch TenantPatch, idem *Idempotency) (Tenant, error) {
	if err := requireRole(p, RoleAdmin, "changing tenant settings"); err != nil {
		return Tenant{}, err
	}
	return retry(func() (Tenant, error) {
		t, err := s.tenant(ctx, p.TenantID)
		if err != nil {
			return t, err
		}
		before := t
		if err := boundaryUnchanged(t.Boundary, patch.Boundary); err != nil {
			return before, err
		}
		if len(patch.fields()) == 0 {
			return t, nil // nothing to change: no new revision, no audit event
		}
		applyPatch(&t, patch)
		v := Violations{}
		ValidateTenantName(t.Name, v)
		t.Settings.Validate(v)
		if t.Settings.JWT.JWKSURL != before.Settings.JWT.JWKSURL {
			s.checkJWKSHost(t.Settings.JWT.JWKSURL, v)
		}
		if err := v.Err(); err != nil {
			return before, err
		}
		if err := s.withinBoundary(ctx, t); err != nil {
			return before, err
		}
		if t.Settings.JWT.Enabled() && t.Settings.JWT != before.Settings.JWT {
			other, err := s.store.TenantIDForIssuer(ctx, t.Settings.JWT.Issuer, t.Settings.JWT.Audience)
			if err == nil && other != t.ID {
				return before, Invalid("jwt.audience", "this issuer and audience are already used by another tenant")
			}
		}
		now := s.clock()
		t.Revision++
		t.UpdatedAt = now
		fields := patch.fields()
		c := Change{Tenants: []Tenant{t}, Audit: []AuditEvent{s.audit(t, p, now, AuditTenantUpdated, "tenant", t.ID, SeverityHigh, map[string]any{
			"fields": fields, "old": settingsDetails(before, fields), "new": settingsDetails(t, fields),
		})}}
		if err := s.commit(ctx, c); err != nil {
			if errors.Is(err, ErrUnique) {
				return before, Invalid("jwt.audience", "this issuer and audience are already used by another tenant")
			}
			return before, err
		}
		return t, nil
	})
}

// checkJWKSHost refuses a JWKS URL Elevate must not fetch from: a host that
// is certainly not on the public internet (the fetch checks resolved
// addresses again), or one outside the operator's allow-list.
func (s *core) checkJWKSHost(raw string, v Violations) {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return // Validate reports it
	}
	if !s.anyJWKS {
		if err := netguard.CheckHost(u.Host); err != nil {
			v.Add("jwt.jwks_url", "must be on a public internet host (not loopback, private, link-local or metadata addresses)")
			return
		}
	}
	if len(s.jwksHosts) > 0 && !slices.ContainsFunc(s.jwksHosts, func(h string) bool { return strings.EqualFold(h, u.Hostname()) }) {
		v.Add("jwt.jwks_url", "must be on one of the identity provider hosts the operator allows (%s)", strings.Join(s.jwksHosts, ", "))
	}
}

// boundaryUnchanged refuses a tenant admin's patch that would change the
// boundary; repeating its current values is fine.
func boundaryUnchanged(b Boundary, p BoundaryPatch) error {
	after := p.Apply(b)
	for _, c := range []struct {
		field   string
		changed bool
	}{
		{"identity_center.instance_arn", after.InstanceARN != b.InstanceARN},
		{"identity_center.identity_store_id", after.IdentityStoreID != b.IdentityStoreID},
		{"identity_mapping", after.IdentityMapping != b.IdentityMapping},
		{"identity_center.allowed_roots_ceiling", !slices.Equal(after.AllowedRoots, b.AllowedRoots)},
		{"identity_center.assignable_permission_sets", !slices.Equal(after.Assignable, b.Assignable)},
		{"max_duration_ceiling_seconds", after.MaxDuration != b.MaxDuration},
		{"audit_retention_floor_days", after.MinAuditRetention != b.MinAuditRetention},
		{"api_key_max_lifetime_days", after.MaxKeyLifetime != b.MaxKeyLifetime},
		{"identity_center.cut_assignable_sessions", after.CutSessions != b.CutSessions},
	} {
		if c.changed {
			return &Error{Code: CodeForbidden, Message: fmt.Sprintf(operatorOwns, c.field), Details: map[string]any{c.field: "set by the operator"}}
		}
	}
	return nil
}

// withinBoundary checks a tenant admin's settings against the operator's
// ceilings and floors.
func (s *core) withinBoundary(ctx context.Context, t Tenant) error {
	v := Violations{}
	validateWithinBoundary(t.Boundary, t.Settings, v)
	if err := v.Err(); err != nil {
		e := err.(*Error)
		e.Code = CodeForbidden
		e.Message = "beyond the operator's limits: " + e.Message
		return e
	}
	for _, r := range t.Settings.AllowedRoots {
		if !s.withinCeiling(ctx, t, r) {
			return &Error{Code: CodeForbidden,
				Message: fmt.Sprintf("allowed root %s is outside the tenant boundary's roots (%s); only the operator can widen them", r, strings.Join(t.Boundary.AllowedRoots, ", ")),
				Details: map[string]any{"identity_center.allowed_roots": "must lie within " + strings.Join(t.Boundary.AllowedRoots, ", ")}}
		}
	}
	return nil
}

// validateWithinBoundary checks settings against a boundary's limits.
func validateWithinBoundary(b Boundary, st Settings, v Violations) {
	if st.MaxDuration > b.MaxDuration {
		v.Add("max_duration_seconds", "must be at most %d, the operator's ceiling", int64(b.MaxDuration/time.Second))
	}
	if st.AuditRetention < b.MinAuditRetention {
		v.Add("audit_retention_days", "must be at least %d, the operator's floor", int64(b.MinAuditRetention/(24*time.Hour)))
	}
}

// withinCeiling reports whether a root lies inside the boundary's roots: it
// is one of them, or one of them is its ancestor in the organization.
func (s *core) withinCeiling(ctx context.Context, t Tenant, root string) bool {
	if slices.Contains(t.Boundary.AllowedRoots, root) {
		return true
	}
	var r Resource
	switch {
	case ValidAccountID(root):
		r = Resource{Type: ResourceAccount, ID: root}
	case ValidOUID(root):
		r = Resource{Type: ResourceOrganizationalUnit, ID: root}
	default:
		return false // another organization root
	}
	ancestors, err := s.ic.Ancestors(ctx, t, r)
	if err != nil {
		return false // fail closed: the operator's roots are the tenant's
	}
	return slices.ContainsFunc(ancestors, func(a string) bool { return slices.Contains(t.Boundary.AllowedRoots, a) })
}

func applyPatch(t *Tenant, p TenantPatch) {
	st := &t.Settings
	if p.Name != nil {
		t.Name = strings.TrimSpace(*p.Name)
	}
	setIf(&st.JWT.Issuer, p.JWT.Issuer)
	setIf(&st.JWT.Audience, p.JWT.Audience)
	setIf(&st.JWT.JWKSURL, p.JWT.JWKSURL)
	setIf(&st.JWT.GroupsClaim, p.JWT.GroupsClaim)
	setIf(&st.JWT.ClientID, p.JWT.ClientID)
	setIf(&st.JWT.AuthorizationEndpoint, p.JWT.AuthorizationEndpoint)
	if st.JWT.GroupsClaim == "" {
		st.JWT.GroupsClaim = DefaultGroupsClaim
	}
	if p.GroupRolesSet {
		st.GroupRoles = maps.Clone(p.GroupRoles)
	}
	if p.TimeZone != nil {
		st.TimeZone = *p.TimeZone
	}
	setIf(&st.ApprovalWindow, p.ApprovalWindow)
	setIf(&st.MaxDuration, p.MaxDuration)
	setIf(&st.AuditRetention, p.AuditRetention)
	if p.DenyRequiresReasoning != nil {
		st.DenyReasoningOptional = !*p.DenyRequiresReasoning
	}
	setIf(&st.MaxGrantLifetime, p.MaxGrantLifetime)
	setIf(&st.MaxStartAhead, p.MaxStartAhead)
	if p.ReminderPercent != nil {
		st.ReminderPercent, st.RemindersOff = *p.ReminderPercent, *p.ReminderPercent == 0
	}
	setIf(&st.EndSessions, p.EndSessions)
	setIf(&st.BreakGlassReview, p.BreakGlassReview)
	if p.SuspendAfterOverdue != nil {
		st.SuspendAfterOverdue, st.SuspendOverdueOff = *p.SuspendAfterOverdue, *p.SuspendAfterOverdue == 0
	}
	if p.AllowedRoots != nil {
		st.AllowedRoots = slices.Clone(*p.AllowedRoots)
		if slices.Equal(st.AllowedRoots, t.Boundary.AllowedRoots) {
			st.AllowedRoots = nil // the whole ceiling: follow it when the operator changes it
		}
	}
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// fields lists the settings a patch changes, for the audit trail.
func (p TenantPatch) fields() []string {
	var f []string
	add := func(set bool, name string) {
		if set {
			f = append(f, name)
		}
	}
	add(p.Name != nil, "name")
	add(p.JWT.set(), "jwt")
	add(p.GroupRolesSet, "group_roles")
	add(p.AllowedRoots != nil, "identity_center.allowed_roots")
	add(p.TimeZone != nil, "time_zone")
	add(p.ApprovalWindow != nil, "default_approval_window_seconds")
	add(p.MaxDuration != nil, "max_duration_seconds")
	add(p.AuditRetention != nil, "audit_retention_days")
	add(p.DenyRequiresReasoning != nil, "deny_requires_reasoning")
	add(p.MaxGrantLifetime != nil, "max_grant_lifetime_seconds")
	add(p.MaxStartAhead != nil, "max_start_ahead_seconds")
	add(p.ReminderPercent != nil, "approval_reminder_percent")
	add(p.EndSessions != nil, "end_sessions")
	add(p.BreakGlassReview != nil, "break_glass_review_seconds")
	add(p.SuspendAfterOverdue != nil, "break_glass_suspend_after_overdue")
	return f
}

// settingsDetails is what the audit trail records of some of a tenant's
// settings, under their wire names.
func settingsDetails(t Tenant, fields []string) map[string]any {
	st := t.Settings
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		switch f {
		case "name":
			out[f] = t.Name
		case "jwt":
			out[f] = map[string]any{"issuer": st.JWT.Issuer, "audience": st.JWT.Audience, "jwks_url": st.JWT.JWKSURL, "groups_claim": st.JWT.GroupsClaim}
		case "group_roles":
			roles := make(map[string]any, len(st.GroupRoles))
			for g, r := range st.GroupRoles {
				roles[g] = string(r)
			}
			out[f] = roles
		case "identity_center.allowed_roots":
			out[f] = slices.Clone(t.AllowedRoots())
		case "time_zone":
			out[f] = st.TimeZone
		case "default_approval_window_seconds":
			out[f] = int64(st.ApprovalWindow / time.Second)
		case "max_duration_seconds":
			out[f] = int64(st.MaxDuration / time.Second)
		case "audit_retention_days":
			out[f] = int64(st.AuditRetention / (24 * time.Hour))
		case "deny_requires_reasoning":
			out[f] = !st.DenyReasoningOptional
		case "max_grant_lifetime_seconds":
			out[f] = int64(st.GrantLifetime() / time.Second)
		case "max_start_ahead_seconds":
			out[f] = int64(st.StartAhead() / time.Second)
		case "approval_reminder_percent":
			out[f] = st.Reminder()
		case "end_sessions":
			out[f] = string(st.SessionsToEnd())
		case "break_glass_review_seconds":
			out[f] = int64(st.ReviewAfter() / time.Second)
		case "break_glass_suspend_after_overdue":
			out[f] = st.SuspendAfter()
		}
	}
	return out
}

// GetCatalog returns the tenant's action catalog (every role).
func (s *Service) GetCatalog(ctx context.Context, p Principal) (Catalog, error) {
	t, err := s.tenant(ctx, p.TenantID)
	return t.Catalog, err
}

// PutCatalog replaces the tenant's action catalog (admins only). Actions may
// map only to permission sets the operator made assignable (403 forbidden
// otherwise); managed resource types use Elevate's own sets.
func (s *Service) PutCatalog(ctx context.Context, p Principal, c Catalog) (Catalog, error) {
	if err := requireRole(p, RoleAdmin, "changing the catalog"); err != nil {
		return nil, err
	}
	v := Violations{}
	c.Validate(v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	t, err := retry(func() (Tenant, error) {
		t, err := s.tenant(ctx, p.TenantID)
		if err != nil {
			return t, err
		}
		for _, ps := range c.PermissionSets() {
			if !t.Boundary.CanAssign(ps) {
				return t, Errorf(CodeForbidden, "permission set %s is not assignable to this tenant: the operator decides which permission sets a tenant may use (elevate tenant update --assignable)", ps)
			}
		}
		now := s.clock()
		t.Catalog = c
		t.Revision++
		t.UpdatedAt = now
		n := 0
		for _, a := range c {
			n += len(a)
		}
		return t, s.commit(ctx, Change{Tenants: []Tenant{t}, Audit: []AuditEvent{s.audit(t, p, now, AuditCatalogUpdated, "tenant", t.ID, SeverityHigh, map[string]any{"actions": n})}})
	})
	return t.Catalog, err
}

// policyError turns a policy parse error into a validation error naming each
// problem and its position.
func policyError(err error) error {
	var pe *policy.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	problems := make([]any, 0, len(pe.Problems))
	for _, p := range pe.Problems {
		problems = append(problems, map[string]any{"policy_id": p.PolicyID, "line": p.Line, "column": p.Column, "message": p.Message})
	}
	return &Error{Code: CodeValidationFailed, Message: "the policy set is invalid: " + pe.Error(), Details: map[string]any{"policies": problems}}
}
