package access

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/elevate-jit/elevate/internal/policy"
)

// Limits on request fields.
const (
	MaxJustification = 1024
	MaxIDLength      = 256
	MaxMetadataKeys  = 32
	MaxMetadataBytes = 4096
	MaxReasoning     = 1024
)

// CreateRequestInput is what a caller asks for.
type CreateRequestInput struct {
	Resource        Resource
	Action          string
	DurationSeconds int64
	Justification   string
	// GranteeID is who receives access; empty means the caller.
	GranteeID  string
	BreakGlass bool
	Metadata   map[string]any
	// StartsAt is when access should begin; zero means once approved.
	StartsAt time.Time
}

// CreateRequest records a request and decides it with the tenant's policies:
// denied requests are recorded and reported as policy_denied; auto-approved
// and break-glass requests get a grant that is provisioned at once; the rest
// wait for approval.
func (s *Service) CreateRequest(ctx context.Context, p Principal, in CreateRequestInput, idem *Idempotency) (Request, error) {
	t, r, dec, err := s.prepareRequest(ctx, p, in)
	if err != nil {
		return Request{}, err
	}
	now := r.CreatedAt
	var g *Grant
	if applyDecision(&r, dec, t, now) == RequestApproved {
		g = s.grantFor(r, now)
		openReview(t, g, now)
		r.GrantID = g.ID
	}

	c := Change{Requests: []Request{r}}
	sev := SeverityInfo
	if r.BreakGlass {
		sev = SeverityHigh
	}
	c.Audit = append(c.Audit, s.audit(t, p, now, AuditRequestCreated, "request", r.ID, sev, createdDetails(r, dec)))
	if g != nil {
		c.Grants = []Grant{*g}
		details := map[string]any{"request_id": r.ID}
		if g.Review != nil {
			details["review_due_at"] = g.Review.DueAt.UTC().Format(time.RFC3339)
		}
		c.Audit = append(c.Audit, s.audit(t, p, now, AuditGrantCreated, "grant", g.ID, sev, details))
	}
	withIdempotency(&c, idem, now, Outcome{Request: &r})
	if err := s.commit(ctx, c); err != nil {
		return Request{}, committed(err)
	}

	return s.afterRequest(ctx, r, g)
}

// prepareRequest validates a would-be request and decides it with the
// tenant's policies, storing nothing: CreateRequest commits what it
// answers, PreviewRequest only shows it.
func (s *Service) prepareRequest(ctx context.Context, p Principal, in CreateRequestInput) (Tenant, Request, policy.Decision, error) {
	if err := requireRole(p, RoleRequester, "requesting access"); err != nil {
		return Tenant{}, Request{}, policy.Decision{}, err
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Tenant{}, Request{}, policy.Decision{}, err
	}
	if in.GranteeID == "" && !p.IsService() {
		in.GranteeID = p.ID
	}
	if err := validateCreate(t, p, in, s.clock()); err != nil {
		return Tenant{}, Request{}, policy.Decision{}, err
	}
	requester, grantee, err := s.resolveParties(ctx, t, p, in.GranteeID)
	if err != nil {
		return Tenant{}, Request{}, policy.Decision{}, err
	}
	in.Resource = in.Resource.Normalize()
	ancestors, err := s.ic.Ancestors(ctx, t, in.Resource)
	if err != nil {
		return Tenant{}, Request{}, policy.Decision{}, err
	}
	if err := s.checkTarget(t, in.Resource, ancestors); err != nil {
		return Tenant{}, Request{}, policy.Decision{}, err
	}
	set, err := s.policySet(ctx, t)
	if err != nil {
		return Tenant{}, Request{}, policy.Decision{}, err
	}
	active, err := s.activeGrants(ctx, set, t.ID, in.GranteeID, "")
	if err != nil {
		return Tenant{}, Request{}, policy.Decision{}, err
	}
	suspended, err := s.breakGlassSuspended(ctx, t.ID, grantee)
	if err != nil {
		return Tenant{}, Request{}, policy.Decision{}, err
	}

	now := s.clock()
	r := Request{
		ID: s.newID(), TenantID: t.ID, RequesterID: p.ID, RequesterKind: p.Kind, GranteeID: in.GranteeID,
		RequesterUserID: requester.UserID, GranteeUserID: grantee.UserID,
		PermissionSetARN: catalogPermissionSet(t.Catalog, in.Resource, in.Action), Resource: in.Resource, Action: in.Action, Justification: strings.TrimSpace(in.Justification),
		DurationSeconds: in.DurationSeconds, BreakGlass: in.BreakGlass, Metadata: in.Metadata, StartsAt: startsAt(in.StartsAt),
		PolicyVersion: t.PolicyVersion, Revision: 1, CreatedAt: now, UpdatedAt: now,
	}
	dec := s.decideRequest(set, t, p, &r, ancestors, active, suspended, now)
	r.Notices, r.EndSessions = dec.Notices, dec.EndSessions
	return t, r, dec, nil
}

// afterRequest does what a committed new request needs: a denial is
// answered as policy_denied, a pending request waits for approval, and the
// grant of an approved one (nil for an extension, whose grant is already
// active) is provisioned. A workflow that cannot start is reported; the
// sweeper picks the work up.
func (s *core) afterRequest(ctx context.Context, r Request, g *Grant) (Request, error) {
	switch r.Status {
	case RequestDenied:
		return r, DeniedError(r)
	case RequestPending:
		if err := s.workflow.StartApproval(ctx, r); err != nil {
			s.report(ctx, Problem{ProblemWorkflow, "start approval wait for request " + r.ID, err})
		}
		s.scheduleNudges(ctx, r)
	case RequestApproved:
		if g == nil {
			break
		}
		s.startGrant(ctx, *g)
	}
	return r, nil
}

// CheckRequest validates a would-be request without making it: the HTTP
// layer calls it when the body already lacks something, so that one answer
// names every problem.
func (s *Service) CheckRequest(ctx context.Context, p Principal, in CreateRequestInput) error {
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return err
	}
	if in.GranteeID == "" && !p.IsService() {
		in.GranteeID = p.ID
	}
	return validateCreate(t, p, in, s.clock())
}

// DeniedError is the policy_denied error for a request the policies denied;
// its details name the recorded request.
func DeniedError(r Request) error {
	return &Error{
		Code: CodePolicyDenied, Message: "the request was denied by policy",
		Details: map[string]any{"request_id": r.ID}, Notices: r.Notices,
	}
}

func determiningIDs(d policy.Decision) string {
	ids := make([]string, 0, len(d.Determining))
	for _, p := range d.Determining {
		ids = append(ids, p.ID)
	}
	if len(ids) == 0 {
		return "(none matched)"
	}
	return strings.Join(ids, ", ")
}

// grantFor makes the grant of an approved request: exactly what was asked
// and approved, permission set and policy version included. It is
// provisioning, or scheduled when the request starts later.
func (s *core) grantFor(r Request, now time.Time) *Grant {
	g := &Grant{
		ID: s.newID(), TenantID: r.TenantID, RequestID: r.ID, GranteeID: r.GranteeID, GranteeUserID: r.GranteeUserID,
		CreatedBy: r.RequesterID, PermissionSetARN: r.PermissionSetARN, PolicyVersion: r.PolicyVersion,
		Resource: r.Resource, Action: r.Action, Status: GrantProvisioning, DurationSeconds: r.DurationSeconds,
		BreakGlass: r.BreakGlass, Metadata: r.Metadata, EndSessions: r.EndSessions, Revision: 1, CreatedAt: now, UpdatedAt: now,
	}
	if r.scheduled(now) {
		g.Status, g.StartsAt = GrantScheduled, r.StartsAt
	}
	return g
}

// startsAt is a request's starts_at as stored: UTC, to the microsecond.
func startsAt(at time.Time) time.Time {
	if at.IsZero() {
		return at
	}
	return at.UTC().Truncate(time.Microsecond)
}

// catalogPermissionSet is the permission set the catalog maps an action on
// a resource to: the resource itself for a permission set, none for the
// managed resource types.
func catalogPermissionSet(c Catalog, r Resource, action string) string {
	switch {
	case r.Type == ResourcePermissionSet:
		return r.ID
	case r.Type.Managed():
		return ""
	}
	a, _ := c.Lookup(r.Type, action)
	return a.PermissionSetARN
}

// createdDetails are the details of a new request's request.created audit
// event (a new request's or an extension's).
func createdDetails(r Request, dec policy.Decision) map[string]any {
	d := withConflicts(map[string]any{
		"status": string(r.Status), "approval_mode": string(r.ApprovalMode), "break_glass": r.BreakGlass,
		"grantee_id": r.GranteeID, "resource_type": string(r.Resource.Type), "resource_id": r.Resource.ID,
		"action": r.Action, "duration_seconds": r.DurationSeconds, "policies": determiningIDs(dec),
	}, r.Conflicts)
	if !r.StartsAt.IsZero() {
		d["starts_at"] = r.StartsAt.Format(time.RFC3339)
	}
	if r.ExtendsGrantID != "" {
		d["extends_grant_id"] = r.ExtendsGrantID
	}
	return d
}

// validateAsk checks what every ask for access gives: a duration within
// the tenant's maximum and a justification.
func validateAsk(v Violations, t Tenant, seconds int64, justification string) {
	maxSeconds := int64(t.Settings.MaxDuration.Seconds())
	switch {
	case seconds <= 0:
		v.Add("duration_seconds", "must be a positive number of seconds")
	case seconds > maxSeconds:
		v.Add("duration_seconds", "must be at most %d seconds, this tenant's maximum", maxSeconds)
	}
	validateText(v, "justification", justification, MaxJustification, true)
}

// validateCreate checks a request against the tenant's catalog and limits.
func validateCreate(t Tenant, p Principal, in CreateRequestInput, now time.Time) error {
	v := Violations{}
	in.Resource.Validate("resource", v)
	validateAction(t.Catalog, in.Resource, in.Action, v)
	validateAsk(v, t, in.DurationSeconds, in.Justification)
	switch {
	case in.GranteeID == "" && p.IsService():
		v.Add("grantee_id", "is required when a service principal makes a request: a service principal cannot receive access")
	case in.GranteeID != "":
		validateUserID(v, "grantee_id", in.GranteeID)
	}
	validateMetadata(v, in.Metadata)
	validateStartsAt(v, t, in, now)
	return v.Err()
}

// validateAction checks that the catalog offers the action for the resource
// type, and the fields that depend on the action.
func validateAction(c Catalog, r Resource, action string, v Violations) {
	if action == "" {
		v.Add("action", "is required")
		return
	}
	k, ok := kindOf(r.Type)
	if !ok {
		return
	}
	a, ok := c.Lookup(r.Type, action)
	if !ok {
		names := c.Names(r.Type)
		if len(names) == 0 {
			v.Add("action", "this tenant's catalog offers no actions for %s", r.Type)
		} else {
			v.Add("action", "is not offered for %s (offered: %s)", r.Type, strings.Join(names, ", "))
		}
		return
	}
	if k.checkAction != nil {
		k.checkAction(r, action, a, v)
	}
}

// validateText checks a free-text field's length and characters.
func validateText(v Violations, field, s string, maxRunes int, required bool) {
	trimmed := strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case required && trimmed == "":
		v.Add(field, "is required")
	case utf8.RuneCountInString(s) > maxRunes:
		v.Add(field, "must be at most %d characters", maxRunes)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }):
		v.Add(field, "must not contain control characters")
	}
}

// validateUserID checks a user id given by a caller.
func validateUserID(v Violations, field, id string) {
	switch {
	case ReservedPrincipal(id):
		v.Add(field, "%q is reserved for Elevate itself", id)
	case len(id) > MaxIDLength:
		v.Add(field, "must be at most %d characters", MaxIDLength)
	case strings.TrimSpace(id) != id || id == "":
		v.Add(field, "must not be empty or begin or end with spaces")
	case strings.ContainsFunc(id, unicode.IsControl):
		v.Add(field, "must not contain control characters")
	}
}

// validateMetadata bounds the caller's free-form metadata.
func validateMetadata(v Violations, m map[string]any) {
	if m == nil {
		return
	}
	if len(m) > MaxMetadataKeys {
		v.Add("metadata", "must have at most %d keys", MaxMetadataKeys)
		return
	}
	for k := range m {
		if k == "" || len(k) > 64 {
			v.Add("metadata", "keys must be 1 to 64 characters")
			return
		}
	}
	b, err := json.Marshal(m)
	if err != nil || len(b) > MaxMetadataBytes {
		v.Add("metadata", "must be at most %d bytes of JSON", MaxMetadataBytes)
	}
}

// applyDecision records the policies' decision on a new request: denied,
// pending for approvers (within the tenant's approval window), or approved
// at once. It returns the request's status.
func applyDecision(r *Request, dec policy.Decision, t Tenant, now time.Time) RequestStatus {
	r.Conflicts = ConflictsOf(dec)
	switch {
	case !dec.Allowed:
		r.Status, r.DecidedAt = RequestDenied, now
		r.Reasoning = "Denied by policy " + determiningIDs(dec)
	case dec.Mode == policy.ModeRequire:
		r.Status, r.ApprovalMode = RequestPending, ModeRequire
		r.ApprovalsRequired = max(dec.Approvals, 1)
		r.ApprovalExpiresAt = now.Add(t.Settings.ApprovalWindow)
		planNudges(r, dec, t, now)
	default:
		r.Status, r.ApprovalMode, r.DecidedAt = RequestApproved, ApprovalMode(dec.Mode), now
		r.Reasoning = "Approved automatically by policy " + determiningIDs(dec)
		if r.BreakGlass {
			r.Reasoning = "Break-glass access granted at once by policy " + determiningIDs(dec) + "; flagged for review"
		}
	}
	return r.Status
}
