// Package webconsole is the console function: it serves the web console
// (internal/console) at GET / and GET /console/{proxy+} of the HTTP API,
// same origin as the API, with what every API call gets (httpcall: request
// id, headers, access log). Like the openapi function it links nothing of
// the domain, the authenticator or the AWS SDK: the page calls the API with
// the signed-in person's own credential.
package webconsole

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
	"github.com/elevate-jit/elevate/internal/console"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function/gateway"
)

// Name is the function's name in the deployment contract.
const Name = "console"

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
		w.Header().Set("Content-Security-Policy", console.CSP)
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
	routes := map[string]bool{"$default": true}
	if f, ok := deploy.FunctionByName(Name); ok {
		for _, r := range f.Routes() {
			routes[r] = true
		}
	}
	serve := httpadapter.NewV2(httpcall.Middleware(log, console.New(), panicked))
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		gateway.Prepare(&ev)
		if !routes[ev.RouteKey] {
			// A misconfigured integration: refused in the API's error shape.
			notServed := httpcall.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Security-Policy", console.CSP)
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
