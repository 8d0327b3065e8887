package access

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/policy"
)

// ExtendGrantInput is what a caller asks to add to an active grant.
type ExtendGrantInput struct {
	DurationSeconds int64
	Justification   string
}

// noticeGrantEnded is the notice of an extension whose grant ended before
// it was approved.
const noticeGrantEnded = "The grant ended before the extension was approved; nothing was extended. Request new access instead."

// ExtendGrant asks for more time on an active grant: it records a request
// that extends the grant and decides it with the tenant's policies, which
// see context.extension, the grant's remaining time and its earlier
// extensions. An auto-approved extension moves the grant's expiry at once;
// one that needs approval waits like any request, and moves it when
// approved. The grantee asks, or someone who may see the grant (an admin)
// asks on their behalf. At most one extension of a grant is pending at a
// time (409 conflict); a grant that is not active cannot be extended (409
// grant_not_active); no grant lasts longer in all than the tenant's
// max_grant_lifetime_seconds (400 validation_failed on duration_seconds).
func (s *Service) ExtendGrant(ctx context.Context, p Principal, grantID string, in ExtendGrantInput, idem *Idempotency) (Request, error) {
	if err := requireRole(p, RoleRequester, "extending grants"); err != nil {
		return Request{}, err
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Request{}, err
	}
	if err := validateExtend(t, in); err != nil {
		return Request{}, err
	}
	g, err := s.visibleGrant(ctx, p, grantID)
	if err != nil {
		return Request{}, err
	}
	requester, grantee, err := s.resolveParties(ctx, t, p, g.GranteeID)
	if err != nil {
		return Request{}, err
	}
	ancestors, err := s.ic.Ancestors(ctx, t, g.Resource)
	if err != nil {
		return Request{}, err
	}
	set, err := s.policySet(ctx, t)
	if err != nil {
		return Request{}, err
	}
	var extended *Grant
	r, err := retry(func() (Request, error) {
		extended = nil
		g, err := s.loadGrant(ctx, t.ID, grantID)
		if err != nil {
			return Request{}, err
		}
		now := s.clock()
		if err := extendable(t, g, in.DurationSeconds, now); err != nil {
			return Request{}, err
		}
		if err := s.noPendingExtension(ctx, t, g, now); err != nil {
			return Request{}, err
		}
		r := Request{
			ID: s.newID(), TenantID: t.ID, RequesterID: p.ID, RequesterKind: p.Kind, GranteeID: g.GranteeID,
			RequesterUserID: requester.UserID, GranteeUserID: grantee.UserID,
			PermissionSetARN: g.PermissionSetARN, Resource: g.Resource, Action: g.Action,
			Justification: strings.TrimSpace(in.Justification), DurationSeconds: in.DurationSeconds,
			ExtendsGrantID: g.ID, PolicyVersion: t.PolicyVersion, Revision: 1, CreatedAt: now, UpdatedAt: now,
		}
		active, err := s.activeGrants(ctx, set, t.ID, g.GranteeID, g.ID)
		if err != nil {
			return Request{}, err
		}
		dec := s.decideExtension(set, t, p, &r, g, ancestors, active, now)
		r.Notices = dec.Notices

		c := Change{}
		switch applyDecision(&r, dec, t, now) {
		case RequestPending:
			g.PendingExtension = r.ID
			g.Revision++
			g.UpdatedAt = now
			c.Grants = []Grant{g}
		case RequestApproved:
			r.GrantID = g.ID
			ext := extend(g, r, now)
			extended = &ext
			c.Grants, c.Touched = []Grant{ext}, touchedBy(ext, now)
		}
		c.Requests = []Request{r}
		c.Audit = append(c.Audit, s.audit(t, p, now, AuditRequestCreated, "request", r.ID, SeverityInfo, createdDetails(r, dec)))
		if extended != nil {
			c.Audit = append(c.Audit, s.extendedEvent(t, p, *extended, r, g.ExpiresAt, now))
		}
		withIdempotency(&c, idem, now, Outcome{Request: &r})
		return r, committed(s.commit(ctx, c))
	})
	if err != nil {
		return Request{}, err
	}
	if extended != nil {
		s.rescheduleExpiry(ctx, *extended)
	}
	return s.afterRequest(ctx, r, nil)
}

// CheckExtend validates a would-be extension's body without making it (see
// CheckRequest).
func (s *Service) CheckExtend(ctx context.Context, p Principal, in ExtendGrantInput) error {
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return err
	}
	return validateExtend(t, in)
}

// validateExtend checks an extension's fields that do not depend on the
// grant.
func validateExtend(t Tenant, in ExtendGrantInput) error {
	v := Violations{}
	validateAsk(v, t, in.DurationSeconds, in.Justification)
	return v.Err()
}

// extendable fails unless g is active with time left, and adding seconds
// keeps it within the tenant's maximum grant lifetime.
func extendable(t Tenant, g Grant, seconds int64, now time.Time) error {
	if g.Status != GrantActive {
		return Errorf(CodeGrantNotActive, "grant is %s, not active: only an active grant can be extended", g.Status)
	}
	if !now.Before(g.ExpiresAt) {
		return Errorf(CodeGrantNotActive, "grant ended at %s: only an active grant can be extended", g.ExpiresAt.UTC().Format(time.RFC3339))
	}
	limit := t.Settings.GrantLifetime()
	start := g.GrantedAt
	if start.IsZero() {
		start = g.CreatedAt
	}
	if g.ExpiresAt.Add(time.Duration(seconds)*time.Second).Sub(start) > limit {
		left := max(int64((limit - g.ExpiresAt.Sub(start)).Seconds()), 0)
		return Invalid("duration_seconds", "would make the grant last longer than this tenant's maximum grant lifetime of %d seconds (max_grant_lifetime_seconds); it can be extended by at most %d seconds",
			int64(limit.Seconds()), left)
	}
	return nil
}

// noPendingExtension fails with conflict while the extension request g's
// marker names is pending within its approval window.
func (s *core) noPendingExtension(ctx context.Context, t Tenant, g Grant, now time.Time) error {
	if g.PendingExtension == "" {
		return nil
	}
	r, err := s.store.GetRequest(ctx, t.ID, g.PendingExtension)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case r.Status == RequestPending && now.Before(r.ApprovalExpiresAt):
		return &Error{Code: CodeConflict, Message: "an extension of this grant is already pending: request " + r.ID,
			Details: map[string]any{"request_id": r.ID}}
	}
	return nil
}

// decideExtension asks the tenant's policies about a would-be extension of
// g, given the grantee's other active grants, and records on r what they saw.
func (s *core) decideExtension(set *policy.Set, t Tenant, p Principal, r *Request, g Grant, ancestors []string, active []policy.ActiveGrant, at time.Time) policy.Decision {
	req := policyRequest(t, p, *r, ancestors, at)
	req.ActiveGrants = active
	req.Extension = &policy.Extension{
		RemainingSeconds:        max(int64(g.ExpiresAt.Sub(at).Seconds()), 0),
		Extensions:              int64(g.Extensions),
		OriginalDurationSeconds: g.DurationSeconds,
	}
	r.Context = decisionContext(t, req)
	return set.Decide(req)
}

// extend moves g's expiry later by r's duration, under a new generation.
// The grant keeps its assignments: there is no gap in access. Its expiry
// schedule is replaced once the grant is written (rescheduleExpiry): a
// schedule made before the write could lose a race to a concurrent change
// and leave a schedule the stored grant does not match.
func extend(g Grant, r Request, now time.Time) Grant {
	g.ExpiresAt = g.ExpiresAt.Add(r.Duration())
	g.Generation++
	g.Extensions++
	g.PendingExtension = ""
	g.Revision++
	g.UpdatedAt = now
	return g
}

// rescheduleExpiry replaces the expiry schedule of a grant just extended.
// The old schedule is of an older generation, so firing at the old time it
// does nothing; should replacing it fail, the sweeper ends the grant once its
// new expires_at has passed.
func (s *core) rescheduleExpiry(ctx context.Context, g Grant) {
	if err := s.scheduler.ScheduleExpiry(ctx, g); err != nil {
		s.report(ctx, Problem{ProblemSchedule, fmt.Sprintf("replace the expiry schedule of extended grant %s; the sweeper ends it at %s", g.ID, g.ExpiresAt.UTC().Format(time.RFC3339)), err})
	}
}

// touchedBy renews the records of the users an extended grant's
// assignments are for, so the sweeper keeps watching their assignments for
// as long as the grant now lasts (and touchedFor beyond).
func touchedBy(g Grant, now time.Time) []TouchedPrincipal {
	var out []TouchedPrincipal
	for _, a := range g.Assignments {
		if a.PrincipalID != "" {
			out = append(out, TouchedPrincipal{InstanceARN: a.InstanceARN, UserID: a.PrincipalID, ExpiresAt: now.Add(touchedFor)})
		}
	}
	return out
}

// extendedEvent is the grant.extended audit event (published with it).
func (s *core) extendedEvent(t Tenant, actor Principal, g Grant, r Request, previous time.Time, now time.Time) AuditEvent {
	return s.audit(t, actor, now, AuditGrantExtended, "grant", g.ID, SeverityInfo, map[string]any{
		"request_id": r.ID, "duration_seconds": r.DurationSeconds, "extensions": g.Extensions,
		"previous_expires_at": previous.UTC().Format(time.RFC3339), "expires_at": g.ExpiresAt.UTC().Format(time.RFC3339),
	})
}

// approveExtension completes an approved extension request inside decide:
// it extends the grant, or, when the grant ended meanwhile, fails the
// request with a notice. It returns the grant to write (nil when none) and
// the audit events to add.
func (s *core) approveExtension(ctx context.Context, t Tenant, p Principal, r *Request, now time.Time) (*Grant, []AuditEvent, error) {
	g, err := s.loadGrant(ctx, t.ID, r.ExtendsGrantID)
	if err != nil && CodeOf(err) != CodeNotFound {
		return nil, nil, err
	}
	if err != nil || g.Status != GrantActive || !now.Before(g.ExpiresAt) {
		if err := r.transition(RequestFailed, now); err != nil {
			return nil, nil, err
		}
		r.Notices = append(r.Notices, noticeGrantEnded)
		return nil, []AuditEvent{s.audit(t, p, now, AuditRequestFailed, "request", r.ID, SeverityInfo, map[string]any{
			"reason": "the grant ended before the extension was approved", "extends_grant_id": r.ExtendsGrantID,
		})}, nil
	}
	if err := r.transition(RequestApproved, now); err != nil {
		return nil, nil, err
	}
	r.GrantID = g.ID
	previous := g.ExpiresAt
	ext := extend(g, *r, now)
	return &ext, []AuditEvent{s.extendedEvent(t, p, ext, *r, previous, now)}, nil
}
