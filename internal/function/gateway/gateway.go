// Package gateway holds what every API function does with API Gateway's
// events before serving them, and the log level filter every function
// applies. It links no part of the domain, so the openapi function (docs)
// shares it with the others.
package gateway

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
)

// Prepare readies an HTTP API event for serving: headers are never nil, and
// a call without X-Request-ID gets API Gateway's request id as its own.
func Prepare(ev *events.APIGatewayV2HTTPRequest) {
	if ev.Headers == nil {
		ev.Headers = map[string]string{}
	}
	if _, ok := ev.Headers["x-request-id"]; !ok && ev.RequestContext.RequestID != "" {
		ev.Headers["x-request-id"] = ev.RequestContext.RequestID
	}
}

// MinLevel drops records below min (ELEVATE_LOG_LEVEL).
func MinLevel(h slog.Handler, min slog.Level) slog.Handler { return leveled{h, min} }

type leveled struct {
	slog.Handler
	min slog.Level
}

func (l leveled) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= l.min && l.Handler.Enabled(ctx, level)
}

func (l leveled) WithAttrs(as []slog.Attr) slog.Handler {
	return leveled{l.Handler.WithAttrs(as), l.min}
}

func (l leveled) WithGroup(name string) slog.Handler {
	return leveled{l.Handler.WithGroup(name), l.min}
}
