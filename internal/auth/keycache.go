package auth

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// Key cache limits. Revocation must take effect within 60 s (README, Authentication), so
// no key is cached longer than MaxKeyCacheTTL.
const (
	MaxKeyCacheTTL          = 60 * time.Second
	DefaultKeyCacheTTL      = 30 * time.Second
	DefaultKeyCacheSize     = 10000
	DefaultNegativeCacheTTL = 5 * time.Second
)

// keyCache remembers API key lookups by key id for a short time, so a warm
// process does not read the key on every call; unknown ids are remembered
// briefly too, to blunt guessing. Entries are evicted oldest first when full.
type keyCache struct {
	store  KeyStore
	now    func() time.Time
	ttl    time.Duration
	negTTL time.Duration
	size   int

	mu      sync.Mutex
	entries map[string]*list.Element // of *keyEntry, oldest at the front
	order   *list.List
}

type keyEntry struct {
	id      string
	key     access.APIKey
	found   bool
	expires time.Time
}

func newKeyCache(store KeyStore, now func() time.Time, ttl, negTTL time.Duration, size int) *keyCache {
	return &keyCache{
		store: store, now: now, ttl: ttl, negTTL: negTTL, size: size,
		entries: make(map[string]*list.Element), order: list.New(),
	}
}

// get returns the key with this id; found is false when the store has none.
// Store failures other than not-found are returned and not cached.
func (c *keyCache) get(ctx context.Context, id string) (key access.APIKey, found bool, err error) {
	now := c.now()
	c.mu.Lock()
	if el, ok := c.entries[id]; ok {
		e := el.Value.(*keyEntry)
		if now.Before(e.expires) {
			c.mu.Unlock()
			return e.key, e.found, nil
		}
		c.remove(el)
	}
	c.mu.Unlock()

	key, err = c.store.GetAPIKey(ctx, id)
	switch {
	case errors.Is(err, access.ErrNotFound):
		c.put(&keyEntry{id: id, expires: now.Add(c.negTTL)})
		return access.APIKey{}, false, nil
	case err != nil:
		return access.APIKey{}, false, err
	}
	c.put(&keyEntry{id: id, key: key, found: true, expires: now.Add(c.ttl)})
	return key, true, nil
}

func (c *keyCache) put(e *keyEntry) {
	if c.size <= 0 || !e.expires.After(c.now()) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.id]; ok {
		c.remove(el)
	}
	for c.order.Len() >= c.size {
		c.remove(c.order.Front())
	}
	c.entries[e.id] = c.order.PushBack(e)
}

// forget drops what the cache knows of a key id.
func (c *keyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[id]; ok {
		c.remove(el)
	}
}

func (c *keyCache) remove(el *list.Element) {
	delete(c.entries, el.Value.(*keyEntry).id)
	c.order.Remove(el)
}
