package function

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/deploy"
)

// OutboxDecoder reads the new image of a stream record as the audit event
// its item holds.
type OutboxDecoder func(image map[string]events.DynamoDBAttributeValue) (access.AuditEvent, error)

// ProblemOutboxUndecodable is the problem the outbox logs for a stream
// item it cannot read as an audit event.
const ProblemOutboxUndecodable = "outbox_undecodable"

// publishBatch is how many events one Publish call carries: one
// EventBridge PutEvents request.
const publishBatch = 10

// publishEvents is the events-publish function's handler: the outbox. Every
// commit writes its audit events into the table with the state change; the
// table's stream brings the new audit items here (the stack's event source
// mapping passes on nothing else), and this publishes them on the event
// bus, in stream order, ten at a time.
//
// A batch that fails is reported as the batch item failure at its first
// record: Lambda hands that record and every later one of the shard to the
// function again, so nothing is lost and order holds; events before it
// that were published may be published again (delivery is at least once;
// consumers drop repeats by detail.id). After the mapping's retries the
// records' place in the stream goes to the outbox's dead-letter queue, and
// the audit trail still holds the events. An item that does not decode
// never will: it is logged as the problem ProblemOutboxUndecodable and
// left out, so that it cannot hold up the events after it.
func publishEvents(p access.Publisher, decode OutboxDecoder, log *slog.Logger) func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		res := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
		var batch []access.AuditEvent
		var first string // the sequence number of the batch's first record
		flush := func() bool {
			if len(batch) == 0 {
				return true
			}
			if err := p.Publish(ctx, batch); err != nil {
				log.ErrorContext(ctx, "publish events", "events", len(batch), "first_sequence_number", first, "error", err)
				res.BatchItemFailures = append(res.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: first})
				return false
			}
			batch = batch[:0]
			return true
		}
		published := 0
		for _, r := range ev.Records {
			if r.EventName != string(events.DynamoDBOperationTypeInsert) {
				continue // an audit item is written once; its removal by TTL is not an event
			}
			seq := r.Change.SequenceNumber
			e, err := decode(r.Change.NewImage)
			if err != nil {
				// It never will decode: retrying it would hold up every later
				// event of the shard, then drop them with it. It is left out,
				// loudly; the event stays in the audit trail.
				log.ErrorContext(ctx, "an outbox item does not decode; its event is not published", deploy.ProblemKey, ProblemOutboxUndecodable,
					"sequence_number", seq, "keys", fmt.Sprint(r.Change.Keys), "error", err)
				continue
			}
			if len(batch) == 0 {
				first = seq
			}
			batch = append(batch, e)
			published++
			if len(batch) == publishBatch && !flush() {
				return res, nil
			}
		}
		if !flush() {
			return res, nil
		}
		log.InfoContext(ctx, "published events", "records", len(ev.Records), "events", published)
		return res, nil
	}
}
