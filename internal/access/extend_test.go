package access_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

func extendBy(seconds int64) access.ExtendGrantInput {
	return access.ExtendGrantInput{DurationSeconds: seconds, Justification: "INC-1 runs late"}
}

func TestExtendGrantAuto(t *testing.T) {
	f := withTenant(t)
	g := f.activeGrant(alice, readOnly(acct1))
	f.clock.Advance(20 * time.Minute)

	r := must(f.svc.ExtendGrant(f.ctx, alice, g.ID, extendBy(1800), nil))(t)
	if r.Status != access.RequestApproved || r.ApprovalMode != access.ModeAuto || r.ExtendsGrantID != g.ID || r.GrantID != g.ID {
		t.Fatalf("extension = %+v", r)
	}
	got := f.grant(tenantA, g.ID)
	if !got.ExpiresAt.Equal(g.ExpiresAt.Add(30*time.Minute)) || got.Extensions != 1 || got.Generation != g.Generation+1 || got.Status != access.GrantActive {
		t.Fatalf("grant = expires %v, extensions %d, generation %d, %s", got.ExpiresAt, got.Extensions, got.Generation, got.Status)
	}
	if !slices.Equal(got.Assignments, g.Assignments) {
		t.Fatalf("assignments changed: %+v -> %+v", g.Assignments, got.Assignments)
	}
	sched := f.flow.of("ScheduleExpiry", g.ID)
	last := sched[len(sched)-1]
	if last.Generation != got.Generation || !last.ExpiresAt.Equal(got.ExpiresAt) {
		t.Fatalf("last schedule = %+v, want generation %d at %v", last, got.Generation, got.ExpiresAt)
	}
	if n := len(f.flow.of("StartApproval", r.ID)); n != 0 {
		t.Errorf("an auto extension started %d approval waits", n)
	}
	ev, ok := f.findAudit(tenantA, g.ID, access.AuditGrantExtended)
	if !ok || ev.Details["request_id"] != r.ID || ev.Details["extensions"] != 1 {
		t.Fatalf("grant.extended = %+v (found %v)", ev, ok)
	}

	// The sweeper keeps watching the grantee's assignments for as long as
	// the grant now lasts.
	touched := must(f.store.ListTouchedPrincipals(f.ctx, access.PageRequest{Limit: 10}))(t)
	if len(touched.Items) != 1 || !touched.Items[0].ExpiresAt.After(got.ExpiresAt) || !touched.Items[0].ExpiresAt.Equal(f.clock.Now().Add(30*24*time.Hour)) {
		t.Fatalf("touched principals = %+v", touched.Items)
	}

	// The schedule of the old generation is a no-op at the old time.
	f.clock.Advance(g.ExpiresAt.Sub(f.clock.Now()) + time.Second)
	if old := must(f.steps.ExpireGrant(f.ctx, tenantA, g.ID, g.Generation))(t); old.Status != access.GrantActive {
		t.Fatalf("the old schedule ended the grant: %s", old.Status)
	}
	f.expire(got)
}

func TestExtendGrantRequiresApproval(t *testing.T) {
	tests := []struct {
		name     string
		caller   access.Principal
		in       access.CreateRequestInput
		seconds  int64
		previous int // auto extensions first
	}{
		{"longer than the original duration", alice, readOnly(acct1), 3601, 0},
		{"second extension longer than an hour", alice, access.CreateRequestInput{
			Resource: access.Resource{Type: access.ResourceAccount, ID: acct1},
			Action:   "ReadOnly", DurationSeconds: 3600, Justification: "INC-1",
		}, 3600 + 1, 1},
		{"delegated by an admin", ada, readOnly(acct1), 600, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := withTenant(t)
			g := f.activeGrant(alice, tt.in)
			for range tt.previous {
				must(f.svc.ExtendGrant(f.ctx, alice, g.ID, extendBy(600), nil))(t)
			}
			r := must(f.svc.ExtendGrant(f.ctx, tt.caller, g.ID, extendBy(tt.seconds), nil))(t)
			if r.Status != access.RequestPending || r.GrantID != "" || r.ExtendsGrantID != g.ID {
				t.Fatalf("extension = %+v", r)
			}
			if n := len(f.flow.of("StartApproval", r.ID)); n != 1 {
				t.Errorf("StartApproval called %d times", n)
			}
			before := f.grant(tenantA, g.ID)
			if before.PendingExtension != r.ID {
				t.Fatalf("marker = %q, want %s", before.PendingExtension, r.ID)
			}
			approved := must(f.svc.Approve(f.ctx, carol, r.ID, "ok", nil))(t)
			if approved.Status != access.RequestApproved || approved.GrantID != g.ID {
				t.Fatalf("approved = %+v", approved)
			}
			got := f.grant(tenantA, g.ID)
			if !got.ExpiresAt.Equal(before.ExpiresAt.Add(time.Duration(tt.seconds)*time.Second)) || got.Extensions != tt.previous+1 || got.PendingExtension != "" {
				t.Fatalf("grant after approval = %+v", got)
			}
		})
	}
}

func TestExtendGrantRefused(t *testing.T) {
	type setup func(f *fixture) access.Grant
	active := func(f *fixture) access.Grant { return f.activeGrant(alice, readOnly(acct1)) }
	tests := []struct {
		name   string
		setup  setup
		caller access.Principal
		in     access.ExtendGrantInput
		code   access.Code
		field  string
	}{
		{"zero", active, alice, extendBy(0), access.CodeValidationFailed, "duration_seconds"},
		{"negative", active, alice, extendBy(-1), access.CodeValidationFailed, "duration_seconds"},
		{"past the tenant's maximum duration", active, alice, extendBy(int64(access.DefaultMaxDuration/time.Second) + 1), access.CodeValidationFailed, "duration_seconds"},
		{"past the maximum lifetime", active, alice, extendBy(int64(access.DefaultMaxGrantLifetime/time.Second) - 3600 + 1), access.CodeValidationFailed, "duration_seconds"},
		{"no justification", active, alice, access.ExtendGrantInput{DurationSeconds: 60}, access.CodeValidationFailed, "justification"},
		{"someone else's grant", active, bob, extendBy(60), access.CodeNotFound, ""},
		{"an approver who cannot see it", active, carol, extendBy(60), access.CodeNotFound, ""},
		{"another tenant's grant", active, user(tenantB, "alice", access.RoleAdmin), extendBy(60), access.CodeNotFound, ""},
		{"an ended grant", func(f *fixture) access.Grant { return f.expire(active(f)) }, alice, extendBy(60), access.CodeGrantNotActive, ""},
		{"a revoking grant", func(f *fixture) access.Grant {
			g := active(f)
			return must(f.svc.RevokeGrant(f.ctx, alice, g.ID, "", nil))(f.t)
		}, alice, extendBy(60), access.CodeGrantNotActive, ""},
		{"a grant past its end not yet expired", func(f *fixture) access.Grant {
			g := active(f)
			f.clock.Advance(time.Hour)
			return g
		}, alice, extendBy(60), access.CodeGrantNotActive, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := withTenant(t)
			if tt.caller.TenantID == tenantB {
				f.tenant(tenantB, nil)
			}
			g := tt.setup(f)
			_, err := f.svc.ExtendGrant(f.ctx, tt.caller, g.ID, tt.in, nil)
			if tt.field != "" {
				wantFields(t, err, tt.field)
				return
			}
			wantCode(t, err, tt.code)
		})
	}
}

func TestExtendGrantOnePending(t *testing.T) {
	f := withTenant(t)
	g := f.activeGrant(alice, readOnly(acct1))
	first := must(f.svc.ExtendGrant(f.ctx, alice, g.ID, extendBy(7200), nil))(t)
	if first.Status != access.RequestPending {
		t.Fatalf("first = %s", first.Status)
	}
	e := wantCode(t, extendErr(f, g, 600), access.CodeConflict)
	if e.Details["request_id"] != first.ID {
		t.Errorf("conflict details = %v", e.Details)
	}
	// Denied, cancelled or expired, the marker is stale and another may be asked.
	must(f.svc.Deny(f.ctx, carol, first.ID, "not now", nil))(t)
	again := must(f.svc.ExtendGrant(f.ctx, alice, g.ID, extendBy(7200), nil))(t)
	must(f.svc.Cancel(f.ctx, alice, again.ID, nil))(t)
	third := must(f.svc.ExtendGrant(f.ctx, alice, g.ID, extendBy(7200), nil))(t)
	if third.Status != access.RequestPending {
		t.Fatalf("third = %s", third.Status)
	}
}

// extendErr is the error of alice's extension of g by seconds.
func extendErr(f *fixture, g access.Grant, seconds int64) error {
	_, err := f.svc.ExtendGrant(f.ctx, alice, g.ID, extendBy(seconds), nil)
	return err
}

func TestExtendGrantConcurrent(t *testing.T) {
	f := withTenant(t)
	g := f.activeGrant(alice, readOnly(acct1))
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.svc.ExtendGrant(context.Background(), alice, g.ID, extendBy(7200), nil)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case access.CodeOf(err) != access.CodeConflict:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d extensions pending, want exactly 1 (%v)", ok, errs)
	}
}

// An extension waiting for approval ends with its grant: it fails at once,
// with a notice, and its approval wait ends; approving it then is too late.
func TestExtendGrantEndsWithItsGrant(t *testing.T) {
	for _, end := range []string{"expired", "revoked"} {
		t.Run(end, func(t *testing.T) {
			f := withTenant(t)
			g := f.activeGrant(alice, readOnly(acct1))
			r := must(f.svc.ExtendGrant(f.ctx, alice, g.ID, extendBy(7200), nil))(t)
			if end == "expired" {
				f.expire(g)
			} else {
				must(f.svc.RevokeGrant(f.ctx, ada, g.ID, "incident over", nil))(t)
				f.deprovision(tenantA, g.ID)
			}
			got := f.request(tenantA, r.ID)
			if got.Status != access.RequestFailed || len(got.Notices) == 0 {
				t.Fatalf("the extension of a grant that %s is %s (notices %v)", end, got.Status, got.Notices)
			}
			if n := len(f.flow.of("EndApproval", r.ID)); n != 1 {
				t.Errorf("EndApproval called %d times, want 1", n)
			}
			if _, ok := f.findAudit(tenantA, r.ID, access.AuditRequestFailed); !ok {
				t.Error("no request.failed event")
			}
			_, err := f.svc.Approve(f.ctx, carol, r.ID, "ok", nil)
			wantCode(t, err, access.CodeRequestNotPending)
			if g := f.grant(tenantA, g.ID); g.Extensions != 0 || g.PendingExtension != "" {
				t.Fatalf("grant %s with %d extensions, pending %q", g.Status, g.Extensions, g.PendingExtension)
			}
		})
	}
}

func TestExtendGrantLifetimeSetting(t *testing.T) {
	f := withTenant(t)
	lifetime := 2 * time.Hour
	must(f.svc.UpdateTenant(f.ctx, ada, access.TenantPatch{MaxGrantLifetime: &lifetime}, nil))(t)
	g := f.activeGrant(alice, readOnly(acct1))
	wantFields(t, extendErr(f, g, 3601), "duration_seconds")
	if err := extendErr(f, g, 3600); err != nil {
		t.Fatal(err)
	}
	wantFields(t, extendErr(f, g, 1), "duration_seconds")
	tooShort := time.Second
	_, err := f.svc.UpdateTenant(f.ctx, ada, access.TenantPatch{MaxGrantLifetime: &tooShort}, nil)
	wantFields(t, err, "max_grant_lifetime_seconds")
}

// laterSchedulesFail schedules a grant's first expiry and fails every later
// one.
type laterSchedulesFail struct{ flow }

func (f *laterSchedulesFail) ScheduleExpiry(ctx context.Context, g access.Grant) error {
	if g.Generation > 1 {
		return errBroken
	}
	return f.flow.ScheduleExpiry(ctx, g)
}

// The grant is extended even when its schedule cannot be replaced: the
// problem is reported, and the sweeper ends the grant at its new end.
func TestExtendGrantScheduleFails(t *testing.T) {
	ff := &laterSchedulesFail{}
	f := withTenant(t, func(c *access.Config) { c.Scheduler = ff })
	g := f.activeGrant(alice, readOnly(acct1))
	r := must(f.svc.ExtendGrant(f.ctx, alice, g.ID, extendBy(600), nil))(t)
	if r.Status != access.RequestApproved {
		t.Fatalf("extension = %s", r.Status)
	}
	if got := f.grant(tenantA, g.ID); !got.ExpiresAt.Equal(g.ExpiresAt.Add(10 * time.Minute)) {
		t.Fatalf("grant expires %v", got.ExpiresAt)
	}
	f.mu.Lock()
	reports := slices.Clone(f.reports)
	f.mu.Unlock()
	if len(reports) != 1 || !strings.Contains(reports[0], string(access.ProblemSchedule)) {
		t.Fatalf("reports = %q", reports)
	}
}
