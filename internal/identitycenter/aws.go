// Package identitycenter connects Elevate to IAM Identity Center, the
// Identity Store and Organizations. Its in-memory stand-in for the local
// server and tests is the recording subpackage.
package identitycenter

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter/directory"
)

// SSOAdminAPI is the part of the SSO Admin client AWS uses; *ssoadmin.Client
// satisfies it.
type SSOAdminAPI interface {
	ListPermissionSets(ctx context.Context, in *ssoadmin.ListPermissionSetsInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.ListPermissionSetsOutput, error)
	DescribePermissionSet(ctx context.Context, in *ssoadmin.DescribePermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.DescribePermissionSetOutput, error)
	CreatePermissionSet(ctx context.Context, in *ssoadmin.CreatePermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.CreatePermissionSetOutput, error)
	UpdatePermissionSet(ctx context.Context, in *ssoadmin.UpdatePermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.UpdatePermissionSetOutput, error)
	DeletePermissionSet(ctx context.Context, in *ssoadmin.DeletePermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.DeletePermissionSetOutput, error)
	ListTagsForResource(ctx context.Context, in *ssoadmin.ListTagsForResourceInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.ListTagsForResourceOutput, error)
	GetInlinePolicyForPermissionSet(ctx context.Context, in *ssoadmin.GetInlinePolicyForPermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.GetInlinePolicyForPermissionSetOutput, error)
	PutInlinePolicyToPermissionSet(ctx context.Context, in *ssoadmin.PutInlinePolicyToPermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.PutInlinePolicyToPermissionSetOutput, error)
	ProvisionPermissionSet(ctx context.Context, in *ssoadmin.ProvisionPermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.ProvisionPermissionSetOutput, error)
	ListAccountsForProvisionedPermissionSet(ctx context.Context, in *ssoadmin.ListAccountsForProvisionedPermissionSetInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.ListAccountsForProvisionedPermissionSetOutput, error)
	ListAccountAssignments(ctx context.Context, in *ssoadmin.ListAccountAssignmentsInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.ListAccountAssignmentsOutput, error)
	ListAccountAssignmentsForPrincipal(ctx context.Context, in *ssoadmin.ListAccountAssignmentsForPrincipalInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.ListAccountAssignmentsForPrincipalOutput, error)
	CreateAccountAssignment(ctx context.Context, in *ssoadmin.CreateAccountAssignmentInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.CreateAccountAssignmentOutput, error)
	DescribeAccountAssignmentCreationStatus(ctx context.Context, in *ssoadmin.DescribeAccountAssignmentCreationStatusInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.DescribeAccountAssignmentCreationStatusOutput, error)
	DeleteAccountAssignment(ctx context.Context, in *ssoadmin.DeleteAccountAssignmentInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.DeleteAccountAssignmentOutput, error)
	DescribeAccountAssignmentDeletionStatus(ctx context.Context, in *ssoadmin.DescribeAccountAssignmentDeletionStatusInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.DescribeAccountAssignmentDeletionStatusOutput, error)
}

// IdentityStoreAPI and OrganizationsAPI are the parts of the Identity Store
// and Organizations clients Elevate uses (package directory).
type (
	IdentityStoreAPI = directory.IdentityStoreAPI
	OrganizationsAPI = directory.OrganizationsAPI
)

// Defaults of AWSConfig. Identity Center allows a deployment 20 calls per
// second and 10 account assignment creations in progress.
const (
	DefaultTPS        = directory.DefaultTPS
	DefaultSlots      = 10
	DefaultCacheTTL   = directory.DefaultCacheTTL
	DefaultMaxOUDepth = directory.DefaultMaxOUDepth
)

// Backoff shapes the retries of throttled calls (package directory).
type Backoff = directory.Backoff

// The names of package directory that the SSO Admin calls share.
const (
	retryThrottled           = directory.RetryThrottled
	retryThrottledOrConflict = directory.RetryThrottledOrConflict
	retryFreshSet            = directory.RetryFreshSet
	maxPages                 = directory.MaxPages
)

type retryOn = directory.RetryOn

// invoke makes one call under the adapter's rate limiter (directory.Call).
func invoke[T any](ctx context.Context, a *AWS, on retryOn, call func(context.Context) (T, error)) (T, error) {
	return directory.Call(ctx, a.caller, on, call)
}

func hasCode(err error, codes ...string) bool { return directory.HasCode(err, codes...) }

// AWSConfig configures the production Identity Center adapter.
type AWSConfig struct {
	SSOAdmin      SSOAdminAPI
	IdentityStore IdentityStoreAPI
	Organizations OrganizationsAPI
	// Slots caps outstanding assignment creations deployment-wide (Identity
	// Center allows 10). Nil means an in-process cap, NewLocalSlots(DefaultSlots).
	Slots Slots
	// TPS is this process's share of the deployment-wide Identity Center call
	// rate (Identity Center allows 20 TPS in all); the stack divides 20 by
	// how many of the Identity Center functions' containers may run at once. Zero means DefaultTPS.
	TPS float64
	// Backoff shapes the retries of throttled and conflicting calls; the zero
	// value means 5 attempts, 100 ms base, 5 s cap.
	Backoff Backoff
	Now     func() time.Time
	// CacheTTL bounds how long users and organization lookups are reused;
	// zero means DefaultCacheTTL.
	CacheTTL time.Duration
	// MaxOUDepth bounds the OU levels walked below a root; zero means
	// DefaultMaxOUDepth (the Organizations limit).
	MaxOUDepth int
	// Log receives what the adapter cannot return, such as a slot it failed to
	// release after a successful call; nil discards it.
	Log *slog.Logger
	// RDSLookup finds DB instances' resource ids for RDS connect grants; nil
	// makes such grants fail with a clear reason.
	RDSLookup RDSLookup
	// Throttled is told of every call that AWS throttled (and that is
	// retried), so that throttling shows as a metric; nil ignores them.
	Throttled func(ctx context.Context)
	// ProvisionPoll is how long PutInlinePolicy waits between polls of a
	// re-provisioning in progress; zero means two seconds.
	ProvisionPoll time.Duration
	// Locks serializes the writers of a permission set's inline policy
	// across processes (see Locker). Nil means in-process locks, which
	// serialize only this process's writers.
	Locks Locker
}

// RDSLookup finds the resource id of a DB instance, given its ARN
// (internal/rds on AWS).
type RDSLookup interface {
	DBIResourceID(ctx context.Context, dbInstanceARN string) (string, error)
}

// AWS is the production access.IdentityCenter: IAM Identity Center through
// SSO Admin, users through the Identity Store, the OU tree through
// Organizations. Every call waits on one rate limiter and is retried with
// backoff when throttled. It is safe for concurrent use.
type AWS struct {
	// Directory resolves users and walks the organization tree
	// (ResolveUser, Ancestors, AccountsUnder).
	*directory.Directory

	sso    SSOAdminAPI
	slots  Slots
	caller *directory.Caller
	now    func() time.Time
	ttl    time.Duration
	log    *slog.Logger
	rds    RDSLookup
	poll   time.Duration
	locks  Locker

	sets  *directory.Cache[permissionSetEntry]
	names *directory.Cache[string]

	// ensuring serializes the slow path of EnsurePermissionSet.
	ensuring chan struct{}

	mu sync.Mutex
	// pending maps creations this process started to their slot keys, in case
	// a status answer does not name the assignment.
	pending map[string]string
}

var (
	_ access.IdentityCenter = (*AWS)(nil)
	_ access.DBResolver     = (*AWS)(nil)
)

// NewAWS returns the adapter for the given clients, filling in defaults.
func NewAWS(c AWSConfig) *AWS {
	a := &AWS{
		sso: c.SSOAdmin, slots: c.Slots, now: c.Now, ttl: c.CacheTTL, log: c.Log, rds: c.RDSLookup, poll: c.ProvisionPoll, locks: c.Locks,
		pending: map[string]string{}, ensuring: make(chan struct{}, 1),
		caller: directory.NewCaller(c.TPS, c.Backoff, c.Throttled),
	}
	if a.slots == nil {
		a.slots = NewLocalSlots(DefaultSlots)
	}
	if a.locks == nil {
		a.locks = newLocalLocks()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.ttl <= 0 {
		a.ttl = DefaultCacheTTL
	}
	if a.poll <= 0 {
		a.poll = provisionPollEvery
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.Directory = directory.New(directory.Config{
		IdentityStore: c.IdentityStore, Organizations: c.Organizations, Caller: a.caller,
		Now: a.now, CacheTTL: a.ttl, MaxOUDepth: c.MaxOUDepth,
	})
	a.sets = directory.NewCache[permissionSetEntry](a.now, 10000)
	a.names = directory.NewCache[string](a.now, 50000)
	return a
}

// DBIResourceID finds an RDS instance's DbiResourceId, which IAM database
// authentication names the instance by, through the deployment's lookup role.
func (a *AWS) DBIResourceID(ctx context.Context, t access.Tenant, dbInstanceARN string) (string, error) {
	if a.rds == nil {
		return "", access.Errorf(access.CodeValidationFailed,
			"RDS connect needs Elevate's RDS lookup role to read the DB instance's resource id, and this deployment has none configured (%s)", dbInstanceARN)
	}
	return a.rds.DBIResourceID(ctx, dbInstanceARN)
}
