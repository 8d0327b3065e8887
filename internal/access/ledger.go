package access

import (
	"slices"
	"time"
)

// LedgerState is the state of an assignment in Elevate's ledger.
type LedgerState string

// The ledger states. An entry is created before its assignment is, and
// removed only after the assignment's deletion succeeded.
const (
	LedgerCreating LedgerState = "creating"
	LedgerActive   LedgerState = "active"
	LedgerDeleting LedgerState = "deleting"
)

// LedgerEntry records one Identity Center assignment and the grants that
// need it. Creations and deletions of the same assignment serialize through
// conditional writes of its entry, so an assignment is deleted only when no
// grant holds it, and never when it existed before Elevate (External).
type LedgerEntry struct {
	TenantID string
	Key      AssignmentKey
	State    LedgerState
	External bool
	Holders  []string
	// Creator is the grant responsible for issuing and polling the creation
	// while the entry is creating. When it lets go first, it hands the job to
	// another holder.
	Creator string
	// OperationID is the pending creation or deletion in Identity Center.
	OperationID string
	// Deleted marks the entry for removal in a Change.
	Deleted   bool
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Holds reports whether grant id holds the assignment.
func (e LedgerEntry) Holds(id string) bool { return slices.Contains(e.Holders, id) }

func (e *LedgerEntry) addHolder(id string) {
	if !e.Holds(id) {
		e.Holders = append(e.Holders, id)
	}
}

func (e *LedgerEntry) removeHolder(id string) {
	e.Holders = slices.DeleteFunc(e.Holders, func(h string) bool { return h == id })
}
