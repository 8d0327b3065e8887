//go:build race

package sim

// raceEnabled: under the race detector TestSimulation runs a smoke budget
// unless SIM_BUDGET=ci asks for the CI budget (make test-sim).
const raceEnabled = true
