package access

import (
	"context"
	"fmt"
	"time"
)

// CreateGrantInput is an admin's direct grant.
type CreateGrantInput struct {
	GranteeID string
	Resource  Resource
	Action    string
	ExpiresAt time.Time
	Reasoning string
	Metadata  map[string]any
}

// CreateGrant gives access directly, without a request or policies: admins
// only, never to themselves, always ending at ExpiresAt within the tenant's
// maximum duration. The tenant boundary and protected accounts still apply.
// It is recorded as a high-severity audit event.
func (s *Service) CreateGrant(ctx context.Context, p Principal, in CreateGrantInput, idem *Idempotency) (Grant, error) {
	if err := requireRole(p, RoleAdmin, "granting access directly"); err != nil {
		return Grant{}, err
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Grant{}, err
	}
	now := s.clock()
	if err := validateDirectGrant(t, in, now); err != nil {
		return Grant{}, err
	}
	in.Resource = in.Resource.Normalize()
	caller, grantee, err := s.resolveParties(ctx, t, p, in.GranteeID)
	if err != nil {
		return Grant{}, err
	}
	if caller.Same(grantee) {
		return Grant{}, Errorf(CodeForbidden, "you cannot grant access to yourself; ask another admin or make a request")
	}
	ancestors, err := s.ic.Ancestors(ctx, t, in.Resource)
	if err != nil {
		return Grant{}, err
	}
	if err := s.checkTarget(t, in.Resource, ancestors); err != nil {
		return Grant{}, err
	}
	expires := in.ExpiresAt.UTC().Truncate(time.Microsecond)
	g := Grant{
		ID: s.newID(), TenantID: t.ID, GranteeID: in.GranteeID, GranteeUserID: grantee.UserID, CreatedBy: p.ID,
		PermissionSetARN: catalogPermissionSet(t.Catalog, in.Resource, in.Action), PolicyVersion: t.PolicyVersion,
		Resource: in.Resource, Action: in.Action, Status: GrantProvisioning,
		DurationSeconds: int64(expires.Sub(now).Seconds()), ExpiresAt: expires,
		Reasoning: in.Reasoning, Metadata: in.Metadata, Revision: 1, CreatedAt: now, UpdatedAt: now,
	}
	c := Change{Grants: []Grant{g}, Audit: []AuditEvent{s.audit(t, p, now, AuditGrantCreatedDirect, "grant", g.ID, SeverityHigh, map[string]any{
		"grantee_id": g.GranteeID, "resource_type": string(g.Resource.Type), "resource_id": g.Resource.ID,
		"action": g.Action, "expires_at": g.ExpiresAt.Format(time.RFC3339), "reasoning": in.Reasoning,
	})}}
	withIdempotency(&c, idem, now, Outcome{Grant: &g})
	if err := s.commit(ctx, c); err != nil {
		return Grant{}, committed(err)
	}
	if err := s.workflow.StartProvisioning(ctx, g); err != nil {
		s.report(ctx, Problem{ProblemWorkflow, "start provisioning of grant " + g.ID, err})
	}
	return g, nil
}

// validateDirectGrant checks a direct grant's fields.
func validateDirectGrant(t Tenant, in CreateGrantInput, now time.Time) error {
	v := Violations{}
	in.Resource.Validate("resource", v)
	validateAction(t.Catalog, in.Resource, in.Action, v)
	if in.GranteeID == "" {
		v.Add("grantee_id", "is required")
	} else {
		validateUserID(v, "grantee_id", in.GranteeID)
	}
	switch {
	case in.ExpiresAt.IsZero():
		v.Add("expires_at", "is required")
	case !in.ExpiresAt.After(now.Add(time.Minute)):
		v.Add("expires_at", "must be more than a minute in the future")
	case in.ExpiresAt.After(now.Add(t.Settings.MaxDuration)):
		v.Add("expires_at", "must be within this tenant's maximum duration of %d seconds", int64(t.Settings.MaxDuration.Seconds()))
	}
	validateText(v, "reasoning", in.Reasoning, MaxReasoning, true)
	validateMetadata(v, in.Metadata)
	return v.Err()
}

// CheckGrant validates a would-be direct grant without making it (see
// CheckRequest).
func (s *Service) CheckGrant(ctx context.Context, p Principal, in CreateGrantInput) error {
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return err
	}
	return validateDirectGrant(t, in, s.clock())
}

// RevokeGrant ends access now. Admins may revoke any grant, grantees their
// own; others get not_found. The grant is revoking until its assignments are
// gone, and only then revoked.
func (s *Service) RevokeGrant(ctx context.Context, p Principal, id, reasoning string, idem *Idempotency) (Grant, error) {
	v := Violations{}
	validateText(v, "reasoning", reasoning, MaxReasoning, false)
	if err := v.Err(); err != nil {
		return Grant{}, err
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Grant{}, err
	}
	return retry(func() (Grant, error) {
		g, err := s.visibleGrant(ctx, p, id)
		if err != nil {
			return g, err
		}
		if g.Status == GrantScheduled {
			return s.revokeScheduled(ctx, t, g, p, trimReasoning(reasoning), Change{}, idem)
		}
		if g.Status != GrantProvisioning && g.Status != GrantActive {
			return g, Errorf(CodeConflict, "grant is %s and cannot be revoked", g.Status)
		}
		return s.endGrantWith(ctx, t, g, p, EndRevocation, trimReasoning(reasoning), idem)
	})
}

// ExpireGrant ends a grant whose time is up. It is the expiry schedule's
// target: a grant that is not active any more, or a schedule of an older
// generation, is a no-op, so stale or repeated schedules do no harm.
func (s *Steps) ExpireGrant(ctx context.Context, tenantID, grantID string, generation int64) (Grant, error) {
	return s.expireGrant(ctx, tenantID, grantID, generation)
}

func (s *core) expireGrant(ctx context.Context, tenantID, grantID string, generation int64) (Grant, error) {
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return Grant{}, err
	}
	return retry(func() (Grant, error) {
		g, err := s.loadGrant(ctx, tenantID, grantID)
		if err != nil || g.Status != GrantActive || g.Generation != generation {
			return g, err
		}
		if now := s.clock(); now.Add(5 * time.Second).Before(g.ExpiresAt) {
			// Fired early (clock skew or a misconfigured schedule): try again on time.
			return g, s.scheduler.ScheduleExpiry(ctx, g)
		}
		return s.endGrant(ctx, t, g, systemActor(t.ID), EndExpiry, "")
	})
}

// endGrant moves a grant to revoking and starts taking its assignments away.
func (s *core) endGrant(ctx context.Context, t Tenant, g Grant, actor Principal, why EndReason, reasoning string) (Grant, error) {
	return s.endGrantWith(ctx, t, g, actor, why, reasoning, nil)
}

func (s *core) endGrantWith(ctx context.Context, t Tenant, g Grant, actor Principal, why EndReason, reasoning string, idem *Idempotency) (Grant, error) {
	now := s.clock()
	if err := g.transition(GrantRevoking, now); err != nil {
		return g, err
	}
	g.Revision++
	g.EndReason, g.EndingAt = why, now
	action := AuditGrantExpiring
	if why == EndRevocation {
		action = AuditGrantRevoking
		g.RevokedBy, g.Reasoning = actor.ID, reasoning
	}
	c := Change{Grants: []Grant{g}, Audit: []AuditEvent{s.audit(t, actor, now, action, "grant", g.ID, SeverityInfo, map[string]any{"reasoning": reasoning})}}
	withIdempotency(&c, idem, now, Outcome{Grant: &g})
	if err := s.commit(ctx, c); err != nil {
		return g, committed(err)
	}
	if why == EndRevocation {
		if err := s.scheduler.CancelExpiry(ctx, g); err != nil {
			s.report(ctx, Problem{ProblemSchedule, "cancel expiry of grant " + g.ID, err}) // a stale schedule is a no-op anyway
		}
	}
	if err := s.workflow.StartDeprovisioning(ctx, g); err != nil {
		s.report(ctx, Problem{ProblemWorkflow, fmt.Sprintf("start deprovisioning of grant %s", g.ID), err})
	}
	return g, nil
}
