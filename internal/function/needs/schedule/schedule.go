// Package schedule provides the need schedule: the grants' expiry schedules
// on EventBridge Scheduler.
package schedule

import (
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function"
	"github.com/elevate-jit/elevate/internal/function/needs/awsconfig"
	"github.com/elevate-jit/elevate/internal/workflow/schedule"
)

// Provider serves schedule.
var Provider = function.Provider{
	Name:  "schedule",
	Needs: []deploy.Need{deploy.NeedSchedule},
	Provide: func(w *function.Wiring) error {
		w.Ports.Scheduler = schedule.NewScheduler(schedule.SchedulerConfig{
			Client: scheduler.NewFromConfig(awsconfig.Config(w)), Group: w.Getenv(deploy.EnvScheduleGroup), TargetARN: w.Getenv(deploy.EnvExpiryFunctionARN),
			RoleARN: w.Getenv(deploy.EnvSchedulerRoleARN), DeadLetterARN: w.Getenv(deploy.EnvScheduleDLQARN),
		})
		return nil
	},
}
