package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/elevate-jit/elevate/internal/metrics"
)

// dashboard is one CloudWatch dashboard for the person on call: every alarm's
// state, the functions' embedded metrics (internal/metrics, one graph each,
// latencies as percentiles), and the AWS metrics the alarms watch.
func (s *Stack) dashboard() {
	five := awscdk.Duration_Minutes(jsii.Number(5))
	namespace := s.metricsNamespace()
	graph := func(title string, width float64, ms ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6), Left: &ms,
		})
	}
	own := func(name, stat, label string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(namespace), MetricName: jsii.String(name),
			Statistic: jsii.String(stat), Period: five, Label: jsii.String(label),
		})
	}

	alarms := make([]interfacesawscloudwatch.IAlarmRef, len(s.Alarms))
	for i, a := range s.Alarms {
		alarms[i] = a
	}
	rows := []*[]awscloudwatch.IWidget{
		{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
			Title: jsii.String("Alarms"), Alarms: &alarms, Width: jsii.Number(24), Height: jsii.Number(6),
			SortBy: awscloudwatch.AlarmStatusWidgetSortBy_STATE_UPDATED_TIMESTAMP,
		})},
	}

	var figures []awscloudwatch.IWidget
	for _, m := range metrics.Units {
		name := string(m.Name)
		switch m.Unit {
		case metrics.Milliseconds:
			figures = append(figures, graph(name+" (ms)", 8,
				own(name, "p50", "p50"), own(name, "p90", "p90"), own(name, "Maximum", "max")))
		default:
			figures = append(figures, graph(name, 8, own(name, "Sum", "sum")))
		}
	}
	figures = append(figures, graph("Revocation failures (deletion_failed)", 8, own(RevocationFailureMetric, "Sum", "sum")))
	for i := 0; i < len(figures); i += 3 {
		row := figures[i:min(i+3, len(figures))]
		rows = append(rows, &row)
	}

	var errs []awscloudwatch.IMetric
	for _, name := range []string{FnProvision, FnDeprovision, FnExpiry, FnSweeper} {
		errs = append(errs, s.Functions[name].MetricErrors(&awscloudwatch.MetricOptions{
			Period: five, Statistic: jsii.String("Sum"), Label: jsii.String(name),
		}))
	}
	rows = append(rows, &[]awscloudwatch.IWidget{
		graph("Workflow executions failed", 6, s.StateMachine.MetricFailed(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")})),
		graph("Workflow function errors", 6, errs...),
		graph("Expiries in the dead-letter queue", 6, s.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(1)), Statistic: jsii.String("Maximum"),
		})),
		graph("API 5xx", 6, s.API.MetricServerError(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")})),
	})

	s.Dashboard = awscloudwatch.NewDashboard(s.Stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(s.name),
		Widgets:       &rows,
	})
}
