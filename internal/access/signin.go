package access

import (
	"context"
	"errors"
)

// SignIn is what the console needs to sign a person in to a tenant with
// its identity provider: all of it public (the client is a public one, with
// PKCE and no secret).
type SignIn struct {
	Issuer, Audience, ClientID, AuthorizationEndpoint string
}

// SignInSettings answers the OIDC sign-in settings of a tenant to anyone:
// the console asks before anyone is signed in. A tenant without a console
// client and a tenant that does not exist get the same empty answer, so
// the call does not tell which tenant ids exist.
func (s *Service) SignInSettings(ctx context.Context, tenantID string) (SignIn, error) {
	if !ValidTenantID(tenantID) {
		return SignIn{}, Invalid("id", "must be a tenant id (a UUID)")
	}
	t, err := s.store.GetTenant(ctx, CanonicalTenantID(tenantID))
	if errors.Is(err, ErrNotFound) {
		return SignIn{}, nil
	}
	if err != nil {
		return SignIn{}, err
	}
	j := t.Settings.JWT
	if !j.Enabled() || j.ClientID == "" {
		return SignIn{}, nil
	}
	return SignIn{Issuer: j.Issuer, Audience: j.Audience, ClientID: j.ClientID, AuthorizationEndpoint: j.AuthorizationEndpoint}, nil
}
