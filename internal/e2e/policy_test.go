package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/policy"
)

type policySet struct {
	Version   int    `json:"version"`
	Policies  string `json:"policies"`
	CreatedBy string `json:"created_by"`
}

type evaluation struct {
	Decision          string  `json:"decision"`
	ApprovalMode      *string `json:"approval_mode"`
	ApprovalsRequired int     `json:"approvals_required"`
	Determining       []struct {
		ID          string            `json:"id"`
		Effect      string            `json:"effect"`
		Annotations map[string]string `json:"annotations"`
	} `json:"determining"`
	Notices       []string `json:"notices"`
	Errors        []any    `json:"errors"`
	PolicyVersion *int     `json:"policy_version"`
}

// putPolicies replaces the tenant's policies, as an admin would.
func putPolicies(t *testing.T, admin caller, text string) policySet {
	t.Helper()
	var cur policySet
	res := admin.get("/v1/policies").want(http.StatusOK)
	res.decode(&cur)
	var next policySet
	admin.do("PUT", "/v1/policies", body{"policies": text}, header("If-Match", res.header.Get("ETag"))).want(http.StatusOK).decode(&next)
	return next
}

func TestPolicyVersions(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		var v1 policySet
		res := a.carol.get("/v1/policies").want(http.StatusOK)
		res.decode(&v1)
		if v1.Version != 1 || v1.Policies != policy.DefaultText || res.header.Get("ETag") != `"1"` {
			t.Fatalf("v1 = %d, etag %s", v1.Version, res.header.Get("ETag"))
		}
		a.alice.get("/v1/policies").wantError(http.StatusForbidden, "forbidden")

		stricter := policy.DefaultText + "\n@id(\"no-admin-on-weekends\")\n@notice(\"No admin access at weekends.\")\nforbid (principal, action == Elevate::Action::\"request\", resource) when { context.action == \"Admin\" && (context.weekday == \"saturday\" || context.weekday == \"sunday\") };\n"
		// Only admins write; If-Match is required and must be current.
		a.carol.do("PUT", "/v1/policies", body{"policies": stricter}, header("If-Match", `"1"`)).wantError(http.StatusForbidden, "forbidden")
		a.ada.do("PUT", "/v1/policies", body{"policies": stricter}, invalid()).wantError(http.StatusBadRequest, "validation_failed")
		a.ada.do("PUT", "/v1/policies", body{"policies": stricter}, header("If-Match", `"7"`)).wantError(http.StatusConflict, "conflict")
		var v2 policySet
		a.ada.do("PUT", "/v1/policies", body{"policies": stricter}, header("If-Match", `"1"`)).want(http.StatusOK).decode(&v2)
		if v2.Version != 2 || v2.CreatedBy != "ada" {
			t.Fatalf("v2 = %+v", v2)
		}
		// The old version is kept; a second writer with the old version loses.
		var old policySet
		a.carol.get("/v1/policies/versions/1").want(http.StatusOK).decode(&old)
		if old.Policies != policy.DefaultText {
			t.Fatal("version 1 changed")
		}
		a.ada.do("PUT", "/v1/policies", body{"policies": stricter}, header("If-Match", `"1"`)).wantError(http.StatusConflict, "conflict")
		a.carol.get("/v1/policies/versions/3").wantError(http.StatusNotFound, "not_found")
		a.carol.get("/v1/policies/versions/zero", invalid()).wantError(http.StatusNotFound, "not_found")
		// Another tenant's versions are its own.
		var g policySet
		e.globex.carol.get("/v1/policies").decode(&g)
		if g.Version != 1 {
			t.Fatalf("globex policies at version %d", g.Version)
		}
		// The change is audited, and new requests use it (2026-11-28 is a Saturday).
		e.clock.Advance(5 * 24 * time.Hour)
		er := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).wantError(http.StatusForbidden, "policy_denied")
		if !strings.Contains(strings.Join(er.Notices, ""), "weekends") {
			t.Fatalf("notices %q", er.Notices)
		}
		var events list[map[string]any]
		a.ada.get("/v1/audit-events").decode(&events)
		if events.Data[1]["action"] != "policy.updated" && events.Data[0]["action"] != "policy.updated" {
			t.Fatalf("no policy.updated audit event near the top: %v", events.Data[:2])
		}
	})
}

func TestInvalidPoliciesAreRejectedWithPositions(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		for _, c := range []struct{ name, text, want string }{
			{"syntax", `@id("a") permit (principal, action, resource) when { context. };`, ""},
			{"missing id", `permit (principal, action == Elevate::Action::"request", resource);`, "@id"},
			{"type error", "@id(\"a\")\npermit (principal, action == Elevate::Action::\"request\", resource) when { context.duration_seconds == \"long\" };", ""},
			{"unknown attribute", "@id(\"a\")\npermit (principal, action == Elevate::Action::\"request\", resource) when { context.colour == \"red\" };", ""},
			{"bad approvals", "@id(\"a\")\n@approvals(\"many\")\npermit (principal, action == Elevate::Action::\"request\", resource);", "approvals"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := e.sub(t)
				er := e.acme.ada.do("PUT", "/v1/policies", body{"policies": c.text}, header("If-Match", `"1"`)).wantError(http.StatusBadRequest, "validation_failed")
				problems, _ := er.Details["policies"].([]any)
				if len(problems) == 0 {
					t.Fatalf("no problems listed: %v", er.Details)
				}
				p := problems[0].(map[string]any)
				if p["line"].(float64) < 1 || p["message"] == "" {
					t.Fatalf("problem without position or message: %v", p)
				}
				if c.want != "" && !strings.Contains(er.Message, c.want) {
					t.Fatalf("message %q lacks %q", er.Message, c.want)
				}
			})
		}
		var cur policySet
		a.ada.get("/v1/policies").decode(&cur)
		if cur.Version != 1 {
			t.Fatalf("invalid policies changed the version to %d", cur.Version)
		}
		a.ada.do("PUT", "/v1/policies", body{"policies": strings.Repeat(" ", 300<<10)}, header("If-Match", `"1"`), invalid()).
			wantError(http.StatusRequestEntityTooLarge, "payload_too_large")
	})
}

func TestEvaluateDryRun(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		req := body{"principal": body{"id": "alice", "groups": []string{"oncall"}}, "resource": body{"type": "aws_account", "id": "123456789012"},
			"action": "ReadOnly", "duration_seconds": 3600}
		var ev evaluation
		a.ada.post("/v1/policies/evaluate", req).want(http.StatusOK).decode(&ev)
		if ev.Decision != "allow" || *ev.ApprovalMode != "auto" || ev.PolicyVersion == nil || *ev.PolicyVersion != 1 {
			t.Fatalf("evaluation = %+v", ev)
		}
		if len(ev.Determining) != 1 || ev.Determining[0].ID != "auto-approve-short-readonly" || ev.Determining[0].Annotations["approval"] != "auto" {
			t.Fatalf("determining = %+v", ev.Determining)
		}
		a.ada.post("/v1/policies/evaluate", req.with("duration_seconds", 50000)).decode(&ev)
		if ev.Decision != "deny" || len(ev.Notices) == 0 {
			t.Fatalf("long evaluation = %+v", ev)
		}
		// A draft is evaluated instead of the stored set, and nothing is stored.
		draft := "@id(\"everything-needs-two\")\n@approvals(\"2\")\npermit (principal, action == Elevate::Action::\"request\", resource);"
		a.ada.post("/v1/policies/evaluate", req.with("policies", draft)).decode(&ev)
		if ev.Decision != "allow" || *ev.ApprovalMode != "require" || ev.ApprovalsRequired != 2 || ev.PolicyVersion != nil {
			t.Fatalf("draft evaluation = %+v", ev)
		}
		// A target the tenant may not reach is refused, and not evaluated.
		a.ada.post("/v1/policies/evaluate", req.with("resource", body{"type": "aws_account", "id": "999999999999"})).wantError(http.StatusForbidden, "forbidden")
		a.ada.post("/v1/policies/evaluate", req.with("policies", "nonsense")).wantError(http.StatusBadRequest, "validation_failed")
		a.ada.post("/v1/policies/evaluate", req.with("principal", nil), invalid()).wantError(http.StatusBadRequest, "validation_failed")
		a.carol.post("/v1/policies/evaluate", req).wantError(http.StatusForbidden, "forbidden")
		var reqs list[request]
		a.ada.get("/v1/requests").decode(&reqs)
		if len(reqs.Data) != 0 {
			t.Fatal("a dry run stored a request")
		}
	})
}

func TestQuorum(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		putPolicies(t, a.ada, strings.Replace(policy.DefaultText, `@approvals("1")`, `@approvals("2")`, 1))
		r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		if r.ApprovalsRequired != 2 {
			t.Fatalf("approvals required = %d", r.ApprovalsRequired)
		}
		once := a.carol.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "ok"}).want(http.StatusOK).request()
		if once.Status != "pending" || len(once.Approvals) != 1 || once.GrantID != nil {
			t.Fatalf("after one approval = %+v", once)
		}
		// carol cannot count twice, and no longer sees it in her inbox; ada does.
		a.carol.post("/v1/requests/"+r.ID+"/approve", nil).wantError(http.StatusConflict, "conflict")
		var inbox list[request]
		a.carol.get("/v1/approvals/pending").decode(&inbox)
		if len(inbox.Data) != 0 {
			t.Fatal("carol's inbox still lists a request she approved")
		}
		a.ada.get("/v1/approvals/pending").decode(&inbox)
		if len(inbox.Data) != 1 {
			t.Fatal("ada's inbox lacks the request")
		}
		twice := a.ada.post("/v1/requests/"+r.ID+"/approve", nil).want(http.StatusOK).request()
		if twice.Status != "approved" || len(twice.Approvals) != 2 || twice.GrantID == nil {
			t.Fatalf("after two approvals = %+v", twice)
		}
		// Any deny ends a request, whatever the quorum.
		r2 := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		a.carol.post("/v1/requests/"+r2.ID+"/approve", nil).want(http.StatusOK)
		if d := a.ada.post("/v1/requests/"+r2.ID+"/deny", body{"reasoning": "not now"}).want(http.StatusOK).request(); d.Status != "denied" {
			t.Fatalf("deny after one approval = %s", d.Status)
		}
	})
}

func TestPoliciesChooseApprovers(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		text := strings.Replace(policy.DefaultText, "@id(\"approvers-may-approve\")\npermit (\n  principal,", "@id(\"approvers-may-approve\")\npermit (\n  principal in Elevate::Group::\"approvers\",", 1)
		if text == policy.DefaultText {
			t.Fatal("test setup: the default set's approve policy changed shape")
		}
		putPolicies(t, a.ada, text)
		r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
		// ada is an admin but not in "approvers": the policies do not let her decide.
		a.ada.post("/v1/requests/"+r.ID+"/approve", nil).wantError(http.StatusForbidden, "forbidden")
		var inbox list[request]
		a.ada.get("/v1/approvals/pending").decode(&inbox)
		if len(inbox.Data) != 0 {
			t.Fatal("ada's inbox lists a request she may not decide")
		}
		a.carol.post("/v1/requests/"+r.ID+"/approve", nil).want(http.StatusOK)
	})
}

func TestOUPoliciesAndTimeZones(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		text := `@id("workloads-auto")
@approval("auto")
@notice("Workload accounts are open during Berlin office hours.")
permit (principal, action == Elevate::Action::"request", resource in Elevate::OrganizationalUnit::"ou-ac01-workload")
when { context.hour >= 9 && context.hour < 17 };

@id("not-the-payments-account")
@notice("The payments account is closed.")
forbid (principal, action == Elevate::Action::"request", resource in Elevate::Account::"210987654321");

@id("approvers-may-approve")
permit (principal, action == Elevate::Action::"approve", resource);
`
		putPolicies(t, a.ada, text)
		a.ada.do("PATCH", "/v1/tenant", body{"time_zone": "Europe/Berlin"}).want(http.StatusOK)
		// 09:00 UTC is 10:00 in Berlin: inside office hours.
		r := a.bob.post("/v1/requests", accountRequest("123456789012", "Admin", 600)).want(http.StatusCreated).request()
		if r.Status != "approved" || *r.ApprovalMode != "auto" {
			t.Fatalf("workload request at 10:00 Berlin = %+v", r)
		}
		// The forbid on one account inside the permitted OU wins.
		er := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).wantError(http.StatusForbidden, "policy_denied")
		if !strings.Contains(strings.Join(er.Notices, ""), "payments") {
			t.Fatalf("notices %q", er.Notices)
		}
		// 16:30 UTC is 17:30 in Berlin: outside, though inside in UTC.
		e.clock.Advance(7*time.Hour + 30*time.Minute)
		a.bob.post("/v1/requests", accountRequest("123456789012", "Admin", 600)).wantError(http.StatusForbidden, "policy_denied")
	})
}
