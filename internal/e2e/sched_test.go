package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// scheduledGrant is a grant with its start.
type scheduledGrant struct {
	grant
	StartsAt *time.Time `json:"starts_at"`
}

func (r *resp) scheduledGrant() scheduledGrant {
	r.t.Helper()
	var g scheduledGrant
	r.decode(&g)
	return g
}

// scheduledRequest is a request with its start.
type scheduledRequest struct {
	request
	StartsAt *time.Time `json:"starts_at"`
}

func (r *resp) scheduledRequest() scheduledRequest {
	r.t.Helper()
	var x scheduledRequest
	r.decode(&x)
	return x
}

// assignmentCalls counts the Identity Center calls that touch assignments.
func assignmentCalls(e *env) int {
	ic := e.local.IdentityCenter
	return ic.Calls("AssignmentExists") + ic.Calls("CreateAssignment") + ic.Calls("DeleteAssignment") + ic.Calls("EnsurePermissionSet")
}

// hasStart reports whether the local workflow holds a start schedule for
// the grant.
func hasStart(e *env, grantID string) bool {
	for _, k := range e.local.Workflow.Starts() {
		if strings.HasSuffix(k, "/"+grantID) {
			return true
		}
	}
	return false
}

// A request for later is approved early: its grant is scheduled, with no
// assignment, until starts_at; then it is provisioned, becomes active, and
// lasts its duration from then.
func TestScheduledStartApprovedEarly(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		startsAt := start.Add(2 * time.Hour)
		r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 1800).with("starts_at", startsAt.Format(time.RFC3339))).
			want(http.StatusCreated).scheduledRequest()
		if r.Status != "pending" || r.StartsAt == nil || !r.StartsAt.Equal(startsAt) {
			t.Fatalf("request = %+v, want pending starting at %v", r, startsAt)
		}
		e.advance(10 * time.Minute)
		a.carol.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "for the change window"}).want(http.StatusOK)
		e.settle()
		got := a.bob.get("/v1/requests/" + r.ID).want(http.StatusOK).scheduledRequest()
		if got.Status != "approved" || got.GrantID == nil {
			t.Fatalf("request = %+v, want approved with a grant", got)
		}
		g := a.bob.get("/v1/grants/" + *got.GrantID).want(http.StatusOK).scheduledGrant()
		if g.Status != "scheduled" || g.StartsAt == nil || !g.StartsAt.Equal(startsAt) || g.ExpiresAt != nil || len(g.Assignments) != 0 {
			t.Fatalf("grant = %+v, want scheduled at %v without expiry or assignments", g, startsAt)
		}
		if n := assignmentCalls(e); n != 0 {
			t.Fatalf("%d Identity Center assignment calls before the start", n)
		}
		var page list[scheduledGrant]
		a.ada.get("/v1/grants?status=scheduled").want(http.StatusOK).decode(&page)
		if len(page.Data) != 1 || page.Data[0].ID != g.ID {
			t.Fatalf("status=scheduled lists %+v", page.Data)
		}

		// Just before the start nothing happens; at the start it is provisioned.
		e.advance(startsAt.Sub(e.clock.Now()) - time.Second)
		if g := a.bob.get("/v1/grants/" + g.ID).grant(); g.Status != "scheduled" {
			t.Fatalf("grant is %s a second before its start", g.Status)
		}
		e.advance(time.Second)
		g = a.bob.get("/v1/grants/" + g.ID).want(http.StatusOK).scheduledGrant()
		if g.Status != "active" || g.ExpiresAt == nil || !g.ExpiresAt.Equal(startsAt.Add(30*time.Minute)) || len(e.local.IdentityCenter.Assignments()) != 1 {
			t.Fatalf("grant = %+v at its start, want active until %v", g, startsAt.Add(30*time.Minute))
		}
		trail := auditActions(e, g.ID)
		if ev := trail["grant.started"]; ev == nil || ev["starts_at"] != startsAt.Format(time.RFC3339) {
			t.Fatalf("grant.started = %v", ev)
		}
		e.advance(30 * time.Minute)
		if g := a.bob.get("/v1/grants/" + g.ID).grant(); g.Status != "expired" {
			t.Fatalf("grant is %s after start + duration", g.Status)
		}
	})
}

// An auto-approved request for later is scheduled at once.
func TestScheduledStartAutoApproved(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		startsAt := start.Add(time.Hour)
		r := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 3600).with("starts_at", startsAt.Format(time.RFC3339))).
			want(http.StatusCreated).scheduledRequest()
		if r.Status != "approved" || r.GrantID == nil {
			t.Fatalf("request = %+v, want approved", r)
		}
		e.settle()
		if g := a.alice.get("/v1/grants/" + *r.GrantID).grant(); g.Status != "scheduled" {
			t.Fatalf("grant is %s before its start", g.Status)
		}
		e.advance(time.Hour)
		g := a.alice.get("/v1/grants/" + *r.GrantID).grant()
		if g.Status != "active" || !g.ExpiresAt.Equal(startsAt.Add(time.Hour)) {
			t.Fatalf("grant = %+v at its start", g)
		}
	})
}

// Cancelling an approved request before its start revokes its grant at
// once: the start schedule is deleted and Identity Center never called.
func TestScheduledStartCancelled(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		startsAt := start.Add(time.Hour)
		r := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 3600).with("starts_at", startsAt.Format(time.RFC3339))).
			want(http.StatusCreated).scheduledRequest()
		e.settle()
		if !hasStart(e, *r.GrantID) {
			t.Fatal("no start schedule for the scheduled grant")
		}
		// Only the requester cancels.
		a.ada.post("/v1/requests/"+r.ID+"/cancel", nil).wantError(http.StatusForbidden, "forbidden")

		got := a.alice.post("/v1/requests/"+r.ID+"/cancel", nil).want(http.StatusOK).scheduledRequest()
		if got.Status != "cancelled" {
			t.Fatalf("request = %+v, want cancelled", got)
		}
		e.settle()
		g := a.alice.get("/v1/grants/" + *r.GrantID).want(http.StatusOK).grant()
		if g.Status != "revoked" || g.RevokedAt == nil {
			t.Fatalf("grant = %+v, want revoked", g)
		}
		if hasStart(e, g.ID) {
			t.Fatal("the start schedule outlived the cancellation")
		}
		e.advance(2 * time.Hour)
		if n := assignmentCalls(e); n != 0 || len(e.local.IdentityCenter.Assignments()) != 0 {
			t.Fatalf("%d Identity Center assignment calls after cancelling before the start", n)
		}
		if g := a.alice.get("/v1/grants/" + g.ID).grant(); g.Status != "revoked" {
			t.Fatalf("grant is %s after its start time passed", g.Status)
		}
		a.alice.post("/v1/requests/"+r.ID+"/cancel", nil).wantError(http.StatusConflict, "request_not_pending")
		trail := auditActions(e, r.ID)
		if trail["request.cancelled"] == nil {
			t.Fatalf("no request.cancelled in %v", trail)
		}
	})
}

// Cancelling an approved request whose grant already started is refused:
// revoke the grant instead.
func TestScheduledStartCancelAfterStart(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 3600).with("starts_at", start.Add(time.Hour).Format(time.RFC3339))).
			want(http.StatusCreated).scheduledRequest()
		e.advance(time.Hour)
		a.alice.post("/v1/requests/"+r.ID+"/cancel", nil).wantError(http.StatusConflict, "request_not_pending")
		// Nor is an approved request without a start cancelled.
		now := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 600)).want(http.StatusCreated).request()
		e.settle()
		a.alice.post("/v1/requests/"+now.ID+"/cancel", nil).wantError(http.StatusConflict, "request_not_pending")
	})
}

// Revoking a scheduled grant ends it at once, without Identity Center, and
// deletes its start.
func TestScheduledStartRevoked(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		startsAt := start.Add(3 * time.Hour)
		r := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 3600).with("starts_at", startsAt.Format(time.RFC3339))).
			want(http.StatusCreated).scheduledRequest()
		e.settle()
		g := a.ada.post("/v1/grants/"+*r.GrantID+"/revoke", body{"reasoning": "change postponed"}).want(http.StatusOK).grant()
		if g.Status != "revoked" || g.RevokedAt == nil {
			t.Fatalf("grant = %+v, want revoked", g)
		}
		if hasStart(e, g.ID) {
			t.Fatal("the start schedule outlived the revocation")
		}
		e.advance(4 * time.Hour)
		if n := assignmentCalls(e); n != 0 {
			t.Fatalf("%d Identity Center assignment calls after revoking before the start", n)
		}
		if g := a.alice.get("/v1/grants/" + g.ID).grant(); g.Status != "revoked" {
			t.Fatalf("grant is %s after its start time", g.Status)
		}
		if trail := auditActions(e, g.ID); trail["grant.revoked"] == nil || trail["grant.revoked"]["reasoning"] != "change postponed" {
			t.Fatalf("grant.revoked = %v", trail["grant.revoked"])
		}
		a.ada.post("/v1/grants/"+g.ID+"/revoke", body{"reasoning": "again"}).wantError(http.StatusConflict, "conflict")
		// The request stays approved: it was approved, and its grant ended.
		if got := a.alice.get("/v1/requests/" + r.ID).request(); got.Status != "approved" {
			t.Fatalf("request is %s after its grant was revoked", got.Status)
		}
	})
}

// A scheduled grant whose start schedule is lost is started by the sweeper
// once it is overdue.
func TestScheduledStartSweeper(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		startsAt := start.Add(time.Hour)
		r := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 3600).with("starts_at", startsAt.Format(time.RFC3339))).
			want(http.StatusCreated).scheduledRequest()
		e.settle()
		ctx := context.Background()
		if err := e.local.Workflow.CancelStart(ctx, access.Grant{TenantID: a.id, ID: *r.GrantID}); err != nil {
			t.Fatal(err)
		}
		e.advance(time.Hour)
		if g := a.alice.get("/v1/grants/" + *r.GrantID).grant(); g.Status != "scheduled" {
			t.Fatalf("grant is %s without its schedule", g.Status)
		}
		// Not yet overdue: the sweeper leaves it to its schedule.
		rep, err := e.local.Operator.Sweep(ctx)
		if err != nil || rep.GrantsStarted != 0 {
			t.Fatalf("sweep at the start = %+v, %v", rep, err)
		}
		e.advance(2 * time.Minute)
		rep, err = e.local.Operator.Sweep(ctx)
		if err != nil || rep.GrantsStarted != 1 {
			t.Fatalf("sweep = %+v, %v; want one grant started", rep, err)
		}
		e.settle()
		g := a.alice.get("/v1/grants/" + *r.GrantID).grant()
		if g.Status != "active" || !g.ExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
			t.Fatalf("grant = %+v after the sweep", g)
		}
	})
}

// Bad starts_at values are 400 validation_failed on starts_at.
func TestScheduledStartBadInput(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		req := accountRequest("123456789012", "ReadOnly", 3600)
		for name, v := range map[string]string{
			"past":        start.Add(-time.Minute).Format(time.RFC3339),
			"now":         start.Format(time.RFC3339),
			"too far":     start.Add(14*24*time.Hour + time.Second).Format(time.RFC3339),
			"malformed":   "tomorrow at nine",
			"no timezone": "2026-11-23T10:00:00",
		} {
			t.Run(name, func(t *testing.T) {
				var opts []opt
				if name == "malformed" || name == "no timezone" {
					opts = append(opts, invalid())
				}
				err := a.alice.post("/v1/requests", req.with("starts_at", v), opts...).wantError(http.StatusBadRequest, "validation_failed")
				if _, ok := err.Details["starts_at"]; !ok {
					t.Fatalf("details %v do not name starts_at", err.Details)
				}
			})
		}
		// Break-glass is now, never later.
		err := a.alice.post("/v1/requests", accountRequest("123456789012", "Admin", 1800).with("break_glass", true).with("starts_at", start.Add(time.Hour).Format(time.RFC3339))).
			wantError(http.StatusBadRequest, "validation_failed")
		if _, ok := err.Details["starts_at"]; !ok {
			t.Fatalf("details %v do not name starts_at", err.Details)
		}
		// Exactly the maximum is fine; the tenant may shorten it.
		a.alice.post("/v1/requests", req.with("starts_at", start.Add(14*24*time.Hour).Format(time.RFC3339))).want(http.StatusCreated)
		var ten struct {
			MaxStartAheadSeconds int64 `json:"max_start_ahead_seconds"`
		}
		a.ada.get("/v1/tenant").want(http.StatusOK).decode(&ten)
		if ten.MaxStartAheadSeconds != 1209600 {
			t.Fatalf("default max_start_ahead_seconds = %d", ten.MaxStartAheadSeconds)
		}
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"max_start_ahead_seconds": 59}, invalid()).wantError(http.StatusBadRequest, "validation_failed")
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"max_start_ahead_seconds": 3600}).want(http.StatusOK).decode(&ten)
		if ten.MaxStartAheadSeconds != 3600 {
			t.Fatalf("max_start_ahead_seconds = %d after the patch", ten.MaxStartAheadSeconds)
		}
		err = a.alice.post("/v1/requests", req.with("starts_at", start.Add(2*time.Hour).Format(time.RFC3339))).wantError(http.StatusBadRequest, "validation_failed")
		if _, ok := err.Details["starts_at"]; !ok {
			t.Fatalf("details %v do not name starts_at", err.Details)
		}
	})
}
