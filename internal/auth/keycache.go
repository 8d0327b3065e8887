package auth

import (
	"context"
	"errors"
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
	*ttlCache[keyResult]
	store  KeyStore
	ttl    time.Duration
	negTTL time.Duration
}

// keyResult is one lookup: the key, or found false for an unknown id.
type keyResult struct {
	key   access.APIKey
	found bool
}

func newKeyCache(store KeyStore, now func() time.Time, ttl, negTTL time.Duration, size int) *keyCache {
	return &keyCache{ttlCache: newTTLCache[keyResult](now, size), store: store, ttl: ttl, negTTL: negTTL}
}

// get returns the key with this id; found is false when the store has none.
// Store failures other than not-found are returned and not cached.
func (c *keyCache) get(ctx context.Context, id string) (key access.APIKey, found bool, err error) {
	if r, ok := c.ttlCache.get(id); ok {
		return r.key, r.found, nil
	}
	key, err = c.store.GetAPIKey(ctx, id)
	switch {
	case errors.Is(err, access.ErrNotFound):
		c.put(id, keyResult{}, c.negTTL)
		return access.APIKey{}, false, nil
	case err != nil:
		return access.APIKey{}, false, err
	}
	c.put(id, keyResult{key: key, found: true}, c.ttl)
	return key, true, nil
}
