package access_test

import (
	"fmt"
	"testing"

	"github.com/elevate-jit/elevate/internal/access"
)

func TestRequestTransitions(t *testing.T) {
	// The lifecycle (docs/design.md, "Lifecycle"): "" is "not yet stored".
	allowed := map[[2]access.RequestStatus]bool{
		{"", access.RequestPending}:                       true, // needs approval
		{"", access.RequestApproved}:                      true, // auto or break-glass
		{"", access.RequestDenied}:                        true, // denied by policy, and recorded
		{access.RequestPending, access.RequestApproved}:   true,
		{access.RequestPending, access.RequestDenied}:     true,
		{access.RequestPending, access.RequestCancelled}:  true,
		{access.RequestPending, access.RequestExpired}:    true,
		{access.RequestPending, access.RequestFailed}:     true,
		{access.RequestApproved, access.RequestFailed}:    true, // its grant could not be provisioned
		{access.RequestApproved, access.RequestCancelled}: true, // its grant has not started yet (starts_at)
	}
	from := append([]access.RequestStatus{""}, access.RequestStatuses...)
	to := append([]access.RequestStatus{""}, access.RequestStatuses...)
	for _, a := range from {
		for _, b := range to {
			want := allowed[[2]access.RequestStatus{a, b}]
			t.Run(fmt.Sprintf("%q to %q", a, b), func(t *testing.T) {
				if got := a.CanBecome(b); got != want {
					t.Errorf("%q.CanBecome(%q) = %v, want %v", a, b, got, want)
				}
			})
		}
	}
	// Named samples, so a failure reads like the rule it breaks.
	for _, tt := range []struct{ from, to access.RequestStatus }{
		{access.RequestApproved, access.RequestPending},
		{access.RequestApproved, access.RequestDenied},
		{access.RequestApproved, access.RequestExpired},
		{access.RequestDenied, access.RequestApproved},
		{access.RequestCancelled, access.RequestPending},
		{access.RequestExpired, access.RequestApproved},
		{access.RequestFailed, access.RequestApproved},
		{"", access.RequestCancelled},
		{"", access.RequestFailed},
	} {
		if tt.from.CanBecome(tt.to) {
			t.Errorf("request %q may become %q", tt.from, tt.to)
		}
	}
	for _, s := range access.RequestStatuses {
		if !s.Valid() {
			t.Errorf("%q is not valid", s)
		}
	}
	if access.RequestStatus("approving").Valid() || access.RequestStatus("").Valid() {
		t.Error("an unknown request status is valid")
	}
}

func TestGrantTransitions(t *testing.T) {
	allowed := map[[2]access.GrantStatus]bool{
		{"", access.GrantProvisioning}:                    true,
		{"", access.GrantScheduled}:                       true, // approved before its starts_at
		{access.GrantScheduled, access.GrantProvisioning}: true, // its start came
		{access.GrantScheduled, access.GrantRevoked}:      true, // revoked before its start: nothing to remove
		{access.GrantProvisioning, access.GrantActive}:    true,
		{access.GrantProvisioning, access.GrantRevoking}:  true, // revoked or expired inline while provisioning
		{access.GrantProvisioning, access.GrantFailed}:    true,
		{access.GrantActive, access.GrantRevoking}:        true,
		{access.GrantRevoking, access.GrantExpired}:       true,
		{access.GrantRevoking, access.GrantRevoked}:       true,
	}
	states := append([]access.GrantStatus{""}, access.GrantStatuses...)
	for _, a := range states {
		for _, b := range states {
			want := allowed[[2]access.GrantStatus{a, b}]
			t.Run(fmt.Sprintf("%q to %q", a, b), func(t *testing.T) {
				if got := a.CanBecome(b); got != want {
					t.Errorf("%q.CanBecome(%q) = %v, want %v", a, b, got, want)
				}
			})
		}
	}
	for _, tt := range []struct{ from, to access.GrantStatus }{
		{access.GrantActive, access.GrantRevoked},        // must pass through revoking
		{access.GrantActive, access.GrantExpired},        // must pass through revoking
		{access.GrantActive, access.GrantFailed},         // an active grant's access exists
		{access.GrantProvisioning, access.GrantExpired},  // assignments first
		{access.GrantRevoked, access.GrantActive},        // final
		{access.GrantExpired, access.GrantActive},        // final
		{access.GrantFailed, access.GrantProvisioning},   // final
		{access.GrantRevoking, access.GrantActive},       // no way back
		{access.GrantRevoking, access.GrantProvisioning}, // no way back
		{"", access.GrantActive},                         // grants start provisioning
	} {
		if tt.from.CanBecome(tt.to) {
			t.Errorf("grant %q may become %q", tt.from, tt.to)
		}
	}
	ended := map[access.GrantStatus]bool{access.GrantExpired: true, access.GrantRevoked: true, access.GrantFailed: true}
	for _, s := range access.GrantStatuses {
		if s.Ended() != ended[s] {
			t.Errorf("%q.Ended() = %v", s, s.Ended())
		}
		if ended[s] {
			for _, next := range access.GrantStatuses {
				if s.CanBecome(next) {
					t.Errorf("final status %q may become %q", s, next)
				}
			}
		}
	}
}

func TestRoles(t *testing.T) {
	tests := []struct {
		r, min access.Role
		want   bool
	}{
		{access.RoleAdmin, access.RoleAdmin, true},
		{access.RoleAdmin, access.RoleApprover, true},
		{access.RoleAdmin, access.RoleRequester, true},
		{access.RoleApprover, access.RoleAdmin, false},
		{access.RoleApprover, access.RoleApprover, true},
		{access.RoleApprover, access.RoleRequester, true},
		{access.RoleRequester, access.RoleApprover, false},
		{access.RoleRequester, access.RoleRequester, true},
		{"", access.RoleRequester, false},
		{"root", access.RoleRequester, false},
	}
	for _, tt := range tests {
		if got := tt.r.AtLeast(tt.min); got != tt.want {
			t.Errorf("%q.AtLeast(%q) = %v, want %v", tt.r, tt.min, got, tt.want)
		}
	}
}
