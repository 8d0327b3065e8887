package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	tenantA = "6f1c0e0a-5d0b-4c1e-9a57-2f1d3c4b5a69"
	tenantB = "0d6f0e0a-5d0b-4c1e-9a57-2f1d3c4b5a70"
	tenantC = "1a2b3c4d-5d0b-4c1e-9a57-2f1d3c4b5a71" // exists, no JWT settings
	nobody  = "99999999-5d0b-4c1e-9a57-2f1d3c4b5a72" // does not exist
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeKeys is a KeyStore that counts its lookups.
type fakeKeys struct {
	mu    sync.Mutex
	keys  map[string]access.APIKey
	calls map[string]int
	err   error
}

func newFakeKeys() *fakeKeys {
	return &fakeKeys{keys: map[string]access.APIKey{}, calls: map[string]int{}}
}

func (f *fakeKeys) GetAPIKey(_ context.Context, id string) (access.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[id]++
	if f.err != nil {
		return access.APIKey{}, f.err
	}
	k, ok := f.keys[id]
	if !ok {
		return access.APIKey{}, fmt.Errorf("API key %s: %w", id, access.ErrNotFound)
	}
	return k, nil
}

func (f *fakeKeys) put(k access.APIKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[k.ID] = k
}

func (f *fakeKeys) callsFor(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

// fakeTenants is a TenantStore over a fixed set of tenants.
type fakeTenants struct {
	tenants map[string]access.Tenant
	// gets and issuerLookups count the calls, by tenant id and by issuer.
	mu                  sync.Mutex
	gets, issuerLookups map[string]int
}

func (f *fakeTenants) GetTenant(_ context.Context, id string) (access.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gets == nil {
		f.gets = map[string]int{}
	}
	f.gets[id]++
	t, ok := f.tenants[id]
	if !ok {
		return access.Tenant{}, fmt.Errorf("tenant %s: %w", id, access.ErrNotFound)
	}
	return t, nil
}

func (f *fakeTenants) TenantIDForIssuer(_ context.Context, issuer, audience string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.issuerLookups == nil {
		f.issuerLookups = map[string]int{}
	}
	f.issuerLookups[issuer]++
	for id, t := range f.tenants {
		if t.Settings.JWT.Enabled() && t.Settings.JWT.Issuer == issuer && t.Settings.JWT.Audience == audience {
			return id, nil
		}
	}
	return "", fmt.Errorf("tenant of issuer %s: %w", issuer, access.ErrNotFound)
}

// wantCode fails unless err is an *access.Error with this code and, when msg
// is not empty, a message containing msg.
func wantCode(t *testing.T, err error, code access.Code, msg string) *access.Error {
	t.Helper()
	var e *access.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *access.Error %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%v), want %s", e.Code, err, code)
	}
	if msg != "" && !strings.Contains(e.Message, msg) {
		t.Fatalf("message = %q, want it to contain %q", e.Message, msg)
	}
	return e
}
