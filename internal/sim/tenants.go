package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/policy"
)

// The simulated deployment: two Identity Center instances; tenants A and B
// share the first (and its users), C has the second. B's boundary is
// narrower than A's, so the same account is inside one tenant's boundary and
// outside the other's.
const (
	instance1 = "arn:aws:sso:::instance/ssoins-1111aaaa2222bbbb"
	instance2 = "arn:aws:sso:::instance/ssoins-3333cccc4444dddd"
	store1    = "d-1111111111"
	store2    = "d-2222222222"

	acct1      = "111111111111"
	acct2      = "222222222222"
	acct3      = "333333333333" // in the security OU: outside B's boundary
	protected1 = "999999999999" // in the workload OU, but protected
	management = "000000000000" // protected
	acct4      = "444444444444"
	acct5      = "555555555555"

	ouWork1 = "ou-aaaa-workload1"
	ouSec1  = "ou-aaaa-security1"
	ouWork2 = "ou-cccc-workload1"
)

var protectedAccounts = []string{protected1, management}

// organizations maps each instance to its accounts' roots and OUs.
var organizations = map[string]map[string][]string{
	instance1: {
		acct1: {"r-aaaa", ouWork1}, acct2: {"r-aaaa", ouWork1}, protected1: {"r-aaaa", ouWork1},
		acct3: {"r-aaaa", ouSec1}, management: {"r-aaaa"},
	},
	instance2: {acct4: {"r-cccc", ouWork2}, acct5: {"r-cccc", ouWork2}},
}

// people are the users of both identity stores; frank is disabled now and
// then.
var people = []string{"ada", "carol", "dave", "alice", "bob", "frank"}

// permissionSet is a catalog permission set of an instance.
func permissionSet(instance, n string) string {
	return fmt.Sprintf("arn:aws:sso:::permissionSet/%s/ps-%016s", instance[strings.LastIndex(instance, "/")+1:], n)
}

// tenant is a simulated tenant and its people.
type tenant struct {
	id, label  string
	instance   string
	store      string
	roots      []string
	ou         string
	accounts   []string // what people ask for, outside the boundary included
	ro, admin  string
	data, alt  string
	assignable []string
	adminP     access.Principal
	approvers  []access.Principal
	requesters []access.Principal
	standing   []access.AssignmentKey
	catalogAlt bool // the catalog maps Admin to the alternative set
}

func newTenant(label, id, instance, store string, roots []string, ou string, accounts []string, withAlt bool) *tenant {
	t := &tenant{id: id, label: label, instance: instance, store: store, roots: roots, ou: ou, accounts: accounts,
		ro: permissionSet(instance, "1"), admin: permissionSet(instance, "2"), data: permissionSet(instance, "3"), alt: permissionSet(instance, "4")}
	t.assignable = []string{t.ro, t.admin, t.data}
	if withAlt {
		t.assignable = append(t.assignable, t.alt)
	}
	p := func(name string, role access.Role, groups ...string) access.Principal {
		return access.Principal{TenantID: id, ID: name, Kind: access.PrincipalUser, Role: role, Groups: groups}
	}
	t.adminP = p("ada", access.RoleAdmin, "platform-admins")
	t.approvers = []access.Principal{p("carol", access.RoleApprover, "approvers"), p("dave", access.RoleApprover, "approvers")}
	t.requesters = []access.Principal{p("alice", access.RoleRequester, "engineering", "oncall"), p("bob", access.RoleRequester, "engineering"), p("frank", access.RoleRequester, "engineering")}
	return t
}

// catalog is the tenant's action catalog.
func (t *tenant) catalog() access.Catalog {
	admin := t.admin
	if t.catalogAlt {
		admin = t.alt
	}
	return access.Catalog{
		access.ResourceAccount: {
			{Name: "ReadOnly", Description: "Read-only access", PermissionSetARN: t.ro},
			{Name: "Admin", Description: "Administrator access", PermissionSetARN: admin},
		},
		access.ResourceOrganizationalUnit: {{Name: "ReadOnly", Description: "Read-only access to the OU", PermissionSetARN: t.ro}},
		access.ResourcePermissionSet:      {{Name: "DataEngineer", Description: "Data engineering", PermissionSetARN: t.data}},
		access.ResourceS3Bucket:           {{Name: "read", Description: "Read objects"}, {Name: "write", Description: "Write objects"}},
	}
}

// policyTexts are the policy sets tenant admins switch between: the
// default, one that asks two approvers, one that approves nothing
// automatically.
var policyTexts = []string{
	policy.DefaultText,
	strings.Replace(policy.DefaultText, `@approvals("1")`, `@approvals("2")`, 1),
	strings.Replace(policy.DefaultText, `@approval("auto")`, `@approval("require")`, 1),
}

// setup creates the organizations, users, standing access and tenants.
func (w *world) setup() error {
	for inst, org := range organizations {
		w.ic.orgs[inst] = org
	}
	for _, st := range []string{store1, store2} {
		w.ic.users[st] = map[string]bool{}
		for _, n := range people {
			w.ic.users[st][n] = true
		}
	}
	a := newTenant("A", "a0000000-0000-4000-8000-00000000000a", instance1, store1, []string{"r-aaaa"}, ouWork1, []string{acct1, acct2, acct3}, true)
	b := newTenant("B", "b0000000-0000-4000-8000-00000000000b", instance1, store1, []string{ouWork1}, ouWork1, []string{acct1, acct2, acct3}, false)
	c := newTenant("C", "c0000000-0000-4000-8000-00000000000c", instance2, store2, []string{"r-cccc"}, ouWork2, []string{acct4, acct5}, true)
	a.standing = []access.AssignmentKey{
		{InstanceARN: instance1, PrincipalID: userID(store1, "alice"), AccountID: acct1, PermissionSetARN: a.ro},
		{InstanceARN: instance1, PrincipalID: userID(store1, "bob"), AccountID: acct2, PermissionSetARN: a.admin},
	}
	c.standing = []access.AssignmentKey{{InstanceARN: instance2, PrincipalID: userID(store2, "alice"), AccountID: acct4, PermissionSetARN: c.ro}}
	w.tenants = []*tenant{a, b, c}
	w.labels[instance1], w.labels[instance2] = "i1", "i2"
	for _, t := range w.tenants {
		w.labels[t.id] = t.label
		for _, n := range people {
			w.labels[userID(t.store, n)] = n
		}
		for name, arn := range map[string]string{"ReadOnly": t.ro, "Admin": t.admin, "Data": t.data, "Alt": t.alt} {
			w.labels[arn] = name
		}
		for _, k := range t.standing {
			w.ic.present[k], w.ic.standing[k] = true, true
		}
		b := access.DefaultBoundary()
		b.InstanceARN, b.IdentityStoreID, b.IdentityMapping = t.instance, t.store, access.MapUserName
		b.AllowedRoots, b.Assignable = t.roots, t.assignable
		s := access.DefaultSettings()
		s.ApprovalWindow = approvalWindow
		in := access.NewTenantInput{ID: t.id, Name: "Tenant " + t.label, Boundary: &b, Settings: &s, Catalog: t.catalog()}
		if _, err := w.op.CreateTenant(w.ctx, in); err != nil {
			return fmt.Errorf("create tenant %s: %w", t.label, err)
		}
	}
	return nil
}

// approvalWindow is every simulated tenant's approval window.
const approvalWindow = 30 * time.Minute
