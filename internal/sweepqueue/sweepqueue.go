// Package sweepqueue hands tenants to the per-tenant sweep through an SQS
// queue: the sweeper function sends one message per tenant (Queue, an
// access.SweepQueue) and the queue's consumer, the sweeper-tenant function,
// sweeps the tenant each message names (access.Operator.SweepTenant).
package sweepqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/sweeptask"
)

// SQSAPI is the part of the SQS client Queue uses; *sqs.Client satisfies it.
type SQSAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// MaxBatch is the most messages one SendMessageBatch carries.
const MaxBatch = 10

// Queue is the sweep queue.
type Queue struct {
	client SQSAPI
	url    string
}

var _ access.SweepQueue = (*Queue)(nil)

// New returns the queue at url.
func New(client SQSAPI, url string) *Queue { return &Queue{client: client, url: url} }

// EnqueueTenantSweeps sends one message per tenant, MaxBatch to a call.
// Entries SQS refuses (a batch may partly fail) are sent once more; what
// still fails is an error naming the tenants.
func (q *Queue) EnqueueTenantSweeps(ctx context.Context, tenantIDs []string) error {
	for start := 0; start < len(tenantIDs); start += MaxBatch {
		batch := tenantIDs[start:min(start+MaxBatch, len(tenantIDs))]
		for attempt := 0; len(batch) > 0; attempt++ {
			failed, err := q.send(ctx, batch)
			if err != nil {
				return err
			}
			if len(failed) > 0 && attempt > 0 {
				return fmt.Errorf("sweep queue refused the tenants %s", strings.Join(failed, ", "))
			}
			batch = failed
		}
	}
	return nil
}

// send sends one batch and returns the tenants whose entries failed.
func (q *Queue) send(ctx context.Context, ids []string) ([]string, error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(ids))
	for i, id := range ids {
		body, err := json.Marshal(sweeptask.Message{TenantID: id})
		if err != nil {
			return nil, err
		}
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
	}
	out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("send to the sweep queue: %w", err)
	}
	var failed []string
	for _, f := range out.Failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil || i < 0 || i >= len(ids) {
			return nil, fmt.Errorf("sweep queue: an answer about unknown entry %q", aws.ToString(f.Id))
		}
		failed = append(failed, ids[i])
	}
	return failed, nil
}
