package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/local"
	"github.com/elevate-jit/elevate/internal/motoserver"
)

func TestMain(m *testing.M) { motoserver.Main(m) }

// awsOnMoto points the AWS configuration chain at fake credentials, so the
// commands reach only the test's moto server.
func awsOnMoto(t *testing.T) (endpoint, table string) {
	srv := motoserver.Shared(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAMOTOTESTING00000")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "moto-fake-secret-access-key")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	return srv.URL, fmt.Sprintf("elevate-cli-%d", time.Now().UnixNano())
}

// TestServeOnDynamoDB runs the local server on a DynamoDB table with the
// demo asked for, restarts it, and finds what the first run stored.
func TestServeOnDynamoDB(t *testing.T) {
	endpoint, table := awsOnMoto(t)
	flags := []string{"--store", "dynamodb", "--dynamodb-endpoint", endpoint, "--table", table, "--create-table", "--sweep-every", "0", "--demo"}
	dir := t.TempDir()
	first := startServe(t, dir, flags...)
	acme := first.demo.Tenants[0]
	r := call(t, "POST", first.base+"/v1/requests", acme.ID, acme.Keys.Requester2,
		`{"resource":{"type":"aws_account","id":"210987654321"},"action":"Admin","duration_seconds":600,"justification":"Rotate keys"}`, 201)
	first.stop(t)

	second := startServe(t, dir, flags...)
	defer second.stop(t)
	acme = second.demo.Tenants[0]
	got := call(t, "GET", second.base+"/v1/requests/"+r["id"].(string), acme.ID, acme.Keys.Approver, "", 200)
	if got["status"] != "pending" || got["requester_id"] != "bob" {
		t.Fatalf("after a restart the request is %v", got)
	}
}

// TestTenantAndKeyCommands bootstraps a tenant and keys in a table as an
// operator would after `cdk deploy`, then uses them through the API.
func TestTenantAndKeyCommands(t *testing.T) {
	endpoint, table := awsOnMoto(t)
	store := []string{"--store", "dynamodb", "--dynamodb-endpoint", endpoint, "--table", table}
	runJSON := func(args ...string) (map[string]any, string, int) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		var v map[string]any
		_ = json.Unmarshal(out.Bytes(), &v)
		return v, errb.String(), code
	}
	created, stderr, code := runJSON(append([]string{"tenant", "create", "--create-table", "--name", "Initech", "--admin", "peter",
		"--identity-center-instance-arn", "arn:aws:sso:::instance/ssoins-1234567890abcdef", "--approval-window-seconds", "3600", "--identity-store-id", "d-1234567890",
		"--allowed-roots", "r-ab12"}, store...)...)
	if code != 0 {
		t.Fatalf("tenant create exited %d: %s", code, stderr)
	}
	tenant, adminKey := created["tenant_id"].(string), created["key"].(string)
	if !strings.HasPrefix(adminKey, "elv_") {
		t.Fatalf("tenant create printed %v", created)
	}
	key, stderr, code := runJSON(append([]string{"apikey", "create", "--tenant", tenant, "--principal", "milton", "--role", "requester",
		"--groups", "engineering"}, store...)...)
	if code != 0 {
		t.Fatalf("apikey create exited %d: %s", code, stderr)
	}
	// Bad input is refused with a clear message and a non-zero exit.
	if _, stderr, code := runJSON(append([]string{"apikey", "create", "--tenant", tenant, "--principal", "x", "--role", "root"}, store...)...); code == 0 || !strings.Contains(stderr, "role") {
		t.Fatalf("a bad role gave exit %d: %s", code, stderr)
	}
	if _, stderr, code := runJSON("tenant", "create", "--name", "x", "--admin", "y"); code == 0 || !strings.Contains(stderr, "dynamodb") {
		t.Fatalf("tenant create without a lasting store gave exit %d: %s", code, stderr)
	}

	// The operator changes the boundary; only the flags given change.
	psARN := "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-0a1b2c3d4e5f6071"
	updated, stderr, code := runJSON(append([]string{"tenant", "update", "--tenant", tenant, "--allowed-roots", "r-ab12,ou-ab12-cdef3456",
		"--assignable", psARN}, store...)...)
	if code != 0 {
		t.Fatalf("tenant update exited %d: %s", code, stderr)
	}
	b, _ := updated["boundary"].(map[string]any)
	if fmt.Sprint(b["allowed_roots"]) != "[r-ab12 ou-ab12-cdef3456]" || fmt.Sprint(b["assignable"]) != "["+psARN+"]" ||
		b["identity_store_id"] != "d-1234567890" {
		t.Fatalf("tenant update printed %v", updated)
	}
	if _, stderr, code := runJSON(append([]string{"tenant", "update", "--tenant", tenant, "--assignable", "ReadOnly"}, store...)...); code == 0 || !strings.Contains(stderr, "assignable_permission_sets") {
		t.Fatalf("a bad assignable set gave exit %d: %s", code, stderr)
	}
	shown, stderr, code := runJSON(append([]string{"tenant", "show", "--tenant", tenant}, store...)...)
	if code != 0 || fmt.Sprint(shown["boundary"]) != fmt.Sprint(updated["boundary"]) {
		t.Fatalf("tenant show exited %d (%s): %v", code, stderr, shown)
	}

	// Serving a deployment's table seeds no demo tenants or keys unless asked to.
	s := startServe(t, t.TempDir(), append(store, "--sweep-every", "0")...)
	defer s.stop(t)
	if out := s.out.String(); strings.Contains(out, "Demo tenants") || !strings.Contains(out, "No demo tenants seeded") {
		t.Fatalf("serve on a table without --demo printed:\n%s", out)
	}
	if _, stderr, code := runJSON(append([]string{"tenant", "show", "--tenant", local.DemoTenantAcme}, store...)...); code == 0 || !strings.Contains(stderr, "not found") {
		t.Fatalf("the demo tenant is in the table (exit %d): %s", code, stderr)
	}
	if _, stderr, code := runJSON(append([]string{"serve", "--demo-out", "demo.json"}, store...)...); code != 2 || !strings.Contains(stderr, "--demo") {
		t.Fatalf("--demo-out without --demo gave exit %d: %s", code, stderr)
	}
	tn := call(t, "GET", s.base+"/v1/tenant", tenant, adminKey, "", 200)
	if tn["name"] != "Initech" {
		t.Fatalf("tenant = %v", tn)
	}
	// The trail shows the change, with the old and new values.
	trail := call(t, "GET", s.base+"/v1/audit-events", tenant, adminKey, "", 200)
	events, _ := trail["data"].([]any)
	found := false
	for _, e := range events {
		ev, _ := e.(map[string]any)
		if ev["action"] == "tenant.boundary_updated" {
			d, _ := ev["details"].(map[string]any)
			old, _ := d["old"].(map[string]any)
			nw, _ := d["new"].(map[string]any)
			found = fmt.Sprint(old["allowed_roots_ceiling"]) == "[r-ab12]" && fmt.Sprint(nw["allowed_roots_ceiling"]) == "[r-ab12 ou-ab12-cdef3456]"
		}
	}
	if !found {
		t.Fatalf("no tenant.boundary_updated event with old and new roots in %v", events)
	}
	call(t, "GET", s.base+"/v1/requests", tenant, key["key"].(string), "", 200)
	call(t, "GET", s.base+"/v1/tenant", tenant, key["key"].(string), "", 403)
}
