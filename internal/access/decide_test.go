package access_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// pending makes a request by p that needs one approval.
func (f *fixture) pending(p access.Principal, in access.CreateRequestInput) access.Request {
	f.t.Helper()
	r := must(f.svc.CreateRequest(f.ctx, p, in, nil))(f.t)
	if r.Status != access.RequestPending {
		f.t.Fatalf("request is %s, want pending", r.Status)
	}
	return r
}

func TestApprove(t *testing.T) {
	f := withTenant(t)
	r := f.pending(alice, adminAccess(acct1))
	f.clock.Advance(time.Minute)
	got := must(f.svc.Approve(f.ctx, carol, r.ID, "looks right", nil))(t)
	if got.Status != access.RequestApproved || got.DecidedBy != "carol" || got.Reasoning != "looks right" || !got.DecidedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("approved request = %s by %q (%q) at %v", got.Status, got.DecidedBy, got.Reasoning, got.DecidedAt)
	}
	if len(got.Approvals) != 1 || got.Approvals[0].ApproverID != "carol" || got.Approvals[0].Reasoning != "looks right" {
		t.Errorf("approvals = %+v", got.Approvals)
	}
	if got.GrantID == "" {
		t.Fatal("an approved request has no grant")
	}
	g := f.grant(tenantA, got.GrantID)
	if g.Status != access.GrantProvisioning || g.RequestID != r.ID || g.GranteeID != "alice" || g.CreatedBy != "alice" {
		t.Errorf("grant = %+v", g)
	}
	if stored := f.request(tenantA, r.ID); stored.Status != access.RequestApproved || stored.GrantID != g.ID {
		t.Errorf("stored request %s with grant %q", stored.Status, stored.GrantID)
	}
	if n := len(f.flow.of("EndApproval", r.ID)); n != 1 {
		t.Errorf("EndApproval called %d times, want 1 (it provisions an approved request's grant)", n)
	}
	if got := actions(f.auditOf(tenantA, r.ID)); !slices.Equal(got, []string{"request.created", "request.approved"}) {
		t.Errorf("request audit = %v", got)
	}
	if got := actions(f.auditOf(tenantA, g.ID)); !slices.Equal(got, []string{"grant.created"}) {
		t.Errorf("grant audit = %v", got)
	}

	t.Run("again", func(t *testing.T) {
		_, err := f.svc.Approve(f.ctx, dave, r.ID, "", nil)
		wantCode(t, err, access.CodeRequestNotPending)
		_, err = f.svc.Approve(f.ctx, carol, r.ID, "", nil)
		wantCode(t, err, access.CodeRequestNotPending)
		if n := len(must(f.svc.ListGrants(f.ctx, ada, access.GrantFilter{}, access.PageRequest{Limit: 10}))(t).Items); n != 1 {
			t.Errorf("%d grants after approving twice, want 1", n)
		}
	})
	t.Run("cancel after approval", func(t *testing.T) {
		_, err := f.svc.Cancel(f.ctx, alice, r.ID, nil)
		wantCode(t, err, access.CodeRequestNotPending)
	})
	t.Run("deny after approval", func(t *testing.T) {
		_, err := f.svc.Deny(f.ctx, dave, r.ID, "no", nil)
		wantCode(t, err, access.CodeRequestNotPending)
	})
}

func TestDecideRefused(t *testing.T) {
	tests := []struct {
		name    string
		p       access.Principal
		grantee string // makes the request delegated
		deny    bool
		code    access.Code
	}{
		{name: "requester approves own request", p: user(tenantA, "alice", access.RoleApprover), code: access.CodeForbidden},
		{name: "admin approves own request", p: user(tenantA, "alice", access.RoleAdmin), code: access.CodeForbidden},
		{name: "grantee approves", p: user(tenantA, "bob", access.RoleApprover), grantee: "bob", code: access.CodeForbidden},
		{name: "grantee denies", p: user(tenantA, "bob", access.RoleAdmin), grantee: "bob", deny: true, code: access.CodeForbidden},
		{name: "requester role", p: bob, code: access.CodeForbidden},
		{name: "requester role denies", p: bob, deny: true, code: access.CodeForbidden},
		{name: "service principal", p: robot, code: access.CodeForbidden},
		{name: "service principal denies", p: robot, deny: true, code: access.CodeForbidden},
		{name: "other tenant", p: user(tenantB, "carol", access.RoleApprover), code: access.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := withTenant(t)
			f.tenant(tenantB, nil)
			in := adminAccess(acct1)
			in.GranteeID = tt.grantee
			r := f.pending(alice, in)
			var err error
			if tt.deny {
				_, err = f.svc.Deny(f.ctx, tt.p, r.ID, "no", nil)
			} else {
				_, err = f.svc.Approve(f.ctx, tt.p, r.ID, "yes", nil)
			}
			wantCode(t, err, tt.code)
			if got := f.request(tenantA, r.ID); got.Status != access.RequestPending || len(got.Approvals) != 0 || got.Revision != r.Revision {
				t.Errorf("request changed: %s, approvals %v, revision %d", got.Status, got.Approvals, got.Revision)
			}
			if n := f.flow.count("EndApproval"); n != 0 {
				t.Errorf("EndApproval called %d times", n)
			}
		})
	}
}

func TestDeny(t *testing.T) {
	f := withTenant(t)
	r := f.pending(alice, adminAccess(acct1))
	got := must(f.svc.Deny(f.ctx, carol, r.ID, "not during the freeze", nil))(t)
	if got.Status != access.RequestDenied || got.DecidedBy != "carol" || got.Reasoning != "not during the freeze" || got.GrantID != "" {
		t.Fatalf("denied request = %+v", got)
	}
	if stored := f.request(tenantA, r.ID); stored.Status != access.RequestDenied {
		t.Errorf("stored request is %s", stored.Status)
	}
	if n := len(f.flow.of("EndApproval", r.ID)); n != 1 {
		t.Errorf("EndApproval called %d times, want 1", n)
	}
	if got := actions(f.auditOf(tenantA, r.ID)); !slices.Equal(got, []string{"request.created", "request.denied"}) {
		t.Errorf("audit = %v", got)
	}
	_, err := f.svc.Deny(f.ctx, dave, r.ID, "no", nil)
	wantCode(t, err, access.CodeRequestNotPending)
	_, err = f.svc.Approve(f.ctx, dave, r.ID, "", nil)
	wantCode(t, err, access.CodeRequestNotPending)

	t.Run("reasoning too long", func(t *testing.T) {
		r := f.pending(alice, adminAccess(acct1))
		_, err := f.svc.Deny(f.ctx, carol, r.ID, strings.Repeat("x", access.MaxReasoning+1), nil)
		wantFields(t, err, "reasoning")
	})
	t.Run("unknown request", func(t *testing.T) {
		_, err := f.svc.Deny(f.ctx, carol, "00000000-0000-7000-8000-999999999999", "no", nil)
		wantCode(t, err, access.CodeNotFound)
	})
	t.Run("a deny says why", func(t *testing.T) {
		r := f.pending(alice, adminAccess(acct1))
		for _, reasoning := range []string{"", "  \n "} {
			_, err := f.svc.Deny(f.ctx, carol, r.ID, reasoning, nil)
			wantFields(t, err, "reasoning")
		}
		if stored := f.request(tenantA, r.ID); stored.Status != access.RequestPending {
			t.Fatalf("a refused deny left the request %s", stored.Status)
		}
		// An approval needs no reason.
		must(f.svc.Approve(f.ctx, carol, r.ID, "", nil))(t)
	})
	t.Run("unless the tenant makes the reason optional", func(t *testing.T) {
		no := false
		must(f.svc.UpdateTenant(f.ctx, ada, access.TenantPatch{DenyRequiresReasoning: &no}, nil))(t)
		t.Cleanup(func() {
			yes := true
			must(f.svc.UpdateTenant(f.ctx, ada, access.TenantPatch{DenyRequiresReasoning: &yes}, nil))(t)
		})
		r := f.pending(alice, adminAccess(acct1))
		if got := must(f.svc.Deny(f.ctx, carol, r.ID, "", nil))(t); got.Status != access.RequestDenied {
			t.Fatalf("deny without a reason: %s", got.Status)
		}
	})
}

func TestCancel(t *testing.T) {
	f := withTenant(t)
	t.Run("by the requester", func(t *testing.T) {
		r := f.pending(alice, adminAccess(acct1))
		got := must(f.svc.Cancel(f.ctx, alice, r.ID, nil))(t)
		if got.Status != access.RequestCancelled || got.DecidedBy != "alice" {
			t.Fatalf("cancelled request = %s by %q", got.Status, got.DecidedBy)
		}
		if stored := f.request(tenantA, r.ID); stored.Status != access.RequestCancelled {
			t.Errorf("stored request is %s", stored.Status)
		}
		if n := len(f.flow.of("EndApproval", r.ID)); n != 1 {
			t.Errorf("EndApproval called %d times, want 1", n)
		}
		if _, ok := f.findAudit(tenantA, r.ID, "request.cancelled"); !ok {
			t.Error("no request.cancelled audit event")
		}
		_, err := f.svc.Cancel(f.ctx, alice, r.ID, nil)
		wantCode(t, err, access.CodeRequestNotPending)
		_, err = f.svc.Approve(f.ctx, carol, r.ID, "", nil)
		wantCode(t, err, access.CodeRequestNotPending)
	})
	refused := []struct {
		name    string
		p       access.Principal
		grantee string
		code    access.Code
	}{
		{"an approver", carol, "", access.CodeForbidden},
		{"an admin", ada, "", access.CodeForbidden},
		{"the grantee of a delegated request", bob, "bob", access.CodeForbidden},
		{"another requester, who cannot see it", bob, "", access.CodeNotFound},
		{"the requester's namesake in another tenant", user(tenantB, "alice", access.RoleRequester), "", access.CodeNotFound},
	}
	for _, tt := range refused {
		t.Run("by "+tt.name, func(t *testing.T) {
			in := adminAccess(acct1)
			in.GranteeID = tt.grantee
			r := f.pending(alice, in)
			_, err := f.svc.Cancel(f.ctx, tt.p, r.ID, nil)
			wantCode(t, err, tt.code)
			if got := f.request(tenantA, r.ID); got.Status != access.RequestPending {
				t.Errorf("request is %s", got.Status)
			}
		})
	}
	t.Run("of a denied request", func(t *testing.T) {
		in := adminAccess(acct1)
		in.DurationSeconds = 50000
		r, err := f.svc.CreateRequest(f.ctx, alice, in, nil)
		wantCode(t, err, access.CodePolicyDenied)
		_, err = f.svc.Cancel(f.ctx, alice, r.ID, nil)
		wantCode(t, err, access.CodeRequestNotPending)
	})
}

func TestApprovalWindowEnds(t *testing.T) {
	decide := map[string]func(f *fixture, id string) error{
		"approve": func(f *fixture, id string) error { _, err := f.svc.Approve(f.ctx, carol, id, "", nil); return err },
		"deny":    func(f *fixture, id string) error { _, err := f.svc.Deny(f.ctx, carol, id, "no", nil); return err },
		"cancel":  func(f *fixture, id string) error { _, err := f.svc.Cancel(f.ctx, alice, id, nil); return err },
	}
	for name, call := range decide {
		t.Run(name, func(t *testing.T) {
			f := withTenant(t)
			r := f.pending(alice, adminAccess(acct1))
			f.clock.Advance(access.DefaultApprovalWindow)
			wantCode(t, call(f, r.ID), access.CodeRequestNotPending)
			got := f.request(tenantA, r.ID)
			if got.Status != access.RequestExpired || got.GrantID != "" || got.DecidedAt.IsZero() {
				t.Fatalf("request after its window = %s (grant %q)", got.Status, got.GrantID)
			}
			if n := len(f.flow.of("EndApproval", r.ID)); n != 1 {
				t.Errorf("EndApproval called %d times, want 1", n)
			}
			if ev, ok := f.findAudit(tenantA, r.ID, "request.expired"); !ok || ev.ActorID != "elevate" {
				t.Errorf("request.expired audit %+v (found %v)", ev, ok)
			}
			if n := len(must(f.svc.ListGrants(f.ctx, ada, access.GrantFilter{}, access.PageRequest{Limit: 10}))(t).Items); n != 0 {
				t.Errorf("%d grants for an expired request", n)
			}
		})
	}
	t.Run("just before the window ends", func(t *testing.T) {
		f := withTenant(t)
		r := f.pending(alice, adminAccess(acct1))
		f.clock.Advance(access.DefaultApprovalWindow - time.Second)
		if got := must(f.svc.Approve(f.ctx, carol, r.ID, "", nil))(t); got.Status != access.RequestApproved {
			t.Errorf("request is %s", got.Status)
		}
	})
}

func TestExpireRequest(t *testing.T) {
	f := withTenant(t)
	r := f.pending(alice, adminAccess(acct1))
	f.clock.Advance(access.DefaultApprovalWindow)
	got := must(f.steps.ExpireRequest(f.ctx, tenantA, r.ID))(t)
	if got.Status != access.RequestExpired {
		t.Fatalf("request is %s, want expired", got.Status)
	}
	again := must(f.steps.ExpireRequest(f.ctx, tenantA, r.ID))(t)
	if again.Status != access.RequestExpired || again.Revision != got.Revision {
		t.Errorf("expiring twice changed the request: %s rev %d -> %d", again.Status, got.Revision, again.Revision)
	}

	t.Run("after a decision, the decision wins", func(t *testing.T) {
		r := f.pending(alice, adminAccess(acct1))
		must(f.svc.Approve(f.ctx, carol, r.ID, "", nil))(t)
		got := must(f.steps.ExpireRequest(f.ctx, tenantA, r.ID))(t)
		if got.Status != access.RequestApproved {
			t.Errorf("ExpireRequest returned %s, want the approved request unchanged", got.Status)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		_, err := f.steps.ExpireRequest(f.ctx, tenantA, "00000000-0000-7000-8000-999999999999")
		wantCode(t, err, access.CodeNotFound)
	})
}

// twoApprovers needs two distinct approvers for every request.
const twoApprovers = `
@id("two-approvers")
@approval("require")
@approvals("2")
@notice("Two approvers must agree.")
permit (principal, action == Elevate::Action::"request", resource);

@id("approvers-may-approve")
permit (principal, action == Elevate::Action::"approve", resource);
`

func TestQuorum(t *testing.T) {
	f := newFixture(t)
	f.tenant(tenantA, func(in *access.NewTenantInput) { in.Policies = twoApprovers })
	r := f.pending(alice, readOnly(acct1))
	if r.ApprovalsRequired != 2 || !slices.Contains(r.Notices, "Two approvers must agree.") {
		t.Fatalf("request needs %d approvals with notices %q", r.ApprovalsRequired, r.Notices)
	}

	first := must(f.svc.Approve(f.ctx, carol, r.ID, "one", nil))(t)
	if first.Status != access.RequestPending || len(first.Approvals) != 1 || first.GrantID != "" {
		t.Fatalf("after one approval: %s with %d approvals, grant %q", first.Status, len(first.Approvals), first.GrantID)
	}
	if n := f.flow.count("EndApproval"); n != 0 {
		t.Errorf("EndApproval called after the first of two approvals")
	}
	if got := f.request(tenantA, r.ID); got.Status != access.RequestPending || len(got.Approvals) != 1 {
		t.Errorf("stored after one approval: %s with %v", got.Status, got.Approvals)
	}

	_, err := f.svc.Approve(f.ctx, carol, r.ID, "again", nil)
	e := wantCode(t, err, access.CodeConflict)
	if !strings.Contains(e.Message, "already approved") {
		t.Errorf("message %q", e.Message)
	}
	if got := f.request(tenantA, r.ID); len(got.Approvals) != 1 {
		t.Errorf("a second approval by the same approver was recorded: %v", got.Approvals)
	}

	f.clock.Advance(time.Minute)
	second := must(f.svc.Approve(f.ctx, dave, r.ID, "two", nil))(t)
	if second.Status != access.RequestApproved || second.GrantID == "" || second.DecidedBy != "dave" {
		t.Fatalf("after two approvals: %s, grant %q, decided by %q", second.Status, second.GrantID, second.DecidedBy)
	}
	var ids []string
	for _, a := range second.Approvals {
		ids = append(ids, a.ApproverID)
	}
	if !slices.Equal(ids, []string{"carol", "dave"}) {
		t.Errorf("approvals = %v, want carol then dave", ids)
	}
	if got := actions(f.auditOf(tenantA, r.ID)); !slices.Equal(got, []string{"request.created", "request.approval_recorded", "request.approved"}) {
		t.Errorf("audit = %v", got)
	}

	t.Run("one deny is enough", func(t *testing.T) {
		r := f.pending(alice, readOnly(acct1))
		must(f.svc.Approve(f.ctx, carol, r.ID, "", nil))(t)
		got := must(f.svc.Deny(f.ctx, dave, r.ID, "no", nil))(t)
		if got.Status != access.RequestDenied {
			t.Errorf("request is %s", got.Status)
		}
	})
	t.Run("pending approvals inbox", func(t *testing.T) {
		r := f.pending(alice, readOnly(acct1))
		must(f.svc.Approve(f.ctx, carol, r.ID, "", nil))(t)
		has := func(p access.Principal) bool {
			page := must(f.svc.ListPendingApprovals(f.ctx, p, access.InboxFilter{}, access.PageRequest{Limit: 50}))(t)
			return slices.ContainsFunc(page.Items, func(x access.Request) bool { return x.ID == r.ID })
		}
		if has(carol) {
			t.Error("the inbox lists a request the caller already approved")
		}
		if !has(dave) {
			t.Error("the inbox does not list a request the caller may approve")
		}
		if has(user(tenantA, "alice", access.RoleApprover)) {
			t.Error("the inbox lists the caller's own request")
		}
	})
}

// approveOnlyPlatform lets only members of "platform" decide requests.
const approveOnlyPlatform = `
@id("needs-approval")
@approval("require")
permit (principal, action == Elevate::Action::"request", resource);

@id("platform-approves")
permit (principal in Elevate::Group::"platform", action == Elevate::Action::"approve", resource);
`

func TestApproveNeedsPolicy(t *testing.T) {
	f := newFixture(t)
	f.tenant(tenantA, func(in *access.NewTenantInput) { in.Policies = approveOnlyPlatform })
	r := f.pending(alice, readOnly(acct1))
	_, err := f.svc.Approve(f.ctx, carol, r.ID, "", nil)
	wantCode(t, err, access.CodeForbidden)
	platform := user(tenantA, "pat", access.RoleApprover, "platform")
	if got := must(f.svc.Approve(f.ctx, platform, r.ID, "", nil))(t); got.Status != access.RequestApproved {
		t.Errorf("request is %s", got.Status)
	}
}
