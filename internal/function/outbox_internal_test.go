package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/elevate-jit/elevate/internal/access"
)

// recordingPublisher records each Publish call's event ids and fails the
// calls failOn names (counted from 1).
type recordingPublisher struct {
	calls  [][]string
	failOn int
}

func (p *recordingPublisher) Publish(_ context.Context, evs []access.AuditEvent) error {
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	p.calls = append(p.calls, ids)
	if len(p.calls) == p.failOn {
		return errors.New("EventBridge is unavailable")
	}
	return nil
}

// decodeID is an outbox decoder for the tests: the event is the item's
// "id"; an item with "bad" does not decode.
func decodeID(image map[string]events.DynamoDBAttributeValue) (access.AuditEvent, error) {
	if _, bad := image["bad"]; bad {
		return access.AuditEvent{}, errors.New("not an audit item")
	}
	return access.AuditEvent{ID: image["id"].String()}, nil
}

// streamEvent makes a stream event of n records: INSERTs of items e1…en
// (sequence numbers s1…sn), with the changes edit makes.
func streamEvent(n int, edit func(i int, r *events.DynamoDBEventRecord)) events.DynamoDBEvent {
	var ev events.DynamoDBEvent
	for i := 1; i <= n; i++ {
		r := events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{
			SequenceNumber: fmt.Sprintf("s%d", i),
			NewImage:       map[string]events.DynamoDBAttributeValue{"id": events.NewStringAttribute(fmt.Sprintf("e%d", i))},
		}}
		if edit != nil {
			edit(i, &r)
		}
		ev.Records = append(ev.Records, r)
	}
	return ev
}

func ids(from, to int, skip ...int) []string {
	var out []string
	for i := from; i <= to; i++ {
		if !slices.Contains(skip, i) {
			out = append(out, fmt.Sprintf("e%d", i))
		}
	}
	return out
}

func TestPublishEvents(t *testing.T) {
	tests := []struct {
		name      string
		event     events.DynamoDBEvent
		failOn    int
		wantCalls [][]string
		wantRetry []string // the batch item failures' sequence numbers
	}{
		{name: "ten at a time, in stream order", event: streamEvent(23, nil),
			wantCalls: [][]string{ids(1, 10), ids(11, 20), ids(21, 23)}},
		{name: "only inserts are events", event: streamEvent(4, func(i int, r *events.DynamoDBEventRecord) {
			if i == 2 {
				r.EventName = "REMOVE" // the audit item's TTL ran out
			}
		}), wantCalls: [][]string{ids(1, 4, 2)}},
		{name: "a failed batch is delivered again from its first record, and nothing after it is published",
			event: streamEvent(25, nil), failOn: 2,
			wantCalls: [][]string{ids(1, 10), ids(11, 20)}, wantRetry: []string{"s11"}},
		// It never will: retrying it would hold up every later event of its
		// shard and then drop them with it. It stays in the audit trail.
		{name: "an item that does not decode is left out, and the events after it are published",
			event: streamEvent(6, func(i int, r *events.DynamoDBEventRecord) {
				if i == 1 || i == 4 {
					r.Change.NewImage["bad"] = events.NewBooleanAttribute(true)
				}
			}),
			wantCalls: [][]string{ids(2, 6, 4)}},
		{name: "a failed batch is delivered again from its first record, past an item left out",
			event: streamEvent(6, func(i int, r *events.DynamoDBEventRecord) {
				if i == 1 {
					r.Change.NewImage["bad"] = events.NewBooleanAttribute(true)
				}
			}), failOn: 1,
			wantCalls: [][]string{ids(2, 6)}, wantRetry: []string{"s2"}},
		{name: "an empty event publishes nothing", event: events.DynamoDBEvent{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &recordingPublisher{failOn: tc.failOn}
			res, err := publishEvents(p, decodeID, slog.New(slog.DiscardHandler))(t.Context(), tc.event)
			if err != nil {
				t.Fatalf("the handler failed the whole batch: %v", err)
			}
			if !slices.EqualFunc(p.calls, tc.wantCalls, slices.Equal) {
				t.Errorf("published %v, want %v", p.calls, tc.wantCalls)
			}
			var retry []string
			for _, f := range res.BatchItemFailures {
				retry = append(retry, f.ItemIdentifier)
			}
			if !slices.Equal(retry, tc.wantRetry) {
				t.Errorf("batch item failures %v, want %v", retry, tc.wantRetry)
			}
			if res.BatchItemFailures == nil {
				t.Error("batch item failures are null; Lambda reads that as a failed batch")
			}
		})
	}
}
