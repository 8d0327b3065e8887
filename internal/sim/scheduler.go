package sim

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// nestWindow is how far ahead a task may be to run inside another step: a
// task due within it is as good as running at the same time.
const nestWindow = 3 * time.Second

// A task is one step of one actor: a workflow task of an execution, an
// expiry delivery, an API call, a sweep. The scheduler runs one task per
// tick; an actor never runs two of its tasks at once.
type task struct {
	due   time.Time
	seq   uint64
	actor string
	what  string
	run   func()
	dead  bool
	lc    *lifecycle // the lifecycle an API call belongs to, if any
	index int        // in the heap, -1 once popped
}

// queue holds tasks not yet due (a heap by due time, then sequence) and
// tasks that are due (in the order they became due).
type queue struct {
	future taskHeap
	ready  []*task
	seq    uint64
}

type taskHeap []*task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h taskHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *taskHeap) Push(x any) {
	t := x.(*task)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}

// add schedules a task.
func (q *queue) add(t *task) *task {
	q.seq++
	t.seq = q.seq
	heap.Push(&q.future, t)
	return t
}

// promote moves every task due at now to the ready list.
func (q *queue) promote(now time.Time) {
	for len(q.future) > 0 && !q.future[0].due.After(now) {
		t := heap.Pop(&q.future).(*task)
		if !t.dead {
			q.ready = append(q.ready, t)
		}
	}
}

// nextDue is the due time of the earliest future task.
func (q *queue) nextDue() (time.Time, bool) {
	for len(q.future) > 0 && q.future[0].dead {
		heap.Pop(&q.future)
	}
	if len(q.future) == 0 {
		return time.Time{}, false
	}
	return q.future[0].due, true
}

// take removes and returns a random ready task whose actor ok accepts, or nil.
func (q *queue) take(rng *rand.Rand, ok func(*task) bool) *task {
	var candidates []int
	for i, t := range q.ready {
		if !t.dead && ok(t) {
			candidates = append(candidates, i)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	i := candidates[rng.IntN(len(candidates))]
	t := q.ready[i]
	q.ready = append(q.ready[:i], q.ready[i+1:]...)
	return t
}

// takeSoon removes and returns a random task due by until (ready, or in the
// near future) whose actor ok accepts, or nil.
func (q *queue) takeSoon(rng *rand.Rand, until time.Time, ok func(*task) bool) *task {
	var candidates []*task
	for _, t := range q.ready {
		if !t.dead && ok(t) {
			candidates = append(candidates, t)
		}
	}
	for _, t := range q.future {
		if !t.dead && !t.due.After(until) && ok(t) {
			candidates = append(candidates, t)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	slices.SortFunc(candidates, func(a, b *task) int { return cmp.Compare(a.seq, b.seq) })
	t := candidates[rng.IntN(len(candidates))]
	if t.index >= 0 {
		heap.Remove(&q.future, t.index)
	} else {
		q.ready = slices.DeleteFunc(q.ready, func(x *task) bool { return x == t })
	}
	return t
}

// crash is the panic value of a step that dies between two calls (a Lambda
// killed or timed out); the step's guard turns it into an error.
type crash struct{ call string }

func (c crash) Error() string { return "step crashed around " + c.call }

// errCrashed matches every crash.
var errCrashed = errors.New("step crashed")

func (c crash) Is(target error) bool { return target == errCrashed }

// guard runs a step's domain call; a crash injected in one of its calls
// ends it early with an error, as a killed Lambda does.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(crash)
			if !ok {
				panic(r)
			}
			err = c
		}
	}()
	return fn()
}

// schedule adds a task for actor at due.
func (w *world) schedule(due time.Time, actor, what string, run func()) *task {
	return w.q.add(&task{due: due, actor: actor, what: what, run: run})
}

// after schedules a task d from now.
func (w *world) after(d time.Duration, actor, what string, run func()) *task {
	return w.schedule(w.now().Add(d), actor, what, run)
}

// tick runs one task: a random one of those due, after moving the clock to
// the next due task when none is. It reports false when no task is left or
// the next one is after until.
func (w *world) tick(until time.Time) bool {
	w.q.promote(w.now())
	t := w.q.take(w.rng, func(*task) bool { return true })
	if t == nil {
		due, ok := w.q.nextDue()
		if !ok || due.After(until) {
			return false
		}
		w.clock.Advance(due.Sub(w.now()))
		w.q.promote(w.now())
		if t = w.q.take(w.rng, func(*task) bool { return true }); t == nil {
			return false
		}
	}
	if w.running[t.actor] > 0 {
		// Cannot happen at the top level (nothing runs between ticks).
		panic(fmt.Sprintf("actor %s already running", t.actor))
	}
	w.stepStart()
	w.exec(t)
	w.stepEnd()
	// A step takes time: a Lambda's run, a call's round trip.
	w.clock.Advance(time.Duration(5+w.rng.IntN(400)) * time.Millisecond)
	return true
}

// exec runs a task, marking its actor running.
func (w *world) exec(t *task) {
	w.running[t.actor]++
	w.depth++
	w.stack = append(w.stack, t)
	w.trace.event(w, "▶ %s", t.what)
	t.run()
	w.stack = w.stack[:len(w.stack)-1]
	w.depth--
	w.running[t.actor]--
	w.executed++
}

// maybeNest runs another actor's due task inside the current call, with a
// small probability: the interleavings a step meets between its own calls.
// Only top-level steps host one, so a nest is one level deep.
func (w *world) maybeNest(call string) {
	if w.depth != 1 || w.rng.Float64() >= w.cfg.NestRate {
		return
	}
	t := w.q.takeSoon(w.rng, w.now().Add(nestWindow), func(t *task) bool { return w.running[t.actor] == 0 })
	if t == nil {
		return
	}
	w.nests++
	w.trace.event(w, "⤷ inside %s", call)
	w.exec(t)
}
