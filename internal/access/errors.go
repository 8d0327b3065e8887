package access

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Code is the machine-readable error code of the API contract (internal/api/openapi.yaml). The
// domain chooses it; the HTTP layer maps it to a status once.
type Code string

// The error codes of the API contract.
const (
	CodeValidationFailed     Code = "validation_failed"
	CodeInvalidCursor        Code = "invalid_cursor"
	CodeInvalidTenantID      Code = "invalid_tenant_id"
	CodeUnauthenticated      Code = "unauthenticated"
	CodeTenantMismatch       Code = "tenant_mismatch"
	CodeForbidden            Code = "forbidden"
	CodePolicyDenied         Code = "policy_denied"
	CodeNotFound             Code = "not_found"
	CodeMethodNotAllowed     Code = "method_not_allowed"
	CodeRequestNotPending    Code = "request_not_pending"
	CodeConflict             Code = "conflict"
	CodeGrantNotActive       Code = "grant_not_active"
	CodePayloadTooLarge      Code = "payload_too_large"
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeIdempotencyKeyReused Code = "idempotency_key_reused"
	CodeRateLimited          Code = "rate_limited"
	CodeInternal             Code = "internal"
)

// Error is an error that carries an API code, a client-safe message, and
// optional per-field details and policy notices. Its cause, if any, is for
// logs only and never reaches a client. Callers tell errors apart by code
// (CodeOf(err) == CodeConflict); an *Error matches no sentinel by its code.
type Error struct {
	Code    Code
	Message string
	Details map[string]any
	Notices []string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// Store sentinels: a Store returns them, wrapped with context, and the domain
// maps them to client errors (an *Error) where it reads or writes. They are
// plain errors, so each matches nothing but itself.
var (
	// ErrNotFound is returned by a Store read when the object does not exist
	// or belongs to another tenant.
	ErrNotFound = errors.New("not found")
	// ErrStale is returned by a Store when a conditional write lost: the
	// object changed since it was read, or an object to create already
	// exists. The domain re-reads and retries; it is never shown to a client
	// as such.
	ErrStale = errors.New("stale write")
	// ErrIdempotencyTaken is returned by a Store's Commit when the change's
	// idempotency record already exists (another call with the same key won).
	ErrIdempotencyTaken = errors.New("idempotency key already recorded")
	// ErrUnique is returned by a Store's Commit when a tenant's JWT issuer
	// and audience are already used by another tenant.
	ErrUnique = errors.New("JWT issuer and audience are already used by another tenant")
)

// Errorf builds an *Error with a formatted client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound is the error for a missing object of the given kind. Objects of
// other tenants are reported exactly like missing ones.
func NotFound(kind string) *Error {
	return &Error{Code: CodeNotFound, Message: kind + " not found"}
}

// notFound maps a Store's ErrNotFound to the client error for a missing
// object of the given kind, keeping the store's error as the cause (so a
// workflow step can still tell the object is gone); any other error passes
// unchanged.
func notFound(kind string, err error) error {
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	e := NotFound(kind)
	e.Cause = err
	return e
}

// Violations collects per-field validation problems and turns them into one
// validation_failed error whose details map each field path to its problem.
type Violations map[string]string

// Add records a problem for a field; the first problem per field wins.
func (v Violations) Add(field, format string, args ...any) {
	if _, ok := v[field]; !ok {
		v[field] = fmt.Sprintf(format, args...)
	}
}

// Absorb adds the per-field problems of a validation_failed error; it
// reports false (adding nothing) for any other error.
func (v Violations) Absorb(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeValidationFailed || len(e.Details) == 0 {
		return false
	}
	for f, msg := range e.Details {
		if s, ok := msg.(string); ok {
			v.Add(f, "%s", s)
		} else {
			v.Add(f, "%v", msg)
		}
	}
	return true
}

// Err returns nil when there are no violations, else a validation_failed error.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	fields := slices.Sorted(maps.Keys(v))
	details := make(map[string]any, len(v))
	for k, msg := range v {
		details[k] = msg
	}
	msg := "invalid " + strings.Join(fields, ", ")
	if len(fields) == 1 {
		msg = fields[0] + ": " + v[fields[0]]
	}
	return &Error{Code: CodeValidationFailed, Message: msg, Details: details}
}

// Invalid is a one-field validation error.
func Invalid(field, format string, args ...any) error {
	v := Violations{}
	v.Add(field, format, args...)
	return v.Err()
}

// CodeOf returns the API code an error carries: "" for nil, CodeInternal for
// an error that carries none.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ProblemKind names a problem the domain reports but does not return: work
// that follows a committed change and failed, or something the sweeper
// found. Logs carry it as "problem" and alarms match it, never a message.
type ProblemKind string

// The problems the domain reports.
const (
	// ProblemWorkflow: a workflow did not start or end after a commit (the
	// sweeper finishes it).
	ProblemWorkflow ProblemKind = "workflow_not_started"
	// ProblemPublish: events of a commit were not published.
	ProblemPublish ProblemKind = "publish_failed"
	// ProblemSchedule: an expiry schedule was not cancelled (a stale one is a
	// no-op), or not replaced after an extension (the sweeper ends the grant).
	ProblemSchedule ProblemKind = "schedule_not_cancelled"
	// ProblemCreationFailed: Identity Center failed to create an assignment.
	ProblemCreationFailed ProblemKind = "creation_failed"
	// ProblemDeletionFailed: deleting an assignment failed; the grant stays
	// revoking and is retried, and access may outlive it meanwhile.
	ProblemDeletionFailed ProblemKind = "deletion_failed"
	// ProblemSessionCutFailed: cutting the open sessions of a revoked or
	// expired grant failed (the re-provisioning failed, or the deny did not
	// fit in the inline policy); a failed re-provisioning is retried by the
	// sweeper.
	ProblemSessionCutFailed ProblemKind = "session_cut_failed"
	// ProblemAssignmentMissing: an assignment live grants hold vanished.
	ProblemAssignmentMissing ProblemKind = "assignment_missing"
	// ProblemAssignmentUntracked: an assignment of a watched permission set
	// has no ledger entry.
	ProblemAssignmentUntracked ProblemKind = "assignment_untracked"
)

// Problem is one reported problem: its kind, a sentence for people, and
// the cause.
type Problem struct {
	Kind    ProblemKind
	Message string
	Err     error
}
