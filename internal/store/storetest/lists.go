package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/google/uuid"
)

// people are the requesters and grantees of seeded requests and grants.
var people = []string{alice, bob, carol}

// createdAt spaces seeded items two per minute, so every other pair ties on
// its time and is ordered by id.
func createdAt(i int) time.Time { return base.Add(time.Duration(i/2) * time.Minute) }

// seedRequests commits n requests of a tenant, spread over people and
// statuses, in shuffled order, and returns them.
func seedRequests(t *testing.T, s access.Store, tenantID string, n int) []access.Request {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	out := make([]access.Request, n)
	for i := range out {
		r := newRequest(tenantID, createdAt(i))
		r.RequesterID = people[rng.IntN(len(people))]
		r.GranteeID = r.RequesterID
		if rng.IntN(3) == 0 {
			r.GranteeID = people[rng.IntN(len(people))] // delegated, mostly
		}
		r.Status = access.RequestStatuses[rng.IntN(len(access.RequestStatuses))]
		switch i % 3 { // resources over two accounts and three types
		case 1:
			r.Resource = access.Resource{Type: access.ResourceAccount, ID: paymentsAcct}
		case 2:
			r.Resource = access.Resource{Type: access.ResourceS3Bucket, ID: "audit-logs", AccountID: otherAcct}
		}
		// Updates in another order than creation, some tied.
		r.UpdatedAt = base.Add(time.Duration(rng.IntN(n)) * time.Minute)
		out[i] = r
	}
	for _, i := range rng.Perm(n) {
		commit(t, s, access.Change{Requests: []access.Request{out[i]}})
	}
	return out
}

// seedGrants commits n grants of a tenant, spread over grantees and
// statuses, in shuffled order, and returns them.
func seedGrants(t *testing.T, s access.Store, tenantID string, n int) []access.Grant {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 2))
	out := make([]access.Grant, n)
	for i := range out {
		g := newGrant(tenantID, createdAt(i))
		g.GranteeID = people[rng.IntN(len(people))]
		g.Status = access.GrantStatuses[rng.IntN(len(access.GrantStatuses))]
		out[i] = g
	}
	for _, i := range rng.Perm(n) {
		commit(t, s, access.Change{Grants: []access.Grant{out[i]}})
	}
	return out
}

// limits are the page sizes lists are walked with: single items, pages that
// end exactly full (40 seeded items), pages that end short, and everything at
// once.
var limits = []int{1, 4, 7, 250}

// testRequestLists walks request lists under each filter and page size, and
// compares them with the seeded requests filtered and sorted by the rules.
func testRequestLists(t *testing.T, s access.Store) {
	ctx := t.Context()
	tenantID := uuid.NewString()
	all := seedRequests(t, s, tenantID, 40)
	seedRequests(t, s, uuid.NewString(), 12) // the same people in another tenant

	pending := []access.RequestStatus{access.RequestPending}
	filters := []struct {
		name   string
		filter access.RequestFilter
	}{
		{"all", access.RequestFilter{}},
		{"pending", access.RequestFilter{Statuses: pending}},
		{"settled", access.RequestFilter{Statuses: []access.RequestStatus{access.RequestApproved, access.RequestDenied, access.RequestExpired}}},
		{"requester", access.RequestFilter{RequesterID: alice}},
		{"grantee", access.RequestFilter{GranteeID: bob}},
		{"party", access.RequestFilter{Party: carol}},
		{"party without requests", access.RequestFilter{Party: "dave@example.com"}},
		{"oldest first", access.RequestFilter{OldestFirst: true}},
		{"approvals inbox", access.RequestFilter{Statuses: pending, OldestFirst: true}},
		{"requester and status", access.RequestFilter{RequesterID: alice, Statuses: pending}},
		{"grantee and statuses", access.RequestFilter{GranteeID: bob, Statuses: []access.RequestStatus{access.RequestApproved, access.RequestFailed}}},
		{"party and statuses", access.RequestFilter{Party: alice, Statuses: []access.RequestStatus{access.RequestPending, access.RequestApproved}}},
		{"requester and grantee", access.RequestFilter{RequesterID: alice, GranteeID: bob}},
		{"party and status oldest first", access.RequestFilter{Party: bob, Statuses: pending, OldestFirst: true}},
		{"resource type", access.RequestFilter{ResourceType: access.ResourceAccount}},
		{"account of an account", access.RequestFilter{AccountID: paymentsAcct}},
		{"account of a bucket", access.RequestFilter{AccountID: otherAcct, Statuses: pending}},
		{"updated after", access.RequestFilter{UpdatedAfter: base.Add(10 * time.Minute)}},
		{"updated between", access.RequestFilter{Statuses: pending, UpdatedAfter: base.Add(5 * time.Minute), UpdatedBefore: base.Add(30 * time.Minute)}},
		{"by update", access.RequestFilter{SortBy: access.SortUpdatedAt}},
		{"by update oldest first", access.RequestFilter{SortBy: access.SortUpdatedAt, OldestFirst: true}},
		{"pending by update with filters", access.RequestFilter{Statuses: pending, SortBy: access.SortUpdatedAt, OldestFirst: true, GranteeID: bob, RequesterID: alice}},
		{"party by update", access.RequestFilter{Party: carol, SortBy: access.SortUpdatedAt, ResourceType: access.ResourceS3Bucket, UpdatedBefore: base.Add(20 * time.Minute)}},
	}
	for _, f := range filters {
		var matching []access.Request
		for _, r := range all {
			if requestMatches(f.filter, r) {
				matching = append(matching, r)
			}
		}
		at := requestAt
		if f.filter.SortBy == access.SortUpdatedAt {
			at = func(r access.Request) time.Time { return r.UpdatedAt }
		}
		want := sorted(matching, at, requestID, f.filter.OldestFirst)
		for _, limit := range limits {
			t.Run(fmt.Sprintf("%s/limit %d", f.name, limit), func(t *testing.T) {
				got := walk(t, limit, exactRequests(f.filter), func(p access.PageRequest) (access.Page[access.Request], error) {
					return s.ListRequests(ctx, tenantID, f.filter, p)
				}, requestID)
				sameIDs(t, "ListRequests", want, got)
			})
		}
	}
}

// requestMatches is RequestFilter's meaning: empty fields do not filter.
func requestMatches(f access.RequestFilter, r access.Request) bool {
	return (len(f.Statuses) == 0 || slices.Contains(f.Statuses, r.Status)) &&
		(f.RequesterID == "" || r.RequesterID == f.RequesterID) &&
		(f.GranteeID == "" || r.GranteeID == f.GranteeID) &&
		(f.Party == "" || r.RequesterID == f.Party || r.GranteeID == f.Party) &&
		(f.ResourceType == "" || r.Resource.Type == f.ResourceType) &&
		(f.AccountID == "" || r.Resource.TargetAccount() == f.AccountID) &&
		(f.UpdatedAfter.IsZero() || r.UpdatedAt.After(f.UpdatedAfter)) &&
		(f.UpdatedBefore.IsZero() || r.UpdatedAt.Before(f.UpdatedBefore))
}

// exactRequests reports whether a request list must have exact pages: it
// filters on at most one dimension (see the package doc).
func exactRequests(f access.RequestFilter) bool {
	n := 0
	if f.SortBy == access.SortUpdatedAt && len(f.Statuses) != 1 || f.ResourceType != "" || f.AccountID != "" || !f.UpdatedAfter.IsZero() || !f.UpdatedBefore.IsZero() {
		return false // merged partitions, or a filter on the items read
	}
	for _, set := range []bool{len(f.Statuses) > 0, f.RequesterID != "", f.GranteeID != "", f.Party != ""} {
		if set {
			n++
		}
	}
	return n <= 1
}

// testGrantLists walks grant lists under each filter and page size.
func testGrantLists(t *testing.T, s access.Store) {
	ctx := t.Context()
	tenantID := uuid.NewString()
	all := seedGrants(t, s, tenantID, 40)
	seedGrants(t, s, uuid.NewString(), 12)

	filters := []struct {
		name   string
		filter access.GrantFilter
	}{
		{"all", access.GrantFilter{}},
		{"active", access.GrantFilter{Statuses: []access.GrantStatus{access.GrantActive}}},
		{"in flight", access.GrantFilter{Statuses: []access.GrantStatus{access.GrantProvisioning, access.GrantActive, access.GrantRevoking}}},
		{"grantee", access.GrantFilter{GranteeID: alice}},
		{"grantee and statuses", access.GrantFilter{GranteeID: alice, Statuses: []access.GrantStatus{access.GrantActive, access.GrantExpired}}},
	}
	for _, f := range filters {
		var matching []access.Grant
		for _, g := range all {
			if (len(f.filter.Statuses) == 0 || slices.Contains(f.filter.Statuses, g.Status)) &&
				(f.filter.GranteeID == "" || g.GranteeID == f.filter.GranteeID) {
				matching = append(matching, g)
			}
		}
		want := sorted(matching, grantAt, grantID, false)
		exact := len(f.filter.Statuses) == 0 || f.filter.GranteeID == ""
		for _, limit := range limits {
			t.Run(fmt.Sprintf("%s/limit %d", f.name, limit), func(t *testing.T) {
				got := walk(t, limit, exact, func(p access.PageRequest) (access.Page[access.Grant], error) {
					return s.ListGrants(ctx, tenantID, f.filter, p)
				}, grantID)
				sameIDs(t, "ListGrants", want, got)
			})
		}
	}
}

// testAPIKeyList walks a tenant's keys: newest first, ties by id.
func testAPIKeyList(t *testing.T, s access.Store) {
	tenantID := uuid.NewString()
	var keys []access.APIKey
	for i := range 12 {
		k := newAPIKey(tenantID, createdAt(i))
		keys = append(keys, k)
		commit(t, s, access.Change{APIKeys: []access.APIKey{k}})
	}
	commit(t, s, access.Change{APIKeys: []access.APIKey{newAPIKey(uuid.NewString(), base)}})
	want := sorted(keys, keyAt, keyID, false)
	for _, limit := range []int{1, 3, 5, 12, 250} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := walk(t, limit, true, func(p access.PageRequest) (access.Page[access.APIKey], error) {
				return s.ListAPIKeys(t.Context(), tenantID, p)
			}, keyID)
			sameIDs(t, "ListAPIKeys", want, got)
		})
	}
}

// testAuditList walks a tenant's audit trail: newest first by At, ties by
// id, whatever order the events were appended in.
func testAuditList(t *testing.T, s access.Store) {
	tenantID := uuid.NewString()
	var events []access.AuditEvent
	for i := range 12 {
		events = append(events, newAuditEvent(tenantID, createdAt(i)))
	}
	commit(t, s, access.Change{Audit: events[6:]})
	commit(t, s, access.Change{Audit: events[:6]})
	commit(t, s, access.Change{Audit: []access.AuditEvent{newAuditEvent(uuid.NewString(), base)}})
	want := sorted(events, eventAt, eventID, false)
	for _, limit := range []int{1, 3, 5, 12, 250} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := walk(t, limit, true, func(p access.PageRequest) (access.Page[access.AuditEvent], error) {
				return s.ListAuditEvents(t.Context(), tenantID, p)
			}, eventID)
			sameIDs(t, "ListAuditEvents", want, got)
		})
	}
}

// testAuditExpiry checks that events past their ExpiresAt are never listed.
func testAuditExpiry(t *testing.T, s access.Store) {
	tenantID := uuid.NewString()
	var live, all []access.AuditEvent
	for i := range 10 {
		e := newAuditEvent(tenantID, createdAt(i))
		if i%3 == 1 {
			e.ExpiresAt = now().Add(-time.Minute)
		} else {
			live = append(live, e)
		}
		all = append(all, e)
	}
	commit(t, s, access.Change{Audit: all})
	want := sorted(live, eventAt, eventID, false)
	for _, limit := range []int{1, 2, 250} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := walk(t, limit, false, func(p access.PageRequest) (access.Page[access.AuditEvent], error) {
				return s.ListAuditEvents(t.Context(), tenantID, p)
			}, eventID)
			sameIDs(t, "ListAuditEvents", want, got)
		})
	}
}

// testInsertWhilePaging creates items between two pages of a list: they are
// newer than the cursor, so the rest of the walk neither skips nor repeats.
func testInsertWhilePaging(t *testing.T, s access.Store) {
	ctx := t.Context()

	t.Run("requests", func(t *testing.T) {
		tenantID := uuid.NewString()
		want := sorted(seedRequests(t, s, tenantID, 10), requestAt, requestID, false)
		inserted := false
		got := walk(t, 4, true, func(p access.PageRequest) (access.Page[access.Request], error) {
			if p.After != nil && !inserted {
				inserted = true
				for i := range 3 {
					commit(t, s, access.Change{Requests: []access.Request{newRequest(tenantID, createdAt(20+i))}})
				}
			}
			return s.ListRequests(ctx, tenantID, access.RequestFilter{}, p)
		}, requestID)
		sameIDs(t, "ListRequests", want, got)
	})

	t.Run("audit events", func(t *testing.T) {
		tenantID := uuid.NewString()
		var events []access.AuditEvent
		for i := range 10 {
			events = append(events, newAuditEvent(tenantID, createdAt(i)))
		}
		commit(t, s, access.Change{Audit: events})
		want := sorted(events, eventAt, eventID, false)
		inserted := false
		got := walk(t, 4, true, func(p access.PageRequest) (access.Page[access.AuditEvent], error) {
			if p.After != nil && !inserted {
				inserted = true
				commit(t, s, access.Change{Audit: []access.AuditEvent{newAuditEvent(tenantID, createdAt(20)), newAuditEvent(tenantID, createdAt(21))}})
			}
			return s.ListAuditEvents(ctx, tenantID, p)
		}, eventID)
		sameIDs(t, "ListAuditEvents", want, got)
	})
}

// testLargestPage lists with the largest limit callers use, over one item
// more than it.
func testLargestPage(t *testing.T, s access.Store) {
	ctx := t.Context()
	const limit = 250
	tenantID := uuid.NewString()
	var events []access.AuditEvent
	for i := range limit + 1 {
		events = append(events, newAuditEvent(tenantID, createdAt(i)))
	}
	for batch := range slices.Chunk(events, 25) {
		commit(t, s, access.Change{Audit: batch})
	}
	first, err := s.ListAuditEvents(ctx, tenantID, access.PageRequest{Limit: limit})
	if err != nil {
		t.Fatalf("ListAuditEvents: %v", err)
	}
	if len(first.Items) != limit || first.Next == nil {
		t.Fatalf("first page: %d items, Next %v; want %d and a Next", len(first.Items), first.Next != nil, limit)
	}
	last, err := s.ListAuditEvents(ctx, tenantID, access.PageRequest{Limit: limit, After: first.Next})
	if err != nil {
		t.Fatalf("ListAuditEvents: %v", err)
	}
	if len(last.Items) != 1 || last.Next != nil || last.Items[0].ID != sorted(events, eventAt, eventID, false)[limit] {
		t.Fatalf("last page: %d items, Next %v; want the oldest event and no Next", len(last.Items), last.Next != nil)
	}
}

// testInvalidCursor checks that every list refuses a position it did not
// make.
func testInvalidCursor(t *testing.T, s access.Store) {
	ctx := t.Context()
	tenantID := uuid.NewString()
	seedRequests(t, s, tenantID, 3)
	bad := access.PageRequest{Limit: 10, After: []byte("not a cursor")}
	lists := map[string]func() error{
		"ListRequests": func() error {
			_, err := s.ListRequests(ctx, tenantID, access.RequestFilter{}, bad)
			return err
		},
		"ListGrants": func() error {
			_, err := s.ListGrants(ctx, tenantID, access.GrantFilter{}, bad)
			return err
		},
		"ListAPIKeys": func() error {
			_, err := s.ListAPIKeys(ctx, tenantID, bad)
			return err
		},
		"ListAuditEvents": func() error {
			_, err := s.ListAuditEvents(ctx, tenantID, bad)
			return err
		},
	}
	for name, list := range lists {
		if err := list(); access.CodeOf(err) != access.CodeInvalidCursor {
			t.Errorf("%s with a bad cursor: error %v; want code %s", name, err, access.CodeInvalidCursor)
		}
	}
}
