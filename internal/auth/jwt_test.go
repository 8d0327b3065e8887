package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/elevate-jit/elevate/internal/access"
)

// Signing keys, generated once per test binary.
var (
	keysOnce                   sync.Once
	rsaKey, rsaKey2, rsaB      *rsa.PrivateKey
	ecKey                      *ecdsa.PrivateKey
	errKeygen                  error
	issuerA, audA              = "https://idp.example/a", "elevate-a"
	issuerB, audB              = "https://idp.example/b", "elevate-b"
	kidRSA, kidEC, kidB, kidR2 = "rsa-1", "ec-1", "b-1", "rsa-2"
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		for _, k := range []**rsa.PrivateKey{&rsaKey, &rsaKey2, &rsaB} {
			if *k, errKeygen = rsa.GenerateKey(rand.Reader, 2048); errKeygen != nil {
				return
			}
		}
		ecKey, errKeygen = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	})
	if errKeygen != nil {
		t.Fatal(errKeygen)
	}
}

type jwk struct {
	kid string
	pub any
	alg jwkset.ALG
}

// jwksJSON renders public keys as a JWK Set, padded with an ignored member
// to about padding bytes.
func jwksJSON(t testing.TB, padding int, keys ...jwk) []byte {
	t.Helper()
	var set jwkset.JWKSMarshal
	for _, k := range keys {
		j, err := jwkset.NewJWKFromKey(k.pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: k.alg, USE: jwkset.UseSig}})
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, j.Marshal())
	}
	b, err := json.Marshal(struct {
		Keys    []jwkset.JWKMarshal `json:"keys"`
		Padding string              `json:"padding,omitempty"`
	}{set.Keys, strings.Repeat("x", padding)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// idp is a test identity provider serving JWK Sets over TLS and counting
// requests per path.
type idp struct {
	srv *httptest.Server

	mu      sync.Mutex
	sets    map[string][]byte
	status  map[string]int
	chunked map[string]bool
	hits    map[string]int
}

func newIdP(t *testing.T) *idp {
	p := &idp{sets: map[string][]byte{}, status: map[string]int{}, chunked: map[string]bool{}, hits: map[string]int{}}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.hits[r.URL.Path]++
	body, ok := p.sets[r.URL.Path]
	status, chunked := p.status[r.URL.Path], p.chunked[r.URL.Path]
	p.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/redirect/") {
		http.Redirect(w, r, strings.TrimPrefix(r.URL.Path, "/redirect/"), http.StatusFound)
		return
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if !chunked {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write(body)
		return
	}
	for len(body) > 0 { // no Content-Length: the size is only known by reading
		n := min(len(body), 4096)
		_, _ = w.Write(body[:n])
		w.(http.Flusher).Flush()
		body = body[n:]
	}
}

func (p *idp) set(path string, body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sets[path] = body
	p.status[path] = 0
}

func (p *idp) setChunked(path string, chunked bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.chunked[path] = chunked
}

func (p *idp) fail(path string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status[path] = status
}

func (p *idp) hitsFor(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[path]
}

func (p *idp) url(path string) string { return p.srv.URL + path }

type jwtEnv struct {
	idp     *idp
	clock   *clock
	tenants *fakeTenants
	auth    *Authenticator
}

// newJWTEnv serves tenant A's keys (RSA and EC) at /a and tenant B's at /b,
// from a loopback server it allows.
func newJWTEnv(t *testing.T) *jwtEnv {
	t.Helper()
	return newJWTEnvWith(t, func(c *Config) { c.AllowPrivateJWKS = true })
}

// newJWTEnvWith is newJWTEnv with the configuration as edit leaves it.
func newJWTEnvWith(t *testing.T, edit func(*Config)) *jwtEnv {
	t.Helper()
	testKeys(t)
	p := newIdP(t)
	p.set("/a", jwksJSON(t, 0, jwk{kidRSA, &rsaKey.PublicKey, jwkset.AlgRS256}, jwk{kidEC, &ecKey.PublicKey, jwkset.AlgES256}))
	p.set("/b", jwksJSON(t, 0, jwk{kidB, &rsaB.PublicKey, jwkset.AlgRS256}))
	tenants := &fakeTenants{tenants: map[string]access.Tenant{
		tenantA: {ID: tenantA, Settings: access.Settings{
			JWT: access.JWTSettings{Issuer: issuerA, Audience: audA, JWKSURL: p.url("/a"), GroupsClaim: "groups"},
			GroupRoles: map[string]access.Role{
				"eng": access.RoleRequester, "oncall": access.RoleApprover, "platform-admins": access.RoleAdmin,
			},
		}},
		tenantB: {ID: tenantB, Settings: access.Settings{
			JWT:        access.JWTSettings{Issuer: issuerB, Audience: audB, JWKSURL: p.url("/b"), GroupsClaim: "roles"},
			GroupRoles: map[string]access.Role{"eng": access.RoleAdmin},
		}},
		tenantC: {ID: tenantC, Settings: access.DefaultSettings()},
	}}
	clk := newClock()
	cfg := Config{Keys: newFakeKeys(), Tenants: tenants, Now: clk.Now, HTTPClient: p.srv.Client()}
	edit(&cfg)
	return &jwtEnv{idp: p, clock: clk, tenants: tenants, auth: New(cfg)}
}

func claimsA() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": issuerA, "aud": audA, "sub": "alice",
		"groups": []any{"eng", "oncall"},
		"iat":    t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(10 * time.Minute).Unix(),
	}
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func sign(t testing.TB, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthenticateJWT(t *testing.T) {
	env := newJWTEnv(t)
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	rs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodRS256, rsaKey, kidRSA, c) }

	tests := []struct {
		name   string
		tenant string
		authz  string
		code   access.Code
		msg    string
		role   access.Role
		groups []string
	}{
		{name: "RS256", authz: "Bearer " + rs(claimsA()), role: access.RoleApprover, groups: []string{"eng", "oncall"}},
		{name: "ES256", authz: "Bearer " + sign(t, jwt.SigningMethodES256, ecKey, kidEC, claimsA()), role: access.RoleApprover},
		{name: "highest role wins", authz: "Bearer " + rs(with(claimsA(), "groups", []any{"eng", "platform-admins", "oncall"})), role: access.RoleAdmin},
		{name: "groups as one string", authz: "Bearer " + rs(with(claimsA(), "groups", "platform-admins")), role: access.RoleAdmin, groups: []string{"platform-admins"}},
		{name: "non-string groups ignored", authz: "Bearer " + rs(with(claimsA(), "groups", []any{42, "eng", nil})), role: access.RoleRequester, groups: []string{"eng"}},
		{name: "audience array", authz: "Bearer " + rs(with(claimsA(), "aud", []any{"other", audA})), role: access.RoleApprover},
		{name: "expired within leeway", authz: "Bearer " + rs(with(claimsA(), "exp", t0.Add(-10*time.Second).Unix())), role: access.RoleApprover},
		{name: "lower-case scheme", authz: "bearer " + rs(claimsA()), role: access.RoleApprover},
		{name: "upper-case tenant header", tenant: strings.ToUpper(tenantA), authz: "Bearer " + rs(claimsA()), role: access.RoleApprover},

		{name: "alg none", authz: "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kidRSA, claimsA()), code: access.CodeUnauthenticated, msg: "invalid bearer token"},
		{name: "HS256 with the RSA public key PEM", authz: "Bearer " + sign(t, jwt.SigningMethodHS256, pubPEM, kidRSA, claimsA()), code: access.CodeUnauthenticated, msg: "invalid bearer token"},
		{name: "HS256 with the RSA public key DER", authz: "Bearer " + sign(t, jwt.SigningMethodHS256, pubDER, kidRSA, claimsA()), code: access.CodeUnauthenticated, msg: "invalid bearer token"},
		{name: "RS384 is not allowed", authz: "Bearer " + sign(t, jwt.SigningMethodRS384, rsaKey, kidRSA, claimsA()), code: access.CodeUnauthenticated},
		{name: "RS256 claiming the EC key", authz: "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, kidEC, claimsA()), code: access.CodeUnauthenticated},
		{name: "signed by a foreign key", authz: "Bearer " + sign(t, jwt.SigningMethodRS256, otherRSA, kidRSA, claimsA()), code: access.CodeUnauthenticated},
		{name: "signed by a foreign key without kid", authz: "Bearer " + sign(t, jwt.SigningMethodRS256, otherRSA, "", claimsA()), code: access.CodeUnauthenticated},
		{name: "tampered payload", authz: "Bearer " + tamper(rs(claimsA())), code: access.CodeUnauthenticated},
		{name: "wrong aud", authz: "Bearer " + rs(with(claimsA(), "aud", "someone-else")), code: access.CodeUnauthenticated, msg: "invalid bearer token"},
		{name: "wrong iss", authz: "Bearer " + rs(with(claimsA(), "iss", "https://evil.example")), code: access.CodeUnauthenticated, msg: "invalid bearer token"},
		{name: "expired", authz: "Bearer " + rs(with(claimsA(), "exp", t0.Add(-time.Minute).Unix())), code: access.CodeUnauthenticated},
		{name: "nbf in the future", authz: "Bearer " + rs(with(claimsA(), "nbf", t0.Add(5*time.Minute).Unix())), code: access.CodeUnauthenticated},
		{name: "iat in the future", authz: "Bearer " + rs(with(claimsA(), "iat", t0.Add(5*time.Minute).Unix())), code: access.CodeUnauthenticated},
		{name: "missing exp", authz: "Bearer " + rs(with(claimsA(), "exp", nil)), code: access.CodeUnauthenticated},
		{name: "missing sub", authz: "Bearer " + rs(with(claimsA(), "sub", nil)), code: access.CodeUnauthenticated},
		{name: "empty sub", authz: "Bearer " + rs(with(claimsA(), "sub", "")), code: access.CodeUnauthenticated},
		{name: "reserved sub", authz: "Bearer " + rs(with(claimsA(), "sub", "elevate")), code: access.CodeUnauthenticated},
		{name: "the operator's sub", authz: "Bearer " + rs(with(claimsA(), "sub", "operator")), code: access.CodeUnauthenticated},
		{name: "unknown kid", authz: "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, "nope", claimsA()), code: access.CodeUnauthenticated},
		{name: "unknown issuer everywhere", authz: "Bearer " + rs(with(claimsA(), "iss", "https://nowhere", "aud", "nothing")), code: access.CodeUnauthenticated},
		{name: "garbage token", authz: "Bearer x.y.z", code: access.CodeUnauthenticated, msg: "invalid bearer token"},
		{name: "token too long", authz: "Bearer " + strings.Repeat("a", maxTokenLen+1), code: access.CodeUnauthenticated},
		{name: "scheme only", authz: "Bearer", code: access.CodeUnauthenticated, msg: "Bearer <token>"},
		{name: "basic scheme", authz: "Basic YWxpY2U6cHc=", code: access.CodeUnauthenticated, msg: "Bearer <token>"},
		{name: "two tokens", authz: "Bearer a b", code: access.CodeUnauthenticated, msg: "Bearer <token>"},

		{name: "another tenant's token", authz: "Bearer " + sign(t, jwt.SigningMethodRS256, rsaB, kidB, with(claimsA(), "iss", issuerB, "aud", audB, "roles", []any{"eng"})), code: access.CodeTenantMismatch},
		{name: "another tenant's issuer, bad signature", authz: "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, kidRSA, with(claimsA(), "iss", issuerB, "aud", audB)), code: access.CodeUnauthenticated},
		{name: "another tenant's token, expired", authz: "Bearer " + sign(t, jwt.SigningMethodRS256, rsaB, kidB, with(claimsA(), "iss", issuerB, "aud", audB, "exp", t0.Add(-time.Hour).Unix())), code: access.CodeUnauthenticated},
		{name: "no mapped role", authz: "Bearer " + rs(with(claimsA(), "groups", []any{"sales"})), code: access.CodeForbidden, msg: "no Elevate role is mapped to your groups"},
		{name: "no groups claim", authz: "Bearer " + rs(with(claimsA(), "groups", nil)), code: access.CodeForbidden, msg: "no Elevate role is mapped to your groups"},
		{name: "header tenant does not exist", tenant: nobody, authz: "Bearer " + rs(claimsA()), code: access.CodeUnauthenticated},
		{name: "header tenant has no JWT settings", tenant: tenantC, authz: "Bearer " + rs(claimsA()), code: access.CodeTenantMismatch},
		{name: "malformed tenant", tenant: "nope", authz: "Bearer " + rs(claimsA()), code: access.CodeInvalidTenantID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := tt.tenant
			if tenant == "" {
				tenant = tenantA
			}
			p, err := env.auth.Authenticate(context.Background(), tenant, "", tt.authz)
			if tt.code != "" {
				e := wantCode(t, err, tt.code, tt.msg)
				if tt.code == access.CodeUnauthenticated && e.Message == "invalid bearer token" && e.Cause == nil {
					t.Fatal("a rejected token carries no cause for the logs")
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if p.TenantID != tenantA || p.ID != "alice" || p.Kind != access.PrincipalUser || p.Role != tt.role || p.KeyID != "" {
				t.Fatalf("principal = %+v, want alice of %s as %s", p, tenantA, tt.role)
			}
			if tt.groups != nil && strings.Join(p.Groups, ",") != strings.Join(tt.groups, ",") {
				t.Fatalf("groups = %q, want %q", p.Groups, tt.groups)
			}
		})
	}
}

// tamper flips a character of the payload.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	b := []byte(parts[1])
	b[5] ^= 0x01
	parts[1] = string(b)
	return strings.Join(parts, ".")
}

func TestTenantWithoutJWTRejectsUnknownIssuer(t *testing.T) {
	env := newJWTEnv(t)
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, kidRSA, with(claimsA(), "iss", "https://nowhere"))
	_, err := env.auth.Authenticate(context.Background(), tenantC, "", "Bearer "+tok)
	wantCode(t, err, access.CodeUnauthenticated, "invalid bearer token")
}

func TestJWKSFetchedOnceAndShared(t *testing.T) {
	env := newJWTEnv(t)
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, kidRSA, claimsA())
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := env.auth.Authenticate(context.Background(), tenantA, "", "Bearer "+tok)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := env.idp.hitsFor("/a"); n != 1 {
		t.Fatalf("JWKS fetched %d times for 20 concurrent calls, want 1", n)
	}
}

func TestJWKSRotationAndRefetchLimit(t *testing.T) {
	ctx := context.Background()
	env := newJWTEnv(t)
	auth := func(kid string, key any, m jwt.SigningMethod) error {
		_, err := env.auth.Authenticate(ctx, tenantA, "", "Bearer "+sign(t, m, key, kid, claimsA()))
		return err
	}
	if err := auth(kidRSA, rsaKey, jwt.SigningMethodRS256); err != nil {
		t.Fatal(err)
	}
	if err := auth(kidRSA, rsaKey, jwt.SigningMethodRS256); err != nil {
		t.Fatal(err)
	}
	if n := env.idp.hitsFor("/a"); n != 1 {
		t.Fatalf("fetches = %d, want 1 (cached)", n)
	}

	// The IdP rotates to a new key; the first token with its kid refetches once.
	env.idp.set("/a", jwksJSON(t, 0, jwk{kidR2, &rsaKey2.PublicKey, jwkset.AlgRS256}))
	if err := auth(kidR2, rsaKey2, jwt.SigningMethodRS256); err != nil {
		t.Fatalf("new kid after rotation: %v", err)
	}
	if n := env.idp.hitsFor("/a"); n != 2 {
		t.Fatalf("fetches = %d, want 2 (one refetch for the new kid)", n)
	}
	if err := auth(kidR2, rsaKey2, jwt.SigningMethodRS256); err != nil {
		t.Fatal(err)
	}

	// A flood of unknown kids within the minute causes no refetch.
	for i := range 50 {
		err := auth(fmt.Sprintf("flood-%d", i), rsaKey2, jwt.SigningMethodRS256)
		wantCode(t, err, access.CodeUnauthenticated, "invalid bearer token")
	}
	if n := env.idp.hitsFor("/a"); n != 2 {
		t.Fatalf("fetches after a flood of unknown kids = %d, want still 2", n)
	}
	// The key removed by the rotation no longer verifies.
	wantCode(t, auth(kidRSA, rsaKey, jwt.SigningMethodRS256), access.CodeUnauthenticated, "")
	if err := auth(kidR2, rsaKey2, jwt.SigningMethodRS256); err != nil {
		t.Fatalf("the current key stopped working: %v", err)
	}
}

func TestJWKSFloodOnFreshCache(t *testing.T) {
	env := newJWTEnv(t)
	for i := range 30 {
		tok := sign(t, jwt.SigningMethodRS256, rsaKey, fmt.Sprintf("guess-%d", i), claimsA())
		_, err := env.auth.Authenticate(context.Background(), tenantA, "", "Bearer "+tok)
		wantCode(t, err, access.CodeUnauthenticated, "")
	}
	// The first fetch, then one refetch for the first unknown kid; no more.
	if n := env.idp.hitsFor("/a"); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
}

func TestJWKSRefetchIntervalElapses(t *testing.T) {
	env := newJWTEnv(t)
	const every = 200 * time.Millisecond
	env.auth.jwks.refetchEvery = every // must be set before the URL's first use
	unknown := func(i int) {
		tok := sign(t, jwt.SigningMethodRS256, rsaKey, fmt.Sprintf("guess-%d", i), claimsA())
		_, _ = env.auth.Authenticate(context.Background(), tenantA, "", "Bearer "+tok)
	}
	start := time.Now()
	for i := range 5 {
		unknown(i)
	}
	// Callers within RateLimitWaitMax of the next slot wait for it, so the
	// refetches are spaced by the interval: at most 1 + elapsed/every of them.
	elapsed := time.Since(start)
	refetches := env.idp.hitsFor("/a") - 1
	if limit := 1 + int(elapsed/every); refetches > limit || refetches < 2 {
		t.Fatalf("%d refetches in %s with one allowed per %s (limit %d, and the interval passing must allow more than one)", refetches, elapsed, every, limit)
	}
}

func TestJWKSMaxAgeAndFailedRefresh(t *testing.T) {
	ctx := context.Background()
	env := newJWTEnv(t)
	call := func() error {
		tok := sign(t, jwt.SigningMethodES256, ecKey, kidEC, with(claimsA(), "iat", env.clock.Now().Unix(), "nbf", nil, "exp", env.clock.Now().Add(time.Minute).Unix()))
		_, err := env.auth.Authenticate(ctx, tenantA, "", "Bearer "+tok)
		return err
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(DefaultJWKSMaxAge)
	if err := call(); err != nil {
		t.Fatal(err)
	}
	if n := env.idp.hitsFor("/a"); n != 2 {
		t.Fatalf("fetches = %d, want 2 (the aged set is fetched again)", n)
	}

	// When the IdP fails, the stale set keeps working and fetching is retried
	// at most once a minute.
	env.idp.fail("/a", http.StatusInternalServerError)
	env.clock.Advance(DefaultJWKSMaxAge)
	for range 5 {
		if err := call(); err != nil {
			t.Fatalf("stale set not used while the IdP fails: %v", err)
		}
		env.clock.Advance(10 * time.Second)
	}
	if n := env.idp.hitsFor("/a"); n != 3 {
		t.Fatalf("fetches = %d, want 3 (one failed retry within a minute)", n)
	}
	env.clock.Advance(20 * time.Second)
	if err := call(); err != nil {
		t.Fatal(err)
	}
	if n := env.idp.hitsFor("/a"); n != 4 {
		t.Fatalf("fetches = %d, want 4 (retry after a minute)", n)
	}
}

func TestJWKSUnavailableAtFirstUse(t *testing.T) {
	ctx := context.Background()
	env := newJWTEnv(t)
	env.idp.fail("/a", http.StatusServiceUnavailable)
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, kidRSA, claimsA())
	for range 3 {
		_, err := env.auth.Authenticate(ctx, tenantA, "", "Bearer "+tok)
		wantCode(t, err, access.CodeUnauthenticated, "invalid bearer token")
	}
	if n := env.idp.hitsFor("/a"); n != 1 {
		t.Fatalf("fetches of a failing JWKS = %d, want 1 within a minute", n)
	}
	env.idp.set("/a", jwksJSON(t, 0, jwk{kidRSA, &rsaKey.PublicKey, jwkset.AlgRS256}))
	env.clock.Advance(time.Minute)
	if _, err := env.auth.Authenticate(ctx, tenantA, "", "Bearer "+tok); err != nil {
		t.Fatalf("after the IdP recovers: %v", err)
	}
}

func TestJWKSSizeCap(t *testing.T) {
	testKeys(t)
	keys := []jwk{{kidRSA, &rsaKey.PublicKey, jwkset.AlgRS256}}
	tests := []struct {
		name    string
		padding int
		chunked bool
		ok      bool
	}{
		{name: "under 64 KiB", padding: 60 << 10, ok: true},
		{name: "under 64 KiB, chunked", padding: 60 << 10, chunked: true, ok: true},
		{name: "over 64 KiB", padding: 65 << 10},
		{name: "over 64 KiB, chunked", padding: 65 << 10, chunked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newJWTEnv(t)
			body := jwksJSON(t, tt.padding, keys...)
			env.idp.set("/a", body)
			env.idp.setChunked("/a", tt.chunked)
			if ok := len(body) <= MaxJWKSSize; ok != tt.ok {
				t.Fatalf("test body of %d bytes is on the wrong side of the cap", len(body))
			}
			tok := sign(t, jwt.SigningMethodRS256, rsaKey, kidRSA, claimsA())
			_, err := env.auth.Authenticate(context.Background(), tenantA, "", "Bearer "+tok)
			if tt.ok {
				if err != nil {
					t.Fatalf("JWKS of %d bytes refused: %v", len(body), err)
				}
				return
			}
			e := wantCode(t, err, access.CodeUnauthenticated, "invalid bearer token")
			if !strings.Contains(e.Error(), "exceeds") {
				t.Fatalf("cause %v does not name the size cap", e.Cause)
			}
		})
	}
}

func TestJWKSHTTPSOnly(t *testing.T) {
	testKeys(t)
	var plainHits int
	var mu sync.Mutex
	body := jwksJSON(t, 0, jwk{kidRSA, &rsaKey.PublicKey, jwkset.AlgRS256})
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		plainHits++
		mu.Unlock()
		_, _ = w.Write(body)
	}))
	defer plain.Close()

	tests := []struct{ name, url string }{
		{"plain http URL", plain.URL + "/jwks"},
		{"redirect to plain http", ""}, // filled below with the TLS server's redirect
		{"not a URL", "::"},
		{"user info", "https://user:pw@" + strings.TrimPrefix(plain.URL, "http://")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newJWTEnv(t)
			u := tt.url
			if u == "" {
				u = env.idp.url("/redirect/" + plain.URL + "/jwks")
			}
			tenant := env.tenants.tenants[tenantA]
			tenant.Settings.JWT.JWKSURL = u
			env.tenants.tenants[tenantA] = tenant
			tok := sign(t, jwt.SigningMethodRS256, rsaKey, kidRSA, claimsA())
			_, err := env.auth.Authenticate(context.Background(), tenantA, "", "Bearer "+tok)
			wantCode(t, err, access.CodeUnauthenticated, "invalid bearer token")
			mu.Lock()
			defer mu.Unlock()
			if plainHits != 0 {
				t.Fatalf("the plain-http server was contacted %d times", plainHits)
			}
		})
	}
}

// A JWKS URL aimed at this machine or a private network (a tenant admin
// probing internal services) is never fetched: the dial refuses the address.
func TestJWKSOnlyFromPublicAddresses(t *testing.T) {
	env := newJWTEnvWith(t, func(*Config) {})
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, kidRSA, claimsA())
	_, err := env.auth.Authenticate(context.Background(), tenantA, "", "Bearer "+tok)
	wantCode(t, err, access.CodeUnauthenticated, "invalid bearer token")
	if n := env.idp.hitsFor("/a"); n != 0 {
		t.Fatalf("the loopback JWKS server was contacted %d times", n)
	}
}

// A JWKS fetch follows no redirect to another host.
func TestJWKSRedirectsStayOnTheHost(t *testing.T) {
	env := newJWTEnv(t)
	other := newIdP(t)
	other.set("/jwks", jwksJSON(t, 0, jwk{kidRSA, &rsaKey.PublicKey, jwkset.AlgRS256}))
	tenant := env.tenants.tenants[tenantA]
	tenant.Settings.JWT.JWKSURL = env.idp.url("/redirect/" + other.url("/jwks"))
	env.tenants.tenants[tenantA] = tenant
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, kidRSA, claimsA())
	_, err := env.auth.Authenticate(context.Background(), tenantA, "", "Bearer "+tok)
	wantCode(t, err, access.CodeUnauthenticated, "invalid bearer token")
	if n := other.hitsFor("/jwks"); n != 0 {
		t.Fatalf("the redirect to another host was followed (%d fetches)", n)
	}
}

// With the operator's allow-list, only its hosts are fetched from.
func TestJWKSAllowList(t *testing.T) {
	env := newJWTEnvWith(t, func(c *Config) { c.AllowPrivateJWKS, c.JWKSHosts = true, []string{"idp.example.com"} })
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, kidRSA, claimsA())
	_, err := env.auth.Authenticate(context.Background(), tenantA, "", "Bearer "+tok)
	wantCode(t, err, access.CodeUnauthenticated, "invalid bearer token")
	if n := env.idp.hitsFor("/a"); n != 0 {
		t.Fatalf("a host outside the allow-list was contacted %d times", n)
	}
}

func TestJWKSClient(t *testing.T) {
	tests := []struct {
		name string
		base *http.Client
		want time.Duration
	}{
		{"default", nil, JWKSFetchTimeout},
		{"no timeout given", &http.Client{}, JWKSFetchTimeout},
		{"longer timeout is cut", &http.Client{Timeout: time.Minute}, JWKSFetchTimeout},
		{"shorter timeout is kept", &http.Client{Timeout: 2 * time.Second}, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := jwksClient(tt.base, false)
			if c.Timeout != tt.want {
				t.Fatalf("timeout = %s, want %s", c.Timeout, tt.want)
			}
			if _, ok := c.Transport.(cappedTransport); !ok {
				t.Fatalf("transport %T is not capped", c.Transport)
			}
			if tt.base != nil && tt.base.Transport != nil {
				t.Fatal("the given client was modified")
			}
		})
	}
}

func TestCappedBody(t *testing.T) {
	tests := []struct {
		size int
		ok   bool
	}{{0, true}, {MaxJWKSSize, true}, {MaxJWKSSize + 1, false}, {10 * MaxJWKSSize, false}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			b := &cappedBody{rc: nopCloser{strings.NewReader(strings.Repeat("x", tt.size))}, max: MaxJWKSSize}
			var total int
			buf := make([]byte, 7000)
			var err error
			for {
				var n int
				n, err = b.Read(buf)
				total += n
				if err != nil {
					break
				}
			}
			if tt.ok != errors.Is(err, io.EOF) || total > MaxJWKSSize {
				t.Fatalf("read %d bytes, err %v; want ok=%v and at most %d bytes", total, err, tt.ok, MaxJWKSSize)
			}
		})
	}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

func TestJWKSEncryptionKeyNotUsed(t *testing.T) {
	env := newJWTEnv(t)
	j, err := jwkset.NewJWKFromKey(&rsaKey.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kidRSA, USE: jwkset.UseEnc}})
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{j.Marshal()}})
	if err != nil {
		t.Fatal(err)
	}
	env.idp.set("/a", body)
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, kidRSA, claimsA())
	_, err = env.auth.Authenticate(context.Background(), tenantA, "", "Bearer "+tok)
	wantCode(t, err, access.CodeUnauthenticated, "invalid bearer token")
}

func TestJWKSFetchTimeout(t *testing.T) {
	testKeys(t)
	slow := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer slow.Close()
	client := slow.Client()
	client.Timeout = 300 * time.Millisecond // a shorter timeout than the 5 s cap is kept
	tenants := &fakeTenants{tenants: map[string]access.Tenant{tenantA: {ID: tenantA, Settings: access.Settings{
		JWT:        access.JWTSettings{Issuer: issuerA, Audience: audA, JWKSURL: slow.URL + "/jwks"},
		GroupRoles: map[string]access.Role{"eng": access.RoleRequester},
	}}}}
	a := New(Config{Keys: newFakeKeys(), Tenants: tenants, Now: func() time.Time { return t0 }, HTTPClient: client, AllowPrivateJWKS: true})
	start := time.Now()
	_, err := a.Authenticate(context.Background(), tenantA, "", "Bearer "+sign(t, jwt.SigningMethodRS256, rsaKey, kidRSA, claimsA()))
	e := wantCode(t, err, access.CodeUnauthenticated, "invalid bearer token")
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a hanging JWKS endpoint held the call for %s (%v)", d, e.Cause)
	}
}
