// Package access is Elevate's domain: requests, grants, tenants and API keys,
// their statuses and allowed transitions, the use cases that move them, and
// the ports (store, workflow, scheduler, Identity Center) those use cases need.
//
// It speaks neither HTTP nor AWS. Adapters live in other packages and depend
// on this one; only the mains wire them together.
//
// Three audiences each have their own type (service.go): Service for API
// callers, Steps for the workflow, Operator for whoever holds the
// deployment's AWS credentials (tenants and their Boundary, bootstrap keys,
// the sweep). The assignment ledger, deployment-wide and shared by the
// tenants of an instance, has its own file with its transition table and
// named operations (ledger.go); people are compared by the Identity Store
// users they resolve to (identity.go, principal.go).
//
// What the domain knows about each resource type is one table, kinds
// (kinds.go). Errors a client may see are *Error values with a Code
// (errors.go), told apart with CodeOf; a Store reports with the plain
// sentinels ErrNotFound, ErrStale, ErrIdempotencyTaken and ErrUnique, which
// the use cases map to client errors.
package access
