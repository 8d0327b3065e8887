package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/elevate-jit/elevate/internal/access"
)

// JWT verification limits.
const (
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway         = 30 * time.Second
	maxTokenLen    = 16 << 10
	maxSubjectLen  = 256
	maxClaimLen    = 512 // longest issuer or audience a tenant may configure
	maxRoutingAuds = 5
)

// allowedAlgs are the only signing algorithms accepted: never none or HMAC.
var allowedAlgs = []string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()}

// authenticateJWT verifies a bearer token against the header tenant's JWT
// settings. A token issued for another tenant is verified with that tenant's
// settings and, only if it is valid, reported as tenant_mismatch.
func (a *Authenticator) authenticateJWT(ctx context.Context, tenantID, raw string) (access.Principal, error) {
	if a.tenants == nil {
		return access.Principal{}, internal(errors.New("auth: no TenantStore configured"))
	}
	if len(raw) > maxTokenLen {
		return access.Principal{}, invalidToken(fmt.Errorf("token is longer than %d bytes", maxTokenLen))
	}
	// Issuer and audience are read unverified only to choose the tenant whose
	// keys verify the token; nothing else is taken from them.
	var peek jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &peek); err != nil {
		return access.Principal{}, invalidToken(err)
	}

	tenant, err := a.tenants.GetTenant(ctx, tenantID)
	switch {
	case errors.Is(err, access.ErrNotFound):
		return access.Principal{}, invalidToken(fmt.Errorf("tenant %s does not exist", tenantID))
	case err != nil:
		return access.Principal{}, internal(fmt.Errorf("get tenant %s: %w", tenantID, err))
	}
	settings := tenant.Settings.JWT

	ownToken := settings.Enabled() && peek.Issuer == settings.Issuer && slices.Contains(peek.Audience, settings.Audience)
	if !ownToken {
		owner, err := a.issuerOwner(ctx, peek.Issuer, peek.Audience)
		if err != nil {
			return access.Principal{}, internal(err)
		}
		if owner != "" && owner != tenantID {
			return access.Principal{}, a.foreignToken(ctx, tenantID, owner, raw)
		}
	}
	if !settings.Enabled() {
		return access.Principal{}, invalidToken(fmt.Errorf("tenant %s has no JWT settings", tenantID))
	}

	claims, err := a.verify(ctx, settings, raw)
	if err != nil {
		return access.Principal{}, invalidToken(err)
	}
	sub, _ := claims.GetSubject()
	if !validSubject(sub) {
		return access.Principal{}, invalidToken(errors.New("token has no valid sub claim"))
	}
	claim := settings.GroupsClaim
	if claim == "" {
		claim = access.DefaultGroupsClaim
	}
	groups := groupsOf(claims[claim])
	role, ok := highestRole(groups, tenant.Settings.GroupRoles)
	if !ok {
		e := access.Errorf(access.CodeForbidden, "no Elevate role is mapped to your groups")
		e.Cause = fmt.Errorf("user %q of tenant %s: no role for groups %q in claim %q", sub, tenantID, groups, claim)
		return access.Principal{}, e
	}
	return access.Principal{
		TenantID: tenantID,
		ID:       sub,
		Kind:     access.PrincipalUser,
		Role:     role,
		Groups:   groups,
	}, nil
}

// issuerOwner returns the tenant whose JWT settings name this issuer and one
// of these audiences, or "" when none does.
func (a *Authenticator) issuerOwner(ctx context.Context, issuer string, audiences []string) (string, error) {
	if issuer == "" || len(issuer) > maxClaimLen {
		return "", nil
	}
	for i, aud := range audiences {
		if i == maxRoutingAuds {
			break
		}
		if aud == "" || len(aud) > maxClaimLen {
			continue
		}
		id, err := a.tenants.TenantIDForIssuer(ctx, issuer, aud)
		switch {
		case errors.Is(err, access.ErrNotFound):
			continue
		case err != nil:
			return "", fmt.Errorf("find tenant of JWT issuer: %w", err)
		}
		return access.CanonicalTenantID(id), nil
	}
	return "", nil
}

// foreignToken verifies a token with the settings of the tenant that owns its
// issuer: a valid one is tenant_mismatch, anything else unauthenticated.
func (a *Authenticator) foreignToken(ctx context.Context, tenantID, ownerID, raw string) error {
	owner, err := a.tenants.GetTenant(ctx, ownerID)
	switch {
	case errors.Is(err, access.ErrNotFound):
		return invalidToken(fmt.Errorf("issuer's tenant %s does not exist", ownerID))
	case err != nil:
		return internal(fmt.Errorf("get tenant %s: %w", ownerID, err))
	case !owner.Settings.JWT.Enabled():
		return invalidToken(fmt.Errorf("issuer's tenant %s has no JWT settings", ownerID))
	}
	if _, err := a.verify(ctx, owner.Settings.JWT, raw); err != nil {
		return invalidToken(fmt.Errorf("token of tenant %s: %w", ownerID, err))
	}
	e := a.mismatch(ctx, tenantID, "this bearer token belongs to another tenant")
	e.Cause = fmt.Errorf("token of tenant %s used for tenant %s", ownerID, tenantID)
	return e
}

// verify checks the token's signature with the keys at the JWKS URL and its
// algorithm, exp (required), nbf, iat, iss and aud.
func (a *Authenticator) verify(ctx context.Context, s access.JWTSettings, raw string) (jwt.MapClaims, error) {
	keyfunc, err := a.jwks.keyfunc(ctx, s.JWKSURL)
	if err != nil {
		return nil, err
	}
	p := jwt.NewParser(
		jwt.WithValidMethods(allowedAlgs),
		jwt.WithIssuer(s.Issuer),
		jwt.WithAudience(s.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(a.now),
		jwt.WithStrictDecoding(),
	)
	claims := jwt.MapClaims{}
	if _, err := p.ParseWithClaims(raw, claims, keyfunc); err != nil {
		return nil, err
	}
	return claims, nil
}

func validSubject(sub string) bool {
	if sub == "" || len(sub) > maxSubjectLen || !utf8.ValidString(sub) || access.ReservedPrincipal(sub) {
		return false
	}
	for _, r := range sub {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// groupsOf reads a groups claim: an array of strings or a single string.
// Non-string members are ignored.
func groupsOf(v any) []string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []any:
		groups := make([]string, 0, len(v))
		for _, g := range v {
			if s, ok := g.(string); ok && s != "" {
				groups = append(groups, s)
			}
		}
		return groups
	}
	return nil
}

// highestRole returns the highest role any group maps to.
func highestRole(groups []string, mapping map[string]access.Role) (access.Role, bool) {
	var best access.Role
	for _, g := range groups {
		if r := mapping[g]; r.Valid() && (best == "" || r.AtLeast(best)) {
			best = r
		}
	}
	return best, best != ""
}

// invalidToken is the one client message for every bearer token problem; the
// cause is for logs.
func invalidToken(cause error) error {
	e := access.Errorf(access.CodeUnauthenticated, "invalid bearer token")
	e.Cause = cause
	return e
}
