package access_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/elevate-jit/elevate/internal/access"
)

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want access.Code
	}{
		{"nil", nil, ""},
		{"plain", errors.New("plain"), access.CodeInternal},
		{"store sentinel", fmt.Errorf("grant g-1: %w", access.ErrNotFound), access.CodeInternal},
		{"client error", access.NotFound("grant"), access.CodeNotFound},
		{"wrapped client error", fmt.Errorf("wrapped: %w", access.Errorf(access.CodeConflict, "x")), access.CodeConflict},
	}
	for _, tt := range tests {
		if got := access.CodeOf(tt.err); got != tt.want {
			t.Errorf("%s: CodeOf(%v) = %q, want %q", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestStoreSentinelsArePlain(t *testing.T) {
	// A client error matches no store sentinel by its code: a conflict is not
	// ErrUnique, a not_found is not ErrNotFound.
	clientErrors := []error{
		access.NotFound("grant"),
		access.Errorf(access.CodeConflict, "tenant x already exists"),
		access.Invalid("jwt.audience", "is taken"),
	}
	sentinels := []error{access.ErrNotFound, access.ErrStale, access.ErrIdempotencyTaken, access.ErrUnique}
	for _, c := range clientErrors {
		for _, s := range sentinels {
			if errors.Is(c, s) {
				t.Errorf("errors.Is(%v, %v) = true", c, s)
			}
		}
	}
	for i, a := range sentinels {
		for j, b := range sentinels {
			if (i == j) != errors.Is(fmt.Errorf("ctx: %w", a), b) {
				t.Errorf("errors.Is(wrapped %v, %v) = %v", a, b, i != j)
			}
		}
	}
}

// TestWorkflowStepsOnMissingObjects pins what the workflow relies on: a step
// on a tenant, grant or request the store does not have fails with not_found
// and still wraps the store's ErrNotFound, so the workflow ends instead of
// retrying.
func TestWorkflowStepsOnMissingObjects(t *testing.T) {
	f := withTenant(t)
	const otherTenant = "0d6b7e1c-3a2f-4e59-8c71-9f0a1b2c3d4e"
	steps := map[string]func() error{
		"provision a missing grant": func() error { _, err := f.steps.ProvisionGrant(f.ctx, tenantA, "missing"); return err },
		"deprovision a missing grant": func() error {
			_, err := f.steps.DeprovisionGrant(f.ctx, tenantA, "missing")
			return err
		},
		"expire a missing grant":        func() error { _, err := f.steps.ExpireGrant(f.ctx, tenantA, "missing", 1); return err },
		"expire a missing request":      func() error { _, err := f.steps.ExpireRequest(f.ctx, tenantA, "missing"); return err },
		"provision in a missing tenant": func() error { _, err := f.steps.ProvisionGrant(f.ctx, otherTenant, "missing"); return err },
		"expire a request of no tenant": func() error { _, err := f.steps.ExpireRequest(f.ctx, otherTenant, "missing"); return err },
	}
	for name, step := range steps {
		err := step()
		if access.CodeOf(err) != access.CodeNotFound || !errors.Is(err, access.ErrNotFound) {
			t.Errorf("%s: error %v (code %q); want not_found wrapping ErrNotFound", name, err, access.CodeOf(err))
		}
	}
}
