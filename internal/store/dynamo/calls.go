package dynamo

import (
	"context"
	"maps"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// CallCounter counts the DynamoDB operations made through a configuration,
// by name, so tests can hold the store to its call budget (docs/design.md,
// "Targets").
type CallCounter struct {
	mu     sync.Mutex
	counts map[string]int
	only   func(context.Context) bool
}

// CountCalls adds a counting middleware to cfg: every client built from it
// afterwards reports its operations to the returned counter. A retried call
// counts once.
func CountCalls(cfg *aws.Config) *CallCounter {
	c := &CallCounter{counts: map[string]int{}}
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("elevate.CountCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				c.count(ctx)
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
	return c
}

// Only restricts counting to calls whose context keep accepts, such as the
// calls made while serving one HTTP request; nil counts every call.
func (c *CallCounter) Only(keep func(context.Context) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.only = keep
}

func (c *CallCounter) count(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.only == nil || c.only(ctx) {
		c.counts[awsmiddleware.GetOperationName(ctx)]++
	}
}

// Counts returns the calls counted since the last Reset, by operation name.
func (c *CallCounter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// Total returns the number of calls counted since the last Reset.
func (c *CallCounter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

// Reset starts counting from zero.
func (c *CallCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.counts)
}
