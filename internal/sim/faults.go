package sim

import (
	"errors"
	"fmt"

	"github.com/elevate-jit/elevate/internal/access"
)

// fault is what the simulator does to one AWS call.
type fault int

const (
	faultNone fault = iota
	// faultBefore: the call fails and nothing happened.
	faultBefore
	// faultAfter: the call took effect but its answer was lost (a timeout,
	// a connection reset), so the caller sees an error.
	faultAfter
	// faultCrashBefore: the calling step dies just before the call.
	faultCrashBefore
	// faultCrashAfter: the calling step dies just after the call took effect.
	faultCrashAfter
	// faultThrottle: the call is throttled beyond the adapter's own retries.
	faultThrottle
	// faultOpFails: the asynchronous operation the call starts ends FAILED.
	faultOpFails
	faultKinds
)

var faultNames = [faultKinds]string{"none", "error-before", "answer-lost", "crash-before", "crash-after", "throttled", "operation-fails"}

func (f fault) String() string { return faultNames[f] }

// callKind says which faults make sense for a call.
type callKind int

const (
	// read: no effect, so an answer lost is an error before it.
	read callKind = iota
	// write: has an effect.
	write
	// async: starts an Identity Center operation that may end FAILED.
	async
)

// errInjected is the error of a call that failed before it took effect.
var errInjected = errors.New("injected fault: InternalFailure")

// errLost is the error of a call whose answer was lost after it took effect.
var errLost = errors.New("injected fault: the answer was lost (timeout)")

// fault decides the fault of one call: none with probability 1-FaultRate,
// else one of the kinds that fit the call. Every fault is traced and counted.
func (w *world) fault(call string, kind callKind, tag string) fault {
	if !w.faultsOn || w.rng.Float64() >= w.cfg.FaultRate {
		return faultNone
	}
	var f fault
	switch r := w.rng.IntN(100); {
	case kind == async && r < 25:
		f = faultOpFails
	case r < 30:
		f = faultBefore
	case r < 55:
		f = faultAfter
	case r < 67:
		f = faultCrashBefore
	case r < 79:
		f = faultCrashAfter
	case r < 92:
		f = faultThrottle
	default:
		f = faultOpFails
	}
	if kind == read && f == faultAfter {
		f = faultBefore
	}
	if kind == read && f == faultCrashAfter {
		f = faultCrashBefore
	}
	if kind != async && f == faultOpFails {
		f = faultAfter
		if kind == read {
			f = faultBefore
		}
	}
	w.faults++
	w.faultsByKind[f]++
	w.trace.event(w, "⚡ %s %s %s", f, call, tag)
	return f
}

// crashNow kills the current step.
func crashNow(call string) { panic(crash{call: call}) }

// errThrottled is how the Identity Center adapter reports throttling it
// could not wait out.
func errThrottled(call string) error {
	return fmt.Errorf("%s: gave up after 5 attempts: %w: ThrottlingException: Rate exceeded", call, access.ErrRetryLater)
}
