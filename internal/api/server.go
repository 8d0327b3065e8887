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

// Sealer seals and opens pagination cursors.
type Sealer interface {
	Seal(b cursor.Binding, position []byte, expires time.Time) string
	Open(b cursor.Binding, c string, now time.Time) ([]byte, error)
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

// New builds the API handler with every route.
func New(c Config) *API {
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
	a.routes()
	a.handler = Middleware(a.log, a.Routes())
	return a
}

// Body size limits (the API contract: 256 KiB for policies, less elsewhere).
const (
	maxBody       = 64 << 10
	maxPolicyBody = 256 << 10
)

func (a *API) routes() {
	a.mux.HandleFunc("GET /openapi.json", a.openAPI)
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})

	a.handle("POST /v1/requests", access.RoleRequester, "requesting access", a.createRequest)
	a.handle("GET /v1/requests", access.RoleRequester, "reading requests", a.listRequests)
	a.handle("GET /v1/requests/{id}", access.RoleRequester, "reading requests", a.getRequest)
	a.handle("POST /v1/requests/{id}/approve", access.RoleApprover, "deciding requests", a.approveRequest)
	a.handle("POST /v1/requests/{id}/deny", access.RoleApprover, "deciding requests", a.denyRequest)
	a.handle("POST /v1/requests/{id}/cancel", access.RoleRequester, "cancelling requests", a.cancelRequest)
	a.handle("POST /v1/requests/{id}/forward", access.RoleApprover, "forwarding requests", a.forwardRequest)
	a.handle("GET /v1/approvals/pending", access.RoleApprover, "the approvals inbox", a.listPendingApprovals)

	a.handle("GET /v1/grants", access.RoleRequester, "reading grants", a.listGrants)
	a.handle("POST /v1/grants", access.RoleAdmin, "granting access directly", a.createGrant)
	a.handle("GET /v1/grants/{id}", access.RoleRequester, "reading grants", a.getGrant)
	a.handle("POST /v1/grants/{id}/revoke", access.RoleRequester, "revoking grants", a.revokeGrant)
	a.handle("POST /v1/grants/{id}/extend", access.RoleRequester, "extending grants", a.extendGrant)

	a.handle("GET /v1/catalog", access.RoleRequester, "reading the catalog", a.getCatalog)
	a.handle("PUT /v1/catalog", access.RoleAdmin, "changing the catalog", a.putCatalog)
	a.handle("GET /v1/tenant", access.RoleAdmin, "reading tenant settings", a.getTenant)
	a.handle("PATCH /v1/tenant", access.RoleAdmin, "changing tenant settings", a.patchTenant)

	a.handle("POST /v1/api-keys", access.RoleAdmin, "managing API keys", a.createAPIKey)
	a.handle("GET /v1/api-keys", access.RoleAdmin, "managing API keys", a.listAPIKeys)
	a.handle("GET /v1/api-keys/{id}", access.RoleAdmin, "managing API keys", a.getAPIKey)
	a.handle("DELETE /v1/api-keys/{id}", access.RoleAdmin, "managing API keys", a.deleteAPIKey)

	a.handle("GET /v1/audit-events", access.RoleAdmin, "reading the audit trail", a.listAuditEvents)

	a.handle("GET /v1/policies", access.RoleApprover, "reading policies", a.getPolicies)
	a.handle("PUT /v1/policies", access.RoleAdmin, "changing policies", a.putPolicies)
	a.handle("GET /v1/policies/versions/{n}", access.RoleApprover, "reading policies", a.getPolicyVersion)
	a.handle("POST /v1/policies/evaluate", access.RoleAdmin, "evaluating policies", a.evaluatePolicies)

	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, a.log, access.Errorf(access.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path))
	})
}

// handlerFunc is an authenticated handler: it returns an error instead of
// writing one, so errors are mapped in one place.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p access.Principal) error

// handle registers an authenticated route that callers of at least role min
// may call; what names it in the refusal. The role is checked before
// anything of the call is read, so authorization comes before validation.
func (a *API) handle(pattern string, min access.Role, what string, h handlerFunc) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
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
		if err := access.RequireRole(p, min, what); err != nil {
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
