package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/metrics"
)

// Alarm names (after the stack's name and a dash).
const (
	AlarmDeadLetters        = "dead-letters"
	AlarmSweepDeadLetters   = "sweep-dead-letters"
	AlarmOutboxDeadLetters  = "outbox-dead-letters"
	AlarmOutboxLag          = "outbox-lag"
	AlarmRevocationFailures = "revocation-failures"
	AlarmSessionCutFailures = "session-cut-failures"
	AlarmWorkflowFailed     = "workflow-failed"
	AlarmAPIServerErrors    = "api-5xx"
	AlarmReviewsOverdue     = "reviews-overdue"
	// AlarmFunctionErrors is followed by "-<function>".
	AlarmFunctionErrors = "errors"
)

// OutboxLagMillis is the outbox's iterator age, in milliseconds, at which
// its alarm goes off: events five minutes late.
const OutboxLagMillis = 5 * 60 * 1000

// RevocationFailureMetric is the metric the revocation-failure filters
// write, in the namespace "Elevate/<stack name>".
const RevocationFailureMetric = "RevocationFailures"

// alarmTopic is the context's topic or one the stack creates, encrypted with
// a key that CloudWatch may use (the AWS managed SNS key does not let
// CloudWatch alarms publish).
func (s *Stack) alarmTopic() {
	if s.Config.AlarmTopicARN != "" {
		s.AlarmTopic = awssns.Topic_FromTopicArn(s.Stack, jsii.String("AlarmTopic"), jsii.String(s.Config.AlarmTopicARN))
		return
	}
	key := awskms.NewKey(s.Stack, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Elevate: encrypts the alarm topic"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
	}), nil)
	topic := awssns.NewTopic(s.Stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Elevate alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	// EnforceSSL writes a topic policy, which replaces SNS's default one:
	// without this statement no alarm could publish.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			"ArnLike":      map[string]any{"aws:SourceArn": s.alarmARNPattern()},
		},
	}))
	s.AlarmTopic = topic
}

// alarmARNPattern matches the ARNs of the stack's alarms, whose names all
// start with the stack's name and a dash.
func (s *Stack) alarmARNPattern() *string {
	return s.Stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"),
		ResourceName: jsii.String(s.name + "-*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// metricsNamespace holds the stack's own metrics: the revocation-failure
// filter's and the functions' embedded metrics (ELEVATE_METRICS_NAMESPACE).
func (s *Stack) metricsNamespace() string { return "Elevate/" + s.name }

// alarms: the dead-letter queue's depth, revocation failures, every
// function's errors, failed workflow executions and the API's 5xx.
func (s *Stack) alarms() {
	action := awscloudwatchactions.NewSnsAction(s.AlarmTopic)
	alarm := func(id, name, description string, metric awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(s.name + "-" + name),
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		s.Alarms = append(s.Alarms, a)
	}
	five := awscdk.Duration_Minutes(jsii.Number(5))

	alarm("DeadLettersAlarm", AlarmDeadLetters,
		"An expiry schedule or expiry invocation failed for good and is in the dead-letter queue: a grant may not have expired. "+
			"The sweeper ends overdue grants; inspect the message and the expiry function's logs.",
		s.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(1)), Statistic: jsii.String("Maximum"),
		}), 1)

	alarm("SweepDeadLettersAlarm", AlarmSweepDeadLetters,
		"A tenant's sweep failed three times in a row and its message is in the sweep dead-letter queue: its overdue grants, "+
			"stuck grants or stale requests may stay. The sweeper-tenant function's logs say why; the next run queues the tenant again.",
		s.SweepDeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(1)), Statistic: jsii.String("Maximum"),
		}), 1)

	alarm("OutboxDeadLettersAlarm", AlarmOutboxDeadLetters,
		"Events could not be published to the event bus after every retry: their place in the table's stream is in the outbox "+
			"dead-letter queue. The events are in the audit trail (GET /v1/audit-events); the events-publish function's logs say why.",
		s.OutboxDeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(1)), Statistic: jsii.String("Maximum"),
		}), 1)
	for _, f := range deploy.Functions {
		if f.Has(deploy.NeedTableStream) {
			alarm("OutboxLagAlarm", AlarmOutboxLag,
				"Events reach the event bus more than five minutes after their commit: the events-publish function is failing or throttled "+
					"and retrying a batch. Its logs and errors say why; the stream keeps the events for 24 hours.",
				s.Functions[f.Name].Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{
					Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"),
				}), OutboxLagMillis)
		}
	}

	namespace := s.metricsNamespace()
	for _, name := range []string{FnDeprovision, FnSweeper} {
		awslogs.NewMetricFilter(s.Stack, jsii.String(pascal(name)+"RevocationFailures"), &awslogs.MetricFilterProps{
			LogGroup:        s.LogGroups[name],
			FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(deploy.ProblemFilter(RevocationFailureProblem))),
			MetricNamespace: jsii.String(namespace),
			MetricName:      jsii.String(RevocationFailureMetric),
			MetricValue:     jsii.String("1"),
			DefaultValue:    jsii.Number(0),
		})
	}
	alarm("RevocationFailuresAlarm", AlarmRevocationFailures,
		"Deleting an Identity Center assignment failed (the grant stays revoking and is retried): access may outlive its grant.",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(namespace), MetricName: jsii.String(RevocationFailureMetric),
			Statistic: jsii.String("Sum"), Period: five,
		}), 1)

	alarm("SessionCutFailuresAlarm", AlarmSessionCutFailures,
		"Cutting the open sessions of a revoked or expired grant failed (the permission set's re-provisioning failed and the sweeper "+
			"retries it, or the deny does not fit in its inline policy): sessions issued before the revoke may last until their end. "+
			"The grant's revocation receipt says which (docs/revocation.md).",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(namespace), MetricName: jsii.String(string(metrics.SessionCutFailures)),
			Statistic: jsii.String("Sum"), Period: five,
		}), 1)

	for _, f := range deploy.Functions {
		alarm(pascal(f.Name)+"ErrorsAlarm", AlarmFunctionErrors+"-"+f.Name,
			"The function "+f.Name+" failed (an unhandled error, a timeout or a crash).",
			s.Functions[f.Name].MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 1)
	}

	alarm("WorkflowFailedAlarm", AlarmWorkflowFailed,
		"A workflow execution failed: provisioning or deprovisioning is stuck (the sweeper retries it) or the input was bad.",
		s.StateMachine.MetricFailed(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 1)

	alarm("ReviewsOverdueAlarm", AlarmReviewsOverdue,
		"A break-glass review passed its due time without an outcome (elevate.review.overdue): someone used emergency access "+
			"and no approver has judged it yet. The reviews inbox (GET /v1/reviews/pending) lists it; the audit trail says whose it is.",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(namespace), MetricName: jsii.String(string(metrics.ReviewsOverdue)),
			Statistic: jsii.String("Sum"), Period: five,
		}), 1)

	alarm("ApiServerErrorsAlarm", AlarmAPIServerErrors,
		"The API answered 5xx at least five times in five minutes.",
		s.API.MetricServerError(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 5)
}
