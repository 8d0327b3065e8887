package identitycenter_test

import (
	"context"
	"encoding/json"
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

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter"
)

// theirs is a statement of the permission set's own inline policy, which a
// session cut must keep as it is.
const theirs = `{"Version":"2012-10-17","Statement":[{"Sid":"Theirs","Effect":"Deny","Action":"iam:*","Resource":"*"}]}`

// cutEnv is a faultEnv whose tenant cuts the sessions of its assignable
// set (end_sessions "all", allowed by the boundary), which has an inline
// policy of its own.
func cutEnv(t *testing.T) *faultEnv {
	t.Helper()
	fe := newFaultEnv(t)
	ten := fe.tenant
	ten.Settings.EndSessions = access.EndSessionsAll
	ten.Boundary.CutSessions = true
	ten.Revision++
	if err := fe.store.Commit(fe.ctx, access.Change{Tenants: []access.Tenant{ten}}); err != nil {
		t.Fatal(err)
	}
	fe.tenant = ten
	if _, err := fe.raw.PutInlinePolicyToPermissionSet(fe.ctx, &ssoadmin.PutInlinePolicyToPermissionSetInput{
		InstanceArn: aws.String(fe.instanceARN), PermissionSetArn: aws.String(fe.ps), InlinePolicy: aws.String(theirs),
	}); err != nil {
		t.Fatal(err)
	}
	return fe
}

// policy reads the set's inline policy from moto and returns its statements' Sids.
func (fe *faultEnv) policy(t *testing.T) (string, []string) {
	t.Helper()
	out, err := fe.raw.GetInlinePolicyForPermissionSet(fe.ctx, &ssoadmin.GetInlinePolicyForPermissionSetInput{
		InstanceArn: aws.String(fe.instanceARN), PermissionSetArn: aws.String(fe.ps)})
	if err != nil {
		t.Fatal(err)
	}
	p := aws.ToString(out.InlinePolicy)
	var doc struct{ Statement []struct{ Sid string } }
	if err := json.Unmarshal([]byte(p), &doc); err != nil {
		t.Fatalf("policy %q: %v", p, err)
	}
	var sids []string
	for _, s := range doc.Statement {
		sids = append(sids, s.Sid)
	}
	return p, sids
}

// after returns the operations called after the last call of op.
func (f *faults) after(op string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.Index(f.ops, op)
	for j := len(f.ops) - 1; j >= 0; j-- {
		if f.ops[j] == op {
			i = j
			break
		}
	}
	if i < 0 {
		return nil
	}
	return slices.Clone(f.ops[i+1:])
}

func TestAWSSessionCut(t *testing.T) {
	t.Parallel()
	fe := cutEnv(t)
	account := fe.account(t, fe.ou, "cut")
	g := fe.request(t, account, 3600)
	fe.until(t, true, g, 10)
	fe.clock.Advance(5 * time.Minute)
	fe.revoke(t, g)
	revokedAt := fe.clock.Now()
	fe.until(t, false, g, 10)

	got := fe.grant(t, g)
	r := got.Revocation
	// e.permissionSet makes sets of PT4H.
	if got.Status != access.GrantRevoked || r == nil || r.Method != access.CutDone || !r.VerifiedAbsentAt.Equal(revokedAt) ||
		!r.AssignmentDeletedAt.Equal(revokedAt) || !r.SessionsCutUntil.Equal(revokedAt.Add(4*time.Hour)) {
		t.Fatalf("grant is %s with receipt %+v", got.Status, r)
	}
	// The order: the deletion, its re-listing (verified absent), then the
	// policy read, put, and the re-provisioning of the set.
	ops := fe.faults.after("DescribeAccountAssignmentDeletionStatus")
	want := []string{"ListAccountAssignments", "DescribePermissionSet", "GetInlinePolicyForPermissionSet", "PutInlinePolicyToPermissionSet",
		"ListAccountsForProvisionedPermissionSet", "ProvisionPermissionSet"}
	if !slices.Equal(ops, want) {
		t.Errorf("calls after the deletion = %v, want %v", ops, want)
	}
	policy, sids := fe.policy(t)
	if len(sids) != 2 || sids[0] != "Theirs" || !strings.HasPrefix(sids[1], "ElevateCut") {
		t.Fatalf("policy = %s", policy)
	}
	for _, w := range []string{`"aws:userid":"*:alice"`, `"aws:PrincipalAccount":["` + account + `"]`, `"aws:TokenIssueTime":"` + revokedAt.Format(time.RFC3339) + `"`} {
		if !strings.Contains(policy, w) {
			t.Errorf("policy lacks %s: %s", w, policy)
		}
	}

	// Once the session duration has passed, the sweeper takes the cut out
	// and re-provisions; their statement stays.
	fe.clock.Advance(4*time.Hour + time.Second)
	rep := must(fe.svc.Sweep(fe.ctx))(t)
	if rep.CutSetsReconciled != 1 {
		t.Errorf("sweep reconciled %d cut sets (%q)", rep.CutSetsReconciled, rep.Problems)
	}
	if policy, sids := fe.policy(t); !slices.Equal(sids, []string{"Theirs"}) {
		t.Errorf("policy after the cut's end = %s", policy)
	}
	if ops := fe.faults.after("PutInlinePolicyToPermissionSet"); !slices.Contains(ops, "ProvisionPermissionSet") {
		t.Errorf("no re-provisioning after the cut went: %v", ops)
	}
}

func TestFaultFailingReprovisionIsRetried(t *testing.T) {
	t.Parallel()
	fe := cutEnv(t)
	account := fe.account(t, fe.ou, "cutfail")
	g := fe.request(t, account, 3600)
	fe.until(t, true, g, 10)
	fe.revoke(t, g)
	fe.faults.set("ProvisionPermissionSet", fault{times: -1, err: &smithy.GenericAPIError{Code: "InternalServerException", Message: "injected"}})
	fe.until(t, false, g, 10)

	// Revoked (the assignment is gone and verified absent); the cut is
	// recorded but not in place.
	got := fe.grant(t, g)
	if got.Status != access.GrantRevoked || got.Revocation == nil || got.Revocation.Method != access.CutPending || !got.Revocation.SessionsCutUntil.IsZero() {
		t.Fatalf("grant is %s with receipt %+v", got.Status, got.Revocation)
	}
	rep := must(fe.svc.Sweep(fe.ctx))(t)
	if rep.CutSetsReconciled != 0 || !slices.ContainsFunc(rep.Problems, func(p string) bool { return strings.Contains(p, "injected") }) {
		t.Errorf("sweep while provisioning fails: %d reconciled, problems %q", rep.CutSetsReconciled, rep.Problems)
	}
	fe.faults.clear("ProvisionPermissionSet")
	fe.clock.Advance(time.Minute)
	rep = must(fe.svc.Sweep(fe.ctx))(t)
	if rep.CutSetsReconciled != 1 {
		t.Fatalf("sweep reconciled %d (%q)", rep.CutSetsReconciled, rep.Problems)
	}
	r := fe.grant(t, g).Revocation
	if r.Method != access.CutDone || !r.SessionsCutUntil.Equal(r.VerifiedAbsentAt.Add(4*time.Hour)) {
		t.Errorf("receipt after the retry = %+v", r)
	}
	if policy, sids := fe.policy(t); len(sids) != 2 {
		t.Errorf("policy = %s", policy)
	}
}

// A managed set brought up to date (a new policy for the same name) keeps
// the session cuts in its policy; a set whose policy equals the spec but for
// the cuts is left alone.
func TestAWSEnsurePermissionSetKeepsCuts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.tenant(access.MapUserName)
	ic := e.newAWS(nil)
	s := spec(t, e, "read")
	arn := must(ic.EnsurePermissionSet(e.ctx, ten, s))(t)
	cut := access.SessionCut{Sid: "ElevateCut00112233aabbccdd", UserName: "alice", Accounts: []string{"111122223333"},
		IssuedBefore: time.Now().UTC().Truncate(time.Second), Until: time.Now().Add(time.Hour)}
	withCut, _, err := access.WithCuts(s.InlinePolicy, []access.SessionCut{cut})
	if err != nil {
		t.Fatal(err)
	}
	if err := ic.PutInlinePolicy(e.ctx, e.instanceARN, arn, withCut); err != nil {
		t.Fatal(err)
	}
	puts := e.sso.count("PutInlinePolicyToPermissionSet")
	if _, err := e.newAWS(nil).EnsurePermissionSet(e.ctx, ten, s); err != nil {
		t.Fatal(err)
	}
	if n := e.sso.count("PutInlinePolicyToPermissionSet"); n != puts {
		t.Errorf("a fresh adapter put the unchanged spec again over the cut (%d puts, was %d)", n, puts)
	}
	changed := s
	changed.InlinePolicy = strings.Replace(s.InlinePolicy, "s3:GetObjectTagging", "s3:GetObjectAcl", 1)
	if _, err := ic.EnsurePermissionSet(e.ctx, ten, changed); err != nil {
		t.Fatal(err)
	}
	got := inlinePolicy(t, e, arn)
	if !strings.Contains(got, cut.Sid) || !strings.Contains(got, "s3:GetObjectAcl") {
		t.Errorf("policy after the change = %s, want the new spec with the cut", got)
	}
	if d := must(ic.SessionDuration(e.ctx, e.instanceARN, arn))(t); d != time.Hour {
		t.Errorf("SessionDuration = %v", d)
	}
	if p := must(ic.InlinePolicy(e.ctx, e.instanceARN, arn))(t); p != got {
		t.Errorf("InlinePolicy = %s", p)
	}
	// Removing every statement deletes the inline policy.
	if err := ic.PutInlinePolicy(e.ctx, e.instanceARN, arn, ""); err != nil {
		t.Fatal(err)
	}
	if p := inlinePolicy(t, e, arn); p != "" {
		t.Errorf("policy after deleting = %q", p)
	}
}

func TestAWSUserName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createUser(t, "alice", "alice@example.com")
	if got, err := e.newAWS(nil).UserName(e.ctx, e.tenant(access.MapEmail), id); err != nil || got != "alice" {
		t.Errorf("UserName = %q, %v; want alice", got, err)
	}
}

// provisioningSSO answers the calls of a session cut: the put, the accounts
// the set is provisioned to, and a provisioning that is IN_PROGRESS for
// pending polls before ending as final says (moto answers SUCCEEDED at once
// and has no DescribePermissionSetProvisioningStatus).
type provisioningSSO struct {
	identitycenter.SSOAdminAPI
	mu      sync.Mutex
	calls   []string
	pending int
	final   ssotypes.StatusValues
}

func (f *provisioningSSO) call(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
}

func (f *provisioningSSO) PutInlinePolicyToPermissionSet(context.Context, *ssoadmin.PutInlinePolicyToPermissionSetInput, ...func(*ssoadmin.Options)) (*ssoadmin.PutInlinePolicyToPermissionSetOutput, error) {
	f.call("Put")
	return &ssoadmin.PutInlinePolicyToPermissionSetOutput{}, nil
}

func (f *provisioningSSO) DeleteInlinePolicyFromPermissionSet(context.Context, *ssoadmin.DeleteInlinePolicyFromPermissionSetInput, ...func(*ssoadmin.Options)) (*ssoadmin.DeleteInlinePolicyFromPermissionSetOutput, error) {
	f.call("Delete")
	return &ssoadmin.DeleteInlinePolicyFromPermissionSetOutput{}, nil
}

func (f *provisioningSSO) ListAccountsForProvisionedPermissionSet(context.Context, *ssoadmin.ListAccountsForProvisionedPermissionSetInput, ...func(*ssoadmin.Options)) (*ssoadmin.ListAccountsForProvisionedPermissionSetOutput, error) {
	f.call("List")
	return &ssoadmin.ListAccountsForProvisionedPermissionSetOutput{AccountIds: []string{"111122223333"}}, nil
}

func (f *provisioningSSO) status() *ssotypes.PermissionSetProvisioningStatus {
	st := &ssotypes.PermissionSetProvisioningStatus{RequestId: aws.String("req-1"), Status: ssotypes.StatusValuesInProgress}
	if f.pending == 0 {
		st.Status = f.final
		if f.final == ssotypes.StatusValuesFailed {
			st.FailureReason = aws.String("injected")
		}
	}
	f.pending--
	return st
}

func (f *provisioningSSO) ProvisionPermissionSet(_ context.Context, in *ssoadmin.ProvisionPermissionSetInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.ProvisionPermissionSetOutput, error) {
	f.call("Provision:" + string(in.TargetType))
	f.mu.Lock()
	defer f.mu.Unlock()
	return &ssoadmin.ProvisionPermissionSetOutput{PermissionSetProvisioningStatus: f.status()}, nil
}

func (f *provisioningSSO) DescribePermissionSetProvisioningStatus(_ context.Context, in *ssoadmin.DescribePermissionSetProvisioningStatusInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.DescribePermissionSetProvisioningStatusOutput, error) {
	f.call("Status:" + aws.ToString(in.ProvisionPermissionSetRequestId))
	f.mu.Lock()
	defer f.mu.Unlock()
	return &ssoadmin.DescribePermissionSetProvisioningStatusOutput{PermissionSetProvisioningStatus: f.status()}, nil
}

func TestPutInlinePolicyWaitsForTheProvisioning(t *testing.T) {
	for _, tc := range []struct {
		name    string
		policy  string
		pending int
		final   ssotypes.StatusValues
		want    []string
		fails   bool
	}{
		{"succeeds at once", theirs, 0, ssotypes.StatusValuesSucceeded, []string{"Put", "List", "Provision:ALL_PROVISIONED_ACCOUNTS"}, false},
		{"polled until it succeeds", theirs, 2, ssotypes.StatusValuesSucceeded,
			[]string{"Put", "List", "Provision:ALL_PROVISIONED_ACCOUNTS", "Status:req-1", "Status:req-1"}, false},
		{"fails", theirs, 1, ssotypes.StatusValuesFailed, []string{"Put", "List", "Provision:ALL_PROVISIONED_ACCOUNTS", "Status:req-1"}, true},
		{"the last statement gone: deleted", "", 0, ssotypes.StatusValuesSucceeded, []string{"Delete", "List", "Provision:ALL_PROVISIONED_ACCOUNTS"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sso := &provisioningSSO{pending: tc.pending, final: tc.final}
			ic := fastAWS(func(c *identitycenter.AWSConfig) { c.SSOAdmin = sso; c.ProvisionPoll = time.Millisecond })
			err := ic.PutInlinePolicy(t.Context(), fakeInstance, fakeInstance+"/ps-1", tc.policy)
			if (err != nil) != tc.fails {
				t.Fatalf("PutInlinePolicy = %v, want failure %v", err, tc.fails)
			}
			if !slices.Equal(sso.calls, tc.want) {
				t.Errorf("calls = %v, want %v", sso.calls, tc.want)
			}
		})
	}
}

// The inline policy of a permission set that is gone (deleted, with its
// roles) reads as not found, so the domain ends its cuts instead of
// retrying them for good.
func TestAWSInlinePolicyOfASetThatIsGone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gone := strings.Replace(e.instanceARN, ":instance/", ":permissionSet/", 1) + "/ps-0000000000000000"
	_, err := e.newAWS(nil).InlinePolicy(e.ctx, e.instanceARN, gone)
	if !errors.Is(err, access.ErrNotFound) {
		t.Fatalf("InlinePolicy of a set that is gone: %v, want not found", err)
	}
}

// lockWatch is a Locker that says who asks for a lock.
type lockWatch struct {
	identitycenter.Locker
	asked chan string
}

func (l lockWatch) Lock(ctx context.Context, name string) (func(), error) {
	l.asked <- name
	return l.Locker.Lock(ctx, name)
}

// TestAWSPolicyWritersTakeTurns races the two writers of a managed set's
// inline policy, in two processes: a session cut (EditInlinePolicy) that has
// read the policy and not yet put it back, and the sync of a changed spec
// (EnsurePermissionSet). Unserialized, the cut puts back the spec it read
// over the new one: the permissions an admin took away come back with it.
// Serialized, the sync waits for the cut and keeps it, and both changes
// stay.
func TestAWSPolicyWritersTakeTurns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.tenant(access.MapUserName)
	locks := lockWatch{identitycenter.NewLocalLocks(), make(chan string, 16)}
	cutter := e.newAWS(func(c *identitycenter.AWSConfig) { c.Locks = locks })
	syncer := e.newAWS(func(c *identitycenter.AWSConfig) { c.Locks = locks })
	s := spec(t, e, "read")
	arn := must(cutter.EnsurePermissionSet(e.ctx, ten, s))(t)
	changed := s
	changed.InlinePolicy = strings.Replace(s.InlinePolicy, "s3:GetObjectTagging", "s3:GetObjectAcl", 1)
	if changed.InlinePolicy == s.InlinePolicy {
		t.Fatal("the spec has no s3:GetObjectTagging to change")
	}
	cut := access.SessionCut{Sid: "ElevateCut00112233aabbccdd", UserName: "alice", Accounts: []string{"111122223333"},
		IssuedBefore: time.Now().UTC().Truncate(time.Second), Until: time.Now().Add(time.Hour)}

	entered, release := make(chan struct{}), make(chan struct{})
	cutDone := make(chan error, 1)
	go func() {
		cutDone <- cutter.EditInlinePolicy(e.ctx, e.instanceARN, arn, func(current string) (string, error) {
			close(entered)
			<-release
			p, _, err := access.WithCuts(current, []access.SessionCut{cut})
			return p, err
		})
	}()
	<-entered
	for len(locks.asked) > 0 {
		<-locks.asked
	}
	syncDone := make(chan error, 1)
	go func() {
		_, err := syncer.EnsurePermissionSet(e.ctx, ten, changed)
		syncDone <- err
	}()
	// The cut goes on once the sync is done (unserialized) or waits for the
	// policy's lock (serialized).
	select {
	case err := <-syncDone:
		syncDone <- err
	case name := <-locks.asked:
		if !strings.Contains(name, arn) {
			t.Errorf("the sync waits for the lock %q, not one of %s", name, arn)
		}
	}
	close(release)
	if err := <-cutDone; err != nil {
		t.Fatal(err)
	}
	if err := <-syncDone; err != nil {
		t.Fatal(err)
	}
	got := inlinePolicy(t, e, arn)
	if !strings.Contains(got, cut.Sid) {
		t.Errorf("the cut is lost: %s", got)
	}
	if !strings.Contains(got, "s3:GetObjectAcl") || strings.Contains(got, "s3:GetObjectTagging") {
		t.Errorf("the spec change is lost: %s", got)
	}
}

// TestAWSPolicyLockWaitAnswersLater checks that a writer waiting for a
// permission set's policy lock stops LockWaitMargin before its deadline with
// access.ErrRetryLater (the step tries again later) rather than waiting
// until its function is stopped.
func TestAWSPolicyLockWaitAnswersLater(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	locks := identitycenter.NewLocalLocks()
	ic := e.newAWS(func(c *identitycenter.AWSConfig) { c.Locks = locks })
	arn := must(ic.EnsurePermissionSet(e.ctx, e.tenant(access.MapUserName), spec(t, e, "read")))(t)
	unlock, err := locks.Lock(e.ctx, identitycenter.PolicyLock(arn)) // another step holds it
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(e.ctx, identitycenter.LockWaitMargin+50*time.Millisecond)
	defer cancel()
	err = ic.EditInlinePolicy(ctx, e.instanceARN, arn, func(current string) (string, error) { return current, nil })
	if !errors.Is(err, access.ErrRetryLater) || ctx.Err() != nil {
		t.Fatalf("EditInlinePolicy while another step holds the lock = %v (its context: %v), want ErrRetryLater before the deadline", err, ctx.Err())
	}
}

// TestPutInlinePolicyStopsBeforeItsDeadline checks that the wait for a
// re-provisioning ends before the step's deadline, with the provisioning
// still in progress, rather than when the step is stopped.
func TestPutInlinePolicyStopsBeforeItsDeadline(t *testing.T) {
	sso := &provisioningSSO{pending: 1 << 20, final: ssotypes.StatusValuesSucceeded}
	ic := fastAWS(func(c *identitycenter.AWSConfig) { c.SSOAdmin = sso; c.ProvisionPoll = 20 * time.Millisecond })
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := ic.PutInlinePolicy(ctx, fakeInstance, fakeInstance+"/ps-1", theirs)
	if err == nil || !strings.Contains(err.Error(), "still in progress") || ctx.Err() != nil {
		t.Fatalf("PutInlinePolicy near its deadline = %v (its context: %v), want still in progress before the deadline", err, ctx.Err())
	}
}
