package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/elevate-jit/elevate/internal/workflow"
)

// Config says what one run simulates.
type Config struct {
	// Seed picks everything random; the same seed makes the same run.
	Seed uint64
	// Lifecycles is how many requests and direct grants the run records at
	// least, over its episodes.
	Lifecycles int
	// EpisodeSize is how many lifecycles one episode records before it
	// drains (default 150). Each episode is a deployment of its own, from
	// an empty store to quiescence, seeded by (Seed, episode).
	EpisodeSize int
	// Episodes, when set, runs only these episodes (a replay); the others
	// count as recording their quota.
	Episodes []int
	// FaultRate is the probability that an AWS call (Identity Center,
	// DynamoDB, Step Functions, Scheduler) meets a fault (default 0.03).
	FaultRate float64
	// NestRate is the probability that a top-level step's call hosts
	// another actor's step (default 0.04).
	NestRate float64
	// SeparateInstances gives tenant B's share of the load to tenant A, so
	// no two tenants use one Identity Center instance (to tell a bug of
	// shared instances from others).
	SeparateInstances bool
	// NoOutsider leaves out the outsider who deletes assignments behind
	// Elevate's back (for code whose sweeper does not make them again).
	NoOutsider bool
	// Store opens an episode's store; nil means memstore.
	Store func(ctx context.Context, now func() time.Time) Backend
	// Trace, when set, receives every event of every episode.
	Trace io.Writer
	// Digest asks for Result.Digest, a hash of every event of the run
	// (formatting every event costs a fifth of the run).
	Digest bool
}

// Result is what a run found.
type Result struct {
	Seed       uint64
	Lifecycles int
	Faults     int
	Violations int

	Episodes  int
	Steps     int
	Nests     int
	Throttled int
	Sweeps    int
	// FaultsByKind counts the faults injected at calls, by kind; Duplicates
	// and DeliveryFaults the duplicated workflow tasks and the expiry
	// deliveries made late, twice or never.
	FaultsByKind   map[string]int
	Duplicates     int
	DeliveryFaults int
	// Outcomes counts how the requests and grants of the run ended
	// ("grant revoked", "request denied", …), to show what it covered.
	Outcomes map[string]int
	// Digest is a hash of every event of the run, when Config.Digest asks.
	Digest   string
	Failures []Failure
}

// Failure is the first violation of a failing episode and the events that
// led to it.
type Failure struct {
	Episode   int
	Violation violation
	Trace     []string
}

func (f Failure) String() string {
	return fmt.Sprintf("episode %d: %s", f.Episode, f.Violation)
}

func (c *Config) defaults() {
	if c.EpisodeSize <= 0 {
		c.EpisodeSize = 150
	}
	if c.FaultRate == 0 {
		c.FaultRate = 0.03
	}
	if c.NestRate == 0 {
		c.NestRate = 0.04
	}
}

// Run simulates cfg.Lifecycles lifecycles, episode after episode.
func Run(ctx context.Context, cfg Config) Result {
	cfg.defaults()
	res := Result{Seed: cfg.Seed, FaultsByKind: map[string]int{}, Outcomes: map[string]int{}}
	digest := sha256.New()
	for ep := 0; res.Lifecycles < cfg.Lifecycles; ep++ {
		quota := min(cfg.EpisodeSize, cfg.Lifecycles-res.Lifecycles)
		if len(cfg.Episodes) > 0 && !slices.Contains(cfg.Episodes, ep) {
			if ep > slices.Max(cfg.Episodes) {
				break
			}
			res.Lifecycles += quota
			continue
		}
		w := newWorld(ctx, cfg, ep)
		w.quota = quota
		w.runEpisode()
		res.Episodes++
		res.Lifecycles += w.lifecycles
		res.Faults += w.faults
		res.Steps += w.executed
		res.Nests += w.nests
		res.Throttled += w.throttled
		res.Sweeps += w.sweeps
		res.Duplicates += w.duplicates
		res.DeliveryFaults += w.deliveryFaults
		for k, n := range w.faultsByKind {
			if n > 0 {
				res.FaultsByKind[fault(k).String()] += n
			}
		}
		for _, v := range w.check.grants {
			res.Outcomes["grant "+string(v.g.Status)]++
			if v.g.Failure != "" {
				res.Outcomes["grant failed: "+v.g.Failure]++
			}
		}
		for _, v := range w.check.requests {
			res.Outcomes["request "+string(v.r.Status)]++
		}
		res.Violations += len(w.check.violations)
		if len(w.check.violations) > 0 {
			v := w.check.violations[0]
			res.Failures = append(res.Failures, Failure{Episode: ep, Violation: v, Trace: w.minimal(v)})
		}
		if cfg.Digest {
			fmt.Fprintf(digest, "%d %s\n", ep, w.trace.sum())
		}
		if cfg.Trace != nil {
			for _, e := range w.trace.events {
				fmt.Fprintf(cfg.Trace, "ep%d %s\n", ep, e.line())
			}
		}
		if w.lifecycles == 0 {
			break // nothing recorded: do not loop forever
		}
	}
	if cfg.Digest {
		res.Digest = hex.EncodeToString(digest.Sum(nil))
	}
	return res
}

// Episode bounds.
const (
	// drainFor bounds the drain: longer than any grant, an approval
	// window, the sweeper's recovery of stuck work and late approvals.
	drainFor = 8 * time.Hour
	// watchEvery is how often the time bounds are checked while draining.
	watchEvery = 30 * time.Second
)

// runEpisode runs the load with faults until the quota of lifecycles is
// recorded, then stops the faults and drains: everything must settle within
// bounded time, and the end state must be clean.
func (w *world) runEpisode() {
	if err := w.setup(); err != nil {
		w.check.violate(invOnce, "setup: %v", err)
		return
	}
	w.faultsOn = true
	w.startLoad()
	far := epoch.Add(1000 * time.Hour)
	for !w.loadDone && len(w.check.violations) == 0 && w.tick(far) {
	}
	if len(w.check.violations) > 0 {
		return
	}
	w.faultsOn, w.draining, w.faultsStopped = false, true, w.now()
	w.trace.event(w, "faults stop; draining")
	w.after(watchEvery, "watchdog", "watch", w.watch)
	deadline := w.now().Add(drainFor)
	for len(w.check.violations) == 0 {
		if w.check.settled() && w.pendingAPI == 0 && len(w.ic.pending) == 0 {
			break
		}
		if !w.tick(deadline) {
			w.check.violate(invOnce, "not settled %s after faults stopped", drainFor)
			return
		}
	}
	if len(w.check.violations) > 0 {
		return
	}
	// Two more sweeps, as the deployment would run, then the end state.
	for range 2 {
		w.clock.Advance(sweepEvery)
		w.stepStart()
		w.exec(&task{actor: "sweeper-final", what: "sweep", run: func() { w.sweepOnce() }})
		w.stepEnd()
	}
	w.ic.settle(w.now())
	w.check.final()
}

// watch checks the time bounds while draining.
func (w *world) watch() {
	w.check.watch()
	w.after(watchEvery, "watchdog", "watch", w.watch)
}

// sweep runs the sweeper every sweepEvery, as the deployment's schedule does.
func (w *world) sweep() {
	w.sweepOnce()
	w.after(sweepEvery+time.Duration(w.rng.IntN(2000))*time.Millisecond, "sweeper", "sweep", w.sweep)
}

// sweepOnce runs one sweep; one that met no fault, nested step or
// throttling must have ended every overdue grant.
func (w *world) sweepOnce() {
	start := w.now()
	before := [3]int{w.faults, w.nests, w.throttled}
	var rep workflow.SweepOutput
	err := guard(func() error {
		var err error
		rep, err = w.flow.handlers.Sweep(w.ctx, nil)
		return err
	})
	w.sweeps++
	w.trace.event(w, "= Sweep expired %d restarted %d requests %d orphans %d missing %d untracked %d problems %v err=%v",
		rep.GrantsExpired, rep.GrantsRestarted, rep.RequestsExpired, rep.OrphansReleased, rep.AssignmentsMissing, rep.AssignmentsUntracked, rep.Problems, err)
	if err == nil && len(rep.Problems) == 0 && before == [3]int{w.faults, w.nests, w.throttled} {
		w.check.afterCleanSweep(start)
	}
}
