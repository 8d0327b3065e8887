package access

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// NewAPIKeyInput describes a key to create. A key acts either for the admin
// who creates it (ServicePrincipal empty) or for a named service principal.
type NewAPIKeyInput struct {
	Name             string
	Role             Role
	ServicePrincipal string
	// Groups are the service principal's groups; a key acting for its creator
	// carries the creator's groups.
	Groups    []string
	ExpiresAt time.Time
}

var servicePrincipalPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`) })

// CreateAPIKey makes an API key (admins only). The secret is returned once
// and stored only as a hash.
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, in NewAPIKeyInput, idem *Idempotency) (APIKey, string, error) {
	if err := requireRole(p, RoleAdmin, "managing API keys"); err != nil {
		return APIKey{}, "", err
	}
	if p.IsService() && in.ServicePrincipal == "" {
		return APIKey{}, "", Errorf(CodeForbidden, "a service principal can create keys only for service principals")
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return APIKey{}, "", err
	}
	now := s.clock()
	v := Violations{}
	validateText(v, "name", in.Name, 128, true)
	if !in.Role.Valid() {
		v.Add("role", "must be admin, approver or requester")
	} else if !p.Role.AtLeast(in.Role) {
		v.Add("role", "cannot exceed your own role")
	}
	switch {
	case in.ServicePrincipal != "" && !servicePrincipalPattern().MatchString(in.ServicePrincipal):
		v.Add("service_principal", "must be 2 to 63 lowercase letters, digits or hyphens, starting with a letter")
	case ReservedPrincipal(in.ServicePrincipal):
		v.Add("service_principal", "%q is reserved for Elevate itself", in.ServicePrincipal)
	}
	if in.ServicePrincipal == "" && len(in.Groups) > 0 {
		v.Add("groups", "only a service principal's key takes groups; a key for yourself carries your own groups")
	}
	validateGroups(v, in.Groups)
	if in.ServicePrincipal == "" && in.ExpiresAt.IsZero() {
		in.ExpiresAt = now.Add(DefaultKeyLifetime) // a key for a person always ends
	}
	switch {
	case !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(now):
		v.Add("expires_at", "must be in the future")
	case in.ServicePrincipal == "" && in.ExpiresAt.After(now.Add(t.Boundary.MaxKeyLifetime)):
		v.Add("expires_at", "a key for a person may live at most %d days in this tenant", int(t.Boundary.MaxKeyLifetime/(24*time.Hour)))
	}
	if err := v.Err(); err != nil {
		return APIKey{}, "", err
	}
	k := APIKey{TenantID: t.ID, Name: strings.TrimSpace(in.Name), Role: in.Role, CreatedBy: p.ID, CreatedAt: now, Revision: 1}
	if !in.ExpiresAt.IsZero() {
		k.ExpiresAt = in.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	if in.ServicePrincipal != "" {
		k.PrincipalID, k.PrincipalKind, k.Groups = in.ServicePrincipal, PrincipalService, slices.Clone(in.Groups)
	} else {
		k.PrincipalID, k.PrincipalKind, k.Groups = p.ID, PrincipalUser, slices.Clone(p.Groups)
	}
	return s.storeKey(ctx, t, p, k, idem)
}

// BootstrapAPIKey makes a key for any user or service principal of a tenant.
// It is an operator action (CLI, local server), not an API call.
func (s *Operator) BootstrapAPIKey(ctx context.Context, tenantID string, k APIKey) (APIKey, string, error) {
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return APIKey{}, "", err
	}
	v := Violations{}
	if !k.Role.Valid() {
		v.Add("role", "must be admin, approver or requester")
	}
	validateUserID(v, "principal_id", k.PrincipalID)
	validateGroups(v, k.Groups)
	if k.PrincipalKind != PrincipalService {
		k.PrincipalKind = PrincipalUser
	}
	if err := v.Err(); err != nil {
		return APIKey{}, "", err
	}
	now := s.clock()
	k.TenantID, k.CreatedAt, k.Revision = t.ID, now, 1
	if k.Name == "" {
		k.Name = "bootstrap key for " + k.PrincipalID
	}
	if k.CreatedBy == "" {
		k.CreatedBy = "operator"
	}
	return s.storeKey(ctx, t, Principal{TenantID: t.ID, ID: k.CreatedBy, Kind: PrincipalService}, k, nil)
}

func (s *core) storeKey(ctx context.Context, t Tenant, actor Principal, k APIKey, idem *Idempotency) (APIKey, string, error) {
	if s.mintKey == nil {
		return APIKey{}, "", errors.New("no API key minter configured")
	}
	id, full, hash, err := s.mintKey()
	if err != nil {
		return APIKey{}, "", err
	}
	k.ID, k.SecretHash = id, hash
	now := k.CreatedAt
	details := map[string]any{
		"name": k.Name, "role": string(k.Role), "principal_id": k.PrincipalID, "principal_kind": string(k.PrincipalKind),
		"for_caller": k.ForCreator(), "acts_as": k.ActsAs(),
	}
	if !k.ExpiresAt.IsZero() {
		details["expires_at"] = k.ExpiresAt.Format(time.RFC3339)
	}
	c := Change{APIKeys: []APIKey{k}, Audit: []AuditEvent{s.audit(t, actor, now, AuditAPIKeyCreated, "api_key", k.ID, SeverityHigh, details)}}
	withIdempotency(&c, idem, now, Outcome{APIKey: &APIKey{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Role: k.Role,
		PrincipalID: k.PrincipalID, PrincipalKind: k.PrincipalKind, Groups: k.Groups, CreatedBy: k.CreatedBy,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, Revision: k.Revision}})
	if err := s.commit(ctx, c); err != nil {
		return APIKey{}, "", committed(err)
	}
	return k, full, nil
}

// ListAPIKeys lists the tenant's keys, newest first (admins only).
func (s *Service) ListAPIKeys(ctx context.Context, p Principal, page PageRequest) (Page[APIKey], error) {
	if err := requireRole(p, RoleAdmin, "managing API keys"); err != nil {
		return Page[APIKey]{}, err
	}
	return s.store.ListAPIKeys(ctx, p.TenantID, page)
}

// GetAPIKey returns one of the tenant's keys (admins only).
func (s *Service) GetAPIKey(ctx context.Context, p Principal, id string) (APIKey, error) {
	if err := requireRole(p, RoleAdmin, "managing API keys"); err != nil {
		return APIKey{}, err
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && k.TenantID != p.TenantID) {
		return APIKey{}, NotFound("API key")
	}
	return k, err
}

// RevokeAPIKey revokes a key (admins only). Revoking a revoked key is a no-op.
// Warm processes cache keys for at most a minute, so the key stops working
// within that time.
func (s *Service) RevokeAPIKey(ctx context.Context, p Principal, id string) (APIKey, error) {
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return APIKey{}, err
	}
	return retry(func() (APIKey, error) {
		k, err := s.GetAPIKey(ctx, p, id)
		if err != nil || !k.RevokedAt.IsZero() {
			return k, err
		}
		now := s.clock()
		k.RevokedAt, k.RevokedBy = now, p.ID
		k.Revision++
		return k, s.commit(ctx, Change{APIKeys: []APIKey{k}, Audit: []AuditEvent{s.audit(t, p, now, AuditAPIKeyRevoked, "api_key", k.ID, SeverityHigh, nil)}})
	})
}

func validateGroups(v Violations, groups []string) {
	if len(groups) > 50 {
		v.Add("groups", "must list at most 50 groups")
	}
	for _, g := range groups {
		if g == "" || len(g) > 256 || strings.TrimSpace(g) != g {
			v.Add("groups", "group names must be 1 to 256 characters without surrounding spaces")
		}
	}
}
