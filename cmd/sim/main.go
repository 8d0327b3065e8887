// Command sim runs the lifecycle simulator (internal/sim, docs/simulation.md)
// for a seed and a number of lifecycles, or replays one episode of a run
// with its whole trace. It prints what each failing episode broke and the
// events that led to it; its last line is one JSON object:
// {"seed":…,"lifecycles":…,"faults_injected":…,"violations":…}.
package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/sim"
)

func main() {
	seed := flag.Uint64("seed", 0, "the seed (0: a random one)")
	lifecycles := flag.Int("lifecycles", 10000, "how many requests and direct grants to simulate")
	episode := flag.Int("episode", -1, "replay only this episode of the run, printing its whole trace")
	episodeSize := flag.Int("episode-size", 0, "lifecycles per episode (default 150)")
	faultRate := flag.Float64("fault-rate", 0, "probability of a fault per AWS call (default 0.03)")
	nestRate := flag.Float64("nest-rate", 0, "probability that a call hosts another step (default 0.04)")
	separate := flag.Bool("separate-instances", false, "give tenant B's load to tenant A: no two tenants on one Identity Center instance")
	noOutsider := flag.Bool("no-outsider", false, "nobody deletes assignments behind Elevate's back")
	flag.Parse()
	if *seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		*seed = binary.LittleEndian.Uint64(b[:])%1_000_000_000 + 1
	}
	cfg := sim.Config{Seed: *seed, Lifecycles: *lifecycles, EpisodeSize: *episodeSize, FaultRate: *faultRate, NestRate: *nestRate, Digest: true,
		SeparateInstances: *separate, NoOutsider: *noOutsider}
	if *episode >= 0 {
		cfg.Episodes = []int{*episode}
		cfg.Trace = os.Stdout
	}
	start := time.Now()
	res := sim.Run(context.Background(), cfg)
	for _, f := range res.Failures {
		fmt.Printf("\n✗ seed %d %s\nreplay: make sim SEED=%d LIFECYCLES=%d EPISODE=%d\n%s\n", res.Seed, f, res.Seed, *lifecycles, f.Episode, strings.Join(f.Trace, "\n"))
	}
	kinds := make([]string, 0, len(res.FaultsByKind))
	for k, n := range res.FaultsByKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(kinds)
	// Standard output is the same for the same flags, byte for byte; the
	// wall-clock time goes to standard error.
	fmt.Fprintf(os.Stderr, "simulated in %s\n", time.Since(start).Round(time.Millisecond))
	fmt.Printf("%d episodes, %d steps (%d nested), %d sweeps; faults: %s, duplicated tasks %d, expiry deliveries late/twice/never %d; digest %s\n",
		res.Episodes, res.Steps, res.Nests, res.Sweeps, strings.Join(kinds, ", "), res.Duplicates, res.DeliveryFaults, res.Digest)
	outcomes := make([]string, 0, len(res.Outcomes))
	for k, n := range res.Outcomes {
		outcomes = append(outcomes, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(outcomes)
	fmt.Printf("outcomes: %s\n", strings.Join(outcomes, ", "))
	line, _ := json.Marshal(struct {
		Seed       uint64 `json:"seed"`
		Lifecycles int    `json:"lifecycles"`
		Faults     int    `json:"faults_injected"`
		Violations int    `json:"violations"`
	}{res.Seed, res.Lifecycles, res.Faults, res.Violations})
	fmt.Println(string(line))
	if res.Violations > 0 {
		os.Exit(1)
	}
}
