package dynamo

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// RateLimitPrefix begins the partition key of every rate-limit counter, so
// that IAM can let the API functions write these items and no others
// (dynamodb:LeadingKeys).
const RateLimitPrefix = "RL#"

// rateWindowTTL is how long a window's counter is kept after the window.
const rateWindowTTL = 2 * time.Minute

// Take adds n calls to key's count in a one-second window when that keeps
// it within limit, in one conditional UpdateItem; it reports whether it did.
// It is ratelimit.Counter for a deployment's processes.
func (s *Store) Take(ctx context.Context, key string, window time.Time, n, limit int) (bool, error) {
	if n > limit {
		return false, nil
	}
	pk := RateLimitPrefix + key
	sk := "W#" + strconv.FormatInt(window.Unix(), 10)
	const count = "c"
	cond := expression.Or(expression.AttributeNotExists(expression.Name(count)),
		expression.Name(count).LessThanEqual(expression.Value(limit-n)))
	update := expression.Add(expression.Name(count), expression.Value(n)).
		Set(expression.Name(attrTTL), expression.Value(window.Add(rateWindowTTL).Unix()))
	ex, err := expression.NewBuilder().WithCondition(cond).WithUpdate(update).Build()
	if err != nil {
		return false, err
	}
	key2, err := marshal(keys{PK: pk, SK: sk})
	if err != nil {
		return false, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key2, UpdateExpression: ex.Update(), ConditionExpression: ex.Condition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	return err == nil, wrap("rate limit "+key, err)
}
