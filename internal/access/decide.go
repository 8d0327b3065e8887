package access

import (
	"context"
	"strings"
	"time"
)

// Approve records the caller's approval of a pending request. Once the
// request has the approvals its policies asked for, it is approved and its
// grant is provisioned. Nobody approves a request they made or will receive.
func (s *Service) Approve(ctx context.Context, p Principal, id, reasoning string, idem *Idempotency) (Request, error) {
	return s.decide(ctx, p, id, reasoning, idem, true)
}

// Deny ends a pending request; one deny is enough, whatever the quorum.
func (s *Service) Deny(ctx context.Context, p Principal, id, reasoning string, idem *Idempotency) (Request, error) {
	return s.decide(ctx, p, id, reasoning, idem, false)
}

func (s *core) decide(ctx context.Context, p Principal, id, reasoning string, idem *Idempotency, approve bool) (Request, error) {
	verb := "deny"
	if approve {
		verb = "approve"
	}
	// Below the approver role, only a member of the group a request
	// escalated to may decide it, once it has escalated.
	roleErr := requireRole(p, RoleApprover, "deciding requests")
	if roleErr != nil && !s.escalatedTo(ctx, p, id) {
		return Request{}, roleErr
	}
	if p.IsService() {
		return Request{}, Errorf(CodeForbidden, "a service principal cannot %s requests", verb)
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Request{}, err
	}
	v := Violations{}
	// A deny must say why, unless the tenant's admins chose otherwise: the
	// requester reads it.
	if !approve && !t.Settings.DenyReasoningOptional && strings.TrimSpace(reasoning) == "" {
		v.Add("reasoning", "is required to deny a request: the requester reads why (the tenant setting deny_requires_reasoning)")
	}
	validateText(v, "reasoning", reasoning, MaxReasoning, false)
	if err := v.Err(); err != nil {
		return Request{}, err
	}
	approver, err := s.resolveCaller(ctx, t, p)
	if err != nil {
		return Request{}, err
	}
	var grant, extended *Grant
	r, err := retry(func() (Request, error) {
		grant, extended = nil, nil
		r, err := s.getRequest(ctx, t.ID, id)
		if err != nil {
			return r, err
		}
		if r.Involves(approver) {
			return r, Errorf(CodeForbidden, "you cannot %s a request you made or will receive", verb)
		}
		now := s.clock()
		if roleErr != nil && !escalatedMember(p, r, now) {
			return r, roleErr
		}
		if err := s.pendingOrExpire(ctx, t, &r, now); err != nil {
			return r, err
		}
		if r.ForwardedAway(p.ID) {
			return r, Errorf(CodeForbidden, "you forwarded this request to %s, who decides it now", r.Assignee())
		}
		dec, err := s.mayDecide(ctx, t, p, approver, r, now)
		if err != nil {
			return r, err
		}
		if !dec.Allowed {
			return r, &Error{Code: CodeForbidden, Message: "the tenant's policies do not let you " + verb + " this request", Notices: dec.Notices}
		}
		if approve && r.ApprovedBy(approver) {
			return r, Errorf(CodeConflict, "you have already approved this request; it needs %d more approval(s)", r.ApprovalsRequired-len(r.Approvals))
		}

		c := Change{}
		r.Revision++
		r.UpdatedAt = now
		action := AuditRequestDenied
		switch {
		case !approve:
			if err := r.transition(RequestDenied, now); err != nil {
				return r, err
			}
			r.DecidedBy, r.DecidedAt, r.Reasoning = p.ID, now, reasoning
		default:
			r.Approvals = append(r.Approvals, Approval{ApproverID: p.ID, ApproverUserID: approver.UserID, Reasoning: reasoning, At: now})
			action = AuditRequestApprovalRecorded
			if len(r.Approvals) >= r.ApprovalsRequired && r.ExtendsGrantID != "" {
				r.DecidedBy, r.DecidedAt, r.Reasoning = p.ID, now, reasoning
				g, events, err := s.approveExtension(ctx, t, p, &r, now)
				if err != nil {
					return r, err
				}
				action = AuditRequestApproved
				if g != nil {
					extended = g
					c.Grants, c.Touched = []Grant{*g}, touchedBy(*g, now)
				} else {
					action = AuditRequestApprovalRecorded
				}
				c.Audit = append(c.Audit, events...)
			} else if len(r.Approvals) >= r.ApprovalsRequired {
				if err := r.transition(RequestApproved, now); err != nil {
					return r, err
				}
				action = AuditRequestApproved
				r.DecidedBy, r.DecidedAt, r.Reasoning = p.ID, now, reasoning
				grant = s.grantFor(r, now)
				r.GrantID = grant.ID
				c.Grants = []Grant{*grant}
				c.Audit = append(c.Audit, s.audit(t, p, now, AuditGrantCreated, "grant", grant.ID, SeverityInfo, map[string]any{"request_id": r.ID}))
			}
		}
		c.Requests = []Request{r}
		c.Audit = append([]AuditEvent{s.audit(t, p, now, action, "request", r.ID, SeverityInfo, map[string]any{
			"reasoning": reasoning, "approvals": len(r.Approvals), "approvals_required": r.ApprovalsRequired,
		})}, c.Audit...)
		withIdempotency(&c, idem, now, Outcome{Request: &r})
		return r, committed(s.commit(ctx, c))
	})
	if err != nil {
		return Request{}, err
	}
	if extended != nil {
		s.rescheduleExpiry(ctx, *extended)
	}
	if grant != nil && grant.Status == GrantScheduled {
		s.startGrant(ctx, *grant)
	}
	if r.Status != RequestPending {
		s.endApproval(ctx, r)
	}
	return r, nil
}

// escalatedTo reports whether request id of p's tenant has escalated to a
// group p is in.
func (s *core) escalatedTo(ctx context.Context, p Principal, id string) bool {
	if !p.Role.AtLeast(RoleRequester) || p.IsService() {
		return false
	}
	r, err := s.store.GetRequest(ctx, p.TenantID, id)
	return err == nil && escalatedMember(p, r, s.clock())
}

// Cancel withdraws the caller's own pending request, or an approved one
// whose grant has not started yet (that grant is revoked at once, and never
// reaches Identity Center).
func (s *Service) Cancel(ctx context.Context, p Principal, id string, idem *Idempotency) (Request, error) {
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Request{}, err
	}
	r, err := retry(func() (Request, error) {
		r, err := s.visibleRequest(ctx, t, p, id)
		if err != nil {
			return r, err
		}
		if !p.Person().Is(r.Requester()) {
			return r, Errorf(CodeForbidden, "only the requester can cancel a request")
		}
		now := s.clock()
		if r.Status == RequestApproved && r.GrantID != "" && r.ExtendsGrantID == "" {
			return s.cancelScheduled(ctx, t, p, r, idem)
		}
		if err := s.pendingOrExpire(ctx, t, &r, now); err != nil {
			return r, err
		}
		r.Revision++
		if err := r.transition(RequestCancelled, now); err != nil {
			return r, err
		}
		r.DecidedBy, r.DecidedAt, r.Reasoning = p.ID, now, "Cancelled by the requester"
		c := Change{Requests: []Request{r}, Audit: []AuditEvent{s.audit(t, p, now, AuditRequestCancelled, "request", r.ID, SeverityInfo, nil)}}
		withIdempotency(&c, idem, now, Outcome{Request: &r})
		return r, committed(s.commit(ctx, c))
	})
	if err != nil {
		return Request{}, err
	}
	if r.GrantID == "" { // an approved request's wait ended when it was approved
		s.endApproval(ctx, r)
	}
	return r, nil
}

// cancelScheduled cancels an approved request whose grant is still
// scheduled, revoking the grant in the same write.
func (s *core) cancelScheduled(ctx context.Context, t Tenant, p Principal, r Request, idem *Idempotency) (Request, error) {
	g, err := s.loadGrant(ctx, t.ID, r.GrantID)
	if err != nil {
		return r, err
	}
	if g.Status != GrantScheduled {
		return r, &Error{Code: CodeRequestNotPending, Message: "request is approved and its grant is " + string(g.Status) + ": revoke the grant instead",
			Details: map[string]any{"grant_id": g.ID}}
	}
	now := s.clock()
	r.Revision++
	if err := r.transition(RequestCancelled, now); err != nil {
		return r, err
	}
	r.UpdatedAt = now
	r.Reasoning = "Cancelled by the requester before the access started"
	c := Change{Requests: []Request{r}, Audit: []AuditEvent{s.audit(t, p, now, AuditRequestCancelled, "request", r.ID, SeverityInfo, map[string]any{"grant_id": g.ID})}}
	withIdempotency(&c, idem, now, Outcome{Request: &r})
	_, err = s.revokeScheduled(ctx, t, g, p, r.Reasoning, c, nil)
	return r, err
}

// ExpireRequest ends a request whose approval window passed without a
// decision. It is the approval wait's timeout; a request that was decided in
// the meantime is returned unchanged, so the caller can tell who won.
func (s *Steps) ExpireRequest(ctx context.Context, tenantID, id string) (Request, error) {
	r, err := s.expireStaleRequest(ctx, tenantID, id)
	if err == nil && r.Status == RequestExpired {
		s.cancelNudges(ctx, r)
	}
	return r, err
}

func (s *core) expireStaleRequest(ctx context.Context, tenantID, id string) (Request, error) {
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return Request{}, err
	}
	return retry(func() (Request, error) {
		r, err := s.getRequest(ctx, tenantID, id)
		if err != nil || r.Status != RequestPending {
			return r, err
		}
		now := s.clock()
		if now.Add(5 * time.Second).Before(r.ApprovalExpiresAt) {
			return r, nil // fired early: the window is still open
		}
		return r, s.expireRequest(ctx, t, &r, now)
	})
}

// pendingOrExpire fails unless r is pending within its approval window. A
// pending request found past its window is expired on the spot, so a lost or
// late timer never lets it be approved.
func (s *core) pendingOrExpire(ctx context.Context, t Tenant, r *Request, now time.Time) error {
	if r.Status != RequestPending {
		return &Error{Code: CodeRequestNotPending, Message: "request is " + string(r.Status) + ", not pending"}
	}
	if r.ApprovalExpiresAt.IsZero() || now.Before(r.ApprovalExpiresAt) {
		return nil
	}
	if err := s.expireRequest(ctx, t, r, now); err != nil {
		return err
	}
	s.endApproval(ctx, *r)
	return &Error{Code: CodeRequestNotPending, Message: "request expired: its approval window ended at " + r.ApprovalExpiresAt.Format(time.RFC3339)}
}

func (s *core) expireRequest(ctx context.Context, t Tenant, r *Request, now time.Time) error {
	r.Revision++
	if err := r.transition(RequestExpired, now); err != nil {
		return err
	}
	r.DecidedAt = now
	r.Reasoning = "The approval window ended before the request was decided"
	sys := systemActor(t.ID)
	return s.commit(ctx, Change{Requests: []Request{*r}, Audit: []AuditEvent{s.audit(t, sys, now, AuditRequestExpired, "request", r.ID, SeverityInfo, nil)}})
}

// getRequest loads a request of the tenant.
func (s *core) getRequest(ctx context.Context, tenantID, id string) (Request, error) {
	r, err := s.store.GetRequest(ctx, tenantID, id)
	return r, notFound("request", err)
}

// visibleRequest loads a request the caller may see: requesters see the
// requests they made or will receive; approvers and admins see all. Others
// get not_found, exactly as if it did not exist.
func (s *core) visibleRequest(ctx context.Context, t Tenant, p Principal, id string) (Request, error) {
	r, err := s.getRequest(ctx, t.ID, id)
	if err != nil {
		return r, err
	}
	// Below the approver role: one's own requests, and a pending request
	// that escalated to one's group (which one may now decide).
	if !p.Role.AtLeast(RoleApprover) && !r.VisibleTo(p) && !(r.Status == RequestPending && escalatedMember(p, r, s.clock())) {
		return Request{}, NotFound("request")
	}
	return r, nil
}

// trimReasoning normalizes a reasoning text.
func trimReasoning(s string) string { return strings.TrimSpace(s) }
