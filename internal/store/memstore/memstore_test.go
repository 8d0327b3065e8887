package memstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/store/memstore"
	"github.com/elevate-jit/elevate/internal/store/storetest"
	"github.com/google/uuid"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) access.Store { return memstore.New() })
}

func TestSweepConformance(t *testing.T) {
	storetest.RunSweep(t, func(t *testing.T) storetest.SweepableStore { return memstore.New() })
}

// TestClock checks that expiry follows the injected clock.
func TestClock(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := t0
	s := memstore.New(memstore.WithClock(func() time.Time { return clock }))
	tenantID := uuid.NewString()
	rec := access.IdempotencyRecord{
		Scope:     access.IdempotencyScope{TenantID: tenantID, PrincipalID: "alice@example.com", Route: "POST /v1/requests", Key: "k1"},
		BodyHash:  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		CreatedAt: t0,
		ExpiresAt: t0.Add(access.IdempotencyTTL),
	}
	event := access.AuditEvent{ID: uuid.NewString(), TenantID: tenantID, At: t0, Action: "request.created", ExpiresAt: t0.Add(time.Hour)}
	if err := s.Commit(ctx, access.Change{Idempotency: &rec, Audit: []access.AuditEvent{event}}); err != nil {
		t.Fatal(err)
	}

	clock = t0.Add(time.Hour - time.Nanosecond)
	if _, err := s.GetIdempotency(ctx, rec.Scope); err != nil {
		t.Errorf("record before expiry: %v", err)
	}
	if p, _ := s.ListAuditEvents(ctx, tenantID, access.PageRequest{Limit: 10}); len(p.Items) != 1 {
		t.Errorf("audit events before expiry: %d, want 1", len(p.Items))
	}

	clock = t0.Add(time.Hour)
	if p, _ := s.ListAuditEvents(ctx, tenantID, access.PageRequest{Limit: 10}); len(p.Items) != 0 {
		t.Errorf("audit events at expiry: %d, want 0", len(p.Items))
	}
	if err := s.Commit(ctx, access.Change{Idempotency: &rec}); !errors.Is(err, access.ErrIdempotencyTaken) {
		t.Errorf("recording a live key again: %v, want ErrIdempotencyTaken", err)
	}

	clock = rec.ExpiresAt
	if _, err := s.GetIdempotency(ctx, rec.Scope); !errors.Is(err, access.ErrNotFound) {
		t.Errorf("record at expiry: %v, want not found", err)
	}
	if err := s.Commit(ctx, access.Change{Idempotency: &rec}); err != nil {
		t.Errorf("recording an expired key again: %v", err)
	}
}

// TestRejects checks the mistakes Commit and lists refuse outright.
func TestRejects(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	tenantID := uuid.NewString()
	r := access.Request{ID: uuid.NewString(), TenantID: tenantID, Revision: 1}
	for name, c := range map[string]access.Change{
		"revision 0":         {Requests: []access.Request{{ID: r.ID, TenantID: tenantID}}},
		"no tenant":          {Requests: []access.Request{{ID: r.ID, Revision: 1}}},
		"same request twice": {Requests: []access.Request{r, r}},
		"metadata not JSON":  {Requests: []access.Request{{ID: r.ID, TenantID: tenantID, Revision: 1, Metadata: map[string]any{"f": func() {}}}}},
	} {
		if err := s.Commit(ctx, c); err == nil || errors.Is(err, access.ErrStale) {
			t.Errorf("%s: error %v, want a plain error", name, err)
		}
	}
	if _, err := s.GetRequest(ctx, tenantID, r.ID); !errors.Is(err, access.ErrNotFound) {
		t.Errorf("a refused change was applied: %v", err)
	}
	if _, err := s.ListRequests(ctx, tenantID, access.RequestFilter{}, access.PageRequest{}); err == nil {
		t.Errorf("ListRequests with limit 0: no error")
	}
}

// TestMetadataOfOtherTypes checks that metadata values of other Go types are
// stored as the JSON values they encode to, not shared with the caller.
func TestMetadataOfOtherTypes(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	notices := []string{"Production databases are audited."}
	r := access.Request{ID: uuid.NewString(), TenantID: uuid.NewString(), Revision: 1, Metadata: map[string]any{"notices": notices, "count": 3}}
	if err := s.Commit(ctx, access.Change{Requests: []access.Request{r}}); err != nil {
		t.Fatal(err)
	}
	notices[0] = "changed"
	got, err := s.GetRequest(ctx, r.TenantID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Metadata["notices"]) != "[Production databases are audited.]" || got.Metadata["count"] != 3 {
		t.Errorf("metadata = %#v", got.Metadata)
	}
}

// seedRequests fills a tenant with n requests, one second apart, over three
// users and every status.
func seedRequests(b *testing.B, s *memstore.Store, tenantID string, n int) {
	users := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	for i := range n {
		r := benchRequest(tenantID, t0.Add(time.Duration(i)*time.Second))
		r.RequesterID, r.GranteeID = users[i%3], users[(i/3)%3]
		r.Status = access.RequestStatuses[i%len(access.RequestStatuses)]
		if err := s.Commit(b.Context(), access.Change{Requests: []access.Request{r}}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRequest(tenantID string, at time.Time) access.Request {
	return access.Request{
		ID: uuid.NewString(), TenantID: tenantID, RequesterID: "alice@example.com", GranteeID: "alice@example.com",
		Resource: access.Resource{Type: access.ResourceAccount, ID: "111122223333"},
		Action:   "ReadOnly", Justification: "INC-4821: checkout returns 5xx", DurationSeconds: 3600,
		Status: access.RequestPending, ApprovalMode: access.ModeRequire, ApprovalsRequired: 1,
		Notices:       []string{"Production access is audited."},
		Metadata:      map[string]any{"ticket": "INC-4821", "labels": []any{"prod", "checkout"}},
		PolicyVersion: 1, Revision: 1, CreatedAt: at, UpdatedAt: at,
	}
}

// BenchmarkCommitRequest commits what creating a request writes: the
// request, its audit event and its idempotency record.
func BenchmarkCommitRequest(b *testing.B) {
	s := memstore.New()
	tenantID := uuid.NewString()
	t0 := time.Now().UTC()
	ids := make([]string, 0, 1<<16)
	for range cap(ids) {
		ids = append(ids, uuid.NewString())
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at := t0.Add(time.Duration(i) * time.Microsecond)
		r := benchRequest(tenantID, at)
		r.ID = ids[i%len(ids)] + fmt.Sprint(i/len(ids))
		rec := access.IdempotencyRecord{
			Scope:    access.IdempotencyScope{TenantID: tenantID, PrincipalID: r.RequesterID, Route: "POST /v1/requests", Key: r.ID},
			BodyHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Outcome:  access.Outcome{Request: &r}, CreatedAt: at, ExpiresAt: at.Add(access.IdempotencyTTL),
		}
		ev := access.AuditEvent{
			ID: r.ID, TenantID: tenantID, At: at, ActorID: r.RequesterID, ActorKind: access.PrincipalUser,
			Action: "request.created", Severity: access.SeverityInfo, ObjectType: "request", ObjectID: r.ID,
			Details: map[string]any{"status": "pending"}, ExpiresAt: at.Add(access.DefaultAuditRetention),
		}
		if err := s.Commit(b.Context(), access.Change{Requests: []access.Request{r}, Audit: []access.AuditEvent{ev}, Idempotency: &rec}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkListRequests lists 50 of a tenant's 10,000 requests, next to
// another tenant's 10,000.
func BenchmarkListRequests(b *testing.B) {
	s := memstore.New()
	tenantID := uuid.NewString()
	seedRequests(b, s, tenantID, 10_000)
	seedRequests(b, s, uuid.NewString(), 10_000)
	second, err := s.ListRequests(b.Context(), tenantID, access.RequestFilter{}, access.PageRequest{Limit: 50})
	if err != nil {
		b.Fatal(err)
	}
	pending := []access.RequestStatus{access.RequestPending}
	for _, bc := range []struct {
		name   string
		filter access.RequestFilter
		after  []byte
	}{
		{"newest", access.RequestFilter{}, nil},
		{"second page", access.RequestFilter{}, second.Next},
		{"pending", access.RequestFilter{Statuses: pending}, nil},
		{"approvals inbox", access.RequestFilter{Statuses: pending, OldestFirst: true}, nil},
		{"party and status", access.RequestFilter{Party: "carol@example.com", Statuses: pending}, nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := s.ListRequests(b.Context(), tenantID, bc.filter, access.PageRequest{Limit: 50, After: bc.after})
				if err != nil || len(p.Items) != 50 {
					b.Fatalf("%d items, error %v", len(p.Items), err)
				}
			}
		})
	}
}
