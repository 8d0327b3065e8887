package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableAPI is the part of the DynamoDB client CreateTable uses.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// tableActiveTimeout bounds the wait for a new table to become active.
const tableActiveTimeout = 5 * time.Minute

// CreateTable creates the store's table with every index and a stream of
// new images, billed on demand, waits until it is active, and turns on TTL on the attribute "ttl". A table
// that already exists is left as it is, apart from turning TTL on; its key
// schema is not checked.
func CreateTable(ctx context.Context, client TableAPI, table string) error {
	s := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(name string, kind types.KeyType) types.KeySchemaElement {
		return types.KeySchemaElement{AttributeName: aws.String(name), KeyType: kind}
	}
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{s(attrPK), s(attrSK), s(attrGSK), s(idxKeyID.pk), s(idxExpiry.pk), s(attrExpirySK), s(idxUpdated.pk), s(attrUpdatedSK)},
		KeySchema:            []types.KeySchemaElement{key(attrPK, types.KeyTypeHash), key(attrSK, types.KeyTypeRange)},
		// The stream carries new audit items to the events-publish function
		// (the outbox: an event is published once its commit landed).
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage},
	}
	all := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	for _, ix := range sortedIndexes {
		in.AttributeDefinitions = append(in.AttributeDefinitions, s(ix.pk))
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.name),
			KeySchema:  []types.KeySchemaElement{key(ix.pk, types.KeyTypeHash), key(attrGSK, types.KeyTypeRange)},
			Projection: all,
		})
	}
	in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
		IndexName:  aws.String(idxKeyID.name),
		KeySchema:  []types.KeySchemaElement{key(idxKeyID.pk, types.KeyTypeHash)},
		Projection: all,
	})
	in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
		IndexName:  aws.String(idxExpiry.name),
		KeySchema:  []types.KeySchemaElement{key(idxExpiry.pk, types.KeyTypeHash), key(attrExpirySK, types.KeyTypeRange)},
		Projection: all,
	})
	in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
		IndexName:  aws.String(idxUpdated.name),
		KeySchema:  []types.KeySchemaElement{key(idxUpdated.pk, types.KeyTypeHash), key(attrUpdatedSK, types.KeyTypeRange)},
		Projection: all,
	})
	_, err := client.CreateTable(ctx, in)
	var exists *types.ResourceInUseException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("dynamo: create table %s: %w", table, err)
	}
	if err := dynamodb.NewTableExistsWaiter(client).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, tableActiveTimeout); err != nil {
		return fmt.Errorf("dynamo: wait for table %s: %w", table, err)
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("dynamo: describe TTL of table %s: %w", table, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == attrTTL &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrTTL), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("dynamo: enable TTL on table %s: %w", table, err)
	}
	return nil
}
