// Package storetest is the conformance suite every access.Store must pass:
// the in-memory store, and the DynamoDB store against a real DynamoDB API
// server. It is also the store contract written down. The rules are these.
//
// Errors:
//   - A store reports what happened with the plain sentinels access.ErrNotFound,
//     access.ErrStale, access.ErrIdempotencyTaken and access.ErrUnique,
//     wrapped with context. Each failure wraps exactly one of them and carries
//     no API code (it is not an *access.Error): the domain maps it to what a
//     client sees. The one exception is a bad list position (see Lists).
//
// Writes:
//   - Commit applies a whole access.Change or nothing.
//   - Tenants, requests, grants, API keys and ledger entries carry the
//     revision they will have: revision 1 creates (the object must not
//     exist), revision n > 1 replaces revision n-1. Anything else fails with
//     an error wrapping access.ErrStale. A ledger entry with Deleted set is
//     removed under the same rule.
//   - Policy set versions and audit events are written once: writing one that
//     exists fails with access.ErrStale.
//   - A change whose idempotency scope (tenant, principal, route, key) holds
//     an unexpired record fails with access.ErrIdempotencyTaken. An expired
//     record counts as absent and is replaced.
//   - A tenant claims its JWT (issuer, audience) pair unless both are empty.
//     Claiming a pair another tenant holds fails with an error wrapping
//     access.ErrUnique; a tenant that changes its issuer frees the old pair.
//   - Stores check no references: a request may name a tenant that has no
//     record.
//   - Stores share no memory with callers: changing an object after Commit,
//     or one returned by a read, changes nothing stored.
//
// Reads:
//   - A missing object, or one of another tenant, is an error wrapping
//     access.ErrNotFound. Objects are keyed by tenant, so the same id in two
//     tenants names two objects; only API key ids are global.
//   - What was written reads back equal: times compare with time.Equal (the
//     suite writes microsecond precision, which the domain's clock keeps), a
//     nil slice or map equals an empty one, and metadata and audit details
//     compare as JSON, so a number may come back as float64 or json.Number.
//   - Idempotency records and audit events whose ExpiresAt has passed are not
//     returned. The expiry tests assume the store's clock is the wall clock.
//
// Lists:
//   - Requests, grants and API keys are newest first by CreatedAt, audit
//     events newest first by At, ties broken by ID descending. With
//     RequestFilter.OldestFirst requests come in exactly the reverse order.
//   - Paging: After is the previous page's Next. Every item comes exactly
//     once and in order, and no page holds more than Limit items (callers use
//     1 to 250). Items created while a list is paged are newer than its
//     cursor, so they do not shift the pages that follow.
//   - Exact pages: a list with no filter or one filter dimension (a set of
//     statuses, requester, grantee or party; the approvals inbox, pending and
//     oldest first, is one) fills every page but the last, and Next is nil
//     exactly when nothing follows: a store must not hand out a Next that
//     leads to an empty page, even when the last page is exactly full.
//   - Combined filters (statuses with a person, requester with grantee) may be
//     served by one index and a filter (docs/storage.md): their pages may be short,
//     with a Next, and the last page may be empty; order, exactly-once and
//     the Limit still hold. Expired audit events may shorten pages the same
//     way.
//   - A position the store did not make is an error with code
//     access.CodeInvalidCursor.
package storetest

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/elevate-jit/elevate/internal/access"
)

// conformanceTest is one test of the suite. tenants marks the tests that
// write or read tenants; a store that can serve tenants two ways runs those
// again (RunTenantTests). Every run checks the mark against what the test
// does, so the subset cannot silently shrink or go stale.
type conformanceTest struct {
	name    string
	test    func(t *testing.T, s access.Store)
	tenants bool
}

var conformance = []conformanceTest{
	{"Revisions", testRevisions, true},
	{"WriteOnce", testWriteOnce, false},
	{"LedgerDelete", testLedgerDelete, false},
	{"RoundTrip", testRoundTrip, true},
	{"Copies", testCopies, true},
	{"Atomicity", testAtomicity, true},
	{"IdempotencyTaken", testIdempotencyTaken, false},
	{"IdempotencyOutcomes", testIdempotencyOutcomes, false},
	{"IdempotencyExpiry", testIdempotencyExpiry, false},
	{"IdempotencyScopes", testIdempotencyScopes, false},
	{"ConcurrentUpdates", testConcurrentUpdates, true},
	{"ConcurrentIdempotency", testConcurrentIdempotency, false},
	{"ConcurrentIssuers", testConcurrentIssuers, true},
	{"IssuerUniqueness", testIssuerUniqueness, true},
	{"NotFound", testNotFound, true},
	{"TenantIsolation", testTenantIsolation, true},
	{"RequestLists", testRequestLists, false},
	{"GrantLists", testGrantLists, false},
	{"APIKeyList", testAPIKeyList, false},
	{"AuditList", testAuditList, false},
	{"AuditExpiry", testAuditExpiry, false},
	{"InsertWhilePaging", testInsertWhilePaging, false},
	{"LargestPage", testLargestPage, false},
	{"InvalidCursor", testInvalidCursor, false},
	{"PendingReviews", testPendingReviews, false},
	{"Suspensions", testSuspensions, false},
}

// Run runs the conformance suite. newStore returns a fresh, empty store for
// each subtest.
func Run(t *testing.T, newStore func(t *testing.T) access.Store) {
	run(t, newStore, false)
}

// RunTenantTests runs the tests of the suite that write or read tenants, for
// a store that can serve tenants two ways (the DynamoDB store with its tenant
// cache off).
func RunTenantTests(t *testing.T, newStore func(t *testing.T) access.Store) {
	run(t, newStore, true)
}

func run(t *testing.T, newStore func(t *testing.T) access.Store, onlyTenants bool) {
	for _, tc := range conformance {
		if onlyTenants && !tc.tenants {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			w := &tenantWatch{Store: st, LedgerStore: st.(access.LedgerStore)}
			tc.test(t, w)
			if touched := w.touched.Load(); touched != tc.tenants && !t.Failed() {
				t.Errorf("the test touches tenants: %v, but its entry in storetest's table says %v; correct the entry", touched, tc.tenants)
			}
		})
	}
}

// tenantWatch notes whether a test writes or reads a tenant.
type tenantWatch struct {
	access.Store
	access.LedgerStore
	touched atomic.Bool
}

func (w *tenantWatch) Commit(ctx context.Context, c access.Change) error {
	if len(c.Tenants) > 0 {
		w.touched.Store(true)
	}
	return w.Store.Commit(ctx, c)
}

func (w *tenantWatch) GetTenant(ctx context.Context, id string) (access.Tenant, error) {
	w.touched.Store(true)
	return w.Store.GetTenant(ctx, id)
}

func (w *tenantWatch) TenantIDForIssuer(ctx context.Context, issuer, audience string) (string, error) {
	w.touched.Store(true)
	return w.Store.TenantIDForIssuer(ctx, issuer, audience)
}
