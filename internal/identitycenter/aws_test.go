package identitycenter_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/smithy-go"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter"
	"github.com/elevate-jit/elevate/internal/motoserver"
)

// The tests of this package share one moto_server. Each test makes its own
// identity store (moto creates one per id on first use), its own OUs and
// accounts under the one organization moto's default account can hold, and
// its own permission sets in moto's one Identity Center instance.
func TestMain(m *testing.M) { motoserver.Main(m) }

// env is one test's corner of the shared moto server.
type env struct {
	ctx         context.Context
	cfg         aws.Config
	sso         *motoSSO
	raw         *ssoadmin.Client
	ids         *identitystore.Client
	org         *organizations.Client
	instanceARN string
	storeID     string
	root        string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := motoserver.Shared(t)
	cfg := srv.AWSConfig()
	e := &env{ctx: t.Context(), cfg: cfg, raw: ssoadmin.NewFromConfig(cfg), ids: identitystore.NewFromConfig(cfg), org: organizations.NewFromConfig(cfg)}
	e.sso = newMotoSSO(e.raw)
	inst, err := e.raw.ListInstances(e.ctx, &ssoadmin.ListInstancesInput{})
	if err != nil || len(inst.Instances) == 0 {
		t.Fatalf("ListInstances: %v (%d instances)\n%s", err, len(inst.Instances), srv.Output())
	}
	e.instanceARN = aws.ToString(inst.Instances[0].InstanceArn)
	e.storeID = "d-" + randomHex(5)
	e.root = e.organizationRoot(t)
	return e
}

// organizationRoot creates the organization unless another test did.
func (e *env) organizationRoot(t *testing.T) string {
	t.Helper()
	_, err := e.org.CreateOrganization(e.ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	var exists *orgtypes.AlreadyInOrganizationException
	if err != nil && !errors.As(err, &exists) {
		t.Fatalf("CreateOrganization: %v", err)
	}
	roots, err := e.org.ListRoots(e.ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 {
		t.Fatalf("ListRoots: %v", err)
	}
	return aws.ToString(roots.Roots[0].Id)
}

// newAWS builds the adapter on this env's clients: fast (a high rate, short
// backoff) unless edit says otherwise.
func (e *env) newAWS(edit func(*identitycenter.AWSConfig)) *identitycenter.AWS {
	c := identitycenter.AWSConfig{
		SSOAdmin: e.sso, IdentityStore: e.ids, Organizations: e.org,
		TPS: 1000, Backoff: identitycenter.Backoff{Attempts: 3, Base: time.Millisecond, Max: 5 * time.Millisecond},
	}
	if edit != nil {
		edit(&c)
	}
	return identitycenter.NewAWS(c)
}

// tenant is a tenant whose boundary is this env's instance and store.
func (e *env) tenant(mapping access.IdentityMapping, roots ...string) access.Tenant {
	b := access.DefaultBoundary()
	b.IdentityMapping, b.InstanceARN, b.IdentityStoreID, b.AllowedRoots = mapping, e.instanceARN, e.storeID, roots
	return access.Tenant{ID: "0b7e8c52-3f0a-4d8e-9c61-2a4b5d6e7f80", Name: "moto", Boundary: b, Settings: access.DefaultSettings()}
}

func (e *env) createUser(t *testing.T, name, email string) string {
	t.Helper()
	out, err := e.ids.CreateUser(e.ctx, &identitystore.CreateUserInput{
		IdentityStoreId: aws.String(e.storeID), UserName: aws.String(name), DisplayName: aws.String(name),
		Name:   &istypes.Name{GivenName: aws.String(name), FamilyName: aws.String("Tester")},
		Emails: []istypes.Email{{Value: aws.String(email), Primary: true}},
	})
	if err != nil {
		t.Fatalf("CreateUser %s: %v", name, err)
	}
	return aws.ToString(out.UserId)
}

func (e *env) ou(t *testing.T, parent, name string) string {
	t.Helper()
	out, err := e.org.CreateOrganizationalUnit(e.ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(parent), Name: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateOrganizationalUnit %s: %v", name, err)
	}
	return aws.ToString(out.OrganizationalUnit.Id)
}

// account creates an account and moves it under parent.
func (e *env) account(t *testing.T, parent, name string) string {
	t.Helper()
	out, err := e.org.CreateAccount(e.ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "-" + randomHex(4) + "@example.com")})
	if err != nil {
		t.Fatalf("CreateAccount %s: %v", name, err)
	}
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	if _, err := e.org.MoveAccount(e.ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(e.root), DestinationParentId: aws.String(parent)}); err != nil {
		t.Fatalf("MoveAccount %s: %v", name, err)
	}
	return id
}

// permissionSet creates a permission set directly in moto, as a customer
// would (no Elevate tag unless tags are given).
func (e *env) permissionSet(t *testing.T, name string, tags ...ssotypes.Tag) string {
	t.Helper()
	out, err := e.sso.CreatePermissionSet(e.ctx, &ssoadmin.CreatePermissionSetInput{
		InstanceArn: aws.String(e.instanceARN), Name: aws.String(name), SessionDuration: aws.String("PT4H"), Tags: tags,
	})
	if err != nil {
		t.Fatalf("CreatePermissionSet %s: %v", name, err)
	}
	return aws.ToString(out.PermissionSet.PermissionSetArn)
}

// assigned lists the users assigned the permission set in the account, as
// moto sees it.
func (e *env) assigned(t *testing.T, account, ps string) []string {
	t.Helper()
	out, err := e.raw.ListAccountAssignments(e.ctx, &ssoadmin.ListAccountAssignmentsInput{
		InstanceArn: aws.String(e.instanceARN), AccountId: aws.String(account), PermissionSetArn: aws.String(ps),
	})
	if err != nil {
		t.Fatalf("ListAccountAssignments: %v", err)
	}
	var users []string
	for _, a := range out.AccountAssignments {
		users = append(users, aws.ToString(a.PrincipalId))
	}
	slices.Sort(users)
	return users
}

// assign makes an assignment directly in moto: standing access.
func (e *env) assign(t *testing.T, account, ps, user string) {
	t.Helper()
	if _, err := e.sso.CreateAccountAssignment(e.ctx, &ssoadmin.CreateAccountAssignmentInput{
		InstanceArn: aws.String(e.instanceARN), TargetId: aws.String(account), TargetType: ssotypes.TargetTypeAwsAccount,
		PermissionSetArn: aws.String(ps), PrincipalType: ssotypes.PrincipalTypeUser, PrincipalId: aws.String(user),
	}); err != nil {
		t.Fatalf("CreateAccountAssignment: %v", err)
	}
}

func (e *env) permissionSetExists(t *testing.T, arn string) bool {
	t.Helper()
	_, err := e.raw.DescribePermissionSet(e.ctx, &ssoadmin.DescribePermissionSetInput{InstanceArn: aws.String(e.instanceARN), PermissionSetArn: aws.String(arn)})
	var nf *ssotypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return false
	}
	if err != nil {
		t.Fatalf("DescribePermissionSet: %v", err)
	}
	return true
}

// motoSSO stands in for what moto 5.2.1's SSO Admin lacks, the way Identity
// Center behaves: it keeps the tags given at creation but does not implement
// ListTagsForResource, and it provisions a permission set to an account only
// through ProvisionPermissionSet (and then to moto's own account), not when an
// assignment is created there. Everything else goes to moto. It also counts
// calls.
type motoSSO struct {
	*ssoadmin.Client

	mu          sync.Mutex
	tags        map[string][]ssotypes.Tag
	provisioned map[string][]string
	calls       map[string]int
}

func newMotoSSO(c *ssoadmin.Client) *motoSSO {
	return &motoSSO{Client: c, tags: map[string][]ssotypes.Tag{}, provisioned: map[string][]string{}, calls: map[string]int{}}
}

func (m *motoSSO) count(op string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[op]
}

func (m *motoSSO) inc(op string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[op]++
}

func (m *motoSSO) CreatePermissionSet(ctx context.Context, in *ssoadmin.CreatePermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.CreatePermissionSetOutput, error) {
	m.inc("CreatePermissionSet")
	out, err := m.Client.CreatePermissionSet(ctx, in, opts...)
	if err == nil {
		m.mu.Lock()
		m.tags[aws.ToString(out.PermissionSet.PermissionSetArn)] = slices.Clone(in.Tags)
		m.mu.Unlock()
	}
	return out, err
}

func (m *motoSSO) ListTagsForResource(_ context.Context, in *ssoadmin.ListTagsForResourceInput, _ ...func(*ssoadmin.Options)) (*ssoadmin.ListTagsForResourceOutput, error) {
	m.inc("ListTagsForResource")
	m.mu.Lock()
	defer m.mu.Unlock()
	return &ssoadmin.ListTagsForResourceOutput{Tags: slices.Clone(m.tags[aws.ToString(in.ResourceArn)])}, nil
}

func (m *motoSSO) CreateAccountAssignment(ctx context.Context, in *ssoadmin.CreateAccountAssignmentInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.CreateAccountAssignmentOutput, error) {
	m.inc("CreateAccountAssignment")
	out, err := m.Client.CreateAccountAssignment(ctx, in, opts...)
	if err == nil {
		m.mu.Lock()
		ps, acct := aws.ToString(in.PermissionSetArn), aws.ToString(in.TargetId)
		if !slices.Contains(m.provisioned[ps], acct) {
			m.provisioned[ps] = append(m.provisioned[ps], acct)
		}
		m.mu.Unlock()
	}
	return out, err
}

func (m *motoSSO) ListAccountsForProvisionedPermissionSet(ctx context.Context, in *ssoadmin.ListAccountsForProvisionedPermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.ListAccountsForProvisionedPermissionSetOutput, error) {
	m.inc("ListAccountsForProvisionedPermissionSet")
	out, err := m.Client.ListAccountsForProvisionedPermissionSet(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, acct := range m.provisioned[aws.ToString(in.PermissionSetArn)] {
		if !slices.Contains(out.AccountIds, acct) {
			out.AccountIds = append(out.AccountIds, acct)
		}
	}
	return out, nil
}

func (m *motoSSO) PutInlinePolicyToPermissionSet(ctx context.Context, in *ssoadmin.PutInlinePolicyToPermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.PutInlinePolicyToPermissionSetOutput, error) {
	m.inc("PutInlinePolicyToPermissionSet")
	return m.Client.PutInlinePolicyToPermissionSet(ctx, in, opts...)
}

func (m *motoSSO) DeletePermissionSet(ctx context.Context, in *ssoadmin.DeletePermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.DeletePermissionSetOutput, error) {
	m.inc("DeletePermissionSet")
	return m.Client.DeletePermissionSet(ctx, in, opts...)
}

// countingIDs counts Identity Store calls.
type countingIDs struct {
	identitycenter.IdentityStoreAPI

	mu    sync.Mutex
	calls int
}

func (c *countingIDs) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func (c *countingIDs) inc() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
}

func (c *countingIDs) GetUserId(ctx context.Context, in *identitystore.GetUserIdInput, opts ...func(*identitystore.Options)) (*identitystore.GetUserIdOutput, error) {
	c.inc()
	return c.IdentityStoreAPI.GetUserId(ctx, in, opts...)
}

func (c *countingIDs) DescribeUser(ctx context.Context, in *identitystore.DescribeUserInput, opts ...func(*identitystore.Options)) (*identitystore.DescribeUserOutput, error) {
	c.inc()
	return c.IdentityStoreAPI.DescribeUser(ctx, in, opts...)
}

// countingOrg counts Organizations calls.
type countingOrg struct {
	identitycenter.OrganizationsAPI

	mu    sync.Mutex
	calls int
}

func (c *countingOrg) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func (c *countingOrg) inc() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
}

func (c *countingOrg) ListParents(ctx context.Context, in *organizations.ListParentsInput, opts ...func(*organizations.Options)) (*organizations.ListParentsOutput, error) {
	c.inc()
	return c.OrganizationsAPI.ListParents(ctx, in, opts...)
}

func (c *countingOrg) ListAccountsForParent(ctx context.Context, in *organizations.ListAccountsForParentInput, opts ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error) {
	c.inc()
	return c.OrganizationsAPI.ListAccountsForParent(ctx, in, opts...)
}

func (c *countingOrg) ListOrganizationalUnitsForParent(ctx context.Context, in *organizations.ListOrganizationalUnitsForParentInput, opts ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error) {
	c.inc()
	return c.OrganizationsAPI.ListOrganizationalUnitsForParent(ctx, in, opts...)
}

// fakeClock is a settable clock for cache expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randomAccount is a 12-digit account id no test creates on purpose.
func randomAccount() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%012d", (uint64(b[0])<<40|uint64(b[1])<<32|uint64(b[2])<<24|uint64(b[3])<<16|uint64(b[4])<<8|uint64(b[5]))%1_000_000_000_000)
}

// randomUUID is a random Identity Store-like user id.
func randomUUID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// apiError is an AWS error of the given code.
func apiError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " (fake)"}
}

// boundary is a tenant boundary on the moto instance with one allowed root.
func (e *env) boundary(root string) *access.Boundary {
	b := access.DefaultBoundary()
	b.InstanceARN, b.IdentityStoreID, b.AllowedRoots = e.instanceARN, e.storeID, []string{root}
	return &b
}
