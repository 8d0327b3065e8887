//go:build unix

package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/motoserver"
)

// TestMeasure runs the measurement at a small time scale with one latency
// and one run per state machine, so that the harness keeps working: the
// real state machines on patched moto, their tasks served by the real
// handlers over the domain, each grant active with its creation issued
// once and polled. It asserts nothing about timings (make timetoaccess
// measures them at time scale 1).
func TestMeasure(t *testing.T) {
	var progress strings.Builder
	start := func(o motoserver.Options) (*motoserver.Server, error) { return motoserver.StartWith(t, o), nil }
	res, err := measure(t.Context(), slog.New(slog.DiscardHandler), setup{
		scale: 0.01, latencies: []time.Duration{50 * time.Millisecond}, runs: 1, variants: []variant{variantFixed5, variantNow},
	}, &progress, start)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []variant{variantFixed5, variantNow} {
		ss := res.samples[v][50*time.Millisecond]
		if len(ss) != 1 {
			t.Fatalf("%s: %d samples, want 1", v, len(ss))
		}
		s := ss[0]
		// Plan, claim and issue the creation, then poll it: at least two
		// rounds.
		rounds := 2
		if s.calls["CreateAssignment"] != 1 || s.calls["CreationStatus"] < 1 || s.rounds < rounds {
			t.Errorf("%s: %d rounds, Identity Center calls %v; want %d rounds or more, one CreateAssignment and a CreationStatus", v, s.rounds, s.calls, rounds)
		}
		if s.access <= 0 || s.waits <= 0 {
			t.Errorf("%s: time to access %v, waits %v; want both measured", v, s.access, s.waits)
		}
	}
	table := res.table()
	for _, want := range []string{"| creation latency | before: fixed 5 s | calls | now: 1 s, 1 s, 3 s, then 5 s | calls | now − latency |", "| 0.05 s |"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
	t.Log("\n" + progress.String() + table)
}
