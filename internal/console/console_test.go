package console_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/elevate-jit/elevate/internal/console"
	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/local"
)

func testSealer(t *testing.T) *cursor.Sealer {
	t.Helper()
	s, err := cursor.ParseKeys("test:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Every console answer carries the CSP; the page is never cached, assets
// have hashed names and a year-long immutable cache, and the API still
// answers beside the console.
func TestConsoleHeaders(t *testing.T) {
	l := local.New(local.Config{Cursors: testSealer(t), Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(l.Close)
	srv := httptest.NewServer(l.Web)
	t.Cleanup(srv.Close)

	get := func(method, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	_, page := get("GET", "/")
	assets := regexp.MustCompile(`/console/assets/[a-z]+\.[0-9a-f]{12}\.(js|css)`).FindAllString(page, -1)
	if len(assets) != 2 {
		t.Fatalf("the page names assets %v", assets)
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "style=") || strings.Contains(page, "{{") {
		t.Fatal("the page has inline script or style, or an unreplaced asset name")
	}
	for _, c := range []struct {
		method, path string
		status       int
		cache        string
	}{
		{"GET", "/", 200, "no-store"},
		{"GET", "/console/", 200, "no-store"},
		{"GET", "/console/callback", 200, "no-store"},
		{"HEAD", "/console", 200, "no-store"},
		{"GET", assets[0], 200, "public, max-age=31536000, immutable"},
		{"GET", assets[1], 200, "public, max-age=31536000, immutable"},
		{"GET", "/console/assets/app.js", 404, "no-store"},
		{"GET", "/console/assets/nothing.0123456789ab.js", 404, "no-store"},
		{"POST", "/", 405, "no-store"},
		{"DELETE", "/console/", 405, "no-store"},
	} {
		res, body := get(c.method, c.path)
		if res.StatusCode != c.status || res.Header.Get("Cache-Control") != c.cache {
			t.Errorf("%s %s = %d, Cache-Control %q; want %d, %q", c.method, c.path, res.StatusCode, res.Header.Get("Cache-Control"), c.status, c.cache)
		}
		if csp := res.Header.Get("Content-Security-Policy"); csp != console.CSP || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s %s: CSP %q", c.method, c.path, csp)
		}
		if res.Header.Get("X-Request-Id") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s lacks the API's headers", c.method, c.path)
		}
		if c.status >= 400 && !strings.Contains(body, `"code"`) {
			t.Errorf("%s %s answers %q, not the API's error shape", c.method, c.path, body)
		}
	}
	// The types are the console's own, not the host's MIME database's.
	want := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	for _, a := range assets {
		if res, _ := get("GET", a); res.Header.Get("Content-Type") != want[path.Ext(a)] {
			t.Errorf("%s: content type %q, want %q", a, res.Header.Get("Content-Type"), want[path.Ext(a)])
		}
	}
	// The API beside it, untouched.
	if res, body := get("GET", "/healthz"); res.StatusCode != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %s", res.StatusCode, body)
	}
	if res, body := get("GET", "/v1/grants"); res.StatusCode != 400 || !strings.Contains(body, "invalid_tenant_id") {
		t.Errorf("/v1/grants without a tenant = %d %s", res.StatusCode, body)
	}
}
