// Package httpcall is what every HTTP call Elevate serves gets, whatever
// serves it (the API, the OpenAPI document's own function, a console): a
// request id, the security headers, recovery from a panic and one access
// log line. It imports only the standard library.
package httpcall

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"sync"
	"time"
)

// Middleware gives every call what the API's calls get: a request id (the
// caller's X-Request-ID when it is well formed, else a new one) in the
// response and in every log line of the call, the security headers
// (nosniff; no-store unless the handler says otherwise), recovery from a
// panic (panicked writes the answer, when nothing was written yet), and one
// access log line.
func Middleware(log *slog.Logger, next http.Handler, panicked func(w http.ResponseWriter, r *http.Request)) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		reqID := r.Header.Get("X-Request-ID")
		if !requestIDPattern().MatchString(reqID) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			reqID = hex.EncodeToString(b[:])
		}
		h := w.Header()
		h.Set("X-Request-ID", reqID)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		attrs := &logAttrs{attrs: []slog.Attr{slog.String("request_id", reqID)}}
		r = r.WithContext(context.WithValue(r.Context(), logAttrsKey{}, attrs))
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				log.LogAttrs(r.Context(), slog.LevelError, "panic serving request", append(attrs.list(), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))...)
				if rec.status == 0 {
					panicked(rec, r)
				}
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request", append(attrs.list(),
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))...)
		}()
		next.ServeHTTP(rec, r)
	})
}

// requestIDPattern accepts the request ids clients and API Gateway send
// (HTTP API ids are base64 and end in "=").
var requestIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._:=+/-]{1,128}$`) })

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// logAttrs collects attributes for the access log line as a call learns them.
type logAttrs struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

type logAttrsKey struct{}

func (l *logAttrs) list() []slog.Attr {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]slog.Attr(nil), l.attrs...)
}

// SetLogAttrs adds attributes to the call's access log line (and LogAttrs).
func SetLogAttrs(ctx context.Context, attrs ...slog.Attr) {
	if l, ok := ctx.Value(logAttrsKey{}).(*logAttrs); ok {
		l.mu.Lock()
		l.attrs = append(l.attrs, attrs...)
		l.mu.Unlock()
	}
}

// LogAttrs returns the attributes (request id, tenant, principal) known for
// a call, for logs written while serving it.
func LogAttrs(ctx context.Context) []slog.Attr {
	if l, ok := ctx.Value(logAttrsKey{}).(*logAttrs); ok {
		return l.list()
	}
	return nil
}

// WriteError answers in the API's error shape ({"code", "message"}), for
// handlers that link nothing of package api (the document, the console).
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, message})
}
