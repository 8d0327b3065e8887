package access_test

import (
	"testing"

	"github.com/elevate-jit/elevate/internal/access"
)

// A tenant admin cannot point Elevate's JWKS fetches at this machine, a
// private network or the cloud metadata service, nor, with the operator's
// allow-list, at a host outside it.
func TestJWKSURLOnlyOnPublicAllowedHosts(t *testing.T) {
	jwt := func(u string) access.TenantPatch {
		iss, aud := "https://idp.example.com/", "elevate"
		return access.TenantPatch{JWT: access.JWTPatch{Issuer: &iss, Audience: &aud, JWKSURL: &u}}
	}
	t.Run("private hosts", func(t *testing.T) {
		f := withTenant(t)
		for _, u := range []string{
			"https://127.0.0.1/keys", "https://127.0.0.1:8443/keys", "https://[::1]/keys", "https://localhost/keys",
			"https://169.254.169.254/latest/meta-data", "https://10.0.0.7/keys", "https://192.168.1.1/keys",
			"https://100.64.1.1/keys", "https://[fd00:ec2::254]/keys", "https://jwks.localhost/keys",
		} {
			_, err := f.svc.UpdateTenant(f.ctx, ada, jwt(u), nil)
			wantFields(t, err, "jwt.jwks_url")
		}
		must(f.svc.UpdateTenant(f.ctx, ada, jwt("https://idp.example.com/keys"), nil))(t)
	})
	t.Run("allow-list", func(t *testing.T) {
		f := withTenant(t, func(c *access.Config) { c.JWKSHosts = []string{"idp.example.com"} })
		_, err := f.svc.UpdateTenant(f.ctx, ada, jwt("https://evil.example.net/keys"), nil)
		wantFields(t, err, "jwt.jwks_url")
		must(f.svc.UpdateTenant(f.ctx, ada, jwt("https://IDP.example.com/keys"), nil))(t)
	})
	t.Run("local development", func(t *testing.T) {
		f := withTenant(t, func(c *access.Config) { c.AllowPrivateJWKS = true })
		must(f.svc.UpdateTenant(f.ctx, ada, jwt("https://127.0.0.1:8443/keys"), nil))(t)
	})
}
