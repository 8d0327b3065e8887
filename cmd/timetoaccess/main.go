// Command timetoaccess measures approval → active on moto's Step Functions
// engine (make timetoaccess) for Identity Center creation latencies of
// 0.5 s, 2 s and 10 s, in real time.
//
// It starts moto through motoserver's patched launcher at time scale 1,
// with Lambda invocations forwarded here (launcher patch 5), and creates
// the real state machine (workflow.Definition with the stack's
// substitutions) and, for comparison, the same definition with its loops'
// waits fixed at 5 s as they were before each step said how long to wait.
// The tasks are served by the real workflow handlers (workflow.Handlers)
// over the real domain steps on the embedded store, with the Step
// Functions workflow adapter and a fake Identity Center whose
// CreateAssignment settles after the latency and which counts calls.
//
// Each run creates a request that needs an approval, waits until its
// approval wait has stored the task token, approves it, and measures from
// the moment the approval resumes the wait (SendTaskSuccess sent) to the
// commit of the grant's move to active, and the Identity Center calls in
// between. It prints the medians as a markdown table, and where the time
// went (Wait states, Lambda tasks, moto's engine) from each execution's
// history.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/workflow"
)

func main() {
	runs := flag.Int("runs", 3, "measured runs per latency and state machine (after one warm-up run per state machine)")
	latencies := flag.String("latencies", "500ms,2s,10s", "Identity Center creation latencies, comma-separated")
	before := flag.Bool("before", true, "also measure the state machine with the fixed 5 s waits of before")
	verbose := flag.Bool("v", false, "log what the domain reports")
	flag.Parse()
	var lats []time.Duration
	for _, s := range strings.Split(*latencies, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 0 {
			fmt.Fprintf(os.Stderr, "timetoaccess: bad latency %q\n", s)
			os.Exit(2)
		}
		lats = append(lats, d)
	}
	variants := []variant{variantNow}
	if *before {
		variants = append([]variant{variantFixed5}, variants...)
	}
	logs := io.Discard
	if *verbose {
		logs = os.Stderr
	}
	res, err := measure(context.Background(), slog.New(slog.NewTextHandler(logs, nil)), setup{scale: 1, latencies: lats, runs: *runs, variants: variants}, os.Stderr, motoserver.Run)
	if err != nil {
		fmt.Fprintf(os.Stderr, "timetoaccess: %v\n", err)
		os.Exit(1)
	}
	fmt.Print(res.table())
}

// setup is what measure runs.
type setup struct {
	scale     float64 // moto's time scale: 1 measures, less only tests the harness
	latencies []time.Duration
	runs      int
	variants  []variant
}

// results are the samples by variant and latency.
type results struct {
	setup
	samples map[variant]map[time.Duration][]sample
}

// measure starts moto with start, sets the bench up, and runs it; it
// reports each run to progress.
func measure(ctx context.Context, log *slog.Logger, s setup, progress io.Writer, start func(motoserver.Options) (*motoserver.Server, error)) (*results, error) {
	b, err := newBench(log)
	if err != nil {
		return nil, err
	}
	defer b.close()
	srv, err := start(b.options(s.scale))
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	if err := b.connect(ctx, srv); err != nil {
		return nil, fmt.Errorf("%w\nmoto output:\n%s", err, srv.Output())
	}
	timeout := 60 * time.Second
	if s.scale < 1 {
		timeout = 20 * time.Second
	}
	res := &results{setup: s, samples: map[variant]map[time.Duration][]sample{}}
	for _, v := range s.variants {
		// The first execution of a machine pays for moto's first Lambda
		// client; it is not measured.
		if _, err := b.run(ctx, v, 0, timeout+maxLatency(s.latencies)); err != nil {
			return nil, fmt.Errorf("warm-up on %s: %w\nmoto output:\n%s", v, err, srv.Output())
		}
		res.samples[v] = map[time.Duration][]sample{}
		for _, lat := range s.latencies {
			for i := range s.runs {
				sm, err := b.run(ctx, v, lat, timeout+lat)
				if err != nil {
					return nil, fmt.Errorf("%s, latency %v, run %d: %w\nmoto output:\n%s", v, lat, i+1, err, srv.Output())
				}
				res.samples[v][lat] = append(res.samples[v][lat], sm)
				fmt.Fprintf(progress, "%-6s latency %-5v run %d: %.2f s (%d rounds; waits %.2f s, tasks %.2f s, engine %.2f s), %d Identity Center calls %v\n",
					v, lat, i+1, sm.access.Seconds(), sm.rounds, sm.waits.Seconds(), sm.tasks.Seconds(), sm.engine().Seconds(), sm.total(), sm.calls)
			}
		}
	}
	return res, nil
}

func maxLatency(ls []time.Duration) time.Duration {
	if len(ls) == 0 {
		return 0
	}
	return slices.Max(ls)
}

// table is the results as markdown: medians, and the calls' range when the
// runs differ.
func (r *results) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "approval → active on moto's Step Functions engine (time scale %g), median of %d runs; Identity Center calls per grant\n\n", r.scale, r.runs)
	head := "| creation latency |"
	rule := "|---:|"
	if _, ok := r.samples[variantFixed5]; ok {
		head += fmt.Sprintf(" before: fixed %d s | calls |", workflow.MaxPollWait)
		rule += "---:|---:|"
	}
	head += " now: " + waits() + " | calls | now − latency |"
	rule += "---:|---:|---:|"
	b.WriteString(head + "\n" + rule + "\n")
	for _, lat := range r.latencies {
		fmt.Fprintf(&b, "| %g s |", lat.Seconds())
		if s, ok := r.samples[variantFixed5]; ok {
			fmt.Fprintf(&b, " %.2f s | %s |", median(s[lat]).Seconds(), callRange(s[lat]))
		}
		s := r.samples[variantNow][lat]
		fmt.Fprintf(&b, " %.2f s | %s | %.2f s |", median(s).Seconds(), callRange(s), (median(s) - lat).Seconds())
		b.WriteString("\n")
	}
	b.WriteString("\nwhere the time went (medians): provisioning rounds, Wait states, Lambda tasks, and the rest (moto's engine between states)\n\n")
	b.WriteString("| state machine | creation latency | rounds | waits | tasks | engine |\n|---|---:|---:|---:|---:|---:|\n")
	for _, v := range r.variants {
		for _, lat := range r.latencies {
			s := r.samples[v][lat]
			fmt.Fprintf(&b, "| %s | %g s | %d | %.2f s | %.2f s | %.2f s |\n", v, lat.Seconds(), medianOf(s, func(s sample) time.Duration { return time.Duration(s.rounds) }),
				medianOf(s, func(s sample) time.Duration { return s.waits }).Seconds(), medianOf(s, func(s sample) time.Duration { return s.tasks }).Seconds(),
				medianOf(s, sample.engine).Seconds())
		}
	}
	return b.String()
}

// median is the samples' median time to access.
func median(ss []sample) time.Duration {
	return medianOf(ss, func(s sample) time.Duration { return s.access })
}

// medianOf is the median of f over the samples.
func medianOf(ss []sample, f func(sample) time.Duration) time.Duration {
	if len(ss) == 0 {
		return 0
	}
	ds := make([]time.Duration, len(ss))
	for i, s := range ss {
		ds[i] = f(s)
	}
	slices.Sort(ds)
	if len(ds)%2 == 1 {
		return ds[len(ds)/2]
	}
	return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
}

// callRange is the samples' Identity Center calls per grant: one number,
// or min–max.
func callRange(ss []sample) string {
	if len(ss) == 0 {
		return "-"
	}
	lo, hi := ss[0].total(), ss[0].total()
	for _, s := range ss {
		lo, hi = min(lo, s.total()), max(hi, s.total())
	}
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

// waits names the loop's waits (workflow.PollWait): "1 s, 1 s, 3 s, then 5 s".
func waits() string {
	var parts []string
	for n := 0; ; n++ {
		w := workflow.PollWait(n)
		if w == workflow.MaxPollWait {
			parts = append(parts, fmt.Sprintf("%d s", w))
			if len(parts) > 1 {
				parts[len(parts)-1] = "then " + parts[len(parts)-1]
			}
			return strings.Join(parts, ", ")
		}
		parts = append(parts, fmt.Sprintf("%d s", w))
	}
}
