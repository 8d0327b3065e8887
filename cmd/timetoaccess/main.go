// Command timetoaccess estimates approval → active for an Identity Center
// creation latency (make timetoaccess). It simulates, on a virtual clock,
// the provisioning loop of the state machine (internal/workflow: Provision,
// Provisioned, WaitToProvision with the step's wait_seconds, CountProvisionStep)
// over the domain's steps: the first round creates the assignment
// (AssignmentExists, CreateAssignment), each later round polls its creation
// status once and activates the grant in the same round once Identity
// Center has settled it. It prints, for the new waits (workflow.PollWait)
// and the old fixed 5 s, the time to access and the Identity Center calls
// per grant.
//
// It is a simulation and not a run on moto's Step Functions engine: moto
// honours SecondsPath (the workflow tests execute the definition on it),
// but it cannot run the Lambda functions, so it cannot answer "done" at the
// moment a creation settles; the loop's logic is what this reproduces.
package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/elevate-jit/elevate/internal/workflow"
)

func main() {
	step := flag.Duration("step", 250*time.Millisecond, "one round's own time: the Lambda invocation, its DynamoDB and Identity Center calls, and the state transitions")
	flag.Parse()
	fmt.Printf("one round takes %v besides its wait; approval → active, and Identity Center calls per grant\n\n", *step)
	fmt.Printf("| creation latency | old: fixed 5 s | calls | new: 1 s, 1 s, 3 s, then 5 s | calls | new − latency |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, latency := range []time.Duration{500 * time.Millisecond, 2 * time.Second, 10 * time.Second} {
		oldT, oldCalls := simulate(latency, *step, func(int) int { return workflow.MaxPollWait })
		newT, newCalls := simulate(latency, *step, workflow.PollWait)
		fmt.Printf("| %v | %.2f s | %d | %.2f s | %d | %.2f s |\n", latency, oldT.Seconds(), oldCalls, newT.Seconds(), newCalls, (newT - latency).Seconds())
	}
}

// simulate runs the loop from the approval (time 0) until the grant is
// active; wait is the loop's wait after round n.
func simulate(latency, step time.Duration, wait func(int) int) (time.Duration, int) {
	now := step // round 0: AssignmentExists and CreateAssignment
	calls := 2
	settled := now + latency
	for n := 0; n < 720; n++ {
		now += time.Duration(wait(n)) * time.Second
		now += step // round n+1: one CreationStatus
		calls++
		if now-step/2 >= settled { // the status call is made mid-round
			return now, calls
		}
	}
	return now, calls
}
