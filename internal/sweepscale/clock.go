package sweepscale

import (
	"sync"
	"time"
)

// simClock is the sweeper's simulated time: table calls take storeLatency
// each, and Identity Center calls take one slot of 1/tps each, one after
// another (the caller's pacing at tps, with each call taking its slot).
type simClock struct {
	mu           sync.Mutex
	now          time.Duration
	nextSlot     time.Duration
	slot         time.Duration
	storeLatency time.Duration
}

func newSimClock(tps int, storeLatency time.Duration) *simClock {
	return &simClock{slot: time.Second / time.Duration(tps), storeLatency: storeLatency}
}

// Now is the simulated time since the sweep began.
func (c *simClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// pace starts an Identity Center call at the caller's next slot and returns
// its start; the call ends a slot later.
func (c *simClock) pace() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := max(c.now, c.nextSlot)
	c.nextSlot = start + c.slot
	c.now = start + c.slot
	return start
}

// store passes the time of one table (or queue) call.
func (c *simClock) store() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now += c.storeLatency
}
