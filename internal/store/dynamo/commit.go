package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/elevate-jit/elevate/internal/access"
)

// What a write's item is, where a failed condition means something other
// than a stale revision.
const (
	kindIdempotency = "idempotency record"
	kindIssuer      = "JWT issuer claim"
)

// write is one item write of a commit: a conditional put, or a conditional
// delete when item is nil.
type write struct {
	kind, id string
	item     map[string]types.AttributeValue
	key      map[string]types.AttributeValue
	cond     expression.ConditionBuilder
}

// Commit applies a change atomically: one conditional PutItem or DeleteItem
// when it writes one item, else one TransactWriteItems. See access.Store for
// the errors.
func (s *Store) Commit(ctx context.Context, c access.Change) error {
	if err := checkShape(c); err != nil {
		return err
	}
	writes, err := s.writes(ctx, c)
	if err == nil {
		err = s.apply(ctx, writes)
	}
	if s.tenants != nil {
		for _, t := range c.Tenants {
			if err == nil {
				s.tenants.put(t)
			} else {
				s.tenants.drop(t.ID)
			}
		}
	}
	return err
}

// writes turns a change into item writes with their conditions.
func (s *Store) writes(ctx context.Context, c access.Change) ([]write, error) {
	var (
		ws  []write
		add = func(kind, id string, v any, cond expression.ConditionBuilder) error {
			m, err := marshal(v)
			if err != nil {
				return err
			}
			ws = append(ws, write{kind: kind, id: id, item: m, cond: cond})
			return nil
		}
	)
	claims, err := s.issuerClaims(ctx, c.Tenants)
	if err != nil {
		return nil, err
	}
	for _, t := range c.Tenants {
		if err := add("tenant", t.ID, tenantToItem(t), revision(t.Revision)); err != nil {
			return nil, err
		}
	}
	ws = append(ws, claims...)
	for _, r := range c.Requests {
		items, err := requestToItems(r)
		if err != nil {
			return nil, fmt.Errorf("request %s: %w", r.ID, err)
		}
		for _, it := range items {
			if err := add("request", r.ID, it, revision(r.Revision)); err != nil {
				return nil, err
			}
		}
	}
	for _, g := range c.Grants {
		it, err := grantToItem(g)
		if err != nil {
			return nil, fmt.Errorf("grant %s: %w", g.ID, err)
		}
		if err := add("grant", g.ID, it, revision(g.Revision)); err != nil {
			return nil, err
		}
	}
	for _, k := range c.APIKeys {
		if err := add("api key", k.ID, apiKeyToItem(k), revision(k.Revision)); err != nil {
			return nil, err
		}
		if k.Revision == 1 {
			// Key ids are global: the first write claims the id.
			claim := keyClaimItem{keys: keys{PK: keyClaimPK(k.ID), SK: skKeyID}, TenantID: k.TenantID}
			if err := add("api key id", k.ID, claim, notExists()); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range c.PolicySets {
		if p.Version < 1 {
			return nil, fmt.Errorf("dynamo: policy set version %d: versions start at 1", p.Version)
		}
		if err := add("policy set version", fmt.Sprint(p.Version), policyToItem(p), notExists()); err != nil {
			return nil, err
		}
	}
	for _, e := range c.Ledger {
		it := ledgerToItem(e)
		if !e.Deleted {
			if err := add("ledger entry", it.PK, it, revision(e.Revision)); err != nil {
				return nil, err
			}
			continue
		}
		key, err := marshal(keys{PK: it.PK, SK: it.SK})
		if err != nil {
			return nil, err
		}
		ws = append(ws, write{kind: "ledger entry", id: it.PK, key: key, cond: revision(e.Revision)})
	}
	for _, cs := range c.CutSets {
		it := cutSetToItem(cs)
		if !cs.Deleted {
			if err := add("session cuts", it.PK, it, revision(cs.Revision)); err != nil {
				return nil, err
			}
			continue
		}
		key, err := marshal(keys{PK: it.PK, SK: it.SK})
		if err != nil {
			return nil, err
		}
		ws = append(ws, write{kind: "session cuts", id: it.PK, key: key, cond: revision(cs.Revision)})
	}
	for _, sp := range c.Suspensions {
		if err := add("break-glass standing", sp.IdentityStoreUserID, suspensionToItem(sp), revision(sp.Revision)); err != nil {
			return nil, err
		}
	}
	for _, tp := range c.Touched {
		it := touchedToItem(tp)
		always := expression.Name(attrPK).AttributeExists().Or(expression.Name(attrPK).AttributeNotExists())
		if err := add("touched principal", it.PK, it, always); err != nil {
			return nil, err
		}
	}
	for _, e := range c.Audit {
		it, err := auditToItem(e)
		if err != nil {
			return nil, fmt.Errorf("audit event %s: %w", e.ID, err)
		}
		if err := add("audit event", e.ID, it, notExists()); err != nil {
			return nil, err
		}
	}
	if r := c.Idempotency; r != nil {
		it, err := idempotencyToItem(*r)
		if err != nil {
			return nil, fmt.Errorf("idempotency record: %w", err)
		}
		// An expired record counts as absent and is replaced.
		expired := expression.Name(attrExpiresAt).LessThanEqual(expression.Value(formatTime(s.now())))
		if err := add(kindIdempotency, r.Scope.Key, it, notExists().Or(expired)); err != nil {
			return nil, err
		}
	}
	return ws, nil
}

// notExists is the condition of a create.
func notExists() expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name(attrPK))
}

// revision is the condition of writing an object at revision rev: revision
// 1 creates it, revision n > 1 replaces revision n-1.
func revision(rev int64) expression.ConditionBuilder {
	if rev <= 1 {
		return notExists()
	}
	return expression.Name(attrRev).Equal(expression.Value(rev - 1))
}

// issuerPair is a tenant's JWT (issuer, audience); the zero pair claims
// nothing.
type issuerPair struct{ issuer, audience string }

func pairOf(t access.Tenant) issuerPair {
	return issuerPair{t.Settings.JWT.Issuer, t.Settings.JWT.Audience}
}

// claimOp is what a change does to one issuer claim item.
type claimOp struct {
	pair     issuerPair
	owner    string   // the tenant that claims the pair, if any
	releases []string // tenants that give the pair up
}

// issuerClaims returns the writes that move the JWT issuer claims of the
// change's tenants: a tenant that changes its pair deletes its old claim and
// puts the new one, on condition that no other tenant holds it. Two tenants
// of the change claiming one pair fail with access.ErrUnique here, since one
// transaction cannot write an item twice.
func (s *Store) issuerClaims(ctx context.Context, tenants []access.Tenant) ([]write, error) {
	ops := map[string]*claimOp{}
	var order []string
	op := func(p issuerPair) *claimOp {
		pk := issuerPK(p.issuer, p.audience)
		if ops[pk] == nil {
			ops[pk] = &claimOp{pair: p}
			order = append(order, pk)
		}
		return ops[pk]
	}
	for _, t := range tenants {
		next := pairOf(t)
		var prev issuerPair
		if t.Revision > 1 {
			var err error
			if prev, err = s.storedPair(ctx, t); err != nil {
				return nil, err
			}
		}
		if prev == next {
			continue // the stored revision holds this claim already
		}
		if prev != (issuerPair{}) {
			o := op(prev)
			o.releases = append(o.releases, t.ID)
		}
		if next != (issuerPair{}) {
			o := op(next)
			if o.owner != "" {
				return nil, fmt.Errorf("dynamo: tenants %s and %s claim JWT issuer %q and audience %q: %w", o.owner, t.ID, next.issuer, next.audience, access.ErrUnique)
			}
			o.owner = t.ID
		}
	}
	var ws []write
	for _, pk := range order {
		o := ops[pk]
		key := keys{PK: pk, SK: skIssuer}
		// The claim may be taken over from the tenants that give it up in
		// this change, and from nobody else.
		free := notExists()
		for _, id := range o.releases {
			free = free.Or(expression.Name(attrTenantID).Equal(expression.Value(id)))
		}
		if o.owner == "" {
			m, err := marshal(key)
			if err != nil {
				return nil, err
			}
			ws = append(ws, write{kind: kindIssuer, id: o.pair.issuer, key: m, cond: free})
			continue
		}
		m, err := marshal(issuerItem{keys: key, TenantID: o.owner, Issuer: o.pair.issuer, Audience: o.pair.audience})
		if err != nil {
			return nil, err
		}
		mine := expression.Name(attrTenantID).Equal(expression.Value(o.owner))
		ws = append(ws, write{kind: kindIssuer, id: o.pair.issuer, item: m, cond: free.Or(mine)})
	}
	return ws, nil
}

// storedPair returns the JWT pair of the tenant revision t replaces, from
// the cache when it holds that revision (a revision's content never
// changes) or else from the table. A tenant not at the revision t expects
// is a stale write.
func (s *Store) storedPair(ctx context.Context, t access.Tenant) (issuerPair, error) {
	if s.tenants != nil {
		if old, ok := s.tenants.get(t.ID); ok && old.Revision == t.Revision-1 {
			return pairOf(old), nil
		}
	}
	old, err := s.readTenant(ctx, t.ID)
	switch {
	case errors.Is(err, access.ErrNotFound):
		return issuerPair{}, fmt.Errorf("dynamo: update tenant %s to revision %d: it does not exist: %w", t.ID, t.Revision, access.ErrStale)
	case err != nil:
		return issuerPair{}, err
	case old.Revision != t.Revision-1:
		return issuerPair{}, fmt.Errorf("dynamo: update tenant %s to revision %d: stored revision is %d: %w", t.ID, t.Revision, old.Revision, access.ErrStale)
	}
	return pairOf(old), nil
}

// apply sends the writes: one conditional write alone, several in one
// transaction.
func (s *Store) apply(ctx context.Context, ws []write) error {
	switch {
	case len(ws) == 0:
		return nil
	case len(ws) > maxTransactItems:
		return fmt.Errorf("dynamo: a change of %d items is over DynamoDB's limit of %d per transaction", len(ws), maxTransactItems)
	case len(ws) == 1:
		return s.applyOne(ctx, ws[0])
	}
	items := make([]types.TransactWriteItem, len(ws))
	for i, w := range ws {
		ex, err := expression.NewBuilder().WithCondition(w.cond).Build()
		if err != nil {
			return fmt.Errorf("dynamo: condition of %s %s: %w", w.kind, w.id, err)
		}
		if w.item != nil {
			items[i].Put = &types.Put{
				TableName: aws.String(s.table), Item: w.item, ConditionExpression: ex.Condition(),
				ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
			}
		} else {
			items[i].Delete = &types.Delete{
				TableName: aws.String(s.table), Key: w.key, ConditionExpression: ex.Condition(),
				ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
			}
		}
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		if mapped := cancellation(ws, canceled.CancellationReasons); mapped != nil {
			return mapped
		}
	}
	return wrap("commit", err)
}

func (s *Store) applyOne(ctx context.Context, w write) error {
	ex, err := expression.NewBuilder().WithCondition(w.cond).Build()
	if err != nil {
		return fmt.Errorf("dynamo: condition of %s %s: %w", w.kind, w.id, err)
	}
	if w.item != nil {
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.table), Item: w.item, ConditionExpression: ex.Condition(),
			ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		})
	} else {
		_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(s.table), Key: w.key, ConditionExpression: ex.Condition(),
			ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		})
	}
	if ccf := (*types.ConditionalCheckFailedException)(nil); errors.As(err, &ccf) {
		return conditionFailed(w)
	}
	return wrap("commit", err)
}

// conditionFailed is the error of a write whose condition failed.
func conditionFailed(w write) error {
	switch w.kind {
	case kindIdempotency:
		return fmt.Errorf("dynamo: record idempotency key %q: %w", w.id, access.ErrIdempotencyTaken)
	case kindIssuer:
		return fmt.Errorf("dynamo: JWT issuer %q with this audience belongs to another tenant: %w", w.id, access.ErrUnique)
	}
	return fmt.Errorf("dynamo: write %s %s: it is not at the expected revision: %w", w.kind, w.id, access.ErrStale)
}

// cancellation maps the reasons a transaction was cancelled to the store's
// errors: a failed condition on the idempotency record means the key is
// taken, on an issuer claim that the pair is used, on anything else that
// the change is stale. A transaction conflict (another transaction writing
// the same item at the same moment) counts as a failed condition: the
// idempotency key is being used, or the object is changing. It returns nil
// when no reason explains the cancellation.
func cancellation(ws []write, reasons []types.CancellationReason) error {
	var taken, unique, stale error
	for i, r := range reasons {
		if i >= len(ws) {
			break
		}
		switch aws.ToString(r.Code) {
		case "ConditionalCheckFailed", "TransactionConflict":
		default:
			continue
		}
		err := conditionFailed(ws[i])
		switch {
		case errors.Is(err, access.ErrIdempotencyTaken):
			taken = cmpOr(taken, err)
		case ws[i].kind == kindIssuer && aws.ToString(r.Code) == "ConditionalCheckFailed":
			unique = cmpOr(unique, err)
		case ws[i].kind == kindIssuer:
			stale = cmpOr(stale, fmt.Errorf("dynamo: JWT issuer claim %q is being written concurrently: %w", ws[i].id, access.ErrStale))
		default:
			stale = cmpOr(stale, err)
		}
	}
	return cmpOr(taken, unique, stale)
}

// cmpOr returns the first non-nil error.
func cmpOr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkShape rejects changes no store could apply: objects without a tenant
// or id, tenant ids that cannot be part of a key, revisions below 1, and an
// item written twice in one change (one transaction cannot write an item
// twice). These are the caller's mistakes, not conflicts.
func checkShape(c access.Change) error {
	seen := map[string]bool{}
	var errs []error
	check := func(kind, tenantID, id string, rev int64, item string) {
		switch {
		case !validTenantID(tenantID):
			errs = append(errs, fmt.Errorf("dynamo: %s %q has an invalid tenant id %q", kind, id, tenantID))
		case id == "":
			errs = append(errs, fmt.Errorf("dynamo: %s of tenant %s without an id", kind, tenantID))
		case rev < 1:
			errs = append(errs, fmt.Errorf("dynamo: %s %s has revision %d; revisions start at 1", kind, id, rev))
		case seen[item]:
			errs = append(errs, fmt.Errorf("dynamo: the change writes %s %s twice", kind, id))
		}
		seen[item] = true
	}
	for _, t := range c.Tenants {
		check("tenant", t.ID, t.ID, t.Revision, tenantKey(t.ID))
	}
	for _, r := range c.Requests {
		check("request", r.TenantID, r.ID, r.Revision, requestPK(r.TenantID, r.ID))
	}
	for _, g := range c.Grants {
		check("grant", g.TenantID, g.ID, g.Revision, grantPK(g.TenantID, g.ID))
	}
	for _, k := range c.APIKeys {
		check("api key", k.TenantID, k.ID, k.Revision, keyClaimPK(k.ID)) // key ids are global
	}
	for _, p := range c.PolicySets {
		check("policy set", p.TenantID, fmt.Sprint(p.Version), 1, policyPK(p.TenantID)+policySK(p.Version))
	}
	for _, e := range c.Ledger {
		id := e.Key.InstanceARN + "/" + e.Key.AccountID + "/" + e.Key.PermissionSetARN + "/" + e.Key.PrincipalID
		switch {
		case e.Key.InstanceARN == "" || e.Key.PrincipalID == "" || e.Key.AccountID == "" || e.Key.PermissionSetARN == "":
			errs = append(errs, fmt.Errorf("dynamo: ledger entry %q without a complete assignment key", id))
		case e.Revision < 1:
			errs = append(errs, fmt.Errorf("dynamo: ledger entry %s has revision %d; revisions start at 1", id, e.Revision))
		case seen[ledgerPK(e.Key)]:
			errs = append(errs, fmt.Errorf("dynamo: the change writes ledger entry %s twice", id))
		}
		seen[ledgerPK(e.Key)] = true
	}
	for _, cs := range c.CutSets {
		id := cs.Key.InstanceARN + "/" + cs.Key.PermissionSetARN
		switch {
		case cs.Key.InstanceARN == "" || cs.Key.PermissionSetARN == "":
			errs = append(errs, fmt.Errorf("dynamo: session cuts %q without a complete key", id))
		case cs.Revision < 1:
			errs = append(errs, fmt.Errorf("dynamo: session cuts %s have revision %d; revisions start at 1", id, cs.Revision))
		case seen[cutSetPK(cs.Key)]:
			errs = append(errs, fmt.Errorf("dynamo: the change writes session cuts %s twice", id))
		}
		seen[cutSetPK(cs.Key)] = true
	}
	for _, sp := range c.Suspensions {
		check("break-glass standing", sp.TenantID, sp.IdentityStoreUserID, sp.Revision, suspensionPK(sp.TenantID, sp.IdentityStoreUserID))
	}
	for _, e := range c.Audit {
		check("audit event", e.TenantID, e.ID, 1, auditPK(e.TenantID)+sortKey(e.At, e.ID))
	}
	if r := c.Idempotency; r != nil {
		check(kindIdempotency, r.Scope.TenantID, r.Scope.Key, 1, idempotencyPK(r.Scope))
	}
	return errors.Join(errs...)
}
