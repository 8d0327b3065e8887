package infra_test

import (
	"encoding/json"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/elevate-jit/elevate/infra"
	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/metrics"
	"github.com/elevate-jit/elevate/internal/workflow"
)

func TestEveryFunction(t *testing.T) {
	f := stack(t)
	// One more function: the provider behind the management-account lookup.
	must(t, "function count", func() {
		f.template.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(float64(len(deploy.Functions)+1)))
	})
	for _, fn := range deploy.Functions {
		t.Run(fn.Name, func(t *testing.T) {
			p := props(f.resource(t, f.functionID(t, fn.Name)))
			if !jsonEqual(p["Architectures"], []any{"arm64"}) {
				t.Errorf("Architectures = %v, want [arm64]", p["Architectures"])
			}
			for key, want := range map[string]any{"Runtime": "provided.al2023", "Handler": "bootstrap"} {
				if p[key] != want {
					t.Errorf("%s = %v, want %v", key, p[key], want)
				}
			}
			if !jsonEqual(p["TracingConfig"], map[string]any{"Mode": "Active"}) {
				t.Errorf("TracingConfig = %v, want Active", p["TracingConfig"])
			}
			logs := f.idOf(f.stack.LogGroups[fn.Name])
			// JSON lines, which the metric filters and the embedded metrics
			// read; Lambda's application level at INFO, so that it keeps the
			// metric lines (which it counts as INFO).
			wantLogging := map[string]any{"ApplicationLogLevel": "INFO", "LogFormat": "JSON", "LogGroup": ref(logs), "SystemLogLevel": "INFO"}
			if !jsonEqual(p["LoggingConfig"], wantLogging) {
				t.Errorf("LoggingConfig = %v, want %v", p["LoggingConfig"], wantLogging)
			}
			if r := props(f.resource(t, logs)); r["RetentionInDays"] != float64(infra.DefaultLogRetentionDays) {
				t.Errorf("log retention = %v, want %d", r["RetentionInDays"], infra.DefaultLogRetentionDays)
			}
			wantTimeout := 60.0
			switch {
			case fn.Route != "":
				wantTimeout = 10
			case fn.Name == infra.FnSweeper:
				wantTimeout = 300
			}
			if p["Timeout"] != wantTimeout {
				t.Errorf("Timeout = %v, want %v", p["Timeout"], wantTimeout)
			}
			checkEnvironment(t, fn, p)
		})
	}
}

// unconfigured are the optional variables the test configuration gives no
// value; the stack sets every other variable a function's needs bring.
var unconfigured = map[string]bool{deploy.EnvLogLevel: true, deploy.EnvJWKSAllowedHosts: true}

// checkEnvironment holds a function's environment to the contract: exactly
// the variables its needs bring (deploy.Variables), optional ones when
// configured.
func checkEnvironment(t *testing.T, fn deploy.Function, p map[string]any) {
	t.Helper()
	env := map[string]any{}
	if e, ok := p["Environment"].(map[string]any); ok {
		env = e["Variables"].(map[string]any)
	}
	var want []string
	for _, v := range fn.Variables() {
		if !v.Optional || !unconfigured[v.Name] {
			want = append(want, v.Name)
		}
	}
	var got []string
	for key := range env {
		got = append(got, key)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("environment has %v, want %v (needs %v)", got, want, fn.Needs)
	}
	if want := infra.IdentityCenterTPS(testReserved); env[deploy.EnvIdentityCenterTPS] != nil && env[deploy.EnvIdentityCenterTPS] != want {
		t.Errorf("%s = %v, want %s", deploy.EnvIdentityCenterTPS, env[deploy.EnvIdentityCenterTPS], want)
	}
	if v, ok := env[deploy.EnvRDSLookupRole]; ok && v != testRDSRole {
		t.Errorf("%s = %v, want %s", deploy.EnvRDSLookupRole, v, testRDSRole)
	}
	n, reserved := infra.Reservations(testReserved)[fn.Name]
	if got, ok := p["ReservedConcurrentExecutions"]; ok != reserved || ok && got != float64(n) {
		t.Errorf("ReservedConcurrentExecutions = %v, want %d of %d", got, n, testReserved)
	}
	if reserved != fn.Has(deploy.NeedIdentityCenter) {
		t.Errorf("reserved concurrency %v, Identity Center need %v: only the functions that change Identity Center reserve", reserved, fn.Has(deploy.NeedIdentityCenter))
	}
	if v, ok := env[deploy.EnvProtectedAccounts]; ok {
		parts := strings.Split(render(v), ",")
		for _, a := range append(strings.Split(testProtected, ","), "<AWS::AccountId>") {
			if !slices.Contains(parts, a) {
				t.Errorf("%s lacks %s: %v", deploy.EnvProtectedAccounts, a, parts)
			}
		}
		if !slices.ContainsFunc(parts, func(p string) bool { return strings.HasSuffix(p, ".Organization.MasterAccountId>") }) {
			t.Errorf("%s lacks the management account: %v", deploy.EnvProtectedAccounts, parts)
		}
	}
}

func TestReservations(t *testing.T) {
	for _, tc := range []struct {
		total                       int
		provision, deprovision, tps string
	}{
		// None reserved: 20 TPS divided among a nominal 10 containers.
		{0, "", "", "2"},
		{3, "1", "1", "6.666666666666667"},
		{10, "5", "4", "2"},
		{12, "6", "5", "1.6666666666666667"},
		{100, "55", "44", "0.2"},
	} {
		r := infra.Reservations(tc.total)
		sum := 0
		for _, n := range r {
			sum += n
		}
		show := func(name string) string {
			if n, ok := r[name]; ok {
				return strconv.Itoa(n)
			}
			return ""
		}
		if show(infra.FnProvision) != tc.provision || show(infra.FnDeprovision) != tc.deprovision || tc.total > 0 && (r[infra.FnSweeper] != 1 || sum != tc.total) {
			t.Errorf("Reservations(%d) = %v, want provision %s, deprovision %s, sweeper 1, %d in all", tc.total, r, tc.provision, tc.deprovision, tc.total)
		}
		if got := infra.IdentityCenterTPS(tc.total); got != tc.tps {
			t.Errorf("IdentityCenterTPS(%d) = %s, want %s", tc.total, got, tc.tps)
		}
	}
}

func TestRoutes(t *testing.T) {
	f := stack(t)
	routes := f.resources("AWS::ApiGatewayV2::Route")
	integrations := f.resources("AWS::ApiGatewayV2::Integration")
	byKey := map[string]map[string]any{}
	for _, r := range routes {
		p := props(r)
		byKey[p["RouteKey"].(string)] = p
	}
	n := 0
	for _, fn := range deploy.Functions {
		for _, key := range fn.Routes() {
			n++
			t.Run(fn.Name+" "+key, func(t *testing.T) {
				checkRoute(t, f, byKey, integrations, fn.Name, key)
			})
		}
	}
	if len(routes) != n {
		t.Errorf("%d routes, want %d (one per route of an API function)", len(routes), n)
	}
	// The console is one more function, on GET / and GET /console/{proxy+}
	// of the same API: same origin, so no CORS.
	for _, key := range []string{"GET /", "GET /console/{proxy+}"} {
		t.Run("console "+key, func(t *testing.T) { checkRoute(t, f, byKey, integrations, "console", key) })
	}
	if _, ok := byKey["POST /v1/requests/{id}/forward"]; !ok {
		t.Error("no route for forwarding a request (requests-forward)")
	}
	rest(t, f)
}

// checkRoute checks that the route key goes to the function, unauthorized
// at the gateway (the functions authenticate), by a Lambda proxy integration.
func checkRoute(t *testing.T, f *fixture, byKey, integrations map[string]map[string]any, fn, key string) {
	t.Helper()
	route, ok := byKey[key]
	if !ok {
		t.Fatalf("no route %q", key)
	}
	if route["AuthorizationType"] != nil && route["AuthorizationType"] != "NONE" {
		t.Errorf("AuthorizationType = %v, want none (the functions authenticate)", route["AuthorizationType"])
	}
	// Target is "integrations/<integration>".
	join := route["Target"].(map[string]any)["Fn::Join"].([]any)[1].([]any)
	if join[0] != "integrations/" {
		t.Fatalf("Target = %v", route["Target"])
	}
	ip := props(integrations[join[1].(map[string]any)["Ref"].(string)])
	if want := getAtt(f.functionID(t, fn), "Arn"); !jsonEqual(ip["IntegrationUri"], want) {
		t.Errorf("IntegrationUri = %v, want %v", ip["IntegrationUri"], want)
	}
	if ip["IntegrationType"] != "AWS_PROXY" || ip["PayloadFormatVersion"] != "2.0" {
		t.Errorf("integration = %v %v, want AWS_PROXY 2.0", ip["IntegrationType"], ip["PayloadFormatVersion"])
	}
}

// rest checks the API's own settings.
func rest(t *testing.T, f *fixture) {
	must(t, "no CORS, default stage throttled and logged", func() {
		f.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{
			"ProtocolType": "HTTP", "CorsConfiguration": assertions.Match_Absent(),
		})
		f.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"StageName": "$default", "AutoDeploy": true,
			"DefaultRouteSettings": map[string]any{
				"ThrottlingRateLimit": infra.DefaultThrottleRate, "ThrottlingBurstLimit": infra.DefaultThrottleBurst,
			},
			"AccessLogSettings": map[string]any{
				"DestinationArn": assertions.Match_AnyValue(),
				"Format":         assertions.Match_StringLikeRegexp(jsii.String(`\$context\.requestId`)),
			},
		})
	})
	// Access logs never carry the credentials.
	for _, s := range f.resources("AWS::ApiGatewayV2::Stage") {
		format := props(s)["AccessLogSettings"].(map[string]any)["Format"].(string)
		if strings.Contains(strings.ToLower(format), "header") || strings.Contains(format, "authorizer") {
			t.Errorf("access log format logs headers or authorizer data: %s", format)
		}
	}
}

func TestTable(t *testing.T) {
	f := stack(t)
	// Keys and indexes are the store's (TestTableMatchesStore).
	must(t, "table", func() {
		// Retained when the stack is deleted or the table replaced, deleted
		// when a first deployment rolls back (RETAIN_ON_UPDATE_OR_DELETE);
		// so deletion protection is off until the context turns it on.
		f.template.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy":      "RetainExceptOnCreate",
			"UpdateReplacePolicy": "Retain",
			"Properties": map[string]any{
				"BillingMode":                      "PAY_PER_REQUEST",
				"DeletionProtectionEnabled":        false,
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"TimeToLiveSpecification":          map[string]any{"AttributeName": "ttl", "Enabled": true},
				"SSESpecification":                 map[string]any{"SSEEnabled": true},
				"KeySchema": []any{
					map[string]any{"AttributeName": "PK", "KeyType": "HASH"},
					map[string]any{"AttributeName": "SK", "KeyType": "RANGE"},
				},
			},
		})
	})
	var names []string
	for _, tbl := range f.resources("AWS::DynamoDB::Table") {
		for _, g := range props(tbl)["GlobalSecondaryIndexes"].([]any) {
			names = append(names, g.(map[string]any)["IndexName"].(string))
		}
	}
	for _, want := range []string{"GSI1", "GSI2", "GSI3", "GSI4", "GSI5", "GSI6", "GSI7", "GSI8"} {
		if !slices.Contains(names, want) {
			t.Errorf("no index %s among %v", want, names)
		}
	}
}

// TestLogGroupsRetainedExceptOnCreate checks that the functions', the
// API's and the workflow's logs outlive the stack and an update that
// replaces them, but not a first deployment that fails and rolls back.
func TestLogGroupsRetainedExceptOnCreate(t *testing.T) {
	f := stack(t)
	ids := map[string]bool{}
	for _, fn := range deploy.Functions {
		ids[f.idOf(f.stack.LogGroups[fn.Name])] = true
	}
	retained := 0
	for id, lg := range f.resources("AWS::Logs::LogGroup") {
		policy, replace := lg["DeletionPolicy"], lg["UpdateReplacePolicy"]
		if policy == "Retain" || replace == "Retain" && policy != "RetainExceptOnCreate" {
			t.Errorf("log group %s: DeletionPolicy %v: a failed first deployment would leave it behind", id, policy)
		}
		if policy != "RetainExceptOnCreate" {
			continue
		}
		retained++
		if replace != "Retain" {
			t.Errorf("log group %s: UpdateReplacePolicy %v, want Retain", id, replace)
		}
		delete(ids, id)
	}
	for id := range ids {
		t.Errorf("function log group %s is not retained", id)
	}
	// The functions', the API's access logs and the workflow's.
	if want := len(deploy.Functions) + 2; retained != want {
		t.Errorf("%d log groups retained, want %d", retained, want)
	}
}

func TestStateMachine(t *testing.T) {
	f := stack(t)
	machines := f.resources("AWS::StepFunctions::StateMachine")
	if len(machines) != 1 {
		t.Fatalf("%d state machines, want 1", len(machines))
	}
	var p map[string]any
	var roleARN any
	for _, m := range machines {
		p = props(m)
		roleARN = p["RoleArn"]
	}
	// The functions find the state machine and the expiry function by ARNs
	// built from their names (a reference would be a cycle).
	want := "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:" + p["StateMachineName"].(string)
	expiry := props(f.resource(t, f.functionID(t, infra.FnExpiry)))
	wantExpiry := "arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:" + expiry["FunctionName"].(string)
	for _, fn := range deploy.Functions {
		env, _ := props(f.resource(t, f.functionID(t, fn.Name)))["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		if v, ok := vars[deploy.EnvStateMachineARN]; ok && render(v) != want {
			t.Errorf("%s: %s = %s, want %s", fn.Name, deploy.EnvStateMachineARN, render(v), want)
		}
		if v, ok := vars[deploy.EnvExpiryFunctionARN]; ok && render(v) != wantExpiry {
			t.Errorf("%s: %s = %s, want %s", fn.Name, deploy.EnvExpiryFunctionARN, render(v), wantExpiry)
		}
	}
	if p["StateMachineType"] != "STANDARD" {
		t.Errorf("StateMachineType = %v, want STANDARD", p["StateMachineType"])
	}
	logging := p["LoggingConfiguration"].(map[string]any)
	if logging["Level"] != "ALL" || logging["IncludeExecutionData"] != false || len(logging["Destinations"].([]any)) != 1 {
		t.Errorf("LoggingConfiguration = %v, want ALL to one log group without execution data (task tokens)", logging)
	}
	if !jsonEqual(p["TracingConfiguration"], map[string]any{"Enabled": true}) {
		t.Errorf("TracingConfiguration = %v", p["TracingConfiguration"])
	}

	// Every ${…} left in the definition is substituted, with its function.
	def := p["DefinitionString"].(string)
	subs := p["DefinitionSubstitutions"].(map[string]any)
	steps := map[string]string{
		"AttachTokenFunctionArn": infra.FnAttachToken, "ExpireRequestFunctionArn": infra.FnExpireRequest,
		"ProvisionFunctionArn": infra.FnProvision, "DeprovisionFunctionArn": infra.FnDeprovision,
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z]+)\}`).FindAllStringSubmatch(def, -1) {
		if _, ok := subs[m[1]]; !ok {
			t.Errorf("definition uses ${%s}, which is not substituted", m[1])
		}
	}
	for key, name := range steps {
		if want := getAtt(f.functionID(t, name), "Arn"); !jsonEqual(subs[key], want) {
			t.Errorf("substitution %s = %v, want %v", key, subs[key], want)
		}
	}
	if want := strings.ReplaceAll(workflow.Definition, "${Partition}", "aws"); def != want {
		t.Errorf("the definition is not internal/workflow's, with the partition written in")
	}

	// The role invokes the four steps and nothing else.
	role := roleARN.(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	var invoke []any
	for _, s := range f.policy(t, role) {
		if slices.Contains(s.Actions, "lambda:InvokeFunction") {
			if len(s.Actions) != 1 {
				t.Errorf("the invoke statement allows more: %v", s.Actions)
			}
			invoke = append(invoke, s.Resources...)
		}
		for _, a := range s.Actions {
			if !strings.HasPrefix(a, "logs:") && !strings.HasPrefix(a, "xray:") && a != "lambda:InvokeFunction" {
				t.Errorf("the state machine's role may %s", a)
			}
		}
	}
	var steps4 []any
	for _, name := range []string{infra.FnAttachToken, infra.FnDeprovision, infra.FnExpireRequest, infra.FnProvision} {
		steps4 = append(steps4, getAtt(f.functionID(t, name), "Arn"))
	}
	if !sameElements(invoke, steps4) {
		t.Errorf("the state machine may invoke %v, want exactly %v", invoke, steps4)
	}
}

func sameElements(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y any) bool { return jsonEqual(x, y) }) {
			return false
		}
	}
	return true
}

func TestSchedulerAndSweeper(t *testing.T) {
	f := stack(t)
	role := f.idOf(f.stack.SchedulerRole)
	trust := props(f.resource(t, role))["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any)
	if len(trust) != 1 || !jsonEqual(trust[0].(map[string]any)["Principal"], map[string]any{"Service": "scheduler.amazonaws.com"}) {
		t.Errorf("scheduler role trust = %v", trust)
	}
	if trust[0].(map[string]any)["Condition"] == nil {
		t.Errorf("scheduler role trust has no confused-deputy condition")
	}
	got := map[string][]any{}
	for _, s := range f.policy(t, role) {
		for _, a := range s.Actions {
			got[a] = append(got[a], s.Resources...)
		}
	}
	dlq := f.idOf(f.stack.DeadLetterQueue)
	want := map[string][]any{
		"lambda:InvokeFunction": {getAtt(f.functionID(t, infra.FnExpiry), "Arn")},
		"sqs:SendMessage":       {getAtt(dlq, "Arn")},
	}
	if !jsonEqual(got, want) {
		t.Errorf("scheduler role may %v, want %v", got, want)
	}
	must(t, "sweeper rule and encrypted DLQ", func() {
		f.template.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"ScheduleExpression": "rate(5 minutes)",
			"Targets": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Arn": getAtt(f.functionID(t, infra.FnSweeper), "Arn"),
			})}),
		})
		f.template.HasResourceProperties(jsii.String("AWS::SQS::Queue"), map[string]any{"SqsManagedSseEnabled": true})
		f.template.HasResourceProperties(jsii.String("AWS::Scheduler::ScheduleGroup"), map[string]any{"Name": "Elevate-expiry"})
	})
	// Lambda does not retry a failed sweep, and drops one that waited longer
	// than the rate.
	invoke := f.resources("AWS::Lambda::EventInvokeConfig")
	var sweeperConfig map[string]any
	for _, c := range invoke {
		if jsonEqual(props(c)["FunctionName"], ref(f.functionID(t, infra.FnSweeper))) {
			sweeperConfig = props(c)
		}
	}
	if sweeperConfig == nil {
		t.Fatalf("no EventInvokeConfig for the sweeper among %v", invoke)
	}
	if sweeperConfig["MaximumRetryAttempts"] != 0.0 || sweeperConfig["MaximumEventAgeInSeconds"] != 300.0 || sweeperConfig["Qualifier"] != "$LATEST" {
		t.Errorf("sweeper EventInvokeConfig = %v, want no retries, events at most 300 s old, on $LATEST", sweeperConfig)
	}
	// The expiry function's failed asynchronous events go to the DLQ too.
	if p := props(f.resource(t, f.functionID(t, infra.FnExpiry))); !jsonEqual(p["DeadLetterConfig"], map[string]any{"TargetArn": getAtt(dlq, "Arn")}) {
		t.Errorf("expiry DeadLetterConfig = %v", p["DeadLetterConfig"])
	}
}

func TestCursorSecret(t *testing.T) {
	f := stack(t)
	must(t, "cursor secret", func() {
		f.template.HasResourceProperties(jsii.String("AWS::SecretsManager::Secret"), map[string]any{
			"GenerateSecretString": map[string]any{
				"SecretStringTemplate":    `{"id":"` + infra.CursorKeyID + `"}`,
				"GenerateStringKey":       "secret",
				"PasswordLength":          64,
				"ExcludeUppercase":        true,
				"ExcludePunctuation":      true,
				"ExcludeCharacters":       "ghijklmnopqrstuvwxyz",
				"IncludeSpace":            false,
				"RequireEachIncludedType": false,
			},
		})
	})
	// Only the list functions (cursor-key) may read it.
	for _, fn := range deploy.Functions {
		reads := slices.Contains(allowed(f.functionPolicy(t, fn.Name)), "secretsmanager:GetSecretValue")
		if reads != slices.Contains(fn.Needs, deploy.NeedCursorKey) {
			t.Errorf("%s may read the cursor secret: %v, needs %v", fn.Name, reads, fn.Needs)
		}
	}
}

func TestAlarms(t *testing.T) {
	f := stack(t)
	alarms := map[string]map[string]any{}
	for _, a := range f.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		alarms[p["AlarmName"].(string)] = p
	}
	check := func(name, metric string) {
		t.Helper()
		a, ok := alarms["Elevate-"+name]
		if !ok {
			t.Errorf("no alarm %s", name)
			return
		}
		if a["MetricName"] != metric {
			t.Errorf("alarm %s watches %v, want %s", name, a["MetricName"], metric)
		}
		if len(a["AlarmActions"].([]any)) != 1 {
			t.Errorf("alarm %s notifies %v, want the alarm topic", name, a["AlarmActions"])
		}
	}
	check(infra.AlarmDeadLetters, "ApproximateNumberOfMessagesVisible")
	check(infra.AlarmOutboxDeadLetters, "ApproximateNumberOfMessagesVisible")
	check(infra.AlarmOutboxLag, "IteratorAge")
	check(infra.AlarmRevocationFailures, infra.RevocationFailureMetric)
	check(infra.AlarmSessionCutFailures, string(metrics.SessionCutFailures))
	check(infra.AlarmWorkflowFailed, "ExecutionsFailed")
	check(infra.AlarmReviewsOverdue, "ReviewsOverdue")
	for _, fn := range deploy.Functions {
		check(infra.AlarmFunctionErrors+"-"+fn.Name, "Errors")
	}

	// The revocation-failure metric counts the domain's deletion_failed
	// problem in the logs of the functions that delete assignments: the
	// contract's pattern, which internal/function's tests match against a
	// line the functions' real log handler writes.
	filters := f.resources("AWS::Logs::MetricFilter")
	var groups []any
	for _, mf := range filters {
		p := props(mf)
		if want := deploy.ProblemFilter(string(access.ProblemDeletionFailed)); p["FilterPattern"] != want {
			t.Errorf("filter pattern %v, want %s", p["FilterPattern"], want)
		}
		groups = append(groups, p["LogGroupName"])
	}
	var want []any
	for _, name := range []string{infra.FnDeprovision, infra.FnSweeper} {
		want = append(want, ref(f.idOf(f.stack.LogGroups[name])))
	}
	if !sameElements(groups, want) {
		t.Errorf("metric filters on %v, want %v", groups, want)
	}
}

// TestAlarmTopicPolicy checks that the alarms can publish to the topic the
// stack creates: EnforceSSL's topic policy replaces SNS's default one, so it
// must allow CloudWatch, for this account's alarms of this stack only.
func TestAlarmTopicPolicy(t *testing.T) {
	f := stack(t)
	topic := f.idOf(f.stack.AlarmTopic)
	policies := f.resources("AWS::SNS::TopicPolicy")
	if len(policies) != 1 {
		t.Fatalf("%d topic policies, want 1", len(policies))
	}
	var allow []statement
	for _, p := range policies {
		if !jsonEqual(props(p)["Topics"], []any{ref(topic)}) {
			t.Errorf("the topic policy is on %v, want the alarm topic", props(p)["Topics"])
		}
		for _, s := range props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := normalize(s.(map[string]any))
			if st.Effect == "Allow" {
				if !jsonEqual(s.(map[string]any)["Principal"], map[string]any{"Service": "cloudwatch.amazonaws.com"}) {
					t.Errorf("the topic allows %v", s.(map[string]any)["Principal"])
				}
				allow = append(allow, st)
			}
		}
	}
	if len(allow) != 1 {
		t.Fatalf("%d Allow statements in the topic policy, want 1 for CloudWatch", len(allow))
	}
	st := allow[0]
	if !slices.Equal(st.Actions, []string{"sns:Publish"}) || !jsonEqual(st.Resources, []any{ref(topic)}) {
		t.Errorf("CloudWatch may %v on %v, want sns:Publish on the topic", st.Actions, st.Resources)
	}
	equals, _ := st.Condition["StringEquals"].(map[string]any)
	if render(equals["aws:SourceAccount"]) != "<AWS::AccountId>" {
		t.Errorf("aws:SourceAccount condition = %v, want the stack's account", equals["aws:SourceAccount"])
	}
	like, _ := st.Condition["ArnLike"].(map[string]any)
	pattern := render(like["aws:SourceArn"])
	if !strings.HasSuffix(pattern, ":alarm:Elevate-*") {
		t.Fatalf("aws:SourceArn pattern = %q, want the stack's alarms", pattern)
	}
	// Every alarm of the stack matches the pattern.
	n := 0
	for _, a := range f.resources("AWS::CloudWatch::Alarm") {
		n++
		arn := "arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:" + props(a)["AlarmName"].(string)
		if ok, err := path.Match(pattern, arn); !ok || err != nil {
			t.Errorf("alarm %s is not covered by %s", arn, pattern)
		}
	}
	if n == 0 {
		t.Error("no alarms")
	}
}

func TestOutputs(t *testing.T) {
	f := stack(t)
	for _, name := range []string{"ApiUrl", "TableName", "EventBusName", "IdentityCenterInstanceArn", "IdentityStoreId", "DefaultApprovalWindowSeconds", "AlarmTopicArn", "DashboardName"} {
		must(t, "output "+name, func() { f.template.HasOutput(jsii.String(name), map[string]any{}) })
	}
}

// TestDashboard checks the on-call dashboard: every alarm's state, a graph
// of every metric the functions publish (internal/metrics) in the stack's
// namespace, which the functions are told (ELEVATE_METRICS_NAMESPACE), and
// the revocation failures.
func TestDashboard(t *testing.T) {
	f := stack(t)
	dashboards := f.resources("AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("%d dashboards, want 1", len(dashboards))
	}
	var body struct {
		Widgets []struct {
			Type       string
			Properties struct {
				Metrics [][]any
				Alarms  []string
			}
		}
	}
	for _, d := range dashboards {
		if props(d)["DashboardName"] != "Elevate" {
			t.Errorf("DashboardName = %v", props(d)["DashboardName"])
		}
		if err := json.Unmarshal([]byte(render(props(d)["DashboardBody"])), &body); err != nil {
			t.Fatalf("dashboard body: %v", err)
		}
	}
	const namespace = "Elevate/Elevate"
	graphed := map[string]bool{}
	alarms := 0
	for _, w := range body.Widgets {
		alarms += len(w.Properties.Alarms)
		for _, m := range w.Properties.Metrics {
			if len(m) >= 2 && m[0] == namespace {
				graphed[m[1].(string)] = true
			}
		}
	}
	for _, m := range metrics.Units {
		if !graphed[string(m.Name)] {
			t.Errorf("no graph of %s in %s", m.Name, namespace)
		}
	}
	if !graphed[infra.RevocationFailureMetric] {
		t.Errorf("no graph of %s", infra.RevocationFailureMetric)
	}
	if want := len(f.resources("AWS::CloudWatch::Alarm")); alarms != want {
		t.Errorf("the alarm widget shows %d alarms, want all %d", alarms, want)
	}
	for _, fn := range deploy.Functions {
		env := props(f.resource(t, f.functionID(t, fn.Name)))["Environment"].(map[string]any)["Variables"].(map[string]any)
		if env[deploy.EnvMetricsNamespace] != namespace {
			t.Errorf("%s: %s = %v, want %s", fn.Name, deploy.EnvMetricsNamespace, env[deploy.EnvMetricsNamespace], namespace)
		}
	}
}

// TestIdentityCenterCheck checks the deploy-time check: a DescribeInstance
// of the configured instance, which Identity Center answers only in the
// instance's home Region and only to an account that administers it, made
// before any function is created, by a role that may do nothing else there.
func TestIdentityCenterCheck(t *testing.T) {
	f := stack(t)
	cr := f.stack.IdentityCenterCheck.Node().DefaultChild().(constructs.IConstruct).Node().DefaultChild().(awscdk.CfnElement)
	id := *f.stack.Stack.GetLogicalId(cr)
	p := props(f.resource(t, id))
	for _, event := range []string{"Create", "Update"} {
		var call struct {
			Service, Action string
			Parameters      map[string]any
		}
		if err := json.Unmarshal([]byte(render(p[event])), &call); err != nil {
			t.Fatalf("%s: %v", event, err)
		}
		if call.Service != "SSOAdmin" || call.Action != "describeInstance" {
			t.Errorf("%s calls %s %s, want SSO Admin DescribeInstance", event, call.Service, call.Action)
		}
		if call.Parameters["InstanceArn"] != testInstanceARN {
			t.Errorf("%s checks %v, want %s", event, call.Parameters["InstanceArn"], testInstanceARN)
		}
	}
	if p["Delete"] != nil {
		t.Errorf("the check runs on delete: %v", p["Delete"])
	}
	var allowed []string
	for _, pol := range f.resources("AWS::IAM::Policy") {
		for _, s := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := normalize(s.(map[string]any))
			if slices.Contains(st.Actions, "sso:DescribeInstance") {
				allowed = append(allowed, st.Actions...)
				if !jsonEqual(st.Resources, []any{testInstanceARN}) {
					t.Errorf("sso:DescribeInstance on %v, want the instance only", st.Resources)
				}
			}
		}
	}
	if !slices.Equal(allowed, []string{"sso:DescribeInstance"}) {
		t.Errorf("the check's statement allows %v, want sso:DescribeInstance alone", allowed)
	}
	for _, fn := range deploy.Functions {
		deps, _ := f.resource(t, f.functionID(t, fn.Name))["DependsOn"].([]any)
		if !slices.Contains(deps, any(id)) {
			t.Errorf("%s does not wait for the check (DependsOn %v)", fn.Name, deps)
		}
	}
}

// TestSweepQueue checks the sweeper's fan-out: the sweeper may send to the
// sweep queue only, the queue feeds sweeper-tenant in batches with batch
// item failures reported and a bounded concurrency, and a tenant that fails
// three times lands in a dead-letter queue that alarms.
func TestSweepQueue(t *testing.T) {
	f := stack(t)
	queue, dlq := f.idOf(f.stack.SweepQueue), f.idOf(f.stack.SweepDeadLetterQueue)
	q := props(f.resource(t, queue))
	if !jsonEqual(q["RedrivePolicy"], map[string]any{"deadLetterTargetArn": getAtt(dlq, "Arn"), "maxReceiveCount": 3.0}) {
		t.Errorf("RedrivePolicy = %v", q["RedrivePolicy"])
	}
	if q["VisibilityTimeout"] != 360.0 || q["SqsManagedSseEnabled"] != true {
		t.Errorf("sweep queue = %v, want a 360 s visibility timeout (six times the consumer's) and SSE", q)
	}
	mappings := f.mappingsOf(t, infra.FnSweeperTenant)
	if len(mappings) != 1 {
		t.Fatalf("%d event source mappings of %s, want the sweep queue's", len(mappings), infra.FnSweeperTenant)
	}
	m := mappings[0]
	if !jsonEqual(m["EventSourceArn"], getAtt(queue, "Arn")) || !jsonEqual(m["FunctionName"], ref(f.functionID(t, infra.FnSweeperTenant))) ||
		m["BatchSize"] != float64(infra.SweepBatchSize) || !jsonEqual(m["FunctionResponseTypes"], []any{"ReportBatchItemFailures"}) ||
		!jsonEqual(m["ScalingConfig"], map[string]any{"MaximumConcurrency": float64(infra.SweepConcurrency)}) {
		t.Errorf("event source mapping = %v", m)
	}
	for _, fn := range deploy.Functions {
		var sends []statement
		for _, s := range f.functionPolicy(t, fn.Name) {
			if s.Sid == infra.SidSweepQueue {
				sends = append(sends, s)
			}
		}
		if fn.Has(deploy.NeedSweepQueue) != (len(sends) == 1) {
			t.Errorf("%s: sweep queue statements %v, need %v", fn.Name, sends, fn.Has(deploy.NeedSweepQueue))
		}
		for _, s := range sends {
			if !jsonEqual(s.Actions, []string{"sqs:SendMessage"}) || len(s.Resources) != 1 || !jsonEqual(s.Resources[0], getAtt(queue, "Arn")) {
				t.Errorf("%s: sweep queue statement %+v, want SendMessage on the queue only", fn.Name, s)
			}
		}
	}
	alarmed := false
	for _, a := range f.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		if p["AlarmName"] == "Elevate-"+infra.AlarmSweepDeadLetters {
			alarmed = render(p["Dimensions"]) != "" && strings.Contains(render(p["Dimensions"]), dlq)
		}
	}
	if !alarmed {
		t.Error("no alarm on the sweep dead-letter queue")
	}
}

// mappingsOf are the event source mappings of a function.
func (f *fixture) mappingsOf(t *testing.T, fn string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range f.resources("AWS::Lambda::EventSourceMapping") {
		if p := props(m); jsonEqual(p["FunctionName"], ref(f.functionID(t, fn))) {
			out = append(out, p)
		}
	}
	return out
}

// TestOutbox checks the outbox: the table streams new images, and the one
// function with the need table-stream receives only the INSERTs of items
// marked as events, from the stream's start, with batch item failures, a
// bisecting retry and the outbox dead-letter queue (alarmed); no other
// function has a mapping on the stream or may publish.
func TestOutbox(t *testing.T) {
	f := stack(t)
	table := props(f.resource(t, f.idOf(f.stack.Table)))
	if !jsonEqual(table["StreamSpecification"], map[string]any{"StreamViewType": "NEW_IMAGE"}) {
		t.Errorf("table stream = %v, want new images", table["StreamSpecification"])
	}
	dlq := f.idOf(f.stack.OutboxDeadLetterQueue)
	var consumers int
	for _, fn := range deploy.Functions {
		if fn.Has(deploy.NeedPublish) != fn.Has(deploy.NeedTableStream) {
			t.Errorf("%s publishes without reading the outbox, or the reverse: %v", fn.Name, fn.Needs)
		}
		if !fn.Has(deploy.NeedTableStream) {
			continue
		}
		consumers++
		ms := f.mappingsOf(t, fn.Name)
		if len(ms) != 1 {
			t.Fatalf("%s has %d event source mappings, want the table's stream", fn.Name, len(ms))
		}
		m := ms[0]
		want := map[string]any{
			"EventSourceArn":                 getAtt(f.idOf(f.stack.Table), "StreamArn"),
			"StartingPosition":               "TRIM_HORIZON",
			"BatchSize":                      float64(infra.OutboxBatchSize),
			"BisectBatchOnFunctionError":     true,
			"MaximumRetryAttempts":           float64(infra.OutboxRetries),
			"ParallelizationFactor":          1.0,
			"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
			"DestinationConfig":              map[string]any{"OnFailure": map[string]any{"Destination": getAtt(dlq, "Arn")}},
			"MaximumBatchingWindowInSeconds": 0.0,
		}
		for k, v := range want {
			if !jsonEqual(m[k], v) {
				t.Errorf("%s: mapping %s = %v, want %v", fn.Name, k, render(m[k]), render(v))
			}
		}
		var pattern any
		filters, _ := m["FilterCriteria"].(map[string]any)["Filters"].([]any)
		if len(filters) != 1 || json.Unmarshal([]byte(filters[0].(map[string]any)["Pattern"].(string)), &pattern) != nil ||
			!jsonEqual(pattern, map[string]any{"eventName": []any{"INSERT"}, "dynamodb": map[string]any{"NewImage": map[string]any{"outbox": map[string]any{"S": []any{"event"}}}}}) {
			t.Errorf("%s: mapping filters %s, want the INSERTs of items marked outbox=event", fn.Name, render(m["FilterCriteria"]))
		}
	}
	if consumers != 1 {
		t.Errorf("%d functions read the outbox, want one", consumers)
	}
	alarmed := false
	for _, a := range f.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		if p["AlarmName"] == "Elevate-"+infra.AlarmOutboxDeadLetters {
			alarmed = strings.Contains(render(p["Dimensions"]), dlq)
		}
	}
	if !alarmed {
		t.Error("no alarm on the outbox dead-letter queue")
	}
}
