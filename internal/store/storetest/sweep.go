package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

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
	t.Run("TouchedPrincipals", func(t *testing.T) { testTouchedPrincipals(t, newStore(t)) })
	t.Run("CutSets", func(t *testing.T) { testCutSets(t, newStore(t)) })
	t.Run("Checkpoints", func(t *testing.T) { testCheckpoints(t, newStore(t)) })
}

func testCheckpoints(t *testing.T, s SweepableStore) {
	cp, ok := s.(access.SweepCheckpoints)
	if !ok {
		t.Fatalf("%T does not keep the sweeper's checkpoints", s)
	}
	ctx := t.Context()
	for _, tc := range []struct{ name, put, want string }{
		{access.CheckpointTenants, "", ""},
		{access.CheckpointTenants, "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01", "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01"},
		{access.CheckpointTenants, "5a", "5a"},
		{access.CheckpointAudit, "arn:aws:sso:::instance/ssoins-1\x00user-1", "arn:aws:sso:::instance/ssoins-1\x00user-1"},
	} {
		if tc.put != "" {
			if err := cp.PutSweepCheckpoint(ctx, tc.name, tc.put); err != nil {
				t.Fatalf("PutSweepCheckpoint(%s, %q): %v", tc.name, tc.put, err)
			}
		}
		got, err := cp.GetSweepCheckpoint(ctx, tc.name)
		if err != nil || got != tc.want {
			t.Errorf("GetSweepCheckpoint(%s) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if got, _ := cp.GetSweepCheckpoint(ctx, access.CheckpointTenants); got != "5a" {
		t.Errorf("the audit checkpoint overwrote the tenants one: %q", got)
	}
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

// testTouchedPrincipals checks that a touched user is recorded once per
// instance whatever is stored (a second record only moves ExpiresAt), is
// listed with the others, and is forgotten at ExpiresAt.
func testTouchedPrincipals(t *testing.T, s SweepableStore) {
	at := now()
	users := []access.TouchedPrincipal{
		{InstanceARN: instanceARN, UserID: storeUserID, ExpiresAt: at.Add(time.Hour)},
		{InstanceARN: instanceARN, UserID: "90670a1b2c-0000-1111-2222-333344445555", ExpiresAt: at.Add(time.Hour)},
		{InstanceARN: "arn:aws:sso:::instance/ssoins-0000000000000001", UserID: storeUserID, ExpiresAt: at.Add(time.Hour)},
	}
	gone := access.TouchedPrincipal{InstanceARN: instanceARN, UserID: "forgotten", ExpiresAt: at.Add(-time.Second)}
	commit(t, s, access.Change{Touched: append(slices.Clone(users), gone)})
	again := users[0]
	again.ExpiresAt = at.Add(2 * time.Hour)
	commit(t, s, access.Change{Touched: []access.TouchedPrincipal{again}})
	users[0] = again
	var got []access.TouchedPrincipal
	walk(t, 2, false, func(p access.PageRequest) (access.Page[access.TouchedPrincipal], error) {
		page, err := s.ListTouchedPrincipals(t.Context(), p)
		got = append(got, page.Items...)
		return page, err
	}, func(tp access.TouchedPrincipal) string { return tp.InstanceARN + "/" + tp.UserID })
	if len(got) != len(users) {
		t.Fatalf("ListTouchedPrincipals: %d users, want %d (the forgotten one left out): %+v", len(got), len(users), got)
	}
	for _, want := range users {
		i := slices.IndexFunc(got, func(tp access.TouchedPrincipal) bool {
			return tp.InstanceARN == want.InstanceARN && tp.UserID == want.UserID
		})
		if i < 0 {
			t.Fatalf("%s of %s is not listed", want.UserID, want.InstanceARN)
		}
		same(t, "touched principal", want, got[i])
	}
}

// testCutSets checks the session cuts of permission sets: created at
// revision 1, replaced only from the stored revision (two writers of the
// same revision: one is stale), listed across instances, and removed.
func testCutSets(t *testing.T, store SweepableStore) {
	s, ok := store.(access.CutStore)
	if !ok {
		t.Skip("the store keeps no session cuts")
	}
	at := now()
	key := access.CutSetKey{InstanceARN: "arn:aws:sso:::instance/ssoins-1", PermissionSetARN: "arn:aws:sso:::permissionSet/ssoins-1/ps-" + uuid.NewString()[:8]}
	cut := func(grant string) access.SessionCut {
		return access.SessionCut{Sid: "ElevateCut" + grant, Holder: access.Holder{TenantID: newTenant().ID, GrantID: grant}, UserName: "alice",
			Accounts: []string{"111122223333"}, IssuedBefore: at, Until: at.Add(time.Hour), State: access.CutStatePending}
	}
	if _, err := s.GetCutSet(t.Context(), key); !errors.Is(err, access.ErrNotFound) {
		t.Fatalf("GetCutSet of none: %v, want not found", err)
	}
	v1 := access.CutSet{Key: key, Cuts: []access.SessionCut{cut("a")}, Revision: 1, CreatedAt: at, UpdatedAt: at}
	commit(t, store, access.Change{CutSets: []access.CutSet{v1}})
	got, err := s.GetCutSet(t.Context(), key)
	if err != nil || len(got.Cuts) != 1 || got.Revision != 1 || !got.Cuts[0].Until.Equal(at.Add(time.Hour)) {
		t.Fatalf("GetCutSet = %+v, %v", got, err)
	}
	// Two writers read revision 1; the second write is stale.
	a, b := got, got
	a.Cuts, a.Revision = append(a.Cuts, cut("b")), 2
	b.Cuts, b.Revision = append(b.Cuts, cut("c")), 2
	commit(t, store, access.Change{CutSets: []access.CutSet{a}})
	if err := store.Commit(t.Context(), access.Change{CutSets: []access.CutSet{b}}); !errors.Is(err, access.ErrStale) {
		t.Fatalf("second writer of revision 2: %v, want stale", err)
	}
	if err := store.Commit(t.Context(), access.Change{CutSets: []access.CutSet{v1}}); !errors.Is(err, access.ErrStale) {
		t.Fatalf("creating existing cuts: %v, want stale", err)
	}
	other := access.CutSet{Key: access.CutSetKey{InstanceARN: "arn:aws:sso:::instance/ssoins-2", PermissionSetARN: key.PermissionSetARN},
		Cuts: []access.SessionCut{cut("d")}, Revision: 1, CreatedAt: at, UpdatedAt: at}
	commit(t, store, access.Change{CutSets: []access.CutSet{other}})
	list := walk(t, 1, true, func(p access.PageRequest) (access.Page[access.CutSet], error) { return s.ListCutSets(t.Context(), p) },
		func(c access.CutSet) string { return c.Key.InstanceARN })
	slices.Sort(list)
	sameIDs(t, "ListCutSets", []string{key.InstanceARN, other.Key.InstanceARN}, list)
	gone := a
	gone.Deleted, gone.Revision = true, 3
	commit(t, store, access.Change{CutSets: []access.CutSet{gone}})
	if _, err := s.GetCutSet(t.Context(), key); !errors.Is(err, access.ErrNotFound) {
		t.Fatalf("GetCutSet after removal: %v, want not found", err)
	}
}
