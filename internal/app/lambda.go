// Package app runs Elevate's Lambda functions: it reads the configuration the
// stack set and wires the adapters each function's needs allow.
package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	// Tenants name IANA time zones; Lambda's provided.al2023 image has no
	// zoneinfo, so every binary embeds it.
	_ "time/tzdata"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/api"
	"github.com/elevate-jit/elevate/internal/auth"
	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/eventbus"
	"github.com/elevate-jit/elevate/internal/identitycenter"
	"github.com/elevate-jit/elevate/internal/rds"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
	"github.com/elevate-jit/elevate/internal/workflow"
)

// Lambda runs the Lambda function of that name (a directory under
// functions/): it reads the configuration the stack set, builds only the
// adapters the function may use, and serves invocations. A missing or
// malformed setting stops it at start with a message naming the variable.
func Lambda(name string) {
	logs := lambdacontext.NewLogHandler()
	h, err := LambdaHandler(context.Background(), name, os.Getenv, logs)
	if err != nil {
		slog.New(logs).Error("cannot start", "function", name, "error", err)
		fmt.Fprintf(os.Stderr, "elevate %s: %v\n", name, err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// LambdaHandler builds the handler of a function: an API Gateway (HTTP API,
// payload 2.0) handler for API functions, a typed workflow handler for the
// others. It reads the function's environment (deploy.Variables) through
// getenv, which is os.Getenv outside tests, and logs to logs.
func LambdaHandler(ctx context.Context, name string, getenv func(string) string, logs slog.Handler) (any, error) {
	fn, ok := deploy.FunctionByName(name)
	if !ok {
		return nil, fmt.Errorf("no function %q in the inventory", name)
	}
	e := newEnv(fn, getenv)
	var level slog.Level
	if v := e.get(deploy.EnvLogLevel); v != "" && level.UnmarshalText([]byte(v)) == nil {
		logs = leveled{logs, level}
	}
	log := slog.New(logs)
	if fn.Name == "openapi" {
		return apiHandler(fn, api.New(api.Config{Logger: log, Auth: refused{"authenticate"}})), nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	d, err := build(ctx, fn, e, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	if fn.Route != "" {
		authn := auth.New(auth.Config{Keys: d.store, Tenants: d.store})
		return apiHandler(fn, api.New(api.Config{Service: d.svc, Auth: authn, Cursors: d.cursors, Logger: log})), nil
	}
	h := workflow.Handlers{Steps: d.svc, Tokens: d.svc, Resumer: d.sfn, Sweeper: d.svc, Log: log}
	switch fn.Name {
	case "wf-attach-token":
		return h.AttachToken, nil
	case "wf-expire-request":
		return h.ExpireRequest, nil
	case "wf-provision":
		return h.Provision, nil
	case "wf-deprovision":
		return h.Deprovision, nil
	case "expiry":
		return h.Expire, nil
	case "sweeper":
		return h.Sweep, nil
	}
	return nil, fmt.Errorf("function %q has no handler", fn.Name)
}

// leveled drops records below a minimum level.
type leveled struct {
	slog.Handler
	min slog.Level
}

func (l leveled) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= l.min && l.Handler.Enabled(ctx, level)
}

func (l leveled) WithAttrs(as []slog.Attr) slog.Handler {
	return leveled{l.Handler.WithAttrs(as), l.min}
}
func (l leveled) WithGroup(name string) slog.Handler {
	return leveled{l.Handler.WithGroup(name), l.min}
}

// deps are what a function's needs allow it to use.
type deps struct {
	store   *dynamo.Store
	svc     *access.Service
	cursors api.Sealer
	sfn     workflow.Resumer
}

// build makes the adapters a function's needs allow. Every other port is a
// refusal, so a function that was routed a call it may not make fails
// loudly instead of touching what its IAM role forbids.
func build(ctx context.Context, fn deploy.Function, e *env, cfg aws.Config, log *slog.Logger) (*deps, error) {
	has := func(n deploy.Need) bool { return slices.Contains(fn.Needs, n) }
	d := &deps{cursors: refused{"paginate"}, sfn: refused{"resume approval waits"}}
	d.store = dynamo.New(dynamodb.NewFromConfig(cfg), dynamo.Options{Table: e.get(deploy.EnvTable)})
	c := access.Config{
		Store: d.store, MintKey: auth.MintKey, Workflow: refused{"start workflows"}, Scheduler: refused{"schedule expiries"},
		IdentityCenter: refused{"read the organization or Identity Center"},
		Report: func(ctx context.Context, msg string, err error) {
			log.WarnContext(ctx, msg, "error", err)
		},
	}
	if has(deploy.NeedCursorKey) {
		arn := e.get(deploy.EnvCursorSecretARN)
		if arn != "" {
			s, err := cursorSecret(ctx, secretsmanager.NewFromConfig(cfg), arn)
			if err != nil {
				return nil, err
			}
			d.cursors = s
		}
	}
	if has(deploy.NeedStartExecution) || has(deploy.NeedSendTask) {
		sf := workflow.NewStepFunctions(sfn.NewFromConfig(cfg), e.get(deploy.EnvStateMachineARN))
		c.Workflow, d.sfn = sf, sf
	}
	if has(deploy.NeedSchedule) {
		c.Scheduler = workflow.NewScheduler(workflow.SchedulerConfig{
			Client: scheduler.NewFromConfig(cfg), Group: e.get(deploy.EnvScheduleGroup), TargetARN: e.get(deploy.EnvExpiryFunctionARN),
			RoleARN: e.get(deploy.EnvSchedulerRoleARN), DeadLetterARN: e.get(deploy.EnvScheduleDLQARN),
		})
	}
	if has(deploy.NeedPublish) {
		c.Publisher = eventbus.NewPublisher(eventbridge.NewFromConfig(cfg), e.get(deploy.EnvEventBus))
	}
	if has(deploy.NeedOrganizationsRead) || has(deploy.NeedIdentityCenter) {
		// Functions that change Identity Center share the deployment's budget
		// (20 TPS divided among them); functions that only read the
		// organization tree (cached per process) stay well below it.
		tps := 2.0
		if has(deploy.NeedIdentityCenter) {
			var err error
			if tps, err = e.float(deploy.EnvIdentityCenterTPS, 20); err != nil {
				return nil, err
			}
		}
		var lookup identitycenter.RDSLookup // nil unless configured
		if has(deploy.NeedIdentityCenter) {
			if role := e.get(deploy.EnvRDSLookupRole); role != "" {
				lookup = rds.NewLookup(cfg, sts.NewFromConfig(cfg), role)
			}
		}
		ic := identitycenter.NewAWS(identitycenter.AWSConfig{
			SSOAdmin: ssoadmin.NewFromConfig(cfg), IdentityStore: identitystore.NewFromConfig(cfg),
			Organizations: organizations.NewFromConfig(cfg), TPS: tps, Log: log, RDSLookup: lookup,
			Slots: d.store.NewSlots("identity-center-creations", 10, 15*time.Minute),
		})
		c.IdentityCenter, c.DB = ic, ic
		c.ProtectedAccounts = deploy.SplitList(e.get(deploy.EnvProtectedAccounts))
	}
	d.svc = access.NewService(c)
	return d, nil
}

// apiHandler serves one API route through the shared HTTP handler. A call
// for another route (a misconfigured integration) is refused with 404.
func apiHandler(fn deploy.Function, h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	adapter := httpadapter.NewV2(h)
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if ev.RouteKey != fn.Route && ev.RouteKey != "$default" {
			return events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusNotFound, Headers: map[string]string{"Content-Type": "application/json"},
				Body: `{"code":"not_found","message":"this function does not serve ` + strings.ReplaceAll(ev.RouteKey, `"`, "") + `"}`,
			}, nil
		}
		if ev.Headers == nil {
			ev.Headers = map[string]string{}
		}
		if _, ok := ev.Headers["x-request-id"]; !ok && ev.RequestContext.RequestID != "" {
			ev.Headers["x-request-id"] = ev.RequestContext.RequestID
		}
		return adapter.ProxyWithContext(ctx, ev)
	}
}

// cursorSecret reads the cursor-sealing keys from Secrets Manager.
func cursorSecret(ctx context.Context, sm *secretsmanager.Client, arn string) (*cursor.Sealer, error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read the cursor secret %s: %w", deploy.EnvCursorSecretARN, err)
	}
	s, err := ParseCursorSecret(aws.ToString(out.SecretString))
	if err != nil {
		return nil, fmt.Errorf("the cursor secret (%s): %w", deploy.EnvCursorSecretARN, err)
	}
	return s, nil
}

// cursorSecretJSON is the secret the stack generates: a key id and 32 bytes
// as 64 hex digits, and optionally older keys that still open cursors (so a
// key can be rotated without breaking cursors in flight).
type cursorSecretJSON struct {
	ID       string `json:"id"`
	Secret   string `json:"secret"`
	Previous []struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	} `json:"previous"`
}

// ParseCursorSecret reads the cursor-sealing keys from the secret's text:
// the stack's JSON ({"id","secret"(hex),"previous"?}), or the local form
// "id:base64,id:base64" (the first seals, all open).
func ParseCursorSecret(text string) (*cursor.Sealer, error) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "{") {
		return cursor.ParseKeys(text)
	}
	var j cursorSecretJSON
	if err := json.Unmarshal([]byte(text), &j); err != nil {
		return nil, errors.New("the secret is neither id:base64 keys nor the stack's JSON")
	}
	key := func(id, hexSecret string) (cursor.Key, error) {
		b, err := hex.DecodeString(hexSecret)
		if err != nil || len(b) != cursor.SecretSize {
			return cursor.Key{}, fmt.Errorf("key %q: the secret must be %d bytes as hex", id, cursor.SecretSize)
		}
		return cursor.Key{ID: id, Secret: b}, nil
	}
	cur, err := key(j.ID, j.Secret)
	if err != nil {
		return nil, err
	}
	var older []cursor.Key
	for _, p := range j.Previous {
		k, err := key(p.ID, p.Secret)
		if err != nil {
			return nil, err
		}
		older = append(older, k)
	}
	return cursor.New(cur, older...)
}

// env reads a function's environment: only the variables the contract gives
// it (deploy.Variables), collecting the names of missing required ones so
// that one start-up error names them all.
type env struct {
	getenv  func(string) string
	vars    map[string]deploy.Variable
	missing []string
	foreign []string
}

func newEnv(fn deploy.Function, getenv func(string) string) *env {
	e := &env{getenv: getenv, vars: map[string]deploy.Variable{}}
	for _, v := range fn.Variables() {
		e.vars[v.Name] = v
	}
	return e
}

// get returns a variable's value; "" for an optional variable that is not
// set.
func (e *env) get(name string) string {
	v, ok := e.vars[name]
	if !ok {
		e.foreign = append(e.foreign, name)
		return ""
	}
	value := e.getenv(name)
	if value == "" && !v.Optional {
		e.missing = append(e.missing, name)
	}
	return value
}

// float returns an optional variable's value as a positive number, or def.
func (e *env) float(name string, def float64) (float64, error) {
	v := e.get(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive number", name, v)
	}
	return f, nil
}

// err reports the variables that were missing, or read without the
// contract giving them to the function (a wiring mistake).
func (e *env) err() error {
	if len(e.foreign) > 0 {
		return fmt.Errorf("the wiring reads %s, which deploy.Variables does not give this function", strings.Join(e.foreign, ", "))
	}
	if len(e.missing) > 0 {
		return fmt.Errorf("missing environment variable(s) %s", strings.Join(e.missing, ", "))
	}
	return nil
}

// refused stands in for every port a function may not use.
type refused struct{ what string }

func (r refused) err() error { return fmt.Errorf("this function is not allowed to %s", r.what) }

func (r refused) StartApproval(context.Context, access.Request) error     { return r.err() }
func (r refused) EndApproval(context.Context, access.Request) error       { return r.err() }
func (r refused) StartProvisioning(context.Context, access.Grant) error   { return r.err() }
func (r refused) StartDeprovisioning(context.Context, access.Grant) error { return r.err() }
func (r refused) ScheduleExpiry(context.Context, access.Grant) error      { return r.err() }
func (r refused) CancelExpiry(context.Context, access.Grant) error        { return r.err() }
func (r refused) Resume(context.Context, string, access.Request) error    { return r.err() }
func (r refused) ResolveUser(context.Context, access.Tenant, string) (string, error) {
	return "", r.err()
}
func (r refused) Ancestors(context.Context, access.Tenant, access.Resource) ([]string, error) {
	return nil, r.err()
}
func (r refused) AccountsUnder(context.Context, access.Tenant, string, int) ([]string, bool, error) {
	return nil, false, r.err()
}
func (r refused) EnsurePermissionSet(context.Context, access.Tenant, access.ManagedPermissionSet) (string, error) {
	return "", r.err()
}
func (r refused) AssignmentExists(context.Context, access.Assignment) (bool, error) {
	return false, r.err()
}
func (r refused) CreateAssignment(context.Context, access.Assignment) (access.Operation, error) {
	return access.Operation{}, r.err()
}
func (r refused) CreationStatus(context.Context, string, string) (access.Operation, error) {
	return access.Operation{}, r.err()
}
func (r refused) DeleteAssignment(context.Context, access.Assignment) (access.Operation, error) {
	return access.Operation{}, r.err()
}
func (r refused) DeletionStatus(context.Context, string, string) (access.Operation, error) {
	return access.Operation{}, r.err()
}
func (r refused) Seal(cursor.Binding, []byte, time.Time) string { return "" }
func (r refused) Open(cursor.Binding, string, time.Time) ([]byte, error) {
	return nil, &access.Error{Code: access.CodeInvalidCursor, Message: "this function does not read cursors", Cause: r.err()}
}
func (r refused) Authenticate(context.Context, string, string, string) (access.Principal, error) {
	return access.Principal{}, &access.Error{Code: access.CodeNotFound, Message: "not found", Cause: errors.New(r.err().Error())}
}
