package access

import (
	"context"
	"fmt"
	"time"
)

// A request may name starts_at, when its access begins. Approved before
// then, its grant is scheduled: it has no assignments, and a one-time
// schedule (Scheduler.ScheduleStart) moves it to provisioning at StartsAt;
// the sweeper starts one whose schedule was lost. Its ExpiresAt counts from
// activation, as for any grant. Revoked or cancelled before it starts, it
// ends without Identity Center ever being called.

// validateStartsAt checks a request's starts_at: in the future, and at most
// the tenant's max_start_ahead_seconds ahead. Break-glass access is for now,
// never for later.
func validateStartsAt(v Violations, t Tenant, in CreateRequestInput, now time.Time) {
	if in.StartsAt.IsZero() {
		return
	}
	ahead := t.Settings.StartAhead()
	switch {
	case in.BreakGlass:
		v.Add("starts_at", "is not allowed with break_glass: break-glass access begins at once")
	case !in.StartsAt.After(now):
		v.Add("starts_at", "must be in the future (now is %s)", now.UTC().Format(time.RFC3339))
	case in.StartsAt.Sub(now) > ahead:
		v.Add("starts_at", "must be at most %d seconds ahead, this tenant's max_start_ahead_seconds", int64(ahead/time.Second))
	}
}

// startsIn is how long after at r's access begins (0 when at once).
func startsIn(r Request, at time.Time) int64 {
	if r.StartsAt.IsZero() || !r.StartsAt.After(at) {
		return 0
	}
	return int64(r.StartsAt.Sub(at) / time.Second)
}

// scheduled reports whether r's grant, made at now, waits for its start.
func (r Request) scheduled(now time.Time) bool {
	return !r.StartsAt.IsZero() && r.StartsAt.After(now)
}

// startGrant hands a new grant to its workflow: a scheduled one gets its
// start schedule, any other is provisioned. A failure is reported; the
// sweeper picks the work up.
func (s *core) startGrant(ctx context.Context, g Grant) {
	if g.Status == GrantScheduled {
		if err := s.scheduler.ScheduleStart(ctx, g); err != nil {
			s.report(ctx, Problem{ProblemSchedule, fmt.Sprintf("schedule the start of grant %s; the sweeper starts it after %s", g.ID, g.StartsAt.UTC().Format(time.RFC3339)), err})
		}
		return
	}
	if err := s.workflow.StartProvisioning(ctx, g); err != nil {
		s.report(ctx, Problem{ProblemWorkflow, "start provisioning of grant " + g.ID, err})
	}
}

// StartGrant begins provisioning a scheduled grant whose start time came. It
// is the start schedule's target: a grant that is not scheduled any more, or
// a schedule of an older generation, is a no-op; one that fires early is
// scheduled again.
func (s *Steps) StartGrant(ctx context.Context, tenantID, grantID string, generation int64) (Grant, error) {
	return s.startScheduled(ctx, tenantID, grantID, generation)
}

func (s *core) startScheduled(ctx context.Context, tenantID, grantID string, generation int64) (Grant, error) {
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return Grant{}, err
	}
	started := false
	g, err := retry(func() (Grant, error) {
		started = false
		g, err := s.loadGrant(ctx, tenantID, grantID)
		if err != nil || g.Status != GrantScheduled || g.Generation != generation {
			return g, err
		}
		now := s.clock()
		if now.Add(5 * time.Second).Before(g.StartsAt) {
			return g, s.scheduler.ScheduleStart(ctx, g) // fired early: try again on time
		}
		if err := g.transition(GrantProvisioning, now); err != nil {
			return g, err
		}
		g.Revision++
		sys := systemActor(t.ID)
		c := Change{Grants: []Grant{g}, Audit: []AuditEvent{s.audit(t, sys, now, AuditGrantStarted, "grant", g.ID, SeverityInfo, map[string]any{
			"request_id": g.RequestID, "starts_at": g.StartsAt.UTC().Format(time.RFC3339),
		})}}
		if err := s.commit(ctx, c); err != nil {
			return g, err
		}
		started = true
		return g, nil
	})
	if err != nil || !started {
		return g, err
	}
	if err := s.workflow.StartProvisioning(ctx, g); err != nil {
		return g, fmt.Errorf("start provisioning of grant %s: %w", g.ID, err)
	}
	return g, nil
}

// revokeScheduled ends a grant before its start: it has no assignments, so
// it is revoked at once, and its start schedule is deleted. extra is written
// in the same change (the cancelled request).
func (s *core) revokeScheduled(ctx context.Context, t Tenant, g Grant, actor Principal, reasoning string, extra Change, idem *Idempotency) (Grant, error) {
	now := s.clock()
	if err := g.transition(GrantRevoked, now); err != nil {
		return g, err
	}
	g.Revision++
	g.EndReason, g.EndingAt, g.RevokedAt = EndRevocation, now, now
	g.RevokedBy, g.Reasoning = actor.ID, reasoning
	c := extra
	c.Grants = append(c.Grants, g)
	c.Audit = append(c.Audit, s.audit(t, actor, now, AuditGrantRevoked, "grant", g.ID, SeverityInfo, map[string]any{
		"revoked_by": g.RevokedBy, "reasoning": reasoning, "before_start": true,
	}))
	withIdempotency(&c, idem, now, Outcome{Grant: &g})
	if err := s.commit(ctx, c); err != nil {
		return g, committed(err)
	}
	if err := s.scheduler.CancelStart(ctx, g); err != nil {
		s.report(ctx, Problem{ProblemSchedule, "cancel the start of grant " + g.ID, err}) // a stale start is a no-op
	}
	return g, nil
}
