package function

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/metrics"
)

type fakeSweeper access.SweepReport

func (f fakeSweeper) Sweep(context.Context) (access.SweepReport, error) {
	return access.SweepReport(f), nil
}

func (f fakeSweeper) SweepTenant(context.Context, string) (access.SweepReport, error) {
	return access.SweepReport(f), nil
}

// TestMeter checks the figures the functions publish, line by line as
// CloudWatch would read them.
func TestMeter(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	grant := func(edit func(g *access.Grant)) access.Grant {
		g := access.Grant{ID: "g-1", TenantID: "t-1", CreatedAt: t0}
		edit(&g)
		return g
	}
	tests := []struct {
		name   string
		emit   func(m meter)
		metric metrics.Name
		value  float64 // -1: no line
	}{
		{"approval to active", func(m meter) {
			m.observe(t.Context(), grant(func(g *access.Grant) { g.Status, g.GrantedAt = access.GrantActive, t0.Add(4*time.Second) }))
		}, metrics.ApprovalToActive, 4000},
		{"revoked: from the revoke", func(m meter) {
			m.observe(t.Context(), grant(func(g *access.Grant) {
				g.Status, g.EndReason, g.ExpiresAt = access.GrantRevoked, access.EndRevocation, t0.Add(time.Hour)
				g.EndingAt, g.UpdatedAt = t0.Add(10*time.Minute), t0.Add(10*time.Minute+30*time.Second)
			}))
		}, metrics.RevocationLatency, 30000},
		{"expired: from the expiry, a late schedule included", func(m meter) {
			m.observe(t.Context(), grant(func(g *access.Grant) {
				g.Status, g.EndReason, g.ExpiresAt = access.GrantExpired, access.EndExpiry, t0.Add(time.Hour)
				g.EndingAt, g.UpdatedAt = t0.Add(time.Hour+time.Minute), t0.Add(time.Hour+90*time.Second)
			}))
		}, metrics.RevocationLatency, 90000},
		{"ended without a recorded start", func(m meter) {
			m.observe(t.Context(), grant(func(g *access.Grant) { g.Status, g.EndReason = access.GrantRevoked, access.EndRevocation }))
		}, metrics.RevocationLatency, -1},
		{"failed", func(m meter) {
			m.observe(t.Context(), grant(func(g *access.Grant) { g.Status = access.GrantFailed }))
		}, metrics.GrantsFailed, 1},
		{"revoking is not a figure", func(m meter) {
			m.observe(t.Context(), grant(func(g *access.Grant) { g.Status = access.GrantRevoking }))
		}, "", -1},
		{"throttled", func(m meter) { m.throttled(t.Context()) }, metrics.IdentityCenterThrottles, 1},
		{"a failed session cut", func(m meter) {
			m.counting(report(slog.New(slog.DiscardHandler)))(t.Context(), access.Problem{Kind: access.ProblemSessionCutFailed, Message: "cut failed"})
		}, metrics.SessionCutFailures, 1},
		{"another problem is no figure", func(m meter) {
			m.counting(report(slog.New(slog.DiscardHandler)))(t.Context(), access.Problem{Kind: access.ProblemDeletionFailed, Message: "deletion failed"})
		}, "", -1},
		{"sweeper repairs", func(m meter) {
			s := meteredSweeper{fakeSweeper{GrantsExpired: 1, GrantsRestarted: 2, RequestsExpired: 3, OrphansReleased: 4,
				AssignmentsRepaired: 5, AssignmentsMissing: 5, AssignmentsUntracked: 7, PermissionSetsGone: 8}, m}
			if _, err := s.Sweep(t.Context()); err != nil {
				t.Fatal(err)
			}
		}, metrics.SweeperRepairs, 15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tc.emit(meter{metrics.New(&out, "Elevate/Test", func() time.Time { return t0 }), slog.New(slog.DiscardHandler)})
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if tc.value < 0 {
				if out.Len() != 0 {
					t.Fatalf("wrote %s, want nothing", out.String())
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("%d lines, want 1: %s", len(lines), out.String())
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
				t.Fatal(err)
			}
			if doc[string(tc.metric)] != tc.value {
				t.Errorf("%s = %v, want %v in %s", tc.metric, doc[string(tc.metric)], tc.value, lines[0])
			}
		})
	}
}

// TestReviewsOverdueMetric: a sweep that announced overdue break-glass
// reviews counts them in ReviewsOverdue, with the tenant; one that found
// none writes no such line.
func TestReviewsOverdueMetric(t *testing.T) {
	for _, n := range []int{0, 2} {
		var out bytes.Buffer
		m := meter{metrics.New(&out, "Elevate/Test", time.Now), slog.New(slog.DiscardHandler)}
		if _, err := (meteredSweeper{fakeSweeper{ReviewsOverdue: n}, m}).SweepTenant(t.Context(), "t1"); err != nil {
			t.Fatal(err)
		}
		var found []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var doc map[string]any
			if err := json.Unmarshal([]byte(line), &doc); err != nil {
				t.Fatal(err)
			}
			if _, ok := doc[string(metrics.ReviewsOverdue)]; ok {
				found = append(found, doc)
			}
		}
		switch {
		case n == 0 && len(found) != 0:
			t.Errorf("a sweep without overdue reviews wrote %v", found)
		case n > 0 && (len(found) != 1 || found[0][string(metrics.ReviewsOverdue)] != float64(n) || found[0]["tenant_id"] != "t1"):
			t.Errorf("ReviewsOverdue lines = %v, want one of %d for t1", found, n)
		}
	}
}
