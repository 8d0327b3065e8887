package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/clock"
	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
)

// The end-to-end suite also runs on the DynamoDB store, against the moto
// server this test binary shares, with a table of its own per test. The
// store's tenant cache keeps its default TTL: it is refreshed by the store's
// own commits, and a test has one store.
func init() {
	stores["dynamodb"] = func(t *testing.T, now func() time.Time) access.Store {
		client, table := dynamoTable(t, nil)
		return dynamo.New(client, dynamo.Options{Table: table, Now: now})
	}
}

var dynamoTables atomic.Int64

// dynamoTable creates a table with a unique name on the shared moto server.
// With calls set, the client counts its operations there.
func dynamoTable(t *testing.T, calls **dynamo.CallCounter) (*dynamodb.Client, string) {
	t.Helper()
	srv := motoserver.Shared(t)
	cfg := srv.AWSConfig()
	if calls != nil {
		*calls = dynamo.CountCalls(&cfg)
	}
	client := dynamodb.NewFromConfig(cfg)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	table := fmt.Sprintf("e2e-%d-%s", dynamoTables.Add(1), hex.EncodeToString(b))
	if err := dynamo.CreateTable(t.Context(), client, table); err != nil {
		t.Fatalf("CreateTable: %v\nmoto output:\n%s", err, srv.Output())
	}
	return client, table
}

// measured marks the context of an HTTP call whose DynamoDB calls count;
// the workflow's background steps run on contexts of their own.
type measured struct{}

// TestDynamoCallBudget holds warm API calls to the budget in docs/design.md
// ("Targets"): a get or
// list makes one DynamoDB call, a create or approve at most two, plus one
// for an idempotency record.
func TestDynamoCallBudget(t *testing.T) {
	var calls *dynamo.CallCounter
	client, table := dynamoTable(t, &calls)
	calls.Only(func(ctx context.Context) bool { return ctx.Value(measured{}) != nil })
	fc := clock.NewFake(start)
	e := newEnv(t, fc, dynamo.New(client, dynamo.Options{Table: table, Now: fc.Now}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.local.Handler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), measured{}, true)))
	}))
	t.Cleanup(srv.Close)
	e.srv = srv
	a := e.acme

	// budget makes a call once to warm the caches (API key, tenant, parsed
	// policies), then again, and checks the DynamoDB calls of the second:
	// exactly want of them, or at most want.
	budget := func(name string, want int, exact bool, call func(i int) *resp) {
		t.Helper()
		call(0)
		e.settle()
		calls.Reset()
		call(1)
		n := calls.Total()
		t.Logf("%-52s %d DynamoDB call(s) %v", name, n, calls.Counts())
		switch {
		case exact && n != want:
			t.Errorf("%s: %d DynamoDB calls %v; want %d", name, n, calls.Counts(), want)
		case n > want:
			t.Errorf("%s: %d DynamoDB calls %v; want at most %d", name, n, calls.Counts(), want)
		}
		e.settle()
	}
	admin := accountRequest("210987654321", "Admin", 1800) // needs an approval
	var pending []request
	create := func(i int) *resp {
		r := a.bob.post("/v1/requests", admin.with("justification", fmt.Sprintf("Rotate key %d", i))).want(http.StatusCreated)
		pending = append(pending, r.request())
		return r
	}
	budget("POST /v1/requests (require approval)", 2, false, create)
	budget("POST /v1/requests with Idempotency-Key", 3, false, func(i int) *resp {
		r := a.bob.post("/v1/requests", admin.with("justification", fmt.Sprintf("Rotate key %d again", i)), idempotencyKey(fmt.Sprintf("create-%d", i))).want(http.StatusCreated)
		pending = append(pending, r.request())
		return r
	})
	budget("POST /v1/requests/{id}/approve", 2, false, func(i int) *resp {
		return a.carol.post("/v1/requests/"+pending[i].ID+"/approve", body{"reasoning": "ok"}).want(http.StatusOK)
	})
	budget("POST /v1/requests/{id}/approve with Idempotency-Key", 3, false, func(i int) *resp {
		return a.carol.post("/v1/requests/"+pending[2+i].ID+"/approve", body{"reasoning": "ok"}, idempotencyKey(fmt.Sprintf("approve-%d", i))).want(http.StatusOK)
	})
	budget("GET /v1/requests/{id}", 1, true, func(int) *resp { return a.bob.get("/v1/requests/" + pending[0].ID).want(http.StatusOK) })
	budget("GET /v1/requests (approver: all)", 1, true, func(int) *resp { return a.carol.get("/v1/requests").want(http.StatusOK) })
	budget("GET /v1/requests (requester: own and delegated)", 1, true, func(int) *resp { return a.bob.get("/v1/requests").want(http.StatusOK) })
	budget("GET /v1/requests?status=pending&limit=1", 1, true, func(int) *resp { return a.carol.get("/v1/requests?status=pending&limit=1").want(http.StatusOK) })
	var grants list[grant]
	budget("GET /v1/grants (admin: all)", 1, true, func(int) *resp { return a.ada.get("/v1/grants").want(http.StatusOK) })
	budget("GET /v1/grants (grantee: own)", 1, true, func(int) *resp {
		r := a.bob.get("/v1/grants").want(http.StatusOK)
		r.decode(&grants)
		return r
	})
	if len(grants.Data) == 0 {
		t.Fatal("bob has no grants")
	}
	budget("GET /v1/grants/{id}", 1, true, func(int) *resp { return a.bob.get("/v1/grants/" + grants.Data[0].ID).want(http.StatusOK) })
	budget("GET /v1/approvals/pending", 1, true, func(int) *resp { return a.carol.get("/v1/approvals/pending").want(http.StatusOK) })
	budget("GET /v1/audit-events", 1, true, func(int) *resp { return a.ada.get("/v1/audit-events").want(http.StatusOK) })
}
