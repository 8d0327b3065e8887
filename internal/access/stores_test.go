package access_test

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
)

func TestMain(m *testing.M) { motoserver.Main(m) }

// onEveryStore runs a test on the embedded store and on DynamoDB (moto).
func onEveryStore(t *testing.T, test func(t *testing.T, use func(*fixture))) {
	t.Run("memstore", func(t *testing.T) { test(t, nil) })
	t.Run("dynamodb", func(t *testing.T) {
		test(t, onStore(func(t *testing.T, now func() time.Time) testStore {
			srv := motoserver.Shared(t)
			client := dynamodb.NewFromConfig(srv.AWSConfig())
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			table := "access-" + hex.EncodeToString(b)
			if err := dynamo.CreateTable(t.Context(), client, table); err != nil {
				t.Fatalf("CreateTable: %v\n%s", err, srv.Output())
			}
			return dynamo.New(client, dynamo.Options{Table: table, Now: now})
		}))
	})
}
