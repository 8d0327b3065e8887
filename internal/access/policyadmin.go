package access

import (
	"context"
	"fmt"
	"time"

	"github.com/elevate-jit/elevate/internal/policy"
)

// MaxPolicyBytes bounds a policy set's text (the API contract: 256 KiB bodies).
const MaxPolicyBytes = 256 << 10

// GetPolicies returns the tenant's current policy set (approvers and admins).
func (s *Service) GetPolicies(ctx context.Context, p Principal) (PolicySet, error) {
	if err := requireRole(p, RoleApprover, "reading policies"); err != nil {
		return PolicySet{}, err
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return PolicySet{}, err
	}
	return s.policyVersion(ctx, t.ID, t.PolicyVersion)
}

// GetPolicyVersion returns one version of the tenant's policy set, current
// or older (approvers and admins).
func (s *Service) GetPolicyVersion(ctx context.Context, p Principal, version int) (PolicySet, error) {
	if err := requireRole(p, RoleApprover, "reading policies"); err != nil {
		return PolicySet{}, err
	}
	return s.policyVersion(ctx, p.TenantID, version)
}

func (s *core) policyVersion(ctx context.Context, tenantID string, version int) (PolicySet, error) {
	ps, err := s.store.GetPolicySet(ctx, tenantID, version)
	return ps, notFound(fmt.Sprintf("policy version %d", version), err)
}

// PutPolicies stores a new version of the tenant's policy set (admins only).
// ifMatch must be the current version, so two admins editing at once cannot
// overwrite each other; the text must parse and type-check against the
// schema. Older versions are kept.
func (s *Service) PutPolicies(ctx context.Context, p Principal, text string, ifMatch int) (PolicySet, error) {
	if err := requireRole(p, RoleAdmin, "changing policies"); err != nil {
		return PolicySet{}, err
	}
	if len(text) > MaxPolicyBytes {
		return PolicySet{}, Invalid("policies", "must be at most %d bytes", MaxPolicyBytes)
	}
	if _, err := policy.Parse("policies.cedar", []byte(text)); err != nil {
		return PolicySet{}, policyError(err)
	}
	return retry(func() (PolicySet, error) {
		t, err := s.tenant(ctx, p.TenantID)
		if err != nil {
			return PolicySet{}, err
		}
		if t.PolicyVersion != ifMatch {
			return PolicySet{}, &Error{Code: CodeConflict, Message: fmt.Sprintf("the policy set is at version %d, not %d; fetch it, merge your change and retry", t.PolicyVersion, ifMatch),
				Details: map[string]any{"current_version": t.PolicyVersion}}
		}
		now := s.clock()
		ps := PolicySet{TenantID: t.ID, Version: t.PolicyVersion + 1, Text: text, CreatedBy: p.ID, CreatedAt: now}
		t.PolicyVersion = ps.Version
		t.Revision++
		t.UpdatedAt = now
		c := Change{Tenants: []Tenant{t}, PolicySets: []PolicySet{ps}, Audit: []AuditEvent{s.audit(t, p, now, AuditPolicyUpdated, "policy", fmt.Sprint(ps.Version), SeverityHigh,
			map[string]any{"version": ps.Version, "previous_version": ifMatch, "bytes": len(text)})}}
		return ps, s.commit(ctx, c)
	})
}

// EvaluateInput is a would-be request for a policy dry run.
type EvaluateInput struct {
	PrincipalID     string
	Groups          []string
	GranteeID       string
	Resource        Resource
	Action          string
	DurationSeconds int64
	Justification   string
	BreakGlass      bool
	// At is when the request would be made; zero means now.
	At time.Time
	// Draft, when set, is evaluated instead of the stored policy set.
	Draft *string
}

// Evaluation is the outcome of a dry run: what the policies decide and why,
// and whether the target would be refused whatever they say.
type Evaluation struct {
	PolicyVersion int
	Draft         bool
	Decision      policy.Decision
}

// EvaluatePolicies answers what a request would get, and why, without
// storing anything (admins only). A draft policy set can be tried before it
// is stored.
func (s *Service) EvaluatePolicies(ctx context.Context, p Principal, in EvaluateInput) (Evaluation, error) {
	if err := requireRole(p, RoleAdmin, "evaluating policies"); err != nil {
		return Evaluation{}, err
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Evaluation{}, err
	}
	v := Violations{}
	validateUserID(v, "principal.id", in.PrincipalID)
	validateGroups(v, in.Groups)
	in.Resource.Validate("resource", v)
	if in.Action == "" {
		v.Add("action", "is required")
	}
	if in.DurationSeconds <= 0 {
		v.Add("duration_seconds", "must be a positive number of seconds")
	}
	if in.GranteeID != "" {
		validateUserID(v, "grantee_id", in.GranteeID)
	}
	validateText(v, "justification", in.Justification, MaxJustification, false)
	if in.Draft != nil && len(*in.Draft) > MaxPolicyBytes {
		v.Add("policies", "must be at most %d bytes", MaxPolicyBytes)
	}
	if err := v.Err(); err != nil {
		return Evaluation{}, err
	}
	in.Resource = in.Resource.Normalize()
	ev := Evaluation{PolicyVersion: t.PolicyVersion}
	var set *policy.Set
	if in.Draft != nil {
		if set, err = policy.Parse("draft.cedar", []byte(*in.Draft)); err != nil {
			return Evaluation{}, policyError(err)
		}
		ev.Draft, ev.PolicyVersion = true, 0
	} else if set, err = s.policySet(ctx, t); err != nil {
		return Evaluation{}, err
	}
	ancestors, err := s.ic.Ancestors(ctx, t, in.Resource)
	if err != nil {
		return Evaluation{}, err
	}
	if err := s.checkTarget(t, in.Resource, ancestors); err != nil {
		// One message for every refused target, and no decision: a dry run
		// must not reveal where an account the tenant cannot reach sits.
		return Evaluation{}, &Error{Code: CodeForbidden, Cause: err,
			Message: "the target is outside this tenant's boundary or protected: a dry run evaluates only targets the tenant may reach"}
	}
	at := in.At
	if at.IsZero() {
		at = s.clock()
	}
	grantee := in.GranteeID
	if grantee == "" {
		grantee = in.PrincipalID
	}
	r := Request{RequesterID: in.PrincipalID, GranteeID: grantee, Resource: in.Resource, Action: in.Action,
		DurationSeconds: in.DurationSeconds, Justification: in.Justification, BreakGlass: in.BreakGlass}
	active, err := s.activeGrants(ctx, set, t.ID, grantee, "")
	if err != nil {
		return Evaluation{}, err
	}
	// The standing is the person's: an id the Identity Store does not know
	// has none (and a request for it would be refused).
	person, err := s.resolveGrantee(ctx, t, grantee)
	if err != nil && CodeOf(err) != CodeValidationFailed {
		return Evaluation{}, err
	}
	suspended, err := s.breakGlassSuspended(ctx, t.ID, person)
	if err != nil {
		return Evaluation{}, err
	}
	ev.Decision = s.decideRequest(set, t, Principal{ID: in.PrincipalID, Groups: in.Groups}, &r, ancestors, active, suspended, at)
	return ev, nil
}
