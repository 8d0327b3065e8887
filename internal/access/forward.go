package access

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// MaxForwardComment bounds a forward's comment.
const MaxForwardComment = 1024

// ForwardInput is a forward of a pending request to another approver.
type ForwardInput struct {
	To      string
	Comment string
}

// Forward hands a pending request to another approver (docs/design.md,
// "Forwarding"). The caller is an approver the policies let decide it, or an
// admin; the forwardee is a known user the approve policies permit (by id
// alone), never the caller, the requester, the grantee or the one it is taken
// from. The one it is taken from (the last forwardee, else the caller) no
// longer decides it unless it comes back to them; approvals already given
// stay.
func (s *Service) Forward(ctx context.Context, p Principal, id string, in ForwardInput, idem *Idempotency) (Request, error) {
	if err := requireRole(p, RoleApprover, "forwarding requests"); err != nil {
		return Request{}, err
	}
	if p.IsService() {
		return Request{}, Errorf(CodeForbidden, "a service principal cannot forward requests")
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Request{}, err
	}
	in.Comment = strings.TrimSpace(in.Comment)
	v := Violations{}
	validateUserID(v, "to", in.To)
	validateText(v, "comment", in.Comment, MaxForwardComment, false)
	if in.To == p.ID {
		v.Add("to", "must be someone other than you")
	}
	if err := v.Err(); err != nil {
		return Request{}, err
	}
	caller, err := s.resolveCaller(ctx, t, p)
	if err != nil {
		return Request{}, err
	}
	uid, err := s.ic.ResolveUser(ctx, t, in.To)
	switch {
	case errors.Is(err, ErrUserNotFound):
		return Request{}, Invalid("to", "%q has no active Identity Center user (matched by %s)", in.To, t.Boundary.IdentityMapping)
	case err != nil:
		return Request{}, fmt.Errorf("resolve forwardee %s: %w", in.To, err)
	}
	forwardee := Person{Kind: PrincipalUser, ID: in.To, UserID: uid}
	if forwardee.Same(caller) {
		return Request{}, Invalid("to", "must be someone other than you")
	}
	// The forwardee is seen by id alone: Elevate knows a person's groups
	// only when they call.
	as := Principal{TenantID: t.ID, ID: in.To, Kind: PrincipalUser, Role: RoleApprover}
	r, err := retry(func() (Request, error) {
		r, err := s.getRequest(ctx, t.ID, id)
		if err != nil {
			return r, err
		}
		if r.Involves(caller) {
			return r, Errorf(CodeForbidden, "you cannot forward a request you made or will receive")
		}
		now := s.clock()
		if err := s.pendingOrExpire(ctx, t, &r, now); err != nil {
			return r, err
		}
		if !p.Role.AtLeast(RoleAdmin) {
			if r.ForwardedAway(p.ID) {
				return r, Errorf(CodeForbidden, "you forwarded this request to %s; only they (or an admin) can forward it now", r.Assignee())
			}
			dec, err := s.mayDecide(ctx, t, p, caller, r, now)
			if err != nil {
				return r, err
			}
			if !dec.Allowed {
				return r, &Error{Code: CodeForbidden, Message: "the tenant's policies do not let you decide this request, so you cannot forward it", Notices: dec.Notices}
			}
		}
		from := r.Assignee()
		if from == "" {
			from = p.ID
		}
		switch {
		case in.To == from:
			return r, Invalid("to", "the request is already with %s", in.To)
		case r.Involves(forwardee):
			return r, Invalid("to", "must not be the request's requester or grantee")
		case r.ApprovedBy(forwardee):
			return r, Invalid("to", "%s has already approved this request", in.To)
		}
		dec, err := s.mayDecide(ctx, t, as, forwardee, r, now)
		if err != nil {
			return r, err
		}
		if !dec.Allowed {
			return r, &Error{Code: CodeValidationFailed, Message: "the request cannot be forwarded to " + in.To,
				Details: map[string]any{"to": "the tenant's policies do not let " + in.To + " decide this request"}, Notices: dec.Notices}
		}
		r.ForwardHistory = append(r.ForwardHistory, Forward{From: from, To: in.To, By: p.ID, Comment: in.Comment, At: now})
		r.Revision++
		r.UpdatedAt = now
		c := Change{Requests: []Request{r}, Audit: []AuditEvent{s.audit(t, p, now, AuditRequestForwarded, "request", r.ID, SeverityInfo, map[string]any{
			"from": from, "to": in.To, "comment": in.Comment, "forwards": len(r.ForwardHistory),
		})}}
		withIdempotency(&c, idem, now, Outcome{Request: &r})
		return r, committed(s.commit(ctx, c))
	})
	if err != nil {
		return Request{}, err
	}
	return r, nil
}
