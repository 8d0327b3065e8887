package access

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/policy"
)

// NewTenantInput describes a tenant an operator creates.
type NewTenantInput struct {
	// ID is optional; a new UUID is used when empty.
	ID       string
	Name     string
	Settings *Settings
	Catalog  Catalog
	// Policies is the initial Cedar policy set; empty means the default set.
	Policies string
}

// CreateTenant creates a tenant with its settings, catalog and first policy
// set version. It is an operator action (CLI or local server), not an API
// call, so it takes no principal.
func (s *Service) CreateTenant(ctx context.Context, in NewTenantInput) (Tenant, error) {
	now := s.clock()
	t := Tenant{ID: CanonicalTenantID(in.ID), Name: strings.TrimSpace(in.Name), Settings: DefaultSettings(), Catalog: in.Catalog,
		PolicyVersion: 1, Revision: 1, CreatedAt: now, UpdatedAt: now}
	if t.ID == "" {
		t.ID = s.newID()
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
	t.Settings.Validate(v)
	t.Catalog.Validate(v)
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
		Audit:      []AuditEvent{s.audit(t, sys, now, "tenant.created", "tenant", t.ID, SeverityInfo, map[string]any{"name": t.Name})},
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

// GetTenant returns the caller's tenant and its settings (admins only).
func (s *Service) GetTenant(ctx context.Context, p Principal) (Tenant, error) {
	if err := requireRole(p, RoleAdmin, "reading tenant settings"); err != nil {
		return Tenant{}, err
	}
	return s.tenant(ctx, p.TenantID)
}

// TenantPatch changes some settings of a tenant; nil fields are left alone,
// also inside the JWT and boundary settings, so changing one of their fields
// never clears the others.
type TenantPatch struct {
	Name            *string
	JWT             JWTPatch
	GroupRoles      map[string]Role
	GroupRolesSet   bool
	IdentityMapping *IdentityMapping
	Boundary        BoundaryPatch
	TimeZone        *string
	ApprovalWindow  *time.Duration
	MaxDuration     *time.Duration
	AuditRetention  *time.Duration
	Organization    map[string][]string
	OrganizationSet bool
}

// JWTPatch changes some JWT settings.
type JWTPatch struct {
	Issuer, Audience, JWKSURL, GroupsClaim *string
}

func (p JWTPatch) set() bool {
	return p.Issuer != nil || p.Audience != nil || p.JWKSURL != nil || p.GroupsClaim != nil
}

// BoundaryPatch changes some of the tenant boundary.
type BoundaryPatch struct {
	InstanceARN, IdentityStoreID *string
	AllowedRoots                 *[]string
}

func (p BoundaryPatch) set() bool {
	return p.InstanceARN != nil || p.IdentityStoreID != nil || p.AllowedRoots != nil
}

// UpdateTenant applies a patch to the caller's tenant (admins only). The JWT
// issuer and audience pair must stay unique across tenants.
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
		if len(patch.fields()) == 0 {
			return t, nil // nothing to change: no new revision, no audit event
		}
		applyPatch(&t, patch)
		v := Violations{}
		ValidateTenantName(t.Name, v)
		t.Settings.Validate(v)
		if err := v.Err(); err != nil {
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
		c := Change{Tenants: []Tenant{t}, Audit: []AuditEvent{s.audit(t, p, now, "tenant.updated", "tenant", t.ID, SeverityHigh, map[string]any{"fields": patch.fields()})}}
		if err := s.commit(ctx, c); err != nil {
			if errors.Is(err, ErrUnique) {
				return before, Invalid("jwt.audience", "this issuer and audience are already used by another tenant")
			}
			return before, err
		}
		return t, nil
	})
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
	if st.JWT.GroupsClaim == "" {
		st.JWT.GroupsClaim = DefaultGroupsClaim
	}
	if p.GroupRolesSet {
		st.GroupRoles = maps.Clone(p.GroupRoles)
	}
	if p.IdentityMapping != nil {
		st.IdentityMapping = *p.IdentityMapping
	}
	setIf(&st.Boundary.InstanceARN, p.Boundary.InstanceARN)
	setIf(&st.Boundary.IdentityStoreID, p.Boundary.IdentityStoreID)
	if p.Boundary.AllowedRoots != nil {
		st.Boundary.AllowedRoots = slices.Clone(*p.Boundary.AllowedRoots)
	}
	if p.TimeZone != nil {
		st.TimeZone = *p.TimeZone
	}
	if p.ApprovalWindow != nil {
		st.ApprovalWindow = *p.ApprovalWindow
	}
	if p.MaxDuration != nil {
		st.MaxDuration = *p.MaxDuration
	}
	if p.AuditRetention != nil {
		st.AuditRetention = *p.AuditRetention
	}
	if p.OrganizationSet {
		st.Organization = maps.Clone(p.Organization)
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
	add(p.IdentityMapping != nil, "identity_mapping")
	add(p.Boundary.set(), "identity_center")
	add(p.TimeZone != nil, "time_zone")
	add(p.ApprovalWindow != nil, "default_approval_window_seconds")
	add(p.MaxDuration != nil, "max_duration_seconds")
	add(p.AuditRetention != nil, "audit_retention_days")
	add(p.OrganizationSet, "organization")
	return f
}

// GetCatalog returns the tenant's action catalog (every role).
func (s *Service) GetCatalog(ctx context.Context, p Principal) (Catalog, error) {
	t, err := s.tenant(ctx, p.TenantID)
	return t.Catalog, err
}

// PutCatalog replaces the tenant's action catalog (admins only).
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
		now := s.clock()
		t.Catalog = c
		t.Revision++
		t.UpdatedAt = now
		n := 0
		for _, a := range c {
			n += len(a)
		}
		return t, s.commit(ctx, Change{Tenants: []Tenant{t}, Audit: []AuditEvent{s.audit(t, p, now, "catalog.updated", "tenant", t.ID, SeverityHigh, map[string]any{"actions": n})}})
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
