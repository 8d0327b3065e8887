//go:build race

package sim

// raceEnabled: the race detector makes the simulator about four times
// slower, so under -race TestSimulation runs a smoke budget; `make test`
// runs the CI budget without it (make test-sim).
const raceEnabled = true
