package lambdatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/auth"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/eventbus"
	"github.com/elevate-jit/elevate/internal/identitycenter"
	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
	"github.com/elevate-jit/elevate/internal/workflow"
	"github.com/elevate-jit/elevate/internal/workflow/schedule"
	"github.com/elevate-jit/elevate/internal/workflow/stepfunctions"
)

// The deployment's coordinates. moto answers as account 123456789012, which
// is both Elevate's own account and the organization's management account,
// so it is protected; grants target a member account in an OU.
const (
	region        = "us-east-1"
	deployAccount = "123456789012"
	stackName     = "Elevate" // infra.DefaultStackName: resource names derive from it
)

// The identitycenter limit the stack gives each Identity Center function:
// infra.IdentityCenterTPS(), 20 TPS shared by the reserved concurrency of
// wf-provision (5), wf-deprovision (4) and the sweeper (1).
const identityCenterTPS = "2"

// The catalog's permission sets (in the tenant's instance) for accounts.
const (
	readOnlySet = "ps-0a1b2c3d4e5f6071"
	adminSet    = "ps-1b2c3d4e5f607182"
)

// deployment is Elevate's AWS side on moto, as `cdk deploy` and an
// operator's first steps leave it, plus the requests, grants and keys the
// sample events act on. vars fills the events' placeholders.
type deployment struct {
	endpoint          string
	table             string
	cursorSecretARN   string
	stateMachineARN   string
	scheduleGroup     string
	expiryFunctionARN string
	schedulerRoleARN  string
	deadLetterARN     string
	eventBus          string
	sweepQueueURL     string
	protected         []string
	awsConfig         aws.Config
	store             *dynamo.Store
	ddb               *dynamodb.Client
	vars              map[string]string
}

// functionARN is the ARN a deployed function would have.
func functionARN(name string) string {
	return "arn:aws:lambda:" + region + ":" + deployAccount + ":function:" + stackName + "-" + name
}

// environment is what the stack sets on a function: the variables its needs
// bring (deploy.Variables) with this deployment's values. The optional
// ELEVATE_RDS_LOOKUP_ROLE and ELEVATE_LOG_LEVEL have none, as in the stack's
// default configuration.
func (d *deployment) environment(t *testing.T, f deploy.Function) map[string]string {
	t.Helper()
	values := map[string]string{
		deploy.EnvTable:             d.table,
		deploy.EnvCursorSecretARN:   d.cursorSecretARN,
		deploy.EnvStateMachineARN:   d.stateMachineARN,
		deploy.EnvScheduleGroup:     d.scheduleGroup,
		deploy.EnvExpiryFunctionARN: d.expiryFunctionARN,
		deploy.EnvSchedulerRoleARN:  d.schedulerRoleARN,
		deploy.EnvScheduleDLQARN:    d.deadLetterARN,
		deploy.EnvEventBus:          d.eventBus,
		deploy.EnvProtectedAccounts: strings.Join(d.protected, ","),
		deploy.EnvIdentityCenterTPS: identityCenterTPS,
		deploy.EnvRatePerTenant:     "50",
		deploy.EnvRatePerPrincipal:  "10",
		deploy.EnvSweepQueueURL:     d.sweepQueueURL,
	}
	env := map[string]string{}
	for _, v := range f.Variables() {
		value, ok := values[v.Name]
		switch {
		case ok:
			env[v.Name] = value
		case !v.Optional:
			t.Fatalf("the deployment has no value for %s, which %s needs", v.Name, f.Name)
		}
	}
	return env
}

// newDeployment creates the deployment on the moto server srv.
func newDeployment(t *testing.T, srv *motoserver.Server) *deployment {
	t.Helper()
	ctx := t.Context()
	cfg := srv.AWSConfig()
	d := &deployment{
		awsConfig:         cfg,
		endpoint:          srv.URL,
		table:             stackName + "-Table-" + randomHex(6),
		scheduleGroup:     stackName + "-expiry",
		expiryFunctionARN: functionARN("expiry"),
		schedulerRoleARN:  "arn:aws:iam::" + deployAccount + ":role/" + stackName + "-SchedulerRole",
		eventBus:          stackName,
		protected:         []string{deployAccount},
	}
	fatal := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("deploy: %s: %v\nmoto output:\n%s", what, err, srv.Output())
		}
	}

	ddb := dynamodb.NewFromConfig(cfg)
	fatal("create table", dynamo.CreateTable(ctx, ddb, d.table))
	d.store = dynamo.New(ddb, dynamo.Options{Table: d.table})
	d.ddb = ddb

	// The cursor-sealing keys, "id:base64" of 32 random bytes.
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(stackName + "/cursor-keys"),
		SecretString: aws.String("k" + time.Now().UTC().Format("20060102") + ":" + base64.StdEncoding.EncodeToString(secret)),
	})
	fatal("create the cursor secret", err)
	d.cursorSecretARN = aws.ToString(sec.ARN)

	_, err = eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(d.eventBus)})
	fatal("create the event bus", err)
	_, err = scheduler.NewFromConfig(cfg).CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String(d.scheduleGroup)})
	fatal("create the schedule group", err)
	d.deadLetterARN, err = createQueue(ctx, cfg, stackName+"-ScheduleDLQ")
	fatal("create the dead-letter queue", err)
	sweep, err := sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(stackName + "-SweepQueue")})
	fatal("create the sweep queue", err)
	d.sweepQueueURL = aws.ToString(sweep.QueueUrl)

	// The state machine, from the workflow package's definition with the
	// stack's substitutions. moto records executions without running them.
	definition := strings.NewReplacer(
		"${Partition}", "aws",
		"${AttachTokenFunctionArn}", functionARN("wf-attach-token"),
		"${ExpireRequestFunctionArn}", functionARN("wf-expire-request"),
		"${ProvisionFunctionArn}", functionARN("wf-provision"),
		"${DeprovisionFunctionArn}", functionARN("wf-deprovision"),
	).Replace(workflow.Definition)
	if i := strings.Index(definition, "${"); i >= 0 {
		rest, _, _ := strings.Cut(definition[i:], "}")
		t.Fatalf("deploy: the state machine definition has a substitution this test does not know: %s}", rest)
	}
	sm, err := sfn.NewFromConfig(cfg).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String(stackName + "-workflow"), Definition: aws.String(definition), Type: sfntypes.StateMachineTypeStandard,
		RoleArn: aws.String("arn:aws:iam::" + deployAccount + ":role/" + stackName + "-WorkflowRole"),
	})
	fatal("create the state machine", err)
	d.stateMachineARN = aws.ToString(sm.StateMachineArn)

	// The organization: the management account at the root, the account
	// grants target in an OU that is the tenant's allowed root.
	org := organizations.NewFromConfig(cfg)
	_, err = org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	fatal("create the organization", err)
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	fatal("list roots", err)
	if len(roots.Roots) != 1 {
		t.Fatalf("deploy: the organization has %d roots", len(roots.Roots))
	}
	root := aws.ToString(roots.Roots[0].Id)
	ou, err := org.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(root), Name: aws.String("workloads")})
	fatal("create an OU", err)
	ouID := aws.ToString(ou.OrganizationalUnit.Id)
	acct, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("sandbox"), Email: aws.String("aws-sandbox@example.com")})
	fatal("create an account", err)
	accountID := aws.ToString(acct.CreateAccountStatus.AccountId)
	_, err = org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(accountID), SourceParentId: aws.String(root), DestinationParentId: aws.String(ouID)})
	fatal("move the account into the OU", err)

	// Identity Center: moto's instance, and a user per person of the tenant.
	inst, err := ssoadmin.NewFromConfig(cfg).ListInstances(ctx, &ssoadmin.ListInstancesInput{})
	fatal("list Identity Center instances", err)
	if len(inst.Instances) == 0 {
		t.Fatal("deploy: moto has no Identity Center instance")
	}
	instanceARN := aws.ToString(inst.Instances[0].InstanceArn)
	// moto names its identity store d- and ten letters or digits, which is
	// not an identity store id (d- and ten hex digits); moto makes a store
	// of any id on first use, so the users go into one with a real id.
	storeID := "d-" + randomHex(5)
	instanceID := instanceARN[strings.LastIndex(instanceARN, "/")+1:]
	ids := identitystore.NewFromConfig(cfg)
	for _, u := range []string{"ada", "carol", "alice", "bob", "erin"} {
		_, err := ids.CreateUser(ctx, &identitystore.CreateUserInput{
			IdentityStoreId: aws.String(storeID), UserName: aws.String(u), DisplayName: aws.String(u),
			Name:   &istypes.Name{GivenName: aws.String(u), FamilyName: aws.String("Example")},
			Emails: []istypes.Email{{Value: aws.String(u + "@example.com"), Primary: true}},
		})
		fatal("create user "+u, err)
	}

	past := func() time.Time { return time.Now().Add(-48 * time.Hour) }
	svc := d.service(t, cfg, time.Now)
	pastSvc := d.service(t, cfg, past) // for objects whose time is up

	// The tenant and its people's keys, as `elevate tenant create` and
	// `elevate apikey create` make them.
	settings := access.DefaultSettings()
	boundary := access.DefaultBoundary()
	boundary.InstanceARN, boundary.IdentityStoreID, boundary.AllowedRoots = instanceARN, storeID, []string{ouID}
	settings.GroupRoles = map[string]access.Role{"platform-admins": access.RoleAdmin, "approvers": access.RoleApprover, "engineering": access.RoleRequester}
	ps := func(id string) string { return "arn:aws:sso:::permissionSet/" + instanceID + "/" + id }
	boundary.Assignable = []string{ps(readOnlySet), ps(adminSet)}
	tenant, err := svc.CreateTenant(ctx, access.NewTenantInput{Name: "Acme Corp", Boundary: &boundary, Settings: &settings, Catalog: access.Catalog{
		access.ResourceAccount: {
			{Name: "ReadOnly", Description: "Read-only access to the account", PermissionSetARN: ps(readOnlySet)},
			{Name: "Admin", Description: "Administrator access to the account", PermissionSetARN: ps(adminSet)},
		},
		access.ResourceOrganizationalUnit: {{Name: "ReadOnly", Description: "Read-only access to every account in the OU", PermissionSetARN: ps(readOnlySet)}},
		access.ResourceS3Bucket:           {{Name: "read", Description: "Read objects in the bucket"}, {Name: "write", Description: "Read and write objects in the bucket"}},
	}})
	fatal("create the tenant", err)
	type person struct {
		id     string
		role   access.Role
		groups []string
	}
	ada := person{"ada", access.RoleAdmin, []string{"platform-admins"}}
	carol := person{"carol", access.RoleApprover, []string{"approvers"}}
	alice := person{"alice", access.RoleRequester, []string{"engineering", "oncall"}}
	principal := func(p person) access.Principal {
		return access.Principal{TenantID: tenant.ID, ID: p.id, Kind: access.PrincipalUser, Role: p.role, Groups: p.groups}
	}
	keys := map[string]access.APIKey{}
	secrets := map[string]string{}
	for _, p := range []person{ada, carol, alice} {
		k, s, err := svc.BootstrapAPIKey(ctx, tenant.ID, access.APIKey{
			Name: p.id + "'s key", Role: p.role, PrincipalID: p.id, Groups: p.groups, ExpiresAt: time.Now().Add(24 * time.Hour),
		})
		fatal("create a key for "+p.id, err)
		keys[p.id], secrets[p.id] = k, s
	}
	ci, _, err := svc.BootstrapAPIKey(ctx, tenant.ID, access.APIKey{
		Name: "CI pipeline", Role: access.RoleRequester, PrincipalID: "ci-bot", PrincipalKind: access.PrincipalService, Groups: []string{"engineering"},
	})
	fatal("create a service key", err)

	account := access.Resource{Type: access.ResourceAccount, ID: accountID}
	pendingRequest := func(svc domain, why string) string {
		t.Helper()
		r, err := svc.CreateRequest(ctx, principal(alice), access.CreateRequestInput{
			Resource: account, Action: "Admin", DurationSeconds: 1800, Justification: why,
		}, nil)
		fatal("create a request", err)
		if r.Status != access.RequestPending {
			t.Fatalf("deploy: a new Admin request is %s, want pending", r.Status)
		}
		return r.ID
	}
	directGrant := func(svc domain, grantee, action string, expires time.Time) access.Grant {
		t.Helper()
		g, err := svc.CreateGrant(ctx, principal(ada), access.CreateGrantInput{
			GranteeID: grantee, Resource: account, Action: action, ExpiresAt: expires, Reasoning: "set up for the sample events",
		}, nil)
		fatal("create a grant", err)
		return g
	}
	activeGrant := func(svc domain, grantee, action string, expires time.Time) access.Grant {
		t.Helper()
		g := directGrant(svc, grantee, action, expires)
		for range 5 {
			done, err := svc.ProvisionGrant(ctx, tenant.ID, g.ID)
			fatal("provision grant "+g.ID, err)
			if done {
				break
			}
		}
		got, err := d.store.GetGrant(ctx, tenant.ID, g.ID)
		fatal("read grant "+g.ID, err)
		if got.Status != access.GrantActive {
			t.Fatalf("deploy: grant %s is %s after provisioning (%q), want active", g.ID, got.Status, got.Failure)
		}
		return got
	}

	inTwoHours := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	deprovision := activeGrant(svc, "bob", "Admin", inTwoHours)
	_, err = svc.RevokeGrant(ctx, principal(ada), deprovision.ID, "set up for wf-deprovision", nil)
	fatal("revoke a grant", err)
	expired := activeGrant(pastSvc, "alice", "Admin", past().Add(time.Hour))
	if expired.Generation != 1 {
		t.Fatalf("deploy: an activated grant has generation %d; events/expiry.json says 1", expired.Generation)
	}

	// Two break-glass grants of alice (oncall): one to review, and one
	// carol finds unjustified, which suspends alice's break-glass.
	breakGlass := func(why string) access.Request {
		t.Helper()
		r, err := svc.CreateRequest(ctx, principal(alice), access.CreateRequestInput{
			Resource: account, Action: "Admin", DurationSeconds: 1800, Justification: why, BreakGlass: true,
		}, nil)
		fatal("create a break-glass request", err)
		if r.Status != access.RequestApproved || r.GrantID == "" {
			t.Fatalf("deploy: a break-glass request of alice is %s, want approved with a grant", r.Status)
		}
		return r
	}
	toReview := breakGlass("INC-4230: the payments database is down")
	unjustified := breakGlass("Curious about the billing exports")
	_, err = svc.ReviewGrant(ctx, principal(carol), unjustified.GrantID, access.ReviewInput{Outcome: "unjustified", Reasoning: "No incident matched."}, nil)
	fatal("review a break-glass grant", err)

	d.vars = map[string]string{
		"TENANT_ID":            tenant.ID,
		"ADMIN_API_KEY":        secrets[ada.id],
		"APPROVER_API_KEY":     secrets[carol.id],
		"REQUESTER_API_KEY":    secrets[alice.id],
		"ACCOUNT_ID":           accountID,
		"INSTANCE_ID":          instanceID,
		"REQUEST_ID":           pendingRequest(svc, "INC-4200: read the payment logs as admin"),
		"APPROVE_REQUEST_ID":   pendingRequest(svc, "INC-4211: roll back the checkout deploy"),
		"DENY_REQUEST_ID":      pendingRequest(svc, "Look at the logs"),
		"CANCEL_REQUEST_ID":    pendingRequest(svc, "Rotate the deploy key"),
		"FORWARD_REQUEST_ID":   pendingRequest(svc, "Read the billing exports"),
		"EXPIRED_REQUEST_ID":   pendingRequest(pastSvc, "Nobody answered this one"),
		"GRANT_ID":             activeGrant(svc, "alice", "ReadOnly", inTwoHours).ID,
		"REVOKE_GRANT_ID":      activeGrant(svc, "bob", "ReadOnly", inTwoHours).ID,
		"PROVISION_GRANT_ID":   directGrant(svc, "erin", "Admin", inTwoHours).ID,
		"DEPROVISION_GRANT_ID": deprovision.ID,
		"EXPIRY_GRANT_ID":      expired.ID,
		"REVIEW_GRANT_ID":      toReview.GrantID,
		"SUSPENDED_USER_ID":    alice.id,
		"KEY_ID":               keys[alice.id].ID,
		"REVOKE_KEY_ID":        ci.ID,
		"TASK_TOKEN":           taskToken(),
		"EXPIRES_AT":           inTwoHours.Add(time.Hour).Format(time.RFC3339),
	}
	return d
}

// service is access.Service on this deployment's adapters, as the functions
// build it, with the clock now; it stands in for the workflow steps that ran
// before the events. Identity Center creations are reported as succeeded,
// which moto's SSO Admin does not say.
// domain is every audience of the domain, as the deployment's functions
// together use it.
type domain struct {
	*access.Service
	*access.Steps
	*access.Operator
}

func (d *deployment) service(t *testing.T, cfg aws.Config, now func() time.Time) domain {
	ic := identitycenter.NewAWS(identitycenter.AWSConfig{
		SSOAdmin: settledSSO{ssoadmin.NewFromConfig(cfg)}, IdentityStore: identitystore.NewFromConfig(cfg),
		Organizations: organizations.NewFromConfig(cfg), TPS: 1000, Now: now,
		Slots: d.store.NewSlots("identity-center-creations", 10, 15*time.Minute),
	})
	c := access.Config{
		Store: d.store, MintKey: auth.MintKey, IdentityCenter: ic, DB: ic,
		Workflow: stepfunctions.NewStepFunctions(sfn.NewFromConfig(cfg), d.stateMachineARN),
		Scheduler: schedule.NewScheduler(schedule.SchedulerConfig{
			Client: scheduler.NewFromConfig(cfg), Group: d.scheduleGroup, TargetARN: d.expiryFunctionARN,
			RoleARN: d.schedulerRoleARN, DeadLetterARN: d.deadLetterARN, Now: now,
		}),
		Publisher:         eventbus.NewPublisher(eventbridge.NewFromConfig(cfg), d.eventBus),
		ProtectedAccounts: d.protected, Now: now,
		Report: func(_ context.Context, p access.Problem) {
			t.Errorf("deploy: %s (%s): %v", p.Message, p.Kind, p.Err)
		},
	}
	return domain{access.NewService(c), access.NewSteps(c), access.NewOperator(c)}
}

// settledSSO reports an account assignment creation moto accepted as
// succeeded: moto's status answers carry no status at all.
type settledSSO struct{ *ssoadmin.Client }

func (s settledSSO) DescribeAccountAssignmentCreationStatus(ctx context.Context, in *ssoadmin.DescribeAccountAssignmentCreationStatusInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.DescribeAccountAssignmentCreationStatusOutput, error) {
	out, err := s.Client.DescribeAccountAssignmentCreationStatus(ctx, in, opts...)
	if err == nil && out.AccountAssignmentCreationStatus != nil && out.AccountAssignmentCreationStatus.Status == "" {
		out.AccountAssignmentCreationStatus.Status = ssotypes.StatusValuesSucceeded
	}
	return out, err
}

// createQueue creates an SQS queue on moto and returns its ARN, with one
// signed Query API call.
func createQueue(ctx context.Context, cfg aws.Config, name string) (string, error) {
	form := url.Values{"Action": {"CreateQueue"}, "QueueName": {name}, "Version": {"2012-11-05"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, aws.ToString(cfg.BaseEndpoint)+"/", strings.NewReader(form))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(form))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sqs", region, time.Now()); err != nil {
		return "", err
	}
	res, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(name)) {
		return "", fmt.Errorf("CreateQueue: status %d: %s", res.StatusCode, body)
	}
	return "arn:aws:sqs:" + region + ":" + deployAccount + ":" + name, nil
}

// taskToken is an opaque token of the size and alphabet Step Functions uses.
func taskToken() string {
	b := make([]byte, 384)
	_, _ = rand.Read(b)
	return "AQCEAAAAKgAAAAMAAAAAAAAAA" + base64.StdEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
