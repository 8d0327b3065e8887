package access_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter/recording"
)

// step runs one ProvisionGrant call and fails the test on an error.
func (f *fixture) step(tenant, grantID string) bool {
	f.t.Helper()
	done, err := f.steps.ProvisionGrant(f.ctx, tenant, grantID)
	if err != nil {
		f.t.Fatalf("ProvisionGrant: %v", err)
	}
	return done
}

func TestProvisionAccount(t *testing.T) {
	f := withTenant(t)
	r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
	f.clock.Advance(10 * time.Second)
	activatedAt := f.clock.Now()

	steps := 0
	for done := false; !done; {
		if steps++; steps > maxSteps {
			t.Fatal("provisioning never ends")
		}
		done = f.step(tenantA, r.GrantID)
		if g := f.grant(tenantA, r.GrantID); !done && g.Status != access.GrantProvisioning {
			t.Fatalf("grant is %s before provisioning is done", g.Status)
		}
	}
	g := f.grant(tenantA, r.GrantID)
	if g.Status != access.GrantActive {
		t.Fatalf("grant is %s, want active", g.Status)
	}
	if want := activatedAt.Add(time.Hour); !g.ExpiresAt.Equal(want) {
		t.Errorf("expires at %v, want activation time + duration = %v", g.ExpiresAt, want)
	}
	if !g.GrantedAt.Equal(activatedAt) || g.Generation != 1 || g.Failure != "" {
		t.Errorf("granted at %v, generation %d, failure %q", g.GrantedAt, g.Generation, g.Failure)
	}
	if len(g.Assignments) != 1 {
		t.Fatalf("assignments = %+v", g.Assignments)
	}
	a := g.Assignments[0]
	if a.State != access.AssignmentActive || a.External || a.Key() != assignment("alice", acct1, psReadOnly) {
		t.Errorf("assignment = %+v", a)
	}
	if got := f.ic.Assignments(); !slices.Equal(got, []access.AssignmentKey{assignment("alice", acct1, psReadOnly)}) {
		t.Errorf("Identity Center assignments = %+v", got)
	}
	if n := f.ic.Calls("CreateAssignment"); n != 1 {
		t.Errorf("CreateAssignment called %d times", n)
	}
	e := must(f.store.GetLedgerEntry(f.ctx, a.Key()))(t)
	if e.State != access.LedgerActive || !slices.Equal(e.Holders, held(tenantA, g.ID)) || e.External || e.Issuer != (access.Holder{}) || e.OperationID != "" {
		t.Errorf("ledger entry = %+v", e)
	}
	sched := f.flow.of("ScheduleExpiry", g.ID)
	if len(sched) != 1 || sched[0].Generation != 1 || !sched[0].ExpiresAt.Equal(g.ExpiresAt) {
		t.Errorf("ScheduleExpiry calls = %+v", sched)
	}
	if ev, ok := f.findAudit(tenantA, g.ID, "grant.activated"); !ok || ev.ActorID != "elevate" {
		t.Errorf("grant.activated = %+v (found %v)", ev, ok)
	}
	if got := f.request(tenantA, r.ID); got.Status != access.RequestApproved {
		t.Errorf("request is %s after activation, want approved", got.Status)
	}

	// More steps (a workflow retried) change nothing.
	for range 3 {
		if !f.step(tenantA, g.ID) {
			t.Fatal("ProvisionGrant of an active grant is not done")
		}
	}
	if again := f.grant(tenantA, g.ID); again.Revision != g.Revision || len(f.flow.of("ScheduleExpiry", g.ID)) != 1 {
		t.Errorf("repeated steps changed the grant (revision %d -> %d) or rescheduled", g.Revision, again.Revision)
	}
}

func TestProvisionPendingPolls(t *testing.T) {
	count := func(polls int) int {
		f := withTenant(t)
		f.ic.SetPendingPolls(polls)
		r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
		steps := 0
		for done := false; !done; {
			if steps++; steps > maxSteps {
				t.Fatal("provisioning never ends")
			}
			done = f.step(tenantA, r.GrantID)
			g := f.grant(tenantA, r.GrantID)
			if !done && (g.Status != access.GrantProvisioning || len(f.flow.of("ScheduleExpiry", g.ID)) != 0) {
				t.Fatalf("step %d: grant is %s before its assignment succeeded", steps, g.Status)
			}
			if done && g.Status != access.GrantActive {
				t.Fatalf("done with the grant %s", g.Status)
			}
		}
		return steps
	}
	// A creation Identity Center settles at once activates the grant in the
	// step that issued it; one still in progress costs a step, and each poll
	// that finds it still in progress one more.
	quick, slow := count(0), count(2)
	if slow != quick+3 {
		t.Errorf("with 2 pending polls provisioning took %d steps, without %d; want 3 more", slow, quick)
	}
}

func TestProvisionOU(t *testing.T) {
	ouRequest := access.CreateRequestInput{
		Resource: access.Resource{Type: access.ResourceOrganizationalUnit, ID: ouWork},
		Action:   "ReadOnly", DurationSeconds: 3600, Justification: "audit",
	}
	approved := func(f *fixture) access.Request {
		t.Helper()
		r := f.pending(alice, ouRequest)
		return must(f.svc.Approve(f.ctx, carol, r.ID, "", nil))(t)
	}

	t.Run("expands minus the protected account", func(t *testing.T) {
		f := withTenant(t)
		r := approved(f)
		f.provision(tenantA, r.GrantID)
		g := f.grant(tenantA, r.GrantID)
		if g.Status != access.GrantActive {
			t.Fatalf("grant is %s", g.Status)
		}
		var accounts []string
		for _, a := range g.Assignments {
			accounts = append(accounts, a.AccountID)
			if a.State != access.AssignmentActive || a.PermissionSetARN != psReadOnly {
				t.Errorf("assignment %+v", a)
			}
		}
		slices.Sort(accounts)
		if want := []string{acct1, acct2}; !slices.Equal(accounts, want) {
			t.Errorf("accounts = %v, want %v (not %s, protected, nor %s, in another OU)", accounts, want, protected, acct3)
		}
		want := []access.AssignmentKey{assignment("alice", acct1, psReadOnly), assignment("alice", acct2, psReadOnly)}
		if got := f.ic.Assignments(); !slices.Equal(got, want) {
			t.Errorf("Identity Center = %+v", got)
		}
		expired := f.expire(g)
		if expired.Status != access.GrantExpired || len(f.ic.Assignments()) != 0 {
			t.Errorf("after expiry: %s with %d assignments left", expired.Status, len(f.ic.Assignments()))
		}
	})

	t.Run("capped", func(t *testing.T) {
		f := withTenant(t, func(c *access.Config) { c.MaxOUAccounts = 1 })
		r := approved(f)
		f.provision(tenantA, r.GrantID)
		g := f.grant(tenantA, r.GrantID)
		if g.Status != access.GrantActive || len(g.Assignments) != 1 {
			t.Fatalf("grant %s with %d assignments, want active with 1", g.Status, len(g.Assignments))
		}
		if !slices.ContainsFunc(g.Notices, func(n string) bool { return strings.Contains(n, "first 1") }) {
			t.Errorf("no truncation notice: %q", g.Notices)
		}
	})

	t.Run("only protected accounts", func(t *testing.T) {
		f := newFixture(t)
		f.ic.SetOrganization(instanceARN, map[string][]string{protected: {root, ouWork}})
		f.tenant(tenantA, nil)
		r := approved(f)
		f.provision(tenantA, r.GrantID)
		g := f.grant(tenantA, r.GrantID)
		if g.Status != access.GrantFailed || len(f.ic.Assignments()) != 0 {
			t.Fatalf("grant %s with %d assignments, want failed with none", g.Status, len(f.ic.Assignments()))
		}
		if !slices.ContainsFunc(g.Notices, func(n string) bool { return strings.Contains(n, "no active account") }) {
			t.Errorf("notices %q", g.Notices)
		}
		if got := f.request(tenantA, r.ID); got.Status != access.RequestFailed {
			t.Errorf("request is %s, want failed", got.Status)
		}
	})
}

func TestProvisionManaged(t *testing.T) {
	t.Run("bucket", func(t *testing.T) {
		f := withTenant(t)
		res := access.Resource{Type: access.ResourceS3Bucket, ID: "team-logs", AccountID: acct2}
		r := f.pending(alice, access.CreateRequestInput{Resource: res, Action: "write", DurationSeconds: 3600, Justification: "fix"})
		r = must(f.svc.Approve(f.ctx, carol, r.ID, "", nil))(t)
		f.provision(tenantA, r.GrantID)
		g := f.grant(tenantA, r.GrantID)
		if g.Status != access.GrantActive || len(g.Assignments) != 1 {
			t.Fatalf("grant %s with %+v", g.Status, g.Assignments)
		}
		a := g.Assignments[0]
		ps, ok := f.ic.PermissionSet(a.PermissionSetARN)
		if !ok {
			t.Fatalf("the assignment's permission set %s was not created", a.PermissionSetARN)
		}
		if want := access.ManagedName(instanceARN, res, "write", 1); ps.Name != want || ps.AccountID != acct2 || a.AccountID != acct2 {
			t.Errorf("permission set %q in %s (assignment in %s), want %q in %s", ps.Name, ps.AccountID, a.AccountID, want, acct2)
		}
		if !strings.Contains(ps.InlinePolicy, "arn:aws:s3:::team-logs") || !strings.Contains(ps.InlinePolicy, `"aws:ResourceAccount":"`+acct2+`"`) {
			t.Errorf("inline policy %s", ps.InlinePolicy)
		}
	})
	t.Run("rds connect", func(t *testing.T) {
		f := withTenant(t)
		r := f.pending(alice, access.CreateRequestInput{Resource: access.Resource{Type: access.ResourceRDSInstance, ID: rdsARN, DBUser: "app"},
			Action: "connect", DurationSeconds: 3600, Justification: "query"})
		r = must(f.svc.Approve(f.ctx, carol, r.ID, "", nil))(t)
		f.provision(tenantA, r.GrantID)
		g := f.grant(tenantA, r.GrantID)
		if g.Status != access.GrantActive {
			t.Fatalf("grant is %s (%q)", g.Status, g.Notices)
		}
		ps, _ := f.ic.PermissionSet(g.Assignments[0].PermissionSetARN)
		id := must(f.ic.DBIResourceID(f.ctx, access.Tenant{}, rdsARN))(t)
		if !strings.Contains(ps.InlinePolicy, "dbuser:"+id+"/app") || g.Assignments[0].AccountID != acct1 {
			t.Errorf("inline policy %s in %s", ps.InlinePolicy, g.Assignments[0].AccountID)
		}
	})
	t.Run("rds connect without a DB resolver", func(t *testing.T) {
		f := withTenant(t, func(c *access.Config) { c.DB = nil })
		r := f.pending(alice, access.CreateRequestInput{Resource: access.Resource{Type: access.ResourceRDSInstance, ID: rdsARN, DBUser: "app"},
			Action: "connect", DurationSeconds: 3600, Justification: "query"})
		r = must(f.svc.Approve(f.ctx, carol, r.ID, "", nil))(t)
		f.provision(tenantA, r.GrantID)
		if g := f.grant(tenantA, r.GrantID); g.Status != access.GrantFailed {
			t.Errorf("grant is %s, want failed", g.Status)
		}
		if got := f.request(tenantA, r.ID); got.Status != access.RequestFailed {
			t.Errorf("request is %s, want failed", got.Status)
		}
	})
}

func TestProvisionFailures(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*recording.IdentityCenter)
		notice string
	}{
		{"grantee disabled after the request", func(ic *recording.IdentityCenter) { ic.SetUsers("bob") }, `Grantee "alice" has no active Identity Center user`},
		{"creation fails", func(ic *recording.IdentityCenter) {
			ic.FailCreations(func(access.Assignment) bool { return true })
		}, "Identity Center could not create the account assignment in " + acct1},
		{"creation fails after polls", func(ic *recording.IdentityCenter) {
			ic.SetPendingPolls(2)
			ic.FailCreations(func(access.Assignment) bool { return true })
		}, "Identity Center could not create the account assignment in " + acct1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := withTenant(t)
			r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
			tt.setup(f.ic)
			f.provision(tenantA, r.GrantID)
			g := f.grant(tenantA, r.GrantID)
			if g.Status != access.GrantFailed || g.Failure == "" {
				t.Fatalf("grant is %s (failure %q), want failed", g.Status, g.Failure)
			}
			if !slices.ContainsFunc(g.Notices, func(n string) bool { return strings.Contains(n, tt.notice) }) {
				t.Errorf("grant notices %q, want one containing %q", g.Notices, tt.notice)
			}
			req := f.request(tenantA, r.ID)
			if req.Status != access.RequestFailed {
				t.Errorf("request is %s, want failed", req.Status)
			}
			if !slices.ContainsFunc(req.Notices, func(n string) bool { return strings.HasPrefix(n, "Provisioning failed: ") }) {
				t.Errorf("request notices %q", req.Notices)
			}
			if got := f.ic.Assignments(); len(got) != 0 {
				t.Errorf("Identity Center still has %+v", got)
			}
			if _, err := f.store.GetLedgerEntry(f.ctx, assignment("alice", acct1, psReadOnly)); err == nil {
				t.Error("the ledger still has an entry")
			}
			if n := len(f.flow.of("ScheduleExpiry", g.ID)); n != 0 {
				t.Errorf("a failed grant was scheduled to expire")
			}
			if ev, ok := f.findAudit(tenantA, g.ID, "grant.failed"); !ok || ev.Severity != access.SeverityHigh {
				t.Errorf("grant.failed audit %+v (found %v)", ev, ok)
			}
			if _, ok := f.findAudit(tenantA, r.ID, "request.failed"); !ok {
				t.Error("no request.failed audit event")
			}
			if !f.step(tenantA, g.ID) {
				t.Error("ProvisionGrant of a failed grant is not done")
			}
		})
	}

	t.Run("one account of an OU fails: the others are removed", func(t *testing.T) {
		f := withTenant(t)
		f.ic.FailCreations(func(a access.Assignment) bool { return a.AccountID == acct2 })
		g := must(f.svc.CreateGrant(f.ctx, ada, access.CreateGrantInput{
			GranteeID: "alice", Resource: access.Resource{Type: access.ResourceOrganizationalUnit, ID: ouWork},
			Action: "ReadOnly", ExpiresAt: t0.Add(time.Hour), Reasoning: "audit",
		}, nil))(t)
		f.provision(tenantA, g.ID)
		got := f.grant(tenantA, g.ID)
		if got.Status != access.GrantFailed {
			t.Fatalf("grant is %s, want failed", got.Status)
		}
		if n := f.ic.Calls("CreateAssignment"); n != 2 {
			t.Errorf("CreateAssignment called %d times, want 2", n)
		}
		if left := f.ic.Assignments(); len(left) != 0 {
			t.Errorf("Identity Center still has %+v after the grant failed", left)
		}
		if _, err := f.store.GetLedgerEntry(f.ctx, assignment("alice", acct1, psReadOnly)); err == nil {
			t.Error("the ledger still has the removed assignment")
		}
	})
}

func TestProvisionInlineExpiry(t *testing.T) {
	f := withTenant(t)
	g := must(f.svc.CreateGrant(f.ctx, ada, access.CreateGrantInput{
		GranteeID: "alice", Resource: access.Resource{Type: access.ResourceAccount, ID: acct1},
		Action: "ReadOnly", ExpiresAt: t0.Add(90 * time.Second), Reasoning: "quick look",
	}, nil))(t)
	f.clock.Advance(45 * time.Second)
	f.provision(tenantA, g.ID)
	got := f.grant(tenantA, g.ID)
	if got.Status != access.GrantRevoking || got.EndReason != access.EndExpiry || !got.ExpiresAt.Equal(t0.Add(90*time.Second)) {
		t.Fatalf("grant is %s (%s) expiring %v, want revoking for expiry at the requested time", got.Status, got.EndReason, got.ExpiresAt)
	}
	if !got.GrantedAt.Equal(t0.Add(45 * time.Second)) {
		t.Errorf("granted at %v", got.GrantedAt)
	}
	if n := len(f.flow.of("ScheduleExpiry", g.ID)); n != 0 {
		t.Errorf("ScheduleExpiry called %d times for an inline expiry", n)
	}
	if n := len(f.flow.of("StartDeprovisioning", g.ID)); n != 1 {
		t.Errorf("StartDeprovisioning called %d times, want 1", n)
	}
	f.deprovision(tenantA, g.ID)
	got = f.grant(tenantA, g.ID)
	if got.Status != access.GrantExpired || len(f.ic.Assignments()) != 0 {
		t.Errorf("grant is %s with %d assignments, want expired with none", got.Status, len(f.ic.Assignments()))
	}
	want := []string{"grant.created_direct", "grant.activated", "grant.expiring", "grant.expired"}
	if acts := actions(f.auditOf(tenantA, g.ID)); !slices.Equal(acts, want) {
		t.Errorf("audit = %v, want %v", acts, want)
	}

	t.Run("a grant ending in more than a minute is scheduled", func(t *testing.T) {
		g := must(f.svc.CreateGrant(f.ctx, ada, access.CreateGrantInput{
			GranteeID: "bob", Resource: access.Resource{Type: access.ResourceAccount, ID: acct1},
			Action: "ReadOnly", ExpiresAt: f.clock.Now().Add(62 * time.Second), Reasoning: "quick look",
		}, nil))(t)
		f.provision(tenantA, g.ID)
		if got := f.grant(tenantA, g.ID); got.Status != access.GrantActive || len(f.flow.of("ScheduleExpiry", g.ID)) != 1 {
			t.Errorf("grant is %s with %d schedules, want active with one", got.Status, len(f.flow.of("ScheduleExpiry", g.ID)))
		}
	})
}

func TestProvisionRevokedMidway(t *testing.T) {
	t.Run("before the creation is issued", func(t *testing.T) {
		f, ds := withDyingStore(t)
		r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
		f.claimOnly(ds, tenantA, r.GrantID)
		must(f.svc.RevokeGrant(f.ctx, alice, r.GrantID, "never mind", nil))(t)
		if !f.step(tenantA, r.GrantID) {
			t.Error("ProvisionGrant of a revoking grant is not done")
		}
		f.deprovision(tenantA, r.GrantID)
		g := f.grant(tenantA, r.GrantID)
		if g.Status != access.GrantRevoked || len(f.ic.Assignments()) != 0 {
			t.Errorf("grant is %s with %d assignments", g.Status, len(f.ic.Assignments()))
		}
		if n := len(f.flow.of("ScheduleExpiry", g.ID)); n != 0 {
			t.Errorf("a grant revoked while provisioning was scheduled")
		}
	})
	t.Run("while the creation is in progress", func(t *testing.T) {
		f := withTenant(t)
		f.ic.SetPendingPolls(2)
		r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
		f.step(tenantA, r.GrantID) // claim and create
		must(f.svc.RevokeGrant(f.ctx, alice, r.GrantID, "never mind", nil))(t)
		f.deprovision(tenantA, r.GrantID)
		if g := f.grant(tenantA, r.GrantID); g.Status != access.GrantRevoked || len(f.ic.Assignments()) != 0 {
			t.Errorf("grant is %s with %v left", g.Status, f.ic.Assignments())
		}
	})
}

func TestProvisionUnknownGrant(t *testing.T) {
	f := withTenant(t)
	f.tenant(tenantB, nil)
	r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
	for _, tt := range []struct{ tenant, grant string }{
		{tenantA, "00000000-0000-7000-8000-999999999999"},
		{tenantB, r.GrantID},
	} {
		_, err := f.steps.ProvisionGrant(f.ctx, tt.tenant, tt.grant)
		wantCode(t, err, access.CodeNotFound)
		_, err = f.steps.DeprovisionGrant(f.ctx, tt.tenant, tt.grant)
		wantCode(t, err, access.CodeNotFound)
		_, err = f.steps.ExpireGrant(f.ctx, tt.tenant, tt.grant, 1)
		wantCode(t, err, access.CodeNotFound)
	}
	if g := f.grant(tenantA, r.GrantID); g.Status != access.GrantProvisioning || len(g.Assignments) != 0 {
		t.Errorf("another tenant's steps touched the grant: %+v", g)
	}
}
