// Package stepfunctions provides the needs start-execution and send-task:
// starting workflows and resuming approval waits on Step Functions.
package stepfunctions

import (
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function"
	"github.com/elevate-jit/elevate/internal/function/needs/awsconfig"
	"github.com/elevate-jit/elevate/internal/workflow/stepfunctions"
)

// Provider serves start-execution and send-task.
var Provider = function.Provider{
	Name:  "stepfunctions",
	Needs: []deploy.Need{deploy.NeedStartExecution, deploy.NeedSendTask},
	Provide: func(w *function.Wiring) error {
		s := stepfunctions.NewStepFunctions(sfn.NewFromConfig(awsconfig.Config(w)), w.Getenv(deploy.EnvStateMachineARN))
		w.Ports.Workflow, w.Resumer = s, s
		return nil
	},
}
