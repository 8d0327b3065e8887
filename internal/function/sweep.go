package function

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/elevate-jit/elevate/internal/sweeptask"
)

// sweepTenants is the sweep queue consumer's handler: it sweeps the tenant
// each message names and reports the messages whose sweep found problems
// (or that name no tenant) as batch item failures, so SQS delivers them
// again and, after the queue's receive limit, moves them to its dead-letter
// queue. The stack's event source mapping reports batch item failures.
func sweepTenants(s sweeper, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		res := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		fail := func(id string) {
			res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
		}
		for _, m := range ev.Records {
			msg, err := sweeptask.Parse(m.Body)
			if err != nil {
				log.ErrorContext(ctx, "sweep message", "message_id", m.MessageId, "error", err)
				fail(m.MessageId)
				continue
			}
			rep, err := s.SweepTenant(ctx, msg.TenantID)
			level := slog.LevelInfo
			if err != nil || len(rep.Problems) > 0 {
				level = slog.LevelError
				fail(m.MessageId)
			}
			log.Log(ctx, level, "sweep tenant", "tenant_id", msg.TenantID, "grants_expired", rep.GrantsExpired,
				"grants_restarted", rep.GrantsRestarted, "grants_started", rep.GrantsStarted, "requests_expired", rep.RequestsExpired, "problems", rep.Problems, "error", err)
		}
		return res, nil
	}
}
