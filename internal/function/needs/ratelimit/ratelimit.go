// Package ratelimit provides the need rate-limit: the API's limits per
// tenant and per caller, counted in the table so that they hold across
// containers, with each container's own bucket as the backstop when the
// table cannot be reached.
package ratelimit

import (
	"context"

	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function"
	"github.com/elevate-jit/elevate/internal/function/needs/table"
	limits "github.com/elevate-jit/elevate/internal/ratelimit"
)

// Provider serves rate-limit.
var Provider = function.Provider{Name: "ratelimit", Needs: []deploy.Need{deploy.NeedRateLimit}, Provide: provide}

func provide(w *function.Wiring) error {
	perTenant, err := w.Integer(deploy.EnvRatePerTenant)
	if err != nil {
		return err
	}
	perPrincipal, err := w.Integer(deploy.EnvRatePerPrincipal)
	if err != nil {
		return err
	}
	log := w.Log
	w.Limiter = limits.New(limits.Config{PerTenant: perTenant, PerPrincipal: perPrincipal, Shared: table.Store(w),
		Report: func(ctx context.Context, err error) {
			log.WarnContext(ctx, "rate limit: the shared counter failed; limiting in this container only", "error", err)
		}})
	return nil
}
