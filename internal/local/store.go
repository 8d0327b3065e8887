package local

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
	"github.com/elevate-jit/elevate/internal/store/memstore"
)

// StoreConfig chooses the store of the local server and the operator CLI.
type StoreConfig struct {
	// Kind is "memory" (the default) or "dynamodb".
	Kind string
	// Table is the DynamoDB table name.
	Table string
	// Endpoint is a DynamoDB API endpoint other than AWS's (moto, DynamoDB Local).
	Endpoint string
	// Region is the AWS region; empty uses the usual AWS configuration.
	Region string
	// CreateTable creates the table with its indexes when it does not exist.
	CreateTable bool
	// Now is the clock the store checks TTLs against.
	Now func() time.Time
}

// OpenStore opens the configured store. DynamoDB uses the standard AWS
// configuration chain (environment, shared config, role) for credentials.
func OpenStore(ctx context.Context, c StoreConfig) (access.Store, error) {
	if c.Now == nil {
		c.Now = time.Now
	}
	switch c.Kind {
	case "", "memory":
		return memstore.New(memstore.WithClock(c.Now)), nil
	case "dynamodb":
	default:
		return nil, fmt.Errorf("unknown store %q: use memory or dynamodb", c.Kind)
	}
	if c.Table == "" {
		return nil, errors.New("the dynamodb store needs a table name")
	}
	var opts []func(*config.LoadOptions) error
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	if c.CreateTable {
		if err := dynamo.CreateTable(ctx, client, c.Table); err != nil {
			return nil, err
		}
	}
	return dynamo.New(client, dynamo.Options{Table: c.Table, Now: c.Now}), nil
}
