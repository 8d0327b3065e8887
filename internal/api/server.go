// Package api is Elevate's HTTP API: routes, authentication of each call,
// decoding and validation of the wire format, idempotency, pagination
// cursors, and the one mapping from domain error codes to HTTP statuses. The
// same handler serves the local server and every API Lambda; Middleware
// gives a handler mounted beside it the same request ids, headers, recovery
// and access log.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/ratelimit"
)

// Authenticator resolves the caller of a call from its headers.
type Authenticator interface {
	Authenticate(ctx context.Context, tenantHeader, apiKeyHeader, authorizationHeader string) (access.Principal, error)
}

// Sealer seals and opens pagination cursors. Its keys may have to be read
// first (a Lambda function reads them from Secrets Manager while its first
// call runs), so both may fail for want of them: that error has no API code
// and is answered as internal.
type Sealer interface {
	Seal(ctx context.Context, b cursor.Binding, position []byte, expires time.Time) (string, error)
	Open(ctx context.Context, b cursor.Binding, c string, now time.Time) ([]byte, error)
}

// Keys is a Sealer of keys at hand.
func Keys(s *cursor.Sealer) Sealer { return keys{s} }

type keys struct{ s *cursor.Sealer }

func (k keys) Seal(_ context.Context, b cursor.Binding, position []byte, expires time.Time) (string, error) {
	return k.s.Seal(b, position, expires), nil
}

func (k keys) Open(_ context.Context, b cursor.Binding, c string, now time.Time) ([]byte, error) {
	return k.s.Open(b, c, now)
}

// Config wires the API.
type Config struct {
	Service *access.Service
	Auth    Authenticator
	Cursors Sealer
	Logger  *slog.Logger
	Now     func() time.Time
	// CursorTTL is how long a cursor stays valid (default 24 h).
	CursorTTL time.Duration
	// Limiter, when set, is asked before each authenticated call.
	Limiter Limiter
}

// Limiter rate-limits callers: it reports whether p may make one more call
// now, and if not, how long to wait (ratelimit.Limiter).
type Limiter interface {
	Allow(ctx context.Context, p access.Principal) (ok bool, retryAfter time.Duration)
}

// API is the HTTP handler of Elevate.
type API struct {
	svc       *access.Service
	auth      Authenticator
	cursors   Sealer
	log       *slog.Logger
	now       func() time.Time
	cursorTTL time.Duration
	limiter   Limiter
	mux       *http.ServeMux
	handler   http.Handler // the mux behind routing and Middleware

	inflightMu sync.Mutex
	inflight   map[access.IdempotencyScope]bool
}

// New builds the API handler with every route, the document and the health
// check: the local server's handler.
func New(c Config) *API {
	a := newAPI(c)
	a.mux.HandleFunc("GET /openapi.json", a.openAPI)
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	for _, r := range AllRoutes() {
		a.handle(r)
	}
	return a.finish()
}

// NewRoute builds the API handler of one route: an API function's, which
// links that route's handler and what it calls, and nothing of the others.
func NewRoute(c Config, r Route) *API {
	a := newAPI(c)
	a.handle(r)
	return a.finish()
}

func newAPI(c Config) *API {
	a := &API{
		svc: c.Service, auth: c.Auth, cursors: c.Cursors, log: c.Logger, now: c.Now,
		cursorTTL: c.CursorTTL, limiter: c.Limiter, mux: http.NewServeMux(),
		inflight: map[access.IdempotencyScope]bool{},
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.cursorTTL <= 0 {
		a.cursorTTL = 24 * time.Hour
	}
	return a
}

// finish adds the answer to a path no route serves and the middleware.
func (a *API) finish() *API {
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, a.log, access.Errorf(access.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path))
	})
	a.handler = Middleware(a.log, a.Routes())
	return a
}

// Body size limits (the API contract: 256 KiB for policies, less elsewhere).
const (
	maxBody       = 64 << 10
	maxPolicyBody = 256 << 10
)

// handlerFunc is an authenticated handler: it returns an error instead of
// writing one, so errors are mapped in one place.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p access.Principal) error

// handle registers an authenticated route. Its role is checked before
// anything of the call is read, so authorization comes before validation.
func (a *API) handle(rt Route) {
	if rt.public != nil {
		a.mux.HandleFunc(rt.Pattern, rt.public(a))
		return
	}
	h := rt.serve(a)
	a.mux.HandleFunc(rt.Pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := a.auth.Authenticate(r.Context(), r.Header.Get("X-Tenant-ID"), r.Header.Get("X-API-Key"), r.Header.Get("Authorization"))
		if err != nil {
			WriteError(w, r, a.log, err)
			return
		}
		if a.limiter != nil {
			if ok, wait := a.limiter.Allow(r.Context(), p); !ok {
				w.Header().Set("Retry-After", ratelimit.RetryAfter(wait))
				WriteError(w, r, a.log, access.Errorf(access.CodeRateLimited, "too many requests for your key or your tenant; retry after %s seconds", ratelimit.RetryAfter(wait)))
				return
			}
		}
		setLogAttrs(r.Context(), slog.String("tenant_id", p.TenantID), slog.String("principal_id", p.ID))
		if err := access.RequireRole(p, rt.role, rt.what); err != nil {
			WriteError(w, r, a.log, err)
			return
		}
		if err := h(w, r, p); err != nil {
			WriteError(w, r, a.log, err)
		}
	})
}

// ServeHTTP serves a call through Middleware.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Routes is the API without Middleware, to mount beside other handlers
// (such as a web console) that share one Middleware:
//
//	mux.Handle("/v1/", a.Routes())
//	mux.Handle("/openapi.json", a.Routes())
//	http.ListenAndServe(addr, api.Middleware(log, mux))
func (a *API) Routes() http.Handler { return http.HandlerFunc(a.route) }

// route serves a call: a path that is not clean is not found, a known path
// with another method is not allowed, and everything else goes to the mux.
func (a *API) route(w http.ResponseWriter, r *http.Request) {
	if clean := path.Clean(r.URL.Path); clean != r.URL.Path && r.URL.Path != "/" {
		// ServeMux would redirect to the clean path with an HTML body.
		WriteError(w, r, a.log, access.Errorf(access.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path))
		return
	}
	if _, pattern := a.mux.Handler(r); pattern == "/" || pattern == "" {
		// A known path with another method: say which methods it takes.
		if allow := a.allowed(r); allow != "" {
			w.Header().Set("Allow", allow)
			WriteError(w, r, a.log, &access.Error{Code: access.CodeMethodNotAllowed, Message: r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + allow})
			return
		}
	}
	a.mux.ServeHTTP(w, r)
}

// allowed lists the methods a path takes, or "" for an unknown path.
func (a *API) allowed(r *http.Request) string {
	var out string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := a.mux.Handler(probe); pattern != "" && pattern != "/" {
			if out != "" {
				out += ", "
			}
			out += m
		}
	}
	return out
}
