package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/policy"
)

// inboxItem is a pending request as the inbox shows it, with what a careful
// approver reads.
type inboxItem struct {
	request
	UpdatedAt      time.Time `json:"updated_at"`
	ForwardHistory []struct {
		From    string    `json:"from"`
		To      string    `json:"to"`
		By      string    `json:"by"`
		Comment string    `json:"comment"`
		At      time.Time `json:"at"`
	} `json:"forward_history"`
	Conflicts []conflict `json:"conflicts"`
}

type conflict struct {
	PolicyID string   `json:"policy_id"`
	Name     string   `json:"name"`
	Enforce  string   `json:"enforce"`
	GrantIDs []string `json:"grant_ids"`
}

// inbox reads one page of an inbox and returns the ids and the response.
func inbox(c caller, query string) ([]string, list[inboxItem], *resp) {
	c.e.t.Helper()
	var page list[inboxItem]
	res := c.get("/v1/approvals/pending" + query).want(http.StatusOK)
	res.decode(&page)
	ids := make([]string, len(page.Data))
	for i, it := range page.Data {
		ids[i] = it.ID
	}
	return ids, page, res
}

func bucketRequest(name, account string) body {
	return body{
		"resource": body{"type": "aws_s3_bucket", "id": name, "account_id": account}, "action": "read",
		"duration_seconds": 600, "justification": "Read the incident logs",
	}
}

// TestInboxFilters covers every filter, sort and order of the inbox, the
// count and the admin's view of another approver's inbox.
func TestInboxFilters(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		// Two approvals per request, so an approval updates a request that
		// stays pending.
		putPolicies(t, a.ada, strings.Replace(policy.DefaultText, `@approvals("1")`, `@approvals("2")`, 1))
		t0 := start
		mk := func(c caller, b body) request {
			r := c.post("/v1/requests", b).want(http.StatusCreated).request()
			if r.Status != "pending" {
				t.Fatalf("request is %s, want pending", r.Status)
			}
			e.advance(time.Minute)
			return r
		}
		r1 := mk(a.bob, accountRequest("210987654321", "Admin", 600))                             // t0, bob, account 2109
		r2 := mk(a.alice, accountRequest("123456789012", "Admin", 600))                           // t0+1m, alice, account 1234
		r3 := mk(a.bob, bucketRequest("acme-incident-logs", "123456789012"))                      // t0+2m, bob, a bucket in 1234
		r4 := mk(a.alice, accountRequest("210987654321", "Admin", 600).with("grantee_id", "bob")) // t0+3m, alice for bob
		// ada approves r1 at t0+4m: updated last, still pending for carol.
		a.ada.post("/v1/requests/"+r1.ID+"/approve", body{"reasoning": "Change CHG-1 is approved"}).want(http.StatusOK)

		at := func(d time.Duration) string { return url.QueryEscape(t0.Add(d).Format(time.RFC3339)) }
		for _, c := range []struct {
			name, query string
			want        []request
		}{
			{"default: oldest created first", "", []request{r1, r2, r3, r4}},
			{"newest first", "?order=desc", []request{r4, r3, r2, r1}},
			{"explicit defaults", "?sort=created_at&order=asc", []request{r1, r2, r3, r4}},
			{"by update", "?sort=updated_at", []request{r2, r3, r4, r1}},
			{"by update newest first", "?sort=updated_at&order=desc", []request{r1, r4, r3, r2}},
			{"grantee", "?grantee_id=bob", []request{r1, r3, r4}},
			{"requester", "?requester_id=alice", []request{r2, r4}},
			{"requester and grantee", "?requester_id=alice&grantee_id=bob", []request{r4}},
			{"resource type", "?resource_type=aws_s3_bucket", []request{r3}},
			{"account", "?account_id=123456789012", []request{r2, r3}},
			{"account of accounts", "?account_id=210987654321&resource_type=aws_account", []request{r1, r4}},
			{"updated after (exclusive)", "?updated_after=" + at(2*time.Minute), []request{r1, r4}},
			{"updated before (exclusive)", "?updated_before=" + at(2*time.Minute), []request{r2}},
			{"updated between", "?updated_after=" + at(30*time.Second) + "&updated_before=" + at(150*time.Second), []request{r2, r3}},
			{"updated between by update, newest first", "?sort=updated_at&order=desc&updated_after=" + at(0) + "&updated_before=" + at(5*time.Minute), []request{r1, r4, r3, r2}},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := e.sub(t)
				ids, _, res := inbox(e.acme.carol, c.query)
				var want []string
				for _, r := range c.want {
					want = append(want, r.ID)
				}
				if !slices.Equal(ids, want) {
					t.Errorf("inbox%s = %v, want %v", c.query, ids, want)
				}
				if res.header.Get("X-Total-Count") != "" {
					t.Error("X-Total-Count without count=true")
				}
			})
		}

		// The item shows the earlier approver's comment (quorum).
		_, page, _ := inbox(a.carol, "?grantee_id=bob&limit=1")
		if it := page.Data[0]; it.ID != r1.ID || len(it.Approvals) != 1 || it.Approvals[0].ApproverID != "ada" || it.Approvals[0].Reasoning != "Change CHG-1 is approved" {
			t.Fatalf("first item = %+v", it)
		}
		if !page.HasMore || page.NextCursor == nil {
			t.Fatal("a one-item page of three has no cursor")
		}
		// The cursor is bound to the filters: the next page follows them.
		ids, _, _ := inbox(a.carol, "?grantee_id=bob&limit=1&cursor="+url.QueryEscape(*page.NextCursor))
		if !slices.Equal(ids, []string{r3.ID}) {
			t.Fatalf("second page = %v", ids)
		}
		a.carol.get("/v1/approvals/pending?grantee_id=alice&limit=1&cursor="+url.QueryEscape(*page.NextCursor)).wantError(http.StatusBadRequest, "invalid_cursor")

		// count=true: the whole inbox's size, whatever the page.
		for q, want := range map[string]string{
			"?count=true":                           "4",
			"?count=true&limit=1":                   "4",
			"?count=true&grantee_id=bob":            "3",
			"?count=true&resource_type=aws_account": "3",
			"?count=true&requester_id=nobody":       "0",
		} {
			_, page, res := inbox(a.carol, q)
			if got := res.header.Get("X-Total-Count"); got != want {
				t.Errorf("%s: X-Total-Count = %q, want %s", q, got, want)
			}
			if res.header.Get("X-Total-Count-Capped") != "" {
				t.Errorf("%s: capped", q)
			}
			if q == "?count=true&limit=1" && (len(page.Data) != 1 || !page.HasMore) {
				t.Errorf("%s: page of %d, has_more %v", q, len(page.Data), page.HasMore)
			}
		}

		// Admins see another approver's inbox; ada's own lacks what she approved.
		ids, _, _ = inbox(a.ada, "?approver_id=carol")
		if !slices.Equal(ids, []string{r1.ID, r2.ID, r3.ID, r4.ID}) {
			t.Fatalf("ada's view of carol's inbox = %v", ids)
		}
		ids, _, res := inbox(a.ada, "?approver_id=carol&count=true&requester_id=bob")
		if !slices.Equal(ids, []string{r1.ID, r3.ID}) || res.header.Get("X-Total-Count") != "2" {
			t.Fatalf("ada's filtered view of carol's inbox = %v (%s)", ids, res.header.Get("X-Total-Count"))
		}
		ids, _, _ = inbox(a.ada, "")
		if !slices.Equal(ids, []string{r2.ID, r3.ID, r4.ID}) {
			t.Fatalf("ada's inbox = %v", ids)
		}
		// The view of a requester's inbox leaves out their own requests.
		ids, _, _ = inbox(a.ada, "?approver_id=bob")
		if !slices.Equal(ids, []string{r2.ID}) {
			t.Fatalf("ada's view of bob's inbox = %v", ids)
		}
		// Others see only their own.
		ids, _, _ = inbox(a.carol, "?approver_id=carol")
		if len(ids) != 4 {
			t.Fatalf("carol naming herself = %v", ids)
		}
		a.carol.get("/v1/approvals/pending?approver_id=ada").wantError(http.StatusForbidden, "forbidden")
		a.alice.get("/v1/approvals/pending?approver_id=alice").wantError(http.StatusForbidden, "forbidden")
	})
}

// TestInboxBadInput: every bad parameter is 400 in our error shape, naming it.
func TestInboxBadInput(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		for q, field := range map[string]string{
			"?sort=name":                 "sort",
			"?order=up":                  "order",
			"?count=yes":                 "count",
			"?updated_after=yesterday":   "updated_after",
			"?updated_before=2026-13-01": "updated_before",
			"?updated_after=2026-11-23T10:00:00Z&updated_before=2026-11-23T09:00:00Z": "updated_after",
			"?resource_type=aws_lambda":                "resource_type",
			"?account_id=12":                           "account_id",
			"?approver_id=" + strings.Repeat("x", 300): "approver_id",
			"?owner=carol":                             "owner",
		} {
			err := e.acme.carol.get("/v1/approvals/pending"+q, invalid()).wantError(http.StatusBadRequest, "validation_failed")
			if _, ok := err.Details[field]; !ok {
				t.Errorf("%s: details %v lack %s", q, err.Details, field)
			}
		}
	})
}

// TestForward covers forwarding: who may, to whom, what it changes and the
// refusals.
func TestForward(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		e.advance(time.Minute)

		// Requesters cannot forward; nor can the grantee, even an approver.
		a.alice.post("/v1/requests/"+r.ID+"/forward", body{"to": "ada"}).wantError(http.StatusForbidden, "forbidden")
		a.bob.post("/v1/requests/"+r.ID+"/forward", body{"to": "ada"}).wantError(http.StatusForbidden, "forbidden")
		own := a.carol.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		a.carol.post("/v1/requests/"+own.ID+"/forward", body{"to": "ada"}).wantError(http.StatusForbidden, "forbidden")

		// Bad forwardees.
		e.local.IdentityCenter.SetUsers("ada", "carol", "alice", "bob", "erin")
		for name, b := range map[string]body{
			"self":         {"to": "carol"},
			"requester":    {"to": "bob"},
			"unknown user": {"to": "zed"},
			"empty":        {"to": ""},
			"missing":      {"comment": "x"},
			"long comment": {"to": "ada", "comment": strings.Repeat("x", 1025)},
		} {
			t.Run(name, func(t *testing.T) {
				e := e.sub(t)
				err := e.acme.carol.post("/v1/requests/"+r.ID+"/forward", b, invalid()).wantError(http.StatusBadRequest, "validation_failed")
				if len(err.Details) == 0 {
					t.Errorf("no details: %+v", err)
				}
			})
		}
		delegated := a.alice.post("/v1/requests", accountRequest("210987654321", "Admin", 600).with("grantee_id", "bob")).want(http.StatusCreated).request()
		for _, to := range []string{"alice", "bob"} {
			err := a.carol.post("/v1/requests/"+delegated.ID+"/forward", body{"to": to}).wantError(http.StatusBadRequest, "validation_failed")
			if _, ok := err.Details["to"]; !ok {
				t.Errorf("forward to %s: %+v", to, err)
			}
		}
		// Another tenant's request does not exist there.
		e.globex.carol.post("/v1/requests/"+r.ID+"/forward", body{"to": "ada"}).wantError(http.StatusNotFound, "not_found")

		// carol forwards to ada.
		fw := a.carol.post("/v1/requests/"+r.ID+"/forward", body{"to": "ada", "comment": "Ada owns this account"}).want(http.StatusOK)
		var got inboxItem
		fw.decode(&got)
		if got.Status != "pending" || len(got.ForwardHistory) != 1 {
			t.Fatalf("forwarded = %+v", got)
		}
		if f := got.ForwardHistory[0]; f.From != "carol" || f.To != "ada" || f.By != "carol" || f.Comment != "Ada owns this account" || !f.At.Equal(start.Add(time.Minute)) {
			t.Fatalf("forward = %+v", f)
		}
		if d := auditActions(e, r.ID)["request.forwarded"]; d == nil || d["from"] != "carol" || d["to"] != "ada" {
			t.Fatalf("audit of the forward = %v", auditActions(e, r.ID))
		}
		// It left carol's inbox and she no longer decides it; ada sees it with
		// its history.
		if ids, _, _ := inbox(a.carol, ""); slices.Contains(ids, r.ID) {
			t.Fatal("carol's inbox still lists the request she forwarded")
		}
		a.carol.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "ok"}).wantError(http.StatusForbidden, "forbidden")
		a.carol.post("/v1/requests/"+r.ID+"/forward", body{"to": "erin"}).wantError(http.StatusForbidden, "forbidden")
		_, page, _ := inbox(a.ada, "")
		if i := slices.IndexFunc(page.Data, func(it inboxItem) bool { return it.ID == r.ID }); i < 0 || len(page.Data[i].ForwardHistory) != 1 {
			t.Fatalf("ada's inbox = %+v", page.Data)
		}
		// Forwarding to whoever has it is refused.
		a.ada.post("/v1/requests/"+r.ID+"/forward", body{"to": "ada"}).wantError(http.StatusBadRequest, "validation_failed")

		// The forwardee approves.
		ok := a.ada.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "Fine for CHG-9"}).want(http.StatusOK).request()
		if ok.Status != "approved" || ok.DecidedBy == nil || *ok.DecidedBy != "ada" {
			t.Fatalf("approved = %+v", ok)
		}
		// A decided request cannot be forwarded.
		a.ada.post("/v1/requests/"+r.ID+"/forward", body{"to": "carol"}).wantError(http.StatusConflict, "request_not_pending")

		// An admin covering for someone forwards on their behalf; the request
		// comes back to carol, who decides it again.
		r2 := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		a.carol.post("/v1/requests/"+r2.ID+"/forward", body{"to": "erin", "comment": "Erin decides these"}).want(http.StatusOK)
		back := a.ada.post("/v1/requests/"+r2.ID+"/forward", body{"to": "carol", "comment": "Erin is away"}).want(http.StatusOK)
		back.decode(&got)
		if len(got.ForwardHistory) != 2 || got.ForwardHistory[1].From != "erin" || got.ForwardHistory[1].To != "carol" || got.ForwardHistory[1].By != "ada" {
			t.Fatalf("forward history = %+v", got.ForwardHistory)
		}
		if ids, _, _ := inbox(a.carol, ""); !slices.Contains(ids, r2.ID) {
			t.Fatal("the request forwarded back is not in carol's inbox")
		}
		a.carol.post("/v1/requests/"+r2.ID+"/approve", body{"reasoning": "ok"}).want(http.StatusOK)
	})
}

// TestForwardNeedsAnApproverByPolicy: the forwardee must be permitted by the
// approve policies (by id alone), and an approver the policies do not let
// decide cannot forward.
func TestForwardNeedsAnApproverByPolicy(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		text := strings.Replace(policy.DefaultText, "@id(\"approvers-may-approve\")\npermit (\n  principal,", "@id(\"approvers-may-approve\")\npermit (\n  principal in Elevate::Group::\"approvers\",", 1) + `
@id("erin-may-approve")
permit (principal == Elevate::User::"erin", action == Elevate::Action::"approve", resource);
`
		putPolicies(t, a.ada, text)
		r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		// dave is not named by any approve policy: not a forwardee.
		err := a.carol.post("/v1/requests/"+r.ID+"/forward", body{"to": "dave"}).wantError(http.StatusBadRequest, "validation_failed")
		if _, ok := err.Details["to"]; !ok || len(err.Notices) == 0 {
			t.Fatalf("forward to dave = %+v", err)
		}
		// erin is.
		a.carol.post("/v1/requests/"+r.ID+"/forward", body{"to": "erin"}).want(http.StatusOK)
	})
}

const sodPolicy = `
@id("sod-prod-vs-audit")
@sod("prod-vs-audit")
%s
forbid (principal, action in Elevate::Action::"access", resource == Elevate::Account::"123456789012")
when { context.active_grants.accounts.contains("210987654321") };
`

// TestSoDConflicts: a grantee holding access to the audit account (2109…)
// who asks for the production account (1234…) meets the tenant's
// separation-of-duties policy: an auto decision needs an approver who sees
// the conflict, or, under @sod_enforce("deny"), the request is denied; the
// dry run shows the same.
func TestSoDConflicts(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		putPolicies(t, a.ada, policy.DefaultText+strings.Replace(sodPolicy, "%s", "", 1))
		held := activeGrant(t, e, a.alice, accountRequest("210987654321", "ReadOnly", 3600))

		// bob holds nothing: auto-approved as usual.
		if r := a.bob.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 600)).want(http.StatusCreated).request(); r.Status != "approved" {
			t.Fatalf("bob's request = %s", r.Status)
		}
		// alice's would be auto too, but conflicts.
		res := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 600)).want(http.StatusCreated)
		var r inboxItem
		res.decode(&r)
		want := conflict{PolicyID: "sod-prod-vs-audit", Name: "prod-vs-audit", Enforce: "require", GrantIDs: []string{held.ID}}
		if r.Status != "pending" || *r.ApprovalMode != "require" || r.ApprovalsRequired != 1 || len(r.Conflicts) != 1 || !sameConflict(r.Conflicts[0], want) {
			t.Fatalf("conflicting request = %+v", r)
		}
		if !slices.ContainsFunc(r.Notices, func(n string) bool { return strings.Contains(n, "Separation of duties") }) {
			t.Errorf("notices = %q", r.Notices)
		}
		if d := auditActions(e, r.ID)["request.created"]; d["conflicts"] != "sod-prod-vs-audit" {
			t.Errorf("request.created details = %v", d)
		}
		// The pending item shows the conflict.
		_, page, _ := inbox(a.carol, "?requester_id=alice")
		if len(page.Data) != 1 || page.Data[0].ID != r.ID || len(page.Data[0].Conflicts) != 1 || !sameConflict(page.Data[0].Conflicts[0], want) {
			t.Fatalf("carol's inbox = %+v", page.Data)
		}
		// So does the dry run.
		var ev struct {
			evaluation
			Conflicts []conflict `json:"conflicts"`
		}
		dry := body{"principal": body{"id": "alice"}, "resource": body{"type": "aws_account", "id": "123456789012"}, "action": "ReadOnly", "duration_seconds": 600}
		a.ada.post("/v1/policies/evaluate", dry).want(http.StatusOK).decode(&ev)
		if ev.Decision != "allow" || *ev.ApprovalMode != "require" || len(ev.Conflicts) != 1 || !sameConflict(ev.Conflicts[0], want) {
			t.Fatalf("dry run = %+v", ev)
		}
		a.ada.post("/v1/policies/evaluate", dry.with("principal", body{"id": "bob"})).want(http.StatusOK).decode(&ev)
		if ev.Decision != "allow" || *ev.ApprovalMode != "auto" || len(ev.Conflicts) != 0 {
			t.Fatalf("dry run for bob = %+v", ev)
		}

		// @sod_enforce("deny") denies instead, and the dry run says so.
		putPolicies(t, a.ada, policy.DefaultText+strings.Replace(sodPolicy, "%s", `@sod_enforce("deny")`, 1))
		denied := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 600)).wantError(http.StatusForbidden, "policy_denied")
		if !slices.ContainsFunc(denied.Notices, func(n string) bool { return strings.Contains(n, "prod-vs-audit") }) {
			t.Errorf("denial notices = %q", denied.Notices)
		}
		a.ada.post("/v1/policies/evaluate", dry).want(http.StatusOK).decode(&ev)
		want.Enforce = "deny"
		if ev.Decision != "deny" || len(ev.Conflicts) != 1 || !sameConflict(ev.Conflicts[0], want) {
			t.Fatalf("dry run under deny = %+v", ev)
		}
		// Once the grant ends, there is no conflict.
		a.alice.post("/v1/grants/"+held.ID+"/revoke", body{"reasoning": "done"}).want(http.StatusOK)
		e.settle()
		if r := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 600)).want(http.StatusCreated).request(); r.Status != "approved" {
			t.Fatalf("request after the grant ended = %s", r.Status)
		}
	})
}

func sameConflict(a, b conflict) bool {
	return a.PolicyID == b.PolicyID && a.Name == b.Name && a.Enforce == b.Enforce && slices.Equal(a.GrantIDs, b.GrantIDs)
}

// TestSoDAnnotationsRefused: a policy set that misuses @sod is refused.
func TestSoDAnnotationsRefused(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		res := a.ada.get("/v1/policies").want(http.StatusOK)
		text := policy.DefaultText + `
@id("bad-sod")
@sod("x")
permit (principal, action == Elevate::Action::"request", resource);
`
		err := a.ada.do("PUT", "/v1/policies", body{"policies": text}, header("If-Match", res.header.Get("ETag"))).wantError(http.StatusBadRequest, "validation_failed")
		if !strings.Contains(err.Message+toString(err.Details), "@sod") {
			t.Fatalf("error = %+v", err)
		}
	})
}

func toString(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k)
		b.WriteString("=")
		if s, ok := v.(string); ok {
			b.WriteString(s)
		}
		b.WriteString(";")
	}
	return b.String()
}
