package auth

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

func TestNewAPIKeyRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, secret, full, err := NewAPIKey()
		if err != nil {
			t.Fatalf("NewAPIKey: %v", err)
		}
		if len(id) != 16 || len(secret) != 52 || len(full) != 73 {
			t.Fatalf("lengths id=%d secret=%d full=%d, want 16, 52, 73", len(id), len(secret), len(full))
		}
		if !strings.HasPrefix(full, "elv_"+id+"_") || !strings.HasSuffix(full, "_"+secret) {
			t.Fatalf("full key %q does not join prefix, id and secret", full)
		}
		if strings.Trim(id+secret, base32Alphabet) != "" {
			t.Fatalf("%q uses characters outside lowercase base32", full)
		}
		gotID, gotSecret, ok := ParseAPIKey(full)
		if !ok || gotID != id || gotSecret != secret {
			t.Fatalf("ParseAPIKey(%q) = %q, %q, %v", full, gotID, gotSecret, ok)
		}
		if seen[id] || seen[secret] {
			t.Fatal("NewAPIKey repeated an id or secret")
		}
		seen[id], seen[secret] = true, true
	}
}

func TestParseAPIKeyRejects(t *testing.T) {
	_, _, full, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	id, secret := full[4:20], full[21:]
	// The last secret character carries 1 data bit; "b" sets a stray low bit.
	nonCanonical := secret[:51] + string(base32Alphabet[strings.IndexByte(base32Alphabet, secret[51])^1])
	tests := map[string]string{
		"empty":                   "",
		"prefix only":             "elv_",
		"wrong prefix":            "elx_" + id + "_" + secret,
		"upper prefix":            "ELV_" + id + "_" + secret,
		"upper case":              "elv_" + strings.ToUpper(id) + "_" + secret,
		"no separator":            "elv_" + id + secret + "a",
		"other separator":         "elv_" + id + "-" + secret,
		"short id":                "elv_" + id[1:] + "_" + secret + "a",
		"long id":                 "elv_" + id + "a_" + secret[1:],
		"short secret":            "elv_" + id + "_" + secret[1:],
		"long secret":             "elv_" + id + "_" + secret + "a",
		"digit 1":                 "elv_" + id + "_" + secret[:10] + "1" + secret[11:],
		"digit 8":                 "elv_" + "8" + id[1:] + "_" + secret,
		"padding":                 "elv_" + id + "_" + secret[:51] + "=",
		"non-canonical last char": "elv_" + id + "_" + nonCanonical,
		"trailing newline":        full + "\n",
		"leading space":           " " + full[1:],
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if gotID, gotSecret, ok := ParseAPIKey(in); ok || gotID != "" || gotSecret != "" {
				t.Fatalf("ParseAPIKey(%q) = %q, %q, %v; want rejection", in, gotID, gotSecret, ok)
			}
		})
	}
}

func TestHashSecret(t *testing.T) {
	a, b := HashSecret("secret-a"), HashSecret("secret-b")
	if len(a) != 32 || bytes.Equal(a, b) || !bytes.Equal(a, HashSecret("secret-a")) {
		t.Fatalf("HashSecret is not a deterministic 32-byte digest: %x %x", a, b)
	}
	if !secretMatches(a, "secret-a") || secretMatches(a, "secret-b") || secretMatches(nil, "secret-a") {
		t.Fatal("secretMatches compares wrongly")
	}
}

// newKey stores a fresh key of tenantA acting for alice and returns its full form.
func newKey(t *testing.T, keys *fakeKeys, edit func(*access.APIKey)) (full string, key access.APIKey) {
	t.Helper()
	id, secret, full, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	key = access.APIKey{
		ID: id, TenantID: tenantA, Name: "ci", Role: access.RoleApprover,
		PrincipalID: "alice", PrincipalKind: access.PrincipalUser, Groups: []string{"ops"},
		SecretHash: HashSecret(secret), CreatedAt: t0.Add(-time.Hour),
	}
	if edit != nil {
		edit(&key)
	}
	keys.put(key)
	return full, key
}

func TestAuthenticateAPIKey(t *testing.T) {
	keys := newFakeKeys()
	a := New(Config{Keys: keys, Tenants: &fakeTenants{}, Now: func() time.Time { return t0 }})

	good, _ := newKey(t, keys, nil)
	service, _ := newKey(t, keys, func(k *access.APIKey) {
		k.PrincipalID, k.PrincipalKind, k.Role, k.Groups = "svc-deployer", access.PrincipalService, access.RoleRequester, nil
	})
	revoked, _ := newKey(t, keys, func(k *access.APIKey) { k.RevokedAt = t0.Add(-time.Minute) })
	expired, _ := newKey(t, keys, func(k *access.APIKey) { k.ExpiresAt = t0 })
	notYetExpired, _ := newKey(t, keys, func(k *access.APIKey) { k.ExpiresAt = t0.Add(time.Second) })
	otherTenant, _ := newKey(t, keys, func(k *access.APIKey) { k.TenantID = tenantB })
	noKind, _ := newKey(t, keys, func(k *access.APIKey) { k.PrincipalKind = "" })
	_, _, unknown, _ := NewAPIKey()
	wrongSecret := good[:21] + strings.Repeat("a", 52)

	tests := []struct {
		name        string
		tenant, key string
		authz       string
		code        access.Code
		msg         string
		wantID      string
		wantKind    access.PrincipalKind
		wantRole    access.Role
	}{
		{name: "right secret", tenant: tenantA, key: good, wantID: "alice", wantKind: access.PrincipalUser, wantRole: access.RoleApprover},
		{name: "upper-case tenant header", tenant: strings.ToUpper(tenantA), key: good, wantID: "alice", wantKind: access.PrincipalUser, wantRole: access.RoleApprover},
		{name: "service key", tenant: tenantA, key: service, wantID: "svc-deployer", wantKind: access.PrincipalService, wantRole: access.RoleRequester},
		{name: "key expiring later", tenant: tenantA, key: notYetExpired, wantID: "alice", wantKind: access.PrincipalUser, wantRole: access.RoleApprover},
		{name: "wrong secret", tenant: tenantA, key: wrongSecret, code: access.CodeUnauthenticated, msg: "invalid API key"},
		{name: "unknown key", tenant: tenantA, key: unknown, code: access.CodeUnauthenticated, msg: "invalid API key"},
		{name: "revoked", tenant: tenantA, key: revoked, code: access.CodeUnauthenticated, msg: "invalid API key"},
		{name: "expired", tenant: tenantA, key: expired, code: access.CodeUnauthenticated, msg: "invalid API key"},
		{name: "malformed key", tenant: tenantA, key: "elv_nope", code: access.CodeUnauthenticated, msg: "invalid API key"},
		{name: "stored key without kind", tenant: tenantA, key: noKind, code: access.CodeUnauthenticated, msg: "invalid API key"},
		{name: "other tenant", tenant: tenantA, key: otherTenant, code: access.CodeTenantMismatch},
		{name: "other tenant's header with own key", tenant: tenantB, key: good, code: access.CodeTenantMismatch},
		{name: "unknown tenant header, key decides", tenant: nobody, key: good, code: access.CodeTenantMismatch},
		{name: "wrong secret of another tenant's key", tenant: tenantA, key: otherTenant[:21] + strings.Repeat("a", 52), code: access.CodeUnauthenticated, msg: "invalid API key"},
		{name: "malformed tenant", tenant: "tenant-a", key: good, code: access.CodeInvalidTenantID},
		{name: "missing tenant", tenant: "", key: good, code: access.CodeInvalidTenantID},
		{name: "tenant without dashes", tenant: strings.ReplaceAll(tenantA, "-", ""), key: good, code: access.CodeInvalidTenantID},
		{name: "malformed tenant beats missing credential", tenant: "x", code: access.CodeInvalidTenantID},
		{name: "both headers", tenant: tenantA, key: good, authz: "Bearer x.y.z", code: access.CodeUnauthenticated, msg: "not both"},
		{name: "no credential", tenant: tenantA, code: access.CodeUnauthenticated, msg: "no credential"},
		{name: "blank credential", tenant: tenantA, key: "  ", code: access.CodeUnauthenticated, msg: "no credential"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), tt.tenant, tt.key, tt.authz)
			if tt.code != "" {
				e := wantCode(t, err, tt.code, tt.msg)
				if len(tt.key) > 21 && strings.Contains(e.Message, tt.key[21:]) {
					t.Fatalf("message %q echoes the secret", e.Message)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if p.TenantID != tenantA || p.ID != tt.wantID || p.Kind != tt.wantKind || p.Role != tt.wantRole {
				t.Fatalf("principal = %+v", p)
			}
			if p.KeyID == "" || p.KeyID != tt.key[4:20] {
				t.Fatalf("KeyID = %q, want %q", p.KeyID, tt.key[4:20])
			}
		})
	}
}

func TestAPIKeyStoreFailureIsInternal(t *testing.T) {
	keys := newFakeKeys()
	full, key := newKey(t, keys, nil)
	keys.err = errors.New("dynamodb: throttled")
	a := New(Config{Keys: keys, Tenants: &fakeTenants{}, Now: func() time.Time { return t0 }})
	_, err := a.Authenticate(context.Background(), tenantA, full, "")
	e := wantCode(t, err, access.CodeInternal, "")
	if strings.Contains(e.Message, "dynamodb") {
		t.Fatalf("internal message leaks the cause: %q", e.Message)
	}
	// Failures are not cached: once the store recovers the key works.
	keys.err = nil
	if _, err := a.Authenticate(context.Background(), tenantA, full, ""); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if n := keys.callsFor(key.ID); n != 2 {
		t.Fatalf("store calls = %d, want 2", n)
	}
}

func TestAPIKeyCache(t *testing.T) {
	ctx := context.Background()
	revoke := func(keys *fakeKeys, k access.APIKey, at time.Time) {
		k.RevokedAt = at
		keys.put(k)
	}

	t.Run("hit within TTL, revocation seen after TTL", func(t *testing.T) {
		keys, clk := newFakeKeys(), newClock()
		a := New(Config{Keys: keys, Tenants: &fakeTenants{}, Now: clk.Now}) // default TTL 30 s
		full, key := newKey(t, keys, nil)
		for range 3 {
			if _, err := a.Authenticate(ctx, tenantA, full, ""); err != nil {
				t.Fatal(err)
			}
		}
		if n := keys.callsFor(key.ID); n != 1 {
			t.Fatalf("store calls within TTL = %d, want 1", n)
		}
		revoke(keys, key, clk.Now())
		clk.Advance(29 * time.Second)
		if _, err := a.Authenticate(ctx, tenantA, full, ""); err != nil {
			t.Fatalf("within TTL the cached key still works (documented staleness): %v", err)
		}
		clk.Advance(time.Second)
		_, err := a.Authenticate(ctx, tenantA, full, "")
		wantCode(t, err, access.CodeUnauthenticated, "invalid API key")
		if n := keys.callsFor(key.ID); n != 2 {
			t.Fatalf("store calls = %d, want 2", n)
		}
	})

	t.Run("TTL is capped at 60 s", func(t *testing.T) {
		keys, clk := newFakeKeys(), newClock()
		a := New(Config{Keys: keys, Tenants: &fakeTenants{}, Now: clk.Now, KeyCacheTTL: 10 * time.Minute})
		full, key := newKey(t, keys, nil)
		if _, err := a.Authenticate(ctx, tenantA, full, ""); err != nil {
			t.Fatal(err)
		}
		revoke(keys, key, clk.Now())
		clk.Advance(60 * time.Second)
		_, err := a.Authenticate(ctx, tenantA, full, "")
		wantCode(t, err, access.CodeUnauthenticated, "invalid API key")
	})

	t.Run("expiry is checked on every call, not only on lookup", func(t *testing.T) {
		keys, clk := newFakeKeys(), newClock()
		a := New(Config{Keys: keys, Tenants: &fakeTenants{}, Now: clk.Now})
		full, _ := newKey(t, keys, func(k *access.APIKey) { k.ExpiresAt = t0.Add(5 * time.Second) })
		if _, err := a.Authenticate(ctx, tenantA, full, ""); err != nil {
			t.Fatal(err)
		}
		clk.Advance(5 * time.Second)
		_, err := a.Authenticate(ctx, tenantA, full, "")
		wantCode(t, err, access.CodeUnauthenticated, "invalid API key")
	})

	t.Run("unknown ids are remembered briefly", func(t *testing.T) {
		keys, clk := newFakeKeys(), newClock()
		a := New(Config{Keys: keys, Tenants: &fakeTenants{}, Now: clk.Now})
		id, _, full, _ := NewAPIKey()
		for range 5 {
			_, err := a.Authenticate(ctx, tenantA, full, "")
			wantCode(t, err, access.CodeUnauthenticated, "invalid API key")
		}
		if n := keys.callsFor(id); n != 1 {
			t.Fatalf("store calls for an unknown id = %d, want 1", n)
		}
		clk.Advance(DefaultNegativeCacheTTL)
		_, _ = a.Authenticate(ctx, tenantA, full, "")
		if n := keys.callsFor(id); n != 2 {
			t.Fatalf("store calls after the negative TTL = %d, want 2", n)
		}
	})

	t.Run("bounded size evicts the oldest", func(t *testing.T) {
		keys, clk := newFakeKeys(), newClock()
		a := New(Config{Keys: keys, Tenants: &fakeTenants{}, Now: clk.Now, KeyCacheSize: 2})
		var fulls []string
		var ids []string
		for range 3 {
			full, k := newKey(t, keys, nil)
			fulls, ids = append(fulls, full), append(ids, k.ID)
			if _, err := a.Authenticate(ctx, tenantA, full, ""); err != nil {
				t.Fatal(err)
			}
		}
		if got := len(a.keys.entries); got != 2 {
			t.Fatalf("cache holds %d entries, want 2", got)
		}
		_, _ = a.Authenticate(ctx, tenantA, fulls[2], "")
		_, _ = a.Authenticate(ctx, tenantA, fulls[0], "")
		if keys.callsFor(ids[2]) != 1 || keys.callsFor(ids[0]) != 2 {
			t.Fatalf("calls newest=%d oldest=%d, want 1 and 2", keys.callsFor(ids[2]), keys.callsFor(ids[0]))
		}
	})

	t.Run("negative TTL disables the cache", func(t *testing.T) {
		keys, clk := newFakeKeys(), newClock()
		a := New(Config{Keys: keys, Tenants: &fakeTenants{}, Now: clk.Now, KeyCacheTTL: -1})
		full, key := newKey(t, keys, nil)
		for range 3 {
			if _, err := a.Authenticate(ctx, tenantA, full, ""); err != nil {
				t.Fatal(err)
			}
		}
		if n := keys.callsFor(key.ID); n != 3 {
			t.Fatalf("store calls without a cache = %d, want 3", n)
		}
	})
}
