package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records Errorf calls instead of failing, so
// the tests can see what the transport reports.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) reports() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

const (
	tenantID  = "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01"
	requestID = "01953a1e-7c2b-7d1e-8f3a-2b4c6d8e0f10"
)

// validRequest is a Request object as the server writes it.
func validRequest() map[string]any {
	return map[string]any{
		"id": requestID, "tenant_id": tenantID, "requester_id": "alice", "grantee_id": "alice",
		"resource": map[string]any{"type": "aws_account", "id": "123456789012"},
		"action":   "Admin", "permission_set_arn": nil, "justification": "INC-1", "duration_seconds": 3600, "break_glass": false,
		"status": "pending", "approval_mode": "require", "approvals_required": 1, "approvals": []any{},
		"reasoning": nil, "decided_by": nil, "decided_at": nil, "approval_expires_at": "2026-02-28T09:15:00.123456Z",
		"grant_id": nil, "extends_grant_id": nil, "starts_at": nil, "escalate_at": nil, "escalate_to": nil, "forward_history": []any{}, "conflicts": []any{}, "notices": []any{"This request needs an approver."}, "metadata": map[string]any{},
		"policy_version": 1, "created_at": "2026-02-27T09:15:00.123456Z", "updated_at": "2026-02-27T09:15:00Z",
	}
}

// reply answers with status, a JSON body and the headers every response has.
func reply(status int, body any, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", "req-1")
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			if headers[i+1] == "" {
				w.Header().Del(headers[i])
			} else {
				w.Header().Set(headers[i], headers[i+1])
			}
		}
		w.WriteHeader(status)
		if body != nil {
			_ = json.NewEncoder(w).Encode(body)
		}
	}
}

func with(m map[string]any, key string, value any) map[string]any {
	m[key] = value
	return m
}

func without(m map[string]any, key string) map[string]any {
	delete(m, key)
	return m
}

// call sends one request through the validating transport to a server
// running h, and returns what the transport reported and the body the caller
// read.
func call(t *testing.T, h http.Handler, method, path string, body string, header http.Header, invalid bool) ([]string, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	rec := &recorder{TB: t}
	client := Client(rec, nil)
	ctx := context.Background()
	if invalid {
		ctx = MarkInvalid(ctx)
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Tenant-ID", tenantID)
	req.Header.Set("X-API-Key", "elv_test")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if len(v) == 0 || v[0] == "" {
			req.Header.Del(k)
		} else {
			req.Header[k] = v
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.reports(), string(got)
}

func TestResponses(t *testing.T) {
	path := "/v1/requests/" + requestID
	tests := []struct {
		name    string
		handler http.Handler
		want    string // "" for no report; else a substring of the report
	}{
		{"valid request object", reply(200, validRequest()), ""},
		{"extra field", reply(200, with(validRequest(), "extra", 1)), `property "extra" is unsupported`},
		{"missing required field", reply(200, without(validRequest(), "grant_id")), `property "grant_id" is missing`},
		{"wrong enum value", reply(200, with(validRequest(), "status", "approving")), `Error at "/status"`},
		{"nested wrong enum value", reply(200, with(validRequest(), "resource", map[string]any{"type": "aws_lambda", "id": "x"})), `Error at "/resource/type"`},
		{"null where not nullable", reply(200, with(validRequest(), "action", nil)), `Error at "/action"`},
		{"not a uuid", reply(200, with(validRequest(), "id", "req-1")), `Error at "/id"`},
		{"not a date-time", reply(200, with(validRequest(), "created_at", "yesterday")), `Error at "/created_at"`},
		{"undocumented status", reply(http.StatusTeapot, validRequest()), "status is not supported"},
		{"documented status, wrong shape", reply(404, validRequest()), "response body doesn't match schema"},
		{"error code of another status", reply(404, map[string]any{"code": "conflict", "message": "x"}), `Error at "/code"`},
		{"documented error", reply(404, map[string]any{"code": "not_found", "message": "request not found"}), ""},
		{"missing X-Request-ID", reply(200, validRequest(), "X-Request-ID", ""), `response header "X-Request-ID" missing`},
		{"wrong content type", reply(200, validRequest(), "Content-Type", "text/plain"), "header Content-Type has unexpected value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reports, _ := call(t, tt.handler, http.MethodGet, path, "", nil, false)
			checkReports(t, reports, tt.want, "GET "+path, "→ ")
		})
	}
}

// checkReports fails unless reports is empty (want "") or has one report
// containing want and every one of also.
func checkReports(t *testing.T, reports []string, want string, also ...string) {
	for _, r := range reports {
		t.Log(r)
	}
	t.Helper()
	if want == "" {
		if len(reports) > 0 {
			t.Errorf("unexpected reports:\n%s", strings.Join(reports, "\n"))
		}
		return
	}
	for _, r := range reports {
		ok := strings.Contains(r, want)
		for _, a := range also {
			ok = ok && strings.Contains(r, a)
		}
		if ok {
			return
		}
	}
	t.Errorf("no report contains %q (and %q); got:\n%s", want, also, strings.Join(reports, "\n"))
}

func TestCallerReadsTheBody(t *testing.T) {
	want := validRequest()
	reports, body := call(t, reply(200, want), http.MethodGet, "/v1/requests/"+requestID, "", nil, false)
	checkReports(t, reports, "")
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil || got["id"] != requestID {
		t.Errorf("caller read %q (%v), want the server's body", body, err)
	}
}

func TestRequests(t *testing.T) {
	created := reply(201, validRequest())
	denied := reply(403, map[string]any{"code": "policy_denied", "message": "denied", "details": map[string]any{"request_id": requestID}, "notices": []string{"no"}})
	okBody := `{"resource":{"type":"aws_account","id":"123456789012"},"action":"ReadOnly","duration_seconds":600,"justification":"why"}`
	tests := []struct {
		name, method, path, body string
		header                   http.Header
		handler                  http.Handler
		invalid                  bool
		want                     string
	}{
		{name: "valid create", method: "POST", path: "/v1/requests", body: okBody, handler: created},
		{name: "valid create, policy denied", method: "POST", path: "/v1/requests", body: okBody, handler: denied},
		{name: "policy denied without request_id", method: "POST", path: "/v1/requests", body: okBody,
			handler: reply(403, map[string]any{"code": "policy_denied", "message": "denied"}), want: "doesn't match schema"},
		{name: "unknown body field", method: "POST", path: "/v1/requests", body: `{"resource":{"type":"aws_account","id":"123456789012"},"action":"ReadOnly","duration_seconds":600,"justification":"why","color":"red"}`,
			handler: created, want: `request body has an error`},
		{name: "unknown body field, marked invalid", method: "POST", path: "/v1/requests", body: `{"color":"red"}`, handler: reply(400, map[string]any{"code": "validation_failed", "message": "x", "details": map[string]any{"color": "is not a known field"}}), invalid: true},
		{name: "marked invalid, response still checked", method: "POST", path: "/v1/requests", body: `{"color":"red"}`, handler: reply(400, map[string]any{"code": "not_found", "message": "x"}), invalid: true, want: `Error at "/code"`},
		{name: "missing body", method: "POST", path: "/v1/requests", handler: created, want: "value is required but missing"},
		{name: "missing X-Tenant-ID", method: "GET", path: "/v1/requests/" + requestID, header: http.Header{"X-Tenant-Id": nil}, handler: reply(200, validRequest()), want: `parameter "X-Tenant-ID" in header`},
		{name: "malformed X-Tenant-ID", method: "GET", path: "/v1/requests/" + requestID, header: http.Header{"X-Tenant-Id": {"acme"}}, handler: reply(200, validRequest()), want: `parameter "X-Tenant-ID" in header`},
		{name: "malformed X-Tenant-ID, marked invalid", method: "GET", path: "/v1/requests/" + requestID, header: http.Header{"X-Tenant-Id": {"acme"}}, invalid: true,
			handler: reply(400, map[string]any{"code": "invalid_tenant_id", "message": "x"})},
		{name: "bad Idempotency-Key", method: "POST", path: "/v1/requests", body: okBody, header: http.Header{"Idempotency-Key": {"has space"}}, handler: created, want: `parameter "Idempotency-Key" in header`},
		{name: "limit out of range", method: "GET", path: "/v1/requests?limit=251", handler: reply(200, map[string]any{"data": []any{}, "next_cursor": nil, "has_more": false}), want: `parameter "limit" in query`},
		{name: "bad status filter", method: "GET", path: "/v1/grants?status=active,pending", handler: reply(200, map[string]any{"data": []any{}, "next_cursor": nil, "has_more": false}), want: `parameter "status" in query`},
		{name: "good status filter", method: "GET", path: "/v1/grants?status=active,%20revoked&limit=5", handler: reply(200, map[string]any{"data": []any{}, "next_cursor": nil, "has_more": false})},
		{name: "unknown query parameter", method: "GET", path: "/v1/audit-events?since=yesterday", handler: reply(200, map[string]any{"data": []any{}, "next_cursor": nil, "has_more": false}), want: `query parameter "since" is not in the OpenAPI document`},
		{name: "repeated query parameter", method: "GET", path: "/v1/audit-events?limit=1&limit=2", handler: reply(200, map[string]any{"data": []any{}, "next_cursor": nil, "has_more": false}), want: `query parameter "limit" is repeated`},
		{name: "list envelope without has_more", method: "GET", path: "/v1/api-keys", handler: reply(200, map[string]any{"data": []any{}, "next_cursor": nil}), want: `property "has_more" is missing`},
		{name: "body on a GET", method: "GET", path: "/v1/catalog", body: `{}`, handler: reply(200, map[string]any{"actions": map[string]any{}}), want: "request body not allowed"},
		{name: "public route without credentials", method: "GET", path: "/healthz", header: http.Header{"X-Tenant-Id": nil, "X-Api-Key": nil}, handler: reply(200, map[string]any{"status": "ok"})},
		{name: "204 without body", method: "DELETE", path: "/v1/api-keys/mfrggzdfmztwq2lk", handler: reply(204, nil)},
		{name: "secret on a GET of a key", method: "GET", path: "/v1/api-keys/mfrggzdfmztwq2lk", handler: reply(200, map[string]any{
			"id": "mfrggzdfmztwq2lk", "name": "n", "role": "admin", "principal_id": "ada", "principal_kind": "user", "groups": []string{},
			"created_by": "ada", "created_at": "2026-02-27T09:15:00Z", "expires_at": nil, "revoked_at": nil,
			"key": "elv_mfrggzdfmztwq2lk_abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"}), want: `property "key" is unsupported`},
		{name: "429 without Retry-After", method: "GET", path: "/v1/catalog", handler: reply(429, map[string]any{"code": "rate_limited", "message": "slow down"}), want: `response header "Retry-After" missing`},
		{name: "429 with Retry-After", method: "GET", path: "/v1/catalog", handler: reply(429, map[string]any{"code": "rate_limited", "message": "slow down"}, "Retry-After", "1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reports, _ := call(t, tt.handler, tt.method, tt.path, tt.body, tt.header, tt.invalid)
			checkReports(t, reports, tt.want, tt.method+" ")
		})
	}
}

func TestUnknownRoutes(t *testing.T) {
	notFound := reply(404, map[string]any{"code": "not_found", "message": "no route for GET /v2/requests"})
	tests := []struct {
		name, method, path string
		handler            http.Handler
		invalid            bool
		want               string
	}{
		{"unknown path", "GET", "/v2/requests", notFound, false, "the OpenAPI document has no such path"},
		{"unknown path, marked invalid", "GET", "/v2/requests", notFound, true, ""},
		{"unknown path answered with 200", "GET", "/v2/requests", reply(200, map[string]any{"data": []any{}}), true, "answers a path it does not have with 404"},
		{"unknown path answered with another error", "GET", "/v2/requests", reply(404, map[string]any{"code": "forbidden", "message": "x"}), true, `Error at "/code"`},
		{"trailing slash", "GET", "/v1/requests/", notFound, false, "the OpenAPI document has no such path"},
		{"trailing slash, marked invalid", "GET", "/v1/requests/", notFound, true, ""},
		{"empty path parameter", "POST", "/v1/requests//approve", notFound, true, ""},
		{"unknown method", "DELETE", "/v1/requests", reply(405, map[string]any{"code": "method_not_allowed", "message": "x"}, "Allow", "GET, POST"), false, "has no DELETE operation on this path (it has GET, POST)"},
		{"unknown method, marked invalid", "DELETE", "/v1/requests", reply(405, map[string]any{"code": "method_not_allowed", "message": "x"}, "Allow", "GET, POST"), true, ""},
		{"405 with a wrong Allow", "DELETE", "/v1/requests", reply(405, map[string]any{"code": "method_not_allowed", "message": "x"}, "Allow", "GET"), true, `Allow is "GET"`},
		{"405 without Allow", "PUT", "/v1/grants/x/revoke", reply(405, map[string]any{"code": "method_not_allowed", "message": "x"}), true, `response header "Allow" missing`},
		{"unknown method answered with 404", "PUT", "/v1/requests", notFound, true, "answers a method the path does not take with 405"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reports, _ := call(t, tt.handler, tt.method, tt.path, "", nil, tt.invalid)
			checkReports(t, reports, tt.want, tt.method+" "+tt.path)
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A net/http server cannot send a body with 204, so a fake base transport does.
func Test204WithABody(t *testing.T) {
	rec := &recorder{TB: t}
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 204, Header: http.Header{"X-Request-Id": {"r"}}, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
	})
	req, _ := http.NewRequest(http.MethodDelete, "http://elevate.test/v1/api-keys/mfrggzdfmztwq2lk", nil)
	req.Header.Set("X-Tenant-ID", tenantID)
	resp, err := Client(rec, base).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	checkReports(t, rec.reports(), "gives 204 no body, but it has 2 bytes", "DELETE /v1/api-keys/mfrggzdfmztwq2lk → 204")
}

func TestSecretsAreRedacted(t *testing.T) {
	key := "elv_mfrggzdfmztwq2lk_abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"
	reports, body := call(t, reply(http.StatusTeapot, map[string]any{"key": key}), http.MethodGet, "/v1/api-keys/mfrggzdfmztwq2lk", "", nil, false)
	if len(reports) == 0 {
		t.Fatal("no report for an undocumented status")
	}
	for _, r := range reports {
		if strings.Contains(r, key) {
			t.Errorf("report shows the secret: %s", r)
		}
	}
	if !strings.Contains(body, key) {
		t.Errorf("caller did not get the body: %s", body)
	}
}

func TestRequestBodyStillSent(t *testing.T) {
	body := `{"reasoning":"looks fine"}`
	var got []byte
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		reply(200, validRequest())(w, r)
	})
	reports, _ := call(t, h, http.MethodPost, "/v1/requests/"+requestID+"/approve", body, nil, false)
	checkReports(t, reports, "")
	if !bytes.Equal(got, []byte(body)) {
		t.Errorf("server got body %q, want %q", got, body)
	}
}

func TestInvalidDocumentIsReported(t *testing.T) {
	_, err := loadSpec([]byte("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /x:\n    get:\n      responses: {}\n"))
	if err == nil || !strings.Contains(err.Error(), "invalid") {
		t.Errorf("loadSpec of an invalid document: %v, want an error", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	srv := httptest.NewServer(reply(200, validRequest()))
	defer srv.Close()
	rec := &recorder{TB: t}
	client := Client(rec, nil)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/requests/"+requestID+"?x=1", nil)
			req.Header.Set("X-Tenant-ID", tenantID)
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	if n := len(rec.reports()); n != 16 {
		t.Errorf("got %d reports of the unknown query parameter, want 16:\n%s", n, strings.Join(rec.reports(), "\n"))
	}
}
