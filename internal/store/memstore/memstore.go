// Package memstore is an access.Store kept in memory: the embedded store of
// local mode (elevate serve) and the fast store of tests.
//
// Each tenant's objects live in their own maps and time-ordered indexes, so a
// list never walks another tenant's data and a write appends to an index
// instead of re-sorting it. Everything that goes in or comes out is deep
// copied, so callers never share memory with the store. A Commit checks all
// its conditions and then applies all its writes under one lock, so it lands
// whole or not at all. Expired idempotency records and audit events are
// ignored on read, exactly as a TTL-based store ignores items past their TTL.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// Store is an in-memory access.Store, safe for concurrent use.
type Store struct {
	now func() time.Time

	mu          sync.RWMutex
	tenants     map[string]*access.Tenant
	issuers     map[issuer]string // (JWT issuer, audience) to tenant id
	keys        map[string]*access.APIKey
	idempotency map[access.IdempotencyScope]*access.IdempotencyRecord
	sweepAt     int // idempotency records kept before expired ones are dropped
	partitions  map[string]*partition
	// ledger is the deployment-wide assignment ledger, and touched the users
	// it assigned something to.
	ledger  map[access.AssignmentKey]*access.LedgerEntry
	touched map[[2]string]access.TouchedPrincipal
	// cuts are the deployment-wide session cuts, by permission set.
	cuts map[access.CutSetKey]*access.CutSet
	// checkpoints are the sweeper's positions, by name.
	checkpoints map[string]string
}

// partition holds one tenant's objects and the indexes its lists read.
type partition struct {
	requests     map[string]*access.Request
	requestOrder ordered[access.Request]
	grants       map[string]*access.Grant
	grantOrder   ordered[access.Grant]
	keyOrder     ordered[access.APIKey]
	audit        ordered[access.AuditEvent]
	auditIDs     map[string]bool
	policies     map[int]*access.PolicySet
	// suspensions are users' break-glass standings, by Identity Store user id.
	suspensions map[string]*access.Suspension
}

// issuer is the JWT (issuer, audience) pair a tenant claims; it is unique
// across tenants.
type issuer struct{ issuer, audience string }

func issuerOf(t *access.Tenant) issuer {
	return issuer{t.Settings.JWT.Issuer, t.Settings.JWT.Audience}
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock the store checks expiry (ExpiresAt of idempotency
// records and audit events) against; the default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// minSweep is the number of idempotency records kept before the first sweep
// of expired ones.
const minSweep = 1024

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		now:         time.Now,
		tenants:     map[string]*access.Tenant{},
		issuers:     map[issuer]string{},
		keys:        map[string]*access.APIKey{},
		idempotency: map[access.IdempotencyScope]*access.IdempotencyRecord{},
		sweepAt:     minSweep,
		partitions:  map[string]*partition{},
		ledger:      map[access.AssignmentKey]*access.LedgerEntry{},
		touched:     map[[2]string]access.TouchedPrincipal{},
		cuts:        map[access.CutSetKey]*access.CutSet{},
		checkpoints: map[string]string{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

var _ access.Store = (*Store)(nil)

// Commit applies a change atomically: it checks every revision, the
// idempotency record and the JWT issuer pairs first, and writes only when all
// of them hold.
func (s *Store) Commit(ctx context.Context, c access.Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := copyChange(c)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(c); err != nil {
		return err
	}
	s.apply(c)
	return nil
}

// copyChange deep-copies a change, so the store keeps none of the caller's
// memory, and rejects changes no store could apply.
func copyChange(c access.Change) (access.Change, error) {
	var cp copier
	out := access.Change{
		Tenants:    make([]access.Tenant, len(c.Tenants)),
		Requests:   make([]access.Request, len(c.Requests)),
		Grants:     make([]access.Grant, len(c.Grants)),
		APIKeys:    make([]access.APIKey, len(c.APIKeys)),
		PolicySets: slices.Clone(c.PolicySets),
		Ledger:     make([]access.LedgerEntry, len(c.Ledger)),
		Touched:    slices.Clone(c.Touched),
		CutSets:    make([]access.CutSet, len(c.CutSets)),
		Audit:      make([]access.AuditEvent, len(c.Audit)),
	}
	for i, cs := range c.CutSets {
		out.CutSets[i] = cloneCutSet(cs)
	}
	out.Suspensions = slices.Clone(c.Suspensions)
	for i, t := range c.Tenants {
		out.Tenants[i] = cloneTenant(t)
	}
	for i, r := range c.Requests {
		out.Requests[i] = cp.request(r)
	}
	for i, g := range c.Grants {
		out.Grants[i] = cp.grant(g)
	}
	for i, k := range c.APIKeys {
		out.APIKeys[i] = cloneAPIKey(k)
	}
	for i, e := range c.Ledger {
		out.Ledger[i] = cloneLedgerEntry(e)
	}
	for i, e := range c.Audit {
		out.Audit[i] = cp.audit(e)
	}
	if c.Idempotency != nil {
		rec := cp.idempotency(*c.Idempotency)
		out.Idempotency = &rec
	}
	if cp.err != nil {
		return access.Change{}, cp.err
	}
	return out, checkShape(out)
}

// checkShape rejects objects without an id or tenant and objects written
// twice in one change; both are the caller's mistakes, not conflicts.
func checkShape(c access.Change) error {
	if r := c.Idempotency; r != nil && (r.Scope.TenantID == "" || r.Scope.Key == "") {
		return errors.New("memstore: idempotency record without tenant or key")
	}
	type tenantKey struct{ tenantID, id string }
	return errors.Join(
		unique("tenant", c.Tenants, func(t access.Tenant) (string, bool) { return t.ID, t.ID != "" }),
		unique("request", c.Requests, func(r access.Request) (tenantKey, bool) {
			return tenantKey{r.TenantID, r.ID}, r.TenantID != "" && r.ID != ""
		}),
		unique("grant", c.Grants, func(g access.Grant) (tenantKey, bool) {
			return tenantKey{g.TenantID, g.ID}, g.TenantID != "" && g.ID != ""
		}),
		unique("api key", c.APIKeys, func(k access.APIKey) (string, bool) { return k.ID, k.TenantID != "" && k.ID != "" }),
		unique("policy set", c.PolicySets, func(p access.PolicySet) (tenantKey, bool) {
			return tenantKey{p.TenantID, strconv.Itoa(p.Version)}, p.TenantID != ""
		}),
		unique("ledger entry", c.Ledger, func(e access.LedgerEntry) (access.AssignmentKey, bool) {
			return e.Key, e.Key != (access.AssignmentKey{})
		}),
		unique("session cuts", c.CutSets, func(cs access.CutSet) (access.CutSetKey, bool) {
			return cs.Key, cs.Key.InstanceARN != "" && cs.Key.PermissionSetARN != ""
		}),
		unique("suspension", c.Suspensions, func(sp access.Suspension) (tenantKey, bool) {
			return tenantKey{sp.TenantID, sp.IdentityStoreUserID}, sp.TenantID != "" && sp.IdentityStoreUserID != ""
		}),
		unique("audit event", c.Audit, func(e access.AuditEvent) (tenantKey, bool) {
			return tenantKey{e.TenantID, e.ID}, e.TenantID != "" && e.ID != ""
		}),
	)
}

// unique fails when an item's key is incomplete or two items share a key.
func unique[T any, K comparable](kind string, items []T, key func(T) (K, bool)) error {
	var seen map[K]bool
	for _, it := range items {
		k, ok := key(it)
		if !ok {
			return fmt.Errorf("memstore: %s without tenant or id", kind)
		}
		if len(items) == 1 {
			break
		}
		if seen == nil {
			seen = make(map[K]bool, len(items))
		}
		if seen[k] {
			return fmt.Errorf("memstore: change writes %s %v twice", kind, k)
		}
		seen[k] = true
	}
	return nil
}

// check verifies every condition of a change against the stored state. It
// must be called with s.mu held.
func (s *Store) check(c access.Change) error {
	for _, t := range c.Tenants {
		var stored int64
		if old := s.tenants[t.ID]; old != nil {
			stored = old.Revision
		}
		if err := checkRevision("tenant", t.ID, t.Revision, stored); err != nil {
			return err
		}
	}
	if err := s.checkIssuers(c.Tenants); err != nil {
		return err
	}
	for _, r := range c.Requests {
		var stored int64
		if old := s.partitions[r.TenantID].request(r.ID); old != nil {
			stored = old.Revision
		}
		if err := checkRevision("request", r.ID, r.Revision, stored); err != nil {
			return err
		}
	}
	for _, g := range c.Grants {
		var stored int64
		if old := s.partitions[g.TenantID].grant(g.ID); old != nil {
			stored = old.Revision
		}
		if err := checkRevision("grant", g.ID, g.Revision, stored); err != nil {
			return err
		}
	}
	for _, k := range c.APIKeys {
		var stored int64
		old := s.keys[k.ID]
		if old != nil {
			stored = old.Revision
		}
		if err := checkRevision("api key", k.ID, k.Revision, stored); err != nil {
			return err
		}
		if old != nil && old.TenantID != k.TenantID {
			return fmt.Errorf("update api key %s: it belongs to another tenant: %w", k.ID, access.ErrStale)
		}
	}
	for _, p := range c.PolicySets {
		if p.Version < 1 {
			return fmt.Errorf("memstore: policy set version %d: versions start at 1", p.Version)
		}
		if s.partitions[p.TenantID].policy(p.Version) != nil {
			return fmt.Errorf("create policy set version %d: it exists: %w", p.Version, access.ErrStale)
		}
	}
	for _, e := range c.Ledger {
		var stored int64
		if old := s.ledger[e.Key]; old != nil {
			stored = old.Revision
		}
		if err := checkRevision("ledger entry", fmt.Sprint(e.Key), e.Revision, stored); err != nil {
			return err
		}
	}
	for _, cs := range c.CutSets {
		var stored int64
		if old := s.cuts[cs.Key]; old != nil {
			stored = old.Revision
		}
		if err := checkRevision("session cuts", fmt.Sprint(cs.Key), cs.Revision, stored); err != nil {
			return err
		}
	}
	for _, sp := range c.Suspensions {
		var stored int64
		if old := s.partitions[sp.TenantID].suspension(sp.IdentityStoreUserID); old != nil {
			stored = old.Revision
		}
		if err := checkRevision("suspension", sp.IdentityStoreUserID, sp.Revision, stored); err != nil {
			return err
		}
	}
	for _, e := range c.Audit {
		if p := s.partitions[e.TenantID]; p != nil && p.auditIDs[e.ID] {
			return fmt.Errorf("append audit event %s: it exists: %w", e.ID, access.ErrStale)
		}
	}
	if r := c.Idempotency; r != nil {
		if old := s.idempotency[r.Scope]; old != nil && live(old.ExpiresAt, s.now()) {
			return fmt.Errorf("record idempotency key %q: %w", r.Scope.Key, access.ErrIdempotencyTaken)
		}
	}
	return nil
}

// checkRevision enforces the revision rule of access.Change: revision 1
// creates, revision n > 1 replaces revision n-1. Stored is 0 when the object
// does not exist (stored revisions start at 1).
func checkRevision(kind, id string, next, stored int64) error {
	switch {
	case next < 1:
		return fmt.Errorf("memstore: %s %s has revision %d; revisions start at 1", kind, id, next)
	case next == 1 && stored != 0:
		return fmt.Errorf("create %s %s: it exists at revision %d: %w", kind, id, stored, access.ErrStale)
	case next > 1 && stored == 0:
		return fmt.Errorf("update %s %s to revision %d: it does not exist: %w", kind, id, next, access.ErrStale)
	case next > 1 && stored != next-1:
		return fmt.Errorf("update %s %s to revision %d: stored revision is %d: %w", kind, id, next, stored, access.ErrStale)
	}
	return nil
}

// checkIssuers fails with access.ErrUnique when a tenant of the change would
// claim a JWT (issuer, audience) pair another tenant holds after the change.
// A tenant whose issuer and audience are both empty claims nothing.
func (s *Store) checkIssuers(tenants []access.Tenant) error {
	if len(tenants) == 0 {
		return nil
	}
	changing := make(map[string]bool, len(tenants))
	for _, t := range tenants {
		changing[t.ID] = true
	}
	claimed := make(map[issuer]string, len(tenants))
	for i := range tenants {
		t := &tenants[i]
		pair := issuerOf(t)
		if pair == (issuer{}) {
			continue
		}
		other, inChange := claimed[pair]
		if !inChange {
			if owner, ok := s.issuers[pair]; ok && owner != t.ID && !changing[owner] {
				other, inChange = owner, true
			}
		}
		if inChange && other != t.ID {
			return fmt.Errorf("tenant %s: JWT issuer %q and audience %q belong to tenant %s: %w", t.ID, pair.issuer, pair.audience, other, access.ErrUnique)
		}
		claimed[pair] = t.ID
	}
	return nil
}

// apply writes a checked change. It must be called with s.mu held.
func (s *Store) apply(c access.Change) {
	for _, t := range c.Tenants {
		if old := s.tenants[t.ID]; old != nil && s.issuers[issuerOf(old)] == t.ID {
			delete(s.issuers, issuerOf(old))
		}
	}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		s.tenants[t.ID] = t
		if pair := issuerOf(t); pair != (issuer{}) {
			s.issuers[pair] = t.ID
		}
	}
	for i := range c.Requests {
		r := &c.Requests[i]
		p := s.partition(r.TenantID)
		if old := p.requests[r.ID]; old != nil && !old.CreatedAt.Equal(r.CreatedAt) {
			p.requestOrder.remove(position{old.CreatedAt, old.ID})
		}
		p.requests[r.ID] = r
		p.requestOrder.put(position{r.CreatedAt, r.ID}, r)
	}
	for i := range c.Grants {
		g := &c.Grants[i]
		p := s.partition(g.TenantID)
		if old := p.grants[g.ID]; old != nil && !old.CreatedAt.Equal(g.CreatedAt) {
			p.grantOrder.remove(position{old.CreatedAt, old.ID})
		}
		p.grants[g.ID] = g
		p.grantOrder.put(position{g.CreatedAt, g.ID}, g)
	}
	for i := range c.APIKeys {
		k := &c.APIKeys[i]
		p := s.partition(k.TenantID)
		if old := s.keys[k.ID]; old != nil && !old.CreatedAt.Equal(k.CreatedAt) {
			p.keyOrder.remove(position{old.CreatedAt, old.ID})
		}
		s.keys[k.ID] = k
		p.keyOrder.put(position{k.CreatedAt, k.ID}, k)
	}
	for i := range c.PolicySets {
		ps := &c.PolicySets[i]
		s.partition(ps.TenantID).policies[ps.Version] = ps
	}
	for i := range c.Ledger {
		e := &c.Ledger[i]
		if e.Deleted {
			delete(s.ledger, e.Key)
			continue
		}
		s.ledger[e.Key] = e
	}
	for i := range c.CutSets {
		cs := &c.CutSets[i]
		if cs.Deleted {
			delete(s.cuts, cs.Key)
			continue
		}
		s.cuts[cs.Key] = cs
	}
	for i := range c.Suspensions {
		sp := &c.Suspensions[i]
		s.partition(sp.TenantID).suspensions[sp.IdentityStoreUserID] = sp
	}
	for _, tp := range c.Touched {
		s.touched[[2]string{tp.InstanceARN, tp.UserID}] = tp
	}
	for i := range c.Audit {
		e := &c.Audit[i]
		p := s.partition(e.TenantID)
		p.auditIDs[e.ID] = true
		p.audit.put(position{e.At, e.ID}, e)
	}
	if r := c.Idempotency; r != nil {
		s.idempotency[r.Scope] = r
		s.sweepIdempotency()
	}
}

// sweepIdempotency drops expired idempotency records each time their number
// doubles, so a long-running local server does not keep them forever at an
// amortized constant cost per write.
func (s *Store) sweepIdempotency() {
	if len(s.idempotency) < s.sweepAt {
		return
	}
	now := s.now()
	for scope, r := range s.idempotency {
		if !live(r.ExpiresAt, now) {
			delete(s.idempotency, scope)
		}
	}
	s.sweepAt = max(minSweep, 2*len(s.idempotency))
}

// live reports whether an item with this expiry is still visible at now. A
// zero expiry never ends.
func live(expiresAt, now time.Time) bool {
	return expiresAt.IsZero() || now.Before(expiresAt)
}

// partition returns a tenant's partition, creating it. It must be called with
// s.mu held for writing.
func (s *Store) partition(tenantID string) *partition {
	p := s.partitions[tenantID]
	if p == nil {
		p = &partition{
			requests: map[string]*access.Request{},
			grants:   map[string]*access.Grant{},
			auditIDs: map[string]bool{},
			policies: map[int]*access.PolicySet{},

			suspensions: map[string]*access.Suspension{},
		}
		s.partitions[tenantID] = p
	}
	return p
}

// The lookups below accept a nil partition (a tenant with nothing stored).

func (p *partition) request(id string) *access.Request {
	if p == nil {
		return nil
	}
	return p.requests[id]
}

func (p *partition) grant(id string) *access.Grant {
	if p == nil {
		return nil
	}
	return p.grants[id]
}

func (p *partition) suspension(identityStoreUserID string) *access.Suspension {
	if p == nil {
		return nil
	}
	return p.suspensions[identityStoreUserID]
}

func (p *partition) policy(version int) *access.PolicySet {
	if p == nil {
		return nil
	}
	return p.policies[version]
}
