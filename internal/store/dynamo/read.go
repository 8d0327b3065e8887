package dynamo

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/elevate-jit/elevate/internal/access"
)

// getItem reads one item with a strongly consistent GetItem, so that a read
// before a conditional write sees the latest revision. found is false when
// there is no such item.
func (s *Store) getItem(ctx context.Context, pk, sk string, v any) (found bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			attrPK: &types.AttributeValueMemberS{Value: pk},
			attrSK: &types.AttributeValueMemberS{Value: sk},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, wrap("get "+pk, err)
	}
	if out.Item == nil {
		return false, nil
	}
	return true, unmarshal(out.Item, v)
}

// GetTenant returns a tenant, from the cache when it was read or written
// within the cache's TTL.
func (s *Store) GetTenant(ctx context.Context, id string) (access.Tenant, error) {
	if s.tenants != nil {
		if t, ok := s.tenants.get(id); ok {
			return t, nil
		}
	}
	t, err := s.readTenant(ctx, id)
	if err == nil && s.tenants != nil {
		s.tenants.put(t)
	}
	return t, err
}

// readTenant reads a tenant from the table.
func (s *Store) readTenant(ctx context.Context, id string) (access.Tenant, error) {
	if !validTenantID(id) {
		return access.Tenant{}, errNotFound("tenant %s", id)
	}
	var it tenantItem
	found, err := s.getItem(ctx, tenantKey(id), skTenant, &it)
	if err != nil || !found {
		return access.Tenant{}, cmpOr(err, errNotFound("tenant %s", id))
	}
	return tenantFromData(it.tenantData)
}

// TenantIDForIssuer reads the claim of a JWT issuer and audience.
func (s *Store) TenantIDForIssuer(ctx context.Context, issuer, audience string) (string, error) {
	var it issuerItem
	found, err := s.getItem(ctx, issuerPK(issuer, audience), skIssuer, &it)
	if err != nil {
		return "", err
	}
	if !found || it.Issuer != issuer || it.Audience != audience {
		return "", errNotFound("tenant of JWT issuer %q and audience %q", issuer, audience)
	}
	return it.TenantID, nil
}

// GetRequest returns a request of a tenant.
func (s *Store) GetRequest(ctx context.Context, tenantID, id string) (access.Request, error) {
	if !validTenantID(tenantID) {
		return access.Request{}, errNotFound("request %s of tenant %s", id, tenantID)
	}
	var it requestItem
	found, err := s.getItem(ctx, requestPK(tenantID, id), skRequest, &it)
	if err != nil || !found {
		return access.Request{}, cmpOr(err, errNotFound("request %s of tenant %s", id, tenantID))
	}
	return requestFromData(it.requestData)
}

// ListRequests lists a tenant's requests that match f, newest first (oldest
// first with f.OldestFirst), with one Query on the index that fits the
// filter best (docs/storage.md).
func (s *Store) ListRequests(ctx context.Context, tenantID string, f access.RequestFilter, p access.PageRequest) (access.Page[access.Request], error) {
	if !validTenantID(tenantID) {
		return access.Page[access.Request]{Items: []access.Request{}}, nil
	}
	statuses := distinct(f.Statuses)
	if len(statuses) == len(access.RequestStatuses) && allKnown(statuses, access.RequestStatuses) {
		statuses = nil // every status: no filter
	}
	l := listing{name: "requests", ascending: f.OldestFirst}
	var conds []expression.ConditionBuilder
	switch {
	case f.SortBy == access.SortUpdatedAt:
		// Only GSI8 is sorted by update: one partition per status, the
		// other filters on the items read.
		l.name = "requests-by-update"
		sts := statuses
		if len(sts) == 0 {
			sts = access.RequestStatuses
		}
		for _, st := range sts {
			l.sources = append(l.sources, source{index: idxUpdated.name, pk: idxUpdated.pk, sk: attrUpdatedSK, value: requestsByStatus(tenantID, st)})
		}
		statuses = nil
		conds = append(conds, equal("requester", f.RequesterID), equal("grantee", f.GranteeID))
		if f.Party != "" {
			conds = append(conds, expression.Or(expression.Name("requester").Equal(expression.Value(f.Party)), expression.Name("grantee").Equal(expression.Value(f.Party))))
		}
	case f.Party != "":
		l.sources = []source{onIndex(idxParty, requestsByParty(tenantID, f.Party))}
		conds = append(conds, equal("requester", f.RequesterID), equal("grantee", f.GranteeID))
	case f.RequesterID != "":
		l.sources = []source{onIndex(idxRequester, requestsByRequester(tenantID, f.RequesterID))}
		conds = append(conds, equal("grantee", f.GranteeID))
	case f.GranteeID != "":
		l.sources = []source{onIndex(idxGrantee, requestsByGrantee(tenantID, f.GranteeID))}
	case len(statuses) == 0:
		l.sources = []source{onIndex(idxAll, requestsAll(tenantID))}
	default:
		// A set of statuses merges one partition of the status index per
		// status, so its pages are exact.
		for _, st := range statuses {
			l.sources = append(l.sources, onIndex(idxStatus, requestsByStatus(tenantID, st)))
		}
		statuses = nil
	}
	conds = append(conds, equal("resource.type", string(f.ResourceType)))
	if f.AccountID != "" {
		// The target account: the id of an account, the account of the rest.
		account := expression.Value(string(access.ResourceAccount))
		conds = append(conds, expression.Or(
			expression.And(expression.Name("resource.type").NotEqual(account), expression.Name("resource.account_id").Equal(expression.Value(f.AccountID))),
			expression.And(expression.Name("resource.type").Equal(account), expression.Name("resource.id").Equal(expression.Value(f.AccountID)))))
	}
	if !f.UpdatedAfter.IsZero() {
		conds = append(conds, expression.Name("updated_at").GreaterThan(expression.Value(formatTime(f.UpdatedAfter))))
	}
	if !f.UpdatedBefore.IsZero() {
		conds = append(conds, expression.Name("updated_at").LessThan(expression.Value(formatTime(f.UpdatedBefore))))
	}
	conds = append(conds, statusIn(statuses))
	l.filter = and(conds)
	items, next, err := s.list(ctx, l, p)
	if err != nil {
		return access.Page[access.Request]{}, err
	}
	out := access.Page[access.Request]{Items: make([]access.Request, 0, len(items)), Next: next}
	for _, m := range items {
		var it requestItem
		if err := unmarshal(m, &it); err != nil {
			return access.Page[access.Request]{}, err
		}
		r, err := requestFromData(it.requestData)
		if err != nil {
			return access.Page[access.Request]{}, err
		}
		out.Items = append(out.Items, r)
	}
	return out, nil
}

// GetGrant returns a grant of a tenant.
func (s *Store) GetGrant(ctx context.Context, tenantID, id string) (access.Grant, error) {
	if !validTenantID(tenantID) {
		return access.Grant{}, errNotFound("grant %s of tenant %s", id, tenantID)
	}
	var it grantItem
	found, err := s.getItem(ctx, grantPK(tenantID, id), skGrant, &it)
	if err != nil || !found {
		return access.Grant{}, cmpOr(err, errNotFound("grant %s of tenant %s", id, tenantID))
	}
	return grantFromData(it.grantData)
}

// ListGrants lists a tenant's grants that match f, newest first.
func (s *Store) ListGrants(ctx context.Context, tenantID string, f access.GrantFilter, p access.PageRequest) (access.Page[access.Grant], error) {
	if !validTenantID(tenantID) {
		return access.Page[access.Grant]{Items: []access.Grant{}}, nil
	}
	statuses := distinct(f.Statuses)
	if len(statuses) == len(access.GrantStatuses) && allKnown(statuses, access.GrantStatuses) {
		statuses = nil
	}
	l := listing{name: "grants"}
	switch {
	case f.GranteeID != "":
		l.sources = []source{onIndex(idxGrantee, grantsByGrantee(tenantID, f.GranteeID))}
		l.filter = and([]expression.ConditionBuilder{statusIn(statuses)})
	case len(statuses) == 0:
		l.sources = []source{onIndex(idxAll, grantsAll(tenantID))}
	default:
		for _, st := range statuses {
			l.sources = append(l.sources, onIndex(idxStatus, grantsByStatus(tenantID, st)))
		}
	}
	items, next, err := s.list(ctx, l, p)
	if err != nil {
		return access.Page[access.Grant]{}, err
	}
	out := access.Page[access.Grant]{Items: make([]access.Grant, 0, len(items)), Next: next}
	for _, m := range items {
		var it grantItem
		if err := unmarshal(m, &it); err != nil {
			return access.Page[access.Grant]{}, err
		}
		g, err := grantFromData(it.grantData)
		if err != nil {
			return access.Page[access.Grant]{}, err
		}
		out.Items = append(out.Items, g)
	}
	return out, nil
}

// GetAPIKey finds an API key by its id alone, with one Query on the key id
// index. The index is eventually consistent: a key is found a moment after
// it is created, and its revocation shows a moment after it is written,
// well within the 60 s a key may be cached.
func (s *Store) GetAPIKey(ctx context.Context, id string) (access.APIKey, error) {
	key := expression.Key(idxKeyID.pk).Equal(expression.Value(keyIDKey(id)))
	ex, err := expression.NewBuilder().WithKeyCondition(key).Build()
	if err != nil {
		return access.APIKey{}, fmt.Errorf("dynamo: get api key: %w", err)
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(idxKeyID.name),
		KeyConditionExpression: ex.KeyCondition(), ExpressionAttributeNames: ex.Names(),
		ExpressionAttributeValues: ex.Values(), Limit: aws.Int32(2),
	})
	if err != nil {
		return access.APIKey{}, wrap("get api key", err)
	}
	switch len(out.Items) {
	case 0:
		// The index is eventually consistent: a key created a moment ago may
		// not be in it yet. Its id claim is read consistently and names the
		// tenant, so a new key works at once (this costs two more reads, on
		// cold lookups of new or unknown ids only).
		return s.getAPIKeyConsistently(ctx, id)
	case 1:
	default:
		return access.APIKey{}, fmt.Errorf("dynamo: api key id %s is stored more than once", id)
	}
	var it apiKeyItem
	if err := unmarshal(out.Items[0], &it); err != nil {
		return access.APIKey{}, err
	}
	return apiKeyFromData(it.apiKeyData)
}

// getAPIKeyConsistently finds a key through its id claim.
func (s *Store) getAPIKeyConsistently(ctx context.Context, id string) (access.APIKey, error) {
	var claim keyClaimItem
	found, err := s.getItem(ctx, keyClaimPK(id), skKeyID, &claim)
	if err != nil || !found {
		return access.APIKey{}, errOr(err, errNotFound("API key %s", id))
	}
	var it apiKeyItem
	found, err = s.getItem(ctx, keyPK(claim.TenantID, id), skKey, &it)
	if err != nil || !found {
		return access.APIKey{}, errOr(err, errNotFound("API key %s", id))
	}
	return apiKeyFromData(it.apiKeyData)
}

func errOr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// ListAPIKeys lists a tenant's API keys, revoked and expired ones included,
// newest first.
func (s *Store) ListAPIKeys(ctx context.Context, tenantID string, p access.PageRequest) (access.Page[access.APIKey], error) {
	if !validTenantID(tenantID) {
		return access.Page[access.APIKey]{Items: []access.APIKey{}}, nil
	}
	l := listing{name: "api keys", sources: []source{onIndex(idxAll, keysAll(tenantID))}}
	items, next, err := s.list(ctx, l, p)
	if err != nil {
		return access.Page[access.APIKey]{}, err
	}
	out := access.Page[access.APIKey]{Items: make([]access.APIKey, 0, len(items)), Next: next}
	for _, m := range items {
		var it apiKeyItem
		if err := unmarshal(m, &it); err != nil {
			return access.Page[access.APIKey]{}, err
		}
		k, err := apiKeyFromData(it.apiKeyData)
		if err != nil {
			return access.Page[access.APIKey]{}, err
		}
		out.Items = append(out.Items, k)
	}
	return out, nil
}

// ListAuditEvents lists a tenant's audit events newest first, skipping those
// past their retention, which DynamoDB's TTL deletes only some time later.
func (s *Store) ListAuditEvents(ctx context.Context, tenantID string, p access.PageRequest) (access.Page[access.AuditEvent], error) {
	if !validTenantID(tenantID) {
		return access.Page[access.AuditEvent]{Items: []access.AuditEvent{}}, nil
	}
	now := formatTime(s.now())
	l := listing{
		name:    "audit events",
		sources: []source{{pk: attrPK, sk: attrSK, value: auditPK(tenantID)}},
		keep: func(m map[string]types.AttributeValue) bool {
			exp, ok := stringAttr(m, attrExpiresAt)
			return !ok || exp == "" || now < exp
		},
	}
	items, next, err := s.list(ctx, l, p)
	if err != nil {
		return access.Page[access.AuditEvent]{}, err
	}
	out := access.Page[access.AuditEvent]{Items: make([]access.AuditEvent, 0, len(items)), Next: next}
	for _, m := range items {
		var it auditItem
		if err := unmarshal(m, &it); err != nil {
			return access.Page[access.AuditEvent]{}, err
		}
		e, err := auditFromItem(it)
		if err != nil {
			return access.Page[access.AuditEvent]{}, err
		}
		out.Items = append(out.Items, e)
	}
	return out, nil
}

// GetIdempotency returns the idempotency record of a scope unless it has
// expired.
func (s *Store) GetIdempotency(ctx context.Context, scope access.IdempotencyScope) (access.IdempotencyRecord, error) {
	if !validTenantID(scope.TenantID) {
		return access.IdempotencyRecord{}, errNotFound("idempotency record %q of tenant %s", scope.Key, scope.TenantID)
	}
	var it idempotencyItem
	found, err := s.getItem(ctx, idempotencyPK(scope), skIdem, &it)
	if err != nil {
		return access.IdempotencyRecord{}, err
	}
	if !found || (it.ExpiresAt != "" && formatTime(s.now()) >= it.ExpiresAt) ||
		it.PrincipalID != scope.PrincipalID || it.Route != scope.Route || it.Key != scope.Key {
		return access.IdempotencyRecord{}, errNotFound("idempotency record %q of tenant %s", scope.Key, scope.TenantID)
	}
	return idempotencyFromItem(it)
}

// GetPolicySet returns one version of a tenant's policy set.
func (s *Store) GetPolicySet(ctx context.Context, tenantID string, version int) (access.PolicySet, error) {
	if !validTenantID(tenantID) {
		return access.PolicySet{}, errNotFound("policy set version %d of tenant %s", version, tenantID)
	}
	var it policyItem
	found, err := s.getItem(ctx, policyPK(tenantID), policySK(version), &it)
	if err != nil || !found {
		return access.PolicySet{}, cmpOr(err, errNotFound("policy set version %d of tenant %s", version, tenantID))
	}
	return policyFromItem(it)
}

// GetLedgerEntry returns the deployment's ledger entry of an assignment.
func (s *Store) GetLedgerEntry(ctx context.Context, key access.AssignmentKey) (access.LedgerEntry, error) {
	var it ledgerItem
	found, err := s.getItem(ctx, ledgerPK(key), skLedger, &it)
	if err != nil || !found {
		return access.LedgerEntry{}, cmpOr(err, errNotFound("ledger entry for user %s in account %s", key.PrincipalID, key.AccountID))
	}
	return ledgerFromItem(it)
}

// distinct returns the statuses sorted and without repeats.
func distinct[T ~string](list []T) []T {
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// allKnown reports whether every status is a known one.
func allKnown[T ~string](list, known []T) bool {
	for _, s := range list {
		if !slices.Contains(known, s) {
			return false
		}
	}
	return true
}

// equal is the filter attr = value, or nothing when value is empty.
func equal(attr, value string) expression.ConditionBuilder {
	if value == "" {
		return expression.ConditionBuilder{}
	}
	return expression.Name(attr).Equal(expression.Value(value))
}

// statusIn is the filter status IN (statuses), or nothing when empty.
func statusIn[T ~string](statuses []T) expression.ConditionBuilder {
	switch len(statuses) {
	case 0:
		return expression.ConditionBuilder{}
	case 1:
		return expression.Name("status").Equal(expression.Value(string(statuses[0])))
	}
	vals := make([]expression.OperandBuilder, len(statuses)-1)
	for i, st := range statuses[1:] {
		vals[i] = expression.Value(string(st))
	}
	return expression.Name("status").In(expression.Value(string(statuses[0])), vals...)
}

// and joins the conditions that are set, or returns nil when none is.
func and(conds []expression.ConditionBuilder) *expression.ConditionBuilder {
	var set []expression.ConditionBuilder
	for _, c := range conds {
		if c.IsSet() {
			set = append(set, c)
		}
	}
	switch len(set) {
	case 0:
		return nil
	case 1:
		return &set[0]
	}
	c := expression.And(set[0], set[1], set[2:]...)
	return &c
}

// ListPendingReviews lists a tenant's grants whose review is pending and
// passes f, earliest due first: one Query per page on GSI8, over the
// partition of reviews not yet announced overdue and, unless f.Unannounced,
// the one of those announced.
func (s *Store) ListPendingReviews(ctx context.Context, tenantID string, f access.ReviewFilter, p access.PageRequest) (access.Page[access.Grant], error) {
	if !validTenantID(tenantID) {
		return access.Page[access.Grant]{Items: []access.Grant{}}, nil
	}
	var upTo string
	if !f.DueBy.IsZero() {
		upTo = f.DueBy.UTC().Format(timeLayout) + "$" // after every "<due>#<id>" of that time
	}
	src := func(announced bool) source {
		return source{index: idxUpdated.name, pk: idxUpdated.pk, sk: attrUpdatedSK, value: reviewsPending(tenantID, announced), upTo: upTo}
	}
	l := listing{name: "pending reviews", sources: []source{src(false)}, ascending: true}
	if !f.Unannounced {
		l.sources = append(l.sources, src(true))
	}
	return listOf(ctx, s, l, p, func(it grantItem) (access.Grant, error) { return grantFromData(it.grantData) })
}

// GetSuspension returns a person's break-glass standing, by Identity Store
// user id: one GetItem.
func (s *Store) GetSuspension(ctx context.Context, tenantID, userID string) (access.Suspension, error) {
	if !validTenantID(tenantID) {
		return access.Suspension{}, errNotFound("break-glass standing of %s in tenant %s", userID, tenantID)
	}
	var it suspensionItem
	found, err := s.getItem(ctx, suspensionPK(tenantID, userID), skSuspension, &it)
	if err != nil || !found {
		return access.Suspension{}, cmpOr(err, errNotFound("break-glass standing of %s in tenant %s", userID, tenantID))
	}
	return suspensionFromItem(it)
}

// ListSuspensions lists a tenant's break-glass standings, lifted ones
// included, in the order they last changed, oldest first: one Query per
// page of GSI1.
func (s *Store) ListSuspensions(ctx context.Context, tenantID string, p access.PageRequest) (access.Page[access.Suspension], error) {
	if !validTenantID(tenantID) {
		return access.Page[access.Suspension]{Items: []access.Suspension{}}, nil
	}
	l := listing{name: "break-glass standings", sources: []source{onIndex(idxAll, suspensionsAll(tenantID))}, ascending: true}
	return listOf(ctx, s, l, p, suspensionFromItem)
}
