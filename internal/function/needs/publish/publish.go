// Package publish provides the need publish: audit events on the event bus.
package publish

import (
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/eventbus"
	"github.com/elevate-jit/elevate/internal/function"
	"github.com/elevate-jit/elevate/internal/function/needs/awsconfig"
)

// Provider serves publish.
var Provider = function.Provider{
	Name:  "publish",
	Needs: []deploy.Need{deploy.NeedPublish},
	Provide: func(w *function.Wiring) error {
		w.Ports.Publisher = eventbus.NewPublisher(eventbridge.NewFromConfig(awsconfig.Config(w)), w.Getenv(deploy.EnvEventBus))
		return nil
	},
}
