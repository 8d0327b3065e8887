// Package directory provides the needs organizations-read and resolve-users
// of a function that does not change Identity Center: the organization tree
// and the Identity Store's users (internal/identitycenter/directory),
// without the SSO Admin client. A function that also has the need
// identity-center gets them from that need's provider instead.
package directory

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function"
	"github.com/elevate-jit/elevate/internal/function/needs/awsconfig"
	"github.com/elevate-jit/elevate/internal/identitycenter/directory"
)

// Provider serves organizations-read and resolve-users.
var Provider = function.Provider{
	Name:    "directory",
	Needs:   []deploy.Need{deploy.NeedOrganizationsRead, deploy.NeedResolveUsers},
	Provide: provide,
}

// tps is the call rate of a function that only reads the tree (cached per
// process) and resolves users: well below the deployment's Identity Center
// budget.
const tps = 2

func provide(w *function.Wiring) error {
	cfg := awsconfig.Config(w)
	d := directory.New(directory.Config{
		IdentityStore: identitystore.NewFromConfig(cfg), Organizations: organizations.NewFromConfig(cfg),
		Caller: directory.NewCaller(tps, directory.Backoff{}, w.Throttled),
	})
	// A target is checked against the protected accounts where its place in
	// the organization is read.
	if w.Function.Has(deploy.NeedOrganizationsRead) {
		w.Ports.ProtectedAccounts = deploy.SplitList(w.Getenv(deploy.EnvProtectedAccounts))
	}
	w.Ports.IdentityCenter = reader{d, w.Ports.IdentityCenter}
	return nil
}

// reader is the Identity Center port of a function that reads the directory
// only: the rest stays what the wiring had (a refusal).
type reader struct {
	dir *directory.Directory
	access.IdentityCenter
}

func (r reader) ResolveUser(ctx context.Context, t access.Tenant, granteeID string) (string, error) {
	return r.dir.ResolveUser(ctx, t, granteeID)
}

func (r reader) Ancestors(ctx context.Context, t access.Tenant, res access.Resource) ([]string, error) {
	return r.dir.Ancestors(ctx, t, res)
}

func (r reader) AccountsUnder(ctx context.Context, t access.Tenant, ouID string, max int) ([]string, bool, error) {
	return r.dir.AccountsUnder(ctx, t, ouID, max)
}
