package dynamo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
	"github.com/elevate-jit/elevate/internal/store/storetest"
)

func TestMain(m *testing.M) { motoserver.Main(m) }

// TestConformance runs the store suite on moto, a fresh table per subtest,
// with the tenant cache as in production.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) access.Store {
		client, table := newTable(t, nil)
		return dynamo.New(client, dynamo.Options{Table: table})
	})
}

func TestSweepConformance(t *testing.T) {
	storetest.RunSweep(t, func(t *testing.T) storetest.SweepableStore {
		client, table := newTable(t, nil)
		return dynamo.New(client, dynamo.Options{Table: table})
	})
}

// TestConformanceWithoutTenantCache runs the parts of the suite that write
// or read tenants with the cache off, so that every tenant read goes to the
// table.
func TestConformanceWithoutTenantCache(t *testing.T) {
	storetest.RunTenantTests(t, func(t *testing.T) access.Store {
		client, table := newTable(t, nil)
		return dynamo.New(client, dynamo.Options{Table: table, TenantCacheTTL: -1})
	})
}

var tables atomic.Int64

// newTable creates a table with a unique name on the shared moto server.
// With calls set, the client counts its operations there.
func newTable(t *testing.T, calls **dynamo.CallCounter) (*dynamodb.Client, string) {
	t.Helper()
	srv := motoserver.Shared(t)
	cfg := srv.AWSConfig()
	if calls != nil {
		*calls = dynamo.CountCalls(&cfg)
	}
	client := dynamodb.NewFromConfig(cfg)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	table := fmt.Sprintf("elevate-%d-%s", tables.Add(1), hex.EncodeToString(b))
	if err := dynamo.CreateTable(t.Context(), client, table); err != nil {
		t.Fatalf("CreateTable: %v\nmoto output:\n%s", err, srv.Output())
	}
	return client, table
}

// TestCreateTable checks the table's indexes and TTL, and that creating it
// again is harmless.
func TestCreateTable(t *testing.T) {
	client, table := newTable(t, nil)
	if err := dynamo.CreateTable(t.Context(), client, table); err != nil {
		t.Fatalf("CreateTable of an existing table: %v", err)
	}
	d, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	var indexes []string
	for _, ix := range d.Table.GlobalSecondaryIndexes {
		indexes = append(indexes, aws.ToString(ix.IndexName))
		if ix.Projection == nil || ix.Projection.ProjectionType != types.ProjectionTypeAll {
			t.Errorf("index %s does not project every attribute", aws.ToString(ix.IndexName))
		}
	}
	slices.Sort(indexes)
	if want := []string{"GSI1", "GSI2", "GSI3", "GSI4", "GSI5", "GSI6", "GSI7", "GSI8"}; !slices.Equal(indexes, want) {
		t.Errorf("indexes %v, want %v", indexes, want)
	}
	if d.Table.BillingModeSummary == nil || d.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing %+v, want on demand", d.Table.BillingModeSummary)
	}
	ttl, err := client.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != "ttl" || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL %+v, want enabled on ttl", d)
	}
}

// TestCountCalls checks the call counter, which the end-to-end call budget
// test relies on.
func TestCountCalls(t *testing.T) {
	var calls *dynamo.CallCounter
	client, table := newTable(t, &calls)
	s := dynamo.New(client, dynamo.Options{Table: table})
	calls.Reset()
	ctx := t.Context()
	_, _ = s.GetRequest(ctx, "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01", "r1")
	_, _ = s.ListRequests(ctx, "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01", access.RequestFilter{}, access.PageRequest{Limit: 10})
	_, _ = s.GetAPIKey(ctx, "k1") // missing: the index, then the id claim (read consistently)
	if got, want := calls.Counts(), map[string]int{"GetItem": 2, "Query": 2}; !maps.Equal(got, want) || calls.Total() != 4 {
		t.Errorf("counts %v (total %d), want %v", got, calls.Total(), want)
	}
	type mark struct{}
	calls.Reset()
	calls.Only(func(ctx context.Context) bool { return ctx.Value(mark{}) != nil })
	_, _ = s.GetGrant(ctx, "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01", "g1")
	_, _ = s.GetGrant(context.WithValue(ctx, mark{}, true), "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01", "g1")
	if got := calls.Counts(); !maps.Equal(got, map[string]int{"GetItem": 1}) {
		t.Errorf("counts with a filter %v, want the marked call only", got)
	}
}

// TestSlotsAreSharedFairly: a tenant alone takes every slot, but once
// another tenant waited, the slot the first frees goes to the second, and
// the first stops at its share.
func TestSlotsAreSharedFairly(t *testing.T) {
	client, table := newTable(t, nil)
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := dynamo.New(client, dynamo.Options{Table: table, Now: func() time.Time { return now }})
	sl := s.NewSlots("ic-creations", 10, 15*time.Minute)
	ctx := t.Context()
	acquire := func(key, owner string, want bool) {
		t.Helper()
		got, err := sl.Acquire(ctx, key, owner)
		if err != nil || got != want {
			t.Fatalf("Acquire(%s, %s) = %v, %v; want %v", key, owner, got, err, want)
		}
	}
	for i := range 10 { // the bulk grant of tenant A takes every slot
		acquire(fmt.Sprint("a", i), "A", true)
	}
	acquire("b0", "B", false) // B's single grant waits
	if err := sl.Release(ctx, "a0"); err != nil {
		t.Fatal(err)
	}
	acquire("a10", "A", false) // A may not take back the freed slot
	acquire("b0", "B", true)   // B's next try gets it
	for i := 1; i <= 4; i++ {  // A drains to its share of five
		if err := sl.Release(ctx, fmt.Sprint("a", i)); err != nil {
			t.Fatal(err)
		}
	}
	acquire("a11", "A", false) // holds five (a5..a9): its share while B holds one
	now = now.Add(time.Second)
	if err := sl.Release(ctx, "a6"); err != nil {
		t.Fatal(err)
	}
	acquire("a11", "A", true) // four held, under its share
	if err := sl.Release(ctx, "b0"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute) // B's wait is old news: A alone again
	for i := 12; i < 17; i++ {
		acquire(fmt.Sprint("a", i), "A", true)
	}
}

// TestSlots checks the deployment-wide semaphore: a cap of two, a held key
// keeping its slot, release, expiry of holds, and racing acquirers.
func TestSlots(t *testing.T) {
	client, table := newTable(t, nil)
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := dynamo.New(client, dynamo.Options{Table: table, Now: func() time.Time { return now }})
	sl := s.NewSlots("ic-creations", 2, 15*time.Minute)
	ctx := t.Context()
	acquire := func(key string, want bool) {
		t.Helper()
		got, err := sl.Acquire(ctx, key, "tenant-1")
		if err != nil || got != want {
			t.Fatalf("Acquire(%s) = %v, %v; want %v", key, got, err, want)
		}
	}
	acquire("a", true)
	acquire("b", true)
	acquire("c", false)
	acquire("a", true) // already held
	if err := sl.Release(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := sl.Release(ctx, "never-held"); err != nil {
		t.Fatal(err)
	}
	acquire("c", true)
	acquire("d", false)
	now = now.Add(16 * time.Minute) // b and c were never released: their holds expire
	acquire("d", true)
	acquire("e", true)
	acquire("f", false)

	// Racing acquirers on a fresh semaphore: exactly its cap wins.
	race := s.NewSlots("race", 3, time.Hour)
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ok, err := race.Acquire(ctx, fmt.Sprint("k", i), fmt.Sprint("tenant-", i%2))
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() > 3 {
		t.Fatalf("%d acquirers won 3 slots", won.Load())
	}
}

// TestLock checks the table's lock on DynamoDB (moto): one holder at a
// time, a waiter gets it when the holder unlocks, a dead holder's hold
// lapses, and the late unlock of a lapsed hold leaves the next holder's
// lock alone.
func TestLock(t *testing.T) {
	client, table := newTable(t, nil)
	var mu sync.Mutex
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := dynamo.New(client, dynamo.Options{Table: table, Now: clock})
	ctx := t.Context()

	unlock, err := s.Lock(ctx, "inline-policy a")
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Lock(ctx, "inline-policy b") // another name is another lock
	if err != nil {
		t.Fatal(err)
	}
	other()
	if _, err := s.Lock(soon(t), "inline-policy a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second Lock of a held lock = %v, want it to wait until its context ends", err)
	}

	got := make(chan func(), 1)
	go func() {
		u, err := s.Lock(ctx, "inline-policy a")
		if err != nil {
			t.Error(err)
		}
		got <- u
	}()
	unlock()
	waiter := <-got // the waiter gets it once the holder unlocks

	// The waiter dies holding it: the hold lapses after LockHold.
	mu.Lock()
	now = now.Add(dynamo.LockHold + time.Second)
	mu.Unlock()
	next, err := s.Lock(ctx, "inline-policy a")
	if err != nil {
		t.Fatal(err)
	}
	waiter() // the lapsed holder's late unlock
	if _, err := s.Lock(soon(t), "inline-policy a"); err == nil {
		t.Fatal("the lapsed holder's unlock released the next holder's lock")
	}
	next()
	if u, err := s.Lock(ctx, "inline-policy a"); err != nil {
		t.Fatalf("Lock after the last unlock: %v", err)
	} else {
		u()
	}
}

// soon is a context that ends soon.
func soon(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}
