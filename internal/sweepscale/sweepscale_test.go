package sweepscale_test

import (
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/sweepscale"
)

// TestSmallPass runs make sweep-scale's code path at a small scale: every
// planted overdue grant is found, Identity Center is never asked more than
// its rate in a simulated second (and never throttles), the unused old
// managed sets are collected and no used or new one is, and the audit covers
// every user when its slice allows.
func TestSmallPass(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*sweepscale.Config)
	}{
		{"defaults scaled down", func(*sweepscale.Config) {}},
		{"one consumer, a slow table", func(c *sweepscale.Config) { c.Consumers, c.StoreLatency = 1, 20*time.Millisecond }},
		{"a low rate", func(c *sweepscale.Config) { c.TPS = 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sweepscale.Default()
			c.Tenants, c.ActiveGrants, c.ManagedSets, c.Overdue = 25, 300, 40, 9
			tc.edit(&c)
			r, err := sweepscale.Run(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			d := r.Detail
			if r.OverdueFound != r.OverduePlanted || r.OverduePlanted != c.Overdue {
				t.Errorf("found %d of %d overdue grants", r.OverdueFound, r.OverduePlanted)
			}
			if d.Throttled != 0 || d.MaxCallsPerSecond > c.TPS || r.IdentityCenterCalls == 0 {
				t.Errorf("%d calls, at most %d per second, %d throttled; limit %d", r.IdentityCenterCalls, d.MaxCallsPerSecond, d.Throttled, c.TPS)
			}
			unused := c.ManagedSets - c.ManagedSets*4/5
			if want := unused - unused/4; d.SetsCollected != want || d.UsedSetsDeleted != 0 || d.NewSetsDeleted != 0 {
				t.Errorf("collected %d (want %d), used deleted %d, new deleted %d", d.SetsCollected, want, d.UsedSetsDeleted, d.NewSetsDeleted)
			}
			if wantAudited := min(d.UsersToAudit, c.TPS*150); d.UsersAudited != wantAudited {
				t.Errorf("audited %d of %d users, want %d", d.UsersAudited, d.UsersToAudit, wantAudited)
			}
			if len(d.Problems) > 0 || r.Tenants != c.Tenants || r.ActiveGrants != c.ActiveGrants {
				t.Errorf("result %+v, problems %q", r, d.Problems)
			}
		})
	}
}
