package storetest

import (
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// testPendingReviews checks ListPendingReviews: grants whose review is
// pending, earliest due first, of one tenant; Unannounced leaves out those
// announced overdue and DueBy those due after it; a recorded review leaves
// the list.
func testPendingReviews(t *testing.T, s access.Store) {
	base := now()
	a, b := newTenant().ID, newTenant().ID
	at := func(tenantID string, due time.Duration, announced bool) access.Grant {
		g := newGrant(tenantID, base.Add(-2*time.Hour))
		g.Review = &access.Review{Status: access.ReviewPending, DueAt: base.Add(due)}
		if announced {
			g.Review.OverdueAt = base.Add(due + time.Minute)
		}
		commit(t, s, access.Change{Grants: []access.Grant{g}})
		return g
	}
	early := at(a, -time.Hour, true)
	mid := at(a, -10*time.Minute, false)
	exact := at(a, 0, false)
	late := at(a, time.Hour, false)
	at(b, -time.Hour, false) // another tenant
	plain := newGrant(a, base)
	plain.Review = nil // not break-glass
	commit(t, s, access.Change{Grants: []access.Grant{plain}})
	done := at(a, -30*time.Minute, false)
	done.Review.Status, done.Review.ReviewerID, done.Review.ReviewedAt, done.Revision = access.ReviewJustified, carol, base, done.Revision+1
	commit(t, s, access.Change{Grants: []access.Grant{done}})

	all := walk(t, 1, false, func(p access.PageRequest) (access.Page[access.Grant], error) {
		return s.ListPendingReviews(t.Context(), a, access.ReviewFilter{}, p)
	}, grantID)
	sameIDs(t, "ListPendingReviews (earliest due first)", []string{early.ID, mid.ID, exact.ID, late.ID}, all)
	due := walk(t, 1, true, func(p access.PageRequest) (access.Page[access.Grant], error) {
		return s.ListPendingReviews(t.Context(), a, access.ReviewFilter{Unannounced: true, DueBy: base}, p)
	}, grantID)
	sameIDs(t, "ListPendingReviews (unannounced, due by now)", []string{mid.ID, exact.ID}, due)
	got, err := s.ListPendingReviews(t.Context(), a, access.ReviewFilter{}, access.PageRequest{Limit: 10})
	if err != nil || len(got.Items) == 0 {
		t.Fatalf("ListPendingReviews: %v", err)
	}
	same(t, "a listed review", early, got.Items[0])
}

// testSuspensions checks a user's break-glass standing: it reads back as
// written, follows the revision rule, is one per person (Identity Store
// user) per tenant whatever principal id it shows, and is listed, lifted
// ones included, in the order of their last change.
func testSuspensions(t *testing.T, s access.Store) {
	ctx := t.Context()
	base := now()
	a := newTenant().ID
	sp := newSuspension(a, bob, base)
	filled(t, sp)
	commit(t, s, access.Change{Suspensions: []access.Suspension{sp}})
	got, err := s.GetSuspension(ctx, a, identityOf(bob))
	if err != nil {
		t.Fatalf("GetSuspension: %v", err)
	}
	same(t, "suspension", sp, got)
	if _, err := s.GetSuspension(ctx, newTenant().ID, identityOf(bob)); err != nil {
		wantErr(t, "GetSuspension of another tenant", err, access.ErrNotFound)
	} else {
		t.Error("GetSuspension of another tenant found one")
	}
	if _, err := s.GetSuspension(ctx, a, bob); err != nil {
		wantErr(t, "GetSuspension by principal id", err, access.ErrNotFound)
	} else {
		t.Error("GetSuspension by principal id found one: standings are keyed by Identity Store user")
	}
	if _, err := s.GetSuspension(ctx, a, identityOf(carol)); err != nil {
		wantErr(t, "GetSuspension of a user without one", err, access.ErrNotFound)
	} else {
		t.Error("GetSuspension of a user without one found one")
	}
	wantErr(t, "creating a suspension twice", s.Commit(ctx, access.Change{Suspensions: []access.Suspension{sp}}), access.ErrStale)
	alias := sp
	alias.UserID = "BOB@example.com"
	wantErr(t, "creating a suspension of the same person under an alias", s.Commit(ctx, access.Change{Suspensions: []access.Suspension{alias}}), access.ErrStale)
	other := newSuspension(a, carol, base.Add(-time.Minute))
	commit(t, s, access.Change{Suspensions: []access.Suspension{other}})
	lifted := sp
	lifted.Suspended, lifted.Revision, lifted.UpdatedAt = false, sp.Revision+1, base.Add(time.Minute)
	commit(t, s, access.Change{Suspensions: []access.Suspension{lifted}})
	ids := walk(t, 1, true, func(p access.PageRequest) (access.Page[access.Suspension], error) {
		return s.ListSuspensions(ctx, a, p)
	}, func(sp access.Suspension) string { return sp.UserID })
	sameIDs(t, "ListSuspensions (oldest change first)", []string{carol, bob}, ids)
}
