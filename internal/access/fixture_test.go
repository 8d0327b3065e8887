package access_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/auth"
	"github.com/elevate-jit/elevate/internal/clock"
	"github.com/elevate-jit/elevate/internal/identitycenter/recording"
	"github.com/elevate-jit/elevate/internal/local"
	"github.com/elevate-jit/elevate/internal/store/memstore"
)

// t0 is a Monday morning, far enough ahead that the store's TTL checks and
// the fake clock agree.
var t0 = time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)

const (
	tenantA = "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01"
	tenantB = "8b2d4e6f-1a3c-4e5d-8f7a-9c0b1d2e3f02"

	instance    = "ssoins-72a3c1e9d4b5f601"
	instanceARN = "arn:aws:sso:::instance/" + instance
	root        = "r-ac01"
	ouWork      = "ou-ac01-workload"
	ouSecurity  = "ou-ac01-security"

	acct1     = "123456789012"
	acct2     = "210987654321"
	acct3     = "333333333333" // under the security OU
	protected = "999999999999" // under the workload OU, but protected
	outside   = "555555555555" // not in the organization
)

// The catalog's permission sets (local.DemoCatalog).
var (
	psReadOnly = "arn:aws:sso:::permissionSet/" + instance + "/ps-0a1b2c3d4e5f6071"
	psAdmin    = "arn:aws:sso:::permissionSet/" + instance + "/ps-1b2c3d4e5f607182"
	psData     = "arn:aws:sso:::permissionSet/" + instance + "/ps-2c3d4e5f60718293"
)

// The people of a tenant.
func user(tenant, id string, role access.Role, groups ...string) access.Principal {
	return access.Principal{TenantID: tenant, ID: id, Kind: access.PrincipalUser, Role: role, Groups: groups}
}

var (
	ada   = user(tenantA, "ada", access.RoleAdmin, "platform-admins")
	erin  = user(tenantA, "erin", access.RoleAdmin, "platform-admins")
	carol = user(tenantA, "carol", access.RoleApprover, "approvers")
	dave  = user(tenantA, "dave", access.RoleApprover, "approvers")
	alice = user(tenantA, "alice", access.RoleRequester, "engineering", "oncall")
	bob   = user(tenantA, "bob", access.RoleRequester, "engineering")
	robot = access.Principal{TenantID: tenantA, ID: "ci-bot", Kind: access.PrincipalService, Role: access.RoleAdmin}
)

// call is one call the fake workflow or scheduler received.
type call struct {
	Method     string
	ID         string
	Generation int64
	ExpiresAt  time.Time
}

// flow is a hand-written Workflow and Scheduler that only records calls; the
// tests drive the steps themselves.
type flow struct {
	mu    sync.Mutex
	calls []call
}

func (f *flow) record(c call) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	return nil
}

func (f *flow) StartApproval(_ context.Context, r access.Request) error {
	return f.record(call{Method: "StartApproval", ID: r.ID})
}

func (f *flow) EndApproval(_ context.Context, r access.Request) error {
	return f.record(call{Method: "EndApproval", ID: r.ID})
}

func (f *flow) StartProvisioning(_ context.Context, g access.Grant) error {
	return f.record(call{Method: "StartProvisioning", ID: g.ID})
}

func (f *flow) StartDeprovisioning(_ context.Context, g access.Grant) error {
	return f.record(call{Method: "StartDeprovisioning", ID: g.ID})
}

func (f *flow) ScheduleExpiry(_ context.Context, g access.Grant) error {
	return f.record(call{Method: "ScheduleExpiry", ID: g.ID, Generation: g.Generation, ExpiresAt: g.ExpiresAt})
}

func (f *flow) CancelExpiry(_ context.Context, g access.Grant) error {
	return f.record(call{Method: "CancelExpiry", ID: g.ID, Generation: g.Generation})
}

func (f *flow) ScheduleStart(_ context.Context, g access.Grant) error {
	return f.record(call{Method: "ScheduleStart", ID: g.ID, Generation: g.Generation})
}

func (f *flow) CancelStart(_ context.Context, g access.Grant) error {
	return f.record(call{Method: "CancelStart", ID: g.ID, Generation: g.Generation})
}

func (f *flow) ScheduleNudge(_ context.Context, r access.Request, kind access.Nudge) error {
	return f.record(call{Method: "ScheduleNudge:" + string(kind), ID: r.ID})
}

func (f *flow) CancelNudges(_ context.Context, r access.Request) error {
	return f.record(call{Method: "CancelNudges", ID: r.ID})
}

// of returns the calls of one method for one object id.
func (f *flow) of(method, id string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Method == method && c.ID == id {
			out = append(out, c)
		}
	}
	return out
}

// count returns how many calls of a method were made, for any object.
func (f *flow) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

// fixture is a Service on the embedded store with a recording Identity
// Center, a fake clock and the recording flow.
type fixture struct {
	t     testing.TB
	ctx   context.Context
	svc   *access.Service
	steps *access.Steps
	op    *access.Operator
	store testStore
	ic    *recording.IdentityCenter
	clock *clock.Fake
	flow  *flow

	mu      sync.Mutex
	reports []string
}

// testStore is what the fixture reads and writes directly.
type testStore interface {
	access.Store
	access.LedgerStore
}

// onStore returns an option that runs the fixture on another store.
func onStore(store func(t *testing.T, now func() time.Time) testStore) func(*fixture) {
	return func(f *fixture) { f.store = store(f.t.(*testing.T), f.clock.Now) }
}

// newFixture builds a service with tenant A (demo-like settings, the demo
// catalog and the default policies) unless options say otherwise.
func newFixture(t testing.TB, opts ...func(*access.Config)) *fixture {
	return newFixtureOn(t, nil, opts...)
}

// newFixtureOn is newFixture on the store use makes (nil: the embedded one).
func newFixtureOn(t testing.TB, use func(*fixture), opts ...func(*access.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), clock: clock.NewFake(t0), flow: &flow{}, ic: recording.New(nil)}
	f.ic.SetOrganization(instanceARN, demoOrganization)
	f.store = memstore.New(memstore.WithClock(f.clock.Now))
	if use != nil {
		use(f)
	}
	var seq int
	var seqMu sync.Mutex
	cfg := access.Config{
		Store: f.store, Workflow: f.flow, Scheduler: f.flow, IdentityCenter: f.ic, DB: f.ic,
		MintKey: auth.MintKey, ProtectedAccounts: []string{protected}, Now: f.clock.Now,
		// Ids are time-ordered like the real ones, but deterministic.
		NewID: func() string {
			seqMu.Lock()
			defer seqMu.Unlock()
			seq++
			return fmt.Sprintf("00000000-0000-7000-8000-%012d", seq)
		},
		Report: func(_ context.Context, p access.Problem) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.reports = append(f.reports, fmt.Sprintf("%s [%s]: %v", p.Message, p.Kind, p.Err))
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	f.svc, f.steps, f.op = access.NewService(cfg), access.NewSteps(cfg), access.NewOperator(cfg)
	return f
}

// demoSettings are tenant A's settings, as a demo tenant's.
func demoSettings() access.Settings {
	s := access.DefaultSettings()
	s.GroupRoles = map[string]access.Role{"platform-admins": access.RoleAdmin, "approvers": access.RoleApprover, "engineering": access.RoleRequester}
	return s
}

// demoBoundary is tenant A's boundary: the demo instance, its organization
// root, and the demo catalog's permission sets as assignable.
func demoBoundary() access.Boundary {
	b := access.DefaultBoundary()
	b.InstanceARN, b.IdentityStoreID, b.AllowedRoots = instanceARN, "d-90670a1b2c", []string{root}
	b.Assignable = local.DemoCatalog(instance).PermissionSets()
	return b
}

// demoOrganization is the organization behind the instance, with the
// protected account inside an OU.
var demoOrganization = map[string][]string{
	acct1:     {root, ouWork},
	acct2:     {root, ouWork},
	protected: {root, ouWork},
	acct3:     {root, ouSecurity},
}

// tenant creates a tenant; edit changes the input first.
func (f *fixture) tenant(id string, edit func(*access.NewTenantInput)) access.Tenant {
	f.t.Helper()
	s, b := demoSettings(), demoBoundary()
	in := access.NewTenantInput{ID: id, Name: "Tenant " + id[:4], Boundary: &b, Settings: &s, Catalog: local.DemoCatalog(instance)}
	if edit != nil {
		edit(&in)
	}
	return must(f.op.CreateTenant(f.ctx, in))(f.t)
}

// withTenant is newFixture plus tenant A with default settings.
func withTenant(t testing.TB, opts ...func(*access.Config)) *fixture {
	t.Helper()
	f := newFixture(t, opts...)
	f.tenant(tenantA, nil)
	return f
}

// must takes a call's value and error and returns a function that fails the
// test on the error and returns the value otherwise: must(svc.Call(...))(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// wantCode fails unless err is an *access.Error of the code and returns it.
func wantCode(t *testing.T, err error, code access.Code) *access.Error {
	t.Helper()
	var e *access.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want an *access.Error with code %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%v), want %s", e.Code, err, code)
	}
	return e
}

// wantFields fails unless err is a validation error whose details name
// exactly these fields.
func wantFields(t *testing.T, err error, fields ...string) *access.Error {
	t.Helper()
	e := wantCode(t, err, access.CodeValidationFailed)
	var got []string
	for k := range e.Details {
		got = append(got, k)
	}
	slices.Sort(got)
	want := slices.Clone(fields)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("validation fields = %v, want %v (%v)", got, want, err)
	}
	return e
}

// ReadOnly on an account for an hour: what the default policies auto-approve.
func readOnly(account string) access.CreateRequestInput {
	return access.CreateRequestInput{
		Resource: access.Resource{Type: access.ResourceAccount, ID: account},
		Action:   "ReadOnly", DurationSeconds: 3600, Justification: "INC-1: look at the logs",
	}
}

// adminAccess needs an approver under the default policies.
func adminAccess(account string) access.CreateRequestInput {
	return access.CreateRequestInput{
		Resource: access.Resource{Type: access.ResourceAccount, ID: account},
		Action:   "Admin", DurationSeconds: 7200, Justification: "CHG-7: rotate the keys",
	}
}

func (f *fixture) grant(tenant, id string) access.Grant {
	f.t.Helper()
	return must(f.store.GetGrant(f.ctx, tenant, id))(f.t)
}

func (f *fixture) request(tenant, id string) access.Request {
	f.t.Helper()
	return must(f.store.GetRequest(f.ctx, tenant, id))(f.t)
}

const maxSteps = 30

// provision calls ProvisionGrant until it reports done and returns how many
// calls that took.
func (f *fixture) provision(tenant, grantID string) int {
	f.t.Helper()
	for i := 1; i <= maxSteps; i++ {
		done, err := f.steps.ProvisionGrant(f.ctx, tenant, grantID)
		if err != nil {
			f.t.Fatalf("ProvisionGrant step %d: %v", i, err)
		}
		if done {
			return i
		}
	}
	f.t.Fatalf("ProvisionGrant not done after %d steps; grant is %+v", maxSteps, f.grant(tenant, grantID))
	return 0
}

// deprovision calls DeprovisionGrant until it reports done.
func (f *fixture) deprovision(tenant, grantID string) int {
	f.t.Helper()
	for i := 1; i <= maxSteps; i++ {
		done, err := f.steps.DeprovisionGrant(f.ctx, tenant, grantID)
		if err != nil {
			f.t.Fatalf("DeprovisionGrant step %d: %v", i, err)
		}
		if done {
			return i
		}
	}
	f.t.Fatalf("DeprovisionGrant not done after %d steps; grant is %+v", maxSteps, f.grant(tenant, grantID))
	return 0
}

// activeGrant makes an auto-approved request by p and provisions its grant.
func (f *fixture) activeGrant(p access.Principal, in access.CreateRequestInput) access.Grant {
	f.t.Helper()
	r := must(f.svc.CreateRequest(f.ctx, p, in, nil))(f.t)
	if r.Status != access.RequestApproved || r.GrantID == "" {
		f.t.Fatalf("request is %s with grant %q, want approved with a grant", r.Status, r.GrantID)
	}
	f.provision(p.TenantID, r.GrantID)
	g := f.grant(p.TenantID, r.GrantID)
	if g.Status != access.GrantActive {
		f.t.Fatalf("grant is %s after provisioning, want active", g.Status)
	}
	return g
}

// expire ends an active grant through its schedule and takes it away.
func (f *fixture) expire(g access.Grant) access.Grant {
	f.t.Helper()
	if now := f.clock.Now(); now.Before(g.ExpiresAt) {
		f.clock.Advance(g.ExpiresAt.Sub(now) + time.Second)
	}
	got := must(f.steps.ExpireGrant(f.ctx, g.TenantID, g.ID, g.Generation))(f.t)
	if got.Status != access.GrantRevoking {
		f.t.Fatalf("grant is %s after ExpireGrant, want revoking", got.Status)
	}
	f.deprovision(g.TenantID, g.ID)
	return f.grant(g.TenantID, g.ID)
}

// audit returns a tenant's audit events, oldest first.
func (f *fixture) audit(tenant string) []access.AuditEvent {
	f.t.Helper()
	admin := access.Principal{TenantID: tenant, ID: "auditor", Kind: access.PrincipalUser, Role: access.RoleAdmin}
	var all []access.AuditEvent
	page := access.PageRequest{Limit: 100}
	for {
		p := must(f.svc.ListAuditEvents(f.ctx, admin, page))(f.t)
		all = append(all, p.Items...)
		if p.Next == nil {
			break
		}
		page.After = p.Next
	}
	slices.Reverse(all)
	return all
}

// auditOf returns the actions of the audit events about one object, oldest first.
func (f *fixture) auditOf(tenant, objectID string) []access.AuditEvent {
	f.t.Helper()
	var out []access.AuditEvent
	for _, e := range f.audit(tenant) {
		if e.ObjectID == objectID {
			out = append(out, e)
		}
	}
	return out
}

func actions(events []access.AuditEvent) []string {
	out := make([]string, 0, len(events))
	for _, e := range events {
		out = append(out, e.Action)
	}
	return out
}

// findAudit returns the first event with this action about the object.
func (f *fixture) findAudit(tenant, objectID, action string) (access.AuditEvent, bool) {
	f.t.Helper()
	for _, e := range f.auditOf(tenant, objectID) {
		if e.Action == action {
			return e, true
		}
	}
	return access.AuditEvent{}, false
}

// assignment is the Identity Center key of a grantee's permission set in an account.
func assignment(grantee, account, ps string) access.AssignmentKey {
	return access.AssignmentKey{InstanceARN: instanceARN, PrincipalID: recording.UserID(grantee), AccountID: account, PermissionSetARN: ps}
}
