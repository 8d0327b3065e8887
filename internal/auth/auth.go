// Package auth decides who is calling, for which tenant and with which role:
// it checks the X-Tenant-ID header and exactly one credential, an Elevate API
// key or a tenant's IdP-issued JWT, and returns an access.Principal or an
// *access.Error whose code the API maps to 400, 401 or 403 (docs/design.md, "Who may do what").
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// KeyStore finds stored API keys by key id; a missing key is an error that
// matches access.ErrNotFound.
type KeyStore interface {
	GetAPIKey(ctx context.Context, id string) (access.APIKey, error)
}

// TenantStore reads tenants and finds the tenant that owns a JWT issuer and
// audience; missing ones are errors that match access.ErrNotFound.
type TenantStore interface {
	GetTenant(ctx context.Context, id string) (access.Tenant, error)
	TenantIDForIssuer(ctx context.Context, issuer, audience string) (string, error)
}

// Config wires an Authenticator; Keys and Tenants are required, the rest has
// defaults.
type Config struct {
	Keys    KeyStore
	Tenants TenantStore
	// Now is the clock; it defaults to time.Now.
	Now func() time.Time
	// KeyCacheTTL is how long a looked-up API key is reused: 0 means
	// DefaultKeyCacheTTL, longer than MaxKeyCacheTTL is cut to it, and a
	// negative value disables the cache.
	KeyCacheTTL time.Duration
	// KeyCacheSize bounds the cached keys; 0 means DefaultKeyCacheSize.
	KeyCacheSize int
	// NegativeCacheTTL is how long an unknown key id is remembered: 0 means
	// DefaultNegativeCacheTTL; it never exceeds KeyCacheTTL.
	NegativeCacheTTL time.Duration
	// HTTPClient fetches JWKS documents; nil means a default client. Whatever
	// is given, the timeout is cut to JWKSFetchTimeout, only https is spoken
	// and bodies are capped at MaxJWKSSize. Tests pass an httptest TLS
	// server's client here.
	HTTPClient *http.Client
	// JWKSMaxAge is how long a fetched key set is used before it is fetched
	// again on demand; 0 means DefaultJWKSMaxAge.
	JWKSMaxAge time.Duration
	// JWKSHosts, when set, is the operator's allow-list of identity provider
	// hosts JWKS documents may come from.
	JWKSHosts []string
	// AllowPrivateJWKS lets JWKS fetches reach loopback and private
	// addresses: for local development against a local IdP, and tests. In a
	// deployment fetches reach public internet addresses only.
	AllowPrivateJWKS bool
}

// Authenticator resolves the caller of an API request. It is safe for
// concurrent use and starts no goroutines.
type Authenticator struct {
	keyStore KeyStore
	tenants  TenantStore
	now      func() time.Time
	keys     *keyCache
	jwks     *jwksCache
}

// New builds an Authenticator from cfg.
func New(cfg Config) *Authenticator {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	ttl := cfg.KeyCacheTTL
	switch {
	case ttl == 0:
		ttl = DefaultKeyCacheTTL
	case ttl < 0:
		ttl = 0
	case ttl > MaxKeyCacheTTL:
		ttl = MaxKeyCacheTTL
	}
	neg := cfg.NegativeCacheTTL
	if neg <= 0 {
		neg = DefaultNegativeCacheTTL
	}
	neg = min(neg, ttl)
	size := cfg.KeyCacheSize
	if size <= 0 {
		size = DefaultKeyCacheSize
	}
	maxAge := cfg.JWKSMaxAge
	if maxAge <= 0 {
		maxAge = DefaultJWKSMaxAge
	}
	return &Authenticator{
		keyStore: cfg.Keys,
		tenants:  cfg.Tenants,
		now:      now,
		keys:     newKeyCache(cfg.Keys, now, ttl, neg, size),
		jwks:     newJWKSCache(jwksClient(cfg.HTTPClient, cfg.AllowPrivateJWKS), now, maxAge, cfg.JWKSHosts),
	}
}

// Authenticate resolves the caller from the raw X-Tenant-ID, X-API-Key and
// Authorization header values.
func (a *Authenticator) Authenticate(ctx context.Context, tenantHeader, apiKeyHeader, authorizationHeader string) (access.Principal, error) {
	tenantHeader = strings.TrimSpace(tenantHeader)
	if !access.ValidTenantID(tenantHeader) {
		return access.Principal{}, access.Errorf(access.CodeInvalidTenantID, "X-Tenant-ID must be a tenant id (a UUID)")
	}
	tenantID := access.CanonicalTenantID(tenantHeader)
	apiKey := strings.TrimSpace(apiKeyHeader)
	authz := strings.TrimSpace(authorizationHeader)
	switch {
	case apiKey == "" && authz == "":
		return access.Principal{}, access.Errorf(access.CodeUnauthenticated,
			"no credential: send an X-API-Key header or an Authorization: Bearer token")
	case apiKey != "" && authz != "":
		return access.Principal{}, access.Errorf(access.CodeUnauthenticated,
			"send exactly one credential: X-API-Key or Authorization, not both")
	case apiKey != "":
		return a.authenticateKey(ctx, tenantID, apiKey)
	}
	token, ok := bearerToken(authz)
	if !ok {
		return access.Principal{}, access.Errorf(access.CodeUnauthenticated,
			"the Authorization header must be of the form Bearer <token>")
	}
	return a.authenticateJWT(ctx, tenantID, token)
}

// ForgetKey drops a cached API key, so a key revoked through this process
// stops working here at once (other processes stop within the cache's TTL).
func (a *Authenticator) ForgetKey(id string) { a.keys.forget(id) }

// bearerToken extracts the token of "Bearer <token>"; the scheme is
// case-insensitive (RFC 7235).
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

// authenticateKey checks an API key. Every reason a key is not accepted gets
// the same message, so a caller learns nothing about which key ids exist.
func (a *Authenticator) authenticateKey(ctx context.Context, tenantID, full string) (access.Principal, error) {
	if a.keyStore == nil {
		return access.Principal{}, internal(errors.New("auth: no KeyStore configured"))
	}
	id, secret, ok := ParseAPIKey(full)
	if !ok {
		return access.Principal{}, invalidKey(errors.New("malformed API key"))
	}
	key, found, err := a.keys.get(ctx, id)
	if err != nil {
		return access.Principal{}, internal(fmt.Errorf("look up API key %s: %w", id, err))
	}
	switch {
	case !found:
		return access.Principal{}, invalidKey(fmt.Errorf("API key %s not found", id))
	case !secretMatches(key.SecretHash, secret):
		return access.Principal{}, invalidKey(fmt.Errorf("API key %s: wrong secret", id))
	case !key.Usable(a.now()):
		return access.Principal{}, invalidKey(fmt.Errorf("API key %s is revoked or expired", id))
	case key.ID != id || !key.Role.Valid() || key.PrincipalID == "" ||
		(key.PrincipalKind != access.PrincipalUser && key.PrincipalKind != access.PrincipalService):
		// A stored key that is not well-formed fails closed.
		return access.Principal{}, invalidKey(fmt.Errorf("API key %s: stored key is malformed", id))
	case access.CanonicalTenantID(key.TenantID) != tenantID:
		e := a.mismatch(ctx, tenantID, "this API key belongs to another tenant")
		e.Cause = fmt.Errorf("API key %s of tenant %s used for tenant %s", id, key.TenantID, tenantID)
		return access.Principal{}, e
	}
	return access.Principal{
		TenantID: tenantID,
		ID:       key.PrincipalID,
		Kind:     key.PrincipalKind,
		Role:     key.Role,
		Groups:   key.Groups,
		KeyID:    key.ID,
	}, nil
}

// mismatch is the error of a valid credential of another tenant. When the
// X-Tenant-ID names no tenant at all (a typo, most likely), it says so; the
// credential is genuine, so its holder learns only what the header they
// sent already told them.
func (a *Authenticator) mismatch(ctx context.Context, tenantID, message string) *access.Error {
	if _, err := a.tenants.GetTenant(ctx, tenantID); errors.Is(err, access.ErrNotFound) {
		message = "no tenant " + tenantID + " exists (check X-Tenant-ID); " + message
	}
	return access.Errorf(access.CodeTenantMismatch, "%s", message)
}

func invalidKey(cause error) error {
	e := access.Errorf(access.CodeUnauthenticated, "invalid API key")
	e.Cause = cause
	return e
}

// internal is a failure of Elevate or its store; the cause is for logs only.
func internal(cause error) error {
	return &access.Error{Code: access.CodeInternal, Message: "internal error", Cause: cause}
}
