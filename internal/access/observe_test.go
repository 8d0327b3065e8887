package access_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// observed records what the Observe hook is told.
type observed struct {
	mu     sync.Mutex
	grants []access.Grant
}

func (o *observed) hook(c *access.Config) {
	c.Observe = func(_ context.Context, g access.Grant) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.grants = append(o.grants, g)
	}
}

func (o *observed) statuses() []access.GrantStatus {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []access.GrantStatus
	for _, g := range o.grants {
		out = append(out, g.Status)
	}
	return out
}

func (o *observed) last() access.Grant {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.grants[len(o.grants)-1]
}

// TestObserve checks that the hook hears of each committed move to active,
// expired, revoked and failed, once, with the times the on-call figures are
// made of.
func TestObserve(t *testing.T) {
	t.Run("active, then revoked", func(t *testing.T) {
		var o observed
		f := withTenant(t, o.hook)
		g := f.activeGrant(alice, readOnly(acct1))
		if got := o.statuses(); len(got) != 1 || got[0] != access.GrantActive {
			t.Fatalf("observed %v, want [active]", got)
		}
		if a := o.last(); a.GrantedAt.IsZero() || a.GrantedAt.Before(a.CreatedAt) {
			t.Errorf("active grant granted at %v, created at %v", a.GrantedAt, a.CreatedAt)
		}
		f.clock.Advance(2 * time.Minute)
		revokeAt := f.clock.Now()
		must(f.svc.RevokeGrant(f.ctx, alice, g.ID, "done", nil))(t)
		if got := o.statuses(); len(got) != 1 {
			t.Fatalf("observed %v after the revoke call, want nothing new before the assignment is gone", got)
		}
		f.clock.Advance(30 * time.Second)
		f.deprovision(tenantA, g.ID)
		if got := o.statuses(); len(got) != 2 || got[1] != access.GrantRevoked {
			t.Fatalf("observed %v, want [active revoked]", got)
		}
		r := o.last()
		if !r.EndingAt.Equal(revokeAt) || r.RevokedAt.Sub(r.EndingAt) != 30*time.Second {
			t.Errorf("revoked grant: ending at %v, revoked at %v; want ending at %v and 30s later", r.EndingAt, r.RevokedAt, revokeAt)
		}
		if stored := f.grant(tenantA, g.ID); !stored.EndingAt.Equal(revokeAt) {
			t.Errorf("stored EndingAt = %v, want %v", stored.EndingAt, revokeAt)
		}
	})

	t.Run("expired", func(t *testing.T) {
		var o observed
		f := withTenant(t, o.hook)
		g := f.expire(f.activeGrant(alice, readOnly(acct1)))
		if got := o.statuses(); len(got) != 2 || got[1] != access.GrantExpired {
			t.Fatalf("observed %v, want [active expired]", got)
		}
		if e := o.last(); e.EndingAt.Before(g.ExpiresAt) || e.EndReason != access.EndExpiry {
			t.Errorf("expired grant: ending at %v (%s), expires at %v", e.EndingAt, e.EndReason, g.ExpiresAt)
		}
	})

	t.Run("failed", func(t *testing.T) {
		var o observed
		f := newFixture(t, o.hook)
		f.ic.SetOrganization(instanceARN, map[string][]string{protected: {root, ouWork}})
		f.tenant(tenantA, nil)
		r := f.pending(alice, access.CreateRequestInput{
			Resource: access.Resource{Type: access.ResourceOrganizationalUnit, ID: ouWork},
			Action:   "ReadOnly", DurationSeconds: 3600, Justification: "fleet check",
		})
		r = must(f.svc.Approve(f.ctx, carol, r.ID, "", nil))(t)
		f.provision(tenantA, r.GrantID)
		if got := o.statuses(); len(got) != 1 || got[0] != access.GrantFailed {
			t.Fatalf("observed %v, want [failed]", got)
		}
	})
}
