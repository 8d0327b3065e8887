package identitycenter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/elevate-jit/elevate/internal/access"
)

// goneOperation starts the id of a deletion that found nothing to delete.
// Real request ids are UUIDs, so it cannot collide with one.
const goneOperation = "elevate-already-gone:"

// AssignmentExists reports whether the user has the permission set in the
// account, paging through ListAccountAssignments.
func (a *AWS) AssignmentExists(ctx context.Context, as access.Assignment) (bool, error) {
	var token *string
	for page := 0; page < maxPages; page++ {
		out, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.ListAccountAssignmentsOutput, error) {
			return a.sso.ListAccountAssignments(ctx, &ssoadmin.ListAccountAssignmentsInput{
				InstanceArn: aws.String(as.InstanceARN), AccountId: aws.String(as.AccountID),
				PermissionSetArn: aws.String(as.PermissionSetARN), NextToken: token,
			})
		})
		if hasCode(err, "ResourceNotFoundException") {
			return false, nil // no such permission set, so no such assignment
		} else if err != nil {
			return false, fmt.Errorf("list assignments of %s in %s: %w", as.PermissionSetARN, as.AccountID, err)
		}
		for _, x := range out.AccountAssignments {
			if x.PrincipalType == types.PrincipalTypeUser && aws.ToString(x.PrincipalId) == as.PrincipalID {
				return true, nil
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	return false, nil
}

// AssignmentsOf lists a user's account assignments in an instance, for the
// sweeper's search for assignments no ledger entry explains.
func (a *AWS) AssignmentsOf(ctx context.Context, instanceARN, userID string) ([]access.AssignmentKey, error) {
	var (
		out   []access.AssignmentKey
		token *string
	)
	for {
		page, err := invoke(ctx, a, retryThrottled, func(ctx context.Context) (*ssoadmin.ListAccountAssignmentsForPrincipalOutput, error) {
			return a.sso.ListAccountAssignmentsForPrincipal(ctx, &ssoadmin.ListAccountAssignmentsForPrincipalInput{
				InstanceArn: aws.String(instanceARN), PrincipalId: aws.String(userID), PrincipalType: types.PrincipalTypeUser, NextToken: token,
			})
		})
		if err != nil {
			return nil, fmt.Errorf("assignments of user %s: %w", userID, err)
		}
		for _, as := range page.AccountAssignments {
			out = append(out, access.AssignmentKey{InstanceARN: instanceARN, PrincipalID: userID,
				AccountID: aws.ToString(as.AccountId), PermissionSetARN: aws.ToString(as.PermissionSetArn)})
		}
		if token = page.NextToken; token == nil {
			return out, nil
		}
	}
}

// CreateAssignment starts the creation of a user's assignment in an account.
// It first takes one of the deployment's creation slots for the tenant ctx
// works for (access.OnBehalfOf; an error wrapping access.ErrRetryLater when
// none is free or the tenant holds its fair share) and holds it until
// CreationStatus sees the creation end.
func (a *AWS) CreateAssignment(ctx context.Context, as access.Assignment) (access.Operation, error) {
	key := slotKey(as.Key())
	ok, err := a.slots.Acquire(ctx, key, access.BehalfOf(ctx))
	if err != nil {
		return access.Operation{}, fmt.Errorf("assignment creation slot for %s: %w", as.AccountID, err)
	}
	if !ok {
		return access.Operation{}, fmt.Errorf("assignment in %s: every assignment creation slot is taken, or this tenant holds its fair share: %w", as.AccountID, access.ErrRetryLater)
	}
	out, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.CreateAccountAssignmentOutput, error) {
		return a.sso.CreateAccountAssignment(ctx, &ssoadmin.CreateAccountAssignmentInput{
			InstanceArn: aws.String(as.InstanceARN), PermissionSetArn: aws.String(as.PermissionSetARN),
			TargetId: aws.String(as.AccountID), TargetType: types.TargetTypeAwsAccount,
			PrincipalId: aws.String(as.PrincipalID), PrincipalType: types.PrincipalTypeUser,
		})
	})
	if err == nil && (out.AccountAssignmentCreationStatus == nil || aws.ToString(out.AccountAssignmentCreationStatus.RequestId) == "") {
		err = errors.New("the answer has no request id")
	}
	if err != nil {
		a.release(ctx, key)
		return access.Operation{}, fmt.Errorf("CreateAccountAssignment of %s for user %s in %s: %w", as.PermissionSetARN, as.PrincipalID, as.AccountID, err)
	}
	op := operation(out.AccountAssignmentCreationStatus)
	if op.Status == access.OperationInProgress {
		a.mu.Lock()
		a.pending[op.ID] = key
		a.mu.Unlock()
	} else {
		a.release(ctx, key)
	}
	return op, nil
}

// CreationStatus polls a creation and frees its slot once it has ended.
func (a *AWS) CreationStatus(ctx context.Context, instanceARN, operationID string) (access.Operation, error) {
	out, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.DescribeAccountAssignmentCreationStatusOutput, error) {
		return a.sso.DescribeAccountAssignmentCreationStatus(ctx, &ssoadmin.DescribeAccountAssignmentCreationStatusInput{
			InstanceArn: aws.String(instanceARN), AccountAssignmentCreationRequestId: aws.String(operationID),
		})
	})
	if err == nil && out.AccountAssignmentCreationStatus == nil {
		err = errors.New("empty answer")
	}
	if err != nil {
		return access.Operation{}, fmt.Errorf("status of assignment creation %s: %w", operationID, err)
	}
	s := out.AccountAssignmentCreationStatus
	op := operation(s)
	op.ID = operationID
	if op.Status != access.OperationInProgress {
		a.mu.Lock()
		key, ok := a.pending[operationID]
		delete(a.pending, operationID)
		a.mu.Unlock()
		if s.TargetId != nil && s.PermissionSetArn != nil && s.PrincipalId != nil {
			key = slotKey(access.AssignmentKey{InstanceARN: instanceARN, PrincipalID: *s.PrincipalId, AccountID: *s.TargetId, PermissionSetARN: *s.PermissionSetArn})
			ok = true
		}
		if ok {
			a.release(ctx, key)
		}
	}
	return op, nil
}

// DeleteAssignment starts the deletion of a user's assignment. An assignment
// that is already gone is an operation that has already succeeded.
func (a *AWS) DeleteAssignment(ctx context.Context, as access.Assignment) (access.Operation, error) {
	out, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.DeleteAccountAssignmentOutput, error) {
		return a.sso.DeleteAccountAssignment(ctx, &ssoadmin.DeleteAccountAssignmentInput{
			InstanceArn: aws.String(as.InstanceARN), PermissionSetArn: aws.String(as.PermissionSetARN),
			TargetId: aws.String(as.AccountID), TargetType: types.TargetTypeAwsAccount,
			PrincipalId: aws.String(as.PrincipalID), PrincipalType: types.PrincipalTypeUser,
		})
	})
	if hasCode(err, "ResourceNotFoundException") {
		return access.Operation{ID: goneOperation + slotKey(as.Key()), Status: access.OperationSucceeded}, nil
	}
	if err == nil && (out.AccountAssignmentDeletionStatus == nil || aws.ToString(out.AccountAssignmentDeletionStatus.RequestId) == "") {
		err = errors.New("the answer has no request id")
	}
	if err != nil {
		return access.Operation{}, fmt.Errorf("DeleteAccountAssignment of %s for user %s in %s: %w", as.PermissionSetARN, as.PrincipalID, as.AccountID, err)
	}
	return operation(out.AccountAssignmentDeletionStatus), nil
}

// DeletionStatus polls a deletion. A failed deletion of an assignment that
// no longer exists counts as a success: the access is gone either way.
func (a *AWS) DeletionStatus(ctx context.Context, instanceARN, operationID string) (access.Operation, error) {
	if strings.HasPrefix(operationID, goneOperation) {
		return access.Operation{ID: operationID, Status: access.OperationSucceeded}, nil
	}
	out, err := invoke(ctx, a, retryThrottledOrConflict, func(ctx context.Context) (*ssoadmin.DescribeAccountAssignmentDeletionStatusOutput, error) {
		return a.sso.DescribeAccountAssignmentDeletionStatus(ctx, &ssoadmin.DescribeAccountAssignmentDeletionStatusInput{
			InstanceArn: aws.String(instanceARN), AccountAssignmentDeletionRequestId: aws.String(operationID),
		})
	})
	if err == nil && out.AccountAssignmentDeletionStatus == nil {
		err = errors.New("empty answer")
	}
	if err != nil {
		return access.Operation{}, fmt.Errorf("status of assignment deletion %s: %w", operationID, err)
	}
	s := out.AccountAssignmentDeletionStatus
	op := operation(s)
	op.ID = operationID
	if op.Status == access.OperationFailed && s.TargetId != nil && s.PermissionSetArn != nil && s.PrincipalId != nil && s.PrincipalType == types.PrincipalTypeUser {
		exists, err := a.AssignmentExists(ctx, access.Assignment{InstanceARN: instanceARN, PrincipalID: *s.PrincipalId, AccountID: *s.TargetId, PermissionSetARN: *s.PermissionSetArn})
		if err != nil {
			return access.Operation{}, fmt.Errorf("status of assignment deletion %s: %w", operationID, err)
		}
		if !exists {
			op.Status, op.Reason = access.OperationSucceeded, ""
		}
	}
	return op, nil
}

// operation turns an SSO Admin status into the domain's.
func operation(s *types.AccountAssignmentOperationStatus) access.Operation {
	op := access.Operation{ID: aws.ToString(s.RequestId), Status: access.OperationInProgress, Reason: aws.ToString(s.FailureReason)}
	switch s.Status {
	case types.StatusValuesSucceeded:
		op.Status = access.OperationSucceeded
	case types.StatusValuesFailed:
		op.Status = access.OperationFailed
		if op.Reason == "" {
			op.Reason = "Identity Center gave no reason"
		}
	}
	return op
}

// slotKey is a stable name for an assignment, used as its creation slot.
func slotKey(k access.AssignmentKey) string {
	h := sha256.Sum256([]byte(strings.Join([]string{k.InstanceARN, k.PrincipalID, k.AccountID, k.PermissionSetARN}, "\x00")))
	return "assignment-" + hex.EncodeToString(h[:16])
}

// release frees a creation slot. It runs after the call that decided it, so
// it outlives that call's cancellation and only logs a failure: the slot
// store expires holds on its own.
func (a *AWS) release(ctx context.Context, key string) {
	if err := a.slots.Release(context.WithoutCancel(ctx), key); err != nil {
		a.log.WarnContext(ctx, "identity center: could not release an assignment creation slot", "slot", key, "error", err)
	}
}
