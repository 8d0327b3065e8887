package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/api/openapitest"
	"github.com/elevate-jit/elevate/internal/clock"
	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/local"
	"github.com/elevate-jit/elevate/internal/store/memstore"
)

// stores are the store implementations the end-to-end suite runs on.
var stores = map[string]func(t *testing.T, now func() time.Time) access.Store{
	"memstore": func(_ *testing.T, now func() time.Time) access.Store { return memstore.New(memstore.WithClock(now)) },
}

// start is when every test's fake clock begins.
var start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// env is one running Elevate with the demo tenants, driven over HTTP.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	local  *local.Server
	clock  *clock.Fake
	client *http.Client
	demo   local.Demo
	acme   tenant
	globex tenant
}

// tenant holds the demo users of one tenant as callers.
type tenant struct {
	id                             string
	ada, carol, alice, bob, nobody caller
}

// caller is one credential in one tenant.
type caller struct {
	e      *env
	tenant string
	key    string
	name   string
}

// runAll runs a test on every store.
func runAll(t *testing.T, test func(t *testing.T, e *env)) {
	t.Helper()
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			fc := clock.NewFake(start)
			test(t, newEnv(t, fc, newStore(t, fc.Now)))
		})
	}
}

func newEnv(t *testing.T, fc *clock.Fake, store access.Store) *env {
	t.Helper()
	return newEnvWith(t, fc, store, nil)
}

// newEnvWith is newEnv with a chance to change the configuration.
func newEnvWith(t *testing.T, fc *clock.Fake, store access.Store, configure func(*local.Config)) *env {
	t.Helper()
	sealer, err := cursor.New(cursor.Key{ID: "test-1", Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	cfg := local.Config{
		Store: store, Cursors: sealer, Clock: fc, Logger: log,
		ProtectedAccounts: []string{local.DemoProtectedAccount}, Poll: time.Millisecond,
	}
	if configure != nil {
		configure(&cfg)
	}
	elevate := local.New(cfg)
	demo, err := local.SeedDemo(context.Background(), elevate.Operator, elevate.IdentityCenter)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(elevate.Handler)
	e := &env{t: t, srv: srv, local: elevate, clock: fc, demo: demo, client: openapitest.Client(t, nil)}
	t.Cleanup(func() {
		srv.Close()
		elevate.Close()
	})
	e.acme = e.tenantOf(demo.Tenants[0])
	e.globex = e.tenantOf(demo.Tenants[1])
	return e
}

// sub returns the same Elevate seen from a subtest, so failures are
// reported against it.
func (e *env) sub(t *testing.T) *env {
	c := *e
	c.t = t
	c.acme = c.tenantOf(e.demo.Tenants[0])
	c.globex = c.tenantOf(e.demo.Tenants[1])
	return &c
}

func (e *env) tenantOf(d local.DemoTenant) tenant {
	c := func(key, name string) caller { return caller{e: e, tenant: d.ID, key: key, name: name} }
	return tenant{
		id: d.ID, ada: c(d.Keys.Admin, "ada"), carol: c(d.Keys.Approver, "carol"),
		alice: c(d.Keys.Requester, "alice"), bob: c(d.Keys.Requester2, "bob"),
		nobody: c("", "nobody"),
	}
}

// settle waits until every background workflow step has finished.
func (e *env) settle() { e.local.Workflow.Wait() }

// advance moves the clock and lets what fell due run.
func (e *env) advance(d time.Duration) {
	e.clock.Advance(d)
	e.settle()
}

// resp is a response as a client sees it.
type resp struct {
	t      *testing.T
	status int
	header http.Header
	body   []byte
}

// opt changes a request before it is sent.
type opt func(*http.Request)

func header(k, v string) opt { return func(r *http.Request) { r.Header.Set(k, v) } }

func idempotencyKey(k string) opt { return header("Idempotency-Key", k) }

// invalid marks a request as deliberately breaking the API document, so only
// the response is validated against it.
func invalid() opt {
	return func(r *http.Request) { *r = *r.WithContext(openapitest.MarkInvalid(r.Context())) }
}

func (c caller) as(tenantID string) caller { c.tenant = tenantID; return c }

func (c caller) get(path string, opts ...opt) *resp { return c.do(http.MethodGet, path, nil, opts...) }

func (c caller) post(path string, body any, opts ...opt) *resp {
	return c.do(http.MethodPost, path, body, opts...)
}

// do sends a call with this caller's tenant and key. A string or []byte body
// is sent as is; anything else as JSON.
func (c caller) do(method, path string, body any, opts ...opt) *resp {
	t := c.e.t
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if c.tenant != "" {
		req.Header.Set("X-Tenant-ID", c.tenant)
	}
	if c.key != "" {
		req.Header.Set("X-API-Key", c.key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	res, err := c.e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &resp{t: t, status: res.StatusCode, header: res.Header, body: b}
}

// want fails the test unless the status is one of the given.
func (r *resp) want(status ...int) *resp {
	r.t.Helper()
	for _, s := range status {
		if r.status == s {
			return r
		}
	}
	r.t.Fatalf("status %d, want %v; body: %s", r.status, status, r.body)
	return r
}

// wantError fails unless the response is the error of that status and code.
func (r *resp) wantError(status int, code string) apiError {
	r.t.Helper()
	r.want(status)
	var e apiError
	r.decode(&e)
	if e.Code != code {
		r.t.Fatalf("code %q, want %q; body: %s", e.Code, code, r.body)
	}
	if e.Message == "" {
		r.t.Fatalf("error without a message: %s", r.body)
	}
	return e
}

func (r *resp) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		r.t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r *resp) request() request {
	r.t.Helper()
	var v request
	r.decode(&v)
	return v
}

func (r *resp) grant() grant {
	r.t.Helper()
	var v grant
	r.decode(&v)
	return v
}

// The client's view of the wire types (deliberately separate from the
// server's, as a client's would be).

type apiError struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
	Notices []string       `json:"notices"`
}

type resource struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	AccountID string `json:"account_id,omitempty"`
	Region    string `json:"region,omitempty"`
	DBUser    string `json:"db_user,omitempty"`
}

type request struct {
	ID                string     `json:"id"`
	TenantID          string     `json:"tenant_id"`
	RequesterID       string     `json:"requester_id"`
	GranteeID         string     `json:"grantee_id"`
	Resource          resource   `json:"resource"`
	Action            string     `json:"action"`
	Status            string     `json:"status"`
	ApprovalMode      *string    `json:"approval_mode"`
	ApprovalsRequired int        `json:"approvals_required"`
	Approvals         []approval `json:"approvals"`
	BreakGlass        bool       `json:"break_glass"`
	DecidedBy         *string    `json:"decided_by"`
	Reasoning         *string    `json:"reasoning"`
	GrantID           *string    `json:"grant_id"`
	Notices           []string   `json:"notices"`
	ApprovalExpiresAt *time.Time `json:"approval_expires_at"`
	EscalateAt        *time.Time `json:"escalate_at"`
	EscalateTo        *string    `json:"escalate_to"`
	CreatedAt         time.Time  `json:"created_at"`
}

type approval struct {
	ApproverID string `json:"approver_id"`
	Reasoning  string `json:"reasoning"`
}

type grant struct {
	ID          string       `json:"id"`
	RequestID   *string      `json:"request_id"`
	GranteeID   string       `json:"grantee_id"`
	Resource    resource     `json:"resource"`
	Action      string       `json:"action"`
	Status      string       `json:"status"`
	ExpiresAt   *time.Time   `json:"expires_at"`
	GrantedAt   *time.Time   `json:"granted_at"`
	RevokedAt   *time.Time   `json:"revoked_at"`
	Revocation  *revocation  `json:"revocation"`
	Assignments []assignment `json:"assignments"`
	Notices     []string     `json:"notices"`
}

type revocation struct {
	AssignmentDeletedAt *time.Time `json:"assignment_deleted_at"`
	VerifiedAbsentAt    *time.Time `json:"verified_absent_at"`
	SessionsCutUntil    *time.Time `json:"sessions_cut_until"`
	Method              string     `json:"method"`
}

type assignment struct {
	AccountID        string `json:"account_id"`
	PermissionSetARN string `json:"permission_set_arn"`
	PrincipalID      string `json:"principal_id"`
	Status           string `json:"status"`
	External         bool   `json:"external"`
}

type list[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
	HasMore    bool    `json:"has_more"`
}

// body is a JSON object under construction.
type body map[string]any

func (b body) with(k string, v any) body {
	out := body{}
	for kk, vv := range b {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func accountRequest(account, action string, seconds int) body {
	return body{
		"resource": body{"type": "aws_account", "id": account}, "action": action,
		"duration_seconds": seconds, "justification": "Investigate INC-4242",
	}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
