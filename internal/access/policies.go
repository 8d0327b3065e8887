package access

import (
	"context"
	"fmt"
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

// decideRequest asks the tenant's policies about a would-be request.
func (s *core) decideRequest(set *policy.Set, t Tenant, p Principal, r Request, ancestors []string, at time.Time) policy.Decision {
	return set.Decide(policyRequest(t, p, r, ancestors, at))
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
