// Package docs is the openapi function: it serves GET /openapi.json with
// what every API call gets (httpcall: request id, security headers, access
// log) and links nothing of the domain, the authenticator or the AWS SDK,
// so it starts about as fast as a hello-world function.
package docs

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/elevate-jit/elevate/internal/api/httpcall"
	"github.com/elevate-jit/elevate/internal/api/spec"
	"github.com/elevate-jit/elevate/internal/function/gateway"
)

// Route is the one route the function serves.
const Route = "GET /openapi.json"

// Run starts the function.
func Run() { lambda.Start(Handler(os.Getenv, lambdacontext.NewLogHandler())) }

// Handler is the function's handler; it reads ELEVATE_LOG_LEVEL through
// getenv and logs to logs.
func Handler(getenv func(string) string, logs slog.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	mux := http.NewServeMux()
	mux.HandleFunc(Route, spec.Serve)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/openapi.json" {
			w.Header().Set("Allow", "GET, HEAD")
			httpcall.WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on /openapi.json; use GET")
			return
		}
		httpcall.WriteError(w, http.StatusNotFound, "not_found", "no such path: "+r.Method+" "+r.URL.Path)
	})
	return gateway.Serve(getenv, logs, []string{Route}, mux, nil)
}
