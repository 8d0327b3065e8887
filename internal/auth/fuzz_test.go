package auth

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/elevate-jit/elevate/internal/access"
)

// fuzzKey is a fixed API key of tenantA, so seeds on disk can name it.
func fuzzKey(tenant string, b byte, edit func(*access.APIKey)) (full string, k access.APIKey) {
	id := keyEncoding.EncodeToString(bytes.Repeat([]byte{b}, keyIDBytes))
	secret := keyEncoding.EncodeToString(bytes.Repeat([]byte{b + 1}, secretBytes))
	k = access.APIKey{ID: id, TenantID: tenant, Name: "fuzz", Role: access.RoleApprover, PrincipalID: "alice",
		PrincipalKind: access.PrincipalUser, SecretHash: HashSecret(secret), CreatedAt: t0.Add(-time.Hour)}
	if edit != nil {
		edit(&k)
	}
	return apiKeyPrefix + id + "_" + secret, k
}

// FuzzParseAPIKey parses arbitrary X-API-Key values and authenticates with
// them. ParseAPIKey accepts exactly the canonical spelling of an id and a
// secret; Authenticate answers only unauthenticated or tenant_mismatch, and
// lets in only the stored key. Seeds are in testdata/fuzz/FuzzParseAPIKey;
// they name the keys fuzzKey makes (bytes 0x01, 0x03 and 0x05).
func FuzzParseAPIKey(f *testing.F) {
	keys := newFakeKeys()
	good, k := fuzzKey(tenantA, 0x01, nil)
	keys.put(k)
	other, k := fuzzKey(tenantB, 0x03, nil)
	keys.put(k)
	revoked, k := fuzzKey(tenantA, 0x05, func(k *access.APIKey) { k.RevokedAt = t0.Add(-time.Minute) })
	keys.put(k)
	a := New(Config{Keys: keys, Tenants: &fakeTenants{}, Now: func() time.Time { return t0 }})
	if _, err := a.Authenticate(context.Background(), tenantA, good, ""); err != nil {
		f.Fatalf("the stored key does not authenticate: %v", err)
	}
	for _, s := range []string{good, other, revoked} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := ParseAPIKey(s)
		if !ok {
			if id != "" || secret != "" {
				t.Fatalf("ParseAPIKey(%q) refused but returned %q, %q", s, id, secret)
			}
		} else {
			if s != apiKeyPrefix+id+"_"+secret {
				t.Fatalf("ParseAPIKey(%q) = %q, %q: not the key's parts", s, id, secret)
			}
			for _, part := range []struct {
				s string
				n int
			}{{id, keyIDBytes}, {secret, secretBytes}} {
				b, err := keyEncoding.DecodeString(part.s)
				if err != nil || len(b) != part.n || keyEncoding.EncodeToString(b) != part.s {
					t.Fatalf("ParseAPIKey(%q) accepted %q, which is not the one spelling of %d bytes", s, part.s, part.n)
				}
			}
		}

		p, err := a.Authenticate(context.Background(), tenantA, s, "")
		if err != nil {
			var e *access.Error
			if !errors.As(err, &e) || (e.Code != access.CodeUnauthenticated && e.Code != access.CodeTenantMismatch) {
				t.Fatalf("Authenticate with key %q = %v, want unauthenticated or tenant_mismatch", s, err)
			}
			return
		}
		if strings.TrimSpace(s) != good || p.ID != "alice" || p.TenantID != tenantA {
			t.Fatalf("Authenticate let in key %q as %+v", s, p)
		}
	})
}

// FuzzAuthenticateJWT authenticates with arbitrary bearer tokens against
// tenants whose keys a local identity provider serves. Whatever the header
// and claims say, the answer is a principal of the header's tenant, or
// unauthenticated, forbidden or tenant_mismatch: never internal, never a
// panic. Seeds in code are tokens signed for this run; those on disk
// (testdata/fuzz/FuzzAuthenticateJWT) are malformed headers and claims.
func FuzzAuthenticateJWT(f *testing.F) {
	testKeys(f)
	sets := map[string][]byte{
		"/a": jwksJSON(f, 0, jwk{kidRSA, &rsaKey.PublicKey, jwkset.AlgRS256}, jwk{kidEC, &ecKey.PublicKey, jwkset.AlgES256}),
		"/b": jwksJSON(f, 0, jwk{kidB, &rsaB.PublicKey, jwkset.AlgRS256}),
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := sets[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	f.Cleanup(srv.Close)
	tenants := &fakeTenants{tenants: map[string]access.Tenant{
		tenantA: {ID: tenantA, Settings: access.Settings{
			JWT:        access.JWTSettings{Issuer: issuerA, Audience: audA, JWKSURL: srv.URL + "/a", GroupsClaim: "groups"},
			GroupRoles: map[string]access.Role{"eng": access.RoleRequester, "platform-admins": access.RoleAdmin},
		}},
		tenantB: {ID: tenantB, Settings: access.Settings{
			JWT:        access.JWTSettings{Issuer: issuerB, Audience: audB, JWKSURL: srv.URL + "/b", GroupsClaim: "roles"},
			GroupRoles: map[string]access.Role{"eng": access.RoleAdmin},
		}},
	}}
	a := New(Config{Keys: newFakeKeys(), Tenants: tenants, Now: func() time.Time { return t0 }, HTTPClient: srv.Client(), AllowPrivateJWKS: true}) // the IdP listens on loopback

	valid := sign(f, jwt.SigningMethodRS256, rsaKey, kidRSA, claimsA())
	if _, err := a.Authenticate(context.Background(), tenantA, "", "Bearer "+valid); err != nil {
		f.Fatalf("a valid token does not authenticate: %v", err)
	}
	f.Add(valid)
	f.Add(sign(f, jwt.SigningMethodES256, ecKey, kidEC, with(claimsA(), "groups", "platform-admins", "aud", []any{"x", audA})))
	f.Add(sign(f, jwt.SigningMethodRS256, rsaB, kidB, with(claimsA(), "iss", issuerB, "aud", audB, "roles", []any{"eng"})))
	f.Add(sign(f, jwt.SigningMethodRS256, rsaKey, kidRSA, with(claimsA(), "groups", []any{1, nil, map[string]any{}}, "sub", strings.Repeat("s", 300))))
	f.Add(sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kidRSA, claimsA()))
	f.Fuzz(func(t *testing.T, token string) {
		p, err := a.Authenticate(context.Background(), tenantA, "", "Bearer "+token)
		if err != nil {
			var e *access.Error
			allowed := []access.Code{access.CodeUnauthenticated, access.CodeForbidden, access.CodeTenantMismatch}
			if !errors.As(err, &e) || !slices.Contains(allowed, e.Code) {
				t.Fatalf("Authenticate(%q) = %v, want unauthenticated, forbidden or tenant_mismatch", token, err)
			}
			return
		}
		if p.TenantID != tenantA || !p.Role.Valid() || !validSubject(p.ID) || p.Kind != access.PrincipalUser || p.KeyID != "" {
			t.Fatalf("Authenticate(%q) = %+v", token, p)
		}
	})
}
