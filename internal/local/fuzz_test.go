package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"testing"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/local"
)

// The HTTP fuzz targets drive a whole local Elevate (embedded store, demo
// tenants) through its handler, as a client would. For every input: no 500
// and no panic (the API's recovery would answer 500), every answer is JSON,
// and a refused request leaves the store as it was: the tenant, its policy
// version and the audit trail unchanged.

// fuzzServer is a local Elevate with the demo tenants.
type fuzzServer struct {
	*local.Server
	tenant local.DemoTenant
}

func newFuzzServer(tb testing.TB) *fuzzServer {
	tb.Helper()
	sealer, err := cursor.New(cursor.Key{ID: "fuzz", Secret: bytes.Repeat([]byte{7}, cursor.SecretSize)})
	if err != nil {
		tb.Fatal(err)
	}
	l := local.New(local.Config{Cursors: sealer, Logger: slog.New(slog.DiscardHandler)})
	tb.Cleanup(l.Close)
	d, err := local.SeedDemo(context.Background(), l.Operator, l.IdentityCenter)
	if err != nil {
		tb.Fatal(err)
	}
	return &fuzzServer{Server: l, tenant: d.Tenants[0]}
}

// call makes one API call as the holder of key; header is name, value pairs.
func (s *fuzzServer) call(t *testing.T, method, path, key string, body []byte, header ...string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("X-Tenant-ID", s.tenant.ID)
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s answered %d with a body that is not a JSON object: %q", method, path, rec.Code, rec.Body.String())
	}
	if rec.Code >= 500 || out["code"] == string(access.CodeInternal) {
		t.Fatalf("%s %s with body %q answered %d: %v", method, path, body, rec.Code, out)
	}
	return rec.Code, out
}

// state is what a refused request must not change. The audit trail is
// compared by the caller's newest event: the workflow goes on recording
// grants of earlier requests in the background.
type state struct {
	tenant      access.Tenant
	newestAudit string // by the caller
	newestReq   string
}

func (s *fuzzServer) state(t *testing.T, caller string) state {
	t.Helper()
	ctx := context.Background()
	tn, err := s.Store.GetTenant(ctx, s.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	st := state{tenant: tn}
	audit, err := s.Store.ListAuditEvents(ctx, s.tenant.ID, access.PageRequest{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range audit.Items {
		if e.ActorID == caller {
			st.newestAudit = e.ID
			break
		}
	}
	reqs, err := s.Store.ListRequests(ctx, s.tenant.ID, access.RequestFilter{}, access.PageRequest{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs.Items) > 0 {
		st.newestReq = reqs.Items[0].ID
	}
	return st
}

// unchanged fails if the store changed between before and now.
func (s *fuzzServer) unchanged(t *testing.T, before state, caller, what string) {
	t.Helper()
	if after := s.state(t, caller); !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused %s changed the store:\nbefore %+v\nafter  %+v", what, before, after)
	}
}

// FuzzPutPolicies uploads arbitrary policy text with the right If-Match, as
// an admin would. Seeds are in testdata/fuzz/FuzzPutPolicies.
func FuzzPutPolicies(f *testing.F) {
	s := newFuzzServer(f)
	f.Add(`@id("a") permit (principal, action, resource);`)
	f.Fuzz(func(t *testing.T, text string) {
		body, _ := json.Marshal(map[string]string{"policies": text}) // a string always marshals
		before := s.state(t, local.DemoAdmin.ID)
		match := strconv.Quote(strconv.Itoa(before.tenant.PolicyVersion))
		code, out := s.call(t, http.MethodPut, "/v1/policies", s.tenant.Keys.Admin, body, "If-Match", match)
		switch code {
		case http.StatusOK:
			if v, _ := out["version"].(float64); int(v) != before.tenant.PolicyVersion+1 {
				t.Fatalf("PUT answered version %v after %d", out["version"], before.tenant.PolicyVersion)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			s.unchanged(t, before, local.DemoAdmin.ID, "policy upload")
		default:
			t.Fatalf("PUT /v1/policies answered %d: %v", code, out)
		}
	})
}

// FuzzPatchTenant sends arbitrary PATCH /v1/tenant bodies as an admin.
// Seeds are in testdata/fuzz/FuzzPatchTenant.
func FuzzPatchTenant(f *testing.F) {
	s := newFuzzServer(f)
	f.Add([]byte(`{"time_zone":"Europe/Berlin","group_roles":{"sre":"approver","platform-admins":"admin"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		before := s.state(t, local.DemoAdmin.ID)
		code, out := s.call(t, http.MethodPatch, "/v1/tenant", s.tenant.Keys.Admin, body)
		if code == http.StatusOK {
			return
		}
		if code < 400 {
			t.Fatalf("PATCH /v1/tenant answered %d: %v", code, out)
		}
		s.unchanged(t, before, local.DemoAdmin.ID, "tenant update")
	})
}

// FuzzCreateRequest sends arbitrary POST /v1/requests bodies as a
// requester. A request the policies deny is recorded (403 policy_denied);
// any other refusal stores nothing. Seeds are in
// testdata/fuzz/FuzzCreateRequest.
func FuzzCreateRequest(f *testing.F) {
	s := newFuzzServer(f)
	f.Add([]byte(`{"resource":{"type":"aws_account","id":"123456789012"},"action":"ReadOnly","duration_seconds":3600,"justification":"INC-1"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		before := s.state(t, local.DemoRequester2.ID)
		code, out := s.call(t, http.MethodPost, "/v1/requests", s.tenant.Keys.Requester2, body)
		if code == http.StatusCreated || code == http.StatusForbidden && out["code"] == string(access.CodePolicyDenied) {
			return
		}
		if code < 400 {
			t.Fatalf("POST /v1/requests answered %d: %v", code, out)
		}
		s.unchanged(t, before, local.DemoRequester2.ID, "request")
	})
}
