// Package e2e drives Elevate's HTTP API exactly as a client would, on every
// store, and checks every response against the OpenAPI document.
package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/local"
)

func TestAutoApprovedLifecycle(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 3600)).want(http.StatusCreated).request()
		if r.Status != "approved" || r.ApprovalMode == nil || *r.ApprovalMode != "auto" || r.GrantID == nil {
			t.Fatalf("auto request = %+v", r)
		}
		if len(r.Notices) == 0 {
			t.Error("an auto-approved request should carry the policy's notice")
		}
		e.settle()
		g := a.alice.get("/v1/grants/" + *r.GrantID).want(http.StatusOK).grant()
		if g.Status != "active" || g.ExpiresAt == nil || !g.ExpiresAt.Equal(start.Add(time.Hour)) {
			t.Fatalf("grant = %+v, want active until %v", g, start.Add(time.Hour))
		}
		if len(g.Assignments) != 1 || g.Assignments[0].AccountID != "123456789012" || g.Assignments[0].Status != "active" {
			t.Fatalf("assignments = %+v", g.Assignments)
		}
		if n := len(e.local.IdentityCenter.Assignments()); n != 1 {
			t.Fatalf("identity center has %d assignments, want 1", n)
		}

		// One second early nothing happens; on time the grant expires and the
		// assignment is removed.
		e.advance(time.Hour - time.Second)
		if g := a.alice.get("/v1/grants/" + *r.GrantID).grant(); g.Status != "active" {
			t.Fatalf("grant is %s a second before expiry", g.Status)
		}
		e.advance(time.Second)
		g = a.alice.get("/v1/grants/" + *r.GrantID).want(http.StatusOK).grant()
		if g.Status != "expired" {
			t.Fatalf("grant after expiry is %s", g.Status)
		}
		if n := len(e.local.IdentityCenter.Assignments()); n != 0 {
			t.Fatalf("identity center still has %d assignments after expiry", n)
		}
		// The request stays approved after its grant ended.
		if r := a.alice.get("/v1/requests/" + r.ID).request(); r.Status != "approved" {
			t.Fatalf("request after expiry is %s", r.Status)
		}
	})
}

func TestRequireApprovalLifecycle(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 1800)).want(http.StatusCreated).request()
		if r.Status != "pending" || *r.ApprovalMode != "require" || r.ApprovalsRequired != 1 || r.GrantID != nil {
			t.Fatalf("request = %+v", r)
		}
		if r.ApprovalExpiresAt == nil || !r.ApprovalExpiresAt.Equal(start.Add(24*time.Hour)) {
			t.Fatalf("approval window ends %v, want %v", r.ApprovalExpiresAt, start.Add(24*time.Hour))
		}
		inbox := list[request]{}
		a.carol.get("/v1/approvals/pending").want(http.StatusOK).decode(&inbox)
		if len(inbox.Data) != 1 || inbox.Data[0].ID != r.ID {
			t.Fatalf("carol's inbox = %+v", inbox.Data)
		}
		// bob's own inbox is not his to see: requesters have none.
		a.bob.get("/v1/approvals/pending").wantError(http.StatusForbidden, "forbidden")

		approved := a.carol.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "Change CHG-77 is approved"}).want(http.StatusOK).request()
		if approved.Status != "approved" || approved.GrantID == nil || approved.DecidedBy == nil || *approved.DecidedBy != "carol" {
			t.Fatalf("approved = %+v", approved)
		}
		if len(approved.Approvals) != 1 || approved.Approvals[0].ApproverID != "carol" || approved.Approvals[0].Reasoning != "Change CHG-77 is approved" {
			t.Fatalf("approvals = %+v", approved.Approvals)
		}
		e.settle()
		g := a.bob.get("/v1/grants/" + *approved.GrantID).want(http.StatusOK).grant()
		if g.Status != "active" || g.RequestID == nil || *g.RequestID != r.ID {
			t.Fatalf("grant = %+v", g)
		}
		// Deciding again is a conflict; the inbox is empty.
		a.carol.post("/v1/requests/"+r.ID+"/deny", body{"reasoning": "no"}).wantError(http.StatusConflict, "request_not_pending")
		a.carol.get("/v1/approvals/pending").decode(&inbox)
		if len(inbox.Data) != 0 {
			t.Fatalf("inbox after approval = %+v", inbox.Data)
		}

		// Revoked by the grantee: revoking at once, revoked once the
		// assignment is gone.
		rev := a.bob.post("/v1/grants/"+g.ID+"/revoke", body{"reasoning": "Done early"}).want(http.StatusOK).grant()
		if rev.Status != "revoking" && rev.Status != "revoked" {
			t.Fatalf("revoke answered %s", rev.Status)
		}
		e.settle()
		g = a.bob.get("/v1/grants/" + g.ID).grant()
		if g.Status != "revoked" || g.RevokedAt == nil {
			t.Fatalf("grant after revoke = %+v", g)
		}
		if n := len(e.local.IdentityCenter.Assignments()); n != 0 {
			t.Fatalf("identity center has %d assignments after revoke", n)
		}
		a.bob.post("/v1/grants/"+g.ID+"/revoke", nil).wantError(http.StatusConflict, "conflict")
		// The cancelled expiry never fires a second end.
		e.advance(2 * time.Hour)
		if g := a.bob.get("/v1/grants/" + g.ID).grant(); g.Status != "revoked" {
			t.Fatalf("grant after its old expiry time is %s", g.Status)
		}
	})
}

// A deny says why, unless the tenant's admins make the reason optional; the
// setting shows in the tenant and its change in the audit trail.
func TestDenyNeedsAReason(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		for _, b := range []any{nil, body{}, body{"reasoning": "   "}} {
			got := a.carol.post("/v1/requests/"+r.ID+"/deny", b).wantError(http.StatusBadRequest, "validation_failed")
			if _, ok := got.Details["reasoning"]; !ok {
				t.Fatalf("deny with %v: details %v, want reasoning", b, got.Details)
			}
		}
		var tenant map[string]any
		a.ada.get("/v1/tenant").want(http.StatusOK).decode(&tenant)
		if tenant["deny_requires_reasoning"] != true {
			t.Fatalf("deny_requires_reasoning = %v, want true by default", tenant["deny_requires_reasoning"])
		}
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"deny_requires_reasoning": false}).want(http.StatusOK).decode(&tenant)
		if tenant["deny_requires_reasoning"] != false {
			t.Fatalf("deny_requires_reasoning = %v after the PATCH", tenant["deny_requires_reasoning"])
		}
		if d := a.carol.post("/v1/requests/"+r.ID+"/deny", nil).want(http.StatusOK).request(); d.Status != "denied" {
			t.Fatalf("deny without a reason where it is optional: %s", d.Status)
		}
	})
}

func TestDenyAndCancel(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		denied := a.carol.post("/v1/requests/"+r.ID+"/deny", body{"reasoning": "Use ReadOnly"}).want(http.StatusOK).request()
		if denied.Status != "denied" || denied.Reasoning == nil || *denied.Reasoning != "Use ReadOnly" || denied.GrantID != nil {
			t.Fatalf("denied = %+v", denied)
		}
		a.ada.post("/v1/requests/"+r.ID+"/approve", nil).wantError(http.StatusConflict, "request_not_pending")

		r = a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		a.alice.post("/v1/requests/"+r.ID+"/cancel", nil).wantError(http.StatusNotFound, "not_found")
		a.carol.post("/v1/requests/"+r.ID+"/cancel", nil).wantError(http.StatusForbidden, "forbidden")
		c := a.bob.post("/v1/requests/"+r.ID+"/cancel", nil).want(http.StatusOK).request()
		if c.Status != "cancelled" {
			t.Fatalf("cancelled = %+v", c)
		}
		a.carol.post("/v1/requests/"+r.ID+"/approve", nil).wantError(http.StatusConflict, "request_not_pending")
		a.bob.post("/v1/requests/"+r.ID+"/cancel", nil).wantError(http.StatusConflict, "request_not_pending")
	})
}

func TestPolicyDenialIsRecorded(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		er := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 50000)).wantError(http.StatusForbidden, "policy_denied")
		if len(er.Notices) == 0 || !strings.Contains(strings.Join(er.Notices, " "), "43200") {
			t.Fatalf("notices %q should name the maximum", er.Notices)
		}
		id, _ := er.Details["request_id"].(string)
		if id == "" {
			t.Fatalf("details %v should name the recorded request", er.Details)
		}
		r := a.alice.get("/v1/requests/" + id).want(http.StatusOK).request()
		if r.Status != "denied" || len(r.Notices) == 0 {
			t.Fatalf("recorded request = %+v", r)
		}
	})
}

func TestBreakGlass(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.alice.post("/v1/requests", accountRequest("123456789012", "Admin", 1800).with("break_glass", true)).want(http.StatusCreated).request()
		if r.Status != "approved" || *r.ApprovalMode != "break_glass" || !r.BreakGlass || r.GrantID == nil {
			t.Fatalf("break-glass = %+v", r)
		}
		e.settle()
		if g := a.alice.get("/v1/grants/" + *r.GrantID).grant(); g.Status != "active" {
			t.Fatalf("break-glass grant is %s", g.Status)
		}
		// It is flagged for review: a high-severity audit event.
		var events list[map[string]any]
		a.ada.get("/v1/audit-events?limit=250").want(http.StatusOK).decode(&events)
		flagged := slices.ContainsFunc(events.Data, func(ev map[string]any) bool {
			return ev["object_id"] == r.ID && ev["severity"] == "high"
		})
		if !flagged {
			t.Fatal("break-glass request has no high-severity audit event")
		}
		// bob is not on call; nobody breaks glass for more than an hour.
		a.bob.post("/v1/requests", accountRequest("123456789012", "Admin", 1800).with("break_glass", true)).wantError(http.StatusForbidden, "policy_denied")
		a.alice.post("/v1/requests", accountRequest("123456789012", "Admin", 7200).with("break_glass", true)).wantError(http.StatusForbidden, "policy_denied")
	})
}

func TestDelegatedRequest(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		// A delegated ReadOnly request is not auto-approved.
		r := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 600).with("grantee_id", "bob")).want(http.StatusCreated).request()
		if r.Status != "pending" || r.GranteeID != "bob" || r.RequesterID != "alice" {
			t.Fatalf("delegated = %+v", r)
		}
		// Both parties see it; the grantee cannot approve it.
		a.bob.get("/v1/requests/" + r.ID).want(http.StatusOK)
		var mine list[request]
		a.bob.get("/v1/requests").want(http.StatusOK).decode(&mine)
		if len(mine.Data) != 1 || mine.Data[0].ID != r.ID {
			t.Fatalf("bob's list = %+v", mine.Data)
		}
		// Never break glass for someone else.
		a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 600).with("grantee_id", "bob").with("break_glass", true)).wantError(http.StatusForbidden, "policy_denied")

		approved := a.carol.post("/v1/requests/"+r.ID+"/approve", nil).want(http.StatusOK).request()
		e.settle()
		g := a.bob.get("/v1/grants/" + *approved.GrantID).want(http.StatusOK).grant()
		if g.GranteeID != "bob" || g.Status != "active" {
			t.Fatalf("grant = %+v", g)
		}
		// The requester does not hold the grant, so it is not hers to see.
		a.alice.get("/v1/grants/"+g.ID).wantError(http.StatusNotFound, "not_found")
	})
}

func TestSelfApprovalIsForbidden(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		own := a.carol.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		er := a.carol.post("/v1/requests/"+own.ID+"/approve", nil).wantError(http.StatusForbidden, "forbidden")
		if !strings.Contains(er.Message, "made or will receive") {
			t.Errorf("message %q should say why", er.Message)
		}
		a.carol.post("/v1/requests/"+own.ID+"/deny", body{"reasoning": "no"}).wantError(http.StatusForbidden, "forbidden")
		forCarol := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600).with("grantee_id", "carol")).want(http.StatusCreated).request()
		a.carol.post("/v1/requests/"+forCarol.ID+"/approve", nil).wantError(http.StatusForbidden, "forbidden")
		// Another approver may.
		a.ada.post("/v1/requests/"+own.ID+"/approve", nil).want(http.StatusOK)
		// Requesters never approve.
		a.alice.post("/v1/requests/"+forCarol.ID+"/approve", nil).wantError(http.StatusForbidden, "forbidden")
	})
}

func TestApprovalWindowExpires(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		e.advance(24*time.Hour - time.Second)
		if got := a.bob.get("/v1/requests/" + r.ID).request(); got.Status != "pending" {
			t.Fatalf("request is %s before its window ends", got.Status)
		}
		e.advance(time.Second)
		if got := a.bob.get("/v1/requests/" + r.ID).request(); got.Status != "expired" {
			t.Fatalf("request is %s after its window ended", got.Status)
		}
		a.carol.post("/v1/requests/"+r.ID+"/approve", nil).wantError(http.StatusConflict, "request_not_pending")
	})
}

func TestConcurrentApprovalsMakeOneGrant(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		approvers := []caller{a.carol, a.ada, a.carol, a.ada, a.carol, a.ada}
		statuses := make([]int, len(approvers))
		var wg sync.WaitGroup
		for i, c := range approvers {
			wg.Go(func() { statuses[i] = c.post("/v1/requests/"+r.ID+"/approve", nil).status })
		}
		wg.Wait()
		ok := 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				ok++
			case http.StatusConflict:
			default:
				t.Fatalf("approve answered %d", s)
			}
		}
		if ok != 1 {
			t.Fatalf("%d approvals succeeded, want exactly 1 (statuses %v)", ok, statuses)
		}
		e.settle()
		var grants list[grant]
		a.ada.get("/v1/grants").want(http.StatusOK).decode(&grants)
		if len(grants.Data) != 1 {
			t.Fatalf("%d grants, want 1", len(grants.Data))
		}
	})
}

func TestProtectedAndOutsideTargetsAreRefused(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		er := a.alice.post("/v1/requests", accountRequest(local.DemoProtectedAccount, "ReadOnly", 600)).wantError(http.StatusForbidden, "forbidden")
		if !strings.Contains(er.Message, "protected") {
			t.Errorf("message %q should say the account is protected", er.Message)
		}
		// Globex's account is outside Acme's allowed roots.
		a.alice.post("/v1/requests", accountRequest("345678901234", "ReadOnly", 600)).wantError(http.StatusForbidden, "forbidden")
		// Admins cannot grant it either.
		a.ada.post("/v1/grants", body{
			"grantee_id": "bob", "resource": body{"type": "aws_account", "id": local.DemoProtectedAccount}, "action": "ReadOnly",
			"expires_at": start.Add(time.Hour).Format(time.RFC3339), "reasoning": "audit",
		}).wantError(http.StatusForbidden, "forbidden")
		// Nothing was recorded or assigned.
		var reqs list[request]
		a.ada.get("/v1/requests").decode(&reqs)
		if len(reqs.Data) != 0 {
			t.Fatalf("refused targets recorded requests: %+v", reqs.Data)
		}
		if n := len(e.local.IdentityCenter.Assignments()); n != 0 {
			t.Fatalf("%d assignments made", n)
		}
	})
}

func TestOUGrantCoversEligibleAccounts(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.bob.post("/v1/requests", body{
			"resource": body{"type": "aws_organizational_unit", "id": "ou-ac01-workload"}, "action": "ReadOnly",
			"duration_seconds": 900, "justification": "Fleet-wide investigation",
		}).want(http.StatusCreated).request()
		a.carol.post("/v1/requests/"+r.ID+"/approve", nil).want(http.StatusOK)
		e.settle()
		r = a.bob.get("/v1/requests/" + r.ID).request()
		g := a.bob.get("/v1/grants/" + *r.GrantID).want(http.StatusOK).grant()
		var accounts []string
		for _, as := range g.Assignments {
			accounts = append(accounts, as.AccountID)
		}
		slices.Sort(accounts)
		if g.Status != "active" || !slices.Equal(accounts, []string{"123456789012", "210987654321"}) {
			t.Fatalf("OU grant %s covers %v", g.Status, accounts)
		}
	})
}

func TestDirectGrant(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		g := a.ada.post("/v1/grants", body{
			"grantee_id": "bob", "resource": body{"type": "aws_s3_bucket", "id": "acme-incident-logs", "account_id": "123456789012"},
			"action": "read", "expires_at": start.Add(2 * time.Hour).Format(time.RFC3339), "reasoning": "Incident INC-9 review",
		}).want(http.StatusCreated).grant()
		if g.RequestID != nil || g.GranteeID != "bob" || g.ExpiresAt == nil || !g.ExpiresAt.Equal(start.Add(2*time.Hour)) {
			t.Fatalf("direct grant = %+v", g)
		}
		e.settle()
		g = a.bob.get("/v1/grants/" + g.ID).want(http.StatusOK).grant()
		if g.Status != "active" || len(g.Assignments) != 1 || !strings.Contains(g.Assignments[0].PermissionSetARN, "/ps-") {
			t.Fatalf("direct grant after provisioning = %+v", g)
		}
		// Never to yourself; requesters cannot grant.
		a.ada.post("/v1/grants", body{
			"grantee_id": "ada", "resource": body{"type": "aws_account", "id": "123456789012"}, "action": "Admin",
			"expires_at": start.Add(time.Hour).Format(time.RFC3339), "reasoning": "self",
		}).wantError(http.StatusForbidden, "forbidden")
		a.alice.post("/v1/grants", body{
			"grantee_id": "bob", "resource": body{"type": "aws_account", "id": "123456789012"}, "action": "Admin",
			"expires_at": start.Add(time.Hour).Format(time.RFC3339), "reasoning": "x",
		}).wantError(http.StatusForbidden, "forbidden")
		// It expires at the time given.
		e.advance(2 * time.Hour)
		if g := a.ada.get("/v1/grants/" + g.ID).grant(); g.Status != "expired" {
			t.Fatalf("direct grant after its end is %s", g.Status)
		}
	})
}

func TestOverlappingGrantsKeepAccess(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		first := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 1800)).want(http.StatusCreated).request()
		e.settle()
		e.advance(10 * time.Minute)
		second := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 3600)).want(http.StatusCreated).request()
		e.settle()
		if n := len(e.local.IdentityCenter.Assignments()); n != 1 {
			t.Fatalf("%d assignments for two overlapping grants, want 1 shared", n)
		}
		e.advance(20 * time.Minute) // the first grant ends
		if g := a.alice.get("/v1/grants/" + *first.GrantID).grant(); g.Status != "expired" {
			t.Fatalf("first grant is %s", g.Status)
		}
		if n := len(e.local.IdentityCenter.Assignments()); n != 1 {
			t.Fatal("the first grant's expiry removed access the second still needs")
		}
		e.advance(40 * time.Minute) // the second ends
		if g := a.alice.get("/v1/grants/" + *second.GrantID).grant(); g.Status != "expired" {
			t.Fatalf("second grant is %s", g.Status)
		}
		if n := len(e.local.IdentityCenter.Assignments()); n != 0 {
			t.Fatalf("%d assignments left after both grants ended", n)
		}
	})
}

func TestListsPaginateNewestFirst(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		var ids []string
		for i := range 7 {
			r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600+i)).want(http.StatusCreated).request()
			ids = append(ids, r.ID)
			e.clock.Advance(time.Second)
		}
		slices.Reverse(ids)
		var got []string
		path := "/v1/requests?limit=3&status=pending"
		var last list[request]
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			var page list[request]
			a.bob.get(path).want(http.StatusOK).decode(&page)
			for _, r := range page.Data {
				got = append(got, r.ID)
			}
			last = page
			if !page.HasMore {
				break
			}
			path = "/v1/requests?limit=3&status=pending&cursor=" + *page.NextCursor
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("pages gave %v, want newest first %v", got, ids)
		}
		if last.NextCursor != nil {
			t.Fatalf("last page has a cursor")
		}

		var first list[request]
		a.bob.get("/v1/requests?limit=3").decode(&first)
		c := *first.NextCursor
		// A cursor is bound to its query, principal and tenant, and sealed.
		a.bob.get("/v1/requests?limit=3&status=denied&cursor="+c).wantError(http.StatusBadRequest, "invalid_cursor")
		a.carol.get("/v1/requests?limit=3&cursor="+c).wantError(http.StatusBadRequest, "invalid_cursor")
		tampered := c[:len(c)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(c, "AA")]
		a.bob.get("/v1/requests?limit=3&cursor="+tampered).wantError(http.StatusBadRequest, "invalid_cursor")
		a.bob.get("/v1/requests?cursor=garbage").wantError(http.StatusBadRequest, "invalid_cursor")
		// Cursors expire.
		e.clock.Advance(25 * time.Hour)
		a.bob.get("/v1/requests?limit=3&cursor="+c).wantError(http.StatusBadRequest, "invalid_cursor")
	})
}

func TestRequestersSeeOnlyTheirOwn(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		bobs := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 600)).want(http.StatusCreated)
		a.alice.get("/v1/requests/"+bobs.ID).wantError(http.StatusNotFound, "not_found")
		var l list[request]
		a.alice.get("/v1/requests?requester_id=bob").want(http.StatusOK).decode(&l)
		if len(l.Data) != 0 {
			t.Fatalf("alice sees bob's requests: %+v", l.Data)
		}
		a.carol.get("/v1/requests").decode(&l)
		if len(l.Data) != 2 {
			t.Fatalf("approver sees %d requests, want all 2", len(l.Data))
		}
		a.carol.get("/v1/requests?requester_id=bob").decode(&l)
		if len(l.Data) != 1 || l.Data[0].ID != bobs.ID {
			t.Fatalf("filter requester_id=bob gave %+v", l.Data)
		}
		var grants list[grant]
		a.bob.get("/v1/grants?grantee_id=alice").want(http.StatusOK).decode(&grants)
		if len(grants.Data) != 0 {
			t.Fatalf("bob sees alice's grants: %+v", grants.Data)
		}
	})
}

func TestIdempotentCreate(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		b := accountRequest("210987654321", "Admin", 600)
		first := a.bob.post("/v1/requests", b, idempotencyKey("create-1")).want(http.StatusCreated)
		again := a.bob.post("/v1/requests", b, idempotencyKey("create-1")).want(http.StatusCreated)
		if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
			t.Fatalf("replay differs:\n%s\n%s", first.body, again.body)
		}
		a.bob.post("/v1/requests", b.with("duration_seconds", 700), idempotencyKey("create-1")).wantError(http.StatusUnprocessableEntity, "idempotency_key_reused")
		// Scoped to the principal: alice's key of the same name is hers.
		a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 600), idempotencyKey("create-1")).want(http.StatusCreated)
		var l list[request]
		a.carol.get("/v1/requests").decode(&l)
		if len(l.Data) != 2 {
			t.Fatalf("%d requests after replays, want 2", len(l.Data))
		}
		// A replayed denial is the same denial.
		den := accountRequest("123456789012", "ReadOnly", 50000)
		d1 := a.alice.post("/v1/requests", den, idempotencyKey("deny-1")).wantError(http.StatusForbidden, "policy_denied")
		d2 := a.alice.post("/v1/requests", den, idempotencyKey("deny-1")).wantError(http.StatusForbidden, "policy_denied")
		if d1.Details["request_id"] != d2.Details["request_id"] {
			t.Fatalf("replayed denial names another request: %v vs %v", d1.Details, d2.Details)
		}
		a.alice.post("/v1/requests", den, idempotencyKey(strings.Repeat("k", 256)), invalid()).wantError(http.StatusBadRequest, "validation_failed")
	})
}

func TestConcurrentIdempotentCreates(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		b := accountRequest("210987654321", "Admin", 600)
		const n = 8
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { codes[i] = a.bob.post("/v1/requests", b, idempotencyKey("race")).status })
		}
		wg.Wait()
		for _, c := range codes {
			if c != http.StatusCreated && c != http.StatusConflict {
				t.Fatalf("codes %v", codes)
			}
		}
		var l list[request]
		a.carol.get("/v1/requests").decode(&l)
		if len(l.Data) != 1 {
			t.Fatalf("%d requests from %d identical calls, want 1 (codes %v)", len(l.Data), n, codes)
		}
	})
}

func TestAuditTrail(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		a.carol.post("/v1/requests/"+r.ID+"/approve", nil).want(http.StatusOK)
		e.settle()
		var events list[map[string]any]
		a.ada.get("/v1/audit-events?limit=250").want(http.StatusOK).decode(&events)
		var actions []string
		for _, ev := range events.Data {
			actions = append(actions, fmt.Sprint(ev["action"]))
		}
		for _, want := range []string{"request.created", "request.approved", "grant.created", "grant.activated"} {
			if !slices.Contains(actions, want) {
				t.Errorf("audit trail %v lacks %s", actions, want)
			}
		}
		a.carol.get("/v1/audit-events").wantError(http.StatusForbidden, "forbidden")
	})
}
