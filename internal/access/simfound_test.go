package access_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/store/memstore"
)

// The regression tests of bugs the lifecycle simulator (internal/sim) found;
// each names the seed that found it (docs/simulation.md).

// droppingStore fails the next commit that writes one ledger entry and
// nothing else, once armed: a step that dies before it records what it did
// or, with land set, right after (the write landed, the answer was lost).
type droppingStore struct {
	*memstore.Store
	armed, land bool
}

func (s *droppingStore) Commit(ctx context.Context, c access.Change) error {
	if !s.armed || len(c.Ledger) != 1 || len(c.Grants)+len(c.Requests)+len(c.Audit) > 0 {
		return s.Store.Commit(ctx, c)
	}
	s.armed = false
	if s.land {
		if err := s.Store.Commit(ctx, c); err != nil {
			return err
		}
		return errors.New("the step died after the write")
	}
	return errors.New("the step died before the write")
}

// A creation issued again after its first issue's operation id was lost can
// fail while the first one succeeded: the assignment exists, and it is the
// grant's. Found by `make sim SEED=20 LIFECYCLES=1250` (episode 4; also
// seed 29): the grant failed, its ledger entry went, and the assignment
// stayed behind, held by nobody.
func TestReissuedCreationThatFailsFindsTheFirstOne(t *testing.T) {
	ds := &droppingStore{}
	f := newFixtureOn(t, func(f *fixture) {
		ds.Store = memstore.New(memstore.WithClock(f.clock.Now))
		f.store = ds
	})
	f.tenant(tenantA, nil)
	key := assignment("alice", acct1, psReadOnly)
	r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
	f.step(tenantA, r.GrantID) // plan and claim

	// The first issue succeeds, but its operation id is never recorded.
	f.ic.OnCreateAssignment(func(access.Assignment) {
		f.ic.OnCreateAssignment(nil)
		ds.armed = true
	})
	if _, err := f.steps.ProvisionGrant(f.ctx, tenantA, r.GrantID); err == nil {
		t.Fatal("the step whose write was lost reported no error")
	}
	if got := f.ic.Assignments(); !slices.Equal(got, []access.AssignmentKey{key}) {
		t.Fatalf("after the first issue Identity Center holds %+v", got)
	}

	// Issued again once reissueAfter has passed; this issue fails.
	f.clock.Advance(3 * time.Minute)
	f.ic.FailCreations(func(access.Assignment) bool { return true })
	f.provision(tenantA, r.GrantID)

	g := f.grant(tenantA, r.GrantID)
	if g.Status != access.GrantActive {
		t.Fatalf("grant is %s (%s) while its assignment exists", g.Status, g.Failure)
	}
	e := must(f.store.GetLedgerEntry(f.ctx, key))(t)
	if e.State != access.LedgerActive || e.External || !e.Holds(access.Holder{TenantID: tenantA, GrantID: g.ID}) {
		t.Fatalf("ledger entry = %+v", e)
	}
	f.expire(g)
	if got := f.ic.Assignments(); len(got) != 0 {
		t.Fatalf("after the grant expired Identity Center holds %+v", got)
	}
}
