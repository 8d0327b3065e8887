package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/local"
)

// benchEnv is a local Elevate whose handler the benchmarks call directly:
// routing, authentication, decoding, the use case, the embedded store and
// encoding, without a network in between.
func benchEnv(b *testing.B) (*local.Server, local.DemoTenant) {
	sealer, err := cursor.New(cursor.Key{ID: "bench", Secret: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	elevate := local.New(local.Config{Cursors: sealer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ProtectedAccounts: []string{local.DemoProtectedAccount}})
	b.Cleanup(elevate.Close)
	demo, err := local.SeedDemo(context.Background(), elevate.Operator, elevate.IdentityCenter)
	if err != nil {
		b.Fatal(err)
	}
	return elevate, demo.Tenants[0]
}

func serve(b *testing.B, h http.Handler, method, path, key, tenant string, body []byte, want int) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("X-Tenant-ID", tenant)
	req.Header.Set("X-API-Key", key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
}

// BenchmarkCreateRequest creates a request that waits for approval: decide
// with Cedar, commit request and audit event, start the approval wait.
func BenchmarkCreateRequest(b *testing.B) {
	elevate, t := benchEnv(b)
	body := []byte(`{"resource":{"type":"aws_account","id":"210987654321"},"action":"Admin","duration_seconds":1800,"justification":"Rotate the KMS key"}`)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, elevate.Handler, http.MethodPost, "/v1/requests", t.Keys.Requester2, t.ID, body, http.StatusCreated)
	}
}

// BenchmarkListGrants lists one page of 50 grants out of 1000.
func BenchmarkListGrants(b *testing.B) {
	elevate, t := benchEnv(b)
	ctx := context.Background()
	admin := local.DemoAdmin
	for i := range 1000 {
		if _, err := elevate.Service.CreateGrant(ctx, principal(t.ID, admin), grantInput(i), nil); err != nil {
			b.Fatal(err)
		}
	}
	elevate.Workflow.Wait()
	b.ReportAllocs()
	for b.Loop() {
		serve(b, elevate.Handler, http.MethodGet, "/v1/grants?limit=50", t.Keys.Admin, t.ID, nil, http.StatusOK)
	}
}

// BenchmarkCreateRequestLoopback is BenchmarkCreateRequest through a real
// HTTP server on loopback, to show the network's share.
func BenchmarkCreateRequestLoopback(b *testing.B) {
	elevate, t := benchEnv(b)
	srv := httptest.NewServer(elevate.Handler)
	b.Cleanup(srv.Close)
	body := []byte(`{"resource":{"type":"aws_account","id":"210987654321"},"action":"Admin","duration_seconds":1800,"justification":"Rotate the KMS key"}`)
	client := srv.Client()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/requests", bytes.NewReader(body))
		req.Header.Set("X-Tenant-ID", t.ID)
		req.Header.Set("X-API-Key", t.Keys.Requester2)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}

func principal(tenantID string, u local.DemoUser) access.Principal {
	return access.Principal{TenantID: tenantID, ID: u.ID, Kind: access.PrincipalUser, Role: u.Role, Groups: u.Groups}
}

func grantInput(i int) access.CreateGrantInput {
	return access.CreateGrantInput{
		GranteeID: fmt.Sprintf("user-%d", i),
		Resource:  access.Resource{Type: access.ResourceAccount, ID: "123456789012"},
		Action:    "ReadOnly", ExpiresAt: time.Now().Add(time.Duration(i+60) * time.Minute), Reasoning: "benchmark",
	}
}
