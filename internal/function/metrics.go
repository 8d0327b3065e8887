package function

import (
	"context"
	"log/slog"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/metrics"
)

// meter turns what the domain and the adapters tell the function into the
// on-call metrics (internal/metrics). A metric line that cannot be written
// is logged and dropped: a figure never fails the work it measures.
type meter struct {
	m   *metrics.Writer
	log *slog.Logger
}

func (m meter) put(ctx context.Context, name metrics.Name, value float64, props map[string]string) {
	if err := m.m.Put(name, value, props); err != nil {
		m.log.WarnContext(ctx, "cannot write a metric", "metric", string(name), "error", err)
	}
}

// observe is the domain's Observe hook: the time from approval to active,
// the revocation latency and failed grants.
func (m meter) observe(ctx context.Context, g access.Grant) {
	props := map[string]string{"tenant_id": g.TenantID, "grant_id": g.ID}
	switch g.Status {
	case access.GrantActive:
		m.put(ctx, metrics.ApprovalToActive, millis(g.GrantedAt.Sub(g.CreatedAt)), props)
	case access.GrantExpired, access.GrantRevoked:
		// Access should have ended at the expiry, or when it was revoked.
		start := g.EndingAt
		if g.EndReason == access.EndExpiry && !g.ExpiresAt.IsZero() && g.ExpiresAt.Before(start) {
			start = g.ExpiresAt
		}
		if start.IsZero() {
			return // ended before the grant recorded when it began ending
		}
		m.put(ctx, metrics.RevocationLatency, millis(g.UpdatedAt.Sub(start)), props)
	case access.GrantFailed:
		m.put(ctx, metrics.GrantsFailed, 1, props)
	}
}

// counting passes every reported problem on to report and counts the
// failed session cuts (metrics.SessionCutFailures).
func (m meter) counting(report func(context.Context, access.Problem)) func(context.Context, access.Problem) {
	return func(ctx context.Context, p access.Problem) {
		report(ctx, p)
		if p.Kind == access.ProblemSessionCutFailed {
			m.put(ctx, metrics.SessionCutFailures, 1, nil)
		}
	}
}

// throttled is the Identity Center adapter's Throttled hook.
func (m meter) throttled(ctx context.Context) {
	m.put(ctx, metrics.IdentityCenterThrottles, 1, nil)
}

func millis(d time.Duration) float64 { return float64(max(d, 0).Milliseconds()) }

// sweeper is what the sweeper handlers run.
type sweeper interface {
	Sweep(ctx context.Context) (access.SweepReport, error)
	SweepTenant(ctx context.Context, tenantID string) (access.SweepReport, error)
}

// meteredSweeper counts a sweep's repairs: what it finished that the
// workflows did not.
type meteredSweeper struct {
	sweeper
	meter meter
}

func (s meteredSweeper) Sweep(ctx context.Context) (access.SweepReport, error) {
	rep, err := s.sweeper.Sweep(ctx)
	s.count(ctx, rep, nil)
	return rep, err
}

func (s meteredSweeper) SweepTenant(ctx context.Context, tenantID string) (access.SweepReport, error) {
	rep, err := s.sweeper.SweepTenant(ctx, tenantID)
	s.count(ctx, rep, map[string]string{"tenant_id": tenantID})
	return rep, err
}

// count writes a sweep's repairs and, when it found any, the break-glass
// reviews it announced overdue.
func (s meteredSweeper) count(ctx context.Context, rep access.SweepReport, props map[string]string) {
	s.meter.put(ctx, metrics.SweeperRepairs, float64(repairs(rep)), nil)
	if rep.ReviewsOverdue > 0 {
		s.meter.put(ctx, metrics.ReviewsOverdue, float64(rep.ReviewsOverdue), props)
	}
}

// repairs is the number of fixes in a sweep's report; collecting unused
// permission sets and reporting untracked assignments are routine, not
// repairs.
func repairs(r access.SweepReport) int {
	return r.GrantsExpired + r.GrantsRestarted + r.GrantsStarted + r.RequestsExpired + r.OrphansReleased + r.AssignmentsRepaired
}
