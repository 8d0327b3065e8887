package local

import (
	"context"
	"fmt"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// The demo tenants have fixed ids so the README's examples can name them.
const (
	DemoTenantAcme   = "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01"
	DemoTenantGlobex = "8b2d4e6f-1a3c-4e5d-8f7a-9c0b1d2e3f02"
	// DemoProtectedAccount is in the demo organization but protected, so a
	// refused target can be tried.
	DemoProtectedAccount = "999999999999"
)

// Demo is what the local server prints and writes with --demo-out.
type Demo struct {
	Tenants []DemoTenant `json:"tenants"`
}

// DemoTenant is one seeded tenant and the API keys of its users.
type DemoTenant struct {
	ID   string   `json:"id"`
	Name string   `json:"name"`
	Keys DemoKeys `json:"keys"`
}

// DemoKeys are the secrets of the four demo users' keys.
type DemoKeys struct {
	Admin      string `json:"admin"`
	Approver   string `json:"approver"`
	Requester  string `json:"requester"`
	Requester2 string `json:"requester2"`
}

// DemoUser is one seeded user.
type DemoUser struct {
	ID     string
	Role   access.Role
	Groups []string
}

// The demo users of every demo tenant: an admin, an approver, and two
// requesters, of whom only alice is on call (so only she may break glass).
var (
	DemoAdmin      = DemoUser{"ada", access.RoleAdmin, []string{"platform-admins"}}
	DemoApprover   = DemoUser{"carol", access.RoleApprover, []string{"approvers"}}
	DemoRequester  = DemoUser{"alice", access.RoleRequester, []string{"engineering", "oncall"}}
	DemoRequester2 = DemoUser{"bob", access.RoleRequester, []string{"engineering"}}
)

type demoSpec struct {
	id, name, instance, root, workloads, security string
	accounts                                      []string
}

var demoSpecs = []demoSpec{
	{DemoTenantAcme, "Acme Corp", "ssoins-72a3c1e9d4b5f601", "r-ac01", "ou-ac01-workload", "ou-ac01-security", []string{"123456789012", "210987654321"}},
	{DemoTenantGlobex, "Globex", "ssoins-0b5e8d2c7a9f3e14", "r-gx01", "ou-gx01-workload", "ou-gx01-security", []string{"345678901234", "456789012345"}},
}

// Organizer sets the organization behind an Identity Center instance: the
// local Identity Center stand-in, where the demo's organization lives.
type Organizer interface {
	SetOrganization(instanceARN string, accounts map[string][]string)
}

// SeedDemo creates the two demo tenants through the operator's path, each
// with its boundary (its own instance, organization root and the catalog's
// permission sets as assignable), settings, catalog, default policies and
// one API key per demo user; org receives each instance's organization.
func SeedDemo(ctx context.Context, svc *access.Operator, org Organizer) (Demo, error) {
	var demo Demo
	for _, sp := range demoSpecs {
		instanceARN := "arn:aws:sso:::instance/" + sp.instance
		org.SetOrganization(instanceARN, map[string][]string{
			sp.accounts[0]:       {sp.root, sp.workloads},
			sp.accounts[1]:       {sp.root, sp.workloads},
			DemoProtectedAccount: {sp.root, sp.security},
		})
		catalog := DemoCatalog(sp.instance)
		boundary := access.DefaultBoundary()
		boundary.InstanceARN, boundary.IdentityStoreID = instanceARN, "d-90670a1b2c"
		boundary.AllowedRoots, boundary.Assignable = []string{sp.root}, catalog.PermissionSets()
		settings := access.DefaultSettings()
		settings.GroupRoles = map[string]access.Role{"platform-admins": access.RoleAdmin, "approvers": access.RoleApprover, "engineering": access.RoleRequester}
		_, err := svc.CreateTenant(ctx, access.NewTenantInput{ID: sp.id, Name: sp.name, Boundary: &boundary, Settings: &settings, Catalog: catalog})
		if err != nil && access.CodeOf(err) != access.CodeConflict {
			return Demo{}, fmt.Errorf("seed tenant %s: %w", sp.name, err)
		}
		// On a lasting store the tenant may exist from an earlier start; its
		// users then get new keys.
		dt := DemoTenant{ID: sp.id, Name: sp.name}
		for _, u := range []struct {
			user DemoUser
			out  *string
		}{{DemoAdmin, &dt.Keys.Admin}, {DemoApprover, &dt.Keys.Approver}, {DemoRequester, &dt.Keys.Requester}, {DemoRequester2, &dt.Keys.Requester2}} {
			_, secret, err := svc.BootstrapAPIKey(ctx, sp.id, access.APIKey{
				Name: "demo key for " + u.user.ID, Role: u.user.Role, PrincipalID: u.user.ID, Groups: u.user.Groups,
				ExpiresAt: time.Now().Add(30 * 24 * time.Hour), CreatedBy: "elevate-serve",
			})
			if err != nil {
				return Demo{}, fmt.Errorf("seed key for %s: %w", u.user.ID, err)
			}
			*u.out = secret
		}
		demo.Tenants = append(demo.Tenants, dt)
	}
	return demo, nil
}

// DemoCatalog is the demo tenants' action catalog: read-only and admin
// permission sets for accounts and OUs, one assignable permission set, and
// the managed actions for S3, RDS and EC2.
func DemoCatalog(instance string) access.Catalog {
	ps := func(id string) string { return "arn:aws:sso:::permissionSet/" + instance + "/ps-" + id }
	return access.Catalog{
		access.ResourceAccount: {
			{Name: "ReadOnly", Description: "Read-only access to the account", PermissionSetARN: ps("0a1b2c3d4e5f6071")},
			{Name: "Admin", Description: "Administrator access to the account", PermissionSetARN: ps("1b2c3d4e5f607182")},
		},
		access.ResourceOrganizationalUnit: {
			{Name: "ReadOnly", Description: "Read-only access to every account in the OU", PermissionSetARN: ps("0a1b2c3d4e5f6071")},
		},
		access.ResourcePermissionSet: {
			{Name: "DataEngineer", Description: "The data engineering permission set", PermissionSetARN: ps("2c3d4e5f60718293")},
		},
		access.ResourceS3Bucket: {
			{Name: "read", Description: "Read objects in the bucket"},
			{Name: "write", Description: "Read and write objects in the bucket"},
		},
		access.ResourceRDSInstance: {
			{Name: "connect", Description: "IAM database authentication as db_user"},
			{Name: "read", Description: "Describe the instance and read its logs"},
		},
		access.ResourceEC2Instance: {
			{Name: "ssm-session", Description: "Session Manager sessions to the instance"},
			{Name: "read", Description: "Describe the instance and read its console output"},
		},
	}
}
