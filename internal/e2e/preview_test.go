package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/elevate-jit/elevate/internal/policy"
)

type preview struct {
	Status            string   `json:"status"`
	ApprovalMode      *string  `json:"approval_mode"`
	ApprovalsRequired int      `json:"approvals_required"`
	Notices           []string `json:"notices"`
	PolicyVersion     int      `json:"policy_version"`
}

// A requester previews what the policies would do with a request: the same
// answer creating it would give, and nothing stored.
func TestRequestPreview(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		var auto, approval, denied preview
		a.alice.post("/v1/requests/preview", accountRequest("123456789012", "ReadOnly", 3600)).want(http.StatusOK).decode(&auto)
		if auto.Status != "approved" || auto.ApprovalMode == nil || *auto.ApprovalMode != "auto" || auto.ApprovalsRequired != 0 || auto.PolicyVersion != 1 {
			t.Fatalf("read-only preview = %+v", auto)
		}
		a.bob.post("/v1/requests/preview", accountRequest("210987654321", "Admin", 1800)).want(http.StatusOK).decode(&approval)
		if approval.Status != "pending" || approval.ApprovalMode == nil || *approval.ApprovalMode != "require" || approval.ApprovalsRequired < 1 {
			t.Fatalf("admin preview = %+v", approval)
		}

		// A denial is an answer here, with the policies' notices.
		forbid := policy.DefaultText + "\n@id(\"no-admin\")\n@notice(\"Admin is frozen this week.\")\nforbid (principal, action == Elevate::Action::\"request\", resource) when { context.action == \"Admin\" };\n"
		putPolicies(t, a.ada, forbid)
		a.bob.post("/v1/requests/preview", accountRequest("210987654321", "Admin", 1800)).want(http.StatusOK).decode(&denied)
		if denied.Status != "denied" || denied.ApprovalMode != nil || denied.PolicyVersion != 2 || len(denied.Notices) != 1 || !strings.Contains(denied.Notices[0], "frozen") {
			t.Fatalf("denied preview = %+v", denied)
		}

		// The same checks as a new request: bad bodies and refused targets.
		a.alice.post("/v1/requests/preview", body{"action": "ReadOnly"}, invalid()).wantError(http.StatusBadRequest, "validation_failed")
		a.alice.post("/v1/requests/preview", accountRequest("123456789012", "ReadOnly", 3600).with("bogus", 1), invalid()).wantError(http.StatusBadRequest, "validation_failed")
		a.alice.post("/v1/requests/preview", accountRequest("999999999999", "ReadOnly", 3600)).wantError(http.StatusForbidden, "forbidden")
		a.nobody.post("/v1/requests/preview", accountRequest("123456789012", "ReadOnly", 3600)).wantError(http.StatusUnauthorized, "unauthenticated")

		// Nothing was stored: no request, no grant, no audit event of one.
		var reqs, grants, trail struct {
			Data []map[string]any `json:"data"`
		}
		a.ada.get("/v1/requests").want(http.StatusOK).decode(&reqs)
		a.ada.get("/v1/grants").want(http.StatusOK).decode(&grants)
		a.ada.get("/v1/audit-events?limit=100").want(http.StatusOK).decode(&trail)
		if len(reqs.Data) != 0 || len(grants.Data) != 0 {
			t.Fatalf("a preview stored %d requests and %d grants", len(reqs.Data), len(grants.Data))
		}
		for _, ev := range trail.Data {
			if typ, _ := ev["type"].(string); strings.HasPrefix(typ, "request.") || strings.HasPrefix(typ, "grant.") {
				t.Fatalf("a preview left audit event %v", ev)
			}
		}
	})
}
