package identitycenter

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/elevate-jit/elevate/internal/access"
)

// managedPrefix starts the name of every managed permission set (access.ManagedName).
const managedPrefix = "elv-"

// namesTTL is how long a permission set's name is remembered by ARN. Names
// never change, so this only bounds memory held for deleted sets.
const namesTTL = 24 * time.Hour

// freshSet is how long after a permission set's creation an
// AccessDeniedException on it is taken for IAM not seeing its
// elevate:managed tag yet, and retried: briefly in the call, then by the
// workflow (access.ErrRetryLater).
const freshSet = 2 * time.Minute

// DeleteGrace is how old a managed permission set must be before
// DeleteManagedPermissionSetIfUnused removes it: a set created moments ago
// may be about to receive its first assignment.
const DeleteGrace = 15 * time.Minute

// permissionSetEntry is a managed set known to exist, be tagged, and carry
// the spec with this digest.
type permissionSetEntry struct {
	arn    string
	digest [32]byte
}

// EnsurePermissionSet returns the ARN of the Elevate-managed permission set
// spec.Name in the tenant's instance. It looks the name up first, creates the
// set (tagged elevate:managed=true, with the spec's description and session
// duration) when there is none, and puts the spec's inline policy. A set of
// that name without the managed tag is never changed: that is an
// *access.Error, which fails the grant. Creating an account assignment
// provisions the set to the account, so no ProvisionPermissionSet is needed
// for a new set; an existing set whose policy changed is re-provisioned.
func (a *AWS) EnsurePermissionSet(ctx context.Context, t access.Tenant, spec access.ManagedPermissionSet) (string, error) {
	inst := t.Boundary.InstanceARN
	if inst == "" {
		return "", fmt.Errorf("managed permission set %s: tenant %s has no Identity Center instance", spec.Name, t.ID)
	}
	if !strings.HasPrefix(spec.Name, managedPrefix) || len(spec.Name) > access.MaxPermissionSetName {
		return "", fmt.Errorf("managed permission set %q: the name must start with %q and fit in %d characters", spec.Name, managedPrefix, access.MaxPermissionSetName)
	}
	key := inst + "\x00" + spec.Name
	digest := specDigest(spec)
	e, cached := a.sets.Get(key)
	if cached && e.digest == digest {
		return e.arn, nil
	}
	// One slow path at a time in this process, so that concurrent grants on
	// the same resource do not both create the set.
	select {
	case a.ensuring <- struct{}{}:
		defer func() { <-a.ensuring }()
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if e2, ok := a.sets.Get(key); ok {
		if e2.digest == digest {
			return e2.arn, nil
		}
		e, cached = e2, true
	}
	arn, created, err := e.arn, false, error(nil)
	if !cached {
		arn, created, err = a.findOrCreate(ctx, inst, spec)
		if err != nil {
			return "", fmt.Errorf("managed permission set %s: %w", spec.Name, err)
		}
	}
	if created {
		err = a.putPolicy(ctx, inst, arn, spec.InlinePolicy, retryFreshSet)
	} else {
		err = a.syncPermissionSet(ctx, inst, arn, spec)
	}
	if err != nil {
		a.sets.Drop(key)
		return "", fmt.Errorf("managed permission set %s (%s): %w", spec.Name, arn, err)
	}
	a.sets.Put(key, permissionSetEntry{arn: arn, digest: digest}, a.ttl)
	return arn, nil
}

// findOrCreate finds the set by name or creates it; created tells which.
func (a *AWS) findOrCreate(ctx context.Context, inst string, spec access.ManagedPermissionSet) (arn string, created bool, err error) {
	arn, err = a.findPermissionSet(ctx, inst, spec.Name)
	if err != nil || arn != "" {
		return arn, false, err
	}
	in := &ssoadmin.CreatePermissionSetInput{
		InstanceArn:     aws.String(inst),
		Name:            aws.String(spec.Name),
		SessionDuration: aws.String(isoDuration(spec.SessionDuration)),
		Tags:            []types.Tag{{Key: aws.String(access.ManagedTagKey), Value: aws.String(access.ManagedTagValue)}},
	}
	if spec.Description != "" {
		in.Description = aws.String(spec.Description)
	}
	// A conflict here may mean another process created the set meanwhile, so
	// it is answered by looking again rather than by retrying the create.
	out, err := invoke(ctx, a, retryThrottled, func(ctx context.Context) (*ssoadmin.CreatePermissionSetOutput, error) {
		return a.sso.CreatePermissionSet(ctx, in)
	})
	if hasCode(err, "ConflictException") {
		arn, ferr := a.findPermissionSet(ctx, inst, spec.Name)
		if ferr != nil || arn != "" {
			return arn, false, ferr
		}
		return "", false, fmt.Errorf("create: %w: %w", access.ErrRetryLater, err)
	} else if err != nil {
		return "", false, fmt.Errorf("create: %w", err)
	}
	if out.PermissionSet == nil || aws.ToString(out.PermissionSet.PermissionSetArn) == "" {
		return "", false, errors.New("create: the answer names no permission set")
	}
	arn = aws.ToString(out.PermissionSet.PermissionSetArn)
	a.names.Put(inst+"\x00"+arn, spec.Name, namesTTL)
	return arn, true, nil
}

// findPermissionSet returns the ARN of the instance's set named name, or "".
// Identity Center lists only ARNs, so each unknown one is described once;
// names never change and are remembered.
func (a *AWS) findPermissionSet(ctx context.Context, inst, name string) (string, error) {
	var found string
	err := a.eachPermissionSet(ctx, inst, func(arn, n string) bool {
		if n == name {
			found = arn
			return false
		}
		return true
	})
	return found, err
}

// eachPermissionSet calls f with every set of the instance and its name
// until f returns false.
func (a *AWS) eachPermissionSet(ctx context.Context, inst string, f func(arn, name string) bool) error {
	return a.eachPermissionSetExcept(ctx, inst, nil, f)
}

// eachPermissionSetExcept is eachPermissionSet for the sets skip (when not
// nil) does not report, whose names it does not look up.
func (a *AWS) eachPermissionSetExcept(ctx context.Context, inst string, skip func(arn string) bool, f func(arn, name string) bool) error {
	var token *string
	for page := 0; page < maxPages; page++ {
		out, err := invoke(ctx, a, retryThrottled, func(ctx context.Context) (*ssoadmin.ListPermissionSetsOutput, error) {
			return a.sso.ListPermissionSets(ctx, &ssoadmin.ListPermissionSetsInput{InstanceArn: aws.String(inst), NextToken: token})
		})
		if err != nil {
			return fmt.Errorf("list permission sets: %w", err)
		}
		for _, arn := range out.PermissionSets {
			if skip != nil && skip(arn) {
				continue
			}
			name, ok, err := a.permissionSetName(ctx, inst, arn)
			if err != nil {
				return err
			}
			if ok && !f(arn, name) {
				return nil
			}
		}
		if token = out.NextToken; token == nil {
			return nil
		}
	}
	return nil
}

// permissionSetName returns a set's name; ok is false for a set that is gone.
func (a *AWS) permissionSetName(ctx context.Context, inst, arn string) (name string, ok bool, err error) {
	key := inst + "\x00" + arn
	if name, ok := a.names.Get(key); ok {
		return name, true, nil
	}
	ps, err := a.describePermissionSet(ctx, inst, arn)
	if hasCode(err, "ResourceNotFoundException") {
		return "", false, nil
	} else if err != nil {
		return "", false, err
	}
	name = aws.ToString(ps.Name)
	a.names.Put(key, name, namesTTL)
	return name, true, nil
}

func (a *AWS) describePermissionSet(ctx context.Context, inst, arn string) (*types.PermissionSet, error) {
	out, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.DescribePermissionSetOutput, error) {
		return a.sso.DescribePermissionSet(ctx, &ssoadmin.DescribePermissionSetInput{InstanceArn: aws.String(inst), PermissionSetArn: aws.String(arn)})
	})
	if err != nil {
		return nil, fmt.Errorf("describe permission set %s: %w", arn, err)
	}
	if out.PermissionSet == nil {
		return nil, fmt.Errorf("describe permission set %s: empty answer", arn)
	}
	return out.PermissionSet, nil
}

// syncPermissionSet brings an existing set in line with the spec, after
// checking that Elevate manages it: description and session duration, then
// the inline policy. A changed policy reaches the accounts the set is already
// provisioned to only through ProvisionPermissionSet.
func (a *AWS) syncPermissionSet(ctx context.Context, inst, arn string, spec access.ManagedPermissionSet) error {
	if err := a.requireManaged(ctx, inst, arn, spec.Name); err != nil {
		return err
	}
	ps, err := a.describePermissionSet(ctx, inst, arn)
	if err != nil {
		return err
	}
	// A set another process created moments ago: its tag may not be
	// visible to IAM yet.
	on := retryThrottledOrConflict
	if ps.CreatedDate != nil && a.now().Sub(*ps.CreatedDate) < freshSet {
		on = retryFreshSet
	}
	duration := isoDuration(spec.SessionDuration)
	if aws.ToString(ps.Description) != spec.Description || aws.ToString(ps.SessionDuration) != duration {
		in := &ssoadmin.UpdatePermissionSetInput{InstanceArn: aws.String(inst), PermissionSetArn: aws.String(arn), SessionDuration: aws.String(duration)}
		if spec.Description != "" {
			in.Description = aws.String(spec.Description)
		}
		if _, err := invoke(ctx, a, on, func(ctx context.Context) (*ssoadmin.UpdatePermissionSetOutput, error) {
			return a.sso.UpdatePermissionSet(ctx, in)
		}); err != nil {
			return fmt.Errorf("update: %w", err)
		}
	}
	// The session cuts write this policy too (EditInlinePolicy): read,
	// compare and put it, and re-provision, under the set's policy lock.
	unlock, err := a.lockPolicy(ctx, arn)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := invoke(ctx, a, on, func(ctx context.Context) (*ssoadmin.GetInlinePolicyForPermissionSetOutput, error) {
		return a.sso.GetInlinePolicyForPermissionSet(ctx, &ssoadmin.GetInlinePolicyForPermissionSetInput{InstanceArn: aws.String(inst), PermissionSetArn: aws.String(arn)})
	})
	if err != nil {
		return fmt.Errorf("get inline policy: %w", err)
	}
	// Elevate's session cuts (docs/revocation.md) are not part of the spec:
	// compare without them, and keep them in what is put.
	current := aws.ToString(cur.InlinePolicy)
	without, err := access.WithoutCuts(current)
	if err != nil {
		without = current
	}
	if samePolicy(without, spec.InlinePolicy) {
		return nil
	}
	policy, err := access.KeepCuts(current, spec.InlinePolicy)
	if err != nil {
		policy = spec.InlinePolicy // not JSON: nothing of it to keep
	}
	if err := a.putPolicy(ctx, inst, arn, policy, on); err != nil {
		return err
	}
	accounts, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.ListAccountsForProvisionedPermissionSetOutput, error) {
		return a.sso.ListAccountsForProvisionedPermissionSet(ctx, &ssoadmin.ListAccountsForProvisionedPermissionSetInput{
			InstanceArn: aws.String(inst), PermissionSetArn: aws.String(arn), MaxResults: aws.Int32(1),
		})
	})
	if err != nil {
		return fmt.Errorf("list accounts provisioned with it: %w", err)
	}
	if len(accounts.AccountIds) == 0 {
		return nil
	}
	if _, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.ProvisionPermissionSetOutput, error) {
		return a.sso.ProvisionPermissionSet(ctx, &ssoadmin.ProvisionPermissionSetInput{
			InstanceArn: aws.String(inst), PermissionSetArn: aws.String(arn), TargetType: types.ProvisionTargetTypeAllProvisionedAccounts,
		})
	}); err != nil {
		return fmt.Errorf("re-provision after a policy change: %w", err)
	}
	return nil
}

// putPolicy puts a set's inline policy, retrying as on says.
func (a *AWS) putPolicy(ctx context.Context, inst, arn, policy string, on retryOn) error {
	if policy == "" {
		return errors.New("the spec has no inline policy")
	}
	_, err := invoke(ctx, a, on, func(ctx context.Context) (*ssoadmin.PutInlinePolicyToPermissionSetOutput, error) {
		return a.sso.PutInlinePolicyToPermissionSet(ctx, &ssoadmin.PutInlinePolicyToPermissionSetInput{
			InstanceArn: aws.String(inst), PermissionSetArn: aws.String(arn), InlinePolicy: aws.String(policy),
		})
	})
	if err != nil {
		return fmt.Errorf("put inline policy: %w", err)
	}
	return nil
}

// requireManaged fails unless the set carries elevate:managed=true. The
// failure is an *access.Error so that provisioning fails the grant with it.
func (a *AWS) requireManaged(ctx context.Context, inst, arn, name string) error {
	managed, err := a.managed(ctx, inst, arn)
	if err != nil {
		return err
	}
	if !managed {
		return access.Errorf(access.CodeConflict, "permission set %s exists in Identity Center without the %s=%s tag; Elevate does not change permission sets it does not manage",
			name, access.ManagedTagKey, access.ManagedTagValue)
	}
	return nil
}

// managed reports whether the set carries elevate:managed=true.
func (a *AWS) managed(ctx context.Context, inst, arn string) (bool, error) {
	var token *string
	for page := 0; page < maxPages; page++ {
		out, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.ListTagsForResourceOutput, error) {
			return a.sso.ListTagsForResource(ctx, &ssoadmin.ListTagsForResourceInput{InstanceArn: aws.String(inst), ResourceArn: aws.String(arn), NextToken: token})
		})
		if err != nil {
			return false, fmt.Errorf("list tags: %w", err)
		}
		for _, tag := range out.Tags {
			if aws.ToString(tag.Key) == access.ManagedTagKey {
				return aws.ToString(tag.Value) == access.ManagedTagValue, nil
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	return false, nil
}

// ManagedPermissionSets returns the ARNs of the Elevate-managed permission
// sets of an instance (named elv-… and tagged elevate:managed=true), for
// the sweeper's collection, once per deployment. A set inUse reports is left
// out before anything is asked about it, so the sets the ledger names cost
// nothing beyond their share of ListPermissionSets pages; the others cost a
// DescribePermissionSet once per process (names are remembered) and an elv-
// one a ListTagsForResource.
func (a *AWS) ManagedPermissionSets(ctx context.Context, inst string, inUse func(arn string) bool) ([]string, error) {
	if inst == "" {
		return nil, errors.New("managed permission sets: no Identity Center instance")
	}
	var candidates []string
	if err := a.eachPermissionSetExcept(ctx, inst, inUse, func(arn, name string) bool {
		if strings.HasPrefix(name, managedPrefix) {
			candidates = append(candidates, arn)
		}
		return true
	}); err != nil {
		return nil, fmt.Errorf("managed permission sets in %s: %w", inst, err)
	}
	var out []string
	for _, arn := range candidates {
		ok, err := a.managed(ctx, inst, arn)
		if hasCode(err, "ResourceNotFoundException") {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("managed permission sets in %s: %s: %w", inst, arn, err)
		}
		if ok {
			out = append(out, arn)
		}
	}
	return out, nil
}

// DeleteManagedPermissionSetIfUnused deletes a managed permission set that no
// account it is provisioned to has an assignment of. deleted reports that
// the set is gone (also when it already was); a set without the managed tag
// is refused with an error, and one younger than DeleteGrace is kept. The
// caller must also know that no grant is about to use it (the ledger).
func (a *AWS) DeleteManagedPermissionSetIfUnused(ctx context.Context, inst, arn string) (deleted bool, err error) {
	if inst == "" {
		return false, fmt.Errorf("delete permission set %s: no Identity Center instance", arn)
	}
	ps, err := a.describePermissionSet(ctx, inst, arn)
	if hasCode(err, "ResourceNotFoundException") {
		a.forget(inst, arn, "")
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("delete permission set %s: %w", arn, err)
	}
	name := aws.ToString(ps.Name)
	if err := a.requireManaged(ctx, inst, arn, name); err != nil {
		return false, fmt.Errorf("delete permission set %s: %w", arn, err)
	}
	if ps.CreatedDate != nil && a.now().Sub(*ps.CreatedDate) < DeleteGrace {
		return false, nil
	}
	used, err := a.permissionSetUsed(ctx, inst, arn)
	if err != nil || used {
		return false, err
	}
	_, err = invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.DeletePermissionSetOutput, error) {
		return a.sso.DeletePermissionSet(ctx, &ssoadmin.DeletePermissionSetInput{InstanceArn: aws.String(inst), PermissionSetArn: aws.String(arn)})
	})
	if err != nil && !hasCode(err, "ResourceNotFoundException") {
		return false, fmt.Errorf("delete permission set %s: %w", arn, err)
	}
	a.forget(inst, arn, name)
	return true, nil
}

// permissionSetUsed reports whether any account the set is provisioned to
// has an assignment of it.
func (a *AWS) permissionSetUsed(ctx context.Context, inst, arn string) (bool, error) {
	var token *string
	for page := 0; page < maxPages; page++ {
		out, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.ListAccountsForProvisionedPermissionSetOutput, error) {
			return a.sso.ListAccountsForProvisionedPermissionSet(ctx, &ssoadmin.ListAccountsForProvisionedPermissionSetInput{
				InstanceArn: aws.String(inst), PermissionSetArn: aws.String(arn), NextToken: token,
			})
		})
		if err != nil {
			return false, fmt.Errorf("accounts provisioned with %s: %w", arn, err)
		}
		for _, account := range out.AccountIds {
			res, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.ListAccountAssignmentsOutput, error) {
				return a.sso.ListAccountAssignments(ctx, &ssoadmin.ListAccountAssignmentsInput{
					InstanceArn: aws.String(inst), AccountId: aws.String(account), PermissionSetArn: aws.String(arn), MaxResults: aws.Int32(1),
				})
			})
			if err != nil {
				return false, fmt.Errorf("assignments of %s in %s: %w", arn, account, err)
			}
			if len(res.AccountAssignments) > 0 {
				return true, nil
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	return false, nil
}

// forget drops what this process remembers about a deleted set.
func (a *AWS) forget(inst, arn, name string) {
	a.names.Drop(inst + "\x00" + arn)
	if name != "" {
		a.sets.Drop(inst + "\x00" + name)
	}
}

// specDigest identifies what EnsurePermissionSet last made a set carry.
func specDigest(spec access.ManagedPermissionSet) [32]byte {
	return sha256.Sum256([]byte(strings.Join([]string{spec.Name, spec.Description, isoDuration(spec.SessionDuration), spec.InlinePolicy}, "\x00")))
}

// isoDuration writes a session duration the way Identity Center takes it
// (ISO 8601: PT1H, PT1H30M); zero means access.ManagedSessionLength.
func isoDuration(d time.Duration) string {
	if d <= 0 {
		d = access.ManagedSessionLength
	}
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	s := "PT"
	if h > 0 {
		s += fmt.Sprintf("%dH", h)
	}
	if m > 0 || h == 0 {
		s += fmt.Sprintf("%dM", m)
	}
	return s
}

// samePolicy compares two policy documents as JSON values, since Identity
// Center may hand a policy back formatted differently.
func samePolicy(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
