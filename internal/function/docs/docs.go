// Package docs is the openapi function: it serves GET /openapi.json with
// what every API call gets (httpcall: request id, security headers, access
// log) and links nothing of the domain, the authenticator or the AWS SDK,
// so it starts about as fast as a hello-world function.
package docs

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/elevate-jit/elevate/internal/api/httpcall"
	"github.com/elevate-jit/elevate/internal/api/spec"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function/gateway"
)

// Route is the one route the function serves.
const Route = "GET /openapi.json"

// Run starts the function.
func Run() { lambda.Start(Handler(os.Getenv, lambdacontext.NewLogHandler())) }

// Handler is the function's handler; it reads ELEVATE_LOG_LEVEL through
// getenv and logs to logs.
func Handler(getenv func(string) string, logs slog.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	var level slog.Level
	if v := getenv(deploy.EnvLogLevel); v != "" && level.UnmarshalText([]byte(v)) == nil {
		logs = gateway.MinLevel(logs, level)
	}
	log := slog.New(logs)
	panicked := func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
	mux := http.NewServeMux()
	mux.HandleFunc(Route, spec.Serve)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/openapi.json" {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on /openapi.json; use GET")
			return
		}
		writeError(w, http.StatusNotFound, "not_found", "no such path: "+r.Method+" "+r.URL.Path)
	})
	serve := httpadapter.NewV2(httpcall.Middleware(log, mux, panicked))
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		gateway.Prepare(&ev)
		if ev.RouteKey != Route && ev.RouteKey != "$default" {
			// A misconfigured integration: refused in the API's error shape.
			notServed := httpcall.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				writeError(w, http.StatusNotFound, "not_found", "this function does not serve "+ev.RouteKey)
			}), panicked)
			return httpadapter.NewV2(notServed).ProxyWithContext(ctx, ev)
		}
		return serve.ProxyWithContext(ctx, ev)
	}
}

// writeError writes an answer in the API's error shape.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, message})
}
