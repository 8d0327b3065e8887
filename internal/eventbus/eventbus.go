// Package eventbus publishes Elevate's audit events on an EventBridge bus,
// so customers can route notifications with rules (docs/events.md).
package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/elevate-jit/elevate/internal/access"
)

// EventBridgeAPI is the part of the EventBridge client that Publisher uses.
type EventBridgeAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Source is the Source of every event Elevate publishes.
const Source = "elevate"

// Version is the version of the event detail schema (docs/events.md). It
// changes only when a field is removed or changes meaning.
const Version = "1"

// maxPutEvents is EventBridge's limit on entries per PutEvents call.
const maxPutEvents = 10

// Publisher is access.Publisher on EventBridge: every audit event
// becomes one event on the bus, so customers can route notifications with
// rules. The schema is documented in docs/events.md.
type Publisher struct {
	client EventBridgeAPI
	bus    string
}

var _ access.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher to the named event bus; an empty name
// means the account's default bus.
func NewPublisher(client EventBridgeAPI, busName string) *Publisher {
	return &Publisher{client: client, bus: busName}
}

// Publish puts one event per audit event, at most ten per call. Entries that
// EventBridge fails are retried once; the error says how many failed for good.
func (p *Publisher) Publish(ctx context.Context, events []access.AuditEvent) error {
	var errs []error
	failed := 0
	entries := make([]types.PutEventsRequestEntry, 0, len(events))
	for _, e := range events {
		entry, err := p.entry(e)
		if err != nil {
			failed++
			errs = append(errs, err)
			continue
		}
		entries = append(entries, entry)
	}
	for start := 0; start < len(entries); start += maxPutEvents {
		batch := entries[start:min(start+maxPutEvents, len(entries))]
		if n, err := p.put(ctx, batch); err != nil {
			failed += n
			errs = append(errs, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("publish events: %d of %d failed: %w", failed, len(events), errors.Join(errs...))
	}
	return nil
}

// put sends one batch, then once more the entries EventBridge failed. It
// returns how many entries were not published.
func (p *Publisher) put(ctx context.Context, batch []types.PutEventsRequestEntry) (int, error) {
	for attempt := 1; ; attempt++ {
		out, err := p.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: batch})
		if err != nil {
			return len(batch), fmt.Errorf("put events: %w", err)
		}
		if out.FailedEntryCount == 0 {
			return 0, nil
		}
		var retry []types.PutEventsRequestEntry
		var first string
		if len(out.Entries) == len(batch) {
			for i, r := range out.Entries {
				if r.ErrorCode != nil {
					retry = append(retry, batch[i])
					if first == "" {
						first = aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage)
					}
				}
			}
		}
		if len(retry) == 0 {
			return int(out.FailedEntryCount), fmt.Errorf("put events: %d entries failed, and the response does not say which", out.FailedEntryCount)
		}
		if attempt == 2 {
			return len(retry), fmt.Errorf("put events: %d entries failed after a retry (first: %s)", len(retry), first)
		}
		batch = retry
	}
}

// entry converts an audit event to an EventBridge entry.
func (p *Publisher) entry(e access.AuditEvent) (types.PutEventsRequestEntry, error) {
	detail, err := json.Marshal(newEventDetail(e))
	if err != nil {
		return types.PutEventsRequestEntry{}, fmt.Errorf("encode event %s (%s): %w", e.ID, e.Action, err)
	}
	entry := types.PutEventsRequestEntry{
		Source:     aws.String(Source),
		DetailType: aws.String(DetailType(e.Action)),
		Detail:     aws.String(string(detail)),
	}
	if p.bus != "" {
		entry.EventBusName = aws.String(p.bus)
	}
	if !e.At.IsZero() {
		entry.Time = aws.Time(e.At)
	}
	return entry, nil
}

// DetailType is the EventBridge detail type of an audit action, such as
// "elevate.grant.revoked" for "grant.revoked".
func DetailType(action string) string { return Source + "." + action }

// eventDetail is the detail of an Elevate event, version 1. Fields are only
// ever added to it; see docs/events.md.
type eventDetail struct {
	Version    string         `json:"version"`
	ID         string         `json:"id"`
	TenantID   string         `json:"tenant_id"`
	Action     string         `json:"action"`
	OccurredAt string         `json:"occurred_at"`
	Actor      eventActor     `json:"actor"`
	Object     eventObject    `json:"object"`
	Severity   string         `json:"severity"`
	Details    map[string]any `json:"details"`
}

type eventActor struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
}

type eventObject struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func newEventDetail(e access.AuditEvent) eventDetail {
	return eventDetail{
		Version: Version, ID: e.ID, TenantID: e.TenantID, Action: e.Action,
		OccurredAt: e.At.UTC().Format(time.RFC3339Nano),
		Actor:      eventActor{ID: e.ActorID, Kind: string(e.ActorKind)},
		Object:     eventObject{Type: e.ObjectType, ID: e.ObjectID},
		Severity:   string(e.Severity),
		Details:    scrub(e.Details),
	}
}

// sensitiveKeys are parts of a details key that mark a value as a secret.
// Audit details never hold one; this is a second line of defence, since an
// event leaves Elevate for whatever targets the customer routes it to.
var sensitiveKeys = []string{"token", "secret", "password", "passwd", "credential", "privatekey"}

// scrub copies details without keys that look like they hold secrets, at any
// depth. It never returns nil, so details is always a JSON object.
func scrub(details map[string]any) map[string]any {
	out := make(map[string]any, len(details))
	for k, v := range details {
		if sensitive(k) {
			continue
		}
		out[k] = scrubValue(v)
	}
	return out
}

func scrubValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return scrub(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = scrubValue(x)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(v))
		for i, x := range v {
			out[i] = scrub(x)
		}
		return out
	}
	return v
}

func sensitive(key string) bool {
	k := strings.NewReplacer("_", "", "-", "", ".", "", " ", "").Replace(strings.ToLower(key))
	for _, s := range sensitiveKeys {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}
