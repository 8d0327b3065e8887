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

	"github.com/elevate-jit/elevate/internal/fairshare"
)

// Slots is a deployment-wide counting semaphore in one item of the table:
// the cap on outstanding Identity Center assignment creations shared by
// every process (Identity Center allows 10 in progress), and shared fairly
// between the owners (tenants) that hold or wait for slots
// (fairshare.Pool). Holds expire, so a process that dies between Acquire
// and Release frees its slot after holdFor.
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
	// Owners names the owner of each held key; Refused, when each owner
	// was last refused.
	Owners  map[string]string `dynamodbav:"owners,omitempty"`
	Refused map[string]string `dynamodbav:"refused,omitempty"`
	Rev     int64             `dynamodbav:"rev"`
}

// refusalRefresh is how old an owner's recorded refusal may grow before a
// new refusal writes it again: a refusal costs a write at most this often.
const refusalRefresh = 10 * time.Second

const slotAttempts = 8

// NewSlots returns the semaphore named name with n slots held at most holdFor.
func (s *Store) NewSlots(name string, n int, holdFor time.Duration) *Slots {
	return &Slots{s: s, pk: "SLOTS#" + name, n: max(n, 1), holdFor: holdFor}
}

// Acquire takes a slot for key on owner's behalf; a key already held keeps
// its slot. It reports false when every slot is taken or owner holds its
// fair share, and then records that owner waited.
func (sl *Slots) Acquire(ctx context.Context, key, owner string) (bool, error) {
	for range slotAttempts {
		it, found, err := sl.read(ctx)
		if err != nil {
			return false, err
		}
		now := sl.s.now().UTC()
		it = sl.live(it, now)
		if _, ok := it.Holds[key]; ok {
			return true, nil
		}
		pool := fairshare.Pool{Size: sl.n, Held: map[string]int{}, Refused: map[string]time.Time{}}
		for k := range it.Holds {
			pool.Held[it.Owners[k]]++
		}
		for o, at := range it.Refused {
			if t, err := time.Parse(timeLayout, at); err == nil {
				pool.Refused[o] = t
			}
		}
		admit := pool.Admit(owner, now)
		switch {
		case admit:
			it.Holds[key], it.Owners[key] = now.Format(timeLayout), owner
			delete(it.Refused, owner)
		case now.Sub(pool.Refused[owner]) < refusalRefresh:
			return false, nil // its wait is on record
		default:
			it.Refused[owner] = now.Format(timeLayout)
		}
		err = sl.write(ctx, it, found)
		if !errors.Is(err, errSlotRace) {
			return admit && err == nil, err
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
		it = sl.live(it, sl.s.now().UTC())
		delete(it.Holds, key)
		delete(it.Owners, key)
		if err := sl.write(ctx, it, true); !errors.Is(err, errSlotRace) {
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

// live returns a copy of the item without expired holds and refusals.
func (sl *Slots) live(it slotItem, now time.Time) slotItem {
	out := it
	out.Holds, out.Owners, out.Refused = map[string]string{}, map[string]string{}, map[string]string{}
	for k, at := range it.Holds {
		if t, err := time.Parse(timeLayout, at); err == nil && now.Sub(t) <= sl.holdFor {
			out.Holds[k], out.Owners[k] = at, it.Owners[k]
		}
	}
	for o, at := range it.Refused {
		if t, err := time.Parse(timeLayout, at); err == nil && now.Sub(t) < fairshare.Waiting {
			out.Refused[o] = at
		}
	}
	return out
}

// write replaces the item if it is still at it.Rev (or absent, when it was).
func (sl *Slots) write(ctx context.Context, it slotItem, exists bool) error {
	rev := it.Rev
	item, err := attributevalue.MarshalMap(slotItem{keys: keys{PK: sl.pk, SK: sl.pk}, Holds: it.Holds, Owners: it.Owners,
		Refused: it.Refused, Rev: rev + 1})
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
