package access

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestLedgerTransitions walks every pair of ledger states (with "no entry"
// as one of them) through the transition table.
func TestLedgerTransitions(t *testing.T) {
	all := append([]LedgerState{ledgerGone}, LedgerStates...)
	allowed := map[[2]LedgerState]bool{
		{ledgerGone, LedgerCreating}: true, {ledgerGone, LedgerActive}: true,
		{LedgerCreating, LedgerCreating}: true, {LedgerCreating, LedgerActive}: true,
		{LedgerCreating, LedgerDeleting}: true, {LedgerCreating, ledgerGone}: true,
		{LedgerActive, LedgerActive}: true, {LedgerActive, LedgerCreating}: true, {LedgerActive, LedgerDeleting}: true, {LedgerActive, ledgerGone}: true,
		{LedgerDeleting, LedgerDeleting}: true, {LedgerDeleting, ledgerGone}: true,
	}
	for _, from := range all {
		for _, to := range all {
			want := allowed[[2]LedgerState{from, to}]
			if got := from.CanBecome(to); got != want {
				t.Errorf("%q → %q: CanBecome = %v, want %v", from, to, got, want)
			}
			e := LedgerEntry{State: from}
			err := e.to(to, time.Unix(0, 0))
			if (err == nil) != want {
				t.Errorf("%q → %q: to() = %v, want allowed %v", from, to, err, want)
			}
			if err == nil && e.Deleted != (to == ledgerGone) {
				t.Errorf("%q → %q: Deleted = %v", from, to, e.Deleted)
			}
		}
	}
}

// TestLedgerOperations checks each named operation from each state: the
// state it leads to, or its refusal.
func TestLedgerOperations(t *testing.T) {
	now := time.Unix(1000, 0)
	a, b := Holder{"t1", "g1"}, Holder{"t2", "g2"}
	key := AssignmentKey{"i", "u", "111122223333", "p"}
	entry := func(state LedgerState, holders ...Holder) LedgerEntry {
		e := LedgerEntry{Key: key, State: state, Holders: holders}
		if state == LedgerCreating && len(holders) > 0 {
			e.Issuer = holders[0]
		}
		return e
	}
	type result struct {
		state   LedgerState
		release release
		holders []Holder
		issuer  Holder
		err     bool
	}
	tests := []struct {
		name string
		e    LedgerEntry
		op   func(e *LedgerEntry) (release, error)
		want result
	}{
		{"join creating", entry(LedgerCreating, a), func(e *LedgerEntry) (release, error) { return 0, e.join(b, now) },
			result{state: LedgerCreating, holders: []Holder{a, b}, issuer: a}},
		{"join active", entry(LedgerActive, a), func(e *LedgerEntry) (release, error) { return 0, e.join(b, now) },
			result{state: LedgerActive, holders: []Holder{a, b}}},
		{"join twice", entry(LedgerActive, a), func(e *LedgerEntry) (release, error) { return 0, e.join(a, now) },
			result{state: LedgerActive, holders: []Holder{a}}},
		{"join deleting", entry(LedgerDeleting, a), func(e *LedgerEntry) (release, error) { return 0, e.join(b, now) },
			result{state: LedgerDeleting, holders: []Holder{a}, err: true}},
		{"issue a creation", entry(LedgerCreating, a), func(e *LedgerEntry) (release, error) { return 0, e.issueCreation(now) },
			result{state: LedgerCreating, holders: []Holder{a}, issuer: a}},
		{"recreate a vanished assignment", func() LedgerEntry { e := entry(LedgerActive, a); e.External = true; return e }(),
			func(e *LedgerEntry) (release, error) { return 0, e.recreate([]Holder{b}, now) },
			result{state: LedgerCreating, holders: []Holder{b}}},
		{"recreate a creating entry", entry(LedgerCreating, a), func(e *LedgerEntry) (release, error) { return 0, e.recreate([]Holder{b}, now) },
			result{state: LedgerCreating, holders: []Holder{a}, issuer: a, err: true}},
		{"issue on a deleting entry", entry(LedgerDeleting, a), func(e *LedgerEntry) (release, error) { return 0, e.issueCreation(now) },
			result{state: LedgerDeleting, holders: []Holder{a}, err: true}},
		{"issuing failed", func() LedgerEntry { e := entry(LedgerCreating, a); e.CreationIssuedAt = now; return e }(),
			func(e *LedgerEntry) (release, error) { return 0, e.issueFailed(now) },
			result{state: LedgerCreating, holders: []Holder{a}, issuer: a}},
		{"creation succeeded", entry(LedgerCreating, a), func(e *LedgerEntry) (release, error) { return 0, e.settleCreation(true, now) },
			result{state: LedgerActive, holders: []Holder{a}}},
		{"creation failed", entry(LedgerCreating, a), func(e *LedgerEntry) (release, error) { return 0, e.settleCreation(false, now) },
			result{state: ledgerGone, holders: []Holder{a}}},
		{"repair failed", func() LedgerEntry { e := entry(LedgerCreating, a); e.Issuer = Holder{}; return e }(),
			func(e *LedgerEntry) (release, error) { return 0, e.settleCreation(false, now) },
			result{state: LedgerCreating, holders: []Holder{a}}},
		{"creation settled on a deleting entry", entry(LedgerDeleting, a), func(e *LedgerEntry) (release, error) { return 0, e.settleCreation(true, now) },
			result{state: LedgerDeleting, holders: []Holder{a}, err: true}},
		{"issuer leaves, others hold", entry(LedgerCreating, a, b), func(e *LedgerEntry) (release, error) { return e.leave(a, now) },
			result{state: LedgerCreating, release: releaseDone, holders: []Holder{b}, issuer: b}},
		{"last leaves, never issued", entry(LedgerCreating, a), func(e *LedgerEntry) (release, error) { return e.leave(a, now) },
			result{state: ledgerGone, release: releaseDone, holders: []Holder{a}, issuer: a}},
		{"last leaves, creation in flight", func() LedgerEntry { e := entry(LedgerCreating, a); e.CreationIssuedAt = now; return e }(),
			func(e *LedgerEntry) (release, error) { return e.leave(a, now) },
			result{state: LedgerCreating, release: releaseWait, holders: []Holder{a}, issuer: a}},
		{"one of two leaves an active entry", entry(LedgerActive, a, b), func(e *LedgerEntry) (release, error) { return e.leave(b, now) },
			result{state: LedgerActive, release: releaseDone, holders: []Holder{a}}},
		{"last leaves an active entry", entry(LedgerActive, a), func(e *LedgerEntry) (release, error) { return e.leave(a, now) },
			result{state: LedgerDeleting, release: releaseDelete, holders: []Holder{a}}},
		{"last leaves standing access", func() LedgerEntry { e := entry(LedgerActive, a); e.External = true; return e }(),
			func(e *LedgerEntry) (release, error) { return e.leave(a, now) },
			result{state: ledgerGone, release: releaseDone, holders: []Holder{a}}},
		{"the deleter leaves again", entry(LedgerDeleting, a), func(e *LedgerEntry) (release, error) { return e.leave(a, now) },
			result{state: LedgerDeleting, release: releaseDelete, holders: []Holder{a}}},
		{"deletion succeeded", entry(LedgerDeleting, a), func(e *LedgerEntry) (release, error) { return 0, e.settleDeletion(true, now) },
			result{state: ledgerGone, holders: []Holder{a}}},
		{"deletion failed", entry(LedgerDeleting, a), func(e *LedgerEntry) (release, error) { return 0, e.settleDeletion(false, now) },
			result{state: LedgerDeleting, holders: []Holder{a}}},
		{"deletion settled on an active entry", entry(LedgerActive, a), func(e *LedgerEntry) (release, error) { return 0, e.settleDeletion(true, now) },
			result{state: ledgerGone, holders: []Holder{a}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			before := e.State
			rel, err := tt.op(&e)
			if (err != nil) != tt.want.err {
				t.Fatalf("error = %v, want error %v", err, tt.want.err)
			}
			if e.State != tt.want.state || rel != tt.want.release || !slices.Equal(e.Holders, tt.want.holders) || e.Issuer != tt.want.issuer {
				t.Errorf("got %s", fmt.Sprintf("state %q release %d holders %v issuer %v", e.State, rel, e.Holders, e.Issuer))
			}
			if err == nil && e.State != before && !before.CanBecome(e.State) {
				t.Errorf("%q → %q is not in the transition table", before, e.State)
			}
		})
	}
	if e := claimEntry(key, a, false, now); e.State != LedgerCreating || e.Issuer != a || e.External || e.Revision != 1 {
		t.Errorf("claim of a new assignment = %+v", e)
	}
	if e := claimEntry(key, a, true, now); e.State != LedgerActive || e.Issuer != (Holder{}) || !e.External {
		t.Errorf("claim of standing access = %+v", e)
	}
}
