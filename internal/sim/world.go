package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/clock"
	"github.com/elevate-jit/elevate/internal/store/memstore"
	"github.com/elevate-jit/elevate/internal/workflow"
)

// epoch is when every episode starts: a Monday morning, far enough ahead
// that the store's TTL checks and the simulated clock agree.
var epoch = time.Date(2031, 3, 3, 9, 0, 0, 0, time.UTC)

// world is one episode: a deployment with its tenants, from an empty store
// to quiescence.
type world struct {
	ctx   context.Context
	cfg   Config
	ep    int
	rng   *rand.Rand
	clock *clock.Fake

	backend Backend
	store   *store
	ic      *identityCenter
	flow    *flow
	svc     *access.Service
	steps   *access.Steps
	op      *access.Operator
	tenants []*tenant

	q       queue
	running map[string]int
	depth   int
	stack   []*task

	faultsOn      bool
	draining      bool
	faultsStopped time.Time
	loadDone      bool

	trace   tracer
	check   *checker
	labels  map[string]string
	counter map[byte]int
	ids     int
	// idemKeys numbers the clients' idempotency keys.
	idemKeys int

	// quota is how many lifecycles the episode records; created counts
	// the attempts.
	quota   int
	created int

	// figures
	lifecycles     int
	executed       int
	faults         int
	faultsByKind   [faultKinds]int
	duplicates     int
	deliveryFaults int
	throttled      int
	nests          int
	sweeps         int
	apiCalls       int
	pendingAPI     int
}

func (w *world) now() time.Time { return w.clock.Now() }

// newWorld wires the real domain to the simulator's store, Identity Center
// and workflow.
func newWorld(ctx context.Context, cfg Config, ep int) *world {
	w := &world{
		ctx: ctx, cfg: cfg, ep: ep,
		rng:     rand.New(rand.NewPCG(cfg.Seed, uint64(ep))),
		clock:   clock.NewFake(epoch),
		running: map[string]int{},
		labels:  map[string]string{},
		counter: map[byte]int{},
	}
	if cfg.Store != nil {
		w.backend = cfg.Store(ctx, w.clock.Now)
	} else {
		w.backend = memstore.New(memstore.WithClock(w.clock.Now))
	}
	w.store = &store{Backend: w.backend, w: w}
	w.ic = newIdentityCenter(w)
	w.flow = newFlow(w)
	w.check = newChecker(w)
	c := access.Config{
		Store: w.store, Workflow: w.flow, Scheduler: w.flow, IdentityCenter: w.ic, DB: w.ic,
		ProtectedAccounts: protectedAccounts, Now: w.clock.Now,
		NewID: func() string {
			w.ids++
			return fmt.Sprintf("00000000-0000-7000-8000-%012d", w.ids)
		},
		Report: func(_ context.Context, p access.Problem) {
			w.trace.event(w, "problem %s: %s: %v", p.Kind, p.Message, p.Err)
		},
	}
	w.svc, w.steps, w.op = access.NewService(c), access.NewSteps(c), access.NewOperator(c)
	w.flow.handlers = workflow.Handlers{Steps: w.steps, Tokens: w.steps, Resumer: w.flow, Sweeper: w.op}
	return w
}

// stepStart and stepEnd bracket a top-level step: the checker runs after it.
func (w *world) stepStart() {
	w.trace.step++
	w.check.stepStart()
}

func (w *world) stepEnd() {
	w.check.afterStep()
}

// current is the innermost running task.
func (w *world) current() *task {
	if len(w.stack) == 0 {
		return nil
	}
	return w.stack[len(w.stack)-1]
}
