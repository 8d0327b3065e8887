// Package infra is Elevate's CDK app: one stack with the DynamoDB table, the
// HTTP API with one Lambda function per route, the workflow (a Standard
// state machine, EventBridge Scheduler expiry schedules and the sweeper),
// the event bus, the cursor-sealing secret and the alarms. The function
// inventory and each function's needs come from internal/deploy, so that adding
// a function or a need there is all it takes to deploy it with the narrowest
// IAM this package knows for that need.
package infra

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
	"github.com/elevate-jit/elevate/internal/workflow"
)

// Functions the stack wires specially, by name (deploy.Functions).
const (
	FnAttachToken   = "wf-attach-token"
	FnExpireRequest = "wf-expire-request"
	FnProvision     = "wf-provision"
	FnDeprovision   = "wf-deprovision"
	FnExpiry        = "expiry"
	FnSweeper       = "sweeper"
	FnSweeperTenant = "sweeper-tenant"
)

// identityCenterTPS is the call rate Identity Center allows a deployment
// (its Admin APIs' quota of 20 transactions per second), shared by the
// functions that call it: each container gets identityCenterTPS divided by
// the number of their containers that may run at once.
const identityCenterTPS = 20

// nominalConcurrency is that number when no concurrency is reserved: the
// share then holds only while no more containers run at once, and beyond
// that Identity Center throttles (the adapter retries, and the
// IdentityCenterThrottles metric counts it).
const nominalConcurrency = 10

// Reservations splits reservedConcurrency (the context's, in total) among
// the functions that change Identity Center: the sweeper 1, the rest 5 to 4
// between provisioning and deprovisioning (each at least 1); another
// function with the identity-center need would get 1 more. Zero reserves
// nothing.
func Reservations(total int) map[string]int {
	if total <= 0 {
		return nil
	}
	rest := max(total-1, 2)
	provision := max((rest*5+4)/9, 1)
	out := map[string]int{FnSweeper: 1, FnProvision: provision, FnDeprovision: max(rest-provision, 1)}
	for _, f := range deploy.Functions {
		if _, ok := out[f.Name]; !ok && f.Has(deploy.NeedIdentityCenter) {
			out[f.Name] = 1
		}
	}
	return out
}

// CursorKeyID is the key id in the generated cursor secret.
const CursorKeyID = "k1"

// RevocationFailureProblem is the problem kind the functions log (under
// deploy.ProblemKey) when deleting an assignment failed and will be retried;
// a metric filter (deploy.ProblemFilter) on the deprovisioning functions'
// JSON logs counts it. It matches the kind, never a message's wording.
const RevocationFailureProblem = string(access.ProblemDeletionFailed)

// DefaultStackName is the stack's name unless the context sets stackName.
const DefaultStackName = "Elevate"

// CtxStackName names the stack, so that one account can hold two
// deployments (say, staging and production).
const CtxStackName = "stackName"

var stackNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,39}$`)

// Props configure the stack.
type Props struct {
	awscdk.StackProps
	Config Config
	// Root is the repository root; a relative Config.BinDir is under it.
	Root string
}

// Stack is Elevate's stack and the constructs its tests look at.
type Stack struct {
	Stack           awscdk.Stack
	Config          Config
	Table           awsdynamodb.Table
	API             awsapigatewayv2.HttpApi
	Functions       map[string]awslambda.Function
	LogGroups       map[string]awslogs.LogGroup
	Roles           map[string]awsiam.Role
	StateMachine    awsstepfunctions.StateMachine
	EventBus        awsevents.EventBus
	CursorSecret    awssecretsmanager.Secret
	DeadLetterQueue awssqs.Queue
	// SweepQueue carries one message per tenant from the sweeper to the
	// sweeper-tenant function; a tenant whose sweep fails three times moves
	// to SweepDeadLetterQueue.
	SweepQueue           awssqs.Queue
	SweepDeadLetterQueue awssqs.Queue
	// OutboxDeadLetterQueue receives, from the outbox's event source
	// mapping, where in the table's stream a batch it could not publish
	// lies, once its retries are spent.
	OutboxDeadLetterQueue awssqs.Queue
	ScheduleGroup         awsscheduler.ScheduleGroup
	SchedulerRole         awsiam.Role
	AlarmTopic            awssns.ITopic
	// IdentityCenterCheck fails the deployment when this account and Region
	// cannot administer the configured Identity Center instance.
	IdentityCenterCheck customresources.AwsCustomResource
	Alarms              []awscloudwatch.Alarm
	Dashboard           awscloudwatch.Dashboard

	name              string
	stateMachineARN   string
	expiryARN         string
	protectedAccounts []*string
	managementAccount *string
	lookup            customresources.AwsCustomResource
	// values are the functions' environment variables (deploy.Variables).
	values map[string]*string
}

// NewStack builds the stack. It fails when the contract in internal/deploy is
// one the stack cannot deploy (an unknown route or a missing workflow
// function) or a function's bootstrap binary is missing.
func NewStack(scope constructs.Construct, id string, props *Props) (*Stack, error) {
	if !stackNamePattern.MatchString(id) {
		return nil, fmt.Errorf("stack name %q: want a letter, then up to 39 letters, digits or '-' (the stack's resource names derive from it)", id)
	}
	if err := checkContract(); err != nil {
		return nil, err
	}
	binDir := props.Config.BinDir
	if !filepath.IsAbs(binDir) {
		binDir = filepath.Join(props.Root, binDir)
	}
	if err := checkBinaries(binDir); err != nil {
		return nil, err
	}

	s := &Stack{
		Stack:     awscdk.NewStack(scope, jsii.String(id), &props.StackProps),
		Config:    props.Config,
		Functions: map[string]awslambda.Function{},
		LogGroups: map[string]awslogs.LogGroup{},
		Roles:     map[string]awsiam.Role{},
		name:      id,
	}
	if s.Config.Placeholder {
		awscdk.Annotations_Of(s.Stack).AddWarningV2(jsii.String("elevate:placeholder"), jsii.String(
			"identityCenterInstanceArn and identityStoreId are development placeholders: the stack synthesizes but cannot provision. "+
				"Set them with -c (docs/deploy.md); make deploy refuses placeholders."))
	}

	if err := s.table(); err != nil {
		return nil, err
	}
	s.storage()
	s.identityCenterCheck()
	s.organization()
	s.scheduling()
	s.alarmTopic()
	values, err := s.variables()
	if err != nil {
		return nil, err
	}
	s.values = values
	for _, f := range deploy.Functions {
		s.function(f, filepath.Join(binDir, f.Name))
	}
	s.schedulerPermissions()
	s.sweepConsumer()
	s.outboxConsumer()
	s.stateMachine()
	s.api()
	s.sweeperSchedule()
	s.alarms()
	s.dashboard()
	s.outputs()
	s.suppressions()
	return s, nil
}

// checkContract makes sure deploy.Functions holds what the stack wires by name
// and that every route is one the HTTP API can serve.
func checkContract() error {
	names := map[string]bool{}
	for _, f := range deploy.Functions {
		if names[f.Name] {
			return fmt.Errorf("deploy.Functions: %q appears twice", f.Name)
		}
		names[f.Name] = true
		for _, r := range f.Routes() {
			if _, _, err := splitRoute(r); err != nil {
				return fmt.Errorf("deploy.Functions: %s: %w", f.Name, err)
			}
		}
	}
	for _, n := range []string{FnAttachToken, FnExpireRequest, FnProvision, FnDeprovision, FnExpiry, FnSweeper, FnSweeperTenant} {
		if !names[n] {
			return fmt.Errorf("deploy.Functions: the stack needs a function named %q", n)
		}
	}
	return nil
}

// routePath is a path the HTTP API routes: "/", or segments of which the
// last may be a greedy {name+}.
var routePath = regexp.MustCompile(`^(/|(/[A-Za-z0-9._~-]+|/\{[A-Za-z0-9_]+\})*(/\{[A-Za-z0-9_]+\+\})?)$`)

// splitRoute splits "GET /v1/requests/{id}" into its method and path.
func splitRoute(route string) (awsapigatewayv2.HttpMethod, string, error) {
	method, path, ok := strings.Cut(route, " ")
	if !ok || !routePath.MatchString(path) {
		return "", "", fmt.Errorf("route %q: want \"METHOD /path\"", route)
	}
	switch m := awsapigatewayv2.HttpMethod(method); m {
	case awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST, awsapigatewayv2.HttpMethod_PUT,
		awsapigatewayv2.HttpMethod_PATCH, awsapigatewayv2.HttpMethod_DELETE:
		return m, path, nil
	}
	return "", "", fmt.Errorf("route %q: method %q is not one of GET, POST, PUT, PATCH, DELETE", route, method)
}

// checkBinaries makes sure make build has run: Lambda needs
// <binDir>/<function>/bootstrap for every function.
func checkBinaries(binDir string) error {
	var missing []string
	for _, f := range deploy.Functions {
		if st, err := os.Stat(filepath.Join(binDir, f.Name, "bootstrap")); err != nil || st.IsDir() {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: no bootstrap binary for %s: run `make build` first (or set -c %s=<dir>)",
			binDir, strings.Join(missing, ", "), CtxBinDir)
	}
	return nil
}

// storage builds the cursor secret, the event bus and the dead-letter
// queue.
func (s *Stack) storage() {
	// The secret is {"id":"k1","secret":"<64 lowercase hex digits>"}: the
	// generator cannot write base64 of 32 bytes, but it can write 64
	// characters from 0-9a-f, which hex-decode to exactly 32 bytes.
	s.CursorSecret = awssecretsmanager.NewSecret(s.Stack, jsii.String("CursorKey"), &awssecretsmanager.SecretProps{
		Description: jsii.String(`Elevate: the key that seals pagination cursors, {"id":"<key id>","secret":"<64 hex digits = 32 bytes>"}`),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate:    jsii.String(`{"id":"` + CursorKeyID + `"}`),
			GenerateStringKey:       jsii.String("secret"),
			PasswordLength:          jsii.Number(64),
			ExcludeUppercase:        jsii.Bool(true),
			ExcludePunctuation:      jsii.Bool(true),
			ExcludeCharacters:       jsii.String("ghijklmnopqrstuvwxyz"),
			IncludeSpace:            jsii.Bool(false),
			RequireEachIncludedType: jsii.Bool(false),
		},
		// Cursors live minutes; a new deployment may start with a new key.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})

	s.EventBus = awsevents.NewEventBus(s.Stack, jsii.String("EventBus"), &awsevents.EventBusProps{
		Description: jsii.String("Elevate: elevate.request.* and elevate.grant.* events (docs/events.md)"),
	})

	s.DeadLetterQueue = awssqs.NewQueue(s.Stack, jsii.String("DeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})

	// The sweep queue: the sweeper sends each tenant, the sweeper-tenant
	// function sweeps it. A message stays invisible for six times the
	// consumer's timeout while a batch is swept (Lambda's advice for SQS
	// sources); one that failed three times goes to the dead-letter queue
	// (and its alarm), and one nobody swept within an hour is dropped: the
	// sweeper queues every tenant again each run.
	s.SweepDeadLetterQueue = awssqs.NewQueue(s.Stack, jsii.String("SweepDeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	s.OutboxDeadLetterQueue = awssqs.NewQueue(s.Stack, jsii.String("OutboxDeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	s.SweepQueue = awssqs.NewQueue(s.Stack, jsii.String("SweepQueue"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * workflowTimeoutSeconds)),
		RetentionPeriod:   awscdk.Duration_Hours(jsii.Number(1)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: s.SweepDeadLetterQueue, MaxReceiveCount: jsii.Number(3)},
	})
}

// workflowTimeoutSeconds is the timeout of the workflow functions other
// than the sweeper (the state machine's steps, expiry, sweeper-tenant).
const workflowTimeoutSeconds = 60

// SweepConcurrency is how many sweeper-tenant invocations the sweep queue
// runs at once, each sweeping a batch of up to SweepBatchSize tenants: no
// Identity Center calls, a few table queries and workflow starts per tenant.
const (
	SweepConcurrency = 5
	SweepBatchSize   = 10
)

// sweepConsumer makes the sweep queue the sweeper-tenant function's event
// source, reporting batch item failures (only failed tenants are retried).
func (s *Stack) sweepConsumer() {
	s.Functions[FnSweeperTenant].AddEventSource(awslambdaeventsources.NewSqsEventSource(s.SweepQueue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(SweepBatchSize),
		MaxConcurrency:          jsii.Number(SweepConcurrency),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
}

// The outbox's event source mapping: batches of up to OutboxBatchSize new
// audit items, retried from the first record the function could not
// publish (its batch item failure; a function error halves the batch) up
// to OutboxRetries times before the place in the stream of what is left
// goes to the outbox dead-letter queue. One batch per shard at a time
// keeps a tenant's events in order.
const (
	OutboxBatchSize = 100
	OutboxRetries   = 10
)

// outboxConsumer makes the table's stream the event source of the functions
// with the need table-stream (events-publish): only the INSERT of an item
// marked as an outbox event reaches them (the store marks its audit items),
// from the stream's oldest record on, so that no event written before the
// mapping existed is skipped. The mapping grants the function the stream's
// read actions.
func (s *Stack) outboxConsumer() {
	for _, f := range deploy.Functions {
		if !f.Has(deploy.NeedTableStream) {
			continue
		}
		s.Functions[f.Name].AddEventSource(awslambdaeventsources.NewDynamoEventSource(s.Table, &awslambdaeventsources.DynamoEventSourceProps{
			StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
			BatchSize:               jsii.Number(OutboxBatchSize),
			MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(0)),
			ParallelizationFactor:   jsii.Number(1),
			BisectBatchOnError:      jsii.Bool(true),
			RetryAttempts:           jsii.Number(OutboxRetries),
			ReportBatchItemFailures: jsii.Bool(true),
			OnFailure:               awslambdaeventsources.NewSqsDlq(s.OutboxDeadLetterQueue),
			Filters: &[]*map[string]any{awslambda.FilterCriteria_Filter(&map[string]any{
				"eventName": awslambda.FilterRule_IsEqual("INSERT"),
				"dynamodb": map[string]any{"NewImage": map[string]any{
					dynamo.OutboxAttribute: map[string]any{"S": awslambda.FilterRule_IsEqual(dynamo.OutboxEvent)},
				}},
			})},
		}))
	}
}

// identityCenterCheck fails the deployment, before any function exists,
// when this account cannot administer the configured instance from this
// Region: Identity Center answers DescribeInstance only in the instance's
// home Region, and only to the organization's management account or the
// delegated administrator (docs/deploy.md#prerequisites says what each
// failure means).
func (s *Stack) identityCenterCheck() {
	call := &customresources.AwsSdkCall{
		Service:            jsii.String("SSOAdmin"),
		Action:             jsii.String("describeInstance"),
		Parameters:         map[string]any{"InstanceArn": s.Config.IdentityCenterInstanceARN},
		PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("identity-center-check")),
		OutputPaths:        jsii.Strings("IdentityStoreId", "Status"),
	}
	s.IdentityCenterCheck = customresources.NewAwsCustomResource(s.Stack, jsii.String("IdentityCenterCheck"), &customresources.AwsCustomResourceProps{
		OnCreate: call,
		OnUpdate: call,
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("sso:DescribeInstance"),
				Resources: jsii.Strings(s.Config.IdentityCenterInstanceARN),
			}),
		}),
		InstallLatestAwsSdk: jsii.Bool(false),
		LogGroup: awslogs.NewLogGroup(s.Stack, jsii.String("IdentityCenterCheckLogs"), &awslogs.LogGroupProps{
			Retention:     s.Config.Retention(),
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		}),
	})
}

// organization looks up the organization's management account at deploy
// time: it is protected whatever the context says.
func (s *Stack) organization() {
	call := &customresources.AwsSdkCall{
		Service:            jsii.String("Organizations"),
		Action:             jsii.String("describeOrganization"),
		PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("organization")),
		OutputPaths:        jsii.Strings("Organization.MasterAccountId"),
	}
	lookup := customresources.NewAwsCustomResource(s.Stack, jsii.String("ManagementAccount"), &customresources.AwsCustomResourceProps{
		OnCreate: call,
		OnUpdate: call,
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("organizations:DescribeOrganization"),
				Resources: jsii.Strings("*"),
			}),
		}),
		InstallLatestAwsSdk: jsii.Bool(false),
		LogGroup: awslogs.NewLogGroup(s.Stack, jsii.String("ManagementAccountLogs"), &awslogs.LogGroupProps{
			Retention:     s.Config.Retention(),
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		}),
	})
	s.lookup = lookup
	s.managementAccount = lookup.GetResponseField(jsii.String("Organization.MasterAccountId"))
	for _, a := range s.Config.ProtectedAccounts {
		s.protectedAccounts = append(s.protectedAccounts, jsii.String(a))
	}
	s.protectedAccounts = append(s.protectedAccounts, awscdk.Aws_ACCOUNT_ID(), s.managementAccount)
}

// scheduling builds the expiry schedules' group and the role EventBridge
// Scheduler assumes to run them.
func (s *Stack) scheduling() {
	s.ScheduleGroup = awsscheduler.NewScheduleGroup(s.Stack, jsii.String("ScheduleGroup"), &awsscheduler.ScheduleGroupProps{
		ScheduleGroupName: jsii.String(s.scheduleGroupName()),
		// Deleting the group deletes its schedules, which would invoke a
		// function that no longer exists.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	s.expiryARN = *s.Stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("lambda"), Resource: jsii.String("function"),
		ResourceName: jsii.String(s.expiryName()), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	s.stateMachineARN = *s.Stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("stateMachine"),
		ResourceName: jsii.String(s.stateMachineName()), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	s.SchedulerRole = awsiam.NewRole(s.Stack, jsii.String("SchedulerRole"), &awsiam.RoleProps{
		Description: jsii.String("Elevate: EventBridge Scheduler runs the expiry schedules with this role"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
				"ArnLike":      map[string]any{"aws:SourceArn": s.ScheduleGroup.ScheduleGroupArn()},
			},
		}),
	})
}

// partition is the partition of the Identity Center instance, which is the
// deployment's.
func (s *Stack) partition() string { return strings.Split(s.Config.IdentityCenterInstanceARN, ":")[1] }

// expiryName and stateMachineName are fixed names derived from the stack's
// name: the functions' environment holds their ARNs, and a reference to the
// resources themselves would be a dependency cycle (the expiry function's
// environment holds its own ARN; the state machine's steps hold its ARN).
func (s *Stack) expiryName() string       { return s.name + "-expiry" }
func (s *Stack) stateMachineName() string { return s.name + "-workflow" }

// scheduleGroupName names the expiry schedules' group; the schedule
// permissions are scoped to it.
func (s *Stack) scheduleGroupName() string { return s.name + "-expiry" }

// schedulerPermissions lets the scheduler role invoke the expiry function
// and give up to the dead-letter queue, and nothing else.
func (s *Stack) schedulerPermissions() {
	s.SchedulerRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("InvokeExpiry"),
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &[]*string{s.Functions[FnExpiry].FunctionArn()},
	}))
	s.SchedulerRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DeadLetter"),
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{s.DeadLetterQueue.QueueArn()},
	}))
}

// function builds one Lambda function with its own role and log group.
func (s *Stack) function(f deploy.Function, code string) {
	id := pascal(f.Name)
	logs := awslogs.NewLogGroup(s.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     s.Config.Retention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	role := awsiam.NewRole(s.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		Description: jsii.String("Elevate function " + f.Name + ": " + needList(f.Needs)),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("Logs"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: &[]*string{logs.LogGroupArn()},
	}))
	for _, st := range s.statements(f) {
		role.AddToPolicy(st)
	}

	timeout := awscdk.Duration_Seconds(jsii.Number(workflowTimeoutSeconds))
	switch {
	case f.Route != "":
		timeout = awscdk.Duration_Seconds(jsii.Number(10))
	case f.Name == FnSweeper:
		timeout = awscdk.Duration_Minutes(jsii.Number(5))
	}
	memory := 256.0
	if f.Name == FnSweeper {
		memory = 512
	}
	props := &awslambda.FunctionProps{
		Description:  jsii.String(description(f)),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(code), nil),
		MemorySize:   jsii.Number(memory),
		Timeout:      timeout,
		Tracing:      awslambda.Tracing_ACTIVE,
		LogGroup:     logs,
		// JSON: the functions log JSON lines (lambdacontext's handler
		// follows AWS_LAMBDA_LOG_FORMAT), which the metric filters and the
		// embedded metrics read. Lambda drops application lines below the
		// application level, and counts the metric lines, which carry no
		// level, as INFO: so it stays at INFO (DEBUG when asked) and logLevel
		// raises the functions' own minimum (ELEVATE_LOG_LEVEL).
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: s.applicationLogLevel(),
		SystemLogLevelV2:      awslambda.SystemLogLevel_INFO,
		Role:                  role,
		Environment:           s.environment(f),
	}
	if n := Reservations(s.Config.ReservedConcurrency)[f.Name]; n > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(float64(n))
	}
	if f.Name == FnSweeper {
		// The schedule invokes it asynchronously. A failed sweep is not
		// retried by Lambda (the sweep's own fixes are idempotent, and the
		// next run starts over), and a run that waited in Lambda's queue for
		// longer than the rate is dropped for the next one.
		props.RetryAttempts = jsii.Number(0)
		props.MaxEventAge = awscdk.Duration_Minutes(jsii.Number(float64(max(s.Config.SweeperRateMinutes, 1))))
	}
	if f.Name == FnExpiry {
		// The schedules invoke it asynchronously: an event it fails on even
		// after Lambda's retries lands in the dead-letter queue (and its
		// alarm) instead of being dropped.
		props.FunctionName = jsii.String(s.expiryName())
		props.DeadLetterQueue = s.DeadLetterQueue
	}
	fn := awslambda.NewFunction(s.Stack, jsii.String(id), props)
	fn.Node().AddDependency(s.IdentityCenterCheck)
	s.Functions[f.Name] = fn
	s.LogGroups[f.Name] = logs
	s.Roles[f.Name] = role
}

// applicationLogLevel is the level below which Lambda drops the functions'
// log lines: INFO, or DEBUG when the context asks for debug.
func (s *Stack) applicationLogLevel() awslambda.ApplicationLogLevel {
	if strings.EqualFold(s.Config.LogLevel, "debug") {
		return awslambda.ApplicationLogLevel_DEBUG
	}
	return awslambda.ApplicationLogLevel_INFO
}

// environment is a function's configuration: the variables its needs bring
// (deploy.Variables) that have a value in this stack.
func (s *Stack) environment(f deploy.Function) *map[string]*string {
	env := map[string]*string{}
	for _, v := range f.Variables() {
		if value, ok := s.values[v.Name]; ok {
			env[v.Name] = value
		}
	}
	return &env
}

// variables are the stack's values of deploy.Variables; an optional one has
// a value only when it is configured. It fails when the contract has a
// required variable the stack cannot fill, or the stack one the contract
// does not know.
func (s *Stack) variables() (map[string]*string, error) {
	values := map[string]*string{
		deploy.EnvTable:             s.Table.TableName(),
		deploy.EnvCursorSecretARN:   s.CursorSecret.SecretArn(),
		deploy.EnvStateMachineARN:   jsii.String(s.stateMachineARN),
		deploy.EnvScheduleGroup:     s.ScheduleGroup.ScheduleGroupName(),
		deploy.EnvExpiryFunctionARN: jsii.String(s.expiryARN),
		deploy.EnvSchedulerRoleARN:  s.SchedulerRole.RoleArn(),
		deploy.EnvScheduleDLQARN:    s.DeadLetterQueue.QueueArn(),
		deploy.EnvEventBus:          s.EventBus.EventBusName(),
		deploy.EnvProtectedAccounts: awscdk.Fn_Join(jsii.String(","), &s.protectedAccounts),
		deploy.EnvIdentityCenterTPS: jsii.String(IdentityCenterTPS(s.Config.ReservedConcurrency)),
		deploy.EnvMetricsNamespace:  jsii.String(s.metricsNamespace()),
		deploy.EnvRatePerTenant:     jsii.String(strconv.Itoa(s.Config.RatePerTenant)),
		deploy.EnvRatePerPrincipal:  jsii.String(strconv.Itoa(s.Config.RatePerPrincipal)),
		deploy.EnvSweepQueueURL:     s.SweepQueue.QueueUrl(),
	}
	if s.Config.RDSLookupRole != "" {
		values[deploy.EnvRDSLookupRole] = jsii.String(s.Config.RDSLookupRole)
	}
	if s.Config.LogLevel != "" {
		values[deploy.EnvLogLevel] = jsii.String(strings.ToUpper(s.Config.LogLevel))
	}
	if len(s.Config.JWKSAllowedHosts) > 0 {
		values[deploy.EnvJWKSAllowedHosts] = jsii.String(strings.Join(s.Config.JWKSAllowedHosts, ","))
	}
	known := map[string]bool{}
	for _, v := range deploy.Variables {
		known[v.Name] = true
		if _, ok := values[v.Name]; !ok && !v.Optional {
			return nil, fmt.Errorf("deploy.Variables: the stack has no value for %s", v.Name)
		}
	}
	for name := range values {
		if !known[name] {
			return nil, fmt.Errorf("deploy.Variables: the stack sets %s, which the contract does not name", name)
		}
	}
	return values, nil
}

// IdentityCenterTPS is ELEVATE_IDENTITY_CENTER_TPS for a reservedConcurrency
// total: each container's share of the deployment-wide Identity Center
// rate, a decimal number.
func IdentityCenterTPS(reserved int) string {
	containers := 0
	for _, n := range Reservations(reserved) {
		containers += n
	}
	if containers == 0 {
		containers = nominalConcurrency
	}
	return strconv.FormatFloat(float64(identityCenterTPS)/float64(containers), 'f', -1, 64)
}

// stateMachine builds the Standard state machine from the workflow
// package's definition; its role may invoke its four step functions only.
func (s *Stack) stateMachine() {
	// Step Functions writes to /aws/vendedlogs/ without adding to the
	// account's CloudWatch Logs resource policy. The stack's id ends the
	// name, so a retained group never blocks a later deployment.
	stackID := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), awscdk.Aws_STACK_ID(), nil))
	logs := awslogs.NewLogGroup(s.Stack, jsii.String("WorkflowLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + s.stateMachineName() + "-" + *stackID),
		Retention:     s.Config.Retention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	steps := map[string]string{
		"AttachTokenFunctionArn":   FnAttachToken,
		"ExpireRequestFunctionArn": FnExpireRequest,
		"ProvisionFunctionArn":     FnProvision,
		"DeprovisionFunctionArn":   FnDeprovision,
	}
	// ${Partition} is written in at synthesis, as the partition of the
	// Identity Center instance (which is the deployment's), so that
	// cfn-lint can check the definition's Resource ARNs; the function ARNs
	// are substituted at deployment.
	definition := strings.ReplaceAll(workflow.Definition, "${Partition}", s.partition())
	subs := map[string]*string{}
	for key, name := range steps {
		subs[key] = s.Functions[name].FunctionArn()
	}
	s.StateMachine = awsstepfunctions.NewStateMachine(s.Stack, jsii.String("Workflow"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(s.stateMachineName()),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(definition)),
		DefinitionSubstitutions: &subs,
		TracingEnabled:          jsii.Bool(true),
		// Every event, without execution data: the approval wait's task
		// token is in its input, and task tokens never leave the backend.
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	// The definition names the functions by their unqualified ARNs, so no
	// version or alias (<ARN>:*) is needed.
	var invoke []*string
	for _, name := range sortedValues(steps) {
		invoke = append(invoke, s.Functions[name].FunctionArn())
	}
	s.StateMachine.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("InvokeSteps"), Actions: jsii.Strings("lambda:InvokeFunction"), Resources: &invoke,
	}))
}

// api builds the HTTP API: one route per API function, Lambda proxy
// integrations with payload format 2.0, a throttled default stage with
// access logs, no CORS and no authorizer (the functions authenticate).
func (s *Stack) api() {
	s.API = awsapigatewayv2.NewHttpApi(s.Stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("Elevate: just-in-time AWS access (docs/deploy.md)"),
		CreateDefaultStage: jsii.Bool(false),
	})
	access := awslogs.NewLogGroup(s.Stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     s.Config.Retention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	s.API.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(s.Config.APIThrottleRate),
			BurstLimit: jsii.Number(float64(s.Config.APIThrottleBurst)),
		},
		AccessLogSettings: &accessLogSettings{
			destination: awsapigatewayv2.NewLogGroupLogDestination(access),
			format:      accessLogFormat,
		},
	})
	for _, f := range deploy.Functions {
		if f.Route == "" {
			continue
		}
		// One integration per function, for all of its routes (the console
		// has two).
		integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(pascal(f.Name)+"Integration"), s.Functions[f.Name],
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
		for _, r := range f.Routes() {
			method, path, _ := splitRoute(r) // checked by checkContract
			s.API.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
				Path:        jsii.String(path),
				Methods:     &[]awsapigatewayv2.HttpMethod{method},
				Integration: integration,
			})
		}
	}
}

// accessLogFormat is one JSON line per request, without headers: the
// request's X-API-Key and Authorization never reach the log.
var accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime",` +
	`"routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength",` +
	`"responseLatency":"$context.responseLatency","integrationLatency":"$context.integrationLatency","integrationError":"$context.integrationErrorMessage"}`

// sweeperSchedule runs the sweeper every sweeperRate minutes.
func (s *Stack) sweeperSchedule() {
	awsevents.NewRule(s.Stack, jsii.String("SweeperSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Elevate: run the sweeper"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(float64(s.Config.SweeperRateMinutes)))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.Functions[FnSweeper], &awseventstargets.LambdaFunctionProps{
			// A sweep that could not start is replaced by the next one.
			MaxEventAge:   awscdk.Duration_Minutes(jsii.Number(float64(s.Config.SweeperRateMinutes))),
			RetryAttempts: jsii.Number(2),
		})},
	})
}

// outputs are what the operator CLI and the customer's own rules need.
func (s *Stack) outputs() {
	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	out("ApiUrl", "The API's base URL", s.API.ApiEndpoint())
	out("TableName", "The DynamoDB table (elevate tenant create --table)", s.Table.TableName())
	out("EventBusName", "The EventBridge bus Elevate publishes elevate.request.* and elevate.grant.* events on", s.EventBus.EventBusName())
	out("StateMachineArn", "The workflow state machine", s.StateMachine.StateMachineArn())
	out("CursorSecretArn", "The cursor-sealing secret", s.CursorSecret.SecretArn())
	out("AlarmTopicArn", "The SNS topic the alarms notify", s.AlarmTopic.TopicArn())
	out("DashboardName", "The CloudWatch dashboard of the on-call figures and the alarms", s.Dashboard.DashboardName())
	out("DeadLetterQueueUrl", "Expiry invocations that failed for good", s.DeadLetterQueue.QueueUrl())
	out("IdentityCenterInstanceArn", "The Identity Center instance every tenant must use", jsii.String(s.Config.IdentityCenterInstanceARN))
	out("IdentityStoreId", "The identity store of that instance", jsii.String(s.Config.IdentityStoreID))
	out("DefaultApprovalWindowSeconds", "The approval window the CLI gives new tenants", jsii.String(strconv.Itoa(s.Config.ApprovalWindowSeconds)))
	out("ProtectedAccounts", "Accounts no grant may target", awscdk.Fn_Join(jsii.String(","), &s.protectedAccounts))
}

// accessLogSettings implements awsapigatewayv2.IAccessLogSettings.
type accessLogSettings struct {
	destination awsapigatewayv2.IAccessLogDestination
	format      string
}

func (a *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination { return a.destination }

func (a *accessLogSettings) Format() awsapigateway.AccessLogFormat {
	return awsapigateway.AccessLogFormat_Custom(jsii.String(a.format))
}

func needList(needs []deploy.Need) string {
	if len(needs) == 0 {
		return "no needs"
	}
	parts := make([]string, len(needs))
	for i, n := range needs {
		parts[i] = string(n)
	}
	return strings.Join(parts, ", ")
}

func description(f deploy.Function) string {
	if f.Route != "" {
		return "Elevate API: " + f.Route
	}
	return "Elevate workflow: " + f.Name
}

// pascal turns "requests-create" into "RequestsCreate", for construct ids.
func pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
