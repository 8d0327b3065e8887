// Package sim is a deterministic simulator of the grant lifecycle: it runs
// the real domain (access.Service, Steps and Operator), a real store and the
// sweeper under a seeded scheduler with a simulated clock, an Identity
// Center fake that behaves as AWS documents, Step Functions and EventBridge
// Scheduler models, and injected faults, and it checks the lifecycle's
// invariants after every step and at quiescence.
//
// The same seed gives the same run, byte for byte: one goroutine, one seeded
// PCG stream per episode, simulated time only, and no decision that depends
// on map iteration order. A failing seed prints the events that led to the
// violation. docs/simulation.md says what is modelled and what is not.
package sim
