package webconsole_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/elevate-jit/elevate/internal/console"
	"github.com/elevate-jit/elevate/internal/function/webconsole"
)

// The function serves the page and the hashed assets on its two routes,
// with the CSP on every answer, and refuses any other route.
func TestConsoleFunction(t *testing.T) {
	h := webconsole.Handler(func(string) string { return "" }, slog.DiscardHandler)
	call := func(route, path string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: route, RawPath: path,
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path}}}
		res, err := h(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if res.Headers["Content-Security-Policy"] != console.CSP {
			t.Errorf("%s %s: CSP %q", route, path, res.Headers["Content-Security-Policy"])
		}
		return res
	}
	page := call("GET /", "/")
	if page.StatusCode != 200 || page.Headers["Cache-Control"] != "no-store" || !strings.Contains(page.Body, "/console/assets/app.") {
		t.Fatalf("GET / = %d %v", page.StatusCode, page.Headers)
	}
	asset := console.New().AssetPath("app.js")
	if res := call("GET /console/{proxy+}", asset); res.StatusCode != 200 || !strings.Contains(res.Headers["Cache-Control"], "immutable") {
		t.Fatalf("GET %s = %d %v", asset, res.StatusCode, res.Headers)
	}
	if res := call("GET /console/{proxy+}", "/console/callback"); res.StatusCode != 200 {
		t.Fatalf("GET /console/callback = %d", res.StatusCode)
	}
	if res := call("GET /v1/grants", "/v1/grants"); res.StatusCode != 404 || !strings.Contains(res.Body, "not_found") {
		t.Fatalf("another route = %d %s", res.StatusCode, res.Body)
	}
}
