package access_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

func TestAuditLifecycle(t *testing.T) {
	f := newFixture(t)
	f.tenant(tenantA, func(in *access.NewTenantInput) {
		in.Boundary.MinAuditRetention, in.Settings.AuditRetention = 30*24*time.Hour, 30*24*time.Hour
	})

	r := f.pending(alice, adminAccess(acct1))
	f.clock.Advance(time.Minute)
	r = must(f.svc.Approve(f.ctx, carol, r.ID, "ok", nil))(t)
	f.clock.Advance(time.Minute)
	f.provision(tenantA, r.GrantID)
	f.clock.Advance(time.Minute)
	must(f.svc.RevokeGrant(f.ctx, ada, r.GrantID, "incident over", nil))(t)
	f.clock.Advance(time.Minute)
	f.deprovision(tenantA, r.GrantID)

	type row struct {
		at                                  time.Duration // after t0
		action, objectType, objectID, actor string
		kind                                access.PrincipalKind
		severity                            access.Severity
	}
	m := time.Minute
	want := []row{
		{0, "tenant.created", "tenant", tenantA, "operator", access.PrincipalService, access.SeverityHigh},
		{0, "request.created", "request", r.ID, "alice", access.PrincipalUser, access.SeverityInfo},
		{m, "request.approved", "request", r.ID, "carol", access.PrincipalUser, access.SeverityInfo},
		{m, "grant.created", "grant", r.GrantID, "carol", access.PrincipalUser, access.SeverityInfo},
		{2 * m, "grant.activated", "grant", r.GrantID, "elevate", access.PrincipalService, access.SeverityInfo},
		{3 * m, "grant.revoking", "grant", r.GrantID, "ada", access.PrincipalUser, access.SeverityInfo},
		{4 * m, "grant.revoked", "grant", r.GrantID, "elevate", access.PrincipalService, access.SeverityInfo},
	}
	events := f.audit(tenantA)
	var got []row
	for _, e := range events {
		got = append(got, row{e.At.Sub(t0), e.Action, e.ObjectType, e.ObjectID, e.ActorID, e.ActorKind, e.Severity})
		if e.TenantID != tenantA || e.ID == "" {
			t.Errorf("event %s: tenant %q id %q", e.Action, e.TenantID, e.ID)
		}
		if !e.ExpiresAt.Equal(e.At.Add(30 * 24 * time.Hour)) {
			t.Errorf("event %s at %v expires %v, want the tenant's 30-day retention", e.Action, e.At, e.ExpiresAt)
		}
	}
	// Events of one commit share a time; their order among themselves is free.
	byTime := func(a, b row) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return strings.Compare(a.action, b.action)
	}
	slices.SortStableFunc(got, byTime)
	slices.SortStableFunc(want, byTime)
	if !slices.Equal(got, want) {
		t.Errorf("audit trail:\n got %v\nwant %v", got, want)
	}
	// Newest first from the service, and each event at the time of its change.
	page := must(f.svc.ListAuditEvents(f.ctx, ada, access.PageRequest{Limit: 100}))(t)
	if len(page.Items) == 0 || page.Items[0].Action != "grant.revoked" {
		t.Errorf("first listed event is not the newest")
	}

	t.Run("retention", func(t *testing.T) {
		f.clock.Advance(31 * 24 * time.Hour)
		if n := len(f.audit(tenantA)); n != 0 {
			t.Errorf("%d events past their retention are still listed", n)
		}
	})
	t.Run("admins only", func(t *testing.T) {
		_, err := f.svc.ListAuditEvents(f.ctx, carol, access.PageRequest{Limit: 10})
		wantCode(t, err, access.CodeForbidden)
	})
}

func TestAuditIsolated(t *testing.T) {
	f := withTenant(t)
	f.tenant(tenantB, nil)
	f.activeGrant(alice, readOnly(acct1))
	for _, e := range f.audit(tenantB) {
		if e.Action != "tenant.created" {
			t.Errorf("tenant B's trail has %s of tenant A", e.Action)
		}
	}
	if n := len(f.audit(tenantA)); n != 4 {
		t.Errorf("tenant A has %d events, want tenant.created, request.created, grant.created, grant.activated", n)
	}
}

func TestPublisher(t *testing.T) {
	pub := &publisher{}
	f := withTenant(t, func(c *access.Config) { c.Publisher = pub })
	g := f.activeGrant(alice, readOnly(acct1))
	f.expire(g)
	stored := actions(f.audit(tenantA))
	if !slices.Equal(pub.actions, stored) {
		t.Errorf("published %v, stored %v; want every committed audit event published once", pub.actions, stored)
	}
}

type publisher struct{ actions []string }

func (p *publisher) Publish(_ context.Context, events []access.AuditEvent) error {
	for _, e := range events {
		p.actions = append(p.actions, e.Action)
	}
	return nil
}

// failingFlow fails every workflow and scheduler call.
type failingFlow struct{ flow }

func (f *failingFlow) StartApproval(context.Context, access.Request) error     { return errBroken }
func (f *failingFlow) EndApproval(context.Context, access.Request) error       { return errBroken }
func (f *failingFlow) StartProvisioning(context.Context, access.Grant) error   { return errBroken }
func (f *failingFlow) StartDeprovisioning(context.Context, access.Grant) error { return errBroken }
func (f *failingFlow) CancelExpiry(context.Context, access.Grant) error        { return errBroken }
func (f *failingFlow) ScheduleStart(context.Context, access.Grant) error       { return errBroken }
func (f *failingFlow) CancelStart(context.Context, access.Grant) error         { return errBroken }
func (f *failingFlow) ScheduleNudge(context.Context, access.Request, access.Nudge) error {
	return errBroken
}
func (f *failingFlow) CancelNudges(context.Context, access.Request) error { return errBroken }

var errBroken = errors.New("broken")

type failingPublisher struct{}

func (failingPublisher) Publish(context.Context, []access.AuditEvent) error { return errBroken }

func TestFollowUpFailuresAreReported(t *testing.T) {
	ff := &failingFlow{}
	f := withTenant(t, func(c *access.Config) { c.Workflow, c.Scheduler, c.Publisher = ff, ff, failingPublisher{} })
	r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
	p := f.pending(alice, adminAccess(acct1))
	must(f.svc.Approve(f.ctx, carol, p.ID, "", nil))(t)
	f.provision(tenantA, r.GrantID)
	must(f.svc.RevokeGrant(f.ctx, alice, r.GrantID, "", nil))(t)
	if g := f.grant(tenantA, r.GrantID); g.Status != access.GrantRevoking {
		t.Errorf("grant is %s: a failed follow-up undid the committed change", g.Status)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var workflow, publish int
	for _, msg := range f.reports {
		switch {
		case strings.HasPrefix(msg, "publish events"):
			publish++
		case strings.Contains(msg, "broken"):
			workflow++
		}
	}
	// start provisioning, start approval, schedule the reminder, end
	// approval, cancel the reminder, cancel expiry, start deprovisioning
	if workflow != 7 {
		t.Errorf("%d workflow failures reported, want 7: %q", workflow, f.reports)
	}
	if publish == 0 {
		t.Error("publishing failures were not reported")
	}
}
