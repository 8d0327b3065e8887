package auth

import (
	"container/list"
	"sync"
	"time"
)

// ttlCache remembers values by key for a time each, up to size entries;
// when full it evicts the oldest entry first. It is safe for concurrent use.
type ttlCache[V any] struct {
	now  func() time.Time
	size int

	mu      sync.Mutex
	entries map[string]*list.Element // of *ttlEntry[V], oldest at the front
	order   *list.List
}

type ttlEntry[V any] struct {
	key     string
	value   V
	expires time.Time
}

func newTTLCache[V any](now func() time.Time, size int) *ttlCache[V] {
	return &ttlCache[V]{now: now, size: size, entries: map[string]*list.Element{}, order: list.New()}
}

// get returns the value of key if it has not expired.
func (c *ttlCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*ttlEntry[V])
		if c.now().Before(e.expires) {
			return e.value, true
		}
		c.remove(el)
	}
	var zero V
	return zero, false
}

// put remembers value under key for ttl; a cache of size 0 or a ttl of 0
// remembers nothing.
func (c *ttlCache[V]) put(key string, value V, ttl time.Duration) {
	if c.size <= 0 || ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	for c.order.Len() >= c.size {
		c.remove(c.order.Front())
	}
	c.entries[key] = c.order.PushBack(&ttlEntry[V]{key: key, value: value, expires: c.now().Add(ttl)})
}

// forget drops what the cache knows of key.
func (c *ttlCache[V]) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
}

func (c *ttlCache[V]) remove(el *list.Element) {
	delete(c.entries, el.Value.(*ttlEntry[V]).key)
	c.order.Remove(el)
}
