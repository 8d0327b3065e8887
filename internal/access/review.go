package access

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Every break-glass grant is reviewed after the fact (docs/break-glass.md):
// its Review is pending from the moment the grant is made and due the
// tenant's break_glass_review_seconds later. An approver who could have
// approved the request had it needed approval, other than its requester and
// grantee, records justified or unjustified once. The sweeper announces a
// review still pending at its due time (review.overdue) once; it stays
// reviewable. An unjustified outcome, or the tenant's
// break_glass_suspend_after_overdue overdue reviews since the last lift,
// suspends the grantee's break-glass until an admin lifts it.

// ReviewStatus is where a break-glass grant's review is.
type ReviewStatus string

// The review statuses; a review is recorded once.
const (
	ReviewPending     ReviewStatus = "pending"
	ReviewJustified   ReviewStatus = "justified"
	ReviewUnjustified ReviewStatus = "unjustified"
)

// Review is the after-the-fact review of a break-glass grant.
type Review struct {
	Status ReviewStatus
	DueAt  time.Time
	// OverdueAt is when the sweeper announced the review overdue (zero
	// until then); it is set once.
	OverdueAt  time.Time
	ReviewerID string
	Reasoning  string
	ReviewedAt time.Time
}

// Overdue reports whether the review is still pending at or after its due
// time.
func (r Review) Overdue(now time.Time) bool {
	return r.Status == ReviewPending && !now.Before(r.DueAt)
}

// SuspensionReason says why a user's break-glass was suspended.
type SuspensionReason string

// The reasons a suspension begins.
const (
	SuspendedUnjustified SuspensionReason = "unjustified"
	SuspendedOverdue     SuspensionReason = "overdue"
)

// Suspension is a user's break-glass standing in a tenant: how many of
// their break-glass reviews went overdue since the last lift, and whether
// their break-glass is suspended (SuspendedAt set, LiftedAt zero). One item
// per person, kept when lifted, so the count and the last lift stay known.
// The standing is the person's, not the spelling's: it is keyed by the
// Identity Store user the grantee resolves to, so every principal id that
// resolves to that user ("ALICE" and "alice" under user-name mapping)
// shares it.
type Suspension struct {
	TenantID string
	// IdentityStoreUserID is the Identity Store user whose standing this
	// is: the key.
	IdentityStoreUserID string
	// UserID is the principal id the standing was last counted or
	// suspended under, for display.
	UserID string
	// Overdue counts the user's reviews that went overdue since the last
	// lift.
	Overdue     int
	Suspended   bool
	Reason      SuspensionReason
	GrantID     string
	SuspendedAt time.Time
	SuspendedBy string
	LiftedAt    time.Time
	LiftedBy    string
	// LiftReasoning is what the admin who lifted the last suspension said.
	LiftReasoning string
	Revision      int64
	UpdatedAt     time.Time
}

// Audit actions of reviews and suspensions.
const (
	AuditGrantReviewed       = "grant.reviewed"
	AuditReviewOverdue       = "review.overdue"
	AuditBreakGlassSuspended = "break_glass.suspended"
	AuditBreakGlassLifted    = "break_glass.lifted"
)

// ReviewInput is an approver's review of a break-glass grant.
type ReviewInput struct {
	Outcome   string
	Reasoning string
}

// openReview gives a new break-glass grant its pending review.
func openReview(t Tenant, g *Grant, now time.Time) {
	if g.BreakGlass {
		g.Review = &Review{Status: ReviewPending, DueAt: now.Add(t.Settings.ReviewAfter())}
	}
}

// ReviewGrant records an approver's review of a break-glass grant: 400
// validation_failed for an outcome other than justified or unjustified or
// without reasoning, 404 for a grant that does not exist or is not
// break-glass, 403 for its requester or grantee or an approver the tenant's
// approve policies would not have let approve it, 409 once reviewed. An
// unjustified outcome suspends the grantee's break-glass in the same
// commit.
func (s *Service) ReviewGrant(ctx context.Context, p Principal, id string, in ReviewInput, idem *Idempotency) (Grant, error) {
	if err := requireRole(p, RoleApprover, "reviewing break-glass grants"); err != nil {
		return Grant{}, err
	}
	if p.IsService() {
		return Grant{}, Errorf(CodeForbidden, "a service principal cannot review break-glass grants")
	}
	v := Violations{}
	outcome := ReviewStatus(in.Outcome)
	if outcome != ReviewJustified && outcome != ReviewUnjustified {
		v.Add("outcome", "must be justified or unjustified")
	}
	validateText(v, "reasoning", in.Reasoning, MaxReasoning, true)
	if err := v.Err(); err != nil {
		return Grant{}, err
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Grant{}, err
	}
	reviewer, err := s.resolveCaller(ctx, t, p)
	if err != nil {
		return Grant{}, err
	}
	return retry(func() (Grant, error) {
		g, r, err := s.reviewable(ctx, t, id)
		if err != nil {
			return g, err
		}
		if r.Involves(reviewer) {
			return g, Errorf(CodeForbidden, "you cannot review a break-glass grant you requested or received")
		}
		now := s.clock()
		dec, err := s.mayDecide(ctx, t, p, reviewer, r, now)
		if err != nil {
			return g, err
		}
		if !dec.Allowed {
			return g, &Error{Code: CodeForbidden, Message: "the tenant's policies would not have let you approve this request, so you may not review its grant", Notices: dec.Notices}
		}
		if g.Review.Status != ReviewPending {
			return g, Errorf(CodeConflict, "this grant was already reviewed (%s by %s)", g.Review.Status, g.Review.ReviewerID)
		}
		overdue := g.Review.Overdue(now)
		g.Review.Status, g.Review.ReviewerID, g.Review.Reasoning, g.Review.ReviewedAt = outcome, p.ID, strings.TrimSpace(in.Reasoning), now
		g.Revision++
		g.UpdatedAt = now
		sev := SeverityInfo
		if outcome == ReviewUnjustified {
			sev = SeverityHigh
		}
		c := Change{Grants: []Grant{g}, Audit: []AuditEvent{s.audit(t, p, now, AuditGrantReviewed, "grant", g.ID, sev, map[string]any{
			"outcome": string(outcome), "reasoning": g.Review.Reasoning, "request_id": g.RequestID, "grantee_id": g.GranteeID,
			"due_at": g.Review.DueAt.UTC().Format(time.RFC3339), "overdue": overdue,
		})}}
		if outcome == ReviewUnjustified {
			sp, ok, err := s.granteeStanding(ctx, t, g)
			if err != nil {
				return g, err
			}
			if ok && !sp.Suspended {
				sp.UserID = g.GranteeID
				suspend(&sp, SuspendedUnjustified, g.ID, p.ID, now)
				c.Suspensions = []Suspension{sp}
				c.Audit = append(c.Audit, s.suspendedEvent(t, p, sp, now))
			}
		}
		withIdempotency(&c, idem, now, Outcome{Grant: &g})
		return g, committed(s.commit(ctx, c))
	})
}

// reviewable loads a break-glass grant and its request.
func (s *core) reviewable(ctx context.Context, t Tenant, id string) (Grant, Request, error) {
	g, err := s.store.GetGrant(ctx, t.ID, id)
	if errors.Is(err, ErrNotFound) || (err == nil && g.Review == nil) {
		return Grant{}, Request{}, &Error{Code: CodeNotFound, Message: "no break-glass grant " + id + ": only break-glass grants are reviewed"}
	}
	if err != nil {
		return Grant{}, Request{}, err
	}
	r, err := s.getRequest(ctx, t.ID, g.RequestID)
	return g, r, err
}

// PendingReviews lists the break-glass grants whose review is pending and
// that the caller may review: not their own (as requester or grantee), and
// only those the tenant's approve policies would have let them approve,
// earliest due first.
func (s *Service) PendingReviews(ctx context.Context, p Principal, page PageRequest) (Page[Grant], error) {
	if err := requireRole(p, RoleApprover, "the reviews inbox"); err != nil {
		return Page[Grant]{}, err
	}
	if p.IsService() {
		return Page[Grant]{}, Errorf(CodeForbidden, "a service principal cannot review break-glass grants, so it has no reviews inbox")
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Page[Grant]{}, err
	}
	reviewer, err := s.resolveCaller(ctx, t, p)
	if err != nil {
		return Page[Grant]{}, err
	}
	now := s.clock()
	list := func(pr PageRequest) (Page[Grant], error) {
		return s.store.ListPendingReviews(ctx, t.ID, ReviewFilter{}, pr)
	}
	keep := func(g Grant) (bool, error) {
		r, err := s.getRequest(ctx, t.ID, g.RequestID)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Code == CodeNotFound {
				return false, nil
			}
			return false, err
		}
		if r.Involves(reviewer) {
			return false, nil
		}
		dec, err := s.mayDecide(ctx, t, p, reviewer, r, now)
		return dec.Allowed, err
	}
	return filterPages(page, list, keep)
}

// markOverdue announces a review still pending past its due time
// (review.overdue), once, and counts it against the grantee: the tenant's
// break_glass_suspend_after_overdue overdue reviews since the last lift
// suspend their break-glass. A review already announced, recorded, or not
// yet due is left alone, so a late or repeated sweep is a no-op.
func (s *core) markOverdue(ctx context.Context, t Tenant, grantID string) (bool, error) {
	return retry(func() (bool, error) {
		g, err := s.store.GetGrant(ctx, t.ID, grantID)
		if err != nil {
			return false, err
		}
		now := s.clock()
		if g.Review == nil || !g.Review.Overdue(now) || !g.Review.OverdueAt.IsZero() {
			return false, nil
		}
		g.Review.OverdueAt = now
		g.Revision++
		g.UpdatedAt = now
		sp, ok, err := s.granteeStanding(ctx, t, g)
		if err != nil {
			return false, err
		}
		actor := systemActor(t.ID)
		details := map[string]any{
			"request_id": g.RequestID, "grantee_id": g.GranteeID, "due_at": g.Review.DueAt.UTC().Format(time.RFC3339),
		}
		if ok {
			sp.Overdue++
			sp.UserID = g.GranteeID
			details["overdue_reviews"] = sp.Overdue
		}
		c := Change{Grants: []Grant{g}, Audit: []AuditEvent{s.audit(t, actor, now, AuditReviewOverdue, "grant", g.ID, SeverityHigh, details)}}
		if !ok {
			// No Identity Store user recorded: nobody's standing to count
			// against.
			return true, s.commit(ctx, c)
		}
		if n := t.Settings.SuspendAfter(); n > 0 && sp.Overdue >= n && !sp.Suspended {
			suspend(&sp, SuspendedOverdue, g.ID, SystemPrincipalID, now)
			c.Audit = append(c.Audit, s.suspendedEvent(t, actor, sp, now))
		} else {
			sp.Revision++
			sp.UpdatedAt = now
		}
		c.Suspensions = []Suspension{sp}
		return true, s.commit(ctx, c)
	})
}

// granteeStanding loads the break-glass standing of a grant's grantee: the
// Identity Store user the grant was made to, which every grant made from a
// request records (its grantee must resolve). ok is false for a grant
// without one: there is no person to count against. The grant is not
// resolved again: the sweeper, which announces overdue reviews, does not
// read the directory.
func (s *core) granteeStanding(ctx context.Context, t Tenant, g Grant) (sp Suspension, ok bool, err error) {
	if g.GranteeUserID == "" {
		return Suspension{}, false, nil
	}
	sp, err = s.standing(ctx, t.ID, Person{Kind: PrincipalUser, ID: g.GranteeID, UserID: g.GranteeUserID})
	return sp, err == nil, err
}

// standing loads a person's break-glass standing, or a new one (revision
// 0), by the Identity Store user they resolved to.
func (s *core) standing(ctx context.Context, tenantID string, person Person) (Suspension, error) {
	sp, err := s.store.GetSuspension(ctx, tenantID, person.UserID)
	if errors.Is(err, ErrNotFound) {
		return Suspension{TenantID: tenantID, IdentityStoreUserID: person.UserID, UserID: person.ID}, nil
	}
	if err != nil {
		return Suspension{}, fmt.Errorf("load break-glass standing of %s: %w", person.ID, err)
	}
	return sp, nil
}

// suspend suspends sp's break-glass.
func suspend(sp *Suspension, why SuspensionReason, grantID, by string, now time.Time) {
	sp.Suspended, sp.Reason, sp.GrantID, sp.SuspendedAt, sp.SuspendedBy = true, why, grantID, now, by
	sp.Revision++
	sp.UpdatedAt = now
}

func (s *core) suspendedEvent(t Tenant, actor Principal, sp Suspension, now time.Time) AuditEvent {
	return s.audit(t, actor, now, AuditBreakGlassSuspended, "user", sp.UserID, SeverityHigh, map[string]any{
		"user_id": sp.UserID, "identity_store_user_id": sp.IdentityStoreUserID, "reason": string(sp.Reason), "grant_id": sp.GrantID,
		"overdue_reviews": sp.Overdue,
	})
}

// breakGlassSuspended reports whether the grantee's break-glass is
// suspended: what the policies see as context.break_glass_suspended. The
// grantee is a resolved person: their standing is found by the Identity
// Store user, whatever id spelled them.
func (s *core) breakGlassSuspended(ctx context.Context, tenantID string, grantee Person) (bool, error) {
	if grantee.UserID == "" {
		return false, nil
	}
	sp, err := s.store.GetSuspension(ctx, tenantID, grantee.UserID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load break-glass standing of %s: %w", grantee.ID, err)
	}
	return sp.Suspended, nil
}

// ListSuspensions lists the users whose break-glass is suspended, most
// recently changed first (admins only).
func (s *Service) ListSuspensions(ctx context.Context, p Principal, page PageRequest) (Page[Suspension], error) {
	if err := requireRole(p, RoleAdmin, "listing break-glass suspensions"); err != nil {
		return Page[Suspension]{}, err
	}
	list := func(pr PageRequest) (Page[Suspension], error) { return s.store.ListSuspensions(ctx, p.TenantID, pr) }
	return filterPages(page, list, func(sp Suspension) (bool, error) { return sp.Suspended, nil })
}

// LiftSuspension lifts a user's break-glass suspension (admins only, with
// reasoning; audited as break_glass.lifted) and starts their overdue count
// again. userID is a principal id, resolved like a grantee: any id of the
// person names their one standing. 403 for a service principal (a person
// must lift) and for the suspended person themselves, under any of their
// ids; 404 when the user does not resolve or is not suspended.
func (s *Service) LiftSuspension(ctx context.Context, p Principal, userID, reasoning string, idem *Idempotency) (Suspension, error) {
	if err := requireRole(p, RoleAdmin, "lifting break-glass suspensions"); err != nil {
		return Suspension{}, err
	}
	if p.IsService() {
		return Suspension{}, Errorf(CodeForbidden, "a service principal cannot lift break-glass suspensions: a person must")
	}
	v := Violations{}
	validateUserID(v, "user_id", userID)
	validateText(v, "reasoning", reasoning, MaxReasoning, true)
	if err := v.Err(); err != nil {
		return Suspension{}, err
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Suspension{}, err
	}
	notSuspended := &Error{Code: CodeNotFound, Message: "the break-glass of " + userID + " is not suspended"}
	caller, err := s.resolveCaller(ctx, t, p)
	if err != nil {
		return Suspension{}, err
	}
	suspended, err := s.resolveGrantee(ctx, t, userID)
	if CodeOf(err) == CodeValidationFailed {
		return Suspension{}, notSuspended
	}
	if err != nil {
		return Suspension{}, err
	}
	if caller.Same(suspended) {
		return Suspension{}, Errorf(CodeForbidden, "you cannot lift your own break-glass suspension; ask another admin")
	}
	return retry(func() (Suspension, error) {
		sp, err := s.store.GetSuspension(ctx, t.ID, suspended.UserID)
		if errors.Is(err, ErrNotFound) || (err == nil && !sp.Suspended) {
			return Suspension{}, notSuspended
		}
		if err != nil {
			return sp, err
		}
		now := s.clock()
		was := sp
		sp.Suspended, sp.Overdue = false, 0
		sp.LiftedAt, sp.LiftedBy, sp.LiftReasoning = now, p.ID, strings.TrimSpace(reasoning)
		sp.Revision++
		sp.UpdatedAt = now
		c := Change{Suspensions: []Suspension{sp}, Audit: []AuditEvent{s.audit(t, p, now, AuditBreakGlassLifted, "user", sp.UserID, SeverityHigh, map[string]any{
			"user_id": sp.UserID, "identity_store_user_id": sp.IdentityStoreUserID, "lifted_as": userID, "reasoning": sp.LiftReasoning, "reason": string(was.Reason), "grant_id": was.GrantID,
			"suspended_at": was.SuspendedAt.UTC().Format(time.RFC3339),
		})}}
		withIdempotency(&c, idem, now, Outcome{Suspension: &sp})
		return sp, committed(s.commit(ctx, c))
	})
}
