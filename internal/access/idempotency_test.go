package access_test

import (
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

func idem(p access.Principal, route, key, body string) *access.Idempotency {
	return &access.Idempotency{
		Scope:    access.IdempotencyScope{TenantID: p.TenantID, PrincipalID: p.ID, Route: route, Key: key},
		BodyHash: body,
	}
}

func TestIdempotentCreateRequest(t *testing.T) {
	f := withTenant(t)
	key := idem(alice, "POST /v1/requests", "key-1", "hash-1")

	if _, found, err := f.svc.Replay(f.ctx, *key); err != nil || found {
		t.Fatalf("Replay of a new key = found %v, %v", found, err)
	}
	r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), key))(t)

	out, found, err := f.svc.Replay(f.ctx, *key)
	if err != nil || !found || out.Request == nil {
		t.Fatalf("Replay = %+v, %v, %v; want the recorded request", out, found, err)
	}
	if out.Request.ID != r.ID || out.Request.Status != r.Status || out.Request.GrantID != r.GrantID || out.Grant != nil || out.APIKey != nil {
		t.Errorf("replayed outcome %+v, want request %s", out, r.ID)
	}

	t.Run("another body", func(t *testing.T) {
		other := *key
		other.BodyHash = "hash-2"
		_, found, err := f.svc.Replay(f.ctx, other)
		if found {
			t.Fatalf("Replay with another body = %v, %v; want idempotency_key_reused", found, err)
		}
		wantCode(t, err, access.CodeIdempotencyKeyReused)
	})

	t.Run("duplicate create", func(t *testing.T) {
		before := len(f.flow.calls)
		_, err := f.svc.CreateRequest(f.ctx, alice, readOnly(acct2), key)
		wantCode(t, err, access.CodeConflict)
		list := must(f.svc.ListRequests(f.ctx, ada, access.RequestFilter{}, access.PageRequest{Limit: 10}))(t)
		if len(list.Items) != 1 || list.Items[0].ID != r.ID {
			t.Errorf("%d requests stored, want only the first", len(list.Items))
		}
		grants := must(f.svc.ListGrants(f.ctx, ada, access.GrantFilter{}, access.PageRequest{Limit: 10}))(t)
		if len(grants.Items) != 1 {
			t.Errorf("%d grants stored, want 1", len(grants.Items))
		}
		if len(f.flow.calls) != before {
			t.Error("the duplicate started a workflow")
		}
	})

	t.Run("scoped to principal, route and tenant", func(t *testing.T) {
		for _, k := range []*access.Idempotency{
			idem(bob, "POST /v1/requests", "key-1", "hash-1"),
			idem(alice, "POST /v1/grants", "key-1", "hash-1"),
			{Scope: access.IdempotencyScope{TenantID: tenantB, PrincipalID: "alice", Route: "POST /v1/requests", Key: "key-1"}, BodyHash: "hash-1"},
		} {
			if _, found, err := f.svc.Replay(f.ctx, *k); err != nil || found {
				t.Errorf("Replay(%+v) = %v, %v; want a new key", k.Scope, found, err)
			}
		}
		r2 := must(f.svc.CreateRequest(f.ctx, bob, readOnly(acct1), idem(bob, "POST /v1/requests", "key-1", "hash-1")))(t)
		if r2.ID == r.ID {
			t.Error("bob's request with alice's key replayed alice's")
		}
	})

	t.Run("kept 24 hours", func(t *testing.T) {
		f.clock.Advance(access.IdempotencyTTL + time.Second)
		if _, found, err := f.svc.Replay(f.ctx, *key); err != nil || found {
			t.Errorf("Replay after 24 h = %v, %v; want the key forgotten", found, err)
		}
	})
}

func TestIdempotentDecisions(t *testing.T) {
	f := withTenant(t)
	r := f.pending(alice, adminAccess(acct1))
	key := idem(carol, "POST /v1/requests/{id}/approve", "k", "h")
	got := must(f.svc.Approve(f.ctx, carol, r.ID, "ok", key))(t)
	out, found, err := f.svc.Replay(f.ctx, *key)
	if err != nil || !found || out.Request == nil || out.Request.Status != access.RequestApproved || out.Request.GrantID != got.GrantID {
		t.Fatalf("Replay = %+v, %v, %v", out, found, err)
	}

	g := f.activeGrant(alice, readOnly(acct2))
	rk := idem(alice, "POST /v1/grants/{id}/revoke", "k", "h")
	must(f.svc.RevokeGrant(f.ctx, alice, g.ID, "done", rk))(t)
	out, found, err = f.svc.Replay(f.ctx, *rk)
	if err != nil || !found || out.Grant == nil || out.Grant.ID != g.ID || out.Grant.Status != access.GrantRevoking {
		t.Fatalf("Replay of revoke = %+v, %v, %v", out, found, err)
	}
}
