package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
)

// LockHold is how long a lock is held at most: a holder that dies loses it
// then. It is longer than any holder keeps one (the writers of a permission
// set's inline policy take a little over a minute at worst, re-provisioning
// included: identitycenter.Locker); waiters answer "later" meanwhile
// (identitycenter.LockWaitMargin).
const LockHold = 2 * time.Minute

// Waits between tries of a lock that is held.
const (
	lockWaitFirst = 50 * time.Millisecond
	lockWaitMax   = time.Second
)

// lockItem is a held lock: PK = SK = "LOCK#<name>", its holder's token, and
// when the hold lapses (Unix milliseconds; ttl lets DynamoDB remove the
// item some time after).
type lockItem struct {
	keys
	Holder  string `dynamodbav:"holder"`
	Expires int64  `dynamodbav:"expires"`
	TTL     int64  `dynamodbav:"ttl"`
}

// Lock waits until it holds the lock name, or ctx ends. The hold lapses
// after LockHold if unlock is not called; unlock after that lapse leaves a
// later holder's lock alone.
func (s *Store) Lock(ctx context.Context, name string) (unlock func(), err error) {
	pk := "LOCK#" + name
	holder := uuid.NewString()
	wait := lockWaitFirst
	for {
		now := s.now()
		item, err := attributevalue.MarshalMap(lockItem{keys: keys{PK: pk, SK: pk}, Holder: holder,
			Expires: now.Add(LockHold).UnixMilli(), TTL: now.Add(LockHold + time.Hour).Unix()})
		if err != nil {
			return nil, err
		}
		free := expression.AttributeNotExists(expression.Name(attrPK)).
			Or(expression.Name("expires").LessThan(expression.Value(now.UnixMilli())))
		ex, err := expression.NewBuilder().WithCondition(free).Build()
		if err != nil {
			return nil, err
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.table), Item: item, ConditionExpression: ex.Condition(),
			ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		})
		var held *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			return func() { s.unlock(ctx, pk, holder) }, nil
		case !errors.As(err, &held):
			return nil, wrap("lock "+name, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dynamo: wait for the lock %s: %w", name, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, lockWaitMax)
	}
}

// unlock deletes the lock if holder still holds it. It runs even when the
// holder's context has ended; a failure leaves the hold to lapse.
func (s *Store) unlock(ctx context.Context, pk, holder string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	ex, err := expression.NewBuilder().WithCondition(expression.Name("holder").Equal(expression.Value(holder))).Build()
	if err != nil {
		return
	}
	_, _ = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), ConditionExpression: ex.Condition(),
		Key: map[string]types.AttributeValue{
			attrPK: &types.AttributeValueMemberS{Value: pk},
			attrSK: &types.AttributeValueMemberS{Value: pk},
		},
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
	})
}
