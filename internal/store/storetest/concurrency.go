package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/google/uuid"
)

// writers is how many goroutines race in the concurrency tests.
const writers = 16

// testConcurrentUpdates races writers updating one object from the same
// revision: exactly one wins, and its write is the one stored.
func testConcurrentUpdates(t *testing.T, s access.Store) {
	tenantID := uuid.NewString()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			o := k.new(s, tenantID)
			commit(t, s, o.write(1, "first"))
			commit(t, s, o.write(2, "second"))
			errs := race(writers, func(i int) error {
				return s.Commit(t.Context(), o.write(3, fmt.Sprintf("writer %d", i)))
			})
			winner := oneWinner(t, errs, access.ErrStale)
			wantStored(t, o, 3, fmt.Sprintf("writer %d", winner))
		})
	}
}

// testConcurrentIdempotency races writers committing a new request each with
// the same idempotency key: exactly one lands.
func testConcurrentIdempotency(t *testing.T, s access.Store) {
	ctx := t.Context()
	tenantID := uuid.NewString()
	scope := newIdempotency(tenantID, access.Outcome{}).Scope
	requests := make([]access.Request, writers)
	records := make([]access.IdempotencyRecord, writers)
	for i := range writers {
		requests[i] = newRequest(tenantID, base.Add(time.Duration(i)*time.Second))
		records[i] = newIdempotency(tenantID, access.Outcome{Request: &requests[i]})
		records[i].Scope = scope
	}
	errs := race(writers, func(i int) error {
		return s.Commit(ctx, access.Change{Requests: []access.Request{requests[i]}, Idempotency: &records[i]})
	})
	winner := oneWinner(t, errs, access.ErrIdempotencyTaken)
	got, err := s.GetIdempotency(ctx, scope)
	if err != nil || got.BodyHash != records[winner].BodyHash {
		t.Errorf("GetIdempotency: body hash %q, error %v; want the winner's %q", got.BodyHash, err, records[winner].BodyHash)
	}
	for i, r := range requests {
		_, err := s.GetRequest(ctx, tenantID, r.ID)
		if i == winner && err != nil {
			t.Errorf("the winner's request: %v", err)
		}
		if i != winner {
			wantErr(t, fmt.Sprintf("writer %d's request", i), err, access.ErrNotFound)
		}
	}
}

// testConcurrentIssuers races writers creating tenants with the same JWT
// issuer and audience: exactly one is created.
func testConcurrentIssuers(t *testing.T, s access.Store) {
	ctx := t.Context()
	jwt := newTenant().Settings.JWT
	tenants := make([]access.Tenant, writers)
	for i := range tenants {
		tenants[i] = newTenant()
		tenants[i].Settings.JWT = jwt
	}
	errs := race(writers, func(i int) error {
		return s.Commit(ctx, access.Change{Tenants: []access.Tenant{tenants[i]}})
	})
	winner := oneWinner(t, errs, access.ErrUnique)
	if id, err := s.TenantIDForIssuer(ctx, jwt.Issuer, jwt.Audience); err != nil || id != tenants[winner].ID {
		t.Errorf("TenantIDForIssuer = %q, %v; want the winner %q", id, err, tenants[winner].ID)
	}
	for i, tn := range tenants {
		if _, err := s.GetTenant(ctx, tn.ID); i != winner {
			wantErr(t, fmt.Sprintf("writer %d's tenant", i), err, access.ErrNotFound)
		}
	}
}
