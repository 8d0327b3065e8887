package openapitest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/api/openapitest"
	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/local"
)

// TestLocalServerFollowsTheDocument drives a local Elevate through every
// route, the main outcomes and the common errors, with the validating
// client: any drift between the handlers and openapi.yaml fails it.
func TestLocalServerFollowsTheDocument(t *testing.T) {
	sealer, err := cursor.New(cursor.Key{ID: "test", Secret: bytes.Repeat([]byte{7}, cursor.SecretSize)})
	if err != nil {
		t.Fatal(err)
	}
	elevate := local.New(local.Config{
		Cursors: sealer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ProtectedAccounts: []string{local.DemoProtectedAccount}, Poll: time.Millisecond,
	})
	defer elevate.Close()
	demo, err := local.SeedDemo(context.Background(), elevate.Operator, elevate.IdentityCenter)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(elevate.Handler)
	defer srv.Close()
	acme, globex := demo.Tenants[0], demo.Tenants[1]
	c := &caller{t: t, http: openapitest.Client(t, nil), base: srv.URL, tenant: acme.ID}
	admin, approver, alice, bob := acme.Keys.Admin, acme.Keys.Approver, acme.Keys.Requester, acme.Keys.Requester2
	account := map[string]any{"type": "aws_account", "id": "123456789012"}

	// Public routes.
	c.call(call{method: "GET", path: "/healthz", noTenant: true, want: 200})
	c.call(call{method: "GET", path: "/openapi.json", noTenant: true, want: 200})

	// Requests: auto-approved, pending (with idempotency), denied by policy.
	auto := c.call(call{key: alice, method: "POST", path: "/v1/requests", want: 201, body: map[string]any{
		"resource": account, "action": "ReadOnly", "duration_seconds": 1800, "justification": "look at the logs"}})
	if auto.obj["status"] != "approved" || auto.obj["grant_id"] == nil {
		t.Fatalf("auto-approved request: %v", auto.obj)
	}
	adminReq := map[string]any{"resource": account, "action": "Admin", "duration_seconds": 3600,
		"justification": "INC-1: roll back", "metadata": map[string]any{"ticket": "INC-1"}}
	pending := c.call(call{key: alice, method: "POST", path: "/v1/requests", body: adminReq, idem: "k-1", want: 201})
	replay := c.call(call{key: alice, method: "POST", path: "/v1/requests", body: adminReq, idem: "k-1", want: 201})
	if replay.header.Get("Idempotent-Replayed") != "true" || replay.obj["id"] != pending.obj["id"] {
		t.Errorf("replay: %v %v", replay.header, replay.obj)
	}
	c.call(call{key: alice, method: "POST", path: "/v1/requests", body: map[string]any{"resource": account, "action": "Admin",
		"duration_seconds": 1200, "justification": "other"}, idem: "k-1", want: 422})
	denied := c.call(call{key: alice, method: "POST", path: "/v1/requests", want: 403, body: map[string]any{
		"resource": account, "action": "Admin", "duration_seconds": 50000, "justification": "long"}})
	if denied.obj["code"] != "policy_denied" {
		t.Errorf("denied: %v", denied.obj)
	}
	c.call(call{key: bob, method: "POST", path: "/v1/requests", want: 403, body: map[string]any{
		"resource": account, "action": "Admin", "duration_seconds": 600, "justification": "now", "break_glass": true}})
	glass := c.call(call{key: alice, method: "POST", path: "/v1/requests", want: 201, body: map[string]any{
		"resource": account, "action": "Admin", "duration_seconds": 600, "justification": "outage", "break_glass": true}})
	if glass.obj["approval_mode"] != "break_glass" {
		t.Errorf("break glass: %v", glass.obj)
	}
	rds := c.call(call{key: alice, method: "POST", path: "/v1/requests", want: 201, body: map[string]any{
		"resource": map[string]any{"type": "aws_rds_instance", "id": "arn:aws:rds:eu-west-1:123456789012:db:orders", "db_user": "analyst"},
		"action":   "connect", "duration_seconds": 900, "justification": "reconcile"}})
	ec2 := c.call(call{key: alice, method: "POST", path: "/v1/requests", want: 201, body: map[string]any{
		"resource": map[string]any{"type": "aws_ec2_instance", "id": "i-0abc123def4567890", "account_id": "123456789012", "region": "eu-west-1"},
		"action":   "ssm-session", "duration_seconds": 900, "justification": "debug", "grantee_id": "bob"}})
	s3 := c.call(call{key: alice, method: "POST", path: "/v1/requests", want: 201, body: map[string]any{
		"resource": map[string]any{"type": "aws_s3_bucket", "id": "acme-logs", "account_id": "210987654321"},
		"action":   "read", "duration_seconds": 900, "justification": "audit"}})
	c.call(call{key: alice, method: "POST", path: "/v1/requests", want: 201, body: map[string]any{
		"resource": map[string]any{"type": "aws_organizational_unit", "id": "ou-ac01-workload"},
		"action":   "ReadOnly", "duration_seconds": 900, "justification": "survey"}})
	c.call(call{key: alice, method: "POST", path: "/v1/requests", want: 403, body: map[string]any{
		"resource": map[string]any{"type": "aws_account", "id": local.DemoProtectedAccount}, "action": "ReadOnly",
		"duration_seconds": 900, "justification": "protected"}})

	// Lists and pagination.
	page := c.call(call{key: alice, method: "GET", path: "/v1/requests?limit=2&status=pending,%20approved", want: 200})
	if page.obj["has_more"] != true {
		t.Fatalf("first page: %v", page.obj)
	}
	c.call(call{key: alice, method: "GET", path: "/v1/requests?limit=2&status=pending,%20approved&cursor=" + url.QueryEscape(page.obj["next_cursor"].(string)), want: 200})
	c.call(call{key: approver, method: "GET", path: "/v1/requests?requester_id=alice&grantee_id=bob", want: 200})
	c.call(call{key: approver, method: "GET", path: "/v1/approvals/pending?limit=10", want: 200})

	// Decisions.
	pendingID := pending.obj["id"].(string)
	c.call(call{key: alice, method: "POST", path: "/v1/requests/" + pendingID + "/approve", want: 403})
	approved := c.call(call{key: approver, method: "POST", path: "/v1/requests/" + pendingID + "/approve", body: map[string]any{"reasoning": "ok"}, want: 200})
	if approved.obj["status"] != "approved" {
		t.Errorf("approve: %v", approved.obj)
	}
	c.call(call{key: approver, method: "POST", path: "/v1/requests/" + pendingID + "/approve", want: 409})
	c.call(call{key: approver, method: "POST", path: "/v1/requests/" + rds.obj["id"].(string) + "/deny", body: map[string]any{"reasoning": "no"}, want: 200})
	c.call(call{key: alice, method: "POST", path: "/v1/requests/" + ec2.obj["id"].(string) + "/cancel", want: 200})
	c.call(call{key: alice, method: "POST", path: "/v1/requests/" + s3.obj["id"].(string) + "/cancel", body: map[string]any{}, want: 200})
	c.call(call{key: alice, method: "POST", path: "/v1/requests/" + s3.obj["id"].(string) + "/cancel", want: 409})
	c.call(call{key: alice, method: "GET", path: "/v1/requests/" + pendingID, want: 200})
	c.call(call{key: bob, method: "GET", path: "/v1/requests/" + pendingID, want: 404})

	// Grants.
	grantID := approved.obj["grant_id"].(string)
	c.call(call{key: alice, method: "GET", path: "/v1/grants?status=provisioning,active", want: 200})
	c.call(call{key: admin, method: "GET", path: "/v1/grants?grantee_id=alice&limit=1", want: 200})
	waitActive(t, c, alice, grantID)
	c.call(call{key: bob, method: "GET", path: "/v1/grants/" + grantID, want: 404})
	revoked := c.call(call{key: alice, method: "POST", path: "/v1/grants/" + grantID + "/revoke", body: map[string]any{"reasoning": "done"}, want: 200})
	if revoked.obj["status"] != "revoking" && revoked.obj["status"] != "revoked" {
		t.Errorf("revoke: %v", revoked.obj)
	}
	expires := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	direct := c.call(call{key: admin, method: "POST", path: "/v1/grants", want: 201, body: map[string]any{
		"grantee_id": "bob", "resource": account, "action": "Admin", "expires_at": expires, "reasoning": "incident"}})
	if direct.obj["request_id"] != nil {
		t.Errorf("direct grant: %v", direct.obj)
	}
	c.call(call{key: admin, method: "POST", path: "/v1/grants", want: 403, body: map[string]any{
		"grantee_id": "ada", "resource": account, "action": "Admin", "expires_at": expires, "reasoning": "me"}})
	c.call(call{key: alice, method: "POST", path: "/v1/grants", want: 403, body: map[string]any{
		"grantee_id": "bob", "resource": account, "action": "Admin", "expires_at": expires, "reasoning": "me"}})

	// Catalog, tenant, policies.
	catalog := c.call(call{key: bob, method: "GET", path: "/v1/catalog", want: 200})
	c.call(call{key: admin, method: "PUT", path: "/v1/catalog", body: catalog.obj, want: 200})
	c.call(call{key: alice, method: "PUT", path: "/v1/catalog", body: catalog.obj, want: 403})
	c.call(call{key: admin, method: "GET", path: "/v1/tenant", want: 200})
	c.call(call{key: admin, method: "PATCH", path: "/v1/tenant", body: map[string]any{"time_zone": "Europe/Berlin", "max_duration_seconds": 43200}, want: 200})
	c.call(call{key: admin, method: "PATCH", path: "/v1/tenant", body: map[string]any{"name": "Acme"}, want: 200})
	c.call(call{key: alice, method: "GET", path: "/v1/tenant", want: 403})
	policies := c.call(call{key: approver, method: "GET", path: "/v1/policies", want: 200})
	c.call(call{key: approver, method: "GET", path: "/v1/policies/versions/1", want: 200})
	c.call(call{key: approver, method: "GET", path: "/v1/policies/versions/9", want: 404})
	c.call(call{key: admin, method: "PUT", path: "/v1/policies", header: http.Header{"If-Match": {policies.header.Get("ETag")}},
		body: map[string]any{"policies": policies.obj["policies"]}, want: 200})
	c.call(call{key: admin, method: "PUT", path: "/v1/policies", header: http.Header{"If-Match": {policies.header.Get("ETag")}},
		body: map[string]any{"policies": policies.obj["policies"]}, want: 409})
	c.call(call{key: admin, method: "PUT", path: "/v1/policies", header: http.Header{"If-Match": {`"2"`}},
		body: map[string]any{"policies": "permit (principal, action, resource);"}, want: 400})
	c.call(call{key: admin, method: "POST", path: "/v1/policies/evaluate", want: 200, body: map[string]any{
		"principal": map[string]any{"id": "alice", "groups": []string{"engineering"}}, "resource": account, "action": "Admin", "duration_seconds": 600}})
	c.call(call{key: admin, method: "POST", path: "/v1/policies/evaluate", want: 403, body: map[string]any{
		"principal": map[string]any{"id": "alice"}, "resource": map[string]any{"type": "aws_account", "id": local.DemoProtectedAccount},
		"action": "ReadOnly", "duration_seconds": 600, "policies": `@id("all") permit (principal, action, resource);`}})

	// API keys.
	keyBody := map[string]any{"name": "ci", "role": "requester", "service_principal": "ci-deployer", "groups": []string{"ci"}}
	created := c.call(call{key: admin, method: "POST", path: "/v1/api-keys", body: keyBody, idem: "key-1", want: 201})
	if created.obj["key"] == nil {
		t.Errorf("created key without its secret: %v", created.obj)
	}
	if again := c.call(call{key: admin, method: "POST", path: "/v1/api-keys", body: keyBody, idem: "key-1", want: 201}); again.obj["key"] != nil {
		t.Errorf("a replay shows the secret again")
	}
	keyID := created.obj["id"].(string)
	c.call(call{key: admin, method: "GET", path: "/v1/api-keys?limit=2", want: 200})
	c.call(call{key: admin, method: "GET", path: "/v1/api-keys/" + keyID, want: 200})
	c.call(call{key: admin, method: "DELETE", path: "/v1/api-keys/" + keyID, want: 204})
	c.call(call{key: admin, method: "DELETE", path: "/v1/api-keys/" + keyID, want: 204})
	c.call(call{key: admin, method: "GET", path: "/v1/api-keys/nosuchkey", want: 404})
	c.call(call{key: alice, method: "GET", path: "/v1/api-keys", want: 403})

	// Audit trail, paged.
	events := c.call(call{key: admin, method: "GET", path: "/v1/audit-events?limit=3", want: 200})
	c.call(call{key: admin, method: "GET", path: "/v1/audit-events?limit=3&cursor=" + url.QueryEscape(events.obj["next_cursor"].(string)), want: 200})

	// Errors of every kind.
	c.call(call{method: "GET", path: "/v1/requests", want: 401})
	c.call(call{key: "elv_nope", method: "GET", path: "/v1/requests", want: 401})
	c.call(call{key: globex.Keys.Admin, method: "GET", path: "/v1/requests", want: 403})
	c.call(call{key: alice, method: "GET", path: "/v1/requests", tenant: "acme", invalid: true, want: 400})
	c.call(call{key: alice, method: "GET", path: "/v1/requests?cursor=garbage", want: 400})
	c.call(call{key: alice, method: "GET", path: "/v1/requests?limit=0", invalid: true, want: 400})
	c.call(call{key: alice, method: "GET", path: "/v1/requests?sort=asc", invalid: true, want: 400})
	c.call(call{key: alice, method: "GET", path: "/v1/requests?status=bogus", invalid: true, want: 400})
	c.call(call{key: alice, method: "GET", path: "/v2/requests", invalid: true, want: 404})
	c.call(call{key: alice, method: "GET", path: "/v1/requests/", invalid: true, want: 404})
	c.call(call{key: alice, method: "PUT", path: "/v1/requests/x", invalid: true, want: 405})
	c.call(call{key: alice, method: "DELETE", path: "/v1/requests", invalid: true, want: 405})
	c.call(call{method: "POST", path: "/healthz", noTenant: true, invalid: true, want: 405})
	c.call(call{key: alice, method: "POST", path: "/v1/requests", raw: "{}", contentType: "text/plain", invalid: true, want: 415})
	c.call(call{key: alice, method: "POST", path: "/v1/requests", raw: `{"justification":"` + strings.Repeat("x", 70<<10) + `"}`, invalid: true, want: 413})
	c.call(call{key: alice, method: "POST", path: "/v1/requests", body: map[string]any{"resource": account, "colour": "red"}, invalid: true, want: 400})
	c.call(call{key: alice, method: "POST", path: "/v1/requests", idem: "has space", body: adminReq, invalid: true, want: 400})
	c.call(call{key: alice, method: "POST", path: "/v1/requests/nosuch/cancel", want: 404})
}

// caller sends calls to the local server through the validating client.
type caller struct {
	t      *testing.T
	http   *http.Client
	base   string
	tenant string
}

type call struct {
	key, method, path string
	tenant            string // default: the caller's
	noTenant          bool
	body              any
	raw, contentType  string
	idem              string
	header            http.Header
	invalid           bool
	want              int
}

type result struct {
	header http.Header
	obj    map[string]any
}

func (c *caller) call(k call) result {
	c.t.Helper()
	ctx := context.Background()
	if k.invalid {
		ctx = openapitest.MarkInvalid(ctx)
	}
	var body io.Reader
	switch {
	case k.raw != "":
		body = strings.NewReader(k.raw)
	case k.body != nil:
		b, err := json.Marshal(k.body)
		if err != nil {
			c.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, c.base+k.path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if !k.noTenant {
		tenant := c.tenant
		if k.tenant != "" {
			tenant = k.tenant
		}
		req.Header.Set("X-Tenant-ID", tenant)
	}
	if k.key != "" {
		req.Header.Set("X-API-Key", k.key)
	}
	if body != nil {
		ct := "application/json"
		if k.contentType != "" {
			ct = k.contentType
		}
		req.Header.Set("Content-Type", ct)
	}
	if k.idem != "" {
		req.Header.Set("Idempotency-Key", k.idem)
	}
	for name, v := range k.header {
		req.Header[name] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", k.method, k.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != k.want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", k.method, k.path, resp.StatusCode, k.want, b)
	}
	var obj map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &obj); err != nil {
			c.t.Fatalf("%s %s: body is not a JSON object: %v", k.method, k.path, err)
		}
	}
	return result{header: resp.Header, obj: obj}
}

// waitActive waits until the local workflow has provisioned a grant.
func waitActive(t *testing.T, c *caller, key, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g := c.call(call{key: key, method: "GET", path: "/v1/grants/" + id, want: 200})
		if g.obj["status"] == "active" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("grant %s is still %v", id, g.obj["status"])
		}
		time.Sleep(5 * time.Millisecond)
	}
}
