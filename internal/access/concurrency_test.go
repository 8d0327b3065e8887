package access_test

import (
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/elevate-jit/elevate/internal/access"
)

// parallel runs fns at once and returns their errors in order.
func parallel(fns ...func() error) []error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn()
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func TestConcurrentApprovals(t *testing.T) {
	for range 20 {
		f := withTenant(t)
		r := f.pending(alice, adminAccess(acct1))
		approvers := []access.Principal{carol, dave, ada, erin}
		var fns []func() error
		for _, p := range approvers {
			fns = append(fns, func() error { _, err := f.svc.Approve(f.ctx, p, r.ID, "", nil); return err })
		}
		errs := parallel(fns...)
		won := 0
		for _, err := range errs {
			switch access.CodeOf(err) {
			case "":
				won++
			case access.CodeRequestNotPending, access.CodeConflict:
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d approvals won, want exactly 1 (%v)", won, errs)
		}
		grants := must(f.svc.ListGrants(f.ctx, ada, access.GrantFilter{}, access.PageRequest{Limit: 10}))(t)
		got := f.request(tenantA, r.ID)
		if len(grants.Items) != 1 || got.GrantID != grants.Items[0].ID || len(got.Approvals) != 1 {
			t.Fatalf("%d grants, request grant %q, %d approvals", len(grants.Items), got.GrantID, len(got.Approvals))
		}
	}
}

func TestConcurrentApproveAndDeny(t *testing.T) {
	for range 20 {
		f := withTenant(t)
		r := f.pending(alice, adminAccess(acct1))
		errs := parallel(
			func() error { _, err := f.svc.Approve(f.ctx, carol, r.ID, "", nil); return err },
			func() error { _, err := f.svc.Deny(f.ctx, dave, r.ID, "no", nil); return err },
			func() error { _, err := f.svc.Cancel(f.ctx, alice, r.ID, nil); return err },
		)
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			}
		}
		got := f.request(tenantA, r.ID)
		if ok != 1 || got.Status == access.RequestPending {
			t.Fatalf("%d decisions won (%v), request %s", ok, errs, got.Status)
		}
		grants := must(f.svc.ListGrants(f.ctx, ada, access.GrantFilter{}, access.PageRequest{Limit: 10}))(t)
		want := 0
		if got.Status == access.RequestApproved {
			want = 1
		}
		if len(grants.Items) != want {
			t.Fatalf("request %s with %d grants", got.Status, len(grants.Items))
		}
	}
}

func TestConcurrentIdempotentCreate(t *testing.T) {
	f := withTenant(t)
	key := idem(alice, "POST /v1/requests", "same", "h")
	var fns []func() error
	for range 8 {
		fns = append(fns, func() error { _, err := f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), key); return err })
	}
	errs := parallel(fns...)
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case access.CodeOf(err) != access.CodeConflict:
			t.Fatalf("unexpected error %v", err)
		}
	}
	list := must(f.svc.ListRequests(f.ctx, ada, access.RequestFilter{}, access.PageRequest{Limit: 20}))(t)
	if ok != 1 || len(list.Items) != 1 {
		t.Fatalf("%d calls succeeded and %d requests stored, want 1 and 1", ok, len(list.Items))
	}
	if n := f.flow.count("StartProvisioning"); n != 1 {
		t.Errorf("StartProvisioning called %d times", n)
	}
}

// provisionRetrying drives ProvisionGrant until done, tolerating lost
// conditional writes as a workflow's retry would. A grant that joined another
// grant's assignment waits for that grant's worker, so it yields and allows
// many steps.
func (f *fixture) provisionRetrying(tenant, grantID string) error {
	for range 100000 {
		done, err := f.steps.ProvisionGrant(f.ctx, tenant, grantID)
		if err != nil && !errors.Is(err, access.ErrStale) {
			return err
		}
		if done {
			return nil
		}
		runtime.Gosched()
	}
	return errors.New("provisioning never ended")
}

func TestConcurrentProvisioningSharesOneAssignment(t *testing.T) {
	for range 20 {
		f := withTenant(t)
		a := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
		b := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
		errs := parallel(
			func() error { return f.provisionRetrying(tenantA, a.GrantID) },
			func() error { return f.provisionRetrying(tenantA, b.GrantID) },
			func() error { return f.provisionRetrying(tenantA, a.GrantID) }, // a duplicate worker
		)
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{a.GrantID, b.GrantID} {
			if g := f.grant(tenantA, id); g.Status != access.GrantActive {
				t.Fatalf("grant %s is %s", id, g.Status)
			}
		}
		if got := f.ic.Assignments(); len(got) != 1 {
			t.Fatalf("Identity Center = %+v", got)
		}
		e := must(f.store.GetLedgerEntry(f.ctx, assignment("alice", acct1, psReadOnly)))(t)
		if !sameHolders(e.Holders, held(tenantA, a.GrantID, b.GrantID)) {
			t.Fatalf("holders %v, want %s and %s", e.Holders, a.GrantID, b.GrantID)
		}
		if n := f.ic.Calls("CreateAssignment"); n != 1 {
			t.Fatalf("CreateAssignment called %d times, want once", n)
		}
	}
}

func TestConcurrentRevokeAndExpire(t *testing.T) {
	for range 20 {
		f := withTenant(t)
		g := f.activeGrant(alice, readOnly(acct1))
		f.clock.Advance(g.ExpiresAt.Sub(f.clock.Now()))
		errs := parallel(
			func() error { _, err := f.svc.RevokeGrant(f.ctx, ada, g.ID, "", nil); return err },
			func() error { _, err := f.steps.ExpireGrant(f.ctx, tenantA, g.ID, g.Generation); return err },
		)
		if errs[1] != nil {
			t.Fatalf("ExpireGrant: %v", errs[1])
		}
		if errs[0] != nil && access.CodeOf(errs[0]) != access.CodeConflict {
			t.Fatalf("RevokeGrant: %v", errs[0])
		}
		if n := len(f.flow.of("StartDeprovisioning", g.ID)); n != 1 {
			t.Fatalf("StartDeprovisioning called %d times, want once", n)
		}
		f.deprovision(tenantA, g.ID)
		got := f.grant(tenantA, g.ID)
		want := access.GrantExpired
		if errs[0] == nil {
			want = access.GrantRevoked
		}
		if got.Status != want {
			t.Fatalf("grant is %s, want %s (revoke error %v)", got.Status, want, errs[0])
		}
	}
}
