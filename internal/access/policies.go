package access

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/elevate-jit/elevate/internal/policy"
)

type policyKey struct {
	tenantID string
	version  int
}

// policyCache keeps parsed policy sets by tenant and version. A version never
// changes once stored, so entries never go stale; the cache is only bounded.
//
// It holds them as any: every use case's core has a cache, and a typed map
// would make every function's binary link Cedar through the types it
// reaches (*policy.Set → *cedar.Policy and its JSON methods), even a read
// that never evaluates a policy (TestFunctionsLinkOnlyTheirNeeds).
type policyCache struct {
	mu  sync.RWMutex
	m   map[policyKey]any
	max int
}

func newPolicyCache(max int) *policyCache {
	if max <= 0 {
		max = 1024
	}
	return &policyCache{m: make(map[policyKey]any), max: max}
}

func (c *policyCache) get(k policyKey) (*policy.Set, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.m[k].(*policy.Set)
	return s, ok
}

func (c *policyCache) put(k policyKey, s *policy.Set) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for old := range c.m { // evict an arbitrary entry; versions are cheap to re-parse
			delete(c.m, old)
			break
		}
	}
	c.m[k] = s
}

// policySet returns the tenant's current parsed policy set, parsing a version
// only the first time it is used. It loads the set (policy.Load) without
// validating it against the schema again, which Parse did when it was
// stored, so functions that only decide link no schema validator.
func (s *core) policySet(ctx context.Context, t Tenant) (*policy.Set, error) {
	k := policyKey{t.ID, t.PolicyVersion}
	if set, ok := s.policies.get(k); ok {
		return set, nil
	}
	ps, err := s.store.GetPolicySet(ctx, t.ID, t.PolicyVersion)
	if err != nil {
		return nil, fmt.Errorf("load policy set %d of tenant %s: %w", t.PolicyVersion, t.ID, err)
	}
	set, err := policy.Load(fmt.Sprintf("policies-v%d.cedar", ps.Version), []byte(ps.Text))
	if err != nil {
		return nil, fmt.Errorf("stored policy set %d of tenant %s does not parse: %w", ps.Version, t.ID, err)
	}
	s.policies.put(k, set)
	return set, nil
}

// policyResource converts a resource and its ancestors for Cedar.
func policyResource(r Resource, ancestors []string) policy.Resource {
	return policy.Resource{
		Type: string(r.Type), ID: r.ID, AccountID: r.AccountID, Region: r.Region, Ancestors: ancestors,
	}
}

// decideRequest asks the tenant's policies about a would-be request, given
// the grantee's active grants and whether the grantee's break-glass is
// suspended, and records on it what they saw (Request.Context).
func (s *core) decideRequest(set *policy.Set, t Tenant, p Principal, r *Request, ancestors []string, active []policy.ActiveGrant, suspended bool, at time.Time) policy.Decision {
	req := policyRequest(t, p, *r, ancestors, at)
	req.ActiveGrants = active
	req.BreakGlassSuspended = suspended
	r.Context = decisionContext(t, req)
	return set.Decide(req)
}

// maxActiveGrants bounds the active grants separation-of-duties policies
// see: one store page (docs/design.md, "Separation of duties").
const maxActiveGrants = MaxPageSize

// activeGrants returns the grantee's active and provisioning grants as the
// policies see them, without the grant an extension extends (except). A set
// without separation-of-duties policies needs none, and costs no read.
func (s *core) activeGrants(ctx context.Context, set *policy.Set, tenantID, granteeID, except string) ([]policy.ActiveGrant, error) {
	if !set.SeparatesDuties() {
		return nil, nil
	}
	page, err := s.store.ListGrants(ctx, tenantID, GrantFilter{GranteeID: granteeID, Statuses: []GrantStatus{GrantProvisioning, GrantActive}}, PageRequest{Limit: maxActiveGrants})
	if err != nil {
		return nil, fmt.Errorf("list active grants of %s: %w", granteeID, err)
	}
	out := make([]policy.ActiveGrant, 0, len(page.Items))
	for _, g := range page.Items {
		if g.ID == except {
			continue
		}
		out = append(out, policy.ActiveGrant{ID: g.ID, ResourceType: string(g.Resource.Type), ResourceID: g.Resource.ID, AccountID: g.Resource.TargetAccount(), Action: g.Action})
	}
	return out, nil
}

// ConflictsOf converts the policies' conflicts for a request.
func ConflictsOf(d policy.Decision) []Conflict {
	if len(d.Conflicts) == 0 {
		return nil
	}
	out := make([]Conflict, len(d.Conflicts))
	for i, c := range d.Conflicts {
		enforce := "require"
		if c.Deny {
			enforce = "deny"
		}
		out[i] = Conflict{PolicyID: c.PolicyID, Name: c.Name, Enforce: enforce, GrantIDs: c.GrantIDs}
	}
	return out
}

// decisionContext is what a request records of what its policies saw.
func decisionContext(t Tenant, req policy.Request) *DecisionContext {
	c := &DecisionContext{Groups: slices.Clone(req.Principal.Groups), Ancestors: slices.Clone(req.Resource.Ancestors)}
	if z := t.Settings.TimeZone; z != "UTC" {
		c.TimeZone = z
	}
	if e := req.Extension; e != nil {
		c.Extension = &ExtensionContext{RemainingSeconds: e.RemainingSeconds, Extensions: e.Extensions, OriginalDurationSeconds: e.OriginalDurationSeconds}
	}
	for _, g := range req.ActiveGrants {
		c.ActiveGrants = append(c.ActiveGrants, ActiveGrantContext(g))
	}
	c.BreakGlassSuspended = req.BreakGlassSuspended
	return c
}

// replayRequest is what the policies saw of a recorded request, rebuilt from
// the request and its Context; complete is false for a request recorded
// without one (its groups and organization are then unknown).
func replayRequest(r Request) (req policy.Request, complete bool) {
	c := r.Context
	complete = c != nil
	if c == nil {
		c = &DecisionContext{}
	}
	loc := time.UTC
	if c.TimeZone != "" {
		if l, err := time.LoadLocation(c.TimeZone); err == nil {
			loc = l
		}
	}
	req = policy.Request{
		Principal:       policy.User{ID: r.RequesterID, Groups: c.Groups},
		BreakGlass:      r.BreakGlass,
		Resource:        policyResource(r.Resource, c.Ancestors),
		Action:          r.Action,
		DurationSeconds: r.DurationSeconds,
		Justification:   r.Justification,
		Grantee:         r.GranteeID,
		Delegated:       r.Delegated(),
		Time:            r.CreatedAt,
		Location:        loc,
		StartsInSeconds: startsIn(r, r.CreatedAt),
	}
	if e := c.Extension; e != nil {
		req.Extension = &policy.Extension{RemainingSeconds: e.RemainingSeconds, Extensions: e.Extensions, OriginalDurationSeconds: e.OriginalDurationSeconds}
	}
	for _, g := range c.ActiveGrants {
		req.ActiveGrants = append(req.ActiveGrants, policy.ActiveGrant(g))
	}
	req.BreakGlassSuspended = c.BreakGlassSuspended
	return req, complete
}

// policyRequest is what the policies see of a would-be request.
func policyRequest(t Tenant, p Principal, r Request, ancestors []string, at time.Time) policy.Request {
	return policy.Request{
		Principal:       policy.User{ID: p.ID, Groups: p.Groups},
		BreakGlass:      r.BreakGlass,
		Resource:        policyResource(r.Resource, ancestors),
		Action:          r.Action,
		DurationSeconds: r.DurationSeconds,
		Justification:   r.Justification,
		Grantee:         r.GranteeID,
		Delegated:       r.Delegated(),
		Time:            at,
		Location:        t.Settings.Location(),
		StartsInSeconds: startsIn(r, at),
	}
}

// mayDecide asks the tenant's policies whether approver may approve or deny r.
// The self-approval rule is checked before and regardless of this, and the
// policy package applies it again to resolved identities.
func (s *core) mayDecide(ctx context.Context, t Tenant, approver Principal, person Person, r Request, at time.Time) (policy.Decision, error) {
	set, err := s.policySet(ctx, t)
	if err != nil {
		return policy.Decision{}, err
	}
	return set.MayApprove(policy.ApproveRequest{
		Approver: policy.User{ID: approver.ID, Groups: approver.Groups, IdentityStoreID: person.UserID},
		Request: policy.RequestInfo{
			ID: r.ID, Requester: r.RequesterID, Grantee: r.GranteeID,
			RequesterIdentityStoreID: r.RequesterUserID, GranteeIdentityStoreID: r.GranteeUserID,
			Resource: policyResource(r.Resource, nil), Action: r.Action, DurationSeconds: r.DurationSeconds,
			BreakGlass: r.BreakGlass, Delegated: r.Delegated(), Justification: r.Justification,
		},
		Time:      at,
		Location:  t.Settings.Location(),
		Escalated: r.Escalated(at),
	}), nil
}

// withConflicts adds a request's separation-of-duties conflicts to its
// audit details: the policy ids, comma-separated, when there are any.
func withConflicts(details map[string]any, cs []Conflict) map[string]any {
	if len(cs) == 0 {
		return details
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.PolicyID
	}
	details["conflicts"] = strings.Join(ids, ",")
	return details
}
