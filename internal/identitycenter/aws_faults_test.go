package identitycenter_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/clock"
	"github.com/elevate-jit/elevate/internal/identitycenter"
	"github.com/elevate-jit/elevate/internal/store/memstore"
)

// faults is an SDK middleware that makes chosen SSO Admin operations fail,
// throttle, or report IN_PROGRESS, a given number of times, in front of the
// real client talking to moto.
type faults struct {
	mu    sync.Mutex
	rules map[string]*fault
	// ops are the operations called, in order.
	ops []string
}

type fault struct {
	times int // how many calls it affects; <0 for every call
	err   error
	// inProgress rewrites a status answer to IN_PROGRESS instead of failing.
	inProgress bool
	hits       int
}

func (f *faults) set(op string, r fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rules == nil {
		f.rules = map[string]*fault{}
	}
	f.rules[op] = &r
}

func (f *faults) clear(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.rules, op)
}

func (f *faults) hits(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.rules[op]; r != nil {
		return r.hits
	}
	return 0
}

// take returns the fault to apply to this call of op, if any.
func (f *faults) take(op string) *fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, op)
	r := f.rules[op]
	if r == nil || r.times == 0 {
		return nil
	}
	r.times--
	r.hits++
	return r
}

// middleware is the Initialize step that applies the faults.
func (f *faults) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("elevate-faults",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			r := f.take(middleware.GetOperationName(ctx))
			if r == nil {
				return next.HandleInitialize(ctx, in)
			}
			if r.err != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, r.err
			}
			out, md, err := next.HandleInitialize(ctx, in)
			if err == nil && r.inProgress {
				switch o := out.Result.(type) {
				case *ssoadmin.DescribeAccountAssignmentDeletionStatusOutput:
					o.AccountAssignmentDeletionStatus.Status = ssotypes.StatusValuesInProgress
				case *ssoadmin.DescribeAccountAssignmentCreationStatusOutput:
					o.AccountAssignmentCreationStatus.Status = ssotypes.StatusValuesInProgress
				case *ssoadmin.CreateAccountAssignmentOutput:
					o.AccountAssignmentCreationStatus.Status = ssotypes.StatusValuesInProgress
				case *ssoadmin.DeleteAccountAssignmentOutput:
					o.AccountAssignmentDeletionStatus.Status = ssotypes.StatusValuesInProgress
				}
			}
			return out, md, err
		}), middleware.After)
}

// flowLog records the workflow and scheduler calls the domain makes.
type flowLog struct {
	noFlow
	mu     sync.Mutex
	starts []string
}

func (f *flowLog) StartProvisioning(_ context.Context, g access.Grant) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, g.ID)
	return nil
}

// faultEnv is the domain on moto with faults in front of SSO Admin.
type faultEnv struct {
	*env
	faults *faults
	clock  *clock.Fake
	store  *memstore.Store
	svc    domain
	flow   *flowLog
	tenant access.Tenant
	alice  string
	ps     string
	ou     string
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	e := newEnv(t)
	fe := &faultEnv{env: e, faults: &faults{}, clock: clock.NewFake(time.Now().UTC().Truncate(time.Second)), flow: &flowLog{}}
	cfg := e.cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, fe.faults.middleware)
	e.sso = newMotoSSO(ssoadmin.NewFromConfig(cfg))
	fe.store = memstore.New(memstore.WithClock(fe.clock.Now))
	ic := e.newAWS(func(c *identitycenter.AWSConfig) { c.Now = fe.clock.Now })
	fe.svc = newDomain(access.Config{Store: fe.store, Workflow: fe.flow, Scheduler: fe.flow, IdentityCenter: ic, DB: ic,
		Now: fe.clock.Now, ProtectedAccounts: []string{"999999999999"}})
	fe.ou = e.ou(t, e.root, "faults-"+randomHex(3))
	fe.alice = e.createUser(t, "alice", "alice@example.com")
	fe.ps = e.permissionSet(t, "ReadOnly-"+randomHex(3))
	ten := must(fe.svc.CreateTenant(e.ctx, access.NewTenantInput{Name: "faults", Boundary: e.boundary(fe.ou)}))(t)
	// moto's permission set ARNs (…:instance/ssoins-…/ps-…) are not the
	// form the catalog accepts, so the catalog is written to the store directly.
	ten.Catalog = access.Catalog{access.ResourceAccount: {{Name: "ReadOnly", PermissionSetARN: fe.ps}}}
	ten.Boundary.Assignable = []string{fe.ps}
	ten.Revision++
	if err := fe.store.Commit(e.ctx, access.Change{Tenants: []access.Tenant{ten}}); err != nil {
		t.Fatal(err)
	}
	fe.tenant = ten
	return fe
}

// request makes an auto-approved read-only request for alice and returns its grant id.
func (fe *faultEnv) request(t *testing.T, account string, seconds int64) string {
	t.Helper()
	p := access.Principal{TenantID: fe.tenant.ID, ID: "alice", Kind: access.PrincipalUser, Role: access.RoleRequester}
	r := must(fe.svc.CreateRequest(fe.ctx, p, access.CreateRequestInput{
		Resource: access.Resource{Type: access.ResourceAccount, ID: account}, Action: "ReadOnly",
		DurationSeconds: seconds, Justification: "fault injection",
	}, nil))(t)
	if r.GrantID == "" {
		t.Fatalf("request %s has no grant: %v", r.Status, r.Notices)
	}
	return r.GrantID
}

// step runs one provisioning or deprovisioning step.
func (fe *faultEnv) step(t *testing.T, provision bool, grantID string) (bool, error) {
	t.Helper()
	if provision {
		return fe.svc.ProvisionGrant(fe.ctx, fe.tenant.ID, grantID)
	}
	return fe.svc.DeprovisionGrant(fe.ctx, fe.tenant.ID, grantID)
}

// until runs steps until done, failing after n.
func (fe *faultEnv) until(t *testing.T, provision bool, grantID string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		done, err := fe.step(t, provision, grantID)
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		if done {
			return
		}
	}
	t.Fatalf("not done after %d steps", n)
}

func (fe *faultEnv) grant(t *testing.T, id string) access.Grant {
	t.Helper()
	return must(fe.store.GetGrant(fe.ctx, fe.tenant.ID, id))(t)
}

func (fe *faultEnv) revoke(t *testing.T, id string) {
	t.Helper()
	p := access.Principal{TenantID: fe.tenant.ID, ID: "ada", Kind: access.PrincipalUser, Role: access.RoleAdmin}
	must(fe.svc.RevokeGrant(fe.ctx, p, id, "fault injection", nil))(t)
}

func TestFaultFailingDeletionKeepsRetrying(t *testing.T) {
	t.Parallel()
	fe := newFaultEnv(t)
	account := fe.account(t, fe.ou, "deletion")
	g := fe.request(t, account, 3600)
	fe.until(t, true, g, 10)
	fe.revoke(t, g)

	fe.faults.set("DeleteAccountAssignment", fault{times: -1, err: &smithy.GenericAPIError{Code: "InternalServerException", Message: "injected"}})
	failures := 0
	for i := range 4 {
		done, err := fe.step(t, false, g)
		if done {
			t.Fatalf("step %d with failing deletions is done", i+1)
		}
		if err != nil {
			failures++
		}
		if got := fe.grant(t, g); got.Status != access.GrantRevoking {
			t.Fatalf("grant is %s while its assignment cannot be deleted", got.Status)
		}
	}
	if failures < 3 {
		t.Fatalf("%d of 4 steps reported the failing deletion", failures)
	}
	if got := fe.assigned(t, account, fe.ps); !slices.Equal(got, []string{fe.alice}) {
		t.Fatalf("assignment = %v; the failed deletions must leave it, and the grant must say revoking", got)
	}
	fe.faults.clear("DeleteAccountAssignment")
	fe.until(t, false, g, 10)
	if got := fe.grant(t, g); got.Status != access.GrantRevoked {
		t.Fatalf("grant is %s once deletions work again", got.Status)
	}
	if got := fe.assigned(t, account, fe.ps); len(got) != 0 {
		t.Fatalf("assignment still there: %v", got)
	}
}

func TestFaultDeletionInProgressHoldsTheGrantRevoking(t *testing.T) {
	t.Parallel()
	fe := newFaultEnv(t)
	account := fe.account(t, fe.ou, "slowdelete")
	g := fe.request(t, account, 3600)
	fe.until(t, true, g, 10)
	fe.revoke(t, g)
	fe.faults.set("DeleteAccountAssignment", fault{times: 1, inProgress: true})
	fe.faults.set("DescribeAccountAssignmentDeletionStatus", fault{times: 3, inProgress: true})
	steps := 0
	for done := false; !done; steps++ {
		var err error
		if done, err = fe.step(t, false, g); err != nil {
			t.Fatal(err)
		}
		if !done && fe.grant(t, g).Status != access.GrantRevoking {
			t.Fatal("the grant left revoking before its deletion succeeded")
		}
		if steps > 10 {
			t.Fatal("deprovisioning does not end")
		}
	}
	if fe.faults.hits("DescribeAccountAssignmentDeletionStatus") != 3 || fe.grant(t, g).Status != access.GrantRevoked {
		t.Fatalf("status polled %d times in %d steps; grant %s", fe.faults.hits("DescribeAccountAssignmentDeletionStatus"), steps, fe.grant(t, g).Status)
	}
}

func TestFaultThrottlingThenSuccess(t *testing.T) {
	t.Parallel()
	fe := newFaultEnv(t)
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}

	// Brief throttling is absorbed by the adapter's backoff.
	brief := fe.account(t, fe.ou, "brief")
	g1 := fe.request(t, brief, 3600)
	fe.faults.set("CreateAccountAssignment", fault{times: 2, err: throttle})
	fe.until(t, true, g1, 10)
	if fe.grant(t, g1).Status != access.GrantActive || fe.faults.hits("CreateAccountAssignment") != 2 {
		t.Fatalf("grant %s after brief throttling (%d throttled calls)", fe.grant(t, g1).Status, fe.faults.hits("CreateAccountAssignment"))
	}

	// Throttling beyond the backoff is "not done yet", never a failure.
	long := fe.account(t, fe.ou, "long")
	g2 := fe.request(t, long, 3600)
	fe.faults.set("CreateAccountAssignment", fault{times: -1, err: throttle})
	for range 3 {
		done, err := fe.step(t, true, g2)
		if done || err != nil {
			t.Fatalf("throttled step: done %v, err %v (want not done, no error)", done, err)
		}
	}
	if got := fe.grant(t, g2); got.Status != access.GrantProvisioning || got.Failure != "" {
		t.Fatalf("throttling failed the grant: %s %q", got.Status, got.Failure)
	}
	fe.faults.clear("CreateAccountAssignment")
	fe.until(t, true, g2, 10)
	if fe.grant(t, g2).Status != access.GrantActive {
		t.Fatalf("grant %s after throttling stopped", fe.grant(t, g2).Status)
	}
}

func TestFaultCrashBetweenStepsIsRecoveredBySweeper(t *testing.T) {
	t.Parallel()
	fe := newFaultEnv(t)
	account := fe.account(t, fe.ou, "crash")
	g := fe.request(t, account, 3600)
	// The workflow runs one step and dies: the assignment's creation was asked
	// for (and is still in progress), the grant never became active.
	fe.faults.set("CreateAccountAssignment", fault{times: 1, inProgress: true})
	fe.faults.set("DescribeAccountAssignmentCreationStatus", fault{times: -1, inProgress: true})
	if done, err := fe.step(t, true, g); done || err != nil {
		t.Fatalf("first step: done %v, err %v", done, err)
	}
	fe.faults.clear("DescribeAccountAssignmentCreationStatus")
	fe.clock.Advance(20 * time.Minute)
	rep := must(fe.svc.Sweep(fe.ctx))(t)
	if rep.GrantsRestarted != 1 || !slices.Contains(fe.flow.starts, g) {
		t.Fatalf("sweep %+v did not restart the stuck grant (starts %v)", rep, fe.flow.starts)
	}
	fe.until(t, true, g, 10) // the restarted workflow
	if got := fe.grant(t, g); got.Status != access.GrantActive {
		t.Fatalf("recovered grant is %s", got.Status)
	}
	if got := fe.assigned(t, account, fe.ps); !slices.Equal(got, []string{fe.alice}) {
		t.Fatalf("assignments after recovery = %v", got)
	}
}

func TestFaultOverlappingGrantsKeepAccess(t *testing.T) {
	t.Parallel()
	fe := newFaultEnv(t)
	account := fe.account(t, fe.ou, "overlap")
	short := fe.request(t, account, 1800)
	fe.until(t, true, short, 10)
	long := fe.request(t, account, 3600)
	fe.until(t, true, long, 10)

	fe.clock.Advance(31 * time.Minute)
	sg := fe.grant(t, short)
	must(fe.svc.ExpireGrant(fe.ctx, fe.tenant.ID, short, sg.Generation))(t)
	fe.until(t, false, short, 10)
	if fe.grant(t, short).Status != access.GrantExpired {
		t.Fatal("the short grant did not expire")
	}
	if got := fe.assigned(t, account, fe.ps); !slices.Equal(got, []string{fe.alice}) {
		t.Fatalf("the short grant's expiry removed access the long one still needs: %v", got)
	}
	// A protected account and one outside the tenant's roots are refused.
	p := access.Principal{TenantID: fe.tenant.ID, ID: "alice", Kind: access.PrincipalUser, Role: access.RoleRequester}
	for _, acct := range []string{"999999999999", fe.account(t, fe.root, "outside")} {
		_, err := fe.svc.CreateRequest(fe.ctx, p, access.CreateRequestInput{Resource: access.Resource{Type: access.ResourceAccount, ID: acct},
			Action: "ReadOnly", DurationSeconds: 600, Justification: "x"}, nil)
		if access.CodeOf(err) != access.CodeForbidden {
			t.Errorf("account %s: error %v, want forbidden", acct, err)
		}
	}
}

// domain is every audience of the domain, as a deployment's functions
// together use it.
type domain struct {
	*access.Service
	*access.Steps
	*access.Operator
}

func newDomain(c access.Config) domain {
	return domain{access.NewService(c), access.NewSteps(c), access.NewOperator(c)}
}

// TestAWSFreshPermissionSetAccessDenied checks the calls that change a
// permission set created moments ago: IAM may not see its elevate:managed
// tag yet, which the role's right to change it depends on, so an
// AccessDeniedException is retried briefly and then left to the workflow
// (ErrRetryLater); on an older set it is a failure.
func TestAWSFreshPermissionSetAccessDenied(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := &faults{}
	cfg := e.cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, f.middleware)
	sso := newMotoSSO(ssoadmin.NewFromConfig(cfg))
	ten := e.tenant(access.MapUserName)
	denied := &ssotypes.AccessDeniedException{Message: aws.String("not authorized to perform sso:PutInlinePolicyToPermissionSet")}
	const put = "PutInlinePolicyToPermissionSet"
	adapter := func(now func() time.Time) *identitycenter.AWS {
		return e.newAWS(func(c *identitycenter.AWSConfig) {
			c.SSOAdmin = sso
			if now != nil {
				c.Now = now
			}
		})
	}

	t.Run("refused twice after the creation, then put", func(t *testing.T) {
		s := spec(t, e, "read")
		f.set(put, fault{times: 2, err: denied})
		defer f.clear(put)
		arn, err := adapter(nil).EnsurePermissionSet(e.ctx, ten, s)
		if err != nil {
			t.Fatalf("EnsurePermissionSet: %v", err)
		}
		if f.hits(put) != 2 {
			t.Errorf("%d refusals, want 2", f.hits(put))
		}
		if got := inlinePolicy(t, e, arn); got != s.InlinePolicy {
			t.Errorf("inline policy = %q, want the spec's", got)
		}
	})

	t.Run("refused for longer: the workflow tries again", func(t *testing.T) {
		s := spec(t, e, "read")
		f.set(put, fault{times: -1, err: denied})
		_, err := adapter(nil).EnsurePermissionSet(e.ctx, ten, s)
		if !errors.Is(err, access.ErrRetryLater) {
			t.Fatalf("EnsurePermissionSet = %v, want ErrRetryLater", err)
		}
		if f.hits(put) != 3 {
			t.Errorf("%d attempts, want the adapter's 3", f.hits(put))
		}
		// The next step, maybe in another container, finds the set by name
		// and puts its policy once IAM sees the tag.
		creates := sso.count("CreatePermissionSet")
		f.set(put, fault{times: 1, err: denied})
		defer f.clear(put)
		arn, err := adapter(nil).EnsurePermissionSet(e.ctx, ten, s)
		if err != nil {
			t.Fatalf("the next step: %v", err)
		}
		if got := inlinePolicy(t, e, arn); got != s.InlinePolicy {
			t.Errorf("inline policy = %q, want the spec's", got)
		}
		if sso.count("CreatePermissionSet") != creates {
			t.Error("the next step created the set again")
		}
	})

	t.Run("an older set: a refusal is a failure", func(t *testing.T) {
		s := spec(t, e, "read")
		arn, err := adapter(nil).EnsurePermissionSet(e.ctx, ten, s)
		if err != nil {
			t.Fatal(err)
		}
		changed := s
		changed.InlinePolicy = strings.Replace(s.InlinePolicy, "s3:GetObjectTagging", "s3:GetObjectAcl", 1)
		f.set(put, fault{times: -1, err: denied})
		defer f.clear(put)
		later := func() time.Time { return time.Now().Add(time.Hour) }
		_, err = adapter(later).EnsurePermissionSet(e.ctx, ten, changed)
		if err == nil || errors.Is(err, access.ErrRetryLater) || !strings.Contains(err.Error(), "AccessDenied") {
			t.Fatalf("EnsurePermissionSet = %v, want the AccessDeniedException, not ErrRetryLater", err)
		}
		if f.hits(put) != 1 {
			t.Errorf("%d attempts, want 1", f.hits(put))
		}
		if got := inlinePolicy(t, e, arn); got != s.InlinePolicy {
			t.Errorf("inline policy changed to %q", got)
		}
	})
}
