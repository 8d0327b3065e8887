package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Authorization comes before validation: a caller without the role a route
// needs learns that, and nothing about what their body or headers lacked.
func TestAuthorizationBeforeValidation(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		alice := func(t tenant) caller { return t.alice }
		bob := func(t tenant) caller { return t.bob }
		carol := func(t tenant) caller { return t.carol }
		for _, c := range []struct {
			name   string
			who    func(tenant) caller
			method string
			path   string
			body   any
		}{
			{"requester puts policies without If-Match", alice, http.MethodPut, "/v1/policies", body{"policies": "garbage"}},
			{"approver puts policies without If-Match", carol, http.MethodPut, "/v1/policies", "not json"},
			{"approver puts a broken catalog", carol, http.MethodPut, "/v1/catalog", "{"},
			{"approver patches the tenant with junk", carol, http.MethodPatch, "/v1/tenant", body{"nonsense": 1}},
			{"requester grants with a bad body", alice, http.MethodPost, "/v1/grants", body{"grantee_id": ""}},
			{"requester evaluates with a bad body", alice, http.MethodPost, "/v1/policies/evaluate", "[]"},
			{"requester mints a key with a bad body", bob, http.MethodPost, "/v1/api-keys", body{"role": "god"}},
			{"requester reads the inbox with a bad limit", bob, http.MethodGet, "/v1/approvals/pending?limit=zero", nil},
			{"requester reads the audit trail with a bad cursor", bob, http.MethodGet, "/v1/audit-events?cursor=x", nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				er := c.who(e.sub(t).acme).do(c.method, c.path, c.body, invalid()).wantError(http.StatusForbidden, "forbidden")
				if !strings.Contains(er.Message, "role") {
					t.Errorf("message %q should name the role the route needs", er.Message)
				}
			})
		}
	})
}

// A mistyped X-Tenant-ID (a UUID of no tenant) says so, instead of blaming
// the key.
func TestUnknownTenantIsNamed(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		er := e.acme.alice.as("0b7e8c52-3f0a-4d8e-9c61-2a4b5d6e7f80").get("/v1/requests").wantError(http.StatusForbidden, "tenant_mismatch")
		if !strings.Contains(er.Message, "no tenant") {
			t.Errorf("message %q should say the tenant does not exist", er.Message)
		}
	})
}

// The grant.revoked event carries the revoke's reasoning.
func TestRevokedEventCarriesTheReasoning(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 3600)).want(http.StatusCreated).request()
		e.settle()
		a.alice.post("/v1/grants/"+*r.GrantID+"/revoke", body{"reasoning": "done with INC-4242"}).want(http.StatusOK)
		e.settle()
		var trail list[struct {
			Action   string         `json:"action"`
			ObjectID string         `json:"object_id"`
			Details  map[string]any `json:"details"`
		}]
		a.ada.get("/v1/audit-events?limit=50").want(http.StatusOK).decode(&trail)
		for _, ev := range trail.Data {
			if ev.Action == "grant.revoked" && ev.ObjectID == *r.GrantID {
				if ev.Details["reasoning"] != "done with INC-4242" {
					t.Errorf("grant.revoked details = %v", ev.Details)
				}
				return
			}
		}
		t.Fatal("no grant.revoked event")
	})
}

// A key an admin makes for themselves says so, expires by default, and may
// not outlive the operator's maximum.
func TestKeysForTheCallerSayWhatTheyAre(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		var k struct {
			ForCaller bool       `json:"for_caller"`
			ActsAs    string     `json:"acts_as"`
			ExpiresAt *time.Time `json:"expires_at"`
			Role      string     `json:"role"`
		}
		a.ada.post("/v1/api-keys", body{"name": "laptop", "role": "approver"}).want(http.StatusCreated).decode(&k)
		if !k.ForCaller || !strings.Contains(k.ActsAs, "ada") || !strings.Contains(k.ActsAs, "approver") {
			t.Errorf("a key for the caller does not say so: %+v", k)
		}
		if k.ExpiresAt == nil || k.ExpiresAt.After(start.Add(91*24*time.Hour)) {
			t.Errorf("a key for a user expires at %v, want by default within 90 days", k.ExpiresAt)
		}
		a.ada.post("/v1/api-keys", body{"name": "forever", "role": "approver",
			"expires_at": start.Add(5 * 365 * 24 * time.Hour).Format(time.RFC3339)}).wantError(http.StatusBadRequest, "validation_failed")
		var trail list[struct {
			Action  string         `json:"action"`
			Details map[string]any `json:"details"`
		}]
		a.ada.get("/v1/audit-events?limit=5").want(http.StatusOK).decode(&trail)
		if len(trail.Data) == 0 || trail.Data[0].Action != "api_key.created" || trail.Data[0].Details["for_caller"] != true {
			t.Errorf("api_key.created does not say the key is the caller's: %+v", trail.Data)
		}
	})
}

// tenant.updated records the old and new values of what changed.
func TestTenantUpdatedRecordsOldAndNew(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		a.ada.do(http.MethodPatch, "/v1/tenant", body{"time_zone": "Europe/Berlin"}).want(http.StatusOK)
		var trail list[struct {
			Action  string         `json:"action"`
			Details map[string]any `json:"details"`
		}]
		a.ada.get("/v1/audit-events?limit=5").want(http.StatusOK).decode(&trail)
		d := trail.Data[0].Details
		old, _ := d["old"].(map[string]any)
		nw, _ := d["new"].(map[string]any)
		if trail.Data[0].Action != "tenant.updated" || old["time_zone"] != "UTC" || nw["time_zone"] != "Europe/Berlin" {
			t.Errorf("tenant.updated = %+v", trail.Data[0])
		}
	})
}

// A revoked key stops working at once in the process that revoked it.
func TestRevokedKeyStopsAtOnce(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		var k struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		}
		a.ada.post("/v1/api-keys", body{"name": "ci", "role": "requester", "service_principal": "ci-bot"}).want(http.StatusCreated).decode(&k)
		ci := caller{e: e, tenant: a.id, key: k.Key, name: "ci-bot"}
		ci.get("/v1/requests").want(http.StatusOK) // cached now
		a.ada.do(http.MethodDelete, "/v1/api-keys/"+k.ID, nil).want(http.StatusOK, http.StatusNoContent)
		ci.get("/v1/requests").wantError(http.StatusUnauthorized, "unauthenticated")
	})
}

// A dry run does not reveal anything about targets outside the tenant's
// boundary: a draft policy that would tell which OU another tenant's account
// sits in gets the same refusal as an account that does not exist.
func TestEvaluateRevealsNothingOutsideTheBoundary(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		// Globex's organization: account 345678901234 is under ou-gx01-workload.
		probe := "@id(\"probe\")\npermit (principal, action == Elevate::Action::\"request\", resource in Elevate::OrganizationalUnit::\"ou-gx01-workload\");"
		req := func(account string) body {
			return body{"principal": body{"id": "alice"}, "resource": body{"type": "aws_account", "id": account},
				"action": "ReadOnly", "duration_seconds": 600, "policies": probe}
		}
		inside := a.ada.post("/v1/policies/evaluate", req("345678901234")).wantError(http.StatusForbidden, "forbidden")
		nowhere := a.ada.post("/v1/policies/evaluate", req("111111111111")).wantError(http.StatusForbidden, "forbidden")
		protected := a.ada.post("/v1/policies/evaluate", req("999999999999")).wantError(http.StatusForbidden, "forbidden")
		if inside.Message != nowhere.Message || inside.Message != protected.Message {
			t.Fatalf("refusals differ: %q / %q / %q", inside.Message, nowhere.Message, protected.Message)
		}
	})
}

// Validation reports every problem of a body in one answer: unknown fields,
// wrong types, missing fields and invalid values together.
func TestValidationReportsEveryProblem(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		for _, c := range []struct {
			name   string
			path   string
			body   any
			fields []string
		}{
			{"missing and invalid", "/v1/requests", body{"resource": body{"type": "aws_account", "id": "12"}},
				[]string{"action", "duration_seconds", "justification", "resource.id"}},
			{"wrong types together", "/v1/requests", `{"resource": {"type": "aws_account", "id": 12}, "action": 5, "duration_seconds": "x", "justification": "ok"}`,
				[]string{"resource.id", "action", "duration_seconds"}},
			{"unknown and wrong type", "/v1/requests", `{"resource": {"type": "aws_account", "id": "123456789012"}, "action": "ReadOnly", "duration_seconds": "x", "justification": "ok", "nope": 1}`,
				[]string{"nope", "duration_seconds"}},
			{"unknown, wrong type and missing", "/v1/requests", `{"resource": {"type": "aws_account", "id": "123"}, "action": 5, "bogus": 1}`,
				[]string{"bogus", "action", "duration_seconds", "justification", "resource.id"}},
			{"extension unknown and missing", "/v1/grants/00000000-0000-7000-8000-000000000001/extend", `{"duration_seconds": "x", "bogus": 1}`,
				[]string{"bogus", "duration_seconds", "justification"}},
			{"direct grant unknown and missing", "/v1/grants", `{"grantee_id": "bob", "resource": {"type": "aws_account", "id": "12"}, "bogus": true}`,
				[]string{"bogus", "action", "expires_at", "reasoning", "resource.id"}},
			{"direct grant missing and invalid", "/v1/grants", body{"grantee_id": "bob", "resource": body{"type": "aws_account", "id": "12"}, "action": "Nope"},
				[]string{"expires_at", "reasoning", "resource.id", "action"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				who := e.sub(t).acme.alice
				if c.path == "/v1/grants" {
					who = e.sub(t).acme.ada
				}
				er := who.post(c.path, c.body, invalid()).wantError(http.StatusBadRequest, "validation_failed")
				for _, f := range c.fields {
					if _, ok := er.Details[f]; !ok {
						t.Errorf("details %v do not name %s", er.Details, f)
					}
				}
			})
		}
		_ = a
	})
}
