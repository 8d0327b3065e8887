package access

import "slices"

// Role is what a principal may do in its tenant. Roles are ordered: an admin
// can do what an approver can, an approver what a requester can.
type Role string

// The roles (docs/design.md, "Who may do what").
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

// Person is someone Elevate compares: a principal's kind and id, and the
// Identity Store user it resolved to, if any. Two people are the same when
// they are the same principal, or resolve to the same Identity Store user,
// whatever the spelling of their ids.
type Person struct {
	Kind   PrincipalKind
	ID     string
	UserID string
}

// Same reports whether a and b are the same person.
func (a Person) Same(b Person) bool {
	return a.Is(b) || (a.UserID != "" && a.UserID == b.UserID)
}

// Is reports whether a and b are the same principal: the same kind and id.
// A service key named like a user is not that user. (Objects written before
// kinds were recorded have an empty kind, which is a user's.)
func (a Person) Is(b Person) bool {
	return a.ID == b.ID && kindOrUser(a.Kind) == kindOrUser(b.Kind)
}

func kindOrUser(k PrincipalKind) PrincipalKind {
	if k == "" {
		return PrincipalUser
	}
	return k
}

// Person is the caller as a person, before resolution.
func (p Principal) Person() Person { return Person{Kind: p.Kind, ID: p.ID} }
