package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// reviewedGrant is a grant with its break-glass review, as a client sees it.
type reviewedGrant struct {
	ID         string  `json:"id"`
	GranteeID  string  `json:"grantee_id"`
	BreakGlass bool    `json:"break_glass"`
	Review     *review `json:"review"`
}

type review struct {
	Status     string     `json:"status"`
	DueAt      time.Time  `json:"due_at"`
	Overdue    bool       `json:"overdue"`
	OverdueAt  *time.Time `json:"overdue_at"`
	ReviewerID *string    `json:"reviewer_id"`
	Reasoning  *string    `json:"reasoning"`
	ReviewedAt *time.Time `json:"reviewed_at"`
}

type suspension struct {
	UserID              string     `json:"user_id"`
	IdentityStoreUserID string     `json:"identity_store_user_id"`
	Suspended           bool       `json:"suspended"`
	Reason              *string    `json:"reason"`
	GrantID             *string    `json:"grant_id"`
	OverdueReviews      int        `json:"overdue_reviews"`
	LiftedBy            *string    `json:"lifted_by"`
	LiftedAt            *time.Time `json:"lifted_at"`
}

// breakGlass makes alice's break-glass request (she is on call) and
// returns its grant.
func breakGlass(t *testing.T, e *env) reviewedGrant {
	t.Helper()
	r := e.acme.alice.post("/v1/requests", accountRequest("210987654321", "Admin", 1800).with("break_glass", true)).want(http.StatusCreated).request()
	if r.Status != "approved" || r.GrantID == nil {
		t.Fatalf("break-glass request = %+v, want approved with a grant", r)
	}
	var g reviewedGrant
	e.acme.alice.get("/v1/grants/" + *r.GrantID).want(http.StatusOK).decode(&g)
	return g
}

// pendingReviews is the caller's reviews inbox: the grant ids.
func pendingReviews(c caller) []string {
	var l list[reviewedGrant]
	c.get("/v1/reviews/pending?limit=50").want(http.StatusOK).decode(&l)
	ids := []string{}
	for _, g := range l.Data {
		ids = append(ids, g.ID)
	}
	return ids
}

func sweep(t *testing.T, e *env) int {
	t.Helper()
	rep, err := e.local.Operator.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep.ReviewsOverdue
}

// Every break-glass grant opens a review, due the tenant's
// break_glass_review_seconds later (24 h by default). Approvers who could
// have approved it see it in their inbox, never its requester or grantee;
// one of them records justified or unjustified once, with reasoning.
func TestBreakGlassReview(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		g := breakGlass(t, e)
		if g.Review == nil || g.Review.Status != "pending" || !g.Review.DueAt.Equal(start.Add(24*time.Hour)) || g.Review.Overdue || g.Review.ReviewerID != nil {
			t.Fatalf("a new break-glass grant's review = %+v, want pending, due in 24 h", g.Review)
		}
		if ev := auditTrail(e, g.ID, "grant.created"); len(ev) != 1 || ev[0]["review_due_at"] != start.Add(24*time.Hour).Format(time.RFC3339) {
			t.Fatalf("grant.created = %v, want review_due_at", ev)
		}
		// An ordinary grant has no review, and cannot be reviewed.
		plain := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 1800)).want(http.StatusCreated).request()
		var pg reviewedGrant
		a.alice.get("/v1/grants/" + *plain.GrantID).want(http.StatusOK).decode(&pg)
		if pg.Review != nil {
			t.Fatalf("an ordinary grant has a review: %+v", pg.Review)
		}
		a.carol.post("/v1/grants/"+*plain.GrantID+"/review", body{"outcome": "justified", "reasoning": "ok"}).wantError(http.StatusNotFound, "not_found")
		a.carol.post("/v1/grants/00000000-0000-0000-0000-000000000000/review", body{"outcome": "justified", "reasoning": "ok"}).wantError(http.StatusNotFound, "not_found")

		// Who sees it: approvers and admins, not requesters.
		if got := pendingReviews(a.carol); len(got) != 1 || got[0] != g.ID {
			t.Fatalf("carol's reviews inbox = %v, want [%s]", got, g.ID)
		}
		if got := pendingReviews(a.ada); len(got) != 1 {
			t.Fatalf("ada's reviews inbox = %v", got)
		}
		a.alice.get("/v1/reviews/pending").wantError(http.StatusForbidden, "forbidden")
		a.alice.post("/v1/grants/"+g.ID+"/review", body{"outcome": "justified", "reasoning": "it was me"}).wantError(http.StatusForbidden, "forbidden")
		if got := pendingReviews(e.globex.carol); len(got) != 0 {
			t.Fatalf("another tenant's approver sees %v", got)
		}

		// Bad input: every problem at once.
		bad := a.carol.post("/v1/grants/"+g.ID+"/review", body{"outcome": "maybe", "reasoning": "  "}, invalid()).wantError(http.StatusBadRequest, "validation_failed")
		if bad.Details["outcome"] == nil || bad.Details["reasoning"] == nil {
			t.Fatalf("details = %v, want outcome and reasoning", bad.Details)
		}
		a.carol.post("/v1/grants/"+g.ID+"/review", body{"outcome": "justified"}, invalid()).wantError(http.StatusBadRequest, "validation_failed")

		var got reviewedGrant
		e.clock.Advance(time.Hour)
		a.carol.post("/v1/grants/"+g.ID+"/review", body{"outcome": "justified", "reasoning": "INC-4242: the database was down"}, idempotencyKey("review-1")).
			want(http.StatusOK).decode(&got)
		rv := got.Review
		if rv == nil || rv.Status != "justified" || rv.ReviewerID == nil || *rv.ReviewerID != "carol" || rv.Reasoning == nil ||
			*rv.Reasoning != "INC-4242: the database was down" || rv.ReviewedAt == nil || !rv.ReviewedAt.Equal(start.Add(time.Hour)) {
			t.Fatalf("recorded review = %+v", rv)
		}
		// A replay answers the same; a second review is a conflict.
		a.carol.post("/v1/grants/"+g.ID+"/review", body{"outcome": "justified", "reasoning": "INC-4242: the database was down"}, idempotencyKey("review-1")).
			want(http.StatusOK)
		a.ada.post("/v1/grants/"+g.ID+"/review", body{"outcome": "unjustified", "reasoning": "second look"}).wantError(http.StatusConflict, "conflict")
		ev := auditTrail(e, g.ID, "grant.reviewed")
		if len(ev) != 1 || ev[0]["outcome"] != "justified" || ev[0]["grantee_id"] != "alice" || ev[0]["overdue"] != false {
			t.Fatalf("grant.reviewed = %v", ev)
		}
		if got := pendingReviews(a.carol); len(got) != 0 {
			t.Fatalf("carol's inbox after the review = %v", got)
		}
		// A justified review suspends nobody.
		var l list[suspension]
		a.ada.get("/v1/break-glass/suspensions").want(http.StatusOK).decode(&l)
		if len(l.Data) != 0 {
			t.Fatalf("suspensions = %+v", l.Data)
		}
	})
}

// The grantee of a break-glass grant never reviews it, even as an approver;
// the requester neither.
func TestBreakGlassReviewNotByGrantee(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		// Let approvers break glass too.
		res := a.ada.get("/v1/policies").want(http.StatusOK)
		var ps struct {
			Policies string `json:"policies"`
		}
		res.decode(&ps)
		text := ps.Policies + "\n@id(\"break-glass-approvers\")\npermit (principal in Elevate::Group::\"approvers\", action == Elevate::Action::\"break_glass\", resource);\n"
		a.ada.do(http.MethodPut, "/v1/policies", body{"policies": text}, header("If-Match", res.header.Get("ETag"))).want(http.StatusOK)
		r := a.carol.post("/v1/requests", accountRequest("210987654321", "Admin", 1800).with("break_glass", true)).want(http.StatusCreated).request()
		if r.GrantID == nil {
			t.Fatalf("carol's break-glass request = %+v", r)
		}
		if got := pendingReviews(a.carol); len(got) != 0 {
			t.Fatalf("carol sees her own break-glass grant in her inbox: %v", got)
		}
		a.carol.post("/v1/grants/"+*r.GrantID+"/review", body{"outcome": "justified", "reasoning": "it was me"}).wantError(http.StatusForbidden, "forbidden")
		a.ada.post("/v1/grants/"+*r.GrantID+"/review", body{"outcome": "justified", "reasoning": "carol was on call"}).want(http.StatusOK)
	})
}

// A review still pending at its due time is announced once
// (review.overdue) by the sweeper, stays reviewable, and counts against the
// grantee: break_glass_suspend_after_overdue of them suspend their
// break-glass, which the default policies then forbid, until an admin lifts
// it (break_glass.lifted).
func TestBreakGlassReviewOverdue(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		var tn struct {
			Review  int64 `json:"break_glass_review_seconds"`
			Suspend int   `json:"break_glass_suspend_after_overdue"`
		}
		a.ada.get("/v1/tenant").want(http.StatusOK).decode(&tn)
		if tn.Review != 86400 || tn.Suspend != 3 {
			t.Fatalf("defaults = %+v, want 86400 and 3", tn)
		}
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"break_glass_review_seconds": 3600, "break_glass_suspend_after_overdue": 2}).want(http.StatusOK).decode(&tn)
		if tn.Review != 3600 || tn.Suspend != 2 {
			t.Fatalf("patched = %+v", tn)
		}
		bad := a.ada.do(http.MethodPatch, "/v1/tenant", body{"break_glass_review_seconds": 10, "break_glass_suspend_after_overdue": 101}, invalid()).wantError(http.StatusBadRequest, "validation_failed")
		if bad.Details["break_glass_review_seconds"] == nil || bad.Details["break_glass_suspend_after_overdue"] == nil {
			t.Fatalf("details = %v", bad.Details)
		}

		first := breakGlass(t, e)
		e.clock.Advance(time.Minute)
		second := breakGlass(t, e)
		if !first.Review.DueAt.Equal(start.Add(time.Hour)) {
			t.Fatalf("due at %v, want an hour after the grant", first.Review.DueAt)
		}
		e.clock.Advance(time.Hour - time.Minute - time.Second)
		if n := sweep(t, e); n != 0 {
			t.Fatalf("%d reviews overdue before their due time", n)
		}
		e.clock.Advance(time.Second)
		if n := sweep(t, e); n != 1 {
			t.Fatalf("%d reviews overdue at the first's due time, want 1", n)
		}
		if n := sweep(t, e); n != 0 {
			t.Fatalf("a second sweep announced %d again", n)
		}
		ev := auditTrail(e, first.ID, "review.overdue")
		if len(ev) != 1 || ev[0]["grantee_id"] != "alice" || ev[0]["overdue_reviews"] != float64(1) {
			t.Fatalf("review.overdue = %v", ev)
		}
		var g reviewedGrant
		a.carol.get("/v1/reviews/pending").want(http.StatusOK)
		a.ada.get("/v1/grants/" + first.ID).want(http.StatusOK).decode(&g)
		if !g.Review.Overdue || g.Review.OverdueAt == nil || g.Review.Status != "pending" {
			t.Fatalf("overdue review = %+v", g.Review)
		}
		// One overdue review of two allowed: still not suspended.
		a.alice.post("/v1/requests", accountRequest("210987654321", "Admin", 600).with("break_glass", true)).want(http.StatusCreated)

		e.clock.Advance(time.Minute)
		if n := sweep(t, e); n != 1 {
			t.Fatalf("%d reviews overdue at the second's due time, want 1", n)
		}
		if ev := auditTrail(e, "alice", "break_glass.suspended"); len(ev) != 1 || ev[0]["reason"] != "overdue" || ev[0]["grant_id"] != second.ID {
			t.Fatalf("break_glass.suspended = %v", ev)
		}
		denied := a.alice.post("/v1/requests", accountRequest("210987654321", "Admin", 600).with("break_glass", true)).wantError(http.StatusForbidden, "policy_denied")
		if len(denied.Notices) == 0 || denied.Notices[0] != "Your break-glass access is suspended after an unjustified or overdue break-glass review; ask an admin to lift it, or make an ordinary request." {
			t.Fatalf("notices = %q", denied.Notices)
		}
		// Ordinary requests are decided as before.
		a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 1800)).want(http.StatusCreated)
		// Overdue reviews stay reviewable.
		a.carol.post("/v1/grants/"+first.ID+"/review", body{"outcome": "justified", "reasoning": "late, but it was INC-4242"}).want(http.StatusOK)
		if ev := auditTrail(e, first.ID, "grant.reviewed"); len(ev) != 1 || ev[0]["overdue"] != true {
			t.Fatalf("grant.reviewed of an overdue review = %v", ev)
		}

		var l list[suspension]
		a.ada.get("/v1/break-glass/suspensions").want(http.StatusOK).decode(&l)
		if len(l.Data) != 1 || l.Data[0].UserID != "alice" || !l.Data[0].Suspended || *l.Data[0].Reason != "overdue" || l.Data[0].OverdueReviews != 2 {
			t.Fatalf("suspensions = %+v", l.Data)
		}
		a.carol.get("/v1/break-glass/suspensions").wantError(http.StatusForbidden, "forbidden")
		a.carol.post("/v1/break-glass/suspensions/alice/lift", body{"reasoning": "ok"}).wantError(http.StatusForbidden, "forbidden")
		a.ada.post("/v1/break-glass/suspensions/alice/lift", body{}, invalid()).wantError(http.StatusBadRequest, "validation_failed")
		a.ada.post("/v1/break-glass/suspensions/bob/lift", body{"reasoning": "ok"}).wantError(http.StatusNotFound, "not_found")
		var sp suspension
		a.ada.post("/v1/break-glass/suspensions/alice/lift", body{"reasoning": "Talked it through with alice"}).want(http.StatusOK).decode(&sp)
		if sp.Suspended || sp.OverdueReviews != 0 || sp.LiftedBy == nil || *sp.LiftedBy != "ada" {
			t.Fatalf("lifted = %+v", sp)
		}
		if ev := auditTrail(e, "alice", "break_glass.lifted"); len(ev) != 1 || ev[0]["reasoning"] != "Talked it through with alice" || ev[0]["reason"] != "overdue" {
			t.Fatalf("break_glass.lifted = %v", ev)
		}
		a.ada.post("/v1/break-glass/suspensions/alice/lift", body{"reasoning": "again"}).wantError(http.StatusNotFound, "not_found")
		a.alice.post("/v1/requests", accountRequest("210987654321", "Admin", 600).with("break_glass", true)).want(http.StatusCreated)
	})
}

// An unjustified review suspends the grantee's break-glass at once, in the
// same commit; break_glass_suspend_after_overdue 0 never suspends for
// overdue reviews.
func TestBreakGlassUnjustified(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"break_glass_suspend_after_overdue": 0}).want(http.StatusOK)
		g := breakGlass(t, e)
		e.clock.Advance(25 * time.Hour)
		if n := sweep(t, e); n != 1 {
			t.Fatalf("%d overdue, want 1", n)
		}
		a.alice.post("/v1/requests", accountRequest("210987654321", "Admin", 600).with("break_glass", true)).want(http.StatusCreated)
		var l list[suspension]
		a.ada.get("/v1/break-glass/suspensions").want(http.StatusOK).decode(&l)
		if len(l.Data) != 0 {
			t.Fatalf("suspended with the setting 0: %+v", l.Data)
		}
		a.carol.post("/v1/grants/"+g.ID+"/review", body{"outcome": "unjustified", "reasoning": "No incident matched."}).want(http.StatusOK)
		if ev := auditTrail(e, "alice", "break_glass.suspended"); len(ev) != 1 || ev[0]["reason"] != "unjustified" || ev[0]["grant_id"] != g.ID {
			t.Fatalf("break_glass.suspended = %v", ev)
		}
		a.alice.post("/v1/requests", accountRequest("210987654321", "Admin", 600).with("break_glass", true)).wantError(http.StatusForbidden, "policy_denied")
		a.ada.get("/v1/break-glass/suspensions").want(http.StatusOK).decode(&l)
		if len(l.Data) != 1 || *l.Data[0].Reason != "unjustified" || *l.Data[0].GrantID != g.ID {
			t.Fatalf("suspensions = %+v", l.Data)
		}
		// What the policies saw is recorded with the request.
		var dry struct {
			Decision string `json:"decision"`
		}
		a.ada.post("/v1/policies/evaluate", body{
			"principal": body{"id": "alice", "groups": []string{"oncall"}}, "resource": body{"type": "aws_account", "id": "210987654321"},
			"action": "Admin", "duration_seconds": 600, "justification": "dry run", "break_glass": true,
		}).want(http.StatusOK).decode(&dry)
		if dry.Decision != "deny" {
			t.Fatalf("dry run for a suspended user = %q, want deny", dry.Decision)
		}
	})
}

// keyFor bootstraps an API key acting as a user principal with the given
// id, role and groups, as the operator would.
func keyFor(t *testing.T, e *env, id string, role access.Role, groups ...string) caller {
	t.Helper()
	_, secret, err := e.local.Operator.BootstrapAPIKey(context.Background(), e.acme.id, access.APIKey{
		Name: "key of " + id, Role: role, PrincipalID: id, Groups: groups, ExpiresAt: start.Add(30 * 24 * time.Hour), CreatedBy: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return caller{e: e, tenant: e.acme.id, key: secret, name: id}
}

// A break-glass standing is the person's, not the spelling's: "ALICE" is
// alice under the tenant's user-name mapping, so her suspension bars it
// too, an admin lifts it by either id, and the list shows one standing.
func TestBreakGlassSuspensionFollowsThePerson(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		alias := keyFor(t, e, "ALICE", access.RoleRequester, "engineering", "oncall")
		g := breakGlass(t, e)
		a.carol.post("/v1/grants/"+g.ID+"/review", body{"outcome": "unjustified", "reasoning": "No incident matched."}).want(http.StatusOK)
		a.alice.post("/v1/requests", accountRequest("210987654321", "Admin", 600).with("break_glass", true)).wantError(http.StatusForbidden, "policy_denied")
		alias.post("/v1/requests", accountRequest("210987654321", "Admin", 600).with("break_glass", true)).wantError(http.StatusForbidden, "policy_denied")
		var l list[suspension]
		a.ada.get("/v1/break-glass/suspensions").want(http.StatusOK).decode(&l)
		if len(l.Data) != 1 || l.Data[0].UserID != "alice" || l.Data[0].IdentityStoreUserID == "" || !l.Data[0].Suspended {
			t.Fatalf("suspensions = %+v, want alice's one standing", l.Data)
		}
		a.ada.post("/v1/break-glass/suspensions/mallory/lift", body{"reasoning": "ok"}).wantError(http.StatusNotFound, "not_found")
		var sp suspension
		a.ada.post("/v1/break-glass/suspensions/ALICE/lift", body{"reasoning": "Talked it through with alice"}).want(http.StatusOK).decode(&sp)
		if sp.Suspended || sp.UserID != "alice" || sp.IdentityStoreUserID != l.Data[0].IdentityStoreUserID {
			t.Fatalf("lifted by alias = %+v, want alice's standing", sp)
		}
		if ev := auditTrail(e, "alice", "break_glass.lifted"); len(ev) != 1 || ev[0]["lifted_as"] != "ALICE" {
			t.Fatalf("break_glass.lifted = %v", ev)
		}
		alias.post("/v1/requests", accountRequest("210987654321", "Admin", 600).with("break_glass", true)).want(http.StatusCreated)

		// Overdue reviews of both spellings count once, against alice.
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"break_glass_suspend_after_overdue": 2}).want(http.StatusOK)
		a.alice.post("/v1/requests", accountRequest("210987654321", "Admin", 600).with("break_glass", true)).want(http.StatusCreated)
		e.clock.Advance(25 * time.Hour)
		if n := sweep(t, e); n != 2 {
			t.Fatalf("%d reviews overdue, want 2", n)
		}
		alias.post("/v1/requests", accountRequest("210987654321", "Admin", 600).with("break_glass", true)).wantError(http.StatusForbidden, "policy_denied")
		a.ada.get("/v1/break-glass/suspensions").want(http.StatusOK).decode(&l)
		if len(l.Data) != 1 || *l.Data[0].Reason != "overdue" || l.Data[0].OverdueReviews != 2 {
			t.Fatalf("suspensions = %+v, want one standing with 2 overdue reviews", l.Data)
		}
	})
}

// Nobody lifts their own break-glass suspension, under any of their ids,
// and an API key of a service principal lifts none: a person must.
func TestBreakGlassLiftNeedsAnotherPerson(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		adaOnCall := keyFor(t, e, "ada", access.RoleAdmin, "platform-admins", "oncall")
		r := adaOnCall.post("/v1/requests", accountRequest("210987654321", "Admin", 1800).with("break_glass", true)).want(http.StatusCreated).request()
		a.carol.post("/v1/grants/"+*r.GrantID+"/review", body{"outcome": "unjustified", "reasoning": "No incident matched."}).want(http.StatusOK)
		var k struct {
			Secret string `json:"key"`
		}
		a.ada.post("/v1/api-keys", body{"name": "ops bot", "role": "admin", "service_principal": "ops-bot"}).want(http.StatusCreated).decode(&k)
		robot := caller{e: e, tenant: a.id, key: k.Secret, name: "ops-bot"}
		for _, c := range []struct {
			who caller
			id  string
		}{{a.ada, "ada"}, {a.ada, "ADA"}, {keyFor(t, e, "Ada", access.RoleAdmin, "platform-admins"), "ada"}, {robot, "ada"}} {
			c.who.post("/v1/break-glass/suspensions/"+c.id+"/lift", body{"reasoning": "all good"}).wantError(http.StatusForbidden, "forbidden")
		}
		var sp suspension
		keyFor(t, e, "erin", access.RoleAdmin, "platform-admins").post("/v1/break-glass/suspensions/ada/lift", body{"reasoning": "Discussed with ada"}).
			want(http.StatusOK).decode(&sp)
		if sp.Suspended || sp.LiftedBy == nil || *sp.LiftedBy != "erin" {
			t.Fatalf("lifted = %+v", sp)
		}
	})
}
