// Package identitycenter provides the need identity-center: users, managed
// permission sets and account assignments (internal/identitycenter), and
// with them the organization tree and the users that organizations-read and
// resolve-users allow.
package identitycenter

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function"
	"github.com/elevate-jit/elevate/internal/function/needs/awsconfig"
	"github.com/elevate-jit/elevate/internal/function/needs/table"
	"github.com/elevate-jit/elevate/internal/identitycenter"
	"github.com/elevate-jit/elevate/internal/rds"
)

// Provider serves identity-center, and organizations-read and resolve-users
// through the same adapter.
var Provider = function.Provider{
	Name:    "identitycenter",
	Needs:   []deploy.Need{deploy.NeedIdentityCenter, deploy.NeedOrganizationsRead, deploy.NeedResolveUsers},
	Provide: provide,
}

// Functions that change Identity Center share the deployment's budget (20
// TPS divided among them by the stack); the others only read, well below
// it.
func provide(w *function.Wiring) error {
	cfg := awsconfig.Config(w)
	ic := identitycenter.AWSConfig{
		SSOAdmin: ssoadmin.NewFromConfig(cfg), IdentityStore: identitystore.NewFromConfig(cfg),
		Organizations: organizations.NewFromConfig(cfg), Log: w.Log, Throttled: w.Throttled,
		Slots: table.Store(w).NewSlots("identity-center-creations", 10, 15*time.Minute),
		Locks: table.Store(w), // the writers of a permission set's inline policy take turns
		TPS:   2,
	}
	fn := w.Function
	if fn.Has(deploy.NeedIdentityCenter) {
		tps, err := w.Float(deploy.EnvIdentityCenterTPS, 20)
		if err != nil {
			return err
		}
		ic.TPS = tps
		if role := w.Getenv(deploy.EnvRDSLookupRole); role != "" {
			ic.RDSLookup = rds.NewLookup(cfg, sts.NewFromConfig(cfg), role)
		}
	}
	if fn.Has(deploy.NeedIdentityCenter) || fn.Has(deploy.NeedOrganizationsRead) {
		w.Ports.ProtectedAccounts = deploy.SplitList(w.Getenv(deploy.EnvProtectedAccounts))
	}
	a := identitycenter.NewAWS(ic)
	w.Ports.IdentityCenter, w.Ports.DB = a, a
	return nil
}
