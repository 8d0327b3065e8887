package eventbus_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/google/uuid"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/eventbus"
	"github.com/elevate-jit/elevate/internal/motoserver"
)

func TestMain(m *testing.M) { motoserver.Main(m) }

// eventsAt is the fixed time of the first event in the publisher tests.
var eventsAt = time.Date(2030, 6, 1, 12, 0, 0, 123456000, time.UTC)

const testTenant = "7d2e9a41-1b3c-4d5e-8f70-9a8b7c6d5e4f"

// auditEvents returns n audit events cycling through requests, grants and
// API keys, a second apart.
func auditEvents(n int) []access.AuditEvent {
	kinds := []struct {
		action, objectType string
		severity           access.Severity
		details            map[string]any
	}{
		{"request.created", "request", access.SeverityInfo, map[string]any{"status": "pending", "break_glass": false, "duration_seconds": 3600}},
		{"grant.created", "grant", access.SeverityInfo, map[string]any{"request_id": "r-1"}},
		{"grant.activated", "grant", access.SeverityInfo, map[string]any{"expires_at": "2030-06-01T13:00:00Z", "assignments": 1}},
		{"grant.revoked", "grant", access.SeverityInfo, map[string]any{"reason": ""}},
		{"api_key.created", "api_key", access.SeverityHigh, map[string]any{"name": "ci", "role": "requester"}},
	}
	events := make([]access.AuditEvent, n)
	for i := range events {
		k := kinds[i%len(kinds)]
		events[i] = access.AuditEvent{
			ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), TenantID: testTenant, At: eventsAt.Add(time.Duration(i) * time.Second),
			ActorID: "alice", ActorKind: access.PrincipalUser, Action: k.action, Severity: k.severity,
			ObjectType: k.objectType, ObjectID: fmt.Sprintf("obj-%d", i), Details: k.details,
			ExpiresAt: eventsAt.Add(365 * 24 * time.Hour),
		}
	}
	return events
}

// countingEventBridge wraps a client and records the size of each PutEvents call.
type countingEventBridge struct {
	next eventbus.EventBridgeAPI
	mu   sync.Mutex
	puts []int
}

func (c *countingEventBridge) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	c.mu.Lock()
	c.puts = append(c.puts, len(in.Entries))
	c.mu.Unlock()
	return c.next.PutEvents(ctx, in, opts...)
}

// received is an EventBridge event as a rule delivers it to SQS.
type received struct {
	Source     string         `json:"source"`
	DetailType string         `json:"detail-type"`
	Time       string         `json:"time"`
	Detail     map[string]any `json:"detail"`
}

func TestPublisherMoto(t *testing.T) {
	srv := motoserver.Shared(t)
	cfg := srv.AWSConfig()
	ctx := t.Context()
	eb := eventbridge.NewFromConfig(cfg)
	bus := "elv-test-" + uuid.NewString()[:8]
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatalf("CreateEventBus: %v\n%s", err, srv.Output())
	}
	q := newSQSQueue(t, cfg, srv.URL, bus)
	// The break-glass routing rule of docs/events.md.
	high := newSQSQueue(t, cfg, srv.URL, bus+"-high")
	for _, r := range []struct{ rule, pattern, queueARN string }{
		{"all-elevate", `{"source":["elevate"]}`, q.arn},
		{"high-severity", `{"source":["elevate"],"detail":{"severity":["high"]}}`, high.arn},
	} {
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{
			Name: aws.String(r.rule), EventBusName: aws.String(bus), EventPattern: aws.String(r.pattern),
		}); err != nil {
			t.Fatalf("PutRule %s: %v", r.rule, err)
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
			Rule: aws.String(r.rule), EventBusName: aws.String(bus), Targets: []types.Target{{Id: aws.String("queue"), Arn: aws.String(r.queueARN)}},
		}); err != nil {
			t.Fatalf("PutTargets %s: %v", r.rule, err)
		}
	}

	counter := &countingEventBridge{next: eb}
	p := eventbus.NewPublisher(counter, bus)
	events := auditEvents(23)
	// A key that looks like a secret never leaves Elevate, at any depth.
	events[0].Details = map[string]any{"status": "pending", "session_token": "x", "nested": map[string]any{"ClientSecret": "y", "kept": 1}}
	// A break-glass request is high severity, as are API key events.
	events[5].Severity, events[5].Details = access.SeverityHigh, map[string]any{"status": "approved", "break_glass": true}
	if err := p.Publish(ctx, events); err != nil {
		t.Fatal(err)
	}
	if want := []int{10, 10, 3}; !reflect.DeepEqual(counter.puts, want) {
		t.Errorf("PutEvents calls of %v entries, want %v", counter.puts, want)
	}

	got := q.receive(t, len(events), 10*time.Second)
	byID := map[string]received{}
	for _, r := range got {
		id, _ := r.Detail["id"].(string)
		byID[id] = r
	}
	if len(byID) != len(events) {
		t.Fatalf("%d distinct events arrived, want %d", len(byID), len(events))
	}
	for _, e := range events {
		r, ok := byID[e.ID]
		if !ok {
			t.Errorf("event %s (%s) did not arrive", e.ID, e.Action)
			continue
		}
		if r.Source != "elevate" || r.DetailType != "elevate."+e.Action {
			t.Errorf("event %s: source %q, detail-type %q; want elevate, elevate.%s", e.ID, r.Source, r.DetailType, e.Action)
		}
		if want := e.At.Truncate(time.Second).Format(time.RFC3339); r.Time != want {
			t.Errorf("event %s: time %s, want %s", e.ID, r.Time, want)
		}
		if r.Detail["action"] != e.Action || r.Detail["object"].(map[string]any)["id"] != e.ObjectID {
			t.Errorf("event %s: detail %v does not match the audit event", e.ID, r.Detail)
		}
	}

	var wantHigh, gotHigh []string
	for _, e := range events {
		if e.Severity == access.SeverityHigh {
			wantHigh = append(wantHigh, e.ID)
		}
	}
	for _, r := range high.receive(t, len(wantHigh), 10*time.Second) {
		gotHigh = append(gotHigh, r.Detail["id"].(string))
	}
	slices.Sort(gotHigh)
	if len(wantHigh) != 5 || !slices.Equal(gotHigh, wantHigh) {
		t.Errorf("the high-severity rule delivered %v, want %v", gotHigh, wantHigh)
	}

	// The schema, field by field, of the first event as a rule target sees it.
	want := map[string]any{
		"version":     "1",
		"id":          events[0].ID,
		"tenant_id":   testTenant,
		"action":      "request.created",
		"occurred_at": "2030-06-01T12:00:00.123456Z",
		"actor":       map[string]any{"id": "alice", "kind": "user"},
		"object":      map[string]any{"type": "request", "id": "obj-0"},
		"severity":    "info",
		"details":     map[string]any{"status": "pending", "nested": map[string]any{"kept": float64(1)}},
	}
	if got := byID[events[0].ID].Detail; !reflect.DeepEqual(got, want) {
		t.Errorf("detail =\n%v\nwant\n%v", jsonString(got), jsonString(want))
	}
	if d := byID[events[4].ID].Detail; d["severity"] != "high" || d["object"].(map[string]any)["type"] != "api_key" {
		t.Errorf("API key event detail = %v, want severity high and object type api_key", jsonString(d))
	}
}

func jsonString(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// fakeEventBridge answers PutEvents with a function of the call number and
// records what each call sent.
type fakeEventBridge struct {
	answer func(call int, in *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error)
	sent   [][]types.PutEventsRequestEntry
}

func (f *fakeEventBridge) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.sent = append(f.sent, in.Entries)
	return f.answer(len(f.sent), in)
}

// failing answers with the entries at the given indexes failed.
func failing(in *eventbridge.PutEventsInput, indexes ...int) *eventbridge.PutEventsOutput {
	out := &eventbridge.PutEventsOutput{Entries: make([]types.PutEventsResultEntry, len(in.Entries))}
	for i := range out.Entries {
		out.Entries[i].EventId = aws.String(fmt.Sprintf("ev-%d", i))
	}
	for _, i := range indexes {
		out.Entries[i] = types.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again")}
		out.FailedEntryCount++
	}
	return out
}

func detailID(t *testing.T, e types.PutEventsRequestEntry) string {
	t.Helper()
	var d struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
		t.Fatalf("detail is not JSON: %v", err)
	}
	return d.ID
}

func TestPublisherPartialFailure(t *testing.T) {
	events := auditEvents(3)
	callErr := errors.New("connection reset")
	tests := []struct {
		name      string
		answer    func(call int, in *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error)
		wantCalls []int // entries per call
		wantErr   string
	}{
		{"one entry fails, then succeeds on retry", func(call int, in *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
			if call == 1 {
				return failing(in, 1), nil
			}
			return failing(in), nil
		}, []int{3, 1}, ""},
		{"one entry keeps failing", func(_ int, in *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
			return failing(in, len(in.Entries)-1), nil
		}, []int{3, 1}, "1 of 3 failed"},
		{"the call fails", func(int, *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
			return nil, callErr
		}, []int{3}, "3 of 3 failed"},
		{"failed count without saying which", func(_ int, in *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
			return &eventbridge.PutEventsOutput{FailedEntryCount: 2}, nil
		}, []int{3}, "2 of 3 failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEventBridge{answer: tt.answer}
			err := eventbus.NewPublisher(f, "bus").Publish(t.Context(), events)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Publish: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Publish: %v, want an error saying %q", err, tt.wantErr)
			}
			var calls []int
			for _, s := range f.sent {
				calls = append(calls, len(s))
			}
			if !reflect.DeepEqual(calls, tt.wantCalls) {
				t.Fatalf("PutEvents calls of %v entries, want %v", calls, tt.wantCalls)
			}
			if len(f.sent) == 2 {
				// The retry resends exactly the failed entry.
				failedIdx := 1
				if tt.wantErr != "" {
					failedIdx = 2
				}
				if got, want := detailID(t, f.sent[1][0]), events[failedIdx].ID; got != want {
					t.Errorf("retried event %s, want %s", got, want)
				}
			}
		})
	}
	t.Run("the call's error is wrapped", func(t *testing.T) {
		f := &fakeEventBridge{answer: func(int, *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) { return nil, callErr }}
		if err := eventbus.NewPublisher(f, "bus").Publish(t.Context(), events); !errors.Is(err, callErr) {
			t.Errorf("Publish: %v, want one wrapping %v", err, callErr)
		}
	})
}

func TestPublisherEntries(t *testing.T) {
	f := &fakeEventBridge{answer: func(_ int, in *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
		return failing(in), nil
	}}
	e := auditEvents(1)[0]
	e.Action, e.ObjectType, e.Severity = "grant.created_direct", "grant", access.SeverityHigh
	e.Details = map[string]any{
		"reasoning": "incident 42", "token": "t", "API_TOKEN": "t", "client-secret": "s", "password": "p",
		"private_key": "k", "aws_credentials": "c",
		"list": []any{map[string]any{"refresh_token": "r", "ok": true}},
	}
	if err := eventbus.NewPublisher(f, "elevate-bus").Publish(t.Context(), []access.AuditEvent{e}); err != nil {
		t.Fatal(err)
	}
	got := f.sent[0][0]
	if aws.ToString(got.Source) != "elevate" || aws.ToString(got.DetailType) != "elevate.grant.created_direct" ||
		aws.ToString(got.EventBusName) != "elevate-bus" || !aws.ToTime(got.Time).Equal(e.At) {
		t.Errorf("entry = source %q, detail type %q, bus %q, time %v", aws.ToString(got.Source), aws.ToString(got.DetailType),
			aws.ToString(got.EventBusName), aws.ToTime(got.Time))
	}
	want := `{"version":"1","id":"00000000-0000-4000-8000-000000000000","tenant_id":"` + testTenant + `","action":"grant.created_direct",` +
		`"occurred_at":"2030-06-01T12:00:00.123456Z","actor":{"id":"alice","kind":"user"},"object":{"type":"grant","id":"obj-0"},` +
		`"severity":"high","details":{"list":[{"ok":true}],"reasoning":"incident 42"}}`
	if d := aws.ToString(got.Detail); d != want {
		t.Errorf("detail =\n%s\nwant\n%s", d, want)
	}
	if _, ok := e.Details["token"]; !ok {
		t.Errorf("Publish removed keys from the caller's audit event")
	}

	// No details is an empty object, never null.
	e.Details = nil
	if err := eventbus.NewPublisher(f, "").Publish(t.Context(), []access.AuditEvent{e}); err != nil {
		t.Fatal(err)
	}
	last := f.sent[len(f.sent)-1][0]
	if d := aws.ToString(last.Detail); !strings.HasSuffix(d, `"details":{}}`) {
		t.Errorf("detail without details = %s, want details {}", d)
	}
	if last.EventBusName != nil {
		t.Errorf("bus = %q, want none (the default bus)", aws.ToString(last.EventBusName))
	}
}

// sqsQueue is an SQS queue on moto, spoken to over SQS's JSON protocol: the
// module pins no SQS client, and tests only need three calls.
type sqsQueue struct {
	cfg      aws.Config
	endpoint string
	url, arn string
}

func newSQSQueue(t *testing.T, cfg aws.Config, endpoint, name string) *sqsQueue {
	t.Helper()
	q := &sqsQueue{cfg: cfg, endpoint: endpoint}
	var created struct{ QueueUrl string }
	q.call(t, "CreateQueue", map[string]any{"QueueName": name}, &created)
	q.url = created.QueueUrl
	var attrs struct{ Attributes map[string]string }
	q.call(t, "GetQueueAttributes", map[string]any{"QueueUrl": q.url, "AttributeNames": []string{"QueueArn"}}, &attrs)
	q.arn = attrs.Attributes["QueueArn"]
	if q.url == "" || q.arn == "" {
		t.Fatalf("queue %s: url %q, arn %q", name, q.url, q.arn)
	}
	return q
}

// receive polls until n messages have arrived or the deadline passes, and
// returns what arrived.
func (q *sqsQueue) receive(t *testing.T, n int, within time.Duration) []received {
	t.Helper()
	var got []received
	deadline := time.Now().Add(within)
	for len(got) < n && time.Now().Before(deadline) {
		var out struct {
			Messages []struct{ Body, ReceiptHandle string }
		}
		q.call(t, "ReceiveMessage", map[string]any{"QueueUrl": q.url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}, &out)
		for _, m := range out.Messages {
			var r received
			if err := json.Unmarshal([]byte(m.Body), &r); err != nil {
				t.Fatalf("message is not an event: %v\n%s", err, m.Body)
			}
			got = append(got, r)
			q.call(t, "DeleteMessage", map[string]any{"QueueUrl": q.url, "ReceiptHandle": m.ReceiptHandle}, nil)
		}
	}
	return got
}

func (q *sqsQueue) call(t *testing.T, op string, in, out any) {
	t.Helper()
	ctx := t.Context()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+op)
	creds, err := q.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sqs", q.cfg.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	res, err := q.cfg.HTTPClient.Do(req)
	if err != nil {
		t.Fatalf("SQS %s: %v", op, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("SQS %s: %s\n%s", op, res.Status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("SQS %s: %v\n%s", op, err, data)
		}
	}
}
