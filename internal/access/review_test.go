package access_test

import (
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter/recording"
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
		sp := must(f.store.GetSuspension(f.ctx, tenantA, recording.UserID("alice")))(t)
		if !sp.Suspended || sp.Overdue != acts[access.AuditReviewOverdue] {
			t.Fatalf("standing = %+v, want suspended with %d overdue", sp, acts[access.AuditReviewOverdue])
		}
	}
}

// A break-glass standing is the person's, not the spelling's: an alias
// resolving to the same Identity Store user ("ALICE" is alice under
// user-name mapping) is suspended with them, shares their overdue count,
// and names them to an admin lifting the suspension.
func TestSuspensionFollowsThePerson(t *testing.T) {
	aliceAlias := user(tenantA, "ALICE", access.RoleRequester, "engineering", "oncall")
	breakGlass := func() access.CreateRequestInput {
		in := adminAccess(acct2)
		in.BreakGlass, in.DurationSeconds = true, 1800
		return in
	}
	t.Run("an unjustified review suspends the alias too", func(t *testing.T) {
		f := withTenant(t)
		g := f.breakGlassGrant()
		must(f.svc.ReviewGrant(f.ctx, carol, g.ID, access.ReviewInput{Outcome: "unjustified", Reasoning: "no incident"}, nil))(t)
		_, err := f.svc.CreateRequest(f.ctx, alice, breakGlass(), nil)
		wantCode(t, err, access.CodePolicyDenied)
		_, err = f.svc.CreateRequest(f.ctx, aliceAlias, breakGlass(), nil)
		wantCode(t, err, access.CodePolicyDenied)
		ev := must(f.svc.EvaluatePolicies(f.ctx, ada, access.EvaluateInput{PrincipalID: "ALICE", Groups: []string{"oncall"},
			Resource: access.Resource{Type: access.ResourceAccount, ID: acct2}, Action: "Admin", DurationSeconds: 1800, BreakGlass: true}))(t)
		if ev.Decision.Allowed {
			t.Errorf("the dry run lets the alias of a suspended user break glass: %+v", ev.Decision)
		}
		sp := must(f.svc.LiftSuspension(f.ctx, ada, "ALICE", "discussed", nil))(t)
		if sp.Suspended || sp.UserID != "alice" {
			t.Errorf("lifted by alias = %+v, want alice's standing, lifted", sp)
		}
		must(f.svc.CreateRequest(f.ctx, aliceAlias, breakGlass(), nil))(t)
	})
	t.Run("overdue reviews count across aliases", func(t *testing.T) {
		f := withTenant(t)
		two := 2
		must(f.svc.UpdateTenant(f.ctx, ada, access.TenantPatch{SuspendAfterOverdue: &two}, nil))(t)
		f.breakGlassGrant()
		must(f.svc.CreateRequest(f.ctx, aliceAlias, breakGlass(), nil))(t)
		f.clock.Advance(24*time.Hour + time.Minute)
		must(f.op.SweepTenant(f.ctx, tenantA))(t)
		if n := f.auditActions()[access.AuditBreakGlassSuspended]; n != 1 {
			t.Fatalf("%d break_glass.suspended after two overdue reviews of one person, want 1", n)
		}
		_, err := f.svc.CreateRequest(f.ctx, alice, breakGlass(), nil)
		wantCode(t, err, access.CodePolicyDenied)
		list := must(f.svc.ListSuspensions(f.ctx, ada, access.PageRequest{Limit: 10}))(t)
		if len(list.Items) != 1 || list.Items[0].Overdue != 2 {
			t.Fatalf("suspensions = %+v, want one with 2 overdue reviews", list.Items)
		}
	})
	t.Run("lifting a user who does not resolve", func(t *testing.T) {
		f := withTenant(t)
		f.ic.SetUsers("ada", "carol", "alice", "bob")
		_, err := f.svc.LiftSuspension(f.ctx, ada, "mallory", "discussed", nil)
		wantCode(t, err, access.CodeNotFound)
	})
}

// Nobody lifts their own suspension, under any spelling, and an API key
// (a service principal) lifts none: a person must.
func TestLiftSuspensionNeedsAnotherPerson(t *testing.T) {
	f := withTenant(t)
	adaOncall := user(tenantA, "ada", access.RoleAdmin, "platform-admins", "oncall")
	in := adminAccess(acct2)
	in.BreakGlass, in.DurationSeconds = true, 1800
	r := must(f.svc.CreateRequest(f.ctx, adaOncall, in, nil))(t)
	must(f.svc.ReviewGrant(f.ctx, carol, r.GrantID, access.ReviewInput{Outcome: "unjustified", Reasoning: "no incident"}, nil))(t)
	for _, c := range []struct {
		name string
		p    access.Principal
		id   string
	}{
		{"herself", ada, "ada"},
		{"herself by an alias", ada, "ADA"},
		{"herself signed in as an alias", user(tenantA, "Ada", access.RoleAdmin, "platform-admins"), "ada"},
		{"an API key", robot, "ada"},
	} {
		_, err := f.svc.LiftSuspension(f.ctx, c.p, c.id, "all good", nil)
		if access.CodeOf(err) != access.CodeForbidden {
			t.Errorf("%s: lift = %v, want forbidden", c.name, err)
		}
	}
	sp := must(f.svc.LiftSuspension(f.ctx, erin, "ada", "discussed", nil))(t)
	if sp.Suspended || sp.LiftedBy != "erin" {
		t.Fatalf("lifted = %+v", sp)
	}
}
