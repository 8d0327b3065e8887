// Package deploy is the deployment contract between the Lambda functions and
// the CDK stack: the inventory of functions, what each needs, and the
// environment variables the stack sets for those needs and the functions
// read. Both sides derive from it, so they cannot drift apart; it imports
// only the standard library, so the CDK app links none of the Lambda runtime.
package deploy

import (
	"slices"
	"strings"
)

// Environment variables the stack sets; Variables says which function gets
// which.
const (
	EnvTable             = "ELEVATE_TABLE"
	EnvCursorSecretARN   = "ELEVATE_CURSOR_SECRET_ARN"
	EnvStateMachineARN   = "ELEVATE_STATE_MACHINE_ARN"
	EnvScheduleGroup     = "ELEVATE_SCHEDULE_GROUP"
	EnvExpiryFunctionARN = "ELEVATE_EXPIRY_FUNCTION_ARN"
	EnvSchedulerRoleARN  = "ELEVATE_SCHEDULER_ROLE_ARN"
	EnvScheduleDLQARN    = "ELEVATE_SCHEDULE_DLQ_ARN"
	EnvEventBus          = "ELEVATE_EVENT_BUS"
	EnvProtectedAccounts = "ELEVATE_PROTECTED_ACCOUNTS"
	EnvIdentityCenterTPS = "ELEVATE_IDENTITY_CENTER_TPS"
	EnvRDSLookupRole     = "ELEVATE_RDS_LOOKUP_ROLE"
	EnvLogLevel          = "ELEVATE_LOG_LEVEL"
	EnvJWKSAllowedHosts  = "ELEVATE_JWKS_ALLOWED_HOSTS"
	// EnvRatePerTenant and EnvRatePerPrincipal are the API's limits, in calls
	// a second, for all callers of one tenant together and for one caller.
	EnvRatePerTenant    = "ELEVATE_RATE_PER_TENANT"
	EnvRatePerPrincipal = "ELEVATE_RATE_PER_PRINCIPAL"
	// EnvMetricsNamespace is the CloudWatch namespace of the functions'
	// embedded metrics (internal/metrics); DefaultMetricsNamespace without it.
	EnvMetricsNamespace = "ELEVATE_METRICS_NAMESPACE"
	// EnvSweepQueueURL is the queue the sweeper hands tenants to, one
	// message each, for the sweeper-tenant function.
	EnvSweepQueueURL = "ELEVATE_SWEEP_QUEUE_URL"
)

// DefaultMetricsNamespace is the metrics' namespace when
// ELEVATE_METRICS_NAMESPACE is not set; the stack sets "Elevate/<stack name>".
const DefaultMetricsNamespace = "Elevate"

// Need is one thing a function must be allowed to do; the stack turns each
// into environment variables and the narrowest IAM statements it can.
type Need string

// The needs of Elevate's functions.
const (
	// NeedTableRead: GetItem and Query on the table and its indexes.
	NeedTableRead Need = "table-read"
	// NeedTableWrite: PutItem, UpdateItem, DeleteItem, TransactWriteItems.
	NeedTableWrite Need = "table-write"
	// NeedCursorKey: read the cursor-sealing secret.
	NeedCursorKey Need = "cursor-key"
	// NeedStartExecution: start executions of Elevate's state machine.
	NeedStartExecution Need = "start-execution"
	// NeedSendTask: SendTaskSuccess/SendTaskFailure to resume approval waits.
	NeedSendTask Need = "send-task"
	// NeedSchedule: create, update and delete schedules in Elevate's group,
	// and pass the scheduler role.
	NeedSchedule Need = "schedule"
	// NeedPublish: PutEvents on Elevate's event bus.
	NeedPublish Need = "publish"
	// NeedOrganizationsRead: read the organization tree (OU ancestors).
	NeedOrganizationsRead Need = "organizations-read"
	// NeedResolveUsers: read the users of the identity store, to resolve the
	// people of a request or grant to the users they name.
	NeedResolveUsers Need = "resolve-users"
	// NeedIdentityCenter: manage Elevate-managed permission sets (only those
	// tagged elevate:managed=true) and account assignments (only of sets
	// tagged elevate:managed=true or elevate:assignable=true).
	NeedIdentityCenter Need = "identity-center"
	// NeedRateLimit: count calls per tenant and per caller in the table's
	// rate-limit items (UpdateItem on keys that begin with RateLimitPrefix,
	// and nothing else), so that the limits hold across containers.
	NeedRateLimit Need = "rate-limit"
	// NeedSweepQueue: send messages to the sweep queue (one per tenant to
	// sweep).
	NeedSweepQueue Need = "sweep-queue"
	// NeedTableStream: receive the table's stream of new images through an
	// event source mapping (which reads the stream; the function calls
	// nothing).
	NeedTableStream Need = "table-stream"
)

// RateLimitPrefix begins the partition key of every rate-limit counter in
// the table; the rate-limit need may write those items and no others.
const RateLimitPrefix = "RL#"

// Variable is one environment variable of the contract and the needs that
// bring it.
type Variable struct {
	Name string
	// Needs bring the variable: a function with any of them receives it. No
	// needs means every function receives it.
	Needs []Need
	// Optional variables may be absent: the stack sets them only when it has
	// a value, and a function starts without them (with a default).
	Optional bool
}

// Variables is the one table from needs to environment: the stack sets, and
// a function reads, exactly the variables its needs bring.
var Variables = []Variable{
	{Name: EnvTable, Needs: []Need{NeedTableRead, NeedTableWrite}},
	{Name: EnvCursorSecretARN, Needs: []Need{NeedCursorKey}},
	{Name: EnvStateMachineARN, Needs: []Need{NeedStartExecution, NeedSendTask}},
	{Name: EnvScheduleGroup, Needs: []Need{NeedSchedule}},
	{Name: EnvExpiryFunctionARN, Needs: []Need{NeedSchedule}},
	{Name: EnvSchedulerRoleARN, Needs: []Need{NeedSchedule}},
	{Name: EnvScheduleDLQARN, Needs: []Need{NeedSchedule}},
	{Name: EnvEventBus, Needs: []Need{NeedPublish}},
	// A target is checked against the protected accounts where its place in
	// the organization is read.
	{Name: EnvProtectedAccounts, Needs: []Need{NeedOrganizationsRead, NeedIdentityCenter}, Optional: true},
	{Name: EnvIdentityCenterTPS, Needs: []Need{NeedIdentityCenter}, Optional: true},
	{Name: EnvRDSLookupRole, Needs: []Need{NeedIdentityCenter}, Optional: true},
	{Name: EnvLogLevel, Optional: true},
	// The operator's allow-list of identity provider hosts, comma-separated.
	{Name: EnvJWKSAllowedHosts, Optional: true},
	{Name: EnvMetricsNamespace, Optional: true},
	{Name: EnvRatePerTenant, Needs: []Need{NeedRateLimit}},
	{Name: EnvRatePerPrincipal, Needs: []Need{NeedRateLimit}},
	{Name: EnvSweepQueueURL, Needs: []Need{NeedSweepQueue}},
}

// Function is one Lambda function: a directory under functions/ with its
// main package.
type Function struct {
	// Name is the directory under functions/ and the function's logical name.
	Name string
	// Route is the API route it serves ("POST /v1/requests"), or "" for a
	// workflow function.
	Route string
	Needs []Need
}

// Has reports whether the function has the need n.
func (f Function) Has(n Need) bool { return slices.Contains(f.Needs, n) }

// Variables are the variables of the table the function receives, in the
// table's order.
func (f Function) Variables() []Variable {
	var out []Variable
	for _, v := range Variables {
		if len(v.Needs) == 0 || slices.ContainsFunc(v.Needs, f.Has) {
			out = append(out, v)
		}
	}
	return out
}

// Environment is the names of the variables the function receives, required
// and optional.
func (f Function) Environment() []string {
	var out []string
	for _, v := range f.Variables() {
		out = append(out, v.Name)
	}
	return out
}

// Every API function but openapi is rate-limited (NeedRateLimit).
var (
	read     = []Need{NeedTableRead, NeedRateLimit}
	list     = []Need{NeedTableRead, NeedCursorKey, NeedRateLimit}
	change   = []Need{NeedTableRead, NeedTableWrite, NeedRateLimit}
	decide   = []Need{NeedTableRead, NeedTableWrite, NeedSendTask, NeedRateLimit}
	approve  = append([]Need{NeedResolveUsers}, decide...)
	startWF  = []Need{NeedTableRead, NeedTableWrite, NeedStartExecution, NeedOrganizationsRead, NeedRateLimit}
	create   = append([]Need{NeedResolveUsers}, startWF...)
	evaluate = []Need{NeedTableRead, NeedOrganizationsRead, NeedRateLimit}
	stepWF   = []Need{NeedTableRead, NeedTableWrite, NeedIdentityCenter, NeedResolveUsers, NeedOrganizationsRead, NeedSchedule, NeedStartExecution}
)

// Functions is every Lambda function of Elevate.
var Functions = []Function{
	{"requests-create", "POST /v1/requests", append([]Need{NeedSchedule}, create...)}, // an auto-approved request with starts_at schedules its start
	{"requests-preview", "POST /v1/requests/preview", append([]Need{NeedResolveUsers}, evaluate...)},
	{"requests-list", "GET /v1/requests", list},
	{"requests-get", "GET /v1/requests/{id}", read},
	{"requests-approve", "POST /v1/requests/{id}/approve", append([]Need{NeedSchedule}, approve...)},    // approving an extension reschedules the expiry
	{"requests-deny", "POST /v1/requests/{id}/deny", append([]Need{NeedSchedule}, approve...)},          // a decided request's reminder and escalation are deleted
	{"requests-cancel", "POST /v1/requests/{id}/cancel", append([]Need{NeedSchedule}, decide...)},       // cancelling before the start deletes the start schedule
	{"requests-forward", "POST /v1/requests/{id}/forward", append([]Need{NeedResolveUsers}, change...)}, // the forwardee must be a known user
	{"approvals-pending", "GET /v1/approvals/pending", append([]Need{NeedResolveUsers}, list...)},
	{"grants-list", "GET /v1/grants", list},
	{"grants-create", "POST /v1/grants", create},
	{"grants-get", "GET /v1/grants/{id}", read},
	{"grants-revoke", "POST /v1/grants/{id}/revoke", append([]Need{NeedSchedule}, startWF...)},
	{"grants-extend", "POST /v1/grants/{id}/extend", append([]Need{NeedSchedule}, create...)},
	{"policies-get", "GET /v1/policies", read},
	{"policies-put", "PUT /v1/policies", change},
	{"policies-version", "GET /v1/policies/versions/{n}", read},
	{"policies-evaluate", "POST /v1/policies/evaluate", append([]Need{NeedResolveUsers}, evaluate...)}, // the grantee is resolved to read their break-glass standing
	{"policies-backtest", "POST /v1/policies/backtest", list},
	{"catalog-get", "GET /v1/catalog", read},
	{"catalog-put", "PUT /v1/catalog", change},
	{"tenant-get", "GET /v1/tenant", read},
	// Before sign-in, so not rate-limited per caller (there is none yet).
	{"tenant-sign-in", "GET /v1/tenants/{id}/sign-in", []Need{NeedTableRead}},
	{"tenant-patch", "PATCH /v1/tenant", append([]Need{NeedOrganizationsRead}, change...)},
	{"apikeys-create", "POST /v1/api-keys", change},
	{"apikeys-list", "GET /v1/api-keys", list},
	{"apikeys-get", "GET /v1/api-keys/{id}", read},
	{"apikeys-delete", "DELETE /v1/api-keys/{id}", change},
	{"audit-list", "GET /v1/audit-events", list},
	{"reviews-pending", "GET /v1/reviews/pending", append([]Need{NeedResolveUsers}, list...)},
	{"grants-review", "POST /v1/grants/{id}/review", append([]Need{NeedResolveUsers}, change...)}, // the reviewer is resolved, as an approver is
	{"suspensions-list", "GET /v1/break-glass/suspensions", list},
	{"suspensions-lift", "POST /v1/break-glass/suspensions/{user_id}/lift", append([]Need{NeedResolveUsers}, change...)}, // the user and the admin are resolved: nobody lifts their own
	{"openapi", "GET /openapi.json", nil},
	// The web console: GET / and, in ExtraRoutes, everything under
	// /console/. Like openapi it needs nothing.
	{"console", "GET /", nil},

	// Workflow steps: the state machine's tasks, the expiry schedules'
	// target, the sweeper (the deployment-wide sweep, which queues each
	// tenant) and the sweep queue's consumer (one tenant at a time, no
	// Identity Center calls).
	{"wf-attach-token", "", []Need{NeedTableRead, NeedTableWrite, NeedSendTask}},
	{"wf-expire-request", "", []Need{NeedTableRead, NeedTableWrite, NeedSchedule}}, // an expired request's reminder and escalation are deleted
	{"wf-provision", "", stepWF},
	{"wf-deprovision", "", stepWF},
	{"expiry", "", []Need{NeedTableRead, NeedTableWrite, NeedSchedule, NeedStartExecution}},
	{"sweeper", "", append([]Need{NeedSendTask, NeedSweepQueue}, stepWF...)},
	{"sweeper-tenant", "", []Need{NeedTableRead, NeedTableWrite, NeedStartExecution, NeedSendTask, NeedSchedule}},
	// The outbox: the table's stream brings it every new audit item, which
	// it publishes on the event bus. It alone publishes: the functions that
	// change state write their events into the table in the same commit.
	{"events-publish", "", []Need{NeedTableStream, NeedPublish}},
}

// ExtraRoutes are routes a function serves besides its Route; the stack
// adds them to the HTTP API too.
var ExtraRoutes = map[string][]string{
	"console": {"GET /console/{proxy+}"},
}

// Routes are every API route the function serves: its Route and its
// ExtraRoutes; none for a workflow function.
func (f Function) Routes() []string {
	if f.Route == "" {
		return nil
	}
	return append([]string{f.Route}, ExtraRoutes[f.Name]...)
}

// FunctionByName finds a function of the inventory.
func FunctionByName(name string) (Function, bool) {
	i := slices.IndexFunc(Functions, func(f Function) bool { return f.Name == name })
	if i < 0 {
		return Function{}, false
	}
	return Functions[i], true
}

// SplitList reads a list variable (ELEVATE_PROTECTED_ACCOUNTS is
// comma-separated): it splits s at commas, trims the items and drops empty
// ones. The operator CLI's list flags take the same form.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ProblemKey is the attribute under which a function's log line carries the
// kind of a problem the domain reported (access.ProblemKind). The stack's
// metric filters match it, never a message's wording.
const ProblemKey = "problem"

// ProblemFilter is the CloudWatch Logs filter pattern that matches the
// functions' JSON log lines reporting a problem of the given kind.
func ProblemFilter(kind string) string {
	return `{ $.` + ProblemKey + ` = "` + kind + `" }`
}
