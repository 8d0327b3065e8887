package identitycenter

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/elevate-jit/elevate/internal/access"
)

// SessionCutAPI is what cutting sessions needs of SSO Admin beyond
// SSOAdminAPI; *ssoadmin.Client satisfies it. An SSOAdminAPI without it
// cannot remove a set's last statement or wait for a provisioning that is
// still in progress.
type SessionCutAPI interface {
	DeleteInlinePolicyFromPermissionSet(ctx context.Context, in *ssoadmin.DeleteInlinePolicyFromPermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.DeleteInlinePolicyFromPermissionSetOutput, error)
	DescribePermissionSetProvisioningStatus(ctx context.Context, in *ssoadmin.DescribePermissionSetProvisioningStatusInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.DescribePermissionSetProvisioningStatusOutput, error)
}

var _ access.SessionCutter = (*AWS)(nil)

// provisionPolls and provisionPollEvery bound how long PutInlinePolicy
// waits for a re-provisioning (about a minute); one still in progress then
// is an error, and the sweeper puts and provisions again.
const (
	provisionPolls     = 30
	provisionPollEvery = 2 * time.Second
)

// SessionDuration reads the permission set's session duration.
func (a *AWS) SessionDuration(ctx context.Context, inst, arn string) (time.Duration, error) {
	ps, err := a.describePermissionSet(ctx, inst, arn)
	if err != nil {
		return 0, err
	}
	d, err := parseISODuration(aws.ToString(ps.SessionDuration))
	if err != nil {
		return 0, fmt.Errorf("session duration of %s: %w", arn, err)
	}
	return d, nil
}

// InlinePolicy returns the set's inline policy ("" for none).
func (a *AWS) InlinePolicy(ctx context.Context, inst, arn string) (string, error) {
	out, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.GetInlinePolicyForPermissionSetOutput, error) {
		return a.sso.GetInlinePolicyForPermissionSet(ctx, &ssoadmin.GetInlinePolicyForPermissionSetInput{InstanceArn: aws.String(inst), PermissionSetArn: aws.String(arn)})
	})
	if hasCode(err, "ResourceNotFoundException") {
		// The set is gone, and its roles with it (access.ErrNotFound).
		return "", fmt.Errorf("get inline policy of %s: %w: %w", arn, access.ErrNotFound, err)
	}
	if err != nil {
		return "", fmt.Errorf("get inline policy of %s: %w", arn, err)
	}
	return aws.ToString(out.InlinePolicy), nil
}

// EditInlinePolicy reads the set's inline policy, has edit change it and
// puts the result (PutInlinePolicy, re-provisioning included), holding the
// set's policy lock throughout (see Locker).
func (a *AWS) EditInlinePolicy(ctx context.Context, inst, arn string, edit func(current string) (string, error)) error {
	unlock, err := a.lockPolicy(ctx, arn)
	if err != nil {
		return err
	}
	defer unlock()
	current, err := a.InlinePolicy(ctx, inst, arn)
	if err != nil {
		return err
	}
	policy, err := edit(current)
	if err != nil {
		return err
	}
	return a.PutInlinePolicy(ctx, inst, arn, policy)
}

// PutInlinePolicy puts the set's inline policy (deletes it when policy is
// "") and re-provisions the set to every account it is provisioned to,
// waiting for the provisioning to succeed.
func (a *AWS) PutInlinePolicy(ctx context.Context, inst, arn, policy string) error {
	extra, _ := a.sso.(SessionCutAPI)
	if policy == "" {
		if extra == nil {
			return errors.New("this SSO Admin client cannot delete an inline policy")
		}
		if _, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.DeleteInlinePolicyFromPermissionSetOutput, error) {
			return extra.DeleteInlinePolicyFromPermissionSet(ctx, &ssoadmin.DeleteInlinePolicyFromPermissionSetInput{InstanceArn: aws.String(inst), PermissionSetArn: aws.String(arn)})
		}); err != nil {
			return fmt.Errorf("delete inline policy of %s: %w", arn, err)
		}
	} else if err := a.putPolicy(ctx, inst, arn, policy, retryThrottledOrConflict); err != nil {
		return fmt.Errorf("%s: %w", arn, err)
	}
	accounts, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.ListAccountsForProvisionedPermissionSetOutput, error) {
		return a.sso.ListAccountsForProvisionedPermissionSet(ctx, &ssoadmin.ListAccountsForProvisionedPermissionSetInput{
			InstanceArn: aws.String(inst), PermissionSetArn: aws.String(arn), MaxResults: aws.Int32(1),
		})
	})
	if err != nil {
		return fmt.Errorf("list accounts provisioned with %s: %w", arn, err)
	}
	if len(accounts.AccountIds) == 0 {
		return nil // no account has the set: nothing to re-provision
	}
	out, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.ProvisionPermissionSetOutput, error) {
		return a.sso.ProvisionPermissionSet(ctx, &ssoadmin.ProvisionPermissionSetInput{
			InstanceArn: aws.String(inst), PermissionSetArn: aws.String(arn), TargetType: types.ProvisionTargetTypeAllProvisionedAccounts,
		})
	})
	if err != nil {
		return fmt.Errorf("provision %s: %w", arn, err)
	}
	st := out.PermissionSetProvisioningStatus
	for i := 0; ; i++ {
		if st == nil {
			return fmt.Errorf("provision %s: no status", arn)
		}
		switch st.Status {
		case types.StatusValuesSucceeded:
			return nil
		case types.StatusValuesFailed:
			return fmt.Errorf("provision %s: FAILED: %s", arn, aws.ToString(st.FailureReason))
		}
		// Stop before the step's own deadline, so that it returns (and lets
		// go of the policy's lock) rather than being stopped mid-wait.
		deadline, hasDeadline := ctx.Deadline()
		if extra == nil || i == provisionPolls || hasDeadline && time.Until(deadline) < a.poll+LockWaitMargin {
			return fmt.Errorf("provision %s: still in progress (request %s)", arn, aws.ToString(st.RequestId))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(a.poll):
		}
		id := st.RequestId
		polled, err := invoke(ctx, a, retryThrottled, func(ctx context.Context) (*ssoadmin.DescribePermissionSetProvisioningStatusOutput, error) {
			return extra.DescribePermissionSetProvisioningStatus(ctx, &ssoadmin.DescribePermissionSetProvisioningStatusInput{
				InstanceArn: aws.String(inst), ProvisionPermissionSetRequestId: id,
			})
		})
		if err != nil {
			return fmt.Errorf("provisioning status of %s: %w", arn, err)
		}
		st = polled.PermissionSetProvisioningStatus
	}
}

// isoDurationPattern is compiled on first use, not at package init.
var isoDurationPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$`)
})

// parseISODuration reads a permission set's session duration (PT1H, PT12H,
// PT90M…); an empty one is Identity Center's default of one hour.
func parseISODuration(s string) (time.Duration, error) {
	if s == "" {
		return time.Hour, nil
	}
	m := isoDurationPattern().FindStringSubmatch(s)
	if m == nil || s == "PT" {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration of hours, minutes and seconds", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{time.Hour, time.Minute, time.Second} {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			d += time.Duration(n) * unit
		}
	}
	return d, nil
}
