package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// GetTenant returns a tenant by id.
func (s *Store) GetTenant(ctx context.Context, id string) (access.Tenant, error) {
	if err := ctx.Err(); err != nil {
		return access.Tenant{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tenants[id]
	if t == nil {
		return access.Tenant{}, notFound("tenant %s", id)
	}
	return cloneTenant(*t), nil
}

// TenantIDForIssuer returns the id of the tenant that claims this JWT issuer
// and audience.
func (s *Store) TenantIDForIssuer(ctx context.Context, iss, audience string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.issuers[issuer{iss, audience}]
	if !ok {
		return "", notFound("tenant of JWT issuer %q and audience %q", iss, audience)
	}
	return id, nil
}

// GetRequest returns a request of a tenant.
func (s *Store) GetRequest(ctx context.Context, tenantID, id string) (access.Request, error) {
	if err := ctx.Err(); err != nil {
		return access.Request{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.partitions[tenantID].request(id)
	if r == nil {
		return access.Request{}, notFound("request %s of tenant %s", id, tenantID)
	}
	var c copier
	out := c.request(*r)
	return out, c.err
}

// ListRequests lists a tenant's requests that match f, newest first (oldest
// first with f.OldestFirst).
func (s *Store) ListRequests(ctx context.Context, tenantID string, f access.RequestFilter, p access.PageRequest) (access.Page[access.Request], error) {
	if err := ctx.Err(); err != nil {
		return access.Page[access.Request]{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var o ordered[access.Request]
	if part := s.partitions[tenantID]; part != nil {
		o = part.requestOrder
	}
	keep := func(r *access.Request) bool { return f.Matches(*r) }
	if f.SortBy == access.SortUpdatedAt {
		o = byUpdate(o)
	}
	var c copier
	out, err := page(o, p, f.OldestFirst, keep, func(r *access.Request) access.Request { return c.request(*r) })
	if err == nil {
		err = c.err
	}
	return out, err
}

// GetGrant returns a grant of a tenant.
func (s *Store) GetGrant(ctx context.Context, tenantID, id string) (access.Grant, error) {
	if err := ctx.Err(); err != nil {
		return access.Grant{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.partitions[tenantID].grant(id)
	if g == nil {
		return access.Grant{}, notFound("grant %s of tenant %s", id, tenantID)
	}
	var c copier
	out := c.grant(*g)
	return out, c.err
}

// ListGrants lists a tenant's grants that match f, newest first.
func (s *Store) ListGrants(ctx context.Context, tenantID string, f access.GrantFilter, p access.PageRequest) (access.Page[access.Grant], error) {
	if err := ctx.Err(); err != nil {
		return access.Page[access.Grant]{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var o ordered[access.Grant]
	if part := s.partitions[tenantID]; part != nil {
		o = part.grantOrder
	}
	keep := func(g *access.Grant) bool {
		return (len(f.Statuses) == 0 || slices.Contains(f.Statuses, g.Status)) &&
			(f.GranteeID == "" || g.GranteeID == f.GranteeID)
	}
	var c copier
	out, err := page(o, p, false, keep, func(g *access.Grant) access.Grant { return c.grant(*g) })
	if err == nil {
		err = c.err
	}
	return out, err
}

// GetAPIKey returns an API key by its id, which is unique across tenants.
func (s *Store) GetAPIKey(ctx context.Context, id string) (access.APIKey, error) {
	if err := ctx.Err(); err != nil {
		return access.APIKey{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	k := s.keys[id]
	if k == nil {
		return access.APIKey{}, notFound("API key %s", id)
	}
	return cloneAPIKey(*k), nil
}

// ListAPIKeys lists a tenant's API keys, revoked and expired ones included,
// newest first.
func (s *Store) ListAPIKeys(ctx context.Context, tenantID string, p access.PageRequest) (access.Page[access.APIKey], error) {
	if err := ctx.Err(); err != nil {
		return access.Page[access.APIKey]{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var o ordered[access.APIKey]
	if part := s.partitions[tenantID]; part != nil {
		o = part.keyOrder
	}
	all := func(*access.APIKey) bool { return true }
	return page(o, p, false, all, func(k *access.APIKey) access.APIKey { return cloneAPIKey(*k) })
}

// ListAuditEvents lists a tenant's audit events whose retention has not
// ended, newest first.
func (s *Store) ListAuditEvents(ctx context.Context, tenantID string, p access.PageRequest) (access.Page[access.AuditEvent], error) {
	if err := ctx.Err(); err != nil {
		return access.Page[access.AuditEvent]{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var o ordered[access.AuditEvent]
	if part := s.partitions[tenantID]; part != nil {
		o = part.audit
	}
	now := s.now()
	keep := func(e *access.AuditEvent) bool { return live(e.ExpiresAt, now) }
	var c copier
	out, err := page(o, p, false, keep, func(e *access.AuditEvent) access.AuditEvent { return c.audit(*e) })
	if err == nil {
		err = c.err
	}
	return out, err
}

// GetIdempotency returns the idempotency record of a scope unless it has
// expired.
func (s *Store) GetIdempotency(ctx context.Context, scope access.IdempotencyScope) (access.IdempotencyRecord, error) {
	if err := ctx.Err(); err != nil {
		return access.IdempotencyRecord{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.idempotency[scope]
	if r == nil || !live(r.ExpiresAt, s.now()) {
		return access.IdempotencyRecord{}, notFound("idempotency record %q of tenant %s", scope.Key, scope.TenantID)
	}
	var c copier
	out := c.idempotency(*r)
	return out, c.err
}

// GetPolicySet returns one version of a tenant's policy set.
func (s *Store) GetPolicySet(ctx context.Context, tenantID string, version int) (access.PolicySet, error) {
	if err := ctx.Err(); err != nil {
		return access.PolicySet{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ps := s.partitions[tenantID].policy(version)
	if ps == nil {
		return access.PolicySet{}, notFound("policy set version %d of tenant %s", version, tenantID)
	}
	return *ps, nil
}

// GetLedgerEntry returns the ledger entry of an assignment.
func (s *Store) GetLedgerEntry(ctx context.Context, key access.AssignmentKey) (access.LedgerEntry, error) {
	if err := ctx.Err(); err != nil {
		return access.LedgerEntry{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.ledger[key]
	if e == nil {
		return access.LedgerEntry{}, notFound("ledger entry for user %s in account %s", key.PrincipalID, key.AccountID)
	}
	return cloneLedgerEntry(*e), nil
}

// notFound is the error of a read that found nothing: what was looked for,
// wrapping access.ErrNotFound.
func notFound(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), access.ErrNotFound)
}

// ListPendingReviews lists a tenant's grants whose review is pending and
// passes f, earliest due first.
func (s *Store) ListPendingReviews(ctx context.Context, tenantID string, f access.ReviewFilter, p access.PageRequest) (access.Page[access.Grant], error) {
	return s.grantsBy(ctx, tenantID, p, f.Matches, func(g access.Grant) time.Time { return g.Review.DueAt })
}

// GetSuspension returns a person's break-glass standing, by Identity Store
// user id.
func (s *Store) GetSuspension(ctx context.Context, tenantID, userID string) (access.Suspension, error) {
	if err := ctx.Err(); err != nil {
		return access.Suspension{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sp := s.partitions[tenantID].suspension(userID)
	if sp == nil {
		return access.Suspension{}, notFound("break-glass standing of %s in tenant %s", userID, tenantID)
	}
	return *sp, nil
}

// ListSuspensions lists a tenant's break-glass standings, lifted ones
// included, in the order they last changed, oldest first.
func (s *Store) ListSuspensions(ctx context.Context, tenantID string, p access.PageRequest) (access.Page[access.Suspension], error) {
	if err := ctx.Err(); err != nil {
		return access.Page[access.Suspension]{}, err
	}
	s.mu.RLock()
	var all []access.Suspension
	if part := s.partitions[tenantID]; part != nil {
		for _, sp := range part.suspensions {
			all = append(all, *sp)
		}
	}
	s.mu.RUnlock()
	key := func(sp access.Suspension) string {
		return sp.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + sp.IdentityStoreUserID
	}
	slices.SortFunc(all, func(a, b access.Suspension) int { return strings.Compare(key(a), key(b)) })
	return sortedPage(all, p, key)
}
