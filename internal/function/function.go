// Package function runs Elevate's Lambda functions: it reads the
// configuration the stack set (the deployment contract, internal/deploy),
// builds only the adapters the function's needs allow and serves
// invocations. A function's main is one line that names the function and
// the providers of its needs (needs.go), which it alone links:
// function.Run("requests-get", table.Provider, ratelimit.Provider). The
// mains are generated from the contract (internal/function/needs).
package function

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/api"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function/gateway"
	"github.com/elevate-jit/elevate/internal/workflow"
)

// Run runs the Lambda function of that name (a directory under
// functions/), serving what serves builds: its API route (Route) or its
// workflow step (Provision, Expiry, …). A missing or malformed setting
// stops it at start with a message naming the variable.
func Run(name string, serves Serves, providers ...Provider) {
	logs := logHandler()
	h, err := handler(context.Background(), name, serves, os.Getenv, logs, providers)
	if err != nil {
		slog.New(logs).Error("cannot start", "function", name, "error", err)
		fmt.Fprintf(os.Stderr, "elevate %s: %v\n", name, err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// logHandler is the handler every function logs through: lambdacontext's,
// which writes one JSON object per line when Lambda's log format is JSON
// (AWS_LAMBDA_LOG_FORMAT, as the stack sets it), with the keys "timestamp",
// "level" (DEBUG, INFO, WARN, ERROR), "message" and the invocation's
// "requestId", at the level Lambda gives (AWS_LAMBDA_LOG_LEVEL). Both are
// read once, when the process starts.
func logHandler() slog.Handler { return lambdacontext.NewLogHandler() }

// Serves builds a function's Lambda handler from its wiring. A function's
// main names its own (Route(api.RequestsGet()), Provision, …), so that its
// binary links that handler and what it calls, not the other functions'.
type Serves func(w *Wiring) (any, error)

// Route serves one API route: an API Gateway (HTTP API, payload 2.0)
// handler. The route must be the function's own.
func Route(r api.Route) Serves {
	return func(w *Wiring) (any, error) {
		if r.Pattern != w.Function.Route {
			return nil, fmt.Errorf("function %s serves %q, not the route %q", w.Function.Name, w.Function.Route, r.Pattern)
		}
		h := api.NewRoute(api.Config{Service: w.service, Auth: w.Auth, Cursors: w.Cursors, Logger: w.Log, Limiter: w.Limiter}, r)
		return apiHandler(w.Function, h, w.Log, w.Refresh), nil
	}
}

// The workflow steps' handlers: the state machine's tasks, the expiry
// schedules' target and the sweepers.

func WfAttachToken(w *Wiring) (any, error)   { return w.workflow().AttachToken, nil }
func WfExpireRequest(w *Wiring) (any, error) { return w.workflow().ExpireRequest, nil }
func WfProvision(w *Wiring) (any, error)     { return w.workflow().Provision, nil }
func WfDeprovision(w *Wiring) (any, error)   { return w.workflow().Deprovision, nil }
func Expiry(w *Wiring) (any, error)          { return w.workflow().Expire, nil }
func Sweeper(w *Wiring) (any, error)         { return w.workflow().Sweep, nil }
func SweeperTenant(w *Wiring) (any, error) {
	return sweepTenants(meteredSweeper{w.operator, w.meter}, w.Log), nil
}

// EventsPublish serves the outbox: it publishes the audit events the
// table's stream brings (publishEvents).
func EventsPublish(w *Wiring) (any, error) {
	if w.Ports.Publisher == nil || w.Outbox == nil {
		return nil, fmt.Errorf("function %s needs an event bus and the table's stream", w.Function.Name)
	}
	return publishEvents(w.Ports.Publisher, w.Outbox, w.Log), nil
}

// workflow is the workflow steps' handlers on this wiring.
func (w *Wiring) workflow() workflow.Handlers {
	return workflow.Handlers{Steps: w.steps, Tokens: w.steps, Resumer: w.Resumer, Sweeper: meteredSweeper{w.operator, w.meter}, Log: w.Log}
}

// Handler builds the handler of the function of that name with what it
// serves (ServesOf). It reads the function's environment (deploy.Variables)
// through getenv, which is os.Getenv outside tests, logs to logs, and
// builds its adapters with the providers of its needs. Run does the same
// with the Serves its main names; Handler, which links every function's,
// is for tests and tools.
func Handler(ctx context.Context, name string, getenv func(string) string, logs slog.Handler, providers ...Provider) (any, error) {
	serves, err := ServesOf(name)
	if err != nil {
		return nil, err
	}
	return HandlerWith(ctx, name, serves, getenv, logs, providers...)
}

// HandlerWith is Handler with what the function serves given: for the
// functions with mains of their own (openapi, console), which this package
// does not link.
func HandlerWith(ctx context.Context, name string, serves Serves, getenv func(string) string, logs slog.Handler, providers ...Provider) (any, error) {
	return handler(ctx, name, serves, getenv, logs, providers)
}

// ServesOf is what the function of that name serves: its API route or its
// workflow step.
func ServesOf(name string) (Serves, error) {
	fn, ok := deploy.FunctionByName(name)
	if !ok {
		return nil, fmt.Errorf("no function %q in the inventory", name)
	}
	if fn.Route != "" {
		for _, r := range api.AllRoutes() {
			if r.Pattern == fn.Route {
				return Route(r), nil
			}
		}
		return nil, fmt.Errorf("function %q serves no route of the API (%s): it has a main of its own", name, fn.Route)
	}
	steps := map[string]Serves{
		"wf-attach-token": WfAttachToken, "wf-expire-request": WfExpireRequest,
		"wf-provision": WfProvision, "wf-deprovision": WfDeprovision,
		"expiry": Expiry, "sweeper": Sweeper, "sweeper-tenant": SweeperTenant,
		"events-publish": EventsPublish,
	}
	if s, ok := steps[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("function %q has no handler", name)
}

func handler(ctx context.Context, name string, serves Serves, getenv func(string) string, logs slog.Handler, providers []Provider) (any, error) {
	fn, ok := deploy.FunctionByName(name)
	if !ok {
		return nil, fmt.Errorf("no function %q in the inventory", name)
	}
	e := newEnv(fn, getenv)
	var level slog.Level
	if v := e.get(deploy.EnvLogLevel); v != "" && level.UnmarshalText([]byte(v)) == nil {
		logs = gateway.MinLevel(logs, level)
	}
	log := slog.New(logs)
	w, err := wire(ctx, fn, e, log, providers)
	if err != nil {
		return nil, err
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	return serves(w)
}

// apiHandler serves one API route through the shared HTTP handler. A call
// for another route (a misconfigured integration) is refused with 404, in
// the API's error shape and through its middleware. refresh, if not nil,
// runs first, and what it returns runs last.
func apiHandler(fn deploy.Function, h http.Handler, log *slog.Logger, refresh func(context.Context) func()) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	adapter := httpadapter.NewV2(h)
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if refresh != nil {
			if after := refresh(ctx); after != nil {
				defer after()
			}
		}
		gateway.Prepare(&ev)
		if ev.RouteKey != fn.Route && ev.RouteKey != "$default" {
			notServed := api.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				api.WriteError(w, r, log, access.Errorf(access.CodeNotFound, "this function does not serve %s", ev.RouteKey))
			}))
			return httpadapter.NewV2(notServed).ProxyWithContext(ctx, ev)
		}
		return adapter.ProxyWithContext(ctx, ev)
	}
}
