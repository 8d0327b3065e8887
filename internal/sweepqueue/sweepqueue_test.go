package sweepqueue_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/sweepqueue"
	"github.com/elevate-jit/elevate/internal/sweeptask"
)

func TestMain(m *testing.M) { motoserver.Main(m) }

func tenants(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	return out
}

// TestQueueOnMoto sends rounds of tenants to a queue on moto and reads back
// one message per tenant, each a body Parse accepts.
func TestQueueOnMoto(t *testing.T) {
	srv := motoserver.Shared(t)
	client := sqs.NewFromConfig(srv.AWSConfig())
	for _, n := range []int{1, 10, 23} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ctx := t.Context()
			created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("sweep-%s-%d", strings.ToLower(t.Name()[:4]), n))})
			if err != nil {
				t.Fatal(err)
			}
			want := tenants(n)
			if err := sweepqueue.New(client, aws.ToString(created.QueueUrl)).EnqueueTenantSweeps(ctx, want); err != nil {
				t.Fatal(err)
			}
			var got []string
			for len(got) < n {
				out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl, MaxNumberOfMessages: 10})
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Messages) == 0 {
					break
				}
				for _, m := range out.Messages {
					msg, err := sweeptask.Parse(aws.ToString(m.Body))
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, msg.TenantID)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("received %v, want %v", got, want)
			}
		})
	}
}

// partial fails the entries of the tenants in refuse, as SQS may for some
// entries of a batch.
type partial struct {
	refuse map[string]int // tenant → times to refuse
	calls  int
}

func (p *partial) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	p.calls++
	if len(in.Entries) > sweepqueue.MaxBatch {
		return nil, errors.New("too many entries")
	}
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		m, err := sweeptask.Parse(aws.ToString(e.MessageBody))
		if err != nil {
			return nil, err
		}
		if p.refuse[m.TenantID] > 0 {
			p.refuse[m.TenantID]--
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), SenderFault: false})
		}
	}
	return out, nil
}

func TestQueueResendsRefusedEntries(t *testing.T) {
	ids := tenants(12)
	for _, tc := range []struct {
		name      string
		refuse    map[string]int
		wantCalls int
		wantErr   string
	}{
		{"all sent", nil, 2, ""},
		{"one refused once", map[string]int{ids[3]: 1}, 3, ""},
		{"one refused twice", map[string]int{ids[11]: 2}, 3, ids[11]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &partial{refuse: tc.refuse}
			err := sweepqueue.New(p, "https://sqs.example/q").EnqueueTenantSweeps(t.Context(), ids)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want one naming %q", err, tc.wantErr)
			}
			if p.calls != tc.wantCalls {
				t.Errorf("%d calls, want %d", p.calls, tc.wantCalls)
			}
		})
	}
}
