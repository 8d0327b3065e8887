// Package directory reads who and where for Elevate: the Identity Store's
// users and the organization's tree of OUs and accounts. It is the part of
// the Identity Center adapter (package identitycenter) that the API
// functions need to resolve people and place targets, apart from it so
// that they link neither SSO Admin nor its permission sets and assignments.
package directory

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

// IdentityStoreAPI is the part of the Identity Store client Elevate uses.
type IdentityStoreAPI interface {
	GetUserId(ctx context.Context, in *identitystore.GetUserIdInput, opts ...func(*identitystore.Options)) (*identitystore.GetUserIdOutput, error)
	DescribeUser(ctx context.Context, in *identitystore.DescribeUserInput, opts ...func(*identitystore.Options)) (*identitystore.DescribeUserOutput, error)
}

// OrganizationsAPI is the part of the Organizations client Elevate uses.
type OrganizationsAPI interface {
	ListParents(ctx context.Context, in *organizations.ListParentsInput, opts ...func(*organizations.Options)) (*organizations.ListParentsOutput, error)
	ListAccountsForParent(ctx context.Context, in *organizations.ListAccountsForParentInput, opts ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
	ListOrganizationalUnitsForParent(ctx context.Context, in *organizations.ListOrganizationalUnitsForParentInput, opts ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error)
}

// Defaults of Config. Identity Center allows a deployment 20 calls per
// second.
const (
	DefaultTPS        = 20
	DefaultCacheTTL   = 5 * time.Minute
	DefaultMaxOUDepth = 5
)

// negativeTTL is how long a missing user or account is remembered: long
// enough to absorb a burst of retries, short enough that a user created a
// moment later is found.
const negativeTTL = 30 * time.Second

// maxPages bounds every paginated listing, in case a service keeps handing
// out tokens.
const maxPages = 1000

// MaxPages is maxPages, for the listings of package identitycenter.
const MaxPages = maxPages

// Config configures a Directory.
type Config struct {
	IdentityStore IdentityStoreAPI
	Organizations OrganizationsAPI
	// Caller makes the calls; nil means NewCaller(DefaultTPS, Backoff{}, nil).
	Caller *Caller
	Now    func() time.Time
	// CacheTTL bounds how long users and organization lookups are reused;
	// zero means DefaultCacheTTL.
	CacheTTL time.Duration
	// MaxOUDepth bounds the OU levels walked below a root; zero means
	// DefaultMaxOUDepth (the Organizations limit).
	MaxOUDepth int
}

// Directory resolves users and walks the organization tree, with answers
// cached. It is safe for concurrent use.
type Directory struct {
	ids      IdentityStoreAPI
	org      OrganizationsAPI
	caller   *Caller
	ttl      time.Duration
	maxDepth int

	users   *Cache[userEntry]
	parents *Cache[[]string]
	under   *Cache[accountsEntry]
}

// New returns a Directory, filling in defaults.
func New(c Config) *Directory {
	d := &Directory{ids: c.IdentityStore, org: c.Organizations, caller: c.Caller, ttl: c.CacheTTL, maxDepth: c.MaxOUDepth}
	if d.caller == nil {
		d.caller = NewCaller(DefaultTPS, Backoff{}, nil)
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	if d.ttl <= 0 {
		d.ttl = DefaultCacheTTL
	}
	if d.maxDepth <= 0 {
		d.maxDepth = DefaultMaxOUDepth
	}
	d.users = NewCache[userEntry](now, 10000)
	d.parents = NewCache[[]string](now, 10000)
	d.under = NewCache[accountsEntry](now, 1000)
	return d
}
