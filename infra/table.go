package infra

import (
	"context"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/jsii-runtime-go"

	"github.com/elevate-jit/elevate/internal/store/dynamo"
)

// storeTable is the table internal/store/dynamo creates for itself (keys,
// attribute types, indexes, billing mode, TTL attribute), recorded by
// running its CreateTable against a client that only listens. The stack
// builds its table from it, so that the two cannot drift apart.
func storeTable() (*dynamodb.CreateTableInput, string, error) {
	rec := &tableRecorder{}
	if err := dynamo.CreateTable(context.Background(), rec, "elevate"); err != nil {
		return nil, "", fmt.Errorf("record the store's table: %w", err)
	}
	if rec.table == nil {
		return nil, "", fmt.Errorf("record the store's table: dynamo.CreateTable created none")
	}
	if rec.table.BillingMode != types.BillingModePayPerRequest {
		return nil, "", fmt.Errorf("the store's table is billed %q; the stack deploys on-demand tables only", rec.table.BillingMode)
	}
	return rec.table, rec.ttl, nil
}

// tableRecorder is a dynamo.TableAPI that records what it is asked to
// create and reports it active at once.
type tableRecorder struct {
	table *dynamodb.CreateTableInput
	ttl   string
}

func (r *tableRecorder) CreateTable(_ context.Context, in *dynamodb.CreateTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	r.table = in
	return &dynamodb.CreateTableOutput{}, nil
}

func (r *tableRecorder) DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{TableStatus: types.TableStatusActive}}, nil
}

func (r *tableRecorder) DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error) {
	return &dynamodb.DescribeTimeToLiveOutput{}, nil
}

func (r *tableRecorder) UpdateTimeToLive(_ context.Context, in *dynamodb.UpdateTimeToLiveInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	if s := in.TimeToLiveSpecification; s != nil && aws.ToBool(s.Enabled) {
		r.ttl = aws.ToString(s.AttributeName)
	}
	return &dynamodb.UpdateTimeToLiveOutput{}, nil
}

// table builds the DynamoDB table: the store's keys and indexes, on demand,
// with point-in-time recovery, TTL, deletion protection and encryption.
func (s *Stack) table() error {
	def, ttl, err := storeTable()
	if err != nil {
		return err
	}
	kinds := map[string]awsdynamodb.AttributeType{}
	for _, a := range def.AttributeDefinitions {
		switch a.AttributeType {
		case types.ScalarAttributeTypeS:
			kinds[aws.ToString(a.AttributeName)] = awsdynamodb.AttributeType_STRING
		case types.ScalarAttributeTypeN:
			kinds[aws.ToString(a.AttributeName)] = awsdynamodb.AttributeType_NUMBER
		case types.ScalarAttributeTypeB:
			kinds[aws.ToString(a.AttributeName)] = awsdynamodb.AttributeType_BINARY
		}
	}
	keys := func(schema []types.KeySchemaElement) (hash, rng *awsdynamodb.Attribute, err error) {
		for _, k := range schema {
			name := aws.ToString(k.AttributeName)
			kind, ok := kinds[name]
			if !ok {
				return nil, nil, fmt.Errorf("the store's table: key %s has no attribute definition", name)
			}
			attr := &awsdynamodb.Attribute{Name: jsii.String(name), Type: kind}
			if k.KeyType == types.KeyTypeHash {
				hash = attr
			} else {
				rng = attr
			}
		}
		return hash, rng, nil
	}
	pk, sk, err := keys(def.KeySchema)
	if err != nil {
		return err
	}
	props := &awsdynamodb.TableProps{
		PartitionKey: pk,
		SortKey:      sk,
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// Off until the context turns it on: a table with deletion protection
		// cannot be deleted when a failed first deployment rolls back.
		DeletionProtection: jsii.Bool(s.Config.TableDeletionProtection),
		// The AWS managed key: encrypted at rest with KMS, usable only
		// through DynamoDB by principals the table's IAM already admits, so a
		// customer managed key would add cost and a grant per function
		// without narrowing who can read (docs/deploy.md).
		Encryption: awsdynamodb.TableEncryption_AWS_MANAGED,
		// Kept when the stack is deleted or the table replaced, but removed
		// when the stack's creation fails and rolls back.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	}
	if ttl != "" {
		props.TimeToLiveAttribute = jsii.String(ttl)
	}
	if st := def.StreamSpecification; st != nil && aws.ToBool(st.StreamEnabled) {
		// The outbox's stream (events-publish): the store asks for new images.
		if st.StreamViewType != types.StreamViewTypeNewImage {
			return fmt.Errorf("the store's table streams %q; the stack deploys new images only", st.StreamViewType)
		}
		props.Stream = awsdynamodb.StreamViewType_NEW_IMAGE
	}
	s.Table = awsdynamodb.NewTable(s.Stack, jsii.String("Table"), props)

	for _, g := range def.GlobalSecondaryIndexes {
		hash, rng, err := keys(g.KeySchema)
		if err != nil {
			return err
		}
		index := &awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      g.IndexName,
			PartitionKey:   hash,
			SortKey:        rng,
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		}
		if p := g.Projection; p != nil {
			switch p.ProjectionType {
			case types.ProjectionTypeKeysOnly:
				index.ProjectionType = awsdynamodb.ProjectionType_KEYS_ONLY
			case types.ProjectionTypeInclude:
				index.ProjectionType = awsdynamodb.ProjectionType_INCLUDE
				index.NonKeyAttributes = jsii.Strings(p.NonKeyAttributes...)
			}
		}
		s.Table.AddGlobalSecondaryIndex(index)
	}
	return nil
}
