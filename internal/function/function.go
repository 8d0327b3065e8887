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
	// Tenants name IANA time zones; Lambda's provided.al2023 image has no
	// zoneinfo, so every binary embeds it.
	_ "time/tzdata"

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
// functions/). A missing or malformed setting stops it at start with a
// message naming the variable.
func Run(name string, providers ...Provider) {
	logs := logHandler()
	h, err := Handler(context.Background(), name, os.Getenv, logs, providers...)
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

// Handler builds the handler of a function: an API Gateway (HTTP API,
// payload 2.0) handler for API functions, a typed workflow handler for the
// others. It reads the function's environment (deploy.Variables) through
// getenv, which is os.Getenv outside tests, logs to logs, and builds its
// adapters with the providers of its needs.
func Handler(ctx context.Context, name string, getenv func(string) string, logs slog.Handler, providers ...Provider) (any, error) {
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
	if fn.Route != "" {
		h := api.New(api.Config{Service: w.service, Auth: w.Auth, Cursors: w.Cursors, Logger: log, Limiter: w.Limiter})
		return apiHandler(fn, h, log, w.Refresh), nil
	}
	h := workflow.Handlers{Steps: w.steps, Tokens: w.steps, Resumer: w.Resumer, Sweeper: meteredSweeper{w.operator, w.meter}, Log: log}
	switch fn.Name {
	case "wf-attach-token":
		return h.AttachToken, nil
	case "wf-expire-request":
		return h.ExpireRequest, nil
	case "wf-provision":
		return h.Provision, nil
	case "wf-deprovision":
		return h.Deprovision, nil
	case "expiry":
		return h.Expire, nil
	case "sweeper":
		return h.Sweep, nil
	case "sweeper-tenant":
		return sweepTenants(meteredSweeper{w.operator, w.meter}, log), nil
	}
	return nil, fmt.Errorf("function %q has no handler", fn.Name)
}

// apiHandler serves one API route through the shared HTTP handler. A call
// for another route (a misconfigured integration) is refused with 404, in
// the API's error shape and through its middleware. refresh, if not nil,
// runs first.
func apiHandler(fn deploy.Function, h http.Handler, log *slog.Logger, refresh func(context.Context)) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	adapter := httpadapter.NewV2(h)
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if refresh != nil {
			refresh(ctx)
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
