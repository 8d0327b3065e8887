// Package local is Elevate in one process: the embedded store (or DynamoDB),
// the in-process workflow and expiry timers, and the recording Identity
// Center behind the HTTP API. The local server (elevate serve), the
// end-to-end tests and the load script build from it; it also seeds the demo
// tenants and opens the store the operator CLI writes to.
package local

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"time"
	// Tenants name IANA time zones; embedded, so the server runs where the
	// host has no zoneinfo (a scratch container).
	_ "time/tzdata"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/api"
	"github.com/elevate-jit/elevate/internal/auth"
	"github.com/elevate-jit/elevate/internal/clock"
	"github.com/elevate-jit/elevate/internal/console"
	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/identitycenter/recording"
	"github.com/elevate-jit/elevate/internal/ratelimit"
	"github.com/elevate-jit/elevate/internal/store/memstore"
	"github.com/elevate-jit/elevate/internal/workflow"
)

// Config configures an in-process Elevate.
type Config struct {
	// Store defaults to a new embedded (in-memory) store.
	Store access.Store
	// Cursors seals pagination cursors; required.
	Cursors *cursor.Sealer
	// Clock defaults to the system clock. Tests pass a fake one.
	Clock clock.Clock
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// ProtectedAccounts no grant may target.
	ProtectedAccounts []string
	// KeyCacheTTL bounds how long a looked-up API key is trusted (default 30 s).
	KeyCacheTTL time.Duration
	// JWKSClient fetches JWKS documents (tests inject one that trusts their server).
	JWKSClient *http.Client
	// AllowPrivateJWKS lets tenants name loopback or private JWKS hosts (a
	// local IdP); JWKSHosts is an allow-list of IdP hosts.
	AllowPrivateJWKS bool
	JWKSHosts        []string
	// Poll is the pause between provisioning steps (default 20 ms).
	Poll time.Duration
	// RateLimit, when positive, allows each caller this many calls a second,
	// and each tenant TenantRateLimit (default five times RateLimit); more
	// are answered 429 rate_limited.
	RateLimit       float64
	TenantRateLimit float64
	// SweepEvery runs the sweeper at this interval; 0 never does. In-process
	// timers die with the process, so a server on a lasting store needs it.
	SweepEvery time.Duration
}

// Server is a whole Elevate in one process: embedded store, in-process
// workflow and expiry timers, and a recording Identity Center; Handler
// serves its API.
type Server struct {
	Store    access.Store
	Service  *access.Service
	Steps    *access.Steps
	Operator *access.Operator
	Handler  *api.API
	// Web serves the console at / and /console/ beside the API, both
	// through the API's Middleware: what elevate serve serves.
	Web            http.Handler
	Workflow       *workflow.Local
	IdentityCenter *recording.IdentityCenter
	Clock          clock.Clock

	stopSweeps context.CancelFunc
	sweeps     chan struct{}
}

// New builds a local Elevate. Close it to stop its timers.
func New(c Config) *Server {
	if c.Store == nil {
		c.Store = memstore.New()
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	opts := []workflow.LocalOption{workflow.WithClock(c.Clock), workflow.WithLogger(c.Logger)}
	if c.Poll > 0 {
		opts = append(opts, workflow.WithPoll(c.Poll))
	}
	wf := workflow.NewLocal(opts...)
	ic := recording.New(c.Logger)
	cfg := access.Config{
		Store: c.Store, Workflow: wf, Scheduler: wf, IdentityCenter: ic, DB: ic,
		MintKey: auth.MintKey, ProtectedAccounts: c.ProtectedAccounts, Now: c.Clock.Now,
		JWKSHosts: c.JWKSHosts, AllowPrivateJWKS: c.AllowPrivateJWKS,
		Report: func(ctx context.Context, p access.Problem) {
			c.Logger.WarnContext(ctx, p.Message, "problem", string(p.Kind), "error", p.Err)
		},
	}
	svc, steps, op := access.NewService(cfg), access.NewSteps(cfg), access.NewOperator(cfg)
	wf.Bind(steps)
	authn := auth.New(auth.Config{Keys: c.Store, Tenants: c.Store, Now: c.Clock.Now, KeyCacheTTL: c.KeyCacheTTL, HTTPClient: c.JWKSClient,
		JWKSHosts: c.JWKSHosts, AllowPrivateJWKS: c.AllowPrivateJWKS})
	var limiter api.Limiter
	if c.RateLimit > 0 {
		tenant := c.TenantRateLimit
		if tenant <= 0 {
			tenant = 5 * c.RateLimit
		}
		limiter = ratelimit.New(ratelimit.Config{PerPrincipal: int(math.Ceil(c.RateLimit)), PerTenant: int(math.Ceil(tenant)), Now: c.Clock.Now})
	}
	h := api.New(api.Config{Service: svc, Auth: authn, Cursors: api.Keys(c.Cursors), Logger: c.Logger, Now: c.Clock.Now, Limiter: limiter})
	l := &Server{Store: c.Store, Service: svc, Steps: steps, Operator: op, Handler: h, Workflow: wf, IdentityCenter: ic, Clock: c.Clock,
		Web: Web(c.Logger, h)}
	if c.SweepEvery > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		l.stopSweeps, l.sweeps = cancel, make(chan struct{})
		go l.sweepLoop(ctx, c.SweepEvery, c.Logger)
	}
	return l
}

// Web is the console beside the API: / and /console/... go to the console,
// everything else to the API's routes, both through the API's Middleware.
func Web(log *slog.Logger, a *api.API) http.Handler {
	c := console.New()
	routes := a.Routes()
	return api.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if console.Serves(r.URL.Path) {
			c.ServeHTTP(w, r)
			return
		}
		routes.ServeHTTP(w, r)
	}))
}

// sweepLoop runs the sweeper until ctx ends.
func (l *Server) sweepLoop(ctx context.Context, every time.Duration, log *slog.Logger) {
	defer close(l.sweeps)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			rep, err := l.Operator.Sweep(ctx)
			if err != nil || len(rep.Problems) > 0 {
				log.WarnContext(ctx, "sweep found problems", "error", err, "problems", rep.Problems)
			} else if rep.GrantsExpired+rep.GrantsRestarted+rep.GrantsStarted+rep.RequestsExpired+rep.OrphansReleased+rep.AssignmentsMissing+rep.PermissionSetsGone > 0 {
				log.InfoContext(ctx, "sweep fixed work", "report", rep)
			}
		}
	}
}

// Close stops the sweeper and the in-process workflow.
func (l *Server) Close() {
	if l.stopSweeps != nil {
		l.stopSweeps()
		<-l.sweeps
	}
	l.Workflow.Close()
}
