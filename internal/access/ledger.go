package access

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The assignment ledger is Elevate's deployment-wide record of every Identity
// Center account assignment it created or relies on: one entry per
// (instance, Identity Store user, account, permission set), shared by every
// tenant on the instance, holding the (tenant, grant) pairs that need it.
// Creations and deletions of one assignment serialize through conditional
// writes of its entry, so that
//
//   - an assignment is deleted only when its last holder lets go, and never
//     when it existed before Elevate (standing access, External);
//   - the operation id of a creation or deletion lives on the entry, written
//     under the entry's own condition, never only on a grant;
//   - a holder that lets go while a creation it may have caused is in
//     flight waits for it to settle, and then deletes what it made.

// LedgerStore reads the ledger. Entries are written through Store.Commit,
// atomically with the grants they concern.
type LedgerStore interface {
	// GetLedgerEntry returns the entry of an assignment, or an error wrapping
	// ErrNotFound.
	GetLedgerEntry(ctx context.Context, key AssignmentKey) (LedgerEntry, error)
	// ListLedgerEntries lists every entry of the deployment, in a stable
	// order.
	ListLedgerEntries(ctx context.Context, p PageRequest) (Page[LedgerEntry], error)
	// ListTouchedPrincipals lists the users Elevate assigned something to
	// recently (until their ExpiresAt), in a stable order.
	ListTouchedPrincipals(ctx context.Context, p PageRequest) (Page[TouchedPrincipal], error)
}

// TouchedPrincipal is an Identity Store user of an instance Elevate claimed
// an assignment for. The sweeper looks at such users' assignments for any
// that no ledger entry explains. It is recorded with each claim (the same
// user again just moves ExpiresAt) and forgotten at ExpiresAt.
type TouchedPrincipal struct {
	InstanceARN string
	UserID      string
	ExpiresAt   time.Time
}

// touchedFor is how long a user stays touched after Elevate last claimed
// an assignment for them: longer than any grant lasts.
const touchedFor = 30 * 24 * time.Hour

// LedgerState is the state of an assignment in the ledger.
type LedgerState string

// The ledger states. An entry is made before its assignment is created, and
// removed only once the assignment is gone or never came to be; ledgerGone
// stands for "no entry" in the transition table.
const (
	LedgerCreating LedgerState = "creating"
	LedgerActive   LedgerState = "active"
	LedgerDeleting LedgerState = "deleting"
	ledgerGone     LedgerState = ""
)

// ledgerTransitions is the one table of allowed ledger state changes.
var ledgerTransitions = map[LedgerState][]LedgerState{
	ledgerGone:     {LedgerCreating, LedgerActive},
	LedgerCreating: {LedgerCreating, LedgerActive, LedgerDeleting, ledgerGone},
	LedgerActive:   {LedgerActive, LedgerCreating, LedgerDeleting, ledgerGone},
	LedgerDeleting: {LedgerDeleting, ledgerGone},
}

// LedgerStates lists the stored ledger states.
var LedgerStates = []LedgerState{LedgerCreating, LedgerActive, LedgerDeleting}

// CanBecome reports whether an entry may move from s to next.
func (s LedgerState) CanBecome(next LedgerState) bool {
	return slices.Contains(ledgerTransitions[s], next)
}

// creationSettles bounds how long a creation issued without a recorded
// operation id (its step crashed between the call and the write) can stay in
// flight: far longer than a workflow step may run. After it, whether the
// assignment exists says what the creation did.
const creationSettles = 15 * time.Minute

// reissueAfter is how long a creation issued without a recorded operation
// id is left to the step issuing it before another step issues it again:
// longer than a workflow step runs, so two live steps never both issue it.
const reissueAfter = 2 * time.Minute

// Holder is a grant that needs an assignment.
type Holder struct {
	TenantID string
	GrantID  string
}

// LedgerEntry records one Identity Center assignment and the grants that
// need it.
type LedgerEntry struct {
	Key   AssignmentKey
	State LedgerState
	// External marks standing access: the assignment existed before Elevate,
	// which never deletes it.
	External bool
	// Holders are the grants that need the assignment; while the entry is
	// deleting, the one grant deleting it.
	Holders []Holder
	// Issuer is the holder that issues and polls the creation while the
	// entry is creating; when it lets go first, another holder takes over.
	// A repair (recreate) has none: the sweeper issues it.
	Issuer Holder
	// CreationIssuedAt is set just before CreateAssignment is called; a
	// creation issued may be in flight even when OperationID is empty.
	CreationIssuedAt time.Time
	// OperationID is the pending creation (creating) or deletion (deleting).
	OperationID string
	// Deleted marks the entry for removal in a Change; its Revision is the
	// stored one plus one.
	Deleted   bool
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Holds reports whether h holds the assignment.
func (e LedgerEntry) Holds(h Holder) bool { return slices.Contains(e.Holders, h) }

// Assignment is the Identity Center assignment the entry records.
func (e LedgerEntry) Assignment() Assignment {
	return Assignment{InstanceARN: e.Key.InstanceARN, PrincipalID: e.Key.PrincipalID, AccountID: e.Key.AccountID, PermissionSetARN: e.Key.PermissionSetARN}
}

// creationInFlight reports whether a creation was issued and has not settled.
func (e LedgerEntry) creationInFlight() bool {
	return e.State == LedgerCreating && !e.CreationIssuedAt.IsZero()
}

// to moves the entry to next through the transition table.
func (e *LedgerEntry) to(next LedgerState, now time.Time) error {
	if !e.State.CanBecome(next) {
		return fmt.Errorf("ledger entry of %s in %s is %q and cannot become %q: %w", e.Key.PrincipalID, e.Key.AccountID, e.State, next, ErrStale)
	}
	e.State, e.UpdatedAt = next, now
	e.Deleted = next == ledgerGone
	return nil
}

// claimEntry makes the entry of an assignment no entry records yet. An
// assignment that already exists is standing access: active, never deleted.
// Otherwise h issues its creation.
func claimEntry(key AssignmentKey, h Holder, exists bool, now time.Time) LedgerEntry {
	e := LedgerEntry{Key: key, Holders: []Holder{h}, Revision: 1, CreatedAt: now}
	if exists {
		_ = e.to(LedgerActive, now)
		e.External = true
	} else {
		_ = e.to(LedgerCreating, now)
		e.Issuer = h
	}
	return e
}

// join adds h to the holders of a creating or active entry. A deleting entry
// cannot be joined: the grant waits for it to go and claims it anew.
func (e *LedgerEntry) join(h Holder, now time.Time) error {
	if e.State == LedgerDeleting {
		return fmt.Errorf("join a deleting ledger entry: %w", ErrStale)
	}
	if !e.Holds(h) {
		e.Holders = append(e.Holders, h)
	}
	return e.to(e.State, now)
}

// issueCreation records that the issuer is about to call CreateAssignment.
func (e *LedgerEntry) issueCreation(now time.Time) error {
	e.CreationIssuedAt, e.OperationID = now, ""
	return e.to(LedgerCreating, now)
}

// issueFailed records that CreateAssignment answered with an error: the
// creation may still have happened (an answer lost on the way), so it stays
// in flight, but the next step may issue it again at once rather than wait
// reissueAfter for the failed one. The issue time is that of the failed
// call less reissueAfter, never earlier: failures one after another must
// not make a creation look settled (creationSettles) while an issue of it
// may still be in flight.
func (e *LedgerEntry) issueFailed(now time.Time) error {
	e.CreationIssuedAt = now.Add(-reissueAfter)
	return e.to(LedgerCreating, now)
}

// settleCreation applies a creation's outcome: the assignment is active, or
// it failed and the entry goes (its holders' assignments fail with it). A
// failed repair (an entry no holder issues, see recreate) stays creating,
// not issued, for the sweeper to issue again.
func (e *LedgerEntry) settleCreation(succeeded bool, now time.Time) error {
	repair := e.Issuer == Holder{}
	e.OperationID, e.CreationIssuedAt, e.Issuer = "", time.Time{}, Holder{}
	switch {
	case succeeded:
		return e.to(LedgerActive, now)
	case repair:
		return e.to(LedgerCreating, now)
	}
	return e.to(ledgerGone, now)
}

// recreate starts over an active entry whose assignment vanished from
// Identity Center while live grants hold it: Elevate makes it again, as its
// own from now on (so the holders' end removes it). No holder issues it:
// their workflows are done or wait on it, so the sweeper issues it, and
// again after a failure.
func (e *LedgerEntry) recreate(live []Holder, now time.Time) error {
	if e.State != LedgerActive || len(live) == 0 {
		return fmt.Errorf("recreate a %q ledger entry: %w", e.State, ErrStale)
	}
	e.External, e.Holders, e.Issuer = false, slices.Clone(live), Holder{}
	e.CreationIssuedAt, e.OperationID = time.Time{}, ""
	return e.to(LedgerCreating, now)
}

// release says what a holder that lets go must do next.
type release int

const (
	// releaseDone: the holder is off the entry and has nothing left to do.
	releaseDone release = iota
	// releaseWait: a creation is in flight; settle it first.
	releaseWait
	// releaseDelete: the holder is the last and deletes the assignment.
	releaseDelete
)

// leave lets h go. Other holders keep the assignment (one of them issues a
// creation h was issuing); standing access and a creation never issued just
// lose their entry; a creation in flight must settle first; otherwise the
// last holder deletes the assignment and stays on the entry as its deleter.
func (e *LedgerEntry) leave(h Holder, now time.Time) (release, error) {
	others := slices.DeleteFunc(slices.Clone(e.Holders), func(x Holder) bool { return x == h })
	switch {
	case e.State == LedgerDeleting:
		return releaseDelete, nil // h is the deleter already
	case len(others) > 0:
		if e.Issuer == h {
			e.Issuer = others[0]
		}
		e.Holders = others
		return releaseDone, e.to(e.State, now)
	case e.External:
		return releaseDone, e.to(ledgerGone, now)
	case e.creationInFlight():
		return releaseWait, nil
	case e.State == LedgerCreating:
		return releaseDone, e.to(ledgerGone, now) // never issued: nothing to delete
	}
	e.Holders, e.Issuer, e.OperationID = []Holder{h}, Holder{}, ""
	return releaseDelete, e.to(LedgerDeleting, now)
}

// settleDeletion applies a deletion's outcome: the entry goes, or the
// deletion is tried again.
func (e *LedgerEntry) settleDeletion(succeeded bool, now time.Time) error {
	e.OperationID = ""
	if succeeded {
		return e.to(ledgerGone, now)
	}
	return e.to(LedgerDeleting, now)
}
