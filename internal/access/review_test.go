package access_test

import (
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// breakGlassGrant makes alice's break-glass request and returns its grant.
func (f *fixture) breakGlassGrant() access.Grant {
	f.t.Helper()
	in := adminAccess(acct2)
	in.BreakGlass, in.DurationSeconds = true, 1800
	r := must(f.svc.CreateRequest(f.ctx, alice, in, nil))(f.t)
	if r.Status != access.RequestApproved || r.GrantID == "" {
		f.t.Fatalf("break-glass request = %+v", r)
	}
	return f.grant(tenantA, r.GrantID)
}

// auditActions counts the tenant's audit events by action.
func (f *fixture) auditActions() map[string]int {
	f.t.Helper()
	out := map[string]int{}
	page := must(f.svc.ListAuditEvents(f.ctx, ada, access.PageRequest{Limit: 250}))(f.t)
	for _, e := range page.Items {
		out[e.Action]++
	}
	return out
}

// Reviewers racing on one review: exactly one records it, the others get a
// conflict.
func TestConcurrentReviews(t *testing.T) {
	for range 10 {
		f := withTenant(t)
		g := f.breakGlassGrant()
		var fns []func() error
		for _, p := range []access.Principal{carol, dave, ada, erin} {
			fns = append(fns, func() error {
				_, err := f.svc.ReviewGrant(f.ctx, p, g.ID, access.ReviewInput{Outcome: "justified", Reasoning: "INC-1"}, nil)
				return err
			})
		}
		won := 0
		for _, err := range parallel(fns...) {
			switch access.CodeOf(err) {
			case "":
				won++
			case access.CodeConflict:
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		if won != 1 || f.auditActions()[access.AuditGrantReviewed] != 1 {
			t.Fatalf("%d reviews won, %d grant.reviewed; want 1 and 1", won, f.auditActions()[access.AuditGrantReviewed])
		}
	}
}

// Sweeps racing past a review's due time announce it once; an unjustified
// review racing with the announcement that reaches the tenant's limit
// suspends the grantee once.
func TestConcurrentOverdue(t *testing.T) {
	for range 10 {
		f := withTenant(t)
		one := 1
		must(f.svc.UpdateTenant(f.ctx, ada, access.TenantPatch{SuspendAfterOverdue: &one}, nil))(t)
		first, second := f.breakGlassGrant(), f.breakGlassGrant()
		f.clock.Advance(24*time.Hour + time.Minute)
		var fns []func() error
		for range 3 {
			fns = append(fns, func() error { _, err := f.op.SweepTenant(f.ctx, tenantA); return err })
		}
		fns = append(fns, func() error {
			_, err := f.svc.ReviewGrant(f.ctx, carol, second.ID, access.ReviewInput{Outcome: "unjustified", Reasoning: "no incident"}, nil)
			return err
		})
		for _, err := range parallel(fns...) {
			if err != nil {
				t.Fatal(err)
			}
		}
		// The review may have come before the sweeps saw the second grant.
		for range 2 {
			must(f.op.SweepTenant(f.ctx, tenantA))(t)
		}
		acts := f.auditActions()
		g := f.grant(tenantA, first.ID)
		if g.Review.OverdueAt.IsZero() || acts[access.AuditGrantReviewed] != 1 || acts[access.AuditBreakGlassSuspended] != 1 {
			t.Fatalf("first review %+v; audit %v: want it overdue, one grant.reviewed, one break_glass.suspended", g.Review, acts)
		}
		if n := acts[access.AuditReviewOverdue]; n < 1 || n > 2 {
			t.Fatalf("%d review.overdue, want one per review announced", n)
		}
		sp := must(f.store.GetSuspension(f.ctx, tenantA, "alice"))(t)
		if !sp.Suspended || sp.Overdue != acts[access.AuditReviewOverdue] {
			t.Fatalf("standing = %+v, want suspended with %d overdue", sp, acts[access.AuditReviewOverdue])
		}
	}
}
