package tablestream_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/function/needs/tablestream"
	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
)

func TestMain(m *testing.M) { motoserver.Main(m) }

// TestStreamCarriesAuditEvents commits a change with audit events through
// the store on moto and reads the table's stream as the event source
// mapping does: every audit event arrives as an INSERT whose new image
// carries the outbox marker (which the mapping's filter matches) and
// decodes to the event committed; the change's other items carry no
// marker.
func TestStreamCarriesAuditEvents(t *testing.T) {
	srv := motoserver.Shared(t)
	cfg := srv.AWSConfig()
	client := dynamodb.NewFromConfig(cfg)
	const table = "elevate-outbox"
	if err := dynamo.CreateTable(t.Context(), client, table); err != nil {
		t.Fatalf("CreateTable: %v\n%s", err, srv.Output())
	}
	store := dynamo.New(client, dynamo.Options{Table: table})

	at := time.Date(2026, 12, 3, 9, 30, 0, 123456789, time.UTC)
	tenant := "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01"
	want := []access.AuditEvent{
		{ID: "019ae3f0-0000-7000-8000-000000000001", TenantID: tenant, At: at, ActorID: "alice", ActorKind: access.PrincipalUser,
			Action: "request.created", Severity: access.SeverityInfo, ObjectType: "request", ObjectID: "019ae3f0-0000-7000-8000-000000000010",
			Details: map[string]any{"status": "pending", "break_glass": false, "approvals": json.Number("2"), "groups": []any{"oncall"}}, ExpiresAt: at.AddDate(1, 0, 0)},
		{ID: "019ae3f0-0000-7000-8000-000000000002", TenantID: tenant, At: at, ActorID: "system", ActorKind: access.PrincipalService,
			Action: "grant.revoked", Severity: access.SeverityHigh, ObjectType: "grant", ObjectID: "019ae3f0-0000-7000-8000-000000000011",
			Details: map[string]any{"receipt": map[string]any{"method": "deny"}}, ExpiresAt: at.AddDate(1, 0, 0)},
	}
	tenantRecord := access.Tenant{ID: tenant, Name: "Outbox", Revision: 1, CreatedAt: at, UpdatedAt: at}
	if err := store.Commit(t.Context(), access.Change{Tenants: []access.Tenant{tenantRecord}, Audit: want}); err != nil {
		t.Fatalf("Commit: %v", err)
	}

	records := streamRecords(t, cfg, client, table)
	var got []access.AuditEvent
	for _, r := range records {
		marked := r.Change.NewImage[dynamo.OutboxAttribute]
		if r.EventName != "INSERT" {
			t.Errorf("record %s is %s, want INSERT", r.EventID, r.EventName)
		}
		if marked.DataType() != events.DataTypeString || marked.String() != dynamo.OutboxEvent {
			if _, err := tablestream.Decode(r.Change.NewImage); err == nil {
				t.Errorf("an item without the outbox marker decodes as an event: %v", r.Change.Keys)
			}
			continue
		}
		e, err := tablestream.Decode(r.Change.NewImage)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		got = append(got, e)
	}
	if len(records) <= len(want) {
		t.Errorf("the stream carried %d records; want the tenant's items besides the %d events", len(records), len(want))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the stream's events:\n%+v\nwant\n%+v", got, want)
	}
}

// streamRecords reads every record of the table's stream from its start,
// as Lambda hands them to a function (the stream's JSON).
func streamRecords(t *testing.T, cfg aws.Config, client *dynamodb.Client, table string) []events.DynamoDBEventRecord {
	t.Helper()
	desc, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil || desc.Table.LatestStreamArn == nil {
		t.Fatalf("the table has no stream: %v", err)
	}
	if v := desc.Table.StreamSpecification; v == nil || string(v.StreamViewType) != "NEW_IMAGE" {
		t.Fatalf("the table's stream is %+v, want new images", v)
	}
	streams := dynamodbstreams.NewFromConfig(cfg)
	stream, err := streams.DescribeStream(t.Context(), &dynamodbstreams.DescribeStreamInput{StreamArn: desc.Table.LatestStreamArn})
	if err != nil {
		t.Fatalf("DescribeStream: %v", err)
	}
	var out []events.DynamoDBEventRecord
	for _, shard := range stream.StreamDescription.Shards {
		it, err := streams.GetShardIterator(t.Context(), &dynamodbstreams.GetShardIteratorInput{
			StreamArn: desc.Table.LatestStreamArn, ShardId: shard.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatalf("GetShardIterator: %v", err)
		}
		recs, err := streams.GetRecords(t.Context(), &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatalf("GetRecords: %v", err)
		}
		for _, r := range recs.Records {
			out = append(out, lambdaRecord(t, r))
		}
	}
	return out
}

// lambdaRecord is a stream record in the JSON Lambda delivers it as.
func lambdaRecord(t *testing.T, r streamtypes.Record) events.DynamoDBEventRecord {
	t.Helper()
	image := map[string]any{}
	for k, v := range r.Dynamodb.NewImage {
		image[k] = wire(t, v)
	}
	keys := map[string]any{}
	for k, v := range r.Dynamodb.Keys {
		keys[k] = wire(t, v)
	}
	b, err := json.Marshal(map[string]any{
		"eventID": aws.ToString(r.EventID), "eventName": string(r.EventName), "eventSource": "aws:dynamodb",
		"dynamodb": map[string]any{"Keys": keys, "NewImage": image, "SequenceNumber": aws.ToString(r.Dynamodb.SequenceNumber), "StreamViewType": string(r.Dynamodb.StreamViewType)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var rec events.DynamoDBEventRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("the record does not read as Lambda's: %v\n%s", err, b)
	}
	return rec
}

// wire is an attribute value in DynamoDB's JSON form ({"S": "…"}).
func wire(t *testing.T, v streamtypes.AttributeValue) map[string]any {
	t.Helper()
	switch v := v.(type) {
	case *streamtypes.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *streamtypes.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *streamtypes.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *streamtypes.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}
	case *streamtypes.AttributeValueMemberB:
		return map[string]any{"B": v.Value}
	case *streamtypes.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *streamtypes.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}
	case *streamtypes.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = wire(t, e)
		}
		return map[string]any{"L": l}
	case *streamtypes.AttributeValueMemberM:
		m := map[string]any{}
		for k, e := range v.Value {
			m[k] = wire(t, e)
		}
		return map[string]any{"M": m}
	}
	t.Fatalf("attribute value %T", v)
	return nil
}
