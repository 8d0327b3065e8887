package infra_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/elevate-jit/elevate/internal/store/dynamo"
)

// recordingTable captures the table the store would create.
type recordingTable struct{ in *dynamodb.CreateTableInput }

func (r *recordingTable) CreateTable(_ context.Context, in *dynamodb.CreateTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	r.in = in
	return &dynamodb.CreateTableOutput{}, nil
}

func (r *recordingTable) DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{TableStatus: types.TableStatusActive}}, nil
}

func (r *recordingTable) DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error) {
	return &dynamodb.DescribeTimeToLiveOutput{TimeToLiveDescription: &types.TimeToLiveDescription{
		AttributeName: aws.String("ttl"), TimeToLiveStatus: types.TimeToLiveStatusEnabled,
	}}, nil
}

func (r *recordingTable) UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	return &dynamodb.UpdateTimeToLiveOutput{}, nil
}

// TestTableMatchesStore holds the stack's table to the one the DynamoDB
// store creates for itself (local and test use): the same keys, attribute
// types and indexes.
func TestTableMatchesStore(t *testing.T) {
	rec := &recordingTable{}
	if err := dynamo.CreateTable(context.Background(), rec, "elevate"); err != nil {
		t.Fatal(err)
	}
	type key struct{ name, kind string }
	keys := func(ks []types.KeySchemaElement) []key {
		var out []key
		for _, k := range ks {
			out = append(out, key{aws.ToString(k.AttributeName), string(k.KeyType)})
		}
		return out
	}
	want := map[string][]key{"": keys(rec.in.KeySchema)}
	for _, g := range rec.in.GlobalSecondaryIndexes {
		if g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeAll {
			t.Errorf("store index %s does not project ALL", aws.ToString(g.IndexName))
		}
		want[aws.ToString(g.IndexName)] = keys(g.KeySchema)
	}
	wantAttrs := map[string]string{}
	for _, a := range rec.in.AttributeDefinitions {
		wantAttrs[aws.ToString(a.AttributeName)] = string(a.AttributeType)
	}

	f := stack(t)
	tables := f.resources("AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("%d tables", len(tables))
	}
	for _, tbl := range tables {
		p := props(tbl)
		cfnKeys := func(v any) []key {
			var out []key
			for _, k := range v.([]any) {
				m := k.(map[string]any)
				out = append(out, key{m["AttributeName"].(string), m["KeyType"].(string)})
			}
			return out
		}
		got := map[string][]key{"": cfnKeys(p["KeySchema"])}
		for _, g := range p["GlobalSecondaryIndexes"].([]any) {
			m := g.(map[string]any)
			got[m["IndexName"].(string)] = cfnKeys(m["KeySchema"])
		}
		for name, ks := range want {
			if !slices.Equal(got[name], ks) {
				t.Errorf("index %q: stack %v, store %v", name, got[name], ks)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("the stack has index %q, which the store does not create", name)
			}
		}
		gotAttrs := map[string]string{}
		for _, a := range p["AttributeDefinitions"].([]any) {
			m := a.(map[string]any)
			gotAttrs[m["AttributeName"].(string)] = m["AttributeType"].(string)
		}
		if !jsonEqual(gotAttrs, wantAttrs) {
			t.Errorf("attributes: stack %v, store %v", gotAttrs, wantAttrs)
		}
		if p["BillingMode"] != string(rec.in.BillingMode) {
			t.Errorf("billing: stack %v, store %v", p["BillingMode"], rec.in.BillingMode)
		}
	}
}
