package function

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/api"
	"github.com/elevate-jit/elevate/internal/auth"
	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/eventbus"
	"github.com/elevate-jit/elevate/internal/identitycenter"
	"github.com/elevate-jit/elevate/internal/metrics"
	"github.com/elevate-jit/elevate/internal/ratelimit"
	"github.com/elevate-jit/elevate/internal/rds"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
	"github.com/elevate-jit/elevate/internal/sweepqueue"
	"github.com/elevate-jit/elevate/internal/workflow"
)

// provide is the table from a need to its constructor. Each fills in the
// parts of the wiring its need allows; a part no need of the function fills
// stays a refusal, so a function that was routed a call it may not make
// fails loudly instead of touching what its IAM role forbids. A need listed
// twice (table-read and table-write, start-execution and send-task) builds
// its adapter once.
var provide = map[deploy.Need]func(*wiring) error{
	deploy.NeedTableRead:         (*wiring).table,
	deploy.NeedTableWrite:        (*wiring).table,
	deploy.NeedCursorKey:         (*wiring).cursorKey,
	deploy.NeedStartExecution:    (*wiring).stepFunctions,
	deploy.NeedSendTask:          (*wiring).stepFunctions,
	deploy.NeedSchedule:          (*wiring).schedule,
	deploy.NeedPublish:           (*wiring).publish,
	deploy.NeedOrganizationsRead: (*wiring).organizations,
	deploy.NeedResolveUsers:      (*wiring).resolveUsers,
	deploy.NeedIdentityCenter:    (*wiring).identityCenter,
	deploy.NeedRateLimit:         (*wiring).rateLimit,
	deploy.NeedSweepQueue:        (*wiring).sweepQueue,
}

// wiring is a function's dependency set, as its needs' constructors fill it.
type wiring struct {
	ctx   context.Context
	env   *env
	aws   aws.Config
	log   *slog.Logger
	meter meter

	// ports are the Service's adapters.
	ports access.Config
	// service, steps and operator are built from ports once the
	// constructors ran; nil without a table (openapi).
	service  *access.Service
	steps    *access.Steps
	operator *access.Operator
	auth     api.Authenticator
	cursors  api.Sealer
	// limiter is nil for a function without the rate-limit need.
	limiter api.Limiter
	resumer workflow.Resumer
	// refresh runs before each API invocation (the cursor keys' re-read);
	// nil for none.
	refresh func(context.Context)

	store     *dynamo.Store
	sfn       *workflow.StepFunctions
	jwksHosts []string
	ic        *identitycenter.AWSConfig
}

// wire runs the constructors of a function's needs.
func wire(ctx context.Context, fn deploy.Function, e *env, log *slog.Logger) (*wiring, error) {
	namespace := e.get(deploy.EnvMetricsNamespace)
	if namespace == "" {
		namespace = deploy.DefaultMetricsNamespace
	}
	m := meter{metrics.New(os.Stdout, namespace, time.Now), log}
	w := &wiring{ctx: ctx, env: e, log: log, meter: m,
		auth: refused{"authenticate"}, cursors: refused{"paginate"}, resumer: refused{"resume approval waits"},
		jwksHosts: deploy.SplitList(e.get(deploy.EnvJWKSAllowedHosts)),
		ports: access.Config{
			MintKey: auth.MintKey, Workflow: refused{"start workflows"}, Scheduler: refused{"schedule expiries"},
			IdentityCenter: refused{"read the organization or Identity Center"},
			JWKSHosts:      deploy.SplitList(e.get(deploy.EnvJWKSAllowedHosts)),
			Report:         report(log),
			Observe:        m.observe,
		},
	}
	if len(fn.Needs) > 0 {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("load AWS configuration: %w", err)
		}
		w.aws = cfg
	}
	for _, n := range fn.Needs {
		fill, ok := provide[n]
		if !ok {
			return nil, fmt.Errorf("function %s: no constructor for the need %q", fn.Name, n)
		}
		if err := fill(w); err != nil {
			return nil, err
		}
	}
	if w.ic != nil {
		ic := identitycenter.NewAWS(*w.ic)
		w.ports.IdentityCenter, w.ports.DB = ic, ic
	}
	if w.store != nil {
		w.service, w.steps, w.operator = access.NewService(w.ports), access.NewSteps(w.ports), access.NewOperator(w.ports)
	}
	return w, nil
}

// report logs a problem the domain reports, as a warning with its kind under
// deploy.ProblemKey: the stack's metric filters (deploy.ProblemFilter) match
// the kind, never the message.
func report(log *slog.Logger) func(context.Context, access.Problem) {
	return func(ctx context.Context, p access.Problem) {
		log.WarnContext(ctx, p.Message, deploy.ProblemKey, string(p.Kind), "error", p.Err)
	}
}

// table: the DynamoDB store, which also holds the API keys and tenants that
// authenticate callers.
func (w *wiring) table() error {
	w.openTable()
	return nil
}

// openTable opens the store once, for the needs that use it.
func (w *wiring) openTable() *dynamo.Store {
	if w.store == nil {
		w.store = dynamo.New(dynamodb.NewFromConfig(w.aws), dynamo.Options{Table: w.env.get(deploy.EnvTable)})
		w.ports.Store = w.store
		w.auth = auth.New(auth.Config{Keys: w.store, Tenants: w.store, JWKSHosts: w.jwksHosts})
	}
	return w.store
}

// rateLimit: the API's limits per tenant and per caller, counted in the
// table so that they hold across containers, with each container's own
// bucket as the backstop when the table cannot be reached.
func (w *wiring) rateLimit() error {
	perTenant, err := w.env.integer(deploy.EnvRatePerTenant)
	if err != nil {
		return err
	}
	perPrincipal, err := w.env.integer(deploy.EnvRatePerPrincipal)
	if err != nil {
		return err
	}
	log := w.log
	w.limiter = ratelimit.New(ratelimit.Config{PerTenant: perTenant, PerPrincipal: perPrincipal, Shared: w.openTable(),
		Report: func(ctx context.Context, err error) {
			log.WarnContext(ctx, "rate limit: the shared counter failed; limiting in this container only", "error", err)
		}})
	return nil
}

// cursorKey: the keys that seal pagination cursors.
func (w *wiring) cursorKey() error {
	arn := w.env.get(deploy.EnvCursorSecretARN)
	if arn == "" {
		return nil // reported missing
	}
	sm := secretsmanager.NewFromConfig(w.aws)
	keys, err := newCursorKeys(w.ctx, func(ctx context.Context) (*cursor.Sealer, error) {
		return readCursorSecret(ctx, sm, arn)
	}, time.Now, w.log)
	if err != nil {
		return err
	}
	w.cursors, w.refresh = keys, keys.refresh
	return nil
}

// stepFunctions: starting workflows and resuming approval waits.
func (w *wiring) stepFunctions() error {
	if w.sfn == nil {
		w.sfn = workflow.NewStepFunctions(sfn.NewFromConfig(w.aws), w.env.get(deploy.EnvStateMachineARN))
		w.ports.Workflow, w.resumer = w.sfn, w.sfn
	}
	return nil
}

// schedule: the grants' expiry schedules.
func (w *wiring) schedule() error {
	w.ports.Scheduler = workflow.NewScheduler(workflow.SchedulerConfig{
		Client: scheduler.NewFromConfig(w.aws), Group: w.env.get(deploy.EnvScheduleGroup), TargetARN: w.env.get(deploy.EnvExpiryFunctionARN),
		RoleARN: w.env.get(deploy.EnvSchedulerRoleARN), DeadLetterARN: w.env.get(deploy.EnvScheduleDLQARN),
	})
	return nil
}

// publish: audit events on the event bus.
func (w *wiring) publish() error {
	w.ports.Publisher = eventbus.NewPublisher(eventbridge.NewFromConfig(w.aws), w.env.get(deploy.EnvEventBus))
	return nil
}

// organizations: the organization tree, through the Identity Center adapter.
// Functions that only read the tree (cached per process) stay well below
// the deployment's Identity Center budget.
func (w *wiring) organizations() error {
	if ic := w.identityCenterConfig(); ic.TPS == 0 {
		ic.TPS = 2
	}
	w.ports.ProtectedAccounts = deploy.SplitList(w.env.get(deploy.EnvProtectedAccounts))
	return nil
}

// resolveUsers: the identity store's users, through the Identity Center
// adapter (its cache keeps API calls well below the deployment's budget).
func (w *wiring) resolveUsers() error {
	if ic := w.identityCenterConfig(); ic.TPS == 0 {
		ic.TPS = 2
	}
	return nil
}

// identityCenter: users, managed permission sets and account assignments.
// Functions that change Identity Center share the deployment's budget (20
// TPS divided among them by the stack).
func (w *wiring) identityCenter() error {
	ic := w.identityCenterConfig()
	tps, err := w.env.float(deploy.EnvIdentityCenterTPS, 20)
	if err != nil {
		return err
	}
	ic.TPS = tps
	w.ports.SweepAuditUsers = access.SweepAuditUsersAt(tps)
	w.ports.ProtectedAccounts = deploy.SplitList(w.env.get(deploy.EnvProtectedAccounts))
	if role := w.env.get(deploy.EnvRDSLookupRole); role != "" {
		ic.RDSLookup = rds.NewLookup(w.aws, sts.NewFromConfig(w.aws), role)
	}
	return nil
}

// sweepQueue: the sweeper hands each tenant to the sweep queue, whose
// consumer (sweeper-tenant) sweeps it.
func (w *wiring) sweepQueue() error {
	w.ports.SweepQueue = sweepqueue.New(sqs.NewFromConfig(w.aws), w.env.get(deploy.EnvSweepQueueURL))
	return nil
}

// identityCenterConfig is the configuration of the one Identity Center
// adapter that organizations-read, resolve-users and identity-center share.
func (w *wiring) identityCenterConfig() *identitycenter.AWSConfig {
	if w.ic == nil {
		w.ic = &identitycenter.AWSConfig{
			SSOAdmin: ssoadmin.NewFromConfig(w.aws), IdentityStore: identitystore.NewFromConfig(w.aws),
			Organizations: organizations.NewFromConfig(w.aws), Log: w.log, Throttled: w.meter.throttled,
			Slots: w.openTable().NewSlots("identity-center-creations", 10, 15*time.Minute),
		}
	}
	return w.ic
}
