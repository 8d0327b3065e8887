package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// extension is the part of a request an extension test reads beyond the
// harness's request.
type extension struct {
	request
	ExtendsGrantID *string `json:"extends_grant_id"`
}

func (r *resp) extension() extension {
	r.t.Helper()
	var x extension
	r.decode(&x)
	return x
}

// extendedGrant is a grant with its extension count.
type extendedGrant struct {
	grant
	Extensions int `json:"extensions"`
}

func (r *resp) extendedGrant() extendedGrant {
	r.t.Helper()
	var g extendedGrant
	r.decode(&g)
	return g
}

func extendBody(seconds int) body {
	return body{"duration_seconds": seconds, "justification": "INC-4242 needs more time"}
}

// activeGrant makes an active grant for the caller: auto-approved when the
// policies say so, else approved by carol.
func activeGrant(t *testing.T, e *env, c caller, req body) grant {
	t.Helper()
	r := c.post("/v1/requests", req).want(http.StatusCreated).request()
	if r.Status == "pending" {
		r = e.acme.carol.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "ok"}).want(http.StatusOK).request()
	}
	e.settle()
	g := c.get("/v1/grants/" + *r.GrantID).want(http.StatusOK).grant()
	if g.Status != "active" {
		t.Fatalf("grant = %+v, want active", g)
	}
	return g
}

// auditActions returns the actions of the tenant's audit events on object id.
func auditActions(e *env, id string) map[string]map[string]any {
	var trail list[struct {
		Action   string         `json:"action"`
		ObjectID string         `json:"object_id"`
		Details  map[string]any `json:"details"`
	}]
	e.acme.ada.get("/v1/audit-events?limit=100").want(http.StatusOK).decode(&trail)
	out := map[string]map[string]any{}
	for _, ev := range trail.Data {
		if ev.ObjectID == id {
			out[ev.Action] = ev.Details
		}
	}
	return out
}

// A first read-only extension up to the original duration is approved at
// once: the same grant lasts longer, with the same assignment and no gap.
func TestExtendAuto(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		g := activeGrant(t, e, a.alice, accountRequest("123456789012", "ReadOnly", 3600))
		before := e.local.IdentityCenter.Assignments()
		e.advance(30 * time.Minute)

		x := a.alice.post("/v1/grants/"+g.ID+"/extend", extendBody(3600)).want(http.StatusCreated).extension()
		if x.Status != "approved" || x.ApprovalMode == nil || *x.ApprovalMode != "auto" ||
			x.ExtendsGrantID == nil || *x.ExtendsGrantID != g.ID || x.GrantID == nil || *x.GrantID != g.ID {
			t.Fatalf("extension = %+v", x)
		}
		if x.Action != "ReadOnly" || x.Resource != g.Resource || x.GranteeID != "alice" {
			t.Fatalf("extension is not about the grant: %+v", x)
		}
		e.settle()
		got := a.alice.get("/v1/grants/" + g.ID).want(http.StatusOK).extendedGrant()
		if got.Status != "active" || got.Extensions != 1 || !got.ExpiresAt.Equal(start.Add(2*time.Hour)) {
			t.Fatalf("extended grant = %+v, want active until %v", got, start.Add(2*time.Hour))
		}
		if after := e.local.IdentityCenter.Assignments(); len(after) != len(before) || len(after) != 1 {
			t.Fatalf("assignments %v after the extension, %v before", after, before)
		}
		ev := auditActions(e, g.ID)["grant.extended"]
		if ev == nil || ev["request_id"] != x.ID || ev["expires_at"] != start.Add(2*time.Hour).Format(time.RFC3339) {
			t.Fatalf("grant.extended = %v", ev)
		}

		// The old expiry time passes without effect; the new one ends it.
		e.advance(31 * time.Minute)
		if g := a.alice.get("/v1/grants/" + g.ID).grant(); g.Status != "active" {
			t.Fatalf("grant is %s past its old expiry", g.Status)
		}
		e.advance(time.Hour - time.Minute)
		if g := a.alice.get("/v1/grants/" + g.ID).grant(); g.Status != "expired" {
			t.Fatalf("grant is %s at its new expiry", g.Status)
		}
		if n := len(e.local.IdentityCenter.Assignments()); n != 0 {
			t.Fatalf("identity center has %d assignments after the extended expiry", n)
		}
	})
}

// An extension the policies do not auto-approve waits for an approver: one
// denied leaves the grant as it was; one approved moves its expiry. Only one
// is pending at a time.
func TestExtendRequiredApprovedAndDenied(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		g := activeGrant(t, e, a.bob, accountRequest("210987654321", "Admin", 1800))
		end := *g.ExpiresAt

		x := a.bob.post("/v1/grants/"+g.ID+"/extend", extendBody(1800)).want(http.StatusCreated).extension()
		if x.Status != "pending" || x.ExtendsGrantID == nil || *x.ExtendsGrantID != g.ID || x.GrantID != nil {
			t.Fatalf("extension = %+v", x)
		}
		conflict := a.bob.post("/v1/grants/"+g.ID+"/extend", extendBody(600)).wantError(http.StatusConflict, "conflict")
		if conflict.Details["request_id"] != x.ID {
			t.Fatalf("conflict names %v, want %s", conflict.Details, x.ID)
		}
		inbox := list[request]{}
		a.carol.get("/v1/approvals/pending").want(http.StatusOK).decode(&inbox)
		if len(inbox.Data) != 1 || inbox.Data[0].ID != x.ID {
			t.Fatalf("carol's inbox = %+v", inbox.Data)
		}
		denied := a.carol.post("/v1/requests/"+x.ID+"/deny", body{"reasoning": "Hand over to the day shift"}).want(http.StatusOK).request()
		if denied.Status != "denied" {
			t.Fatalf("denied = %+v", denied)
		}
		if got := a.bob.get("/v1/grants/" + g.ID).extendedGrant(); !got.ExpiresAt.Equal(end) || got.Extensions != 0 {
			t.Fatalf("grant after a denied extension = %+v", got)
		}

		// Once the first is decided another may be asked, and approved.
		e.advance(10 * time.Minute)
		y := a.bob.post("/v1/grants/"+g.ID+"/extend", extendBody(1800)).want(http.StatusCreated).extension()
		if y.Status != "pending" {
			t.Fatalf("second extension = %+v", y)
		}
		approved := a.carol.post("/v1/requests/"+y.ID+"/approve", body{"reasoning": "CHG-77 runs late"}).want(http.StatusOK).request()
		if approved.Status != "approved" || approved.GrantID == nil || *approved.GrantID != g.ID {
			t.Fatalf("approved = %+v", approved)
		}
		e.settle()
		got := a.bob.get("/v1/grants/" + g.ID).want(http.StatusOK).extendedGrant()
		if got.Status != "active" || got.Extensions != 1 || !got.ExpiresAt.Equal(end.Add(30*time.Minute)) {
			t.Fatalf("grant after the approved extension = %+v, want active until %v", got, end.Add(30*time.Minute))
		}
		if n := len(e.local.IdentityCenter.Assignments()); n != 1 {
			t.Fatalf("identity center has %d assignments, want 1", n)
		}
		e.advance(end.Sub(e.clock.Now()) + time.Second)
		if g := a.bob.get("/v1/grants/" + g.ID).grant(); g.Status != "active" {
			t.Fatalf("grant is %s past its old expiry", g.Status)
		}
		e.advance(30 * time.Minute)
		if g := a.bob.get("/v1/grants/" + g.ID).grant(); g.Status != "expired" {
			t.Fatalf("grant is %s at its new expiry", g.Status)
		}
	})
}

// A grant that ends while its extension waits makes the extension fail at
// once (approving it then is too late), and an ended grant cannot be
// extended at all.
func TestExtendEndedGrant(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		g := activeGrant(t, e, a.alice, accountRequest("123456789012", "ReadOnly", 3600))
		// Longer than the original duration: it needs an approver.
		x := a.alice.post("/v1/grants/"+g.ID+"/extend", extendBody(7200)).want(http.StatusCreated).extension()
		if x.Status != "pending" {
			t.Fatalf("extension = %+v", x)
		}
		e.advance(time.Hour)
		if g := a.alice.get("/v1/grants/" + g.ID).grant(); g.Status != "expired" {
			t.Fatalf("grant is %s after its expiry", g.Status)
		}
		failed := a.alice.get("/v1/requests/" + x.ID).want(http.StatusOK).request()
		if failed.Status != "failed" || len(failed.Notices) == 0 {
			t.Fatalf("the extension of an ended grant = %+v", failed)
		}
		a.carol.post("/v1/requests/"+x.ID+"/approve", body{"reasoning": "ok"}).wantError(http.StatusConflict, "request_not_pending")
		if got := a.alice.get("/v1/grants/" + g.ID).extendedGrant(); got.Status != "expired" || got.Extensions != 0 {
			t.Fatalf("grant = %+v", got)
		}
		if n := len(e.local.IdentityCenter.Assignments()); n != 0 {
			t.Fatalf("identity center has %d assignments", n)
		}
		if _, ok := auditActions(e, x.ID)["request.failed"]; !ok {
			t.Error("no request.failed event")
		}
		a.alice.post("/v1/grants/"+g.ID+"/extend", extendBody(600)).wantError(http.StatusConflict, "grant_not_active")
	})
}

// Two extensions of one grant at the same time: exactly one is pending.
func TestExtendConcurrent(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		g := activeGrant(t, e, a.bob, accountRequest("210987654321", "Admin", 3600))
		const n = 4
		statuses := make([]int, n)
		codes := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := a.bob.post("/v1/grants/"+g.ID+"/extend", extendBody(600+i))
				statuses[i] = r.status
				if r.status != http.StatusCreated {
					var ae apiError
					r.decode(&ae)
					codes[i] = ae.Code
				}
			}()
		}
		wg.Wait()
		created := 0
		for i := range n {
			switch {
			case statuses[i] == http.StatusCreated:
				created++
			case statuses[i] != http.StatusConflict || codes[i] != "conflict":
				t.Errorf("extension %d answered %d %s", i, statuses[i], codes[i])
			}
		}
		if created != 1 {
			t.Fatalf("%d extensions created, want exactly 1 (statuses %v)", created, statuses)
		}
		var pending list[extension]
		a.carol.get("/v1/requests?status=pending").want(http.StatusOK).decode(&pending)
		if len(pending.Data) != 1 || pending.Data[0].ExtendsGrantID == nil || *pending.Data[0].ExtendsGrantID != g.ID {
			t.Fatalf("pending requests = %+v", pending.Data)
		}
	})
}

// Bad input gets the documented error shape; someone else's grant, or
// another tenant's, is not found.
func TestExtendBadInput(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		g := activeGrant(t, e, a.alice, accountRequest("123456789012", "ReadOnly", 3600))
		path := "/v1/grants/" + g.ID + "/extend"
		for _, tt := range []struct {
			name  string
			body  body
			field string
			opts  []opt
		}{
			{"negative", extendBody(-60), "duration_seconds", []opt{invalid()}},
			{"zero", extendBody(0), "duration_seconds", []opt{invalid()}},
			{"longer than the tenant's maximum duration", extendBody(86401), "duration_seconds", nil},
			{"beyond the maximum grant lifetime", extendBody(86400 - 3600 + 1), "duration_seconds", nil},
			{"no duration", body{"justification": "more"}, "duration_seconds", []opt{invalid()}},
			{"no justification", body{"duration_seconds": 600}, "justification", []opt{invalid()}},
			{"blank justification", extendBody(600).with("justification", "  "), "justification", nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				er := a.alice.post(path, tt.body, tt.opts...).wantError(http.StatusBadRequest, "validation_failed")
				if _, ok := er.Details[tt.field]; !ok {
					t.Fatalf("details %v do not name %s", er.Details, tt.field)
				}
			})
		}
		// Within the lifetime, the policies still decide: the default ones
		// allow nothing longer than 12 hours.
		a.alice.post(path, extendBody(43201)).wantError(http.StatusForbidden, "policy_denied")

		a.bob.post(path, extendBody(600)).wantError(http.StatusNotFound, "not_found")
		a.carol.post(path, extendBody(600)).wantError(http.StatusNotFound, "not_found")
		e.globex.ada.post(path, extendBody(600)).wantError(http.StatusNotFound, "not_found")
		a.alice.post("/v1/grants/00000000-0000-4000-8000-000000000000/extend", extendBody(600)).wantError(http.StatusNotFound, "not_found")
		a.nobody.post(path, extendBody(600)).wantError(http.StatusUnauthorized, "unauthenticated")
	})
}

// An admin may ask on the grantee's behalf (a delegated request: it needs an
// approver), and the tenant's admins set the maximum grant lifetime.
func TestExtendDelegatedAndLifetimeSetting(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		g := activeGrant(t, e, a.alice, accountRequest("123456789012", "ReadOnly", 3600))
		x := a.ada.post("/v1/grants/"+g.ID+"/extend", extendBody(600)).want(http.StatusCreated).extension()
		if x.Status != "pending" || x.RequesterID != "ada" || x.GranteeID != "alice" {
			t.Fatalf("delegated extension = %+v", x)
		}
		a.carol.post("/v1/requests/"+x.ID+"/approve", body{"reasoning": "ok"}).want(http.StatusOK)
		if got := a.alice.get("/v1/grants/" + g.ID).extendedGrant(); !got.ExpiresAt.Equal(start.Add(70 * time.Minute)) {
			t.Fatalf("grant after the delegated extension = %+v", got)
		}

		var ten struct {
			MaxGrantLifetimeSeconds int64 `json:"max_grant_lifetime_seconds"`
		}
		a.ada.get("/v1/tenant").want(http.StatusOK).decode(&ten)
		if ten.MaxGrantLifetimeSeconds != 86400 {
			t.Fatalf("default max_grant_lifetime_seconds = %d", ten.MaxGrantLifetimeSeconds)
		}
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"max_grant_lifetime_seconds": 59}, invalid()).wantError(http.StatusBadRequest, "validation_failed")
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"max_grant_lifetime_seconds": 7200}).want(http.StatusOK).decode(&ten)
		if ten.MaxGrantLifetimeSeconds != 7200 {
			t.Fatalf("max_grant_lifetime_seconds = %d after the patch", ten.MaxGrantLifetimeSeconds)
		}
		// 70 minutes granted: 50 more stay within two hours, 51 do not.
		a.alice.post("/v1/grants/"+g.ID+"/extend", extendBody(50*60+1)).wantError(http.StatusBadRequest, "validation_failed")
		a.alice.post("/v1/grants/"+g.ID+"/extend", extendBody(50*60)).want(http.StatusCreated)
	})
}
