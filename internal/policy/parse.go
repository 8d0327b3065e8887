package policy

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// Limits on a tenant's policy text, so one tenant cannot make parsing or
// deciding expensive for everyone.
const (
	maxTextBytes = 256 << 10
	maxPolicies  = 2000
	maxNotice    = 500
	maxApprovals = 10
)

// Annotation keys Elevate gives meaning to.
const (
	annotationID        = "id"
	annotationApproval  = "approval"
	annotationApprovals = "approvals"
	annotationNotice    = "notice"
	// @escalate_after("PT30M") and @escalate_to("group") on a permit that
	// requires approval widen who may approve a pending request it decided:
	// after that time, members of the group may decide it too (the approve
	// action sees context.escalated).
	annotationEscalateAfter = "escalate_after"
	annotationEscalateTo    = "escalate_to"
	// @end_sessions("true"|"false") on a permit says whether the open
	// sessions of the access it grants are cut when the grant ends
	// (docs/revocation.md), over the tenant's end_sessions setting.
	annotationEndSessions = "end_sessions"
	annotationSoD         = "sod"
	annotationSoDEnforce  = "sod_enforce"
)

// The bounds of @escalate_after.
const (
	minEscalateAfter = time.Minute
	maxEscalateAfter = 7 * 24 * time.Hour
)

// Set is a parsed policy set (schema-validated by Parse, or validated when it
// was stored and loaded with Load), built once per policy version and safe
// for concurrent use; Decide and MayApprove never re-parse.
type Set struct {
	all  []*compiled
	byID map[cedar.PolicyID]*compiled

	// ouChain is true when some policy tests `X in Y` with an X that may be an
	// OU other than the resource; only then does Decide need the OU entities.
	ouChain bool

	// Policies whose action scope can match each action, in text order. A
	// policy whose scope cannot match an action is false for it without
	// evaluating its conditions, so leaving it out changes no decision.
	request, breakGlass, approve policyList
	// Separation-of-duties policies (forbid with @sod) for each access
	// action: left out of request and breakGlass, evaluated apart by
	// sodConflicts.
	sodRequest, sodBreakGlass policyList
}

// compiled is one policy with the annotations Elevate reads, precomputed.
type compiled struct {
	id        string
	policy    *cedar.Policy
	permit    bool
	auto      bool   // @approval("auto")
	approvals int    // @approvals("N"), 0 when absent
	notice    string // @notice, "" when absent
	// escalateAfter and escalateTo are @escalate_after and @escalate_to
	// (zero and "" when absent).
	escalateAfter time.Duration
	escalateTo    string
	endSessions   string // @end_sessions: "true", "false" or "" when absent
	sod           string // @sod name: a separation-of-duties forbid; "" when absent
	sodDeny       bool   // @sod_enforce("deny")
	annotations   map[string]string
	// testsDelegated is true when a condition reads context.delegated, which
	// lets a permit auto-approve or break glass for delegated requests.
	testsDelegated bool
	// needsOUChain is true when a condition asks whether an arbitrary entity
	// expression is in something (see Set.ouChain).
	needsOUChain bool
	// principalScope and resourceScope let Decide skip policies whose scope
	// cannot match without asking the evaluator.
	principalScope, resourceScope scopeNeed
}

// policyList is policies in text order, so diagnostics and notices are
// deterministic.
type policyList []*compiled

// ParseError reports every problem found in a policy text, so an author can fix
// them all at once.
type ParseError struct {
	Problems []Problem
}

// Error joins the problems into one readable line.
func (e *ParseError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("invalid policy set: ")
	} else {
		fmt.Fprintf(&b, "invalid policy set (%d problems): ", len(e.Problems))
	}
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Problem is one thing wrong with a policy text, located as precisely as the
// parser allows.
type Problem struct {
	PolicyID     string // "" when the problem is not tied to one policy
	Line, Column int    // 1-based position of the policy (or of the syntax error); 0 if unknown
	Message      string
}

// String formats the problem as "line L, column C: policy "id": message".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", p.Line, p.Column)
	}
	if p.PolicyID != "" {
		fmt.Fprintf(&b, "policy %q: ", p.PolicyID)
	}
	b.WriteString(p.Message)
	return b.String()
}

// Parse parses text as Cedar, checks Elevate's annotations and validates every
// policy against the schema; the error is a *ParseError listing every problem.
// It is for text being written or tried: a policy set to store, a draft, a
// new tenant's set.
func Parse(filename string, text []byte) (*Set, error) {
	return build(filename, text, validatePolicy)
}

// Load is Parse without the schema validation, for a policy set that Parse
// validated when it was stored: it still parses and checks annotations, ids
// and limits, and reports the same *ParseError for them. It exists so a
// function that only decides with a tenant's stored set links none of
// Cedar's schema parser, resolver and validator.
//
// A stored set stays valid only while the schema keeps everything it could
// name. A policy that reads an attribute the schema dropped still fails
// closed: the evaluation error denies the request and names the policy (see
// Set.outcome). A policy that names an entity type or action the schema
// dropped or renamed would instead simply stop matching, and a forbid that
// stops matching stops denying, so Load refuses it (the schema's names are
// written out: schemaEntityTypes, actionEntities), and the set does not
// load. Beyond that the schema may only grow: TestSchemaOnlyGrows holds it
// to the last released one, and anything dropped or changed needs a
// migration of the stored sets first.
func Load(filename string, text []byte) (*Set, error) {
	return build(filename, text, nil)
}

// build parses and compiles text, validating each policy with validate
// unless it is nil. Only Parse passes the validator, so only binaries that
// call Parse link it.
func build(filename string, text []byte, validate func(*xast.Policy) []string) (*Set, error) {
	if len(text) > maxTextBytes {
		return nil, &ParseError{Problems: []Problem{{
			Message: fmt.Sprintf("the policy text is %d bytes; the limit is %d bytes (256 KiB)", len(text), maxTextBytes),
		}}}
	}
	if p := tooDeep(text); p != nil {
		return nil, &ParseError{Problems: []Problem{*p}}
	}
	list, err := cedar.NewPolicyListFromBytes(filename, text)
	if err != nil {
		return nil, &ParseError{Problems: []Problem{syntaxProblem(text, err)}}
	}
	if len(list) > maxPolicies {
		return nil, &ParseError{Problems: []Problem{{
			Message: fmt.Sprintf("the policy text has %d policies; the limit is %d", len(list), maxPolicies),
		}}}
	}

	s := &Set{
		all:  make([]*compiled, 0, len(list)),
		byID: make(map[cedar.PolicyID]*compiled, len(list)),
	}
	var problems []Problem
	firstLine := make(map[string]int, len(list))
	for _, p := range list {
		c, probs := compile(p, validate)
		problems = append(problems, probs...)
		if c.id == "" {
			continue
		}
		if line, dup := firstLine[c.id]; dup {
			pos := p.Position()
			problems = append(problems, Problem{
				PolicyID: c.id, Line: pos.Line, Column: pos.Column,
				Message: fmt.Sprintf("duplicate @id %q: the policy at line %d already uses it", c.id, line),
			})
			continue
		}
		firstLine[c.id] = p.Position().Line
		if len(probs) > 0 {
			continue
		}
		s.all = append(s.all, c)
		s.byID[cedar.PolicyID(c.id)] = c
		s.ouChain = s.ouChain || c.needsOUChain
		scope := p.AST().Action
		request, breakGlass := &s.request, &s.breakGlass
		if c.sod != "" {
			request, breakGlass = &s.sodRequest, &s.sodBreakGlass
		}
		if actionScopeMatches(scope, actionRequest) {
			*request = append(*request, c)
		}
		if actionScopeMatches(scope, actionBreakGlass) {
			*breakGlass = append(*breakGlass, c)
		}
		if actionScopeMatches(scope, actionApprove) {
			s.approve = append(s.approve, c)
		}
	}
	if len(problems) > 0 {
		return nil, &ParseError{Problems: problems}
	}
	return s, nil
}

var (
	defaultOnce sync.Once
	defaultSet  *Set
)

// MustDefault returns the parsed DefaultText, parsing it once; it panics only
// if the embedded default set is invalid, which the tests rule out.
func MustDefault() *Set {
	defaultOnce.Do(func() {
		s, err := Parse("default.cedar", []byte(DefaultText))
		if err != nil {
			panic(fmt.Sprintf("policy: embedded default set is invalid: %v", err))
		}
		defaultSet = s
	})
	return defaultSet
}

// Len returns the number of policies in the set.
func (s *Set) Len() int { return len(s.all) }

// IDs returns the policy ids in text order.
func (s *Set) IDs() []string {
	ids := make([]string, len(s.all))
	for i, c := range s.all {
		ids[i] = c.id
	}
	return ids
}

// compile reads Elevate's annotations of p, validates p with validate (when
// not nil) and returns every problem found; c.id is "" when the policy has no
// usable @id.
func compile(p *cedar.Policy, validate func(*xast.Policy) []string) (*compiled, []Problem) {
	pos := p.Position()
	x := (*xast.Policy)(p.AST())
	c := &compiled{
		policy:      p,
		permit:      x.Effect == xast.EffectPermit,
		annotations: make(map[string]string, len(x.Annotations)),
	}
	for _, a := range x.Annotations {
		c.annotations[string(a.Key)] = string(a.Value)
	}

	var problems []Problem
	problem := func(format string, args ...any) {
		problems = append(problems, Problem{PolicyID: c.id, Line: pos.Line, Column: pos.Column, Message: fmt.Sprintf(format, args...)})
	}

	id, ok := c.annotations[annotationID]
	switch {
	case !ok:
		problem(`the policy has no @id("…") annotation; every policy needs a unique id`)
	case strings.TrimSpace(id) == "":
		problem("@id must not be empty")
	default:
		c.id = id
	}

	if v, ok := c.annotations[annotationApproval]; ok {
		switch {
		case !c.permit:
			problem("@approval only applies to permit policies")
		case v == "auto":
			c.auto = true
		case v == "require":
		default:
			problem(`@approval must be "auto" or "require", not %q`, v)
		}
	}
	if v, ok := c.annotations[annotationApprovals]; ok {
		n, err := parseApprovals(v)
		switch {
		case !c.permit:
			problem("@approvals only applies to permit policies")
		case err != nil:
			problem("@approvals must be a whole number from 1 to %d, not %q", maxApprovals, v)
		default:
			c.approvals = n
		}
	}
	if v, ok := c.annotations[annotationEndSessions]; ok {
		switch {
		case !c.permit:
			problem("@end_sessions only applies to permit policies")
		case v != "true" && v != "false":
			problem(`@end_sessions must be "true" or "false", not %q`, v)
		default:
			c.endSessions = v
		}
	}
	after, hasAfter := c.annotations[annotationEscalateAfter]
	to, hasTo := c.annotations[annotationEscalateTo]
	switch {
	case !hasAfter && !hasTo:
	case !c.permit:
		problem("@escalate_after and @escalate_to only apply to permit policies")
	case hasAfter != hasTo:
		problem("@escalate_after and @escalate_to go together: name both the time and the group")
	default:
		d, err := ParseISODuration(after)
		switch {
		case err != nil:
			problem("@escalate_after must be an ISO 8601 duration such as \"PT30M\", not %q", after)
		case d < minEscalateAfter || d > maxEscalateAfter:
			problem("@escalate_after must be between PT1M and P7D, not %q", after)
		default:
			c.escalateAfter = d
		}
		switch {
		case strings.TrimSpace(to) == "" || strings.TrimSpace(to) != to:
			problem("@escalate_to must name a group, without leading or trailing spaces")
		case len(to) > 256 || strings.ContainsFunc(to, unicode.IsControl):
			problem("@escalate_to must be at most 256 characters, without control characters")
		default:
			c.escalateTo = to
		}
	}
	if v, ok := c.annotations[annotationNotice]; ok {
		switch n := utf8.RuneCountInString(v); {
		case strings.TrimSpace(v) == "":
			problem("@notice must not be empty")
		case n > maxNotice:
			problem("@notice is %d characters long; the limit is %d", n, maxNotice)
		default:
			c.notice = v
		}
	}

	if v, ok := c.annotations[annotationSoD]; ok {
		switch {
		case c.permit:
			problem("@sod only applies to forbid policies")
		case strings.TrimSpace(v) == "":
			problem("@sod must name the separation-of-duties rule")
		case actionScopeMatches(x.Action, actionApprove):
			problem("@sod applies to requests: its action must be request, break_glass or access")
		default:
			c.sod = v
		}
	}
	if v, ok := c.annotations[annotationSoDEnforce]; ok {
		switch {
		case c.annotations[annotationSoD] == "":
			problem("@sod_enforce only applies to @sod policies")
		case v == "deny":
			c.sodDeny = true
		case v == "require":
		default:
			problem(`@sod_enforce must be "require" or "deny", not %q`, v)
		}
	}

	if validate != nil {
		for _, m := range validate(x) {
			problem("%s", m)
		}
	} else {
		for _, name := range unknownNames(x) {
			problem("the policy names %s, which Elevate's schema does not have; save the policy set again under the current schema", name)
		}
	}
	c.testsDelegated = readsContextAttribute(x, "delegated")
	c.needsOUChain = hasOpaqueIn(x)
	c.principalScope = needOf(x.Principal)
	c.resourceScope = needOf(x.Resource)
	return c, problems
}

// parseApprovals accepts only plain decimal digits ("2", not "+2" or " 2").
func parseApprovals(v string) (int, error) {
	if v == "" || len(v) > 2 || strings.TrimLeft(v, "0123456789") != "" {
		return 0, errors.New("not a small decimal number")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxApprovals {
		return 0, errors.New("out of range")
	}
	return n, nil
}

// readsContextAttribute reports whether any condition of p reads
// context.<name> (or context["<name>"]).
func readsContextAttribute(p *xast.Policy, name string) bool {
	found := false
	for _, cond := range p.Conditions {
		xast.Inspect(xast.NewNode(cond.Body), func(n xast.IsNode) bool {
			if found {
				return false
			}
			if a, ok := n.(xast.NodeTypeAccess); ok && string(a.Value) == name {
				if v, ok := a.Arg.(xast.NodeTypeVariable); ok && v.Name == "context" {
					found = true
					return false
				}
			}
			return true
		})
	}
	return found
}

// hasOpaqueIn reports whether a condition of p tests `X in Y` or `X is T in Y`
// where X is not a variable or an attribute of one.
//
// Decide gives the resource and its account all their ancestors as direct
// parents, so membership of principal, resource, or any entity attribute is
// answered without the OU entities themselves. No attribute in the schema is
// an OU, so only an expression such as an entity literal
// (Elevate::OrganizationalUnit::"ou-…" in …) can reach an OU other than the
// resource; for such policies Decide adds the OU chain. Without it, the
// evaluator would walk the chain, allocating, on every `resource in` that does
// not match.
func hasOpaqueIn(p *xast.Policy) bool {
	found := false
	for _, cond := range p.Conditions {
		xast.Inspect(xast.NewNode(cond.Body), func(n xast.IsNode) bool {
			switch n := n.(type) {
			case xast.NodeTypeIn:
				found = found || !isVariablePath(n.Left)
			case xast.NodeTypeIsIn:
				found = found || !isVariablePath(n.Left)
			}
			return !found
		})
	}
	return found
}

// isVariablePath reports whether n is principal, resource, action or context,
// or a chain of attribute accesses on one of them.
func isVariablePath(n xast.IsNode) bool {
	for {
		switch v := n.(type) {
		case xast.NodeTypeVariable:
			return true
		case xast.NodeTypeAccess:
			n = v.Arg
		default:
			return false
		}
	}
}

// actionScopeMatches reports whether a policy's action scope can be satisfied
// by action, following the schema's action groups.
func actionScopeMatches(scope xast.IsActionScopeNode, action types.EntityUID) bool {
	switch sc := scope.(type) {
	case xast.ScopeTypeAll:
		return true
	case xast.ScopeTypeEq:
		return sc.Entity == action
	case xast.ScopeTypeIn:
		return actionIn(action, sc.Entity)
	case xast.ScopeTypeInSet:
		for _, e := range sc.Entities {
			if actionIn(action, e) {
				return true
			}
		}
		return false
	}
	return true // unknown scope kinds are evaluated rather than guessed
}

// actionIn reports whether action is group or a member of it, transitively.
func actionIn(action, group types.EntityUID) bool {
	seen := 0
	for todo := []types.EntityUID{action}; len(todo) > 0 && seen < 64; seen++ {
		a := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if a == group {
			return true
		}
		if e, ok := actionEntity(a); ok {
			todo = append(todo, e.Parents.Slice()...)
		}
	}
	return false
}

// isoDuration matches the ISO 8601 durations ParseISODuration reads,
// compiled on first use (no package init code: see schemaOf).
var (
	isoDurationOnce sync.Once
	isoDurationRE   *regexp.Regexp
)

func isoDuration() *regexp.Regexp {
	isoDurationOnce.Do(func() {
		isoDurationRE = regexp.MustCompile(`^P(?:(\d{1,4})D)?(?:T(?:(\d{1,5})H)?(?:(\d{1,6})M)?(?:(\d{1,7})S)?)?$`)
	})
	return isoDurationRE
}

// ParseISODuration reads an ISO 8601 duration of days, hours, minutes and
// seconds ("PT30M", "P1DT2H"); years, months, weeks and fractions are not
// accepted.
func ParseISODuration(s string) (time.Duration, error) {
	m := isoDuration().FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration of days, hours, minutes and seconds", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.Atoi(m[i+1])
		if err != nil {
			return 0, err
		}
		d += time.Duration(n) * unit
	}
	return d, nil
}
