package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// managedGrant is an active direct grant of read access to a bucket (a
// permission set Elevate manages) for bob, ending in two hours.
func managedGrant(t *testing.T, e *env) grant {
	t.Helper()
	g := e.acme.ada.post("/v1/grants", body{
		"grantee_id": "bob", "resource": body{"type": "aws_s3_bucket", "id": "acme-incident-logs", "account_id": "123456789012"},
		"action": "read", "expires_at": e.clock.Now().Add(2 * time.Hour).Format(time.RFC3339), "reasoning": "Incident INC-9 review",
	}).want(http.StatusCreated).grant()
	e.settle()
	g = e.acme.bob.get("/v1/grants/" + g.ID).want(http.StatusOK).grant()
	if g.Status != "active" || g.Revocation != nil {
		t.Fatalf("grant = %+v", g)
	}
	return g
}

// cuts returns the cut statements in a permission set's inline policy.
func cuts(e *env, ps string) int {
	p, _ := e.local.IdentityCenter.InlinePolicy(context.Background(), "", ps)
	return strings.Count(p, `"Sid":"ElevateCut`)
}

// A revoked grant carries its receipt: the assignment deleted and verified
// absent, and bob's earlier sessions cut until the session duration has
// passed; the sweeper takes the cut out then.
func TestRevocationReceipt(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		g := managedGrant(t, e)
		ps := g.Assignments[0].PermissionSetARN
		e.advance(10 * time.Minute)
		revokedAt := e.clock.Now()
		a.ada.post("/v1/grants/"+g.ID+"/revoke", body{"reasoning": "Incident closed"}).want(http.StatusOK)
		e.settle()
		g = a.bob.get("/v1/grants/" + g.ID).want(http.StatusOK).grant()
		r := g.Revocation
		if g.Status != "revoked" || r == nil || r.Method != "session_cut" || r.AssignmentDeletedAt == nil || !r.AssignmentDeletedAt.Equal(revokedAt) ||
			r.VerifiedAbsentAt == nil || !r.VerifiedAbsentAt.Equal(revokedAt) || r.SessionsCutUntil == nil || !r.SessionsCutUntil.Equal(revokedAt.Add(time.Hour)) {
			t.Fatalf("grant %s with receipt %+v", g.Status, r)
		}
		policy, _ := e.local.IdentityCenter.InlinePolicy(context.Background(), "", ps)
		if cuts(e, ps) != 1 || !strings.Contains(policy, `"aws:userid":"*:bob"`) || !strings.Contains(policy, `"aws:TokenIssueTime":"`+revokedAt.Format(time.RFC3339)+`"`) {
			t.Fatalf("policy = %s", policy)
		}
		trail := auditActions(e, g.ID)
		if rv, _ := trail["grant.revoked"]["revocation"].(map[string]any); rv["method"] != "session_cut_pending" || rv["verified_absent_at"] != revokedAt.Format(time.RFC3339) {
			t.Errorf("grant.revoked details = %v", trail["grant.revoked"])
		}
		if rv, _ := trail["grant.sessions_cut"]["revocation"].(map[string]any); rv["method"] != "session_cut" || rv["sessions_cut_until"] != revokedAt.Add(time.Hour).Format(time.RFC3339) {
			t.Errorf("grant.sessions_cut details = %v", trail["grant.sessions_cut"])
		}

		// An hour later the sessions have all ended: the sweeper removes the cut.
		e.advance(time.Hour)
		rep, err := e.local.Operator.Sweep(context.Background())
		if err != nil || rep.CutSetsReconciled != 1 {
			t.Fatalf("sweep = %+v, %v", rep, err)
		}
		if n := cuts(e, ps); n != 0 {
			t.Errorf("%d cuts left after the session duration", n)
		}
		if g := a.bob.get("/v1/grants/" + g.ID).grant(); g.Revocation == nil || g.Revocation.Method != "session_cut" {
			t.Errorf("receipt after the cut went = %+v", g.Revocation)
		}
	})
}

// An expired grant carries its receipt too; a catalog permission set the
// operator did not allow Elevate to change is never cut.
func TestRevocationReceiptOnExpiry(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		g := managedGrant(t, e)
		r := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 1800)).want(http.StatusCreated).request()
		e.settle()
		e.advance(2 * time.Hour)
		g = a.bob.get("/v1/grants/" + g.ID).grant()
		if g.Status != "expired" || g.Revocation == nil || g.Revocation.Method != "session_cut" {
			t.Fatalf("expired grant %s with receipt %+v", g.Status, g.Revocation)
		}
		if ro := a.alice.get("/v1/grants/" + *r.GrantID).grant(); ro.Status != "expired" || ro.Revocation == nil || ro.Revocation.Method != "off" ||
			ro.Revocation.VerifiedAbsentAt == nil || ro.Revocation.SessionsCutUntil != nil {
			t.Fatalf("catalog grant %s with receipt %+v", ro.Status, ro.Revocation)
		}
		if rv, _ := auditActions(e, g.ID)["grant.expired"]["revocation"].(map[string]any); rv == nil {
			t.Errorf("grant.expired carries no receipt")
		}
	})
}

// A failing re-provisioning leaves the revoked grant's cut pending, says so
// on the receipt, and the sweeper retries until it lands.
func TestRevocationReceiptFailingReprovision(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		g := managedGrant(t, e)
		e.local.IdentityCenter.FailProvisioning(func(string) bool { return true })
		a.ada.post("/v1/grants/"+g.ID+"/revoke", nil).want(http.StatusOK)
		e.settle()
		g = a.bob.get("/v1/grants/" + g.ID).grant()
		if g.Status != "revoked" || g.Revocation == nil || g.Revocation.Method != "session_cut_pending" || g.Revocation.SessionsCutUntil != nil {
			t.Fatalf("grant %s with receipt %+v", g.Status, g.Revocation)
		}
		if rep, _ := e.local.Operator.Sweep(context.Background()); rep.CutSetsReconciled != 0 || len(rep.Problems) == 0 {
			t.Errorf("sweep while it fails = %+v", rep)
		}
		e.local.IdentityCenter.FailProvisioning(nil)
		e.advance(time.Minute)
		if rep, err := e.local.Operator.Sweep(context.Background()); err != nil || rep.CutSetsReconciled != 1 {
			t.Fatalf("sweep = %+v, %v", rep, err)
		}
		if g := a.bob.get("/v1/grants/" + g.ID).grant(); g.Revocation.Method != "session_cut" || g.Revocation.SessionsCutUntil == nil {
			t.Errorf("receipt after the retry = %+v", g.Revocation)
		}
	})
}

// The tenant's end_sessions setting: shown, validated, and "off" cuts nothing;
// the boundary's cut_assignable_sessions is the operator's.
func TestEndSessionsSetting(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		var ten struct {
			EndSessions    string `json:"end_sessions"`
			IdentityCenter struct {
				CutAssignable bool `json:"cut_assignable_sessions"`
			} `json:"identity_center"`
		}
		a.ada.get("/v1/tenant").want(http.StatusOK).decode(&ten)
		if ten.EndSessions != "managed" || ten.IdentityCenter.CutAssignable {
			t.Fatalf("tenant = %+v, want end_sessions managed, cut_assignable_sessions false", ten)
		}
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"end_sessions": "sometimes"}, invalid()).wantError(http.StatusBadRequest, "validation_failed")
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"identity_center": body{"cut_assignable_sessions": true}}).wantError(http.StatusForbidden, "forbidden")
		a.carol.do(http.MethodPatch, "/v1/tenant", body{"end_sessions": "off"}).wantError(http.StatusForbidden, "forbidden")
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"end_sessions": "off"}).want(http.StatusOK).decode(&ten)
		if ten.EndSessions != "off" {
			t.Fatalf("end_sessions after the patch = %q", ten.EndSessions)
		}
		if upd := auditActions(e, e.acme.id)["tenant.updated"]; upd == nil {
			t.Errorf("no tenant.updated event")
		}
		g := managedGrant(t, e)
		a.ada.post("/v1/grants/"+g.ID+"/revoke", nil).want(http.StatusOK)
		e.settle()
		g = a.bob.get("/v1/grants/" + g.ID).grant()
		if g.Revocation == nil || g.Revocation.Method != "off" || cuts(e, g.Assignments[0].PermissionSetARN) != 0 {
			t.Fatalf("receipt with end_sessions off = %+v", g.Revocation)
		}
	})
}
