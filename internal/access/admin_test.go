package access_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

func TestAPIKeys(t *testing.T) {
	f := withTenant(t)
	f.tenant(tenantB, nil)

	k, secret, err := f.svc.CreateAPIKey(f.ctx, ada, access.NewAPIKeyInput{
		Name: " deploy pipeline ", Role: access.RoleRequester, ServicePrincipal: "ci-deployer", Groups: []string{"deployers"},
		ExpiresAt: t0.Add(30 * 24 * time.Hour),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID == "" || k.TenantID != tenantA || k.Name != "deploy pipeline" || k.Role != access.RoleRequester || k.CreatedBy != "ada" {
		t.Errorf("key = %+v", k)
	}
	if k.PrincipalID != "ci-deployer" || k.PrincipalKind != access.PrincipalService || !slices.Equal(k.Groups, []string{"deployers"}) {
		t.Errorf("key acts for %s %q in %v", k.PrincipalKind, k.PrincipalID, k.Groups)
	}
	if !strings.HasPrefix(secret, "elv_"+k.ID+"_") || len(k.SecretHash) == 0 || strings.Contains(string(k.SecretHash), secret) {
		t.Errorf("secret %q for key %s (hash %d bytes)", secret, k.ID, len(k.SecretHash))
	}
	if ev, ok := f.findAudit(tenantA, k.ID, "api_key.created"); !ok || ev.Severity != access.SeverityHigh {
		t.Errorf("api_key.created = %+v (found %v)", ev, ok)
	}

	own := must3(f.svc.CreateAPIKey(f.ctx, ada, access.NewAPIKeyInput{Name: "my laptop", Role: access.RoleAdmin}, nil))(t)
	if own.PrincipalID != "ada" || own.PrincipalKind != access.PrincipalUser || !slices.Equal(own.Groups, ada.Groups) {
		t.Errorf("a key for oneself acts for %s %q in %v", own.PrincipalKind, own.PrincipalID, own.Groups)
	}

	got := must(f.svc.GetAPIKey(f.ctx, ada, k.ID))(t)
	if got.ID != k.ID || got.Name != k.Name {
		t.Errorf("GetAPIKey = %+v", got)
	}
	list := must(f.svc.ListAPIKeys(f.ctx, ada, access.PageRequest{Limit: 10}))(t)
	var ids []string
	for _, x := range list.Items {
		ids = append(ids, x.ID)
	}
	if !slices.Contains(ids, k.ID) || !slices.Contains(ids, own.ID) || len(ids) != 2 {
		t.Errorf("ListAPIKeys = %v, want %s and %s", ids, k.ID, own.ID)
	}

	t.Run("other tenant", func(t *testing.T) {
		other := user(tenantB, "ada", access.RoleAdmin)
		_, err := f.svc.GetAPIKey(f.ctx, other, k.ID)
		wantCode(t, err, access.CodeNotFound)
		_, err = f.svc.RevokeAPIKey(f.ctx, other, k.ID)
		wantCode(t, err, access.CodeNotFound)
		if got := must(f.svc.GetAPIKey(f.ctx, ada, k.ID))(t); !got.RevokedAt.IsZero() {
			t.Error("another tenant's admin revoked the key")
		}
		if l := must(f.svc.ListAPIKeys(f.ctx, other, access.PageRequest{Limit: 10}))(t); len(l.Items) != 0 {
			t.Errorf("another tenant lists %d keys", len(l.Items))
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		_, err := f.svc.GetAPIKey(f.ctx, ada, "nope")
		wantCode(t, err, access.CodeNotFound)
	})
	t.Run("non-admins", func(t *testing.T) {
		for _, p := range []access.Principal{carol, bob} {
			_, err := f.svc.GetAPIKey(f.ctx, p, k.ID)
			wantCode(t, err, access.CodeForbidden)
			_, err = f.svc.ListAPIKeys(f.ctx, p, access.PageRequest{Limit: 10})
			wantCode(t, err, access.CodeForbidden)
			_, _, err = f.svc.CreateAPIKey(f.ctx, p, access.NewAPIKeyInput{Name: "x", Role: access.RoleRequester}, nil)
			wantCode(t, err, access.CodeForbidden)
		}
		_, err := f.svc.RevokeAPIKey(f.ctx, carol, k.ID)
		wantCode(t, err, access.CodeForbidden)
	})
	t.Run("revoke", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		r := must(f.svc.RevokeAPIKey(f.ctx, ada, k.ID))(t)
		if !r.RevokedAt.Equal(t0.Add(time.Minute)) || r.RevokedBy != "ada" || r.Usable(f.clock.Now()) {
			t.Errorf("revoked key = %+v", r)
		}
		if got := must(f.svc.GetAPIKey(f.ctx, ada, k.ID))(t); got.RevokedAt.IsZero() {
			t.Error("the revocation was not stored")
		}
		f.clock.Advance(time.Minute)
		again := must(f.svc.RevokeAPIKey(f.ctx, ada, k.ID))(t)
		if !again.RevokedAt.Equal(r.RevokedAt) || again.Revision != r.Revision {
			t.Errorf("revoking twice changed the key: %v -> %v", r.RevokedAt, again.RevokedAt)
		}
		if ev, ok := f.findAudit(tenantA, k.ID, "api_key.revoked"); !ok || ev.Severity != access.SeverityHigh {
			t.Errorf("api_key.revoked = %+v (found %v)", ev, ok)
		}
	})
}

func TestCreateAPIKeyValidation(t *testing.T) {
	tests := []struct {
		name   string
		p      access.Principal
		in     access.NewAPIKeyInput
		code   access.Code
		fields []string
	}{
		{"unknown role", ada, access.NewAPIKeyInput{Name: "k", Role: "superadmin"}, access.CodeValidationFailed, []string{"role"}},
		{"no role", ada, access.NewAPIKeyInput{Name: "k"}, access.CodeValidationFailed, []string{"role"}},
		{"no name", ada, access.NewAPIKeyInput{Name: " ", Role: access.RoleRequester}, access.CodeValidationFailed, []string{"name"}},
		{"bad service principal", ada, access.NewAPIKeyInput{Name: "k", Role: access.RoleRequester, ServicePrincipal: "CI Bot"}, access.CodeValidationFailed, []string{"service_principal"}},
		{"groups on an own key", ada, access.NewAPIKeyInput{Name: "k", Role: access.RoleRequester, Groups: []string{"x"}}, access.CodeValidationFailed, []string{"groups"}},
		{"blank group", ada, access.NewAPIKeyInput{Name: "k", Role: access.RoleRequester, ServicePrincipal: "ci", Groups: []string{" x"}}, access.CodeValidationFailed, []string{"groups"}},
		{"expired", ada, access.NewAPIKeyInput{Name: "k", Role: access.RoleRequester, ExpiresAt: t0}, access.CodeValidationFailed, []string{"expires_at"}},
		{"service principal key for itself", robot, access.NewAPIKeyInput{Name: "k", Role: access.RoleRequester}, access.CodeForbidden, nil},
		{"approver", carol, access.NewAPIKeyInput{Name: "k", Role: access.RoleRequester}, access.CodeForbidden, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := withTenant(t)
			_, _, err := f.svc.CreateAPIKey(f.ctx, tt.p, tt.in, nil)
			wantCode(t, err, tt.code)
			if tt.fields != nil {
				wantFields(t, err, tt.fields...)
			}
			if l := must(f.svc.ListAPIKeys(f.ctx, ada, access.PageRequest{Limit: 10}))(t); len(l.Items) != 0 {
				t.Errorf("%d keys stored", len(l.Items))
			}
		})
	}
}

func TestUpdateTenant(t *testing.T) {
	const issuer, audience, jwks = "https://idp.example.com/", "elevate", "https://idp.example.com/jwks.json"
	jwt := access.JWTPatch{Issuer: ptr(issuer), Audience: ptr(audience), JWKSURL: ptr(jwks)}
	f := withTenant(t)
	f.tenant(tenantB, nil)
	adminB := user(tenantB, "bea", access.RoleAdmin)

	got := must(f.svc.UpdateTenant(f.ctx, ada, access.TenantPatch{JWT: jwt}, nil))(t)
	want := access.JWTSettings{Issuer: issuer, Audience: audience, JWKSURL: jwks, GroupsClaim: access.DefaultGroupsClaim}
	if got.Settings.JWT != want {
		t.Errorf("JWT settings = %+v, want %+v", got.Settings.JWT, want)
	}
	if id := must(f.store.TenantIDForIssuer(f.ctx, issuer, audience))(t); id != tenantA {
		t.Errorf("issuer belongs to %s", id)
	}

	t.Run("issuer and audience of another tenant", func(t *testing.T) {
		_, err := f.svc.UpdateTenant(f.ctx, adminB, access.TenantPatch{JWT: jwt}, nil)
		wantFields(t, err, "jwt.audience")
		if tb := must(f.svc.GetTenant(f.ctx, adminB))(t); tb.Settings.JWT.Issuer != "" || tb.Revision != 1 {
			t.Errorf("tenant B changed: %+v", tb.Settings.JWT)
		}
		other := jwt
		other.Audience = ptr("elevate-b")
		if tb := must(f.svc.UpdateTenant(f.ctx, adminB, access.TenantPatch{JWT: other}, nil))(t); tb.Settings.JWT.Audience != "elevate-b" {
			t.Errorf("tenant B audience = %q", tb.Settings.JWT.Audience)
		}
		// Moving B's audience onto A's pair one field at a time is caught too.
		_, err = f.svc.UpdateTenant(f.ctx, adminB, access.TenantPatch{JWT: access.JWTPatch{Audience: ptr(audience)}}, nil)
		wantFields(t, err, "jwt.audience")
	})
	t.Run("one field keeps the others", func(t *testing.T) {
		got := must(f.svc.UpdateTenant(f.ctx, ada, access.TenantPatch{JWT: access.JWTPatch{GroupsClaim: ptr("roles")}}, nil))(t)
		if got.Settings.JWT.GroupsClaim != "roles" || got.Settings.JWT.Issuer != issuer || got.Settings.JWT.JWKSURL != jwks {
			t.Errorf("JWT settings = %+v", got.Settings.JWT)
		}
		got = must(f.svc.UpdateTenant(f.ctx, ada, access.TenantPatch{AllowedRoots: &[]string{ouWork}}, nil))(t)
		if b := got.Boundary; b.InstanceARN != instanceARN || !slices.Equal(b.AllowedRoots, []string{root}) || !slices.Equal(got.AllowedRoots(), []string{ouWork}) {
			t.Errorf("boundary = %+v, allowed roots %v", b, got.AllowedRoots())
		}
	})
	t.Run("empty patch", func(t *testing.T) {
		before := must(f.svc.GetTenant(f.ctx, ada))(t)
		events := len(f.audit(tenantA))
		got := must(f.svc.UpdateTenant(f.ctx, ada, access.TenantPatch{}, nil))(t)
		if got.Revision != before.Revision || len(f.audit(tenantA)) != events {
			t.Errorf("an empty patch wrote revision %d -> %d and %d audit events", before.Revision, got.Revision, len(f.audit(tenantA))-events)
		}
	})
	invalid := []struct {
		name   string
		patch  access.TenantPatch
		fields []string
	}{
		{"time zone", access.TenantPatch{TimeZone: ptr("Atlantis/Capital")}, []string{"time_zone"}},
		{"name", access.TenantPatch{Name: ptr("   ")}, []string{"name"}},
		{"max duration", access.TenantPatch{MaxDuration: ptr(8 * 24 * time.Hour)}, []string{"max_duration_seconds"}},
		{"approval window", access.TenantPatch{ApprovalWindow: ptr(time.Second)}, []string{"default_approval_window_seconds"}},
		{"jwks http", access.TenantPatch{JWT: access.JWTPatch{JWKSURL: ptr("http://idp.example.com/jwks.json")}}, []string{"jwt.jwks_url"}},
		{"jwt audience cleared", access.TenantPatch{JWT: access.JWTPatch{Audience: ptr("")}}, []string{"jwt.audience"}},
		{"roots", access.TenantPatch{AllowedRoots: &[]string{"all"}}, []string{"identity_center.allowed_roots"}},
	}
	for _, tt := range invalid {
		t.Run("invalid "+tt.name, func(t *testing.T) {
			before := must(f.svc.GetTenant(f.ctx, ada))(t)
			_, err := f.svc.UpdateTenant(f.ctx, ada, tt.patch, nil)
			wantFields(t, err, tt.fields...)
			if after := must(f.svc.GetTenant(f.ctx, ada))(t); after.Revision != before.Revision {
				t.Error("an invalid patch was stored")
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		got := must(f.svc.UpdateTenant(f.ctx, ada, access.TenantPatch{
			TimeZone: ptr("Europe/Berlin"), MaxDuration: ptr(2 * time.Hour),
			AllowedRoots: &[]string{root},
		}, nil))(t)
		if got.Settings.TimeZone != "Europe/Berlin" || got.Settings.MaxDuration != 2*time.Hour || got.Boundary.InstanceARN != instanceARN {
			t.Errorf("settings = %+v", got.Settings)
		}
		ev, ok := f.findAudit(tenantA, tenantA, "tenant.updated")
		if !ok || ev.Severity != access.SeverityHigh {
			t.Errorf("tenant.updated = %+v (found %v)", ev, ok)
		}
		// The new maximum applies to the next request.
		in := adminAccess(acct1)
		in.DurationSeconds = 3 * 3600
		_, err := f.svc.CreateRequest(f.ctx, alice, in, nil)
		wantFields(t, err, "duration_seconds")
	})
	t.Run("non-admin", func(t *testing.T) {
		_, err := f.svc.UpdateTenant(f.ctx, carol, access.TenantPatch{TimeZone: ptr("UTC")}, nil)
		wantCode(t, err, access.CodeForbidden)
		_, err = f.svc.GetTenant(f.ctx, carol)
		wantCode(t, err, access.CodeForbidden)
	})
}

func TestCreateTenant(t *testing.T) {
	f := newFixture(t)
	tn := f.tenant(strings.ToUpper(tenantA), nil)
	if tn.ID != tenantA || tn.PolicyVersion != 1 || tn.Revision != 1 {
		t.Errorf("tenant = %s v%d rev %d", tn.ID, tn.PolicyVersion, tn.Revision)
	}
	for _, tt := range []struct {
		name   string
		in     access.NewTenantInput
		code   access.Code
		fields []string
	}{
		{"duplicate", access.NewTenantInput{ID: tenantA, Name: "again"}, access.CodeConflict, nil},
		{"bad id", access.NewTenantInput{ID: "tenant-1", Name: "x"}, access.CodeValidationFailed, []string{"id"}},
		{"no name", access.NewTenantInput{ID: tenantB}, access.CodeValidationFailed, []string{"name"}},
		{"bad catalog", access.NewTenantInput{ID: tenantB, Name: "x", Catalog: access.Catalog{access.ResourceAccount: {{Name: "ReadOnly"}}}}, access.CodeValidationFailed, []string{"actions.aws_account"}},
		{"bad policies", access.NewTenantInput{ID: tenantB, Name: "x", Policies: `permit (principal, action, resource);`}, access.CodeValidationFailed, []string{"policies"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.op.CreateTenant(f.ctx, tt.in)
			wantCode(t, err, tt.code)
			if tt.fields != nil {
				wantFields(t, err, tt.fields...)
			}
		})
	}
	if _, err := f.store.GetTenant(f.ctx, tenantB); !errors.Is(err, access.ErrNotFound) {
		t.Errorf("an invalid tenant was stored: %v", err)
	}
}

func TestPutCatalog(t *testing.T) {
	f := withTenant(t)
	c := access.Catalog{access.ResourceAccount: {{Name: "ReadOnly", PermissionSetARN: psReadOnly}}}
	got := must(f.svc.PutCatalog(f.ctx, ada, c))(t)
	if len(got) != 1 {
		t.Errorf("catalog = %+v", got)
	}
	if read := must(f.svc.GetCatalog(f.ctx, bob))(t); len(read[access.ResourceS3Bucket]) != 0 || len(read[access.ResourceAccount]) != 1 {
		t.Errorf("stored catalog = %+v", read)
	}
	_, err := f.svc.CreateRequest(f.ctx, alice, adminAccess(acct1), nil)
	e := wantFields(t, err, "action")
	if !strings.Contains(e.Details["action"].(string), "offered: ReadOnly)") {
		t.Errorf("details = %v", e.Details)
	}
	_, err = f.svc.PutCatalog(f.ctx, carol, c)
	wantCode(t, err, access.CodeForbidden)
	_, err = f.svc.PutCatalog(f.ctx, ada, access.Catalog{access.ResourceS3Bucket: {{Name: "delete"}}})
	wantFields(t, err, "actions.aws_s3_bucket")
}

func ptr[T any](v T) *T { return &v }

// must3 is must for calls that also return a secret.
func must3[T any](v T, _ string, err error) func(testing.TB) T { return must(v, err) }
