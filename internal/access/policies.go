package access

import (
	"context"
	"fmt"
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
type policyCache struct {
	mu  sync.RWMutex
	m   map[policyKey]*policy.Set
	max int
}

func newPolicyCache(max int) *policyCache {
	if max <= 0 {
		max = 1024
	}
	return &policyCache{m: make(map[policyKey]*policy.Set), max: max}
}

func (c *policyCache) get(k policyKey) (*policy.Set, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.m[k]
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
// only the first time it is used.
func (s *core) policySet(ctx context.Context, t Tenant) (*policy.Set, error) {
	k := policyKey{t.ID, t.PolicyVersion}
	if set, ok := s.policies.get(k); ok {
		return set, nil
	}
	ps, err := s.store.GetPolicySet(ctx, t.ID, t.PolicyVersion)
	if err != nil {
		return nil, fmt.Errorf("load policy set %d of tenant %s: %w", t.PolicyVersion, t.ID, err)
	}
	set, err := policy.Parse(fmt.Sprintf("policies-v%d.cedar", ps.Version), []byte(ps.Text))
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
// the grantee's active grants.
func (s *core) decideRequest(set *policy.Set, t Tenant, p Principal, r Request, ancestors []string, active []policy.ActiveGrant, at time.Time) policy.Decision {
	req := policyRequest(t, p, r, ancestors, at)
	req.ActiveGrants = active
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
		Time:     at,
		Location: t.Settings.Location(),
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
