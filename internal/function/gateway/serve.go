package gateway

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/elevate-jit/elevate/internal/api/httpcall"
	"github.com/elevate-jit/elevate/internal/deploy"
)

// Serve is the Lambda handler of a function that serves h and links
// nothing of the domain (the document, the console): it reads
// ELEVATE_LOG_LEVEL through getenv, logs to logs, gives every call what the
// API's calls get (httpcall.Middleware), and refuses a route key not in
// routes (a misconfigured integration) with 404 in the API's error shape.
// header, if not nil, adds the function's own headers to every answer,
// refusals and panics included.
func Serve(getenv func(string) string, logs slog.Handler, routes []string, h http.Handler, header func(http.Header)) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	var level slog.Level
	if v := getenv(deploy.EnvLogLevel); v != "" && level.UnmarshalText([]byte(v)) == nil {
		logs = MinLevel(logs, level)
	}
	log := slog.New(logs)
	if header == nil {
		header = func(http.Header) {}
	}
	panicked := func(w http.ResponseWriter, _ *http.Request) {
		header(w.Header())
		httpcall.WriteError(w, http.StatusInternalServerError, "internal", "internal error")
	}
	served := map[string]bool{"$default": true}
	for _, r := range routes {
		served[r] = true
	}
	serve := httpadapter.NewV2(httpcall.Middleware(log, h, panicked))
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		Prepare(&ev)
		if !served[ev.RouteKey] {
			notServed := httpcall.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				header(w.Header())
				httpcall.WriteError(w, http.StatusNotFound, "not_found", "this function does not serve "+ev.RouteKey)
			}), panicked)
			return httpadapter.NewV2(notServed).ProxyWithContext(ctx, ev)
		}
		return serve.ProxyWithContext(ctx, ev)
	}
}
