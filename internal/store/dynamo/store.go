// Package dynamo is the access.Store on Amazon DynamoDB: one table, one
// partition per object so that a get by id is one GetItem, five sorted
// global secondary indexes so that each supported list filter is one Query,
// and every state change one conditional write or one TransactWriteItems.
// docs/storage.md describes the key design.
package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/elevate-jit/elevate/internal/access"
)

// API is the part of the DynamoDB client the store uses; tests substitute
// a fake.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// DefaultTenantCacheTTL is how long GetTenant results are reused.
const DefaultTenantCacheTTL = 5 * time.Second

// Options configure a Store.
type Options struct {
	// Table is the table's name; required.
	Table string
	// Now is the clock expiry is checked against (idempotency records and
	// audit events); default time.Now.
	Now func() time.Time
	// TenantCacheTTL is how long a tenant read is reused: 0 means
	// DefaultTenantCacheTTL, a negative value disables the cache. Commits of
	// this Store refresh it at once; other processes see changes within the
	// TTL.
	TenantCacheTTL time.Duration
}

// Store is an access.Store on one DynamoDB table. It is safe for concurrent
// use.
type Store struct {
	db      API
	table   string
	now     func() time.Time
	tenants *tenantCache
}

var _ access.Store = (*Store)(nil)

// New returns a store on an existing table (see CreateTable).
func New(client API, opts Options) *Store {
	s := &Store{db: client, table: opts.Table, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	ttl := opts.TenantCacheTTL
	if ttl == 0 {
		ttl = DefaultTenantCacheTTL
	}
	if ttl > 0 {
		s.tenants = newTenantCache(ttl, s.now)
	}
	return s
}

// Limits of one DynamoDB call.
const (
	// maxTransactItems is the most items one TransactWriteItems writes.
	maxTransactItems = 100
	// maxQueries bounds the Query calls of one list call (docs/storage.md).
	maxQueries = 5
	// maxQueryLimit bounds the items one filtered Query evaluates.
	maxQueryLimit = 1000
)

// errNotFound is the error of a read that found nothing: what was looked for,
// wrapping access.ErrNotFound.
func errNotFound(format string, args ...any) error {
	return fmt.Errorf("dynamo: %s: %w", fmt.Sprintf(format, args...), access.ErrNotFound)
}

// errInvalidCursor is the error for a position this store did not make for
// this list.
var errInvalidCursor = &access.Error{Code: access.CodeInvalidCursor, Message: "the cursor is not valid for this list"}

// wrap adds the store's context to an SDK error.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("dynamo: %s: %w", op, err)
}
