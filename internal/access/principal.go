package access

import "slices"

// Role is what a principal may do in its tenant. Roles are ordered: an admin
// can do what an approver can, an approver what a requester can.
type Role string

// The roles of DESIGN §2.
const (
	RoleRequester Role = "requester"
	RoleApprover  Role = "approver"
	RoleAdmin     Role = "admin"
)

var roleRank = map[Role]int{RoleRequester: 1, RoleApprover: 2, RoleAdmin: 3}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return roleRank[r] > 0 }

// AtLeast reports whether r grants everything min grants.
func (r Role) AtLeast(min Role) bool { return roleRank[r] >= roleRank[min] && r.Valid() }

// PrincipalKind tells a human user from a service principal.
type PrincipalKind string

// The kinds of principal. A service principal acts through an API key and can
// be neither grantee nor approver.
const (
	PrincipalUser    PrincipalKind = "user"
	PrincipalService PrincipalKind = "service"
)

// Principal is the authenticated caller of one API call.
type Principal struct {
	TenantID string
	ID       string
	Kind     PrincipalKind
	Role     Role
	Groups   []string
	// KeyID is set when the caller authenticated with an API key.
	KeyID string
}

// IsService reports whether the caller is a service principal.
func (p Principal) IsService() bool { return p.Kind == PrincipalService }

// InGroup reports whether the principal is a member of group.
func (p Principal) InGroup(group string) bool { return slices.Contains(p.Groups, group) }
