package function

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/api"
	"github.com/elevate-jit/elevate/internal/auth"
	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/metrics"
	"github.com/elevate-jit/elevate/internal/workflow"
)

// A Provider builds the adapters some needs allow. Each lives in a package
// of its own under internal/function/needs, with the SDK clients it uses,
// and a function's main passes Run the providers of its needs only, so that
// its binary links nothing its needs do not allow (needs.For says which;
// `go generate ./internal/function/needs` writes the mains).
type Provider struct {
	// Name is the provider's package under internal/function/needs.
	Name string
	// Needs are the needs it serves.
	Needs []deploy.Need
	// Provide fills in the parts of the wiring its needs allow. It runs once
	// per function, whichever of its needs the function has.
	Provide func(w *Wiring) error
}

// Wiring is a function's dependency set, as its needs' providers fill it.
// A part no provider fills stays a refusal, so that a function that was
// routed a call it may not make fails loudly instead of touching what its
// IAM role forbids.
type Wiring struct {
	Context  context.Context
	Function deploy.Function
	Log      *slog.Logger

	// Ports are the domain's adapters. With a Store, the domain's services
	// are built from them once every provider ran; without one (openapi)
	// there are none.
	Ports access.Config
	// Auth authenticates API callers; Cursors seals pagination cursors and
	// Refresh, if not nil, runs before each API invocation (the cursor keys'
	// reads) and returns what runs after it, if anything.
	Auth    api.Authenticator
	Cursors api.Sealer
	Refresh func(context.Context) (after func())
	// Limiter is nil for a function without the rate-limit need.
	Limiter api.Limiter
	// Resumer resumes approval waits.
	Resumer workflow.Resumer
	// JWKSHosts is the operator's allow-list of identity provider hosts.
	JWKSHosts []string
	// Outbox decodes the items the table's stream brings (the need
	// table-stream).
	Outbox OutboxDecoder

	env    *env
	meter  meter
	shared map[string]any

	service  *access.Service
	steps    *access.Steps
	operator *access.Operator
}

// Getenv reads a variable of the function's environment: only those the
// contract gives it (deploy.Variables). A missing required one, or one the
// contract does not give, is reported when the function starts.
func (w *Wiring) Getenv(name string) string { return w.env.get(name) }

// Float reads an optional positive number, def when it is not set.
func (w *Wiring) Float(name string, def float64) (float64, error) { return w.env.float(name, def) }

// Integer reads a positive whole number; a missing one is reported when the
// function starts and reads as 0.
func (w *Wiring) Integer(name string) (int, error) { return w.env.integer(name) }

// Throttled is the Identity Center adapter's Throttled hook: it counts
// throttled calls in the on-call metrics.
func (w *Wiring) Throttled(ctx context.Context) { w.meter.throttled(ctx) }

// UseCursorKeys seals cursors with the keys load reads: first beside the
// container's first call (see cursorKeys), then again every few minutes,
// before an invocation.
func (w *Wiring) UseCursorKeys(load func(context.Context) (*cursor.Sealer, error)) {
	keys := newCursorKeys(w.Context, load, time.Now, w.Log)
	w.Cursors, w.Refresh = keys, keys.refresh
}

// Shared returns what build made for key in this wiring, building it on
// first use: an adapter that several providers use (the table, the AWS
// configuration) is built once.
func Shared[T any](w *Wiring, key string, build func() (T, error)) (T, error) {
	if v, ok := w.shared[key]; ok {
		return v.(T), nil
	}
	v, err := build()
	if err != nil {
		var zero T
		return zero, err
	}
	w.shared[key] = v
	return v, nil
}

// wire runs the providers of a function's needs. Every need must have a
// provider, and every provider must serve a need of the function: a main
// that passes another would link what the function may not use.
func wire(ctx context.Context, fn deploy.Function, e *env, log *slog.Logger, providers []Provider) (*Wiring, error) {
	for _, p := range providers {
		if !slices.ContainsFunc(p.Needs, fn.Has) {
			return nil, fmt.Errorf("function %s: the provider %s serves none of its needs", fn.Name, p.Name)
		}
	}
	for _, n := range fn.Needs {
		if !slices.ContainsFunc(providers, func(p Provider) bool { return slices.Contains(p.Needs, n) }) {
			return nil, fmt.Errorf("function %s: no provider for the need %q (regenerate its main: go generate ./internal/function/needs)", fn.Name, n)
		}
	}
	namespace := e.get(deploy.EnvMetricsNamespace)
	if namespace == "" {
		namespace = deploy.DefaultMetricsNamespace
	}
	m := meter{metrics.New(os.Stdout, namespace, time.Now), log}
	hosts := deploy.SplitList(e.get(deploy.EnvJWKSAllowedHosts))
	w := &Wiring{Context: ctx, Function: fn, Log: log, env: e, meter: m, shared: map[string]any{},
		Auth: refused{"authenticate"}, Cursors: refused{"paginate"}, Resumer: refused{"resume approval waits"},
		JWKSHosts: hosts,
		Ports: access.Config{
			MintKey: auth.MintKey, Workflow: refused{"start workflows"}, Scheduler: refused{"schedule expiries"},
			IdentityCenter: refused{"read the organization or Identity Center"},
			JWKSHosts:      hosts,
			Report:         m.counting(report(log)),
			Observe:        m.observe,
		},
	}
	for _, p := range providers {
		if err := p.Provide(w); err != nil {
			return nil, err
		}
	}
	if w.Ports.Store != nil {
		w.service, w.steps, w.operator = access.NewService(w.Ports), access.NewSteps(w.Ports), access.NewOperator(w.Ports)
	}
	return w, nil
}

// report logs a problem the domain reports, as a warning with its kind under
// deploy.ProblemKey: the stack's metric filters (deploy.ProblemFilter) match
// the kind, never the message.
func report(log *slog.Logger) func(context.Context, access.Problem) {
	return func(ctx context.Context, p access.Problem) {
		log.WarnContext(ctx, p.Message, deploy.ProblemKey, string(p.Kind), "error", p.Err)
	}
}
