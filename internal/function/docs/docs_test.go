package docs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/elevate-jit/elevate/internal/api/spec"
	"github.com/elevate-jit/elevate/internal/function/docs"
)

func event(route, method, path string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{RouteKey: route, RawPath: path}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = method, path
	ev.RequestContext.RequestID = "Wc0lkHtKoAMEVlQ="
	return ev
}

func TestHandler(t *testing.T) {
	var logs bytes.Buffer
	h := docs.Handler(func(string) string { return "" }, slog.NewJSONHandler(&logs, nil))
	for _, tc := range []struct {
		name       string
		ev         events.APIGatewayV2HTTPRequest
		status     int
		wantCode   string
		wantCached bool
	}{
		{"the document", event(docs.Route, "GET", "/openapi.json"), http.StatusOK, "", true},
		{"another route", event("GET /v1/requests", "GET", "/v1/requests"), http.StatusNotFound, "not_found", false},
		{"another path on $default", event("$default", "GET", "/v1/tenant"), http.StatusNotFound, "not_found", false},
		{"another method", event("$default", "POST", "/openapi.json"), http.StatusMethodNotAllowed, "method_not_allowed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h(context.Background(), tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, res.Body)
			}
			if got := res.Headers["X-Request-Id"] + res.Headers["X-Request-ID"]; got != "Wc0lkHtKoAMEVlQ=" {
				t.Errorf("X-Request-ID %q, want API Gateway's request id (headers %v)", got, res.Headers)
			}
			if res.Headers["X-Content-Type-Options"] != "nosniff" {
				t.Errorf("no nosniff header: %v", res.Headers)
			}
			if tc.wantCached != strings.Contains(res.Headers["Cache-Control"], "max-age=300") {
				t.Errorf("Cache-Control %q", res.Headers["Cache-Control"])
			}
			switch {
			case tc.status == http.StatusOK && res.Body != string(spec.JSON):
				t.Error("the body is not the document")
			case tc.wantCode != "":
				var e struct{ Code, Message string }
				if err := json.Unmarshal([]byte(res.Body), &e); err != nil || e.Code != tc.wantCode || e.Message == "" {
					t.Errorf("error body %s, want code %s", res.Body, tc.wantCode)
				}
			}
		})
	}
	if !strings.Contains(logs.String(), `"request_id":"Wc0lkHtKoAMEVlQ="`) {
		t.Errorf("no access log line with the request id: %s", logs.String())
	}
}
