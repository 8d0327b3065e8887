package e2e

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// auditTrail returns the tenant's audit events on object id with action,
// oldest first.
func auditTrail(e *env, id, action string) []map[string]any {
	var trail list[struct {
		Action   string         `json:"action"`
		ObjectID string         `json:"object_id"`
		ActorID  string         `json:"actor_id"`
		Details  map[string]any `json:"details"`
	}]
	e.acme.ada.get("/v1/audit-events?limit=200").want(http.StatusOK).decode(&trail)
	var out []map[string]any
	for i := len(trail.Data) - 1; i >= 0; i-- {
		if ev := trail.Data[i]; ev.ObjectID == id && ev.Action == action {
			out = append(out, ev.Details)
		}
	}
	return out
}

// hasNudge reports whether the local workflow holds a nudge of that kind
// for the request.
func hasNudge(e *env, requestID, kind string) bool {
	for _, k := range e.local.Workflow.Nudges() {
		if strings.HasSuffix(k, "/"+requestID+"/"+kind) {
			return true
		}
	}
	return false
}

// pendingAdmin makes bob's pending request for Admin, which carol may
// approve.
func pendingAdmin(t *testing.T, e *env) request {
	t.Helper()
	r := e.acme.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 1800)).want(http.StatusCreated).request()
	if r.Status != "pending" {
		t.Fatalf("request = %+v, want pending", r)
	}
	return r
}

// Half-way through the approval window (24 h by default) the approvers of
// a pending request are reminded, once, with who may approve it.
func TestReminder(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		r := pendingAdmin(t, e)
		if !hasNudge(e, r.ID, "remind") || hasNudge(e, r.ID, "escalate") {
			t.Fatalf("nudges %v: want a reminder and no escalation", e.local.Workflow.Nudges())
		}
		e.advance(12*time.Hour - time.Second)
		if evs := auditTrail(e, r.ID, "request.reminder"); len(evs) != 0 {
			t.Fatalf("reminded before half the window: %v", evs)
		}
		e.advance(time.Second)
		evs := auditTrail(e, r.ID, "request.reminder")
		if len(evs) != 1 {
			t.Fatalf("%d reminders at half the window, want 1", len(evs))
		}
		ev := evs[0]
		if !reflect.DeepEqual(ev["approvers"], []any{"approvers", "platform-admins"}) || ev["approvals_required"] != float64(1) ||
			ev["approvals"] != float64(0) || ev["approval_expires_at"] != start.Add(24*time.Hour).Format(time.RFC3339) || ev["grantee_id"] != "bob" {
			t.Fatalf("request.reminder = %v", ev)
		}
		// A second delivery of the same reminder does nothing.
		if _, err := e.local.Steps.RemindRequest(context.Background(), e.acme.id, r.ID); err != nil {
			t.Fatal(err)
		}
		if evs := auditTrail(e, r.ID, "request.reminder"); len(evs) != 1 {
			t.Fatalf("%d reminders after a repeated delivery, want 1", len(evs))
		}
		// The request is still pending and decided as usual.
		e.acme.carol.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "ok"}).want(http.StatusOK)
	})
}

// A reminder that fires after the request was decided is a no-op, and the
// decision deletes it.
func TestReminderStaleAfterDecision(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		for _, decide := range []func(r request){
			func(r request) {
				e.acme.carol.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "ok"}).want(http.StatusOK)
			},
			func(r request) {
				e.acme.carol.post("/v1/requests/"+r.ID+"/deny", body{"reasoning": "no"}).want(http.StatusOK)
			},
			func(r request) { e.acme.bob.post("/v1/requests/"+r.ID+"/cancel", nil).want(http.StatusOK) },
		} {
			r := pendingAdmin(t, e)
			e.advance(time.Hour)
			decide(r)
			e.settle()
			if hasNudge(e, r.ID, "remind") {
				t.Fatalf("the reminder of decided request %s was not deleted", r.ID)
			}
			before := e.acme.bob.get("/v1/requests/" + r.ID).request()
			// The deleted schedule fires anyway (a delete that failed).
			got, err := e.local.Steps.RemindRequest(context.Background(), e.acme.id, r.ID)
			if err != nil || got.Status == "pending" {
				t.Fatalf("stale reminder = %+v, %v", got, err)
			}
			e.advance(12 * time.Hour)
			if evs := auditTrail(e, r.ID, "request.reminder"); len(evs) != 0 {
				t.Fatalf("decided request %s reminded: %v", r.ID, evs)
			}
			if after := e.acme.bob.get("/v1/requests/" + r.ID).request(); after.Status != before.Status {
				t.Fatalf("the stale reminder changed the request: %+v, was %+v", after, before)
			}
		}
	})
}

// approval_reminder_percent moves the reminder; 0 turns it off.
func TestReminderSetting(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		var ten struct {
			ApprovalReminderPercent int `json:"approval_reminder_percent"`
		}
		a.ada.get("/v1/tenant").want(http.StatusOK).decode(&ten)
		if ten.ApprovalReminderPercent != 50 {
			t.Fatalf("default approval_reminder_percent = %d", ten.ApprovalReminderPercent)
		}
		for _, bad := range []int{-1, 100} {
			err := a.ada.do(http.MethodPatch, "/v1/tenant", body{"approval_reminder_percent": bad}, invalid()).wantError(http.StatusBadRequest, "validation_failed")
			if _, ok := err.Details["approval_reminder_percent"]; !ok {
				t.Fatalf("details %v do not name approval_reminder_percent", err.Details)
			}
		}
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"approval_reminder_percent": 25}).want(http.StatusOK).decode(&ten)
		if ten.ApprovalReminderPercent != 25 {
			t.Fatalf("approval_reminder_percent = %d after the patch", ten.ApprovalReminderPercent)
		}
		r := pendingAdmin(t, e)
		e.advance(6 * time.Hour)
		if evs := auditTrail(e, r.ID, "request.reminder"); len(evs) != 1 {
			t.Fatalf("%d reminders at a quarter of the window, want 1", len(evs))
		}

		a.ada.do(http.MethodPatch, "/v1/tenant", body{"approval_reminder_percent": 0}).want(http.StatusOK).decode(&ten)
		if ten.ApprovalReminderPercent != 0 {
			t.Fatalf("approval_reminder_percent = %d after turning it off", ten.ApprovalReminderPercent)
		}
		r = pendingAdmin(t, e)
		if hasNudge(e, r.ID, "remind") {
			t.Fatal("a reminder was scheduled with reminders off")
		}
		e.advance(23 * time.Hour)
		if evs := auditTrail(e, r.ID, "request.reminder"); len(evs) != 0 {
			t.Fatalf("reminded with reminders off: %v", evs)
		}
	})
}

// escalationPolicies are the default policies with the approval rule
// escalating to the oncall group after 30 minutes.
func escalationPolicies(t *testing.T, e *env) {
	t.Helper()
	var cur policySet
	e.acme.ada.get("/v1/policies").want(http.StatusOK).decode(&cur)
	const rule = "@id(\"require-approval\")\n"
	if !strings.Contains(cur.Policies, rule) {
		t.Fatalf("the default policies have no require-approval rule:\n%s", cur.Policies)
	}
	putPolicies(t, e.acme.ada, strings.Replace(cur.Policies, rule, rule+"@escalate_after(\"PT30M\")\n@escalate_to(\"oncall\")\n", 1))
}

// @escalate_after/@escalate_to: after 30 minutes the oncall group may
// decide the request too (request.escalated says so); before, its members
// without the approver role may not.
func TestEscalation(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		escalationPolicies(t, e)
		r := pendingAdmin(t, e)
		if !hasNudge(e, r.ID, "escalate") {
			t.Fatalf("nudges %v: want an escalation", e.local.Workflow.Nudges())
		}
		// Approvers see when and to whom it escalates.
		if r.EscalateAt == nil || !r.EscalateAt.Equal(r.CreatedAt.Add(30*time.Minute)) || r.EscalateTo == nil || *r.EscalateTo != "oncall" {
			t.Fatalf("escalate_at %v, escalate_to %v; want 30 minutes after %v, oncall", r.EscalateAt, r.EscalateTo, r.CreatedAt)
		}
		e.advance(10 * time.Minute)
		// alice is in oncall but only a requester: not yet, and she does not
		// see the request either.
		a.alice.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "ok"}).wantError(http.StatusForbidden, "forbidden")
		a.alice.get("/v1/requests/"+r.ID).wantError(http.StatusNotFound, "not_found")
		e.advance(20*time.Minute - time.Second)
		if evs := auditTrail(e, r.ID, "request.escalated"); len(evs) != 0 {
			t.Fatalf("escalated early: %v", evs)
		}
		a.alice.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "ok"}).wantError(http.StatusForbidden, "forbidden")
		e.advance(time.Second)
		evs := auditTrail(e, r.ID, "request.escalated")
		if len(evs) != 1 {
			t.Fatalf("%d escalations at 30 minutes, want 1", len(evs))
		}
		if ev := evs[0]; ev["escalate_to"] != "oncall" || ev["escalated"] != true ||
			!reflect.DeepEqual(ev["approvers"], []any{"approvers", "oncall", "platform-admins"}) {
			t.Fatalf("request.escalated = %v", ev)
		}
		// bob made the request, and is not in oncall anyway; others outside
		// oncall still need the approver role.
		a.bob.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "ok"}).wantError(http.StatusForbidden, "forbidden")
		// Once escalated, alice sees what she may now decide.
		if seen := a.alice.get("/v1/requests/" + r.ID).want(http.StatusOK).request(); seen.ID != r.ID || seen.Status != "pending" {
			t.Fatalf("alice sees %+v", seen)
		}
		got := a.alice.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "on call, approved"}).want(http.StatusOK).request()
		if got.Status != "approved" || got.DecidedBy == nil || *got.DecidedBy != "alice" {
			t.Fatalf("request = %+v, want approved by alice", got)
		}
		e.settle()
		if hasNudge(e, r.ID, "remind") || hasNudge(e, r.ID, "escalate") {
			t.Fatal("nudges outlived the decision")
		}
		// The reminder's time passes without a reminder.
		e.advance(12 * time.Hour)
		if evs := auditTrail(e, r.ID, "request.reminder"); len(evs) != 0 {
			t.Fatalf("reminded after the decision: %v", evs)
		}
	})
}

// An escalated approver's own request is still not theirs to approve, and
// the approve policies see context.escalated.
func TestEscalationPolicies(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		escalationPolicies(t, e)
		r := a.alice.post("/v1/requests", accountRequest("210987654321", "Admin", 1800)).want(http.StatusCreated).request()
		e.advance(30 * time.Minute)
		a.alice.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "mine"}).wantError(http.StatusForbidden, "forbidden")

		// Escalated decisions need a permit that reads context.escalated.
		var cur policySet
		a.ada.get("/v1/policies").want(http.StatusOK).decode(&cur)
		putPolicies(t, a.ada, strings.Replace(cur.Policies, "@id(\"approvers-may-approve\")\npermit (\n  principal,\n  action == Elevate::Action::\"approve\",\n  resource\n);",
			"@id(\"approvers-may-approve\")\npermit (\n  principal,\n  action == Elevate::Action::\"approve\",\n  resource\n) unless { context.escalated && principal in Elevate::Group::\"oncall\" };", 1))
		r2 := pendingAdmin(t, e)
		e.advance(30 * time.Minute)
		a.alice.post("/v1/requests/"+r2.ID+"/approve", body{"reasoning": "ok"}).wantError(http.StatusForbidden, "forbidden")
		a.carol.post("/v1/requests/"+r2.ID+"/approve", body{"reasoning": "ok"}).want(http.StatusOK)
	})
}
