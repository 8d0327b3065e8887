package access

import (
	"context"
	"errors"
	"fmt"
)

// Identities. Elevate compares people, not spellings: a requester, grantee
// or approver is resolved, through the tenant's identity mapping, to the
// Identity Store user it names when a request or grant is made and when
// someone decides it, and every "not yourself" rule compares those users
// (and principals by kind and id). A grantee must resolve; a caller may not
// (an admin without Identity Center access), and then only its own
// principal id counts.

// resolveCaller returns the caller as a person, with the Identity Store
// user it resolves to. Service principals resolve to none.
func (s *core) resolveCaller(ctx context.Context, t Tenant, p Principal) (Person, error) {
	person := p.Person()
	if p.IsService() {
		return person, nil
	}
	id, err := s.ic.ResolveUser(ctx, t, p.ID)
	switch {
	case errors.Is(err, ErrUserNotFound):
		return person, nil
	case err != nil:
		return person, fmt.Errorf("resolve %s: %w", p.ID, err)
	}
	person.UserID = id
	return person, nil
}

// resolveGrantee returns a grantee as a person. A grantee without an active
// Identity Store user is refused: 400 validation_failed on grantee_id.
func (s *core) resolveGrantee(ctx context.Context, t Tenant, granteeID string) (Person, error) {
	id, err := s.ic.ResolveUser(ctx, t, granteeID)
	switch {
	case errors.Is(err, ErrUserNotFound):
		return Person{}, Invalid("grantee_id", "%q has no active Identity Center user (matched by %s)", granteeID, t.Boundary.IdentityMapping)
	case err != nil:
		return Person{}, fmt.Errorf("resolve grantee %s: %w", granteeID, err)
	}
	return Person{Kind: PrincipalUser, ID: granteeID, UserID: id}, nil
}

// resolveParties resolves the caller and the grantee of a request or grant.
func (s *core) resolveParties(ctx context.Context, t Tenant, p Principal, granteeID string) (caller, grantee Person, err error) {
	if caller, err = s.resolveCaller(ctx, t, p); err != nil {
		return caller, grantee, err
	}
	grantee, err = s.resolveGrantee(ctx, t, granteeID)
	return caller, grantee, err
}
