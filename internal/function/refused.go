package function

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/cursor"
)

// refused stands in for every port a function may not use.
type refused struct{ what string }

func (r refused) err() error { return fmt.Errorf("this function is not allowed to %s", r.what) }

func (r refused) StartApproval(context.Context, access.Request) error     { return r.err() }
func (r refused) EndApproval(context.Context, access.Request) error       { return r.err() }
func (r refused) StartProvisioning(context.Context, access.Grant) error   { return r.err() }
func (r refused) StartDeprovisioning(context.Context, access.Grant) error { return r.err() }
func (r refused) ScheduleExpiry(context.Context, access.Grant) error      { return r.err() }
func (r refused) CancelExpiry(context.Context, access.Grant) error        { return r.err() }
func (r refused) ScheduleStart(context.Context, access.Grant) error       { return r.err() }
func (r refused) CancelStart(context.Context, access.Grant) error         { return r.err() }
func (r refused) ScheduleNudge(context.Context, access.Request, access.Nudge) error {
	return r.err()
}
func (r refused) CancelNudges(context.Context, access.Request) error   { return r.err() }
func (r refused) Resume(context.Context, string, access.Request) error { return r.err() }
func (r refused) ResolveUser(context.Context, access.Tenant, string) (string, error) {
	return "", r.err()
}
func (r refused) Ancestors(context.Context, access.Tenant, access.Resource) ([]string, error) {
	return nil, r.err()
}
func (r refused) AccountsUnder(context.Context, access.Tenant, string, int) ([]string, bool, error) {
	return nil, false, r.err()
}
func (r refused) EnsurePermissionSet(context.Context, access.Tenant, access.ManagedPermissionSet) (string, error) {
	return "", r.err()
}
func (r refused) AssignmentExists(context.Context, access.Assignment) (bool, error) {
	return false, r.err()
}
func (r refused) CreateAssignment(context.Context, access.Assignment) (access.Operation, error) {
	return access.Operation{}, r.err()
}
func (r refused) CreationStatus(context.Context, string, string) (access.Operation, error) {
	return access.Operation{}, r.err()
}
func (r refused) DeleteAssignment(context.Context, access.Assignment) (access.Operation, error) {
	return access.Operation{}, r.err()
}
func (r refused) DeletionStatus(context.Context, string, string) (access.Operation, error) {
	return access.Operation{}, r.err()
}
func (r refused) Seal(context.Context, cursor.Binding, []byte, time.Time) (string, error) {
	return "", r.err()
}
func (r refused) Open(context.Context, cursor.Binding, string, time.Time) ([]byte, error) {
	return nil, &access.Error{Code: access.CodeInvalidCursor, Message: "this function does not read cursors", Cause: r.err()}
}
func (r refused) Authenticate(context.Context, string, string, string) (access.Principal, error) {
	return access.Principal{}, &access.Error{Code: access.CodeNotFound, Message: "not found", Cause: errors.New(r.err().Error())}
}
