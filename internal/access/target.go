package access

import "slices"

// checkTarget enforces the tenant boundary and the protected accounts for a
// resource, whatever the policies say. ancestors are the organization root
// and OUs above the resource's account (or above the OU itself).
func (s *core) checkTarget(t Tenant, r Resource, ancestors []string) error {
	if acct := r.TargetAccount(); acct != "" && s.protected[acct] {
		return Errorf(CodeForbidden, "account %s is protected: Elevate never grants access to it", acct)
	}
	b := t.Settings.Boundary
	if b.InstanceARN == "" || len(b.AllowedRoots) == 0 {
		return Errorf(CodeForbidden, "this tenant has no Identity Center boundary configured (instance and allowed roots); an admin must set it first")
	}
	if !inBoundary(b, r, ancestors) {
		what := "account " + r.TargetAccount()
		if r.Type == ResourceOrganizationalUnit {
			what = "organizational unit " + r.ID
		}
		return Errorf(CodeForbidden, "%s is outside this tenant's allowed roots", what)
	}
	return nil
}

// inBoundary reports whether the resource's account (or the OU) or one of its
// ancestors is an allowed root.
func inBoundary(b Boundary, r Resource, ancestors []string) bool {
	self := r.TargetAccount()
	if r.Type == ResourceOrganizationalUnit {
		self = r.ID
	}
	if slices.Contains(b.AllowedRoots, self) {
		return true
	}
	for _, a := range ancestors {
		if slices.Contains(b.AllowedRoots, a) {
			return true
		}
	}
	return false
}

// accountAllowed checks one account an OU expanded to: inside the boundary
// and not protected.
func (s *core) accountAllowed(b Boundary, account string, ancestors []string) bool {
	return !s.protected[account] && inBoundary(b, Resource{Type: ResourceAccount, ID: account}, ancestors)
}
