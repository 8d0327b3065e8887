// Package webconsole is the console function: it serves the web console
// (internal/console) at GET / and GET /console/{proxy+} of the HTTP API,
// same origin as the API, with what every API call gets (httpcall: request
// id, headers, access log). Like the openapi function it links nothing of
// the domain, the authenticator or the AWS SDK: the page calls the API with
// the signed-in person's own credential.
package webconsole

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

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
	var routes []string
	if f, ok := deploy.FunctionByName(Name); ok {
		routes = f.Routes()
	}
	return gateway.Serve(getenv, logs, routes, console.New(), func(h http.Header) { h.Set("Content-Security-Policy", console.CSP) })
}
