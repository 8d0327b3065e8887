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
//     served by one index and a filter (DESIGN §7): their pages may be short,
//     with a Next, and the last page may be empty; order, exactly-once and
//     the Limit still hold. Expired audit events may shorten pages the same
//     way.
//   - A position the store did not make is an error with code
//     access.CodeInvalidCursor.
package storetest

import (
	"testing"

	"github.com/elevate-jit/elevate/internal/access"
)

// Run runs the conformance suite. newStore returns a fresh, empty store for
// each subtest.
func Run(t *testing.T, newStore func(t *testing.T) access.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s access.Store)
	}{
		{"Revisions", testRevisions},
		{"WriteOnce", testWriteOnce},
		{"LedgerDelete", testLedgerDelete},
		{"RoundTrip", testRoundTrip},
		{"Copies", testCopies},
		{"Atomicity", testAtomicity},
		{"IdempotencyTaken", testIdempotencyTaken},
		{"IdempotencyOutcomes", testIdempotencyOutcomes},
		{"IdempotencyExpiry", testIdempotencyExpiry},
		{"IdempotencyScopes", testIdempotencyScopes},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentIdempotency", testConcurrentIdempotency},
		{"ConcurrentIssuers", testConcurrentIssuers},
		{"IssuerUniqueness", testIssuerUniqueness},
		{"NotFound", testNotFound},
		{"TenantIsolation", testTenantIsolation},
		{"RequestLists", testRequestLists},
		{"GrantLists", testGrantLists},
		{"APIKeyList", testAPIKeyList},
		{"AuditList", testAuditList},
		{"AuditExpiry", testAuditExpiry},
		{"InsertWhilePaging", testInsertWhilePaging},
		{"LargestPage", testLargestPage},
		{"InvalidCursor", testInvalidCursor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, newStore(t)) })
	}
}
