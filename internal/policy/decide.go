package policy

import (
	"cmp"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// User is a person as Cedar sees them: an id and the groups they belong to.
// IdentityStoreID is the Identity Store user they resolved to, if any; it
// is not shown to policies, but the self-approval rule compares it.
type User struct {
	ID              string
	Groups          []string
	IdentityStoreID string
}

// Resource is the AWS resource a request is about, with the organization
// hierarchy above it so policies can match whole OUs.
type Resource struct {
	Type      string   // aws_account, aws_permission_set, aws_organizational_unit, aws_s3_bucket, aws_rds_instance, aws_ec2_instance
	ID        string   // account id, permission set ARN, OU id, bucket name, instance ARN or id
	AccountID string   // for types other than aws_account/aws_organizational_unit ("" otherwise)
	Region    string   // for aws_ec2_instance and aws_rds_instance
	Ancestors []string // organization root (r-…) and OU ids (ou-…) above the resource, outermost first
}

// Request is what Decide needs to know about a would-be access request.
type Request struct {
	Principal       User
	BreakGlass      bool
	Resource        Resource
	Action          string // the catalog action, e.g. "ReadOnly", "read", "connect"
	DurationSeconds int64
	Justification   string
	Grantee         string         // user id of who receives access; "" means the principal
	Delegated       bool           // Grantee != Principal.ID
	Time            time.Time      // when the request is made
	Location        *time.Location // tenant time zone; nil means UTC
	// Extension is set for a request to extend an active grant.
	Extension *Extension
	// StartsInSeconds is how long after Time a scheduled request's access
	// begins (context.starts_in_seconds); 0 means at once.
	StartsInSeconds int64
	// ActiveGrants are the grantee's active grants (context.active_grants),
	// which separation-of-duties policies (@sod) test.
	ActiveGrants []ActiveGrant
	// BreakGlassSuspended is context.break_glass_suspended: the grantee's
	// break-glass is suspended after a review.
	BreakGlassSuspended bool
}

// ActiveGrant is one of the grantee's active grants as policies see it in
// context.active_grants. AccountID is the account the grant is in (the
// account's own id for an account; "" for an OU).
type ActiveGrant struct {
	ID, ResourceType, ResourceID, AccountID, Action string
}

// Conflict is a separation-of-duties policy (forbid with @sod) that matches
// a request given the grantee's active grants. GrantIDs are the grants that
// make it match on their own, or all of them when only together they do.
type Conflict struct {
	PolicyID string
	Name     string
	Deny     bool // @sod_enforce("deny")
	GrantIDs []string
}

// Extension is what policies see of the grant an extension request extends:
// context.extension is true, context.remaining_seconds is the grant's time
// left, context.extensions the number of its earlier extensions, and
// context.original_duration_seconds the duration it was first granted for.
// An ordinary request sees false and zeros.
type Extension struct {
	RemainingSeconds        int64
	Extensions              int64
	OriginalDurationSeconds int64
}

// Mode says how an allowed request is approved.
type Mode string

// Approval modes, as stored on requests.
const (
	ModeAuto       Mode = "auto"
	ModeRequire    Mode = "require"
	ModeBreakGlass Mode = "break_glass"
)

// Determining is a policy that decided the outcome, so callers can explain it.
type Determining struct {
	ID          string
	Effect      string // "permit" | "forbid"
	Annotations map[string]string
}

// EvalError is a policy that could not be evaluated; it denies the request.
type EvalError struct {
	PolicyID string
	Message  string
}

// Decision is the outcome of Decide or MayApprove, with the reasons people see.
type Decision struct {
	Allowed   bool
	Mode      Mode // "" when denied
	Approvals int  // distinct approvers required: >= 1 when Mode == ModeRequire, else 0
	// EscalateAfter and EscalateTo widen who may approve a request that
	// needs approvers: after EscalateAfter, members of group EscalateTo
	// may decide it too (the earliest @escalate_after of the determining
	// permits; zero and "" when none says so).
	EscalateAfter time.Duration
	EscalateTo    string
	// EndSessions is the determining permits' @end_sessions: "true" when
	// one says so, else "false" when one says so, else "" (the tenant's
	// setting decides).
	EndSessions string
	Determining []Determining
	Notices     []string
	Errors      []EvalError
	// Conflicts are the separation-of-duties policies that match (Decide
	// only). A conflict makes an auto decision require an approver, or
	// denies under @sod_enforce("deny").
	Conflicts []Conflict
}

// Notices Elevate adds itself, beside those of the policies.
const (
	noticeNoPermit           = "No policy permits this request."
	noticeNoBreakGlassPermit = "No policy permits break-glass access for this request."
	noticeDelegatedApprover  = "Requests on behalf of someone else need an approver."
	noticeDelegatedNoBG      = "Break-glass cannot be requested on behalf of someone else."
	noticeNoApprovePermit    = "No policy permits you to approve this request."
	noticeSelfApproval       = "Nobody may approve a request they made or will receive."
)

// Decide evaluates the request against the set: whether it is allowed, and if
// so whether it is auto-approved, needs approvers, or is break-glass.
func (s *Set) Decide(r Request) Decision {
	e, req, err := s.requestEnv(r, s.ouChain)
	if err != nil {
		return denyInvalid(err)
	}
	dec, diag := cedar.Authorize(e, e, req)

	noPermit := noticeNoPermit
	if r.BreakGlass {
		noPermit = noticeNoBreakGlassPermit
	}
	d, permits := s.outcome(dec, diag, noPermit)
	if !d.Allowed {
		return d
	}

	for _, c := range permits {
		if c.endSessions == "true" || d.EndSessions == "" {
			d.EndSessions = cmp.Or(c.endSessions, d.EndSessions)
		}
	}
	if r.BreakGlass {
		d.Mode = ModeBreakGlass
	} else {
		d.Mode = ModeAuto
		for _, c := range permits {
			if !c.auto {
				d.Mode = ModeRequire
				break
			}
		}
	}
	if isDelegated(r) && d.Mode != ModeRequire && !anyTestsDelegated(permits) {
		if d.Mode == ModeBreakGlass {
			return Decision{Notices: []string{noticeDelegatedNoBG}}
		}
		d.Mode = ModeRequire
		d.Notices = append(d.Notices, noticeDelegatedApprover)
	}
	if d.Mode == ModeRequire {
		d.Approvals = 1
		for _, c := range permits {
			d.Approvals = max(d.Approvals, c.approvals)
			if c.escalateAfter > 0 && (d.EscalateAfter == 0 || c.escalateAfter < d.EscalateAfter) {
				d.EscalateAfter, d.EscalateTo = c.escalateAfter, c.escalateTo
			}
		}
	}
	return s.separateDuties(r, d)
}

// Separation-of-duties notices, when the policy has no @notice.
const (
	noticeSoDRequire = "Separation of duties: %q conflicts with the grantee's active access, so an approver must decide."
	noticeSoDDeny    = "Separation of duties: %q conflicts with the grantee's active access, so the request is denied."
)

// separateDuties evaluates the separation-of-duties policies for an allowed
// decision d: a conflict makes auto require an approver, and one under
// @sod_enforce("deny") denies. Break-glass stays break-glass (it is reviewed
// afterwards) but carries the conflicts. A policy that fails to evaluate
// denies, as everywhere.
func (s *Set) separateDuties(r Request, d Decision) Decision {
	conflicts, errs := s.sodConflicts(r)
	if len(errs) > 0 {
		out := Decision{Errors: errs}
		for _, e := range errs {
			out.Notices = append(out.Notices, fmt.Sprintf("Policy %q could not be evaluated, so the request is denied: %s", e.PolicyID, e.Message))
		}
		return out
	}
	if len(conflicts) == 0 {
		return d
	}
	d.Conflicts = conflicts
	deny := false
	for _, cf := range conflicts {
		deny = deny || cf.Deny
	}
	if deny {
		out := Decision{Conflicts: conflicts}
		for _, cf := range conflicts {
			c := s.byID[cedar.PolicyID(cf.PolicyID)]
			if !cf.Deny {
				continue
			}
			out.Determining = append(out.Determining, Determining{ID: c.id, Effect: "forbid", Annotations: maps.Clone(c.annotations)})
			out.Notices = append(out.Notices, cmpNotice(c.notice, fmt.Sprintf(noticeSoDDeny, cf.Name)))
		}
		return out
	}
	for _, cf := range conflicts {
		c := s.byID[cedar.PolicyID(cf.PolicyID)]
		d.Notices = append(d.Notices, cmpNotice(c.notice, fmt.Sprintf(noticeSoDRequire, cf.Name)))
	}
	if d.Mode == ModeAuto {
		d.Mode, d.Approvals = ModeRequire, 1
	}
	return d
}

func cmpNotice(notice, fallback string) string {
	if notice != "" {
		return notice
	}
	return fallback
}

// SeparatesDuties reports whether the set has separation-of-duties policies,
// so a caller reads the grantee's active grants only when they matter.
func (s *Set) SeparatesDuties() bool { return len(s.sodRequest)+len(s.sodBreakGlass) > 0 }

// maxSoDGrants bounds the active grants tried one by one to name a
// conflict's grants.
const maxSoDGrants = 100

// sodConflicts evaluates the separation-of-duties policies that apply to r.
func (s *Set) sodConflicts(r Request) ([]Conflict, []EvalError) {
	list := s.sodRequest
	if r.BreakGlass {
		list = s.sodBreakGlass
	}
	if len(list) == 0 {
		return nil, nil
	}
	matched, errs := s.sodMatches(r, list)
	if len(errs) > 0 || len(matched) == 0 {
		return nil, errs
	}
	out := make([]Conflict, 0, len(matched))
	for _, c := range matched {
		cf := Conflict{PolicyID: c.id, Name: c.sod, Deny: c.sodDeny, GrantIDs: []string{}}
		if len(r.ActiveGrants) <= maxSoDGrants {
			one := r
			for _, g := range r.ActiveGrants {
				one.ActiveGrants = []ActiveGrant{g}
				if m, _ := s.sodMatches(one, policyList{c}); len(m) > 0 {
					cf.GrantIDs = append(cf.GrantIDs, g.ID)
				}
			}
		}
		if len(cf.GrantIDs) == 0 { // only together, or too many to try
			for _, g := range r.ActiveGrants {
				cf.GrantIDs = append(cf.GrantIDs, g.ID)
			}
		}
		out = append(out, cf)
	}
	return out, nil
}

// sodMatches returns the policies of list that match r.
func (s *Set) sodMatches(r Request, list policyList) ([]*compiled, []EvalError) {
	e, req, err := s.requestEnv(r, s.ouChain)
	if err != nil {
		return nil, []EvalError{{Message: err.Error()}}
	}
	e.policies = list
	_, diag := cedar.Authorize(e, e, req)
	var errs []EvalError
	for _, de := range diag.Errors {
		errs = append(errs, EvalError{PolicyID: string(de.PolicyID), Message: de.Message})
	}
	var out []*compiled
	for _, reason := range diag.Reasons {
		out = append(out, s.byID[reason.PolicyID])
	}
	return out, errs
}

// requestEnv builds the entities, candidate policies and Cedar request for r;
// chain says whether the OU entities are needed (see Set.ouChain).
func (s *Set) requestEnv(r Request, chain bool) (*env, cedar.Request, error) {
	action, list := actionRequest, s.request
	if r.BreakGlass {
		action, list = actionBreakGlass, s.breakGlass
	}
	e := &env{policies: list}
	e.setPrincipal(r.Principal)
	if err := e.setResource(r.Resource, chain); err != nil {
		return nil, cedar.Request{}, err
	}
	hour, weekday := localClock(r.Time, r.Location)
	var ext Extension
	if r.Extension != nil {
		ext = *r.Extension
	}
	return e, cedar.Request{
		Principal: e.principal.UID,
		Action:    action,
		Resource:  e.resource.UID,
		Context: types.NewRecord(types.RecordMap{
			"action":                    types.String(r.Action),
			"duration_seconds":          types.Long(r.DurationSeconds),
			"justification":             types.String(r.Justification),
			"delegated":                 types.Boolean(isDelegated(r)),
			"grantee":                   types.NewEntityUID(typeUser, types.String(granteeOf(r))),
			"hour":                      hour,
			"weekday":                   weekday,
			"extension":                 types.Boolean(r.Extension != nil),
			"remaining_seconds":         types.Long(ext.RemainingSeconds),
			"extensions":                types.Long(ext.Extensions),
			"original_duration_seconds": types.Long(ext.OriginalDurationSeconds),
			"starts_in_seconds":         types.Long(max(r.StartsInSeconds, 0)),
			"active_grants":             activeGrants(r.ActiveGrants),
			"break_glass_suspended":     types.Boolean(r.BreakGlassSuspended),
		}),
	}, nil
}

// noActiveGrants is context.active_grants of a grantee with none, built by
// its first use so a decision does not allocate it. It is not built at
// package init: a Cedar value there would link Cedar's JSON encoding into
// every binary that imports this package, reads included (see schemaOf).
var (
	noActiveGrantsOnce sync.Once
	noActiveGrantsVal  types.Value
)

func noActiveGrants() types.Value {
	noActiveGrantsOnce.Do(func() {
		noActiveGrantsVal = types.NewRecord(types.RecordMap{
			"count": types.Long(0), "accounts": types.NewSet(), "resources": types.NewSet(),
			"actions": types.NewSet(), "account_actions": types.NewSet(),
		})
	})
	return noActiveGrantsVal
}

// activeGrants is context.active_grants. Cedar has no "some element of a
// set" test, so the grants are given as sets a policy can ask with
// contains: the accounts they are in, the resources and actions they give,
// and "<account>:<action>" pairs, with their count.
func activeGrants(gs []ActiveGrant) types.Value {
	if len(gs) == 0 {
		return noActiveGrants()
	}
	accounts := make([]types.Value, 0, len(gs))
	resources := make([]types.Value, 0, len(gs))
	actions := make([]types.Value, 0, len(gs))
	pairs := make([]types.Value, 0, len(gs))
	for _, g := range gs {
		if g.AccountID != "" {
			accounts = append(accounts, types.String(g.AccountID))
			pairs = append(pairs, types.String(g.AccountID+":"+g.Action))
		}
		resources = append(resources, types.String(g.ResourceID))
		actions = append(actions, types.String(g.Action))
	}
	return types.NewRecord(types.RecordMap{
		"count":           types.Long(len(gs)),
		"accounts":        types.NewSet(accounts...),
		"resources":       types.NewSet(resources...),
		"actions":         types.NewSet(actions...),
		"account_actions": types.NewSet(pairs...),
	})
}

// granteeOf returns who receives access: the grantee, or the principal when
// none is named.
func granteeOf(r Request) string {
	if r.Grantee == "" {
		return r.Principal.ID
	}
	return r.Grantee
}

// isDelegated trusts the flag, but never lets a request for someone else pass
// as a request for oneself.
func isDelegated(r Request) bool {
	return r.Delegated || granteeOf(r) != r.Principal.ID
}

// outcome turns cedar's answer into a Decision (without Mode and Approvals) and
// returns the determining permits when the answer is allow.
func (s *Set) outcome(dec cedar.Decision, diag cedar.Diagnostic, noPermit string) (Decision, []*compiled) {
	if len(diag.Errors) > 0 {
		d := Decision{
			Errors:  make([]EvalError, 0, len(diag.Errors)),
			Notices: make([]string, 0, len(diag.Errors)),
		}
		for _, e := range diag.Errors {
			d.Errors = append(d.Errors, EvalError{PolicyID: string(e.PolicyID), Message: e.Message})
			d.Notices = append(d.Notices, fmt.Sprintf("Policy %q could not be evaluated, so the request is denied: %s", e.PolicyID, e.Message))
		}
		return d, nil
	}
	if len(diag.Reasons) == 0 {
		return Decision{Notices: []string{noPermit}}, nil
	}

	d := Decision{
		Allowed:     dec == cedar.Allow,
		Determining: make([]Determining, 0, len(diag.Reasons)),
	}
	var permits []*compiled
	if d.Allowed {
		permits = make([]*compiled, 0, len(diag.Reasons))
	}
	for _, reason := range diag.Reasons {
		c := s.byID[reason.PolicyID]
		effect := "forbid"
		if c.permit {
			effect = "permit"
			permits = append(permits, c)
		}
		d.Determining = append(d.Determining, Determining{ID: c.id, Effect: effect, Annotations: maps.Clone(c.annotations)})
		switch {
		case c.notice != "":
			d.Notices = append(d.Notices, c.notice)
		case !c.permit:
			// A denial always says why, even when its policy has no @notice.
			d.Notices = append(d.Notices, fmt.Sprintf("Policy %q denies this request.", c.id))
		}
	}
	return d, permits
}

// anyTestsDelegated reports whether one of permits was written with delegated
// requests in mind.
func anyTestsDelegated(permits []*compiled) bool {
	for _, c := range permits {
		if c.testsDelegated {
			return true
		}
	}
	return false
}

// denyInvalid is the fail-closed decision for a request that cannot even be
// put to Cedar, such as an unknown resource type.
func denyInvalid(err error) Decision {
	return Decision{
		Errors:  []EvalError{{Message: err.Error()}},
		Notices: []string{"The request could not be evaluated, so it is denied: " + err.Error()},
	}
}

// hours and weekdays are the context values for the local clock, boxed once so
// a decision does not allocate them: hours[h] is h, weekdays[d] the lowercase
// English name of day d ("sunday" is 0, as in time.Weekday).
var (
	hours = [24]types.Value{
		types.Long(0), types.Long(1), types.Long(2), types.Long(3), types.Long(4), types.Long(5),
		types.Long(6), types.Long(7), types.Long(8), types.Long(9), types.Long(10), types.Long(11),
		types.Long(12), types.Long(13), types.Long(14), types.Long(15), types.Long(16), types.Long(17),
		types.Long(18), types.Long(19), types.Long(20), types.Long(21), types.Long(22), types.Long(23),
	}
	weekdays = [7]types.Value{
		types.String("sunday"), types.String("monday"), types.String("tuesday"), types.String("wednesday"),
		types.String("thursday"), types.String("friday"), types.String("saturday"),
	}
)

// localClock returns the hour (0..23) and weekday name of t in loc (UTC when
// nil) as context values.
func localClock(t time.Time, loc *time.Location) (hour, weekday types.Value) {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	return hours[t.Hour()], weekdays[t.Weekday()]
}
