package function

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/elevate-jit/elevate/internal/access"
)

// tenantSweeper answers SweepTenant from a table of tenants.
type tenantSweeper map[string]access.SweepReport

func (s tenantSweeper) Sweep(context.Context) (access.SweepReport, error) {
	return access.SweepReport{}, errors.New("not the consumer's job")
}

func (s tenantSweeper) SweepTenant(_ context.Context, id string) (access.SweepReport, error) {
	rep, ok := s[id]
	if !ok {
		return access.SweepReport{}, errors.New("boom")
	}
	return rep, nil
}

// The consumer reports exactly the messages whose tenant sweep found
// problems or failed, and those that name no tenant, as batch item
// failures.
func TestSweepTenantsReportsFailedMessages(t *testing.T) {
	s := tenantSweeper{
		"ok":      {Tenants: 1, GrantsExpired: 2},
		"problem": {Tenants: 1, Problems: []string{"tenant problem: stuck grants: x"}},
	}
	h := sweepTenants(s, slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		name   string
		bodies map[string]string // message id → body
		want   []string
	}{
		{"all swept", map[string]string{"m1": `{"tenant_id":"ok"}`}, nil},
		{"one with problems", map[string]string{"m1": `{"tenant_id":"ok"}`, "m2": `{"tenant_id":"problem"}`}, []string{"m2"}},
		{"one failing", map[string]string{"m1": `{"tenant_id":"gone"}`, "m2": `{"tenant_id":"ok"}`}, []string{"m1"}},
		{"malformed", map[string]string{"m1": `{}`, "m2": `[`}, []string{"m1", "m2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev events.SQSEvent
			for id, body := range tc.bodies {
				ev.Records = append(ev.Records, events.SQSMessage{MessageId: id, Body: body})
			}
			res, err := h(t.Context(), ev)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("failures %v, want %v", got, tc.want)
			}
		})
	}
}
