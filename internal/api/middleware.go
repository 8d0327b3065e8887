package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/elevate-jit/elevate/internal/api/httpcall"
)

// Middleware gives every call what the API's calls get, so that another
// handler (a web console, say) can be served beside the API the same way:
// httpcall.Middleware, with a panic answered as a 500 internal error.
func Middleware(log *slog.Logger, next http.Handler) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return httpcall.Middleware(log, next, func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, log, errors.New("panic"))
	})
}

// LogAttrs returns the attributes (request id, tenant, principal) known for
// a call, for logs written while serving it.
func LogAttrs(ctx context.Context) []slog.Attr { return httpcall.LogAttrs(ctx) }

func setLogAttrs(ctx context.Context, attrs ...slog.Attr) { httpcall.SetLogAttrs(ctx, attrs...) }
