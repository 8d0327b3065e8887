package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Slots is a deployment-wide counting semaphore in one item of the table:
// the cap on outstanding Identity Center assignment creations shared by
// every process (Identity Center allows 10 in progress). Holds expire, so a process that dies between
// Acquire and Release frees its slot after holdFor.
type Slots struct {
	s       *Store
	pk      string
	n       int
	holdFor time.Duration
}

// slotItem is the semaphore: each key held, with when it was taken.
type slotItem struct {
	keys
	Holds map[string]string `dynamodbav:"holds"`
	Rev   int64             `dynamodbav:"rev"`
}

const slotAttempts = 8

// NewSlots returns the semaphore named name with n slots held at most holdFor.
func (s *Store) NewSlots(name string, n int, holdFor time.Duration) *Slots {
	return &Slots{s: s, pk: "SLOTS#" + name, n: max(n, 1), holdFor: holdFor}
}

// Acquire takes a slot for key; a key already held keeps its slot. It
// reports false when every slot is taken.
func (sl *Slots) Acquire(ctx context.Context, key string) (bool, error) {
	for range slotAttempts {
		it, found, err := sl.read(ctx)
		if err != nil {
			return false, err
		}
		now := sl.s.now().UTC()
		holds := sl.live(it.Holds, now)
		if _, ok := holds[key]; ok {
			return true, nil
		}
		if len(holds) >= sl.n {
			return false, nil
		}
		holds[key] = now.Format(timeLayout)
		err = sl.write(ctx, holds, it.Rev, found)
		if !errors.Is(err, errSlotRace) {
			return err == nil, err
		}
	}
	return false, nil // contended: try again later
}

// Release frees key's slot; a key not held is fine.
func (sl *Slots) Release(ctx context.Context, key string) error {
	for range slotAttempts {
		it, found, err := sl.read(ctx)
		if err != nil || !found {
			return err
		}
		if _, ok := it.Holds[key]; !ok {
			return nil
		}
		holds := sl.live(it.Holds, sl.s.now().UTC())
		delete(holds, key)
		if err := sl.write(ctx, holds, it.Rev, true); !errors.Is(err, errSlotRace) {
			return err
		}
	}
	return fmt.Errorf("dynamo: release slot %s: too much contention", key)
}

var errSlotRace = errors.New("slot item changed")

func (sl *Slots) read(ctx context.Context) (slotItem, bool, error) {
	var it slotItem
	found, err := sl.s.getItem(ctx, sl.pk, sl.pk, &it)
	return it, found, err
}

// live returns the holds that have not expired.
func (sl *Slots) live(holds map[string]string, now time.Time) map[string]string {
	out := maps.Clone(holds)
	if out == nil {
		out = map[string]string{}
	}
	for k, at := range out {
		if t, err := time.Parse(timeLayout, at); err != nil || now.Sub(t) > sl.holdFor {
			delete(out, k)
		}
	}
	return out
}

func (sl *Slots) write(ctx context.Context, holds map[string]string, rev int64, exists bool) error {
	item, err := attributevalue.MarshalMap(slotItem{keys: keys{PK: sl.pk, SK: sl.pk}, Holds: holds, Rev: rev + 1})
	if err != nil {
		return err
	}
	cond := expression.AttributeNotExists(expression.Name(attrPK))
	if exists {
		cond = expression.Name(attrRev).Equal(expression.Value(rev))
	}
	ex, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return err
	}
	_, err = sl.s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(sl.s.table), Item: item, ConditionExpression: ex.Condition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return errSlotRace
	}
	return wrap("write slots", err)
}
