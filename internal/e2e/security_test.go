package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/clock"
	"github.com/elevate-jit/elevate/internal/local"
	"github.com/elevate-jit/elevate/internal/store/memstore"
)

// route is one endpoint with a body that would be acceptable to it.
type route struct {
	method, path string
	body         any
}

// objects are ids of one object of each kind in the Acme tenant.
type objects struct{ request, grant, apiKey string }

func acmeObjects(t *testing.T, e *env) objects {
	a := e.acme
	r := a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 600)).want(http.StatusCreated).request()
	auto := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 600)).want(http.StatusCreated).request()
	e.settle()
	var k struct {
		ID string `json:"id"`
	}
	a.ada.post("/v1/api-keys", body{"name": "ci", "role": "requester", "service_principal": "ci-bot"}).want(http.StatusCreated).decode(&k)
	return objects{request: r.ID, grant: *auto.GrantID, apiKey: k.ID}
}

func allRoutes(o objects) []route {
	grantBody := body{"grantee_id": "bob", "resource": body{"type": "aws_account", "id": "123456789012"}, "action": "ReadOnly",
		"expires_at": start.Add(time.Hour).Format(time.RFC3339), "reasoning": "r"}
	return []route{
		{"POST", "/v1/requests", accountRequest("123456789012", "ReadOnly", 600)},
		{"GET", "/v1/requests", nil},
		{"GET", "/v1/requests/" + o.request, nil},
		{"POST", "/v1/requests/" + o.request + "/approve", body{}},
		{"POST", "/v1/requests/" + o.request + "/deny", body{"reasoning": "no"}},
		{"POST", "/v1/requests/" + o.request + "/cancel", nil},
		{"GET", "/v1/approvals/pending", nil},
		{"GET", "/v1/grants", nil},
		{"POST", "/v1/grants", grantBody},
		{"GET", "/v1/grants/" + o.grant, nil},
		{"POST", "/v1/grants/" + o.grant + "/revoke", body{}},
		{"GET", "/v1/catalog", nil},
		{"PUT", "/v1/catalog", body{"actions": body{}}},
		{"GET", "/v1/tenant", nil},
		{"PATCH", "/v1/tenant", body{"name": "x"}},
		{"POST", "/v1/api-keys", body{"name": "k", "role": "requester", "service_principal": "svc"}},
		{"GET", "/v1/api-keys", nil},
		{"GET", "/v1/api-keys/" + o.apiKey, nil},
		{"DELETE", "/v1/api-keys/" + o.apiKey, nil},
		{"GET", "/v1/audit-events", nil},
		{"GET", "/v1/policies", nil},
		{"PUT", "/v1/policies", body{"policies": "@id(\"x\")\npermit (principal, action == Elevate::Action::\"approve\", resource);"}},
		{"GET", "/v1/policies/versions/1", nil},
		{"POST", "/v1/policies/evaluate", body{"principal": body{"id": "bob"}, "resource": body{"type": "aws_account", "id": "123456789012"}, "action": "ReadOnly", "duration_seconds": 600}},
	}
}

func TestEveryEndpointRefusesAnotherTenantsCredential(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		o := acmeObjects(t, e)
		for _, r := range allRoutes(o) {
			t.Run(r.method+" "+r.path, func(t *testing.T) {
				e := e.sub(t)
				// Globex's admin key sent with Acme's tenant id.
				e.globex.ada.as(e.acme.id).do(r.method, r.path, r.body, header("If-Match", `"1"`)).wantError(http.StatusForbidden, "tenant_mismatch")
			})
		}
	})
}

func TestEveryEndpointHidesAnotherTenantsObjects(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		o := acmeObjects(t, e)
		for _, r := range allRoutes(o) {
			if !strings.Contains(r.path, o.request) && !strings.Contains(r.path, o.grant) && !strings.Contains(r.path, o.apiKey) {
				continue
			}
			t.Run(r.method+" "+r.path, func(t *testing.T) {
				e := e.sub(t)
				// Globex's admin, in Globex, naming Acme's objects: they do not exist.
				e.globex.ada.do(r.method, r.path, r.body).wantError(http.StatusNotFound, "not_found")
			})
		}
		// And Globex's lists never show Acme's objects.
		for _, path := range []string{"/v1/requests", "/v1/grants", "/v1/api-keys", "/v1/audit-events", "/v1/approvals/pending"} {
			var l list[map[string]any]
			e.globex.ada.get(path + "?limit=250").want(http.StatusOK).decode(&l)
			for _, item := range l.Data {
				if id := item["id"]; id == o.request || id == o.grant || id == o.apiKey {
					t.Errorf("%s in Globex lists Acme's %v", path, id)
				}
				if tid, ok := item["tenant_id"]; ok && tid != e.globex.id {
					t.Errorf("%s in Globex lists an item of tenant %v", path, tid)
				}
			}
		}
	})
}

func TestAuthentication(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		cases := []struct {
			name   string
			caller caller
			opts   []opt
			status int
			code   string
		}{
			{"no credential", a.nobody, nil, http.StatusUnauthorized, "unauthenticated"},
			{"unknown key", caller{e: e, tenant: a.id, key: "elv_aaaaaaaaaaaaaaaa_" + strings.Repeat("a", 52)}, nil, http.StatusUnauthorized, "unauthenticated"},
			{"garbage key", caller{e: e, tenant: a.id, key: "hunter2"}, nil, http.StatusUnauthorized, "unauthenticated"},
			{"wrong secret", caller{e: e, tenant: a.id, key: a.alice.key[:len(a.alice.key)-4] + "aaaa"}, nil, http.StatusUnauthorized, "unauthenticated"},
			{"malformed tenant", a.alice.as("acme"), nil, http.StatusBadRequest, "invalid_tenant_id"},
			{"missing tenant", a.alice.as(""), nil, http.StatusBadRequest, "invalid_tenant_id"},
			{"unknown tenant", a.alice.as("00000000-0000-4000-8000-000000000000"), nil, http.StatusForbidden, "tenant_mismatch"},
			{"both credentials", a.alice, []opt{header("Authorization", "Bearer x.y.z")}, http.StatusUnauthorized, "unauthenticated"},
			{"bad bearer", a.nobody, []opt{header("Authorization", "Bearer not-a-jwt")}, http.StatusUnauthorized, "unauthenticated"},
			{"basic auth", a.nobody, []opt{header("Authorization", "Basic YWxpY2U6cHc=")}, http.StatusUnauthorized, "unauthenticated"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				c.caller.e = e.sub(t)
				c.caller.get("/v1/requests", append(c.opts, invalid())...).wantError(c.status, c.code)
			})
		}
		// The tenant id is compared case-insensitively.
		a.alice.as(strings.ToUpper(a.id)).get("/v1/requests").want(http.StatusOK)
		// The document needs no credential.
		a.nobody.as("").get("/openapi.json").want(http.StatusOK)
	})
}

func TestRevokedKeyStopsWorking(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		var k struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		}
		a.ada.post("/v1/api-keys", body{"name": "deploy bot", "role": "requester", "service_principal": "deploy-bot"}).want(http.StatusCreated).decode(&k)
		if !strings.HasPrefix(k.Key, "elv_"+k.ID+"_") {
			t.Fatalf("key %q does not carry its id %q", k.Key, k.ID)
		}
		bot := caller{e: e, tenant: a.id, key: k.Key}
		bot.get("/v1/requests").want(http.StatusOK)
		// A service principal cannot receive access itself.
		bot.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 600)).wantError(http.StatusBadRequest, "validation_failed")
		a.ada.do("DELETE", "/v1/api-keys/"+k.ID, nil).want(http.StatusNoContent)
		// Warm caches trust a key for at most a minute.
		e.clock.Advance(61 * time.Second)
		bot.get("/v1/requests").wantError(http.StatusUnauthorized, "unauthenticated")
		var got map[string]any
		a.ada.get("/v1/api-keys/" + k.ID).want(http.StatusOK).decode(&got)
		if got["revoked_at"] == nil || got["key"] != nil {
			t.Fatalf("revoked key = %v", got)
		}
	})
}

func TestRoles(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		for _, c := range []struct {
			who    caller
			method string
			path   string
			body   any
		}{
			{a.alice, "GET", "/v1/tenant", nil},
			{a.carol, "PATCH", "/v1/tenant", body{"name": "x"}},
			{a.alice, "PUT", "/v1/catalog", body{"actions": body{}}},
			{a.carol, "GET", "/v1/api-keys", nil},
			{a.alice, "POST", "/v1/api-keys", body{"name": "k", "role": "requester"}},
			{a.carol, "GET", "/v1/audit-events", nil},
			{a.carol, "POST", "/v1/grants", body{"grantee_id": "bob", "resource": body{"type": "aws_account", "id": "123456789012"}, "action": "ReadOnly", "expires_at": start.Add(time.Hour).Format(time.RFC3339), "reasoning": "r"}},
			{a.bob, "GET", "/v1/approvals/pending", nil},
		} {
			t.Run(c.who.name+" "+c.method+" "+c.path, func(t *testing.T) {
				c.who.e = e.sub(t)
				c.who.do(c.method, c.path, c.body).wantError(http.StatusForbidden, "forbidden")
			})
		}
		// Everyone reads the catalog.
		a.alice.get("/v1/catalog").want(http.StatusOK)
	})
}

func TestRateLimit(t *testing.T) {
	fc := clock.NewFake(start) // the clock stands still: every call falls in one second
	e := newEnvWith(t, fc, memstore.New(memstore.WithClock(fc.Now)), func(c *local.Config) {
		c.RateLimit = 1
		c.TenantRateLimit = 3
	})
	a := e.acme
	a.alice.get("/v1/requests").want(http.StatusOK)
	r := a.alice.get("/v1/requests")
	r.wantError(http.StatusTooManyRequests, "rate_limited")
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	// Limits are per caller: bob is not slowed down by alice...
	a.bob.get("/v1/requests").want(http.StatusOK)
	a.carol.get("/v1/requests").want(http.StatusOK)
	// ...until their tenant has used its allowance (alice's refused call
	// counted against her own limit only).
	a.ada.get("/v1/requests").wantError(http.StatusTooManyRequests, "rate_limited")
	// Another tenant is not slowed down by Acme.
	e.globex.alice.get("/v1/requests").want(http.StatusOK)
}
