package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/elevate-jit/elevate/internal/access"
)

// fakeDB is an API whose methods are functions a test sets; a call to one
// that is not set fails.
type fakeDB struct {
	getItem    func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)
	putItem    func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error)
	deleteItem func(*dynamodb.DeleteItemInput) (*dynamodb.DeleteItemOutput, error)
	query      func(*dynamodb.QueryInput) (*dynamodb.QueryOutput, error)
	transact   func(*dynamodb.TransactWriteItemsInput) (*dynamodb.TransactWriteItemsOutput, error)

	mu    sync.Mutex
	calls []string
}

var errUnexpected = errors.New("unexpected call")

func (f *fakeDB) record(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
}

func (f *fakeDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.record("GetItem")
	if f.getItem == nil {
		return nil, errUnexpected
	}
	return f.getItem(in)
}

func (f *fakeDB) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, errors.New("fakeDB: UpdateItem is not used by the commits under test")
}

func (f *fakeDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.record("PutItem")
	if f.putItem == nil {
		return nil, errUnexpected
	}
	return f.putItem(in)
}

func (f *fakeDB) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	f.record("DeleteItem")
	if f.deleteItem == nil {
		return nil, errUnexpected
	}
	return f.deleteItem(in)
}

func (f *fakeDB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	f.record("Query")
	if f.query == nil {
		return nil, errUnexpected
	}
	return f.query(in)
}

func (f *fakeDB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.record("TransactWriteItems")
	if f.transact == nil {
		return nil, errUnexpected
	}
	return f.transact(in)
}

func (f *fakeDB) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// cancelled is a TransactionCanceledException with one reason per code.
func cancelled(codes ...string) error {
	e := &types.TransactionCanceledException{Message: aws.String("Transaction cancelled")}
	for _, c := range codes {
		e.CancellationReasons = append(e.CancellationReasons, types.CancellationReason{Code: aws.String(c)})
	}
	return e
}

// Changes of the error mapping tests. The writes of a change come in the
// order Commit builds them: tenants, issuer claims, requests, grants, API
// keys, policy sets, ledger entries, audit events, idempotency record.
func requestChange() access.Change {
	r := testRequest()
	r.GranteeID, r.Revision = r.RequesterID, 2 // one item
	return access.Change{Requests: []access.Request{r}}
}

func withIdempotency(c access.Change) access.Change {
	c.Idempotency = &access.IdempotencyRecord{
		Scope:     access.IdempotencyScope{TenantID: testTenant().ID, PrincipalID: "alice", Route: "POST /v1/requests", Key: "k1"},
		CreatedAt: at, ExpiresAt: at.Add(access.IdempotencyTTL),
	}
	return c
}

func newTenantChange() access.Change {
	t := testTenant()
	t.Revision = 1
	return access.Change{Tenants: []access.Tenant{t}} // the tenant, then its issuer claim
}

func TestCommitErrorMapping(t *testing.T) {
	throttled := cancelled("None", "ThrottlingError")
	tests := []struct {
		name    string
		change  access.Change
		single  error // the error of a lone PutItem or DeleteItem
		transac error // the error of TransactWriteItems
		want    error
		not     []error
	}{
		{name: "stale request alone", change: requestChange(), single: &types.ConditionalCheckFailedException{}, want: access.ErrStale},
		{name: "taken key alone", change: withIdempotency(access.Change{}), single: &types.ConditionalCheckFailedException{}, want: access.ErrIdempotencyTaken},
		{name: "stale ledger delete", change: access.Change{Ledger: []access.LedgerEntry{{Key: access.AssignmentKey{InstanceARN: "i", PrincipalID: "u", AccountID: "1", PermissionSetARN: "p"}, Deleted: true, Revision: 3}}},
			single: &types.ConditionalCheckFailedException{}, want: access.ErrStale},
		{name: "throughput exceeded alone", change: requestChange(), single: &types.ProvisionedThroughputExceededException{},
			want: &types.ProvisionedThroughputExceededException{}, not: []error{access.ErrStale}},
		{name: "taken key in a transaction", change: withIdempotency(requestChange()), transac: cancelled("None", "ConditionalCheckFailed"), want: access.ErrIdempotencyTaken},
		{name: "stale request in a transaction", change: withIdempotency(requestChange()), transac: cancelled("ConditionalCheckFailed", "None"),
			want: access.ErrStale, not: []error{access.ErrIdempotencyTaken}},
		{name: "a taken key wins over a stale request", change: withIdempotency(requestChange()), transac: cancelled("ConditionalCheckFailed", "ConditionalCheckFailed"), want: access.ErrIdempotencyTaken},
		{name: "key being recorded concurrently", change: withIdempotency(requestChange()), transac: cancelled("None", "TransactionConflict"), want: access.ErrIdempotencyTaken},
		{name: "request written concurrently", change: withIdempotency(requestChange()), transac: cancelled("TransactionConflict", "None"), want: access.ErrStale},
		{name: "issuer claimed by another tenant", change: newTenantChange(), transac: cancelled("None", "ConditionalCheckFailed"),
			want: access.ErrUnique, not: []error{access.ErrStale}},
		{name: "existing tenant", change: newTenantChange(), transac: cancelled("ConditionalCheckFailed", "None"), want: access.ErrStale},
		{name: "issuer claim written concurrently", change: newTenantChange(), transac: cancelled("None", "TransactionConflict"),
			want: access.ErrStale, not: []error{access.ErrUnique}},
		{name: "throttled transaction", change: withIdempotency(requestChange()), transac: throttled,
			want: throttled, not: []error{access.ErrStale, access.ErrIdempotencyTaken}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{
				putItem:    func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) { return nil, tc.single },
				deleteItem: func(*dynamodb.DeleteItemInput) (*dynamodb.DeleteItemOutput, error) { return nil, tc.single },
				transact: func(*dynamodb.TransactWriteItemsInput) (*dynamodb.TransactWriteItemsOutput, error) {
					return nil, tc.transac
				},
			}
			err := New(db, Options{Table: "t"}).Commit(t.Context(), tc.change)
			var want error = tc.want
			switch w := tc.want.(type) {
			case *types.ProvisionedThroughputExceededException:
				if !errors.As(err, &w) {
					t.Errorf("error %v; want the SDK's error", err)
				}
				want = nil
			case *types.TransactionCanceledException:
				if !errors.As(err, &w) {
					t.Errorf("error %v; want the SDK's error", err)
				}
				want = nil
			}
			if want != nil && !errors.Is(err, want) {
				t.Errorf("error %v; want one matching %v", err, want)
			}
			for _, n := range tc.not {
				if errors.Is(err, n) {
					t.Errorf("error %v matches %v", err, n)
				}
			}
		})
	}
}

// TestCommitShape checks changes refused before any call.
func TestCommitShape(t *testing.T) {
	r := testRequest()
	bad := r
	bad.TenantID = "t#1"
	zero := r
	zero.Revision = 0
	var many []access.AuditEvent
	for i := range 101 {
		many = append(many, access.AuditEvent{ID: fmt.Sprint(i), TenantID: r.TenantID, At: at})
	}
	a, b := testTenant(), testTenant()
	b.ID, a.Revision, b.Revision = "8b2d4e6f-1a3c-4e5d-8f7a-9c0b1d2e3f02", 1, 1
	for name, c := range map[string]access.Change{
		"tenant id with the key separator": {Requests: []access.Request{bad}},
		"revision 0":                       {Requests: []access.Request{zero}},
		"a request twice":                  {Requests: []access.Request{r, r}},
		"over 100 items":                   {Audit: many},
		"two tenants claiming one issuer":  {Tenants: []access.Tenant{a, b}},
	} {
		t.Run(name, func(t *testing.T) {
			db := &fakeDB{}
			err := New(db, Options{Table: "t"}).Commit(t.Context(), c)
			if err == nil || errors.Is(err, access.ErrStale) {
				t.Errorf("error %v; want a refusal that is not stale", err)
			}
			if name == "two tenants claiming one issuer" && !errors.Is(err, access.ErrUnique) {
				t.Errorf("error %v; want one matching ErrUnique", err)
			}
			if calls := db.Calls(); len(calls) > 0 {
				t.Errorf("calls %v; want none", calls)
			}
		})
	}
}

// TestDelegatedRequestWrites checks that a delegated request is written
// with its grantee's copy in one transaction, both under the revision
// condition.
func TestDelegatedRequestWrites(t *testing.T) {
	var got *dynamodb.TransactWriteItemsInput
	db := &fakeDB{transact: func(in *dynamodb.TransactWriteItemsInput) (*dynamodb.TransactWriteItemsOutput, error) {
		got = in
		return &dynamodb.TransactWriteItemsOutput{}, nil
	}}
	r := testRequest() // revision 4, alice for bob
	if err := New(db, Options{Table: "t"}).Commit(t.Context(), access.Change{Requests: []access.Request{r}}); err != nil {
		t.Fatal(err)
	}
	if got == nil || len(got.TransactItems) != 2 {
		t.Fatalf("transaction %+v; want two puts", got)
	}
	for i, sk := range []string{"R", "P#bob"} {
		p := got.TransactItems[i].Put
		if p == nil || p.Item[attrSK].(*types.AttributeValueMemberS).Value != sk {
			t.Fatalf("item %d: %+v; want sort key %s", i, p, sk)
		}
		if c := aws.ToString(p.ConditionExpression); !strings.Contains(c, "=") || p.ExpressionAttributeValues[":0"].(*types.AttributeValueMemberN).Value != "3" {
			t.Errorf("item %d: condition %s %v; want rev = 3", i, c, p.ExpressionAttributeValues)
		}
	}
}

// tenantItemOf is the stored item of a tenant.
func tenantItemOf(t *testing.T, v access.Tenant) map[string]types.AttributeValue {
	t.Helper()
	m, err := marshal(tenantToItem(v))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestIssuerMoves checks the writes of a tenant that changes its JWT
// issuer: the old claim is deleted and the new one put, in the transaction
// that writes the tenant, and the old pair is read from the cache when it
// holds the revision being replaced.
func TestIssuerMoves(t *testing.T) {
	stored := testTenant()
	next := stored
	next.Revision++
	next.Settings.JWT.Issuer = "https://new.example.com"
	var got *dynamodb.TransactWriteItemsInput
	db := &fakeDB{
		getItem: func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
			return &dynamodb.GetItemOutput{Item: tenantItemOf(t, stored)}, nil
		},
		transact: func(in *dynamodb.TransactWriteItemsInput) (*dynamodb.TransactWriteItemsOutput, error) {
			got = in
			return &dynamodb.TransactWriteItemsOutput{}, nil
		},
	}
	s := New(db, Options{Table: "t"})
	if _, err := s.GetTenant(t.Context(), stored.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(t.Context(), access.Change{Tenants: []access.Tenant{next}}); err != nil {
		t.Fatal(err)
	}
	if calls := db.Calls(); !slices.Equal(calls, []string{"GetItem", "TransactWriteItems"}) {
		t.Errorf("calls %v; want the first read and the transaction only", calls)
	}
	if got == nil || len(got.TransactItems) != 3 {
		t.Fatalf("transaction %+v; want the tenant and two claim writes", got)
	}
	old, put := got.TransactItems[1].Delete, got.TransactItems[2].Put
	if old == nil || old.Key[attrPK].(*types.AttributeValueMemberS).Value != issuerPK(stored.Settings.JWT.Issuer, stored.Settings.JWT.Audience) {
		t.Errorf("second write %+v; want the old claim's delete", got.TransactItems[1])
	}
	if put == nil || put.Item[attrPK].(*types.AttributeValueMemberS).Value != issuerPK(next.Settings.JWT.Issuer, next.Settings.JWT.Audience) {
		t.Errorf("third write %+v; want the new claim's put", got.TransactItems[2])
	}
	// The commit refreshed the cache: the next read makes no call.
	if tn, err := s.GetTenant(t.Context(), stored.ID); err != nil || tn.Settings.JWT.Issuer != next.Settings.JWT.Issuer {
		t.Errorf("GetTenant after the commit: %+v, %v", tn.Settings.JWT, err)
	}
	if n := len(db.Calls()); n != 2 {
		t.Errorf("%d calls; the read after the commit should come from the cache", n)
	}

	// Without the cache, the stored revision is read; a tenant at another
	// revision is stale without a transaction.
	db = &fakeDB{getItem: db.getItem}
	s = New(db, Options{Table: "t", TenantCacheTTL: -1})
	next.Revision = stored.Revision + 2
	if err := s.Commit(t.Context(), access.Change{Tenants: []access.Tenant{next}}); !errors.Is(err, access.ErrStale) {
		t.Errorf("error %v; want ErrStale", err)
	}
	if calls := db.Calls(); !slices.Equal(calls, []string{"GetItem"}) {
		t.Errorf("calls %v; want one read", calls)
	}
}

// TestTenantCache checks the cache's TTL, its copies and that a failed
// commit drops the tenant.
func TestTenantCache(t *testing.T) {
	clock := at
	stored := testTenant()
	reads := 0
	db := &fakeDB{
		getItem: func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
			reads++
			return &dynamodb.GetItemOutput{Item: tenantItemOf(t, stored)}, nil
		},
		putItem: func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) {
			return nil, &types.ConditionalCheckFailedException{}
		},
	}
	s := New(db, Options{Table: "t", Now: func() time.Time { return clock }})
	get := func() access.Tenant {
		t.Helper()
		tn, err := s.GetTenant(t.Context(), stored.ID)
		if err != nil {
			t.Fatal(err)
		}
		return tn
	}
	first := get()
	first.Settings.GroupRoles["admins"] = access.RoleRequester
	first.Catalog[access.ResourceAccount][0].Name = "changed"
	if again := get(); reads != 1 || again.Settings.GroupRoles["admins"] != access.RoleAdmin || again.Catalog[access.ResourceAccount][0].Name != "ReadOnly" {
		t.Errorf("second read: %d reads, %+v; want the cached, unchanged tenant", reads, again.Settings.GroupRoles)
	}
	clock = clock.Add(DefaultTenantCacheTTL)
	get()
	if reads != 2 {
		t.Errorf("%d reads; the entry should expire after the TTL", reads)
	}
	next := stored
	next.Revision++
	if err := s.Commit(t.Context(), access.Change{Tenants: []access.Tenant{next}}); !errors.Is(err, access.ErrStale) {
		t.Fatalf("commit: %v; want ErrStale", err)
	}
	get()
	if reads != 3 {
		t.Errorf("%d reads; a failed commit should drop the tenant", reads)
	}

	s = New(db, Options{Table: "t", TenantCacheTTL: -1})
	reads = 0
	get()
	get()
	if reads != 2 {
		t.Errorf("%d reads with the cache disabled, want 2", reads)
	}
}

// partitions is a fake of sorted DynamoDB partitions for list tests: it
// serves Query calls by partition key value, honouring the sort key
// condition, the direction and Limit, and cuts each response after perCall
// items (as DynamoDB does at 1 MB).
type partitions struct {
	items   map[string][]string // partition value to sort key values, ascending
	perCall int
}

func (p partitions) query(in *dynamodb.QueryInput) (*dynamodb.QueryOutput, error) {
	v := func(k string) string {
		s, _ := in.ExpressionAttributeValues[k].(*types.AttributeValueMemberS)
		if s == nil {
			return ""
		}
		return s.Value
	}
	pk, after := v(":0"), v(":1")
	cond := aws.ToString(in.KeyConditionExpression)
	asc := aws.ToBool(in.ScanIndexForward)
	all := slices.Clone(p.items[pk])
	if !asc {
		slices.Reverse(all)
	}
	var out dynamodb.QueryOutput
	for _, sk := range all {
		switch {
		case after != "" && strings.Contains(cond, "<") && sk >= after,
			after != "" && strings.Contains(cond, ">") && sk <= after:
			continue
		}
		if len(out.Items) == int(aws.ToInt32(in.Limit)) || len(out.Items) == p.perCall {
			last := out.Items[len(out.Items)-1]
			out.LastEvaluatedKey = map[string]types.AttributeValue{attrGSK: last[attrGSK], "part": last["part"]}
			break
		}
		out.Items = append(out.Items, map[string]types.AttributeValue{
			attrGSK: &types.AttributeValueMemberS{Value: sk},
			"part":  &types.AttributeValueMemberS{Value: pk},
		})
	}
	return &out, nil
}

// TestMergedListsWithShortResponses walks lists that merge several
// partitions, when DynamoDB returns fewer items per call than asked: every
// item still comes once and in order.
func TestMergedListsWithShortResponses(t *testing.T) {
	parts := partitions{items: map[string][]string{}}
	var want []string
	for i := range 60 {
		sk := sortKey(at.Add(time.Duration(i/3)*time.Second), fmt.Sprintf("id-%02d", i))
		part := []string{"a", "b", "c"}[(i*7)%3]
		if i%10 == 0 {
			part = "d" // a partition the list does not read
		} else {
			want = append(want, sk)
		}
		parts.items[part] = append(parts.items[part], sk)
	}
	for _, p := range parts.items {
		slices.Sort(p)
	}
	slices.Sort(want)
	for _, perCall := range []int{1, 2, 3, 1000} {
		for _, limit := range []int{1, 4, 7, 250} {
			for _, asc := range []bool{false, true} {
				t.Run(fmt.Sprintf("%d per call, limit %d, ascending %v", perCall, limit, asc), func(t *testing.T) {
					parts.perCall = perCall
					s := New(&fakeDB{query: parts.query}, Options{Table: "t"})
					l := listing{name: "test", ascending: asc}
					for _, part := range []string{"a", "b", "c"} {
						l.sources = append(l.sources, onIndex(idxStatus, part))
					}
					var got []string
					var after []byte
					for n := 0; ; n++ {
						items, next, err := s.list(t.Context(), l, access.PageRequest{Limit: limit, After: after})
						if err != nil {
							t.Fatal(err)
						}
						if len(items) > limit {
							t.Fatalf("page of %d items; limit %d", len(items), limit)
						}
						if perCall >= limit+1 && next != nil && len(items) < limit {
							t.Fatalf("short page of %d with a Next, though every call could answer in full", len(items))
						}
						for _, it := range items {
							got = append(got, it[attrGSK].(*types.AttributeValueMemberS).Value)
						}
						if next == nil {
							break
						}
						if n > 1000 {
							t.Fatal("the list does not end")
						}
						after = next
					}
					wantOrder := slices.Clone(want)
					if !asc {
						slices.Reverse(wantOrder)
					}
					if !slices.Equal(got, wantOrder) {
						t.Errorf("got %d items %v\nwant %d %v", len(got), got, len(wantOrder), wantOrder)
					}
				})
			}
		}
	}
}
