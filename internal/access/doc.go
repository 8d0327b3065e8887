// Package access is Elevate's domain: requests, grants, tenants and API keys,
// their statuses and allowed transitions, the use cases that move them, and
// the ports (store, workflow, scheduler, Identity Center) those use cases need.
//
// It speaks neither HTTP nor AWS. Adapters live in other packages and depend
// on this one; only the mains wire them together.
package access
