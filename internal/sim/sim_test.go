package sim

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/policy"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
)

func TestMain(m *testing.M) { motoserver.Main(m) }

// fixedRuns run in every `make test`: each catches a bug when its fix is
// reverted (docs/simulation.md says how that was shown; the regression
// tests are in internal/access/simfound_test.go and trust_test.go).
var fixedRuns = []simRun{
	{seed: 9, catches: "ebfe8fe: two tenants on one instance delete each other's access"},
	{seed: 5, separate: true, noOutsider: true, catches: "ebfe8fe: a revoke racing a creation leaves an untracked assignment"},
	{seed: 3, catches: "7df35db: a creation reported failed while its assignment exists"},
	{seed: 15, catches: "7df35db, again"},
	{seed: 20, catches: "97ba869: failed reissues of a creation make it look settled"},
	{seed: 62, catches: "56c2af5: a failed repair of a vanished assignment is not issued again"},
	{seed: 46, catches: "56c2af5, as an active grant whose assignment is gone"},
	{seed: 2, catches: "7df35db, and the default interleavings"},
}

// simRun is one seed of TestSimulation.
type simRun struct {
	seed uint64
	// separate and noOutsider narrow the load (Config.SeparateInstances,
	// Config.NoOutsider).
	separate, noOutsider bool
	catches              string
}

// args are the cmd/sim flags of a fixed run (for make sim SIM_ARGS=…).
func args(separate, noOutsider bool) string {
	var out []string
	if separate {
		out = append(out, "-separate-instances")
	}
	if noOutsider {
		out = append(out, "-no-outsider")
	}
	if len(out) == 0 {
		return ""
	}
	return fmt.Sprintf(" SIM_ARGS=%q", strings.Join(out, " "))
}

// The CI budget: perSeed lifecycles for each fixed seed and the random one,
// at least minLifecycles and minFaults in all. The race detector makes the
// simulator about ten times slower, so in `go test -race ./...` (make
// test-go) TestSimulation runs a smoke budget, raceSeed lifecycles a seed,
// and `make test-sim` runs the CI budget under -race on its own, with
// SIM_BUDGET=ci, printing the random seed. Without -race it is always the
// CI budget (a few seconds).
const (
	perSeed       = 1250
	raceSeed      = 150
	minLifecycles = 10000
	minFaults     = 1000
)

// TestSimulation runs the CI budget: the fixed seeds and one random seed
// (SIM_SEED pins it), at least 10,000 lifecycles and 1,000 injected faults.
// A failure prints the violation, the events that led to it and how to
// replay it.
func TestSimulation(t *testing.T) {
	random := randomSeed(t)
	runs := append(slices.Clone(fixedRuns), simRun{seed: random, catches: "random"})
	budget := perSeed
	if raceEnabled && os.Getenv("SIM_BUDGET") != "ci" {
		budget = raceSeed
		t.Logf("race detector on: %d lifecycles a seed (make test-sim runs the CI budget)", budget)
	}
	t.Logf("random seed %d (replay: make sim SEED=%d LIFECYCLES=%d)", random, random, budget)
	var (
		mu                  sync.Mutex
		lifecycles, faults  int
		steps, nests, sweep int
	)
	start := time.Now()
	t.Run("seeds", func(t *testing.T) {
		for _, run := range runs {
			name := strconv.FormatUint(run.seed, 10) + strings.ReplaceAll(args(run.separate, run.noOutsider), " SIM_ARGS=", "")
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				seed := run.seed
				res := Run(t.Context(), Config{Seed: seed, Lifecycles: budget, SeparateInstances: run.separate, NoOutsider: run.noOutsider})
				mu.Lock()
				lifecycles, faults, steps, nests, sweep = lifecycles+res.Lifecycles, faults+res.Faults, steps+res.Steps, nests+res.Nests, sweep+res.Sweeps
				mu.Unlock()
				for _, f := range res.Failures {
					t.Errorf("seed %d (catches %s) %s\nreplay: make sim SEED=%d LIFECYCLES=%d EPISODE=%d%s\n%s",
						seed, run.catches, f, seed, budget, f.Episode, args(run.separate, run.noOutsider), strings.Join(f.Trace, "\n"))
				}
			})
		}
	})
	t.Logf("%d lifecycles, %d faults injected, %d steps, %d nested, %d sweeps in %s", lifecycles, faults, steps, nests, sweep, time.Since(start).Round(time.Millisecond))
	if budget == perSeed && (lifecycles < minLifecycles || faults < minFaults) {
		t.Errorf("the budget is %d lifecycles and %d faults; want at least %d and %d", lifecycles, faults, minLifecycles, minFaults)
	}
}

// randomSeed is SIM_SEED, or a seed from crypto/rand.
func randomSeed(t *testing.T) uint64 {
	if s := os.Getenv("SIM_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SIM_SEED: %v", err)
		}
		return seed
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) % 1_000_000_000
}

// The same seed makes the same run, event for event; another seed another.
func TestDeterminism(t *testing.T) {
	run := func(seed uint64) Result {
		return Run(t.Context(), Config{Seed: seed, Lifecycles: 150, Digest: true})
	}
	a, b, c := run(11), run(11), run(12)
	if a.Digest == "" || a.Digest != b.Digest || a.Faults != b.Faults || a.Steps != b.Steps {
		t.Errorf("seed 11 twice: %s (%d faults, %d steps) and %s (%d, %d)", a.Digest, a.Faults, a.Steps, b.Digest, b.Faults, b.Steps)
	}
	if a.Digest == c.Digest {
		t.Error("seeds 11 and 12 made the same run")
	}
}

// A replay of one episode is that episode of the whole run.
func TestReplayOneEpisode(t *testing.T) {
	var whole, one strings.Builder
	Run(t.Context(), Config{Seed: 5, Lifecycles: 300, EpisodeSize: 100, Trace: &whole})
	res := Run(t.Context(), Config{Seed: 5, Lifecycles: 300, EpisodeSize: 100, Episodes: []int{1}, Trace: &one})
	if res.Episodes != 1 || one.Len() == 0 || !strings.Contains(whole.String(), one.String()) {
		t.Errorf("episode 1 alone ran %d episodes; its trace (%d bytes) is not the whole run's", res.Episodes, one.Len())
	}
}

// The tenants' policy variants are valid policy sets.
func TestPolicyVariantsParse(t *testing.T) {
	for i, text := range policyTexts {
		if _, err := policy.Parse(fmt.Sprintf("variant-%d.cedar", i), []byte(text)); err != nil {
			t.Errorf("variant %d: %v", i, err)
		}
	}
	if policyTexts[1] == policyTexts[0] || policyTexts[2] == policyTexts[0] {
		t.Error("a variant is the default policy set")
	}
}

func TestHasLabel(t *testing.T) {
	for _, tt := range []struct {
		text, label string
		want        bool
	}{
		{"store: g17 created", "g17", true},
		{"store: g170 created", "g17", false},
		{"store: g17", "g17", true},
		{"holders [g1 g17]", "g1", true},
		{"holders [g12 g17]", "g1", false},
		{"alice/111111111111/ReadOnly@i1 exists", "alice/111111111111/ReadOnly@i1", true},
	} {
		if got := hasLabel(tt.text, tt.label); got != tt.want {
			t.Errorf("hasLabel(%q, %q) = %t", tt.text, tt.label, got)
		}
	}
}

// A short run on DynamoDB (moto): the same invariants hold on the store the
// deployment uses. Skipped without moto, unless CI is set.
func TestSimulationOnDynamoDB(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("short")
	}
	srv := motoserver.Shared(t)
	client := dynamodb.NewFromConfig(srv.AWSConfig())
	res := Run(t.Context(), Config{Seed: 3, Lifecycles: 4, EpisodeSize: 4, Store: func(ctx context.Context, now func() time.Time) Backend {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		table := "sim-" + hex.EncodeToString(b)
		if err := dynamo.CreateTable(ctx, client, table); err != nil {
			t.Fatalf("CreateTable: %v\n%s", err, srv.Output())
		}
		return dynamo.New(client, dynamo.Options{Table: table, Now: now})
	}})
	t.Logf("%d lifecycles, %d faults, %d steps on DynamoDB", res.Lifecycles, res.Faults, res.Steps)
	for _, f := range res.Failures {
		t.Errorf("%s\n%s", f, strings.Join(f.Trace, "\n"))
	}
	if res.Lifecycles < 4 {
		t.Errorf("%d lifecycles, want 4", res.Lifecycles)
	}
}
