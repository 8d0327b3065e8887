package sweepscale

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/smithy-go"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter"
)

// pageSize is how many items the fake answers per page, Identity Center's
// maximum for the list calls the sweeper makes.
const pageSize = 100

// permissionSet is one set of the fake instance.
type permissionSet struct {
	name     string
	managed  bool
	created  time.Time
	accounts []string // provisioned to
}

// ssoFake is an SSO Admin API on a simulated clock. It enforces Identity
// Center's rate: a call that would make more than tps calls in any second
// of simulated time is refused with ThrottlingException. Every call is
// counted, refused ones too. The caller's pacing is in front of it (paced).
type ssoFake struct {
	mu  sync.Mutex
	tps int
	clk *simClock

	sets        map[string]*permissionSet
	assignments map[access.AssignmentKey]bool
	byPrincipal map[string][]access.AssignmentKey
	deletedSets []string

	calls     int
	throttled int
	byMethod  map[string]int
	recent    []time.Duration // start times of the last tps calls
	perSecond map[int64]int
}

var _ identitycenter.SSOAdminAPI = (*ssoFake)(nil)

func newSSOFake(tps int, clk *simClock) *ssoFake {
	return &ssoFake{tps: tps, clk: clk, sets: map[string]*permissionSet{}, assignments: map[access.AssignmentKey]bool{},
		byPrincipal: map[string][]access.AssignmentKey{}, byMethod: map[string]int{}, perSecond: map[int64]int{}}
}

func apiError(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

// call admits one call, or throttles it. The caller paces itself at the
// rate (what the adapter's limiter does in real time), so the call starts at
// its next slot of the simulated clock.
func (f *ssoFake) call(method string) error {
	at := f.clk.pace()
	f.calls++
	f.byMethod[method]++
	if len(f.recent) == f.tps && at-f.recent[0] < time.Second {
		f.throttled++
		return apiError("ThrottlingException", "Rate exceeded")
	}
	if len(f.recent) == f.tps {
		f.recent = f.recent[1:]
	}
	f.recent = append(f.recent, at)
	f.perSecond[int64(at/time.Second)]++
	return nil
}

// maxPerSecond is the most calls admitted in one second of simulated time.
func (f *ssoFake) maxPerSecond() int {
	m := 0
	for _, n := range f.perSecond {
		m = max(m, n)
	}
	return m
}

func (f *ssoFake) addSet(arn string, ps *permissionSet) { f.sets[arn] = ps }

func (f *ssoFake) assign(k access.AssignmentKey) {
	if f.assignments[k] {
		return
	}
	f.assignments[k] = true
	f.byPrincipal[k.PrincipalID] = append(f.byPrincipal[k.PrincipalID], k)
	if ps := f.sets[k.PermissionSetARN]; ps != nil && !slices.Contains(ps.accounts, k.AccountID) {
		ps.accounts = append(ps.accounts, k.AccountID)
	}
}

func (f *ssoFake) unassign(k access.AssignmentKey) {
	delete(f.assignments, k)
	f.byPrincipal[k.PrincipalID] = slices.DeleteFunc(f.byPrincipal[k.PrincipalID], func(x access.AssignmentKey) bool { return x == k })
}

// page returns the items of one page and the next token.
func page[T any](items []T, token *string) ([]T, *string) {
	start := 0
	if token != nil {
		start, _ = strconv.Atoi(*token)
	}
	end := min(start+pageSize, len(items))
	if start >= end {
		return nil, nil
	}
	if end < len(items) {
		return items[start:end], aws.String(strconv.Itoa(end))
	}
	return items[start:end], nil
}

func (f *ssoFake) ListPermissionSets(_ context.Context, in *ssoadmin.ListPermissionSetsInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.ListPermissionSetsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListPermissionSets"); err != nil {
		return nil, err
	}
	arns := make([]string, 0, len(f.sets))
	for arn := range f.sets {
		arns = append(arns, arn)
	}
	slices.Sort(arns)
	items, next := page(arns, in.NextToken)
	return &ssoadmin.ListPermissionSetsOutput{PermissionSets: items, NextToken: next}, nil
}

func (f *ssoFake) DescribePermissionSet(_ context.Context, in *ssoadmin.DescribePermissionSetInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.DescribePermissionSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribePermissionSet"); err != nil {
		return nil, err
	}
	ps := f.sets[aws.ToString(in.PermissionSetArn)]
	if ps == nil {
		return nil, apiError("ResourceNotFoundException", "no such permission set")
	}
	return &ssoadmin.DescribePermissionSetOutput{PermissionSet: &types.PermissionSet{
		Name: aws.String(ps.name), PermissionSetArn: in.PermissionSetArn, CreatedDate: aws.Time(ps.created),
	}}, nil
}

func (f *ssoFake) ListTagsForResource(_ context.Context, in *ssoadmin.ListTagsForResourceInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.ListTagsForResourceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListTagsForResource"); err != nil {
		return nil, err
	}
	ps := f.sets[aws.ToString(in.ResourceArn)]
	if ps == nil {
		return nil, apiError("ResourceNotFoundException", "no such permission set")
	}
	out := &ssoadmin.ListTagsForResourceOutput{}
	if ps.managed {
		out.Tags = []types.Tag{{Key: aws.String(access.ManagedTagKey), Value: aws.String(access.ManagedTagValue)}}
	}
	return out, nil
}

func (f *ssoFake) ListAccountsForProvisionedPermissionSet(_ context.Context, in *ssoadmin.ListAccountsForProvisionedPermissionSetInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.ListAccountsForProvisionedPermissionSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListAccountsForProvisionedPermissionSet"); err != nil {
		return nil, err
	}
	ps := f.sets[aws.ToString(in.PermissionSetArn)]
	if ps == nil {
		return nil, apiError("ResourceNotFoundException", "no such permission set")
	}
	items, next := page(ps.accounts, in.NextToken)
	return &ssoadmin.ListAccountsForProvisionedPermissionSetOutput{AccountIds: items, NextToken: next}, nil
}

func (f *ssoFake) ListAccountAssignments(_ context.Context, in *ssoadmin.ListAccountAssignmentsInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.ListAccountAssignmentsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListAccountAssignments"); err != nil {
		return nil, err
	}
	var all []types.AccountAssignment
	for k := range f.assignments {
		if k.AccountID == aws.ToString(in.AccountId) && k.PermissionSetARN == aws.ToString(in.PermissionSetArn) {
			all = append(all, types.AccountAssignment{AccountId: aws.String(k.AccountID), PermissionSetArn: aws.String(k.PermissionSetARN),
				PrincipalId: aws.String(k.PrincipalID), PrincipalType: types.PrincipalTypeUser})
		}
	}
	slices.SortFunc(all, func(a, b types.AccountAssignment) int {
		return compare(aws.ToString(a.PrincipalId), aws.ToString(b.PrincipalId))
	})
	items, next := page(all, in.NextToken)
	return &ssoadmin.ListAccountAssignmentsOutput{AccountAssignments: items, NextToken: next}, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (f *ssoFake) ListAccountAssignmentsForPrincipal(_ context.Context, in *ssoadmin.ListAccountAssignmentsForPrincipalInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.ListAccountAssignmentsForPrincipalOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListAccountAssignmentsForPrincipal"); err != nil {
		return nil, err
	}
	var all []types.AccountAssignmentForPrincipal
	for _, k := range f.byPrincipal[aws.ToString(in.PrincipalId)] {
		all = append(all, types.AccountAssignmentForPrincipal{AccountId: aws.String(k.AccountID), PermissionSetArn: aws.String(k.PermissionSetARN),
			PrincipalId: aws.String(k.PrincipalID), PrincipalType: types.PrincipalTypeUser})
	}
	items, next := page(all, in.NextToken)
	return &ssoadmin.ListAccountAssignmentsForPrincipalOutput{AccountAssignments: items, NextToken: next}, nil
}

func (f *ssoFake) DeletePermissionSet(_ context.Context, in *ssoadmin.DeletePermissionSetInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.DeletePermissionSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeletePermissionSet"); err != nil {
		return nil, err
	}
	arn := aws.ToString(in.PermissionSetArn)
	if f.sets[arn] == nil {
		return nil, apiError("ResourceNotFoundException", "no such permission set")
	}
	delete(f.sets, arn)
	f.deletedSets = append(f.deletedSets, arn)
	return &ssoadmin.DeletePermissionSetOutput{}, nil
}

func (f *ssoFake) key(inst, ps, account, principal *string) access.AssignmentKey {
	return access.AssignmentKey{InstanceARN: aws.ToString(inst), PrincipalID: aws.ToString(principal), AccountID: aws.ToString(account), PermissionSetARN: aws.ToString(ps)}
}

func done(id string) *types.AccountAssignmentOperationStatus {
	return &types.AccountAssignmentOperationStatus{RequestId: aws.String(id), Status: types.StatusValuesSucceeded}
}

func (f *ssoFake) CreateAccountAssignment(_ context.Context, in *ssoadmin.CreateAccountAssignmentInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.CreateAccountAssignmentOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateAccountAssignment"); err != nil {
		return nil, err
	}
	f.assign(f.key(in.InstanceArn, in.PermissionSetArn, in.TargetId, in.PrincipalId))
	return &ssoadmin.CreateAccountAssignmentOutput{AccountAssignmentCreationStatus: done(fmt.Sprintf("create-%d", f.calls))}, nil
}

func (f *ssoFake) DescribeAccountAssignmentCreationStatus(_ context.Context, in *ssoadmin.DescribeAccountAssignmentCreationStatusInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.DescribeAccountAssignmentCreationStatusOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeAccountAssignmentCreationStatus"); err != nil {
		return nil, err
	}
	return &ssoadmin.DescribeAccountAssignmentCreationStatusOutput{AccountAssignmentCreationStatus: done(aws.ToString(in.AccountAssignmentCreationRequestId))}, nil
}

func (f *ssoFake) DeleteAccountAssignment(_ context.Context, in *ssoadmin.DeleteAccountAssignmentInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.DeleteAccountAssignmentOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeleteAccountAssignment"); err != nil {
		return nil, err
	}
	f.unassign(f.key(in.InstanceArn, in.PermissionSetArn, in.TargetId, in.PrincipalId))
	return &ssoadmin.DeleteAccountAssignmentOutput{AccountAssignmentDeletionStatus: done(fmt.Sprintf("delete-%d", f.calls))}, nil
}

func (f *ssoFake) DescribeAccountAssignmentDeletionStatus(_ context.Context, in *ssoadmin.DescribeAccountAssignmentDeletionStatusInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.DescribeAccountAssignmentDeletionStatusOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeAccountAssignmentDeletionStatus"); err != nil {
		return nil, err
	}
	return &ssoadmin.DescribeAccountAssignmentDeletionStatusOutput{AccountAssignmentDeletionStatus: done(aws.ToString(in.AccountAssignmentDeletionRequestId))}, nil
}

// The calls a sweep never makes.

func (f *ssoFake) unexpected(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.call(method)
	return fmt.Errorf("the sweep simulation does not expect %s", method)
}

func (f *ssoFake) CreatePermissionSet(context.Context, *ssoadmin.CreatePermissionSetInput, ...func(*ssoadmin.Options)) (*ssoadmin.CreatePermissionSetOutput, error) {
	return nil, f.unexpected("CreatePermissionSet")
}

func (f *ssoFake) UpdatePermissionSet(context.Context, *ssoadmin.UpdatePermissionSetInput, ...func(*ssoadmin.Options)) (*ssoadmin.UpdatePermissionSetOutput, error) {
	return nil, f.unexpected("UpdatePermissionSet")
}

func (f *ssoFake) GetInlinePolicyForPermissionSet(context.Context, *ssoadmin.GetInlinePolicyForPermissionSetInput, ...func(*ssoadmin.Options)) (*ssoadmin.GetInlinePolicyForPermissionSetOutput, error) {
	return nil, f.unexpected("GetInlinePolicyForPermissionSet")
}

func (f *ssoFake) PutInlinePolicyToPermissionSet(context.Context, *ssoadmin.PutInlinePolicyToPermissionSetInput, ...func(*ssoadmin.Options)) (*ssoadmin.PutInlinePolicyToPermissionSetOutput, error) {
	return nil, f.unexpected("PutInlinePolicyToPermissionSet")
}

func (f *ssoFake) ProvisionPermissionSet(context.Context, *ssoadmin.ProvisionPermissionSetInput, ...func(*ssoadmin.Options)) (*ssoadmin.ProvisionPermissionSetOutput, error) {
	return nil, f.unexpected("ProvisionPermissionSet")
}
