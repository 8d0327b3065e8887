package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/elevate-jit/elevate/internal/api"
)

// TestMiddlewareBesideTheAPI mounts a handler beside the API's routes under
// one Middleware, as a web console would be: both get request ids, the
// security headers, recovery and an access log line.
func TestMiddlewareBesideTheAPI(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	mux := http.NewServeMux()
	mux.Handle("/openapi.json", api.New(api.Config{Logger: log}).Routes())
	mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/console/panic" {
			panic("console bug")
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!doctype html>"))
	})
	h := api.Middleware(log, mux)

	for _, tc := range []struct {
		path         string
		status       int
		cacheControl string
	}{
		{"/openapi.json", http.StatusOK, "public, max-age=300"},
		{"/console/", http.StatusOK, "no-store"},
		{"/console/panic", http.StatusInternalServerError, "no-store"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			logs.Reset()
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			r.Header.Set("X-Request-ID", "req-"+strings.Trim(tc.path, "/"))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			for header, want := range map[string]string{
				"X-Request-ID": r.Header.Get("X-Request-ID"), "X-Content-Type-Options": "nosniff", "Cache-Control": tc.cacheControl,
			} {
				if got := w.Header().Get(header); got != want {
					t.Errorf("%s = %q, want %q", header, got, want)
				}
			}
			if tc.status == http.StatusInternalServerError && !strings.Contains(w.Body.String(), `"code":"internal"`) {
				t.Errorf("a panic answered %s; want the internal error", w.Body)
			}
			var line struct {
				Msg       string `json:"msg"`
				RequestID string `json:"request_id"`
				Status    int    `json:"status"`
			}
			last := strings.TrimSpace(logs.String())
			last = last[strings.LastIndex(last, "\n")+1:]
			if err := json.Unmarshal([]byte(last), &line); err != nil || line.Msg != "request" || line.RequestID != r.Header.Get("X-Request-ID") || line.Status != tc.status {
				t.Errorf("access log line %s (%v)", last, err)
			}
		})
	}
}
