// Package sweepqueue provides the need sweep-queue: the sweeper hands each
// tenant to the sweep queue, whose consumer (sweeper-tenant) sweeps it.
package sweepqueue

import (
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function"
	"github.com/elevate-jit/elevate/internal/function/needs/awsconfig"
	"github.com/elevate-jit/elevate/internal/sweepqueue"
)

// Provider serves sweep-queue.
var Provider = function.Provider{
	Name:  "sweepqueue",
	Needs: []deploy.Need{deploy.NeedSweepQueue},
	Provide: func(w *function.Wiring) error {
		w.Ports.SweepQueue = sweepqueue.New(sqs.NewFromConfig(awsconfig.Config(w)), w.Getenv(deploy.EnvSweepQueueURL))
		return nil
	},
}
