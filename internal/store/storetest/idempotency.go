package storetest

import (
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/google/uuid"
)

// testIdempotencyTaken checks that a second change with a recorded key fails
// whole, and that the record keeps the first call's outcome as it was.
func testIdempotencyTaken(t *testing.T, s access.Store) {
	ctx := t.Context()
	tenantID := uuid.NewString()
	first := newRequest(tenantID, base)
	rec := newIdempotency(tenantID, access.Outcome{Request: &first})
	want := clone(t, rec)
	commit(t, s, access.Change{Requests: []access.Request{first}, Idempotency: &rec})

	second := newRequest(tenantID, base.Add(time.Minute))
	dup := newIdempotency(tenantID, access.Outcome{Request: &second})
	dup.Scope = rec.Scope
	ev := newAuditEvent(tenantID, base.Add(time.Minute))
	err := s.Commit(ctx, access.Change{Requests: []access.Request{second}, Audit: []access.AuditEvent{ev}, Idempotency: &dup})
	wantErr(t, "Commit with a recorded key", err, access.ErrIdempotencyTaken)
	_, err = s.GetRequest(ctx, tenantID, second.ID)
	wantErr(t, "the second call's request", err, access.ErrNotFound)
	if p, err := s.ListAuditEvents(ctx, tenantID, access.PageRequest{Limit: 10}); err != nil || len(p.Items) != 0 {
		t.Errorf("the second call's audit event: %d events, error %v; want none", len(p.Items), err)
	}

	got, err := s.GetIdempotency(ctx, rec.Scope)
	if err != nil {
		t.Fatalf("GetIdempotency: %v", err)
	}
	same(t, "record", want, got)

	// The outcome is a snapshot: later changes of the request do not touch it.
	first.Revision, first.Status = 2, access.RequestCancelled
	commit(t, s, access.Change{Requests: []access.Request{first}})
	got, err = s.GetIdempotency(ctx, rec.Scope)
	if err != nil {
		t.Fatalf("GetIdempotency: %v", err)
	}
	same(t, "record after the request changed", want, got)
}

// testIdempotencyOutcomes round-trips a record of each outcome kind.
func testIdempotencyOutcomes(t *testing.T, s access.Store) {
	tenantID := uuid.NewString()
	r, g, k := newRequest(tenantID, base), newGrant(tenantID, base), newAPIKey(tenantID, base)
	sp := newSuspension(tenantID, bob, base)
	for _, tc := range []struct {
		name    string
		outcome access.Outcome
	}{
		{"request", access.Outcome{Request: &r}},
		{"grant", access.Outcome{Grant: &g}},
		{"api key", access.Outcome{APIKey: &k}},
		{"suspension", access.Outcome{Suspension: &sp}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newIdempotency(tenantID, tc.outcome)
			filled(t, rec, "IdempotencyRecord.Outcome")
			commit(t, s, access.Change{Idempotency: &rec})
			got, err := s.GetIdempotency(t.Context(), rec.Scope)
			if err != nil {
				t.Fatalf("GetIdempotency: %v", err)
			}
			same(t, "record", rec, got)
		})
	}
}

// testIdempotencyExpiry checks that a record past its ExpiresAt is not
// returned and does not hold its key.
func testIdempotencyExpiry(t *testing.T, s access.Store) {
	ctx := t.Context()
	tenantID := uuid.NewString()
	r := newRequest(tenantID, base)
	old := newIdempotency(tenantID, access.Outcome{Request: &r})
	old.ExpiresAt = now().Add(-time.Hour)
	old.CreatedAt = old.ExpiresAt.Add(-access.IdempotencyTTL)
	commit(t, s, access.Change{Requests: []access.Request{r}, Idempotency: &old})
	_, err := s.GetIdempotency(ctx, old.Scope)
	wantErr(t, "GetIdempotency of an expired record", err, access.ErrNotFound)

	r2 := newRequest(tenantID, base.Add(time.Minute))
	fresh := newIdempotency(tenantID, access.Outcome{Request: &r2})
	fresh.Scope = old.Scope
	commit(t, s, access.Change{Requests: []access.Request{r2}, Idempotency: &fresh})
	got, err := s.GetIdempotency(ctx, fresh.Scope)
	if err != nil {
		t.Fatalf("GetIdempotency: %v", err)
	}
	same(t, "the record that replaced the expired one", fresh, got)
}

// testIdempotencyScopes checks that scopes differing in one part only are
// independent.
func testIdempotencyScopes(t *testing.T, s access.Store) {
	ctx := t.Context()
	tenantID := uuid.NewString()
	r := newRequest(tenantID, base)
	first := newIdempotency(tenantID, access.Outcome{Request: &r})
	commit(t, s, access.Change{Idempotency: &first})

	records := []access.IdempotencyRecord{first}
	for part, change := range map[string]func(*access.IdempotencyScope){
		"tenant":    func(s *access.IdempotencyScope) { s.TenantID = uuid.NewString() },
		"principal": func(s *access.IdempotencyScope) { s.PrincipalID = bob },
		"route":     func(s *access.IdempotencyScope) { s.Route = "POST /v1/grants" },
		"key":       func(s *access.IdempotencyScope) { s.Key = uuid.NewString() },
	} {
		rec := newIdempotency(tenantID, access.Outcome{Request: &r})
		rec.Scope = first.Scope
		change(&rec.Scope)
		if err := s.Commit(ctx, access.Change{Idempotency: &rec}); err != nil {
			t.Errorf("a scope differing in its %s: %v", part, err)
		}
		records = append(records, rec)
	}
	for _, rec := range records {
		got, err := s.GetIdempotency(ctx, rec.Scope)
		if err != nil || got.BodyHash != rec.BodyHash {
			t.Errorf("GetIdempotency(%+v): body hash %q, error %v; want %q", rec.Scope, got.BodyHash, err, rec.BodyHash)
		}
	}
}
