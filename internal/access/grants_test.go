package access_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

func TestExpireGrant(t *testing.T) {
	t.Run("on time", func(t *testing.T) {
		f := withTenant(t)
		g := f.activeGrant(alice, readOnly(acct1))
		f.clock.Advance(g.ExpiresAt.Sub(f.clock.Now()))
		got := must(f.steps.ExpireGrant(f.ctx, tenantA, g.ID, g.Generation))(t)
		if got.Status != access.GrantRevoking || got.EndReason != access.EndExpiry || got.RevokedBy != "" {
			t.Fatalf("grant = %s (%s) by %q, want revoking for expiry", got.Status, got.EndReason, got.RevokedBy)
		}
		if n := len(f.flow.of("StartDeprovisioning", g.ID)); n != 1 {
			t.Errorf("StartDeprovisioning called %d times", n)
		}
		if n := len(f.flow.of("CancelExpiry", g.ID)); n != 0 {
			t.Errorf("CancelExpiry called %d times by the expiry itself", n)
		}
		f.deprovision(tenantA, g.ID)
		got = f.grant(tenantA, g.ID)
		if got.Status != access.GrantExpired || !got.RevokedAt.IsZero() {
			t.Errorf("grant = %s (revoked at %v), want expired", got.Status, got.RevokedAt)
		}
		// A late duplicate of the schedule is a no-op.
		again := must(f.steps.ExpireGrant(f.ctx, tenantA, g.ID, g.Generation))(t)
		if again.Status != access.GrantExpired || again.Revision != got.Revision {
			t.Errorf("a repeated expiry changed the grant: %s rev %d -> %d", again.Status, got.Revision, again.Revision)
		}
	})

	noop := []struct {
		name       string
		generation func(g access.Grant) int64
		before     func(f *fixture, g access.Grant)
	}{
		{"older generation", func(g access.Grant) int64 { return g.Generation - 1 }, nil},
		{"newer generation", func(g access.Grant) int64 { return g.Generation + 1 }, nil},
		{"revoked grant", func(g access.Grant) int64 { return g.Generation }, func(f *fixture, g access.Grant) {
			must(f.svc.RevokeGrant(f.ctx, alice, g.ID, "", nil))(f.t)
			f.deprovision(tenantA, g.ID)
		}},
		{"revoking grant", func(g access.Grant) int64 { return g.Generation }, func(f *fixture, g access.Grant) {
			must(f.svc.RevokeGrant(f.ctx, alice, g.ID, "", nil))(f.t)
		}},
	}
	for _, tt := range noop {
		t.Run(tt.name, func(t *testing.T) {
			f := withTenant(t)
			g := f.activeGrant(alice, readOnly(acct1))
			if tt.before != nil {
				tt.before(f, g)
			}
			before := f.grant(tenantA, g.ID)
			deprov := len(f.flow.of("StartDeprovisioning", g.ID))
			f.clock.Advance(2 * time.Hour)
			got := must(f.steps.ExpireGrant(f.ctx, tenantA, g.ID, tt.generation(g)))(t)
			after := f.grant(tenantA, g.ID)
			if after.Revision != before.Revision || after.Status != before.Status || got.Status != before.Status {
				t.Errorf("ExpireGrant changed the grant: %s rev %d -> %s rev %d", before.Status, before.Revision, after.Status, after.Revision)
			}
			if n := len(f.flow.of("StartDeprovisioning", g.ID)); n != deprov {
				t.Errorf("StartDeprovisioning called by a no-op expiry")
			}
			want := 0
			if before.Status == access.GrantActive || before.Status == access.GrantRevoking {
				want = 1 // still held: a no-op expiry removes nothing
			}
			if got := len(f.ic.Assignments()); got != want {
				t.Errorf("%d assignments, want %d", got, want)
			}
		})
	}

	t.Run("provisioning grant", func(t *testing.T) {
		f := withTenant(t)
		r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
		got := must(f.steps.ExpireGrant(f.ctx, tenantA, r.GrantID, 0))(t)
		if got.Status != access.GrantProvisioning {
			t.Errorf("grant is %s, want provisioning untouched", got.Status)
		}
	})

	t.Run("fired early", func(t *testing.T) {
		f := withTenant(t)
		g := f.activeGrant(alice, readOnly(acct1))
		f.clock.Advance(g.ExpiresAt.Sub(f.clock.Now()) - 10*time.Second)
		got := must(f.steps.ExpireGrant(f.ctx, tenantA, g.ID, g.Generation))(t)
		if got.Status != access.GrantActive {
			t.Fatalf("grant is %s after an early expiry, want active", got.Status)
		}
		sched := f.flow.of("ScheduleExpiry", g.ID)
		if len(sched) != 2 || sched[1].Generation != g.Generation || !sched[1].ExpiresAt.Equal(g.ExpiresAt) {
			t.Errorf("ScheduleExpiry calls = %+v, want a second for the same generation and time", sched)
		}
		if n := len(f.flow.of("StartDeprovisioning", g.ID)); n != 0 {
			t.Errorf("StartDeprovisioning called for an early expiry")
		}
		if stored := f.grant(tenantA, g.ID); stored.Status != access.GrantActive || stored.Revision != g.Revision {
			t.Errorf("stored grant changed: %s rev %d", stored.Status, stored.Revision)
		}

		// Within five seconds of the end counts as on time.
		f.clock.Advance(6 * time.Second)
		got = must(f.steps.ExpireGrant(f.ctx, tenantA, g.ID, g.Generation))(t)
		if got.Status != access.GrantRevoking {
			t.Errorf("grant is %s four seconds before its end, want revoking", got.Status)
		}
	})
}

func TestRevokeGrant(t *testing.T) {
	t.Run("by the grantee", func(t *testing.T) {
		f := withTenant(t)
		g := f.activeGrant(alice, readOnly(acct1))
		f.clock.Advance(time.Minute)
		got := must(f.svc.RevokeGrant(f.ctx, alice, g.ID, "  done early  ", nil))(t)
		if got.Status != access.GrantRevoking || got.EndReason != access.EndRevocation || got.RevokedBy != "alice" || got.Reasoning != "done early" {
			t.Fatalf("grant = %s (%s) by %q: %q", got.Status, got.EndReason, got.RevokedBy, got.Reasoning)
		}
		if stored := f.grant(tenantA, g.ID); stored.Status != access.GrantRevoking {
			t.Errorf("stored grant is %s", stored.Status)
		}
		if n := len(f.flow.of("CancelExpiry", g.ID)); n != 1 {
			t.Errorf("CancelExpiry called %d times, want 1", n)
		}
		if n := len(f.flow.of("StartDeprovisioning", g.ID)); n != 1 {
			t.Errorf("StartDeprovisioning called %d times, want 1", n)
		}
		if got := f.ic.Assignments(); len(got) != 1 {
			t.Errorf("the assignment was removed before deprovisioning: %v", got)
		}
		f.clock.Advance(time.Minute)
		f.deprovision(tenantA, g.ID)
		got = f.grant(tenantA, g.ID)
		if got.Status != access.GrantRevoked || !got.RevokedAt.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("grant = %s revoked at %v", got.Status, got.RevokedAt)
		}
		if n := len(f.ic.Assignments()); n != 0 {
			t.Errorf("%d assignments left", n)
		}
		if acts := actions(f.auditOf(tenantA, g.ID)); !slices.Equal(acts[len(acts)-2:], []string{"grant.revoking", "grant.revoked"}) {
			t.Errorf("audit = %v", acts)
		}
		if ev, _ := f.findAudit(tenantA, g.ID, "grant.revoking"); ev.ActorID != "alice" {
			t.Errorf("grant.revoking actor %q", ev.ActorID)
		}
		// Twice.
		_, err := f.svc.RevokeGrant(f.ctx, alice, g.ID, "", nil)
		wantCode(t, err, access.CodeConflict)
	})

	tests := []struct {
		name string
		p    access.Principal
		code access.Code // "" when allowed
	}{
		{"an admin", ada, ""},
		{"a service key with the admin role", robot, ""},
		{"another requester", bob, access.CodeNotFound},
		{"an approver", carol, access.CodeNotFound},
		{"an admin of another tenant", user(tenantB, "ada", access.RoleAdmin), access.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run("by "+tt.name, func(t *testing.T) {
			f := withTenant(t)
			f.tenant(tenantB, nil)
			g := f.activeGrant(alice, readOnly(acct1))
			got, err := f.svc.RevokeGrant(f.ctx, tt.p, g.ID, "", nil)
			if tt.code == "" {
				if err != nil || got.Status != access.GrantRevoking || got.RevokedBy != tt.p.ID {
					t.Fatalf("RevokeGrant = %s by %q, %v", got.Status, got.RevokedBy, err)
				}
				return
			}
			wantCode(t, err, tt.code)
			if stored := f.grant(tenantA, g.ID); stored.Status != access.GrantActive {
				t.Errorf("grant is %s", stored.Status)
			}
			if n := f.flow.count("StartDeprovisioning") + f.flow.count("CancelExpiry"); n != 0 {
				t.Errorf("a refused revocation called the workflow %d times", n)
			}
		})
	}

	t.Run("after expiry", func(t *testing.T) {
		f := withTenant(t)
		g := f.expire(f.activeGrant(alice, readOnly(acct1)))
		_, err := f.svc.RevokeGrant(f.ctx, ada, g.ID, "", nil)
		wantCode(t, err, access.CodeConflict)
	})
	t.Run("reasoning with a control character", func(t *testing.T) {
		f := withTenant(t)
		g := f.activeGrant(alice, readOnly(acct1))
		_, err := f.svc.RevokeGrant(f.ctx, alice, g.ID, "a\x07b", nil)
		wantFields(t, err, "reasoning")
	})
}

func TestCreateGrant(t *testing.T) {
	valid := func() access.CreateGrantInput {
		return access.CreateGrantInput{
			GranteeID: "alice", Resource: access.Resource{Type: access.ResourceAccount, ID: acct1},
			Action: "Admin", ExpiresAt: t0.Add(2 * time.Hour), Reasoning: "incident INC-9",
		}
	}
	t.Run("admin to someone else", func(t *testing.T) {
		f := withTenant(t)
		g := must(f.svc.CreateGrant(f.ctx, ada, valid(), nil))(t)
		if g.Status != access.GrantProvisioning || g.RequestID != "" || g.GranteeID != "alice" || g.CreatedBy != "ada" ||
			!g.ExpiresAt.Equal(t0.Add(2*time.Hour)) || g.DurationSeconds != 7200 {
			t.Fatalf("grant = %+v", g)
		}
		if n := len(f.flow.of("StartProvisioning", g.ID)); n != 1 {
			t.Errorf("StartProvisioning called %d times", n)
		}
		ev, ok := f.findAudit(tenantA, g.ID, "grant.created_direct")
		if !ok || ev.Severity != access.SeverityHigh || ev.ActorID != "ada" || ev.Details["grantee_id"] != "alice" {
			t.Errorf("audit = %+v (found %v)", ev, ok)
		}
		// Provisioning keeps the admin's end time, whenever it finishes.
		f.clock.Advance(10 * time.Minute)
		f.provision(tenantA, g.ID)
		got := f.grant(tenantA, g.ID)
		if got.Status != access.GrantActive || !got.ExpiresAt.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("grant %s expires %v, want active until %v", got.Status, got.ExpiresAt, t0.Add(2*time.Hour))
		}
		if got := f.ic.Assignments(); !slices.Equal(got, []access.AssignmentKey{assignment("alice", acct1, psAdmin)}) {
			t.Errorf("Identity Center = %+v", got)
		}
	})

	tests := []struct {
		name   string
		p      access.Principal
		edit   func(*access.CreateGrantInput)
		code   access.Code
		fields []string
		msg    string
	}{
		{name: "to oneself", p: ada, edit: func(in *access.CreateGrantInput) { in.GranteeID = "ada" }, code: access.CodeForbidden},
		{name: "by an approver", p: carol, code: access.CodeForbidden},
		{name: "by a requester", p: bob, code: access.CodeForbidden},
		{name: "expires_at missing", p: ada, edit: func(in *access.CreateGrantInput) { in.ExpiresAt = time.Time{} }, code: access.CodeValidationFailed, fields: []string{"expires_at"}, msg: "is required"},
		{name: "expires_at past", p: ada, edit: func(in *access.CreateGrantInput) { in.ExpiresAt = t0.Add(-time.Minute) }, code: access.CodeValidationFailed, fields: []string{"expires_at"}},
		{name: "expires_at in a minute", p: ada, edit: func(in *access.CreateGrantInput) { in.ExpiresAt = t0.Add(time.Minute) }, code: access.CodeValidationFailed, fields: []string{"expires_at"}},
		{name: "expires_at beyond the maximum", p: ada, edit: func(in *access.CreateGrantInput) { in.ExpiresAt = t0.Add(access.DefaultMaxDuration + time.Second) },
			code: access.CodeValidationFailed, fields: []string{"expires_at"}, msg: "86400 seconds"},
		{name: "grantee missing", p: ada, edit: func(in *access.CreateGrantInput) { in.GranteeID = "" }, code: access.CodeValidationFailed, fields: []string{"grantee_id"}},
		{name: "reasoning missing", p: ada, edit: func(in *access.CreateGrantInput) { in.Reasoning = " " }, code: access.CodeValidationFailed, fields: []string{"reasoning"}},
		{name: "action not offered", p: ada, edit: func(in *access.CreateGrantInput) { in.Action = "Root" }, code: access.CodeValidationFailed, fields: []string{"action"}},
		{name: "bad resource", p: ada, edit: func(in *access.CreateGrantInput) { in.Resource.Region = "eu-west-1" }, code: access.CodeValidationFailed, fields: []string{"resource.region"}},
		{name: "protected account", p: ada, edit: func(in *access.CreateGrantInput) { in.Resource.ID = protected }, code: access.CodeForbidden, msg: "protected"},
		{name: "outside the allowed roots", p: ada, edit: func(in *access.CreateGrantInput) { in.Resource.ID = outside }, code: access.CodeForbidden, msg: "outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := withTenant(t)
			in := valid()
			if tt.edit != nil {
				tt.edit(&in)
			}
			_, err := f.svc.CreateGrant(f.ctx, tt.p, in, nil)
			e := wantCode(t, err, tt.code)
			if len(tt.fields) > 0 {
				wantFields(t, err, tt.fields...)
			}
			if tt.msg != "" && !strings.Contains(e.Message+" "+strings.Join(detailStrings(e), " "), tt.msg) {
				t.Errorf("error %v does not mention %q", err, tt.msg)
			}
			if n := len(must(f.svc.ListGrants(f.ctx, ada, access.GrantFilter{}, access.PageRequest{Limit: 10}))(t).Items); n != 0 {
				t.Errorf("%d grants stored", n)
			}
			if n := f.flow.count("StartProvisioning"); n != 0 {
				t.Errorf("StartProvisioning called %d times", n)
			}
		})
	}
}

func detailStrings(e *access.Error) []string {
	var out []string
	for k, v := range e.Details {
		if s, ok := v.(string); ok {
			out = append(out, k+": "+s)
		}
	}
	return out
}

func TestGrantVisibility(t *testing.T) {
	f := withTenant(t)
	g := f.activeGrant(alice, readOnly(acct1))
	for _, tt := range []struct {
		p    access.Principal
		sees bool
	}{
		{alice, true}, {ada, true}, {bob, false}, {carol, false}, {user(tenantB, "alice", access.RoleAdmin), false},
	} {
		_, err := f.svc.GetGrant(f.ctx, tt.p, g.ID)
		if tt.sees && err != nil {
			t.Errorf("%s/%s cannot see the grant: %v", tt.p.TenantID[:4], tt.p.ID, err)
		}
		if !tt.sees && !isNotFound(err) {
			t.Errorf("%s/%s: GetGrant error %v, want not_found", tt.p.TenantID[:4], tt.p.ID, err)
		}
		list := must(f.svc.ListGrants(f.ctx, tt.p, access.GrantFilter{}, access.PageRequest{Limit: 10}))(t)
		if got := len(list.Items) == 1; got != tt.sees {
			t.Errorf("%s/%s lists %d grants", tt.p.TenantID[:4], tt.p.ID, len(list.Items))
		}
	}
	if list := must(f.svc.ListGrants(f.ctx, bob, access.GrantFilter{GranteeID: "alice"}, access.PageRequest{Limit: 10}))(t); len(list.Items) != 0 {
		t.Error("a requester lists another grantee's grants by filtering on them")
	}
}
