package access

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/elevate-jit/elevate/internal/policy"
)

// A pending request nudges its approvers: a reminder at the tenant's
// approval_reminder_percent of its approval window, and, when the permit
// that asked for approval says @escalate_after and @escalate_to, an
// escalation that widens who may decide it to that group's members. Each
// is a one-time schedule (Scheduler.ScheduleNudge), deleted when the
// request leaves pending; one that fires for a decided request, or fires
// twice, does nothing.

// Nudge is a kind of a pending request's schedules.
type Nudge string

// The nudges of a pending request.
const (
	NudgeRemind   Nudge = "remind"
	NudgeEscalate Nudge = "escalate"
)

// At is when the nudge of r is due (zero when r has none of that kind).
func (n Nudge) At(r Request) time.Time {
	if n == NudgeEscalate {
		return r.EscalateAt
	}
	return r.RemindAt
}

func (n Nudge) noun() string {
	if n == NudgeEscalate {
		return "escalation"
	}
	return "reminder"
}

// planNudges sets a new pending request's reminder and escalation times:
// both within its approval window, or none.
func planNudges(r *Request, dec policy.Decision, t Tenant, now time.Time) {
	if after := t.Settings.ReminderAfter(t.Settings.ApprovalWindow); after > 0 {
		r.RemindAt = now.Add(after)
	}
	if dec.EscalateAfter > 0 && now.Add(dec.EscalateAfter).Before(r.ApprovalExpiresAt) {
		r.EscalateAt, r.EscalateTo = now.Add(dec.EscalateAfter), dec.EscalateTo
	}
}

// Escalated reports whether r's approval has widened to its EscalateTo
// group at now. It follows the clock, not the escalation's schedule, so a
// lost schedule delays only the announcement.
func (r Request) Escalated(now time.Time) bool {
	return !r.EscalateAt.IsZero() && !now.Before(r.EscalateAt)
}

// escalatedMember reports whether p may decide r only because r escalated
// to a group p is in.
func escalatedMember(p Principal, r Request, now time.Time) bool {
	return r.Escalated(now) && r.EscalateTo != "" && slices.Contains(p.Groups, r.EscalateTo)
}

// scheduleNudges schedules a new pending request's reminder and
// escalation. A failure is reported: the request is decided or expires
// without them.
func (s *core) scheduleNudges(ctx context.Context, r Request) {
	for _, n := range []Nudge{NudgeRemind, NudgeEscalate} {
		if n.At(r).IsZero() {
			continue
		}
		if err := s.scheduler.ScheduleNudge(ctx, r, n); err != nil {
			s.report(ctx, Problem{ProblemSchedule, fmt.Sprintf("schedule the %s of request %s", n.noun(), r.ID), err})
		}
	}
}

// cancelNudges deletes the nudges of a request that left pending; one left
// behind fires and does nothing.
func (s *core) cancelNudges(ctx context.Context, r Request) {
	if r.RemindAt.IsZero() && r.EscalateAt.IsZero() {
		return
	}
	if err := s.scheduler.CancelNudges(ctx, r); err != nil {
		s.report(ctx, Problem{ProblemSchedule, "cancel the reminder and escalation of request " + r.ID, err})
	}
}

// endApproval ends the approval wait and the nudges of a request that left
// pending.
func (s *core) endApproval(ctx context.Context, r Request) {
	if err := s.workflow.EndApproval(ctx, r); err != nil {
		s.report(ctx, Problem{ProblemWorkflow, "end approval wait of request " + r.ID, err})
	}
	s.cancelNudges(ctx, r)
}

// RemindRequest reminds the approvers of a pending request
// (request.reminder, listing who may approve). It is the reminder
// schedule's target: a request that is no longer pending, or was reminded
// already, is left alone; one that fires early is scheduled again.
func (s *Steps) RemindRequest(ctx context.Context, tenantID, requestID string) (Request, error) {
	return s.nudge(ctx, tenantID, requestID, NudgeRemind)
}

// EscalateRequest announces that a pending request's approval widened to
// its EscalateTo group (request.escalated). It is the escalation
// schedule's target, with RemindRequest's rules.
func (s *Steps) EscalateRequest(ctx context.Context, tenantID, requestID string) (Request, error) {
	return s.nudge(ctx, tenantID, requestID, NudgeEscalate)
}

func (s *core) nudge(ctx context.Context, tenantID, requestID string, n Nudge) (Request, error) {
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return Request{}, err
	}
	return retry(func() (Request, error) {
		r, err := s.getRequest(ctx, tenantID, requestID)
		if err != nil || r.Status != RequestPending || n.At(r).IsZero() {
			return r, err
		}
		done := &r.RemindedAt
		action := AuditRequestReminder
		if n == NudgeEscalate {
			done, action = &r.EscalatedAt, AuditRequestEscalated
		}
		now := s.clock()
		switch {
		case !done.IsZero():
			return r, nil // delivered twice
		case !now.Before(r.ApprovalExpiresAt):
			return r, nil // the window is over: the request expires instead
		case now.Add(5 * time.Second).Before(n.At(r)):
			return r, s.scheduler.ScheduleNudge(ctx, r, n) // fired early: try again on time
		}
		*done = now
		r.Revision++
		r.UpdatedAt = now
		details := map[string]any{
			"approvers": approversOf(t, r, now), "approvals": len(r.Approvals), "approvals_required": r.ApprovalsRequired,
			"approval_expires_at": r.ApprovalExpiresAt.UTC().Format(time.RFC3339),
			"requester_id":        r.RequesterID, "grantee_id": r.GranteeID,
			"resource_type": string(r.Resource.Type), "resource_id": r.Resource.ID, "action": r.Action,
		}
		if r.EscalateTo != "" {
			details["escalate_to"] = r.EscalateTo
			details["escalate_at"] = r.EscalateAt.UTC().Format(time.RFC3339)
			details["escalated"] = r.Escalated(now)
		}
		c := Change{Requests: []Request{r}, Audit: []AuditEvent{s.audit(t, systemActor(t.ID), now, action, "request", r.ID, SeverityInfo, details)}}
		return r, s.commit(ctx, c)
	})
}

// approversOf names who may decide r at now: the tenant's groups whose
// members hold the approver or admin role, and r's EscalateTo group once
// it escalated. The tenant's approve policies may narrow it further.
func approversOf(t Tenant, r Request, now time.Time) []string {
	set := map[string]bool{}
	for g, role := range t.Settings.GroupRoles {
		if role.AtLeast(RoleApprover) {
			set[g] = true
		}
	}
	if r.Escalated(now) && r.EscalateTo != "" {
		set[r.EscalateTo] = true
	}
	out := slices.Collect(maps.Keys(set))
	sort.Strings(out)
	return out
}
