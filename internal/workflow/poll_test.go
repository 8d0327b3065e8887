package workflow_test

import (
	"testing"

	"github.com/elevate-jit/elevate/internal/workflow"
)

// TestPollWait checks the provisioning loop's waits: short first polls,
// then the old 5 s, and the 720 rounds of the stuck cap still within the
// hour they were.
func TestPollWait(t *testing.T) {
	for _, tc := range []struct{ steps, want int }{
		{0, 1}, {1, 1}, {2, 3}, {3, 5}, {719, 5}, {-1, 5},
	} {
		if got := workflow.PollWait(tc.steps); got != tc.want {
			t.Errorf("PollWait(%d) = %d, want %d", tc.steps, got, tc.want)
		}
	}
	total := 0
	for steps := range 720 {
		total += workflow.PollWait(steps)
	}
	if total > 3600 {
		t.Errorf("720 rounds wait %d s, more than the hour of the stuck cap", total)
	}
}
