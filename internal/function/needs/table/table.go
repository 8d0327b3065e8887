// Package table provides the needs table-read and table-write: the DynamoDB
// store, which also holds the API keys and tenants that authenticate
// callers.
package table

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/elevate-jit/elevate/internal/auth"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function"
	"github.com/elevate-jit/elevate/internal/function/needs/awsconfig"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
)

// Provider serves table-read and table-write.
var Provider = function.Provider{
	Name:    "table",
	Needs:   []deploy.Need{deploy.NeedTableRead, deploy.NeedTableWrite},
	Provide: func(w *function.Wiring) error { Store(w); return nil },
}

// Store opens the store once per wiring, for the providers that use it (the
// rate limits' shared counters, the Identity Center creation slots).
func Store(w *function.Wiring) *dynamo.Store {
	s, _ := function.Shared(w, "table", func() (*dynamo.Store, error) {
		s := dynamo.New(dynamodb.NewFromConfig(awsconfig.Config(w)), dynamo.Options{Table: w.Getenv(deploy.EnvTable)})
		w.Ports.Store = s
		w.Auth = auth.New(auth.Config{Keys: s, Tenants: s, JWKSHosts: w.JWKSHosts})
		return s, nil
	})
	return s
}
