package access

import "slices"

// checkTarget enforces the tenant boundary and the protected accounts for a
// resource, whatever the policies say. ancestors are the organization root
// and OUs above the resource's account (or above the OU itself).
func (s *core) checkTarget(t Tenant, r Resource, ancestors []string) error {
	if acct := r.TargetAccount(); acct != "" && s.protected[acct] {
		return Errorf(CodeForbidden, "account %s is protected: Elevate never grants access to it", acct)
	}
	if !t.Boundary.Configured() {
		return Errorf(CodeForbidden, "this tenant has no Identity Center boundary (instance and allowed roots); the operator must set it first (elevate tenant update)")
	}
	if !inRoots(t.Boundary.AllowedRoots, r, ancestors) || !inRoots(t.AllowedRoots(), r, ancestors) {
		what := "account " + r.TargetAccount()
		if r.Type == ResourceOrganizationalUnit {
			what = "organizational unit " + r.ID
		}
		return Errorf(CodeForbidden, "%s is outside this tenant's allowed roots", what)
	}
	return nil
}

// inRoots reports whether the resource's account (or the OU) or one of its
// ancestors is one of the roots. A target must be within both the operator's
// ceiling and the tenant's narrowing of it (which a later, smaller ceiling
// may have left behind).
func inRoots(roots []string, r Resource, ancestors []string) bool {
	self := r.TargetAccount()
	if r.Type == ResourceOrganizationalUnit {
		self = r.ID
	}
	if slices.Contains(roots, self) {
		return true
	}
	for _, a := range ancestors {
		if slices.Contains(roots, a) {
			return true
		}
	}
	return false
}

// accountAllowed checks one account an OU expanded to: inside the boundary
// and not protected.
func (s *core) accountAllowed(t Tenant, account string, ancestors []string) bool {
	r := Resource{Type: ResourceAccount, ID: account}
	return !s.protected[account] && inRoots(t.Boundary.AllowedRoots, r, ancestors) && inRoots(t.AllowedRoots(), r, ancestors)
}
