package cursor

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// FuzzOpen opens arbitrary cursors, as a list route does with ?cursor=. No
// input may panic; a refusal is invalid_cursor with one of Open's messages;
// a cursor that opens holds the position it was sealed with. Seeds are in
// testdata/fuzz/FuzzOpen.
func FuzzOpen(f *testing.F) {
	s := mustNew(f, keyB, keyA)
	f.Add(s.Seal(binding, []byte("p"), t0.Add(time.Hour)))
	f.Add(mustNew(f, keyA).Seal(binding, nil, t0.Add(time.Hour)))
	f.Add(s.Seal(binding, []byte("expired"), t0))
	f.Fuzz(func(t *testing.T, c string) {
		pos, err := s.Open(binding, c, t0)
		if err != nil {
			var e *access.Error
			if !errors.As(err, &e) || e.Code != access.CodeInvalidCursor ||
				!slices.Contains([]string{msgNotValid, "cursor has expired", "cursor is too long"}, e.Message) {
				t.Fatalf("Open(%q) = %v, want an invalid_cursor error with one of Open's messages", c, err)
			}
			return
		}
		// Only a sealed cursor opens, and only for its own binding.
		if len(c) > MaxLen {
			t.Fatalf("Open accepted a cursor of %d characters", len(c))
		}
		again, err := s.Open(binding, s.Seal(binding, pos, t0.Add(time.Minute)), t0)
		if err != nil || !bytes.Equal(again, pos) {
			t.Fatalf("reseal of %q failed: %v", pos, err)
		}
		for _, b := range []Binding{{binding.TenantID, binding.PrincipalID, binding.Query + " "}, {binding.TenantID, "bob", binding.Query}} {
			if _, err := s.Open(b, c, t0); err == nil {
				t.Fatalf("cursor %q opens for %+v too", c, b)
			}
		}
	})
}

// FuzzSealOpen seals a position for one binding and opens it: it opens for
// that binding to the same position, and for no other binding, however the
// fields' bytes are split between tenant, principal and query.
func FuzzSealOpen(f *testing.F) {
	s := mustNew(f, keyA)
	f.Add(binding.TenantID, binding.PrincipalID, binding.Query, binding.TenantID, binding.PrincipalID, binding.Query+"&limit=1", []byte("pos"))
	f.Add("ab", "c", "", "a", "bc", "", []byte{})
	f.Add("", "", "", "", "", "", bytes.Repeat([]byte{0xff}, 1600))
	f.Fuzz(func(t *testing.T, tenant, principal, query, tenant2, principal2, query2 string, position []byte) {
		b, other := Binding{tenant, principal, query}, Binding{tenant2, principal2, query2}
		c := s.Seal(b, position, t0.Add(time.Minute))
		got, err := s.Open(b, c, t0)
		switch {
		case len(c) > MaxLen:
			if err == nil {
				t.Fatalf("a cursor of %d characters opened", len(c))
			}
			return
		case err != nil:
			t.Fatalf("Open(Seal(%+v, %q)) = %v", b, position, err)
		case !bytes.Equal(got, position):
			t.Fatalf("Open(Seal(%q)) = %q", position, got)
		}
		if _, err := s.Open(other, c, t0); (err == nil) != (b == other) {
			t.Fatalf("a cursor sealed for %+v opened for %+v: %v", b, other, err)
		}
		if _, err := s.Open(b, c, t0.Add(time.Minute)); err == nil {
			t.Fatal("a cursor opened at its expiry")
		}
	})
}
