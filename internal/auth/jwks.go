package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/elevate-jit/elevate/internal/netguard"
)

// JWKS fetch limits: a tenant's identity provider is fetched with a short
// timeout and a size cap, and not more often than these allow.
const (
	JWKSFetchTimeout = 5 * time.Second
	MaxJWKSSize      = 64 << 10
	// JWKSRefetchInterval is the least time between two refetches of one URL
	// caused by tokens with an unknown kid.
	JWKSRefetchInterval = time.Minute
	// DefaultJWKSMaxAge is how long a fetched key set is used before the next
	// token makes Elevate fetch it again (on demand; nothing runs in the
	// background).
	DefaultJWKSMaxAge = time.Hour
	// jwksRetryInterval is the least time between two full fetches of one URL
	// when the previous one failed or the set aged out.
	jwksRetryInterval = time.Minute
	maxJWKSURLs       = 1024
)

var (
	errInsecureJWKS = errors.New("JWKS URL must use https")
	errJWKSTooLarge = fmt.Errorf("JWKS response exceeds %d bytes", MaxJWKSSize)
)

// jwksCache holds one keyfunc per JWKS URL, built lazily on first use and
// shared by all calls and tenants that name the URL.
//
// The limits are enforced as follows. The HTTP client has a 5 s Timeout
// (which covers refetches too: jwkset applies its own HTTPTimeout only to the
// first fetch) and a transport that refuses non-https URLs, redirects
// included, and fails a body over 64 KiB. jwkset storages are created with
// RefreshInterval 0, so no refresh goroutine is started. An unknown kid makes
// jwkset refetch the set through a per-URL rate.Limiter allowing one refetch a
// minute; RateLimitWaitMax bounds how long a caller waits for it, and a
// caller that would wait longer is refused at once.
type jwksCache struct {
	client       *http.Client
	now          func() time.Time
	maxAge       time.Duration
	retryEvery   time.Duration
	refetchEvery time.Duration // JWKSRefetchInterval; shorter only in tests
	hosts        []string      // the operator's allow-list; empty allows any public host

	mu      sync.Mutex
	entries map[string]*jwksEntry
}

type jwksEntry struct {
	// limiter spaces unknown-kid refetches; it outlives rebuilds of kf.
	limiter *rate.Limiter

	mu          sync.Mutex // held while fetching, so one caller fetches for all
	kf          keyfunc.Keyfunc
	builtAt     time.Time
	lastAttempt time.Time
	lastErr     error
}

func newJWKSCache(client *http.Client, now func() time.Time, maxAge time.Duration, hosts []string) *jwksCache {
	return &jwksCache{
		client: client, now: now, maxAge: maxAge, hosts: hosts,
		retryEvery: jwksRetryInterval, refetchEvery: JWKSRefetchInterval,
		entries: make(map[string]*jwksEntry),
	}
}

// checkJWKSURL refuses anything but an absolute https URL without user info,
// and, with an allow-list, a host not on it.
func (c *jwksCache) checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return errInsecureJWKS
	}
	if len(c.hosts) > 0 && !slices.ContainsFunc(c.hosts, func(h string) bool { return strings.EqualFold(h, u.Hostname()) }) {
		return fmt.Errorf("JWKS host %s is not on the operator's allow-list", u.Hostname())
	}
	return nil
}

// keyfunc returns the jwt.Keyfunc for rawURL, fetching the key set when it is
// not cached, aged out, or (at most once per retry interval) failed before.
func (c *jwksCache) keyfunc(ctx context.Context, rawURL string) (jwt.Keyfunc, error) {
	if err := c.checkJWKSURL(rawURL); err != nil {
		return nil, err
	}
	e := c.entry(rawURL)

	e.mu.Lock()
	defer e.mu.Unlock()
	now := c.now()
	fresh := e.kf != nil && now.Sub(e.builtAt) < c.maxAge
	if !fresh && (e.lastAttempt.IsZero() || now.Sub(e.lastAttempt) >= c.retryEvery) {
		e.lastAttempt = now
		// The fetch fills a cache shared by every caller, so one caller going
		// away must not abort it; the client's timeout bounds it.
		kf, err := c.build(context.WithoutCancel(ctx), rawURL, e.limiter)
		if err == nil {
			e.kf, e.builtAt, e.lastErr = kf, now, nil
		} else {
			e.lastErr = err
		}
	}
	if e.kf == nil {
		return nil, fmt.Errorf("JWKS %s unavailable: %w", rawURL, e.lastErr)
	}
	// A stale set is still used while refetching it fails.
	return e.kf.KeyfuncCtx(ctx), nil
}

func (c *jwksCache) entry(rawURL string) *jwksEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[rawURL]; ok {
		return e
	}
	if len(c.entries) >= maxJWKSURLs {
		for u := range c.entries { // drop an arbitrary entry; it is rebuilt on demand
			delete(c.entries, u)
			break
		}
	}
	e := &jwksEntry{limiter: rate.NewLimiter(rate.Every(c.refetchEvery), 1)}
	c.entries[rawURL] = e
	return e
}

// build fetches the key set once and returns a keyfunc over it that refetches
// on an unknown kid through limiter.
func (c *jwksCache) build(ctx context.Context, rawURL string, limiter *rate.Limiter) (keyfunc.Keyfunc, error) {
	storage, err := jwkset.NewStorageFromHTTP(rawURL, jwkset.HTTPClientStorageOptions{
		Client:      c.client,
		Ctx:         ctx,
		HTTPTimeout: JWKSFetchTimeout,
		// RefreshInterval 0: no background goroutine; refreshes happen on
		// demand only. A failed first fetch is an error, so the previous set
		// (if any) stays in use.
		NoErrorReturnFirstHTTPReq: false,
	})
	if err != nil {
		return nil, err
	}
	client, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{rawURL: storage},
		RefreshUnknownKID: limiter,
		// Also bounds the refetch that follows the wait.
		RateLimitWaitMax: JWKSFetchTimeout,
	})
	if err != nil {
		return nil, err
	}
	return keyfunc.New(keyfunc.Options{
		Storage: client,
		// Keys marked for encryption never verify signatures.
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
}

// jwksClient derives the client JWKS fetches use from base (nil means the
// default transport): its timeout is at most JWKSFetchTimeout, its
// transport only speaks https, caps bodies at MaxJWKSSize and (unless
// allowPrivate) dials public internet addresses only, and it follows
// redirects only to the same host.
func jwksClient(base *http.Client, allowPrivate bool) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	if c.Timeout <= 0 || c.Timeout > JWKSFetchTimeout {
		c.Timeout = JWKSFetchTimeout
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if !allowPrivate {
		rt = publicOnly(rt)
	}
	c.Transport = cappedTransport{base: rt, max: MaxJWKSSize}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 || req.URL.Scheme != "https" || !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
			return fmt.Errorf("JWKS redirect to %s refused: only redirects on the same https host are followed", req.URL.Host)
		}
		return nil
	}
	return c
}

// publicOnly returns rt dialling only public internet addresses (checked
// after name resolution, so a name resolving to a private address fails).
// A transport that is not an *http.Transport cannot be guarded and is
// refused outright.
func publicOnly(rt http.RoundTripper) http.RoundTripper {
	t, ok := rt.(*http.Transport)
	if !ok {
		return refusingTransport{}
	}
	t = t.Clone()
	t.Proxy = nil // a proxy would dial on our behalf, unchecked
	t.DialContext = netguard.DialContext(&net.Dialer{Timeout: JWKSFetchTimeout, KeepAlive: 30 * time.Second})
	return t
}

// refusingTransport fetches nothing.
type refusingTransport struct{}

func (refusingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, netguard.ErrNotPublic
}

// cappedTransport refuses plain-http requests and limits response bodies.
type cappedTransport struct {
	base http.RoundTripper
	max  int64
}

func (t cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errInsecureJWKS
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &cappedBody{rc: resp.Body, max: t.max, tooLarge: resp.ContentLength > t.max}
	return resp, nil
}

// cappedBody fails once more than max bytes have been read.
type cappedBody struct {
	rc       io.ReadCloser
	max, n   int64
	tooLarge bool
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.tooLarge || b.n > b.max {
		return 0, errJWKSTooLarge
	}
	if room := b.max + 1 - b.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return n - int(b.n-b.max), errJWKSTooLarge
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
