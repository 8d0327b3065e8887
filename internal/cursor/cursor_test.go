package cursor

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

var (
	t0      = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	binding = Binding{TenantID: "6f1c0e0a-5d0b-4c1e-9a57-2f1d3c4b5a69", PrincipalID: "alice", Query: "GET /v1/requests?status=pending"}
	keyA    = Key{ID: "k2025a", Secret: bytes.Repeat([]byte{0xa1}, 32)}
	keyB    = Key{ID: "k2025b", Secret: bytes.Repeat([]byte{0xb2}, 32)}
)

func mustNew(t testing.TB, current Key, older ...Key) *Sealer {
	t.Helper()
	s, err := New(current, older...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// wantInvalid fails unless err is an invalid_cursor *access.Error with msg.
func wantInvalid(t *testing.T, err error, msg string) {
	t.Helper()
	var e *access.Error
	if !errors.As(err, &e) || e.Code != access.CodeInvalidCursor {
		t.Fatalf("err = %v, want an invalid_cursor *access.Error", err)
	}
	if msg != "" && e.Message != msg {
		t.Fatalf("message = %q, want %q", e.Message, msg)
	}
}

func TestRoundTrip(t *testing.T) {
	s := mustNew(t, keyA)
	for _, pos := range [][]byte{nil, {}, []byte("req#2025-03-01T11:59:00Z#01J"), bytes.Repeat([]byte{0}, 1000)} {
		c := s.Seal(binding, pos, t0.Add(time.Hour))
		if !strings.HasPrefix(c, keyA.ID+".") {
			t.Fatalf("cursor %q lacks the key id prefix", c)
		}
		if strings.ContainsAny(c, "+/=") {
			t.Fatalf("cursor %q is not URL-safe", c)
		}
		if strings.Contains(c, "req#") {
			t.Fatalf("cursor %q leaks the position", c)
		}
		got, err := s.Open(binding, c, t0)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, pos) {
			t.Fatalf("position = %q, want %q", got, pos)
		}
	}
	if a, b := s.Seal(binding, []byte("p"), t0), s.Seal(binding, []byte("p"), t0); a == b {
		t.Fatal("two seals of the same position are equal; the nonce is not random")
	}
}

func TestTamperAnyByte(t *testing.T) {
	s := mustNew(t, keyA)
	c := s.Seal(binding, []byte("position-42"), t0.Add(time.Hour))
	_, body, _ := strings.Cut(c, ".")
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(raw)
			bad[i] ^= bit
			_, err := s.Open(binding, keyA.ID+"."+base64.RawURLEncoding.EncodeToString(bad), t0)
			wantInvalid(t, err, "cursor is not valid for this query")
		}
	}
	// Truncated and extended ciphertexts fail too.
	for _, bad := range [][]byte{raw[:len(raw)-1], raw[:5], append(bytes.Clone(raw), 0)} {
		_, err := s.Open(binding, keyA.ID+"."+base64.RawURLEncoding.EncodeToString(bad), t0)
		wantInvalid(t, err, "cursor is not valid for this query")
	}
}

func TestForeignBinding(t *testing.T) {
	s := mustNew(t, keyA)
	c := s.Seal(binding, []byte("p"), t0.Add(time.Hour))
	tests := []struct {
		name string
		b    Binding
	}{
		{"another tenant", Binding{TenantID: "0d6f0e0a-5d0b-4c1e-9a57-2f1d3c4b5a69", PrincipalID: binding.PrincipalID, Query: binding.Query}},
		{"another principal", Binding{TenantID: binding.TenantID, PrincipalID: "mallory", Query: binding.Query}},
		{"another query", Binding{TenantID: binding.TenantID, PrincipalID: binding.PrincipalID, Query: "GET /v1/grants"}},
		{"fields shifted", Binding{TenantID: binding.TenantID + "alice", PrincipalID: "", Query: binding.Query}},
		{"empty", Binding{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Open(tt.b, c, t0)
			wantInvalid(t, err, "cursor is not valid for this query")
		})
	}
}

func TestExpiry(t *testing.T) {
	s := mustNew(t, keyA)
	exp := t0.Add(10 * time.Minute)
	c := s.Seal(binding, []byte("p"), exp)
	tests := []struct {
		name    string
		now     time.Time
		expired bool
	}{
		{"well before", t0, false},
		{"just before", exp.Add(-time.Millisecond), false},
		{"at expiry", exp, true},
		{"after", exp.Add(time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Open(binding, c, tt.now)
			if tt.expired {
				wantInvalid(t, err, "cursor has expired")
			} else if err != nil {
				t.Fatalf("Open: %v", err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old := mustNew(t, keyA)
	c := old.Seal(binding, []byte("from-old"), t0.Add(time.Hour))

	rotated := mustNew(t, keyB, keyA)
	got, err := rotated.Open(binding, c, t0)
	if err != nil || string(got) != "from-old" {
		t.Fatalf("rotated Open of an old cursor = %q, %v", got, err)
	}
	if c2 := rotated.Seal(binding, []byte("p"), t0.Add(time.Hour)); !strings.HasPrefix(c2, keyB.ID+".") {
		t.Fatalf("rotated Sealer seals with %q, want the current key %q", c2, keyB.ID)
	}

	// Once the old key is retired its cursors no longer open.
	retired := mustNew(t, keyB)
	_, err = retired.Open(binding, c, t0)
	wantInvalid(t, err, "cursor is not valid for this query")
}

func TestUnknownOrSwappedKeyID(t *testing.T) {
	s := mustNew(t, keyB, keyA)
	c := s.Seal(binding, []byte("p"), t0.Add(time.Hour))
	_, body, _ := strings.Cut(c, ".")
	for _, bad := range []string{"nokey." + body, keyA.ID + "." + body, "." + body, body} {
		_, err := s.Open(binding, bad, t0)
		wantInvalid(t, err, "cursor is not valid for this query")
	}
}

func TestGarbageAndTooLong(t *testing.T) {
	s := mustNew(t, keyA)
	for _, c := range []string{"", ".", "k2025a.", "k2025a.!!!", "k2025a.AAAA", "k2025a.AAAA=", "k2025a.a.b", "k2025a.\x00"} {
		_, err := s.Open(binding, c, t0)
		wantInvalid(t, err, "cursor is not valid for this query")
	}
	long := keyA.ID + "." + strings.Repeat("A", MaxLen)
	_, err := s.Open(binding, long, t0)
	wantInvalid(t, err, "cursor is too long")
}

func TestNewRejects(t *testing.T) {
	good := bytes.Repeat([]byte{1}, 32)
	tests := []struct {
		name    string
		current Key
		older   []Key
	}{
		{"empty id", Key{ID: "", Secret: good}, nil},
		{"dot in id", Key{ID: "a.b", Secret: good}, nil},
		{"short secret", Key{ID: "a", Secret: good[:16]}, nil},
		{"long secret", Key{ID: "a", Secret: append(bytes.Clone(good), 1)}, nil},
		{"duplicate id", Key{ID: "a", Secret: good}, []Key{{ID: "a", Secret: good}}},
		{"bad older", Key{ID: "a", Secret: good}, []Key{{ID: "b", Secret: nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.current, tt.older...); err == nil {
				t.Fatal("New accepted invalid keys")
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	a := base64.StdEncoding.EncodeToString(keyA.Secret)
	b := base64.RawURLEncoding.EncodeToString(keyB.Secret)
	s, err := ParseKeys(" k2025b:" + b + " , k2025a:" + a)
	if err != nil {
		t.Fatalf("ParseKeys: %v", err)
	}
	c := s.Seal(binding, []byte("p"), t0.Add(time.Hour))
	if !strings.HasPrefix(c, "k2025b.") {
		t.Fatalf("the first key is not current: %q", c)
	}
	// It interoperates with a Sealer built from the same keys.
	if _, err := mustNew(t, keyA, keyB).Open(binding, c, t0); err != nil {
		t.Fatalf("Open: %v", err)
	}

	bad := []string{
		"",
		"   ",
		"k1",
		"k1:",
		"k1:not base64!",
		":" + a,
		"k1:" + base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"k1:" + a + ",k1:" + a,
		"k1:" + a + ",",
		"k.1:" + a,
	}
	for _, in := range bad {
		if _, err := ParseKeys(in); err == nil {
			t.Errorf("ParseKeys(%q) accepted", in)
		} else if strings.Contains(err.Error(), a) {
			t.Errorf("ParseKeys error leaks the secret: %v", err)
		}
	}
}
