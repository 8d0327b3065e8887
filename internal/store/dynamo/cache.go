package dynamo

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// maxCachedTenants bounds the tenant cache; past it, the cache starts over.
const maxCachedTenants = 10000

// tenantCache keeps tenants read or written by this Store for a short time,
// since every API call reads its tenant. Commits of this Store replace or
// drop their tenants at once; changes made by other processes show within
// the TTL. Entries are deep copies, so callers share no memory with it.
type tenantCache struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]cachedTenant
}

type cachedTenant struct {
	t       access.Tenant
	expires time.Time
}

func newTenantCache(ttl time.Duration, now func() time.Time) *tenantCache {
	return &tenantCache{ttl: ttl, now: now, m: map[string]cachedTenant{}}
}

// get returns a copy of a cached tenant that has not expired.
func (c *tenantCache) get(id string) (access.Tenant, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || !c.now().Before(e.expires) {
		return access.Tenant{}, false
	}
	return cloneTenant(e.t), true
}

// put caches a copy of t, unless a newer revision of it is cached: a read
// that started before a commit must not undo the commit's entry.
func (c *tenantCache) put(t access.Tenant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if e, ok := c.m[t.ID]; ok && e.t.Revision > t.Revision && now.Before(e.expires) {
		return
	}
	if len(c.m) >= maxCachedTenants {
		clear(c.m)
	}
	c.m[t.ID] = cachedTenant{t: cloneTenant(t), expires: now.Add(c.ttl)}
}

// drop forgets a tenant, after a commit that touched it failed.
func (c *tenantCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// cloneTenant deep-copies a tenant.
func cloneTenant(t access.Tenant) access.Tenant {
	s := &t.Settings
	s.GroupRoles = maps.Clone(s.GroupRoles)
	s.AllowedRoots = slices.Clone(s.AllowedRoots)
	t.Boundary.AllowedRoots = slices.Clone(t.Boundary.AllowedRoots)
	t.Boundary.Assignable = slices.Clone(t.Boundary.Assignable)
	if t.Catalog != nil {
		cat := make(access.Catalog, len(t.Catalog))
		for k, v := range t.Catalog {
			cat[k] = slices.Clone(v)
		}
		t.Catalog = cat
	}
	return t
}
