package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// SweepableStore is a store the sweeper can read.
type SweepableStore interface {
	access.Store
	access.SweepStore
	access.LedgerStore
}

// RunSweep runs the conformance suite of the sweeper's reads. newStore
// returns a fresh, empty store for each subtest.
func RunSweep(t *testing.T, newStore func(t *testing.T) SweepableStore) {
	t.Run("TenantIDs", func(t *testing.T) { testTenantIDs(t, newStore(t)) })
	t.Run("GrantsExpiringBefore", func(t *testing.T) { testGrantsExpiringBefore(t, newStore(t)) })
	t.Run("LedgerEntries", func(t *testing.T) { testLedgerEntries(t, newStore(t)) })
}

func testTenantIDs(t *testing.T, s SweepableStore) {
	var want []string
	for range 5 {
		tn := newTenant()
		tn.Settings.JWT = access.JWTSettings{GroupsClaim: "groups"}
		commit(t, s, access.Change{Tenants: []access.Tenant{tn}})
		want = append(want, tn.ID)
	}
	got := walk(t, 2, true, func(p access.PageRequest) (access.Page[string], error) {
		return s.ListTenantIDs(t.Context(), p)
	}, func(id string) string { return id })
	slices.Sort(want)
	slices.Sort(got)
	sameIDs(t, "ListTenantIDs", want, got)
}

func testGrantsExpiringBefore(t *testing.T, s SweepableStore) {
	base := now()
	at := func(status access.GrantStatus, tenantID string, ends time.Duration) access.Grant {
		g := newGrant(tenantID, base.Add(-2*time.Hour))
		g.Status, g.ExpiresAt = status, base.Add(ends)
		commit(t, s, access.Change{Grants: []access.Grant{g}})
		return g
	}
	a, b := newTenant().ID, newTenant().ID
	late := at(access.GrantActive, a, -10*time.Minute)
	later := at(access.GrantActive, a, -5*time.Minute)
	at(access.GrantActive, a, 5*time.Minute)           // not due
	at(access.GrantRevoking, a, -20*time.Minute)       // not active
	at(access.GrantActive, b, -time.Minute)            // another tenant
	moved := at(access.GrantActive, a, -3*time.Minute) // becomes revoking below
	moved.Status, moved.Revision = access.GrantRevoking, moved.Revision+1
	commit(t, s, access.Change{Grants: []access.Grant{moved}})

	got := walk(t, 1, true, func(p access.PageRequest) (access.Page[access.Grant], error) {
		return s.ListGrantsExpiringBefore(t.Context(), a, base, p)
	}, grantID)
	sameIDs(t, "ListGrantsExpiringBefore (earliest end first)", []string{late.ID, later.ID}, got)
}

func testLedgerEntries(t *testing.T, s SweepableStore) {
	// The ledger is the deployment's: entries held by grants of different
	// tenants are listed together.
	var want []string
	for _, tenantID := range []string{newTenant().ID, newTenant().ID, newTenant().ID, newTenant().ID} {
		e := newLedgerEntry(tenantID, now())
		commit(t, s, access.Change{Ledger: []access.LedgerEntry{e}})
		want = append(want, e.Key.AccountID)
	}
	got := walk(t, 2, true, func(p access.PageRequest) (access.Page[access.LedgerEntry], error) {
		return s.ListLedgerEntries(t.Context(), p)
	}, func(e access.LedgerEntry) string { return e.Key.AccountID })
	slices.Sort(want)
	slices.Sort(got)
	sameIDs(t, "ListLedgerEntries", want, got)
}
