package memstore

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

var (
	_ access.SweepStore       = (*Store)(nil)
	_ access.SweepCheckpoints = (*Store)(nil)
)

// GetSweepCheckpoint returns the position recorded under name, or "".
func (s *Store) GetSweepCheckpoint(ctx context.Context, name string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.checkpoints[name], nil
}

// PutSweepCheckpoint records a position under name.
func (s *Store) PutSweepCheckpoint(ctx context.Context, name, position string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkpoints[name] = position
	return nil
}

// ListTenantIDs lists every tenant id, in id order.
func (s *Store) ListTenantIDs(ctx context.Context, p access.PageRequest) (access.Page[string], error) {
	if err := ctx.Err(); err != nil {
		return access.Page[string]{}, err
	}
	s.mu.RLock()
	ids := slices.Sorted(maps.Keys(s.tenants))
	s.mu.RUnlock()
	return sortedPage(ids, p, func(id string) string { return id })
}

// ListGrantsExpiringBefore lists a tenant's active grants whose end is
// before t, earliest end first.
func (s *Store) ListGrantsExpiringBefore(ctx context.Context, tenantID string, t time.Time, p access.PageRequest) (access.Page[access.Grant], error) {
	return s.grantsBy(ctx, tenantID, p, func(g access.Grant) bool { return g.Status == access.GrantActive && g.ExpiresAt.Before(t) },
		func(g access.Grant) time.Time { return g.ExpiresAt })
}

// grantsBy pages a tenant's grants that pass keep, ordered by the time at
// gives each (then by id), as the store's time-ordered indexes are.
func (s *Store) grantsBy(ctx context.Context, tenantID string, p access.PageRequest, keep func(access.Grant) bool, at func(access.Grant) time.Time) (access.Page[access.Grant], error) {
	if err := ctx.Err(); err != nil {
		return access.Page[access.Grant]{}, err
	}
	s.mu.RLock()
	var due []access.Grant
	var c copier
	if part := s.partitions[tenantID]; part != nil {
		for _, g := range part.grants {
			if keep(*g) {
				due = append(due, c.grant(*g))
			}
		}
	}
	s.mu.RUnlock()
	if c.err != nil {
		return access.Page[access.Grant]{}, c.err
	}
	key := func(g access.Grant) string {
		return at(g).UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + g.ID
	}
	slices.SortFunc(due, func(a, b access.Grant) int { return cmp.Compare(key(a), key(b)) })
	return sortedPage(due, p, key)
}

// ListLedgerEntries lists the deployment's assignment ledger, in the order
// of the entries' keys.
func (s *Store) ListLedgerEntries(ctx context.Context, p access.PageRequest) (access.Page[access.LedgerEntry], error) {
	if err := ctx.Err(); err != nil {
		return access.Page[access.LedgerEntry]{}, err
	}
	s.mu.RLock()
	var all []access.LedgerEntry
	for _, e := range s.ledger {
		all = append(all, cloneLedgerEntry(*e))
	}
	s.mu.RUnlock()
	key := func(e access.LedgerEntry) string {
		k := e.Key
		return k.InstanceARN + "\x00" + k.PrincipalID + "\x00" + k.AccountID + "\x00" + k.PermissionSetARN
	}
	slices.SortFunc(all, func(a, b access.LedgerEntry) int { return cmp.Compare(key(a), key(b)) })
	return sortedPage(all, p, key)
}

// sortedPage pages through items sorted by key; the position is the key of
// the last item returned.
func sortedPage[T any](items []T, p access.PageRequest, key func(T) string) (access.Page[T], error) {
	if p.Limit < 1 {
		return access.Page[T]{}, access.Errorf(access.CodeValidationFailed, "limit must be at least 1")
	}
	start := 0
	if p.After != nil {
		var after string
		if err := json.Unmarshal(p.After, &after); err != nil {
			return access.Page[T]{}, access.Errorf(access.CodeInvalidCursor, "cursor is not valid for this query")
		}
		start, _ = slices.BinarySearchFunc(items, after, func(it T, k string) int { return cmp.Compare(key(it), k) })
		for start < len(items) && key(items[start]) <= after {
			start++
		}
	}
	end := min(start+p.Limit, len(items))
	out := access.Page[T]{Items: items[start:end]}
	if end < len(items) {
		out.Next, _ = json.Marshal(key(items[end-1]))
	}
	return out, nil
}

// ListTouchedPrincipals lists the users Elevate assigned something to and
// that are not yet forgotten, in the order of their keys.
func (s *Store) ListTouchedPrincipals(ctx context.Context, p access.PageRequest) (access.Page[access.TouchedPrincipal], error) {
	if err := ctx.Err(); err != nil {
		return access.Page[access.TouchedPrincipal]{}, err
	}
	s.mu.RLock()
	now := s.now()
	var all []access.TouchedPrincipal
	for _, tp := range s.touched {
		if live(tp.ExpiresAt, now) {
			all = append(all, tp)
		}
	}
	s.mu.RUnlock()
	key := func(tp access.TouchedPrincipal) string { return tp.InstanceARN + "\x00" + tp.UserID }
	slices.SortFunc(all, func(a, b access.TouchedPrincipal) int { return cmp.Compare(key(a), key(b)) })
	return sortedPage(all, p, key)
}

// GetCutSet returns the session cuts of a permission set.
func (s *Store) GetCutSet(ctx context.Context, key access.CutSetKey) (access.CutSet, error) {
	if err := ctx.Err(); err != nil {
		return access.CutSet{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.cuts[key]
	if c == nil {
		return access.CutSet{}, notFound("session cuts of %s", key.PermissionSetARN)
	}
	return cloneCutSet(*c), nil
}

// ListCutSets lists the deployment's session cuts, in the order of their
// permission sets.
func (s *Store) ListCutSets(ctx context.Context, p access.PageRequest) (access.Page[access.CutSet], error) {
	if err := ctx.Err(); err != nil {
		return access.Page[access.CutSet]{}, err
	}
	s.mu.RLock()
	var all []access.CutSet
	for _, c := range s.cuts {
		all = append(all, cloneCutSet(*c))
	}
	s.mu.RUnlock()
	key := func(c access.CutSet) string { return c.Key.InstanceARN + "\x00" + c.Key.PermissionSetARN }
	slices.SortFunc(all, func(a, b access.CutSet) int { return cmp.Compare(key(a), key(b)) })
	return sortedPage(all, p, key)
}
