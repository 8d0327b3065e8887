package e2e

import (
	"net/http"
	"testing"
)

type signIn struct {
	TenantID string `json:"tenant_id"`
	APIKeys  bool   `json:"api_keys"`
	OIDC     *struct {
		Issuer                string  `json:"issuer"`
		Audience              string  `json:"audience"`
		ClientID              string  `json:"client_id"`
		AuthorizationEndpoint *string `json:"authorization_endpoint"`
	} `json:"oidc"`
}

// The console's OIDC client is a tenant JWT setting; anyone may read how to
// sign in to a tenant, and an unknown tenant looks like one without OIDC.
func TestConsoleSignInSettings(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		var si signIn
		a.nobody.get("/v1/tenants/" + a.id + "/sign-in").want(http.StatusOK).decode(&si)
		if si.TenantID != a.id || !si.APIKeys || si.OIDC != nil {
			t.Fatalf("sign-in before a client is set = %+v", si)
		}
		var unknown signIn
		a.nobody.get("/v1/tenants/6f0d1c2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f/sign-in").want(http.StatusOK).decode(&unknown)
		if unknown.OIDC != nil || !unknown.APIKeys {
			t.Fatalf("unknown tenant = %+v", unknown)
		}
		a.nobody.get("/v1/tenants/acme/sign-in", invalid()).wantError(http.StatusBadRequest, "validation_failed")

		jwt := body{"issuer": "https://idp.example.com", "audience": "elevate-console", "jwks_url": "https://idp.example.com/jwks"}
		for _, c := range []struct {
			name  string
			jwt   body
			field string
		}{
			{"client without issuer", body{"client_id": "elevate-console"}, "jwt.issuer"},
			{"endpoint without client", jwt.with("authorization_endpoint", "https://idp.example.com/authorize"), "jwt.client_id"},
			{"http endpoint", jwt.with("client_id", "c").with("authorization_endpoint", "http://idp.example.com/authorize"), "jwt.authorization_endpoint"},
			{"client with spaces", jwt.with("client_id", "my client"), "jwt.client_id"},
		} {
			er := a.ada.do("PATCH", "/v1/tenant", body{"jwt": c.jwt}, invalid()).wantError(http.StatusBadRequest, "validation_failed")
			if _, ok := er.Details[c.field]; !ok {
				t.Errorf("%s: details %v do not name %s", c.name, er.Details, c.field)
			}
		}

		var tn struct {
			JWT map[string]any `json:"jwt"`
		}
		a.ada.do("PATCH", "/v1/tenant", body{"jwt": jwt.with("client_id", "elevate-console")}).want(http.StatusOK).decode(&tn)
		if tn.JWT["client_id"] != "elevate-console" || tn.JWT["authorization_endpoint"] != "" {
			t.Fatalf("patched jwt = %v", tn.JWT)
		}
		a.nobody.get("/v1/tenants/" + a.id + "/sign-in").want(http.StatusOK).decode(&si)
		if si.OIDC == nil || si.OIDC.Issuer != "https://idp.example.com" || si.OIDC.ClientID != "elevate-console" || si.OIDC.Audience != "elevate-console" || si.OIDC.AuthorizationEndpoint != nil {
			t.Fatalf("sign-in = %+v", si.OIDC)
		}
		a.ada.do("PATCH", "/v1/tenant", body{"jwt": body{"authorization_endpoint": "https://idp.example.com/oauth2/authorize"}}).want(http.StatusOK)
		a.nobody.get("/v1/tenants/" + a.id + "/sign-in").want(http.StatusOK).decode(&si)
		if si.OIDC == nil || si.OIDC.AuthorizationEndpoint == nil || *si.OIDC.AuthorizationEndpoint != "https://idp.example.com/oauth2/authorize" {
			t.Fatalf("sign-in with an endpoint = %+v", si.OIDC)
		}
		// Another tenant's answer is its own.
		e.globex.nobody.get("/v1/tenants/" + e.globex.id + "/sign-in").want(http.StatusOK).decode(&si)
		if si.OIDC != nil {
			t.Fatalf("globex sign-in = %+v", si.OIDC)
		}
	})
}
