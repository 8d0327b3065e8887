package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/elevate-jit/elevate/internal/access"
)

var _ access.SweepStore = (*Store)(nil)

// ListTenantIDs lists every tenant, oldest first: one Query per page of the
// deployment-level partition of GSI1.
func (s *Store) ListTenantIDs(ctx context.Context, p access.PageRequest) (access.Page[string], error) {
	l := listing{name: "tenants", sources: []source{onIndex(idxAll, tenantsAll)}, ascending: true}
	return listOf(ctx, s, l, p, func(it tenantItem) (string, error) { return it.ID, nil })
}

// ListGrantsExpiringBefore lists a tenant's active grants whose end is
// before t, earliest end first: one Query per page of the sparse GSI7, which
// holds active grants only.
func (s *Store) ListGrantsExpiringBefore(ctx context.Context, tenantID string, t time.Time, p access.PageRequest) (access.Page[access.Grant], error) {
	if !validTenantID(tenantID) {
		return access.Page[access.Grant]{Items: []access.Grant{}}, nil
	}
	src := source{index: idxExpiry.name, pk: idxExpiry.pk, sk: attrExpirySK, value: grantsExpiring(tenantID),
		upTo: t.UTC().Format(timeLayout)}
	l := listing{name: "grants expiring", sources: []source{src}, ascending: true}
	return listOf(ctx, s, l, p, func(it grantItem) (access.Grant, error) { return grantFromData(it.grantData) })
}

// ListLedgerEntries lists the deployment's assignment ledger, oldest entry
// first.
func (s *Store) ListLedgerEntries(ctx context.Context, p access.PageRequest) (access.Page[access.LedgerEntry], error) {
	l := listing{name: "ledger", sources: []source{onIndex(idxAll, ledgerAll)}, ascending: true}
	return listOf(ctx, s, l, p, ledgerFromItem)
}

// ListTouchedPrincipals lists the users Elevate assigned something to and
// that are not yet forgotten (their TTL deletes them only some time later).
func (s *Store) ListTouchedPrincipals(ctx context.Context, p access.PageRequest) (access.Page[access.TouchedPrincipal], error) {
	now := formatTime(s.now())
	l := listing{name: "touched principals", sources: []source{onIndex(idxAll, touchedAll)}, ascending: true,
		keep: func(m map[string]types.AttributeValue) bool {
			exp, ok := stringAttr(m, attrExpiresAt)
			return !ok || exp == "" || now < exp
		}}
	return listOf(ctx, s, l, p, touchedFromItem)
}

// listOf reads one page of a listing and converts its items.
func listOf[I, T any](ctx context.Context, s *Store, l listing, p access.PageRequest, conv func(I) (T, error)) (access.Page[T], error) {
	items, next, err := s.list(ctx, l, p)
	if err != nil {
		return access.Page[T]{}, err
	}
	out := access.Page[T]{Items: make([]T, 0, len(items)), Next: next}
	for _, m := range items {
		v, err := convert(m, conv)
		if err != nil {
			return access.Page[T]{}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

func convert[I, T any](m map[string]types.AttributeValue, conv func(I) (T, error)) (T, error) {
	var it I
	if err := unmarshal(m, &it); err != nil {
		var zero T
		return zero, err
	}
	return conv(it)
}

var _ access.SweepCheckpoints = (*Store)(nil)

// checkpointPK is the deployment-level item of one of the sweeper's
// checkpoints.
func checkpointPK(name string) string { return "SWEEP#" + name }

// checkpointItem is a sweeper checkpoint: where the next run goes on.
type checkpointItem struct {
	keys
	Position  string `dynamodbav:"position"`
	UpdatedAt string `dynamodbav:"updated_at"`
}

// GetSweepCheckpoint returns the position recorded under name, or "": one
// GetItem.
func (s *Store) GetSweepCheckpoint(ctx context.Context, name string) (string, error) {
	var it checkpointItem
	if _, err := s.getItem(ctx, checkpointPK(name), checkpointPK(name), &it); err != nil {
		return "", err
	}
	return it.Position, nil
}

// PutSweepCheckpoint records a position under name: one unconditional
// PutItem (the sweeper is its only writer, and the last position wins).
func (s *Store) PutSweepCheckpoint(ctx context.Context, name, position string) error {
	item, err := attributevalue.MarshalMap(checkpointItem{keys: keys{PK: checkpointPK(name), SK: checkpointPK(name)},
		Position: position, UpdatedAt: formatTime(s.now())})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	return wrap("write sweep checkpoint", err)
}

// ListCutSets lists the deployment's session cuts, oldest set first.
func (s *Store) ListCutSets(ctx context.Context, p access.PageRequest) (access.Page[access.CutSet], error) {
	l := listing{name: "session cuts", sources: []source{onIndex(idxAll, cutSetsAll)}, ascending: true}
	return listOf(ctx, s, l, p, cutSetFromItem)
}

// GetCutSet returns the session cuts of a permission set.
func (s *Store) GetCutSet(ctx context.Context, key access.CutSetKey) (access.CutSet, error) {
	var it cutSetItem
	found, err := s.getItem(ctx, cutSetPK(key), skCutSet, &it)
	if err != nil || !found {
		return access.CutSet{}, cmpOr(err, errNotFound("session cuts of %s", key.PermissionSetARN))
	}
	return cutSetFromItem(it)
}
