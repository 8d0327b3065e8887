// Package fairshare shares a small pool of slots between owners (Identity
// Center's ten assignment creations in progress, between tenants) so that
// one owner's bulk work cannot starve another's single item.
//
// The rule: the contenders are the owners holding slots, the owners refused
// within the last Waiting, and the owner asking. Each may hold at most its
// share, the pool divided by the contenders (at least one). Alone, an owner
// may take the whole pool; as soon as another owner is refused, the first
// takes no new slot until it holds less than its share, so the next slot
// its work frees goes to the owner that waited.
package fairshare

import "time"

// Waiting is how long a refused owner counts as a contender.
const Waiting = time.Minute

// Pool is the state of a pool: who holds how many slots, and who was
// refused when.
type Pool struct {
	Size    int
	Held    map[string]int       // owner → slots held
	Refused map[string]time.Time // owner → last refusal
}

// Admit reports whether owner may take one more slot at now.
func (p Pool) Admit(owner string, now time.Time) bool {
	total := 0
	contenders := map[string]bool{owner: true}
	for o, n := range p.Held {
		total += n
		if n > 0 {
			contenders[o] = true
		}
	}
	for o, at := range p.Refused {
		if now.Sub(at) < Waiting {
			contenders[o] = true
		}
	}
	share := max(1, p.Size/len(contenders))
	return total < p.Size && p.Held[owner] < share
}
