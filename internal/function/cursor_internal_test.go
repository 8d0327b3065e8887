package function

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/clock"
	"github.com/elevate-jit/elevate/internal/cursor"
)

// TestCursorKeysRefresh checks that a container reads the cursor secret
// again once cursorKeysRefresh has passed, and not before, and keeps its keys
// when a read fails.
func TestCursorKeysRefresh(t *testing.T) {
	k1, k2 := strings.Repeat("cd", 32), strings.Repeat("ab", 32)
	secret := `{"id":"k1","secret":"` + k1 + `"}`
	var fail bool
	reads := 0
	load := func(context.Context) (*cursor.Sealer, error) {
		reads++
		if fail {
			return nil, errors.New("secrets manager is down")
		}
		return ParseCursorSecret(secret)
	}
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	keys, err := newCursorKeys(t.Context(), load, clk.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b := cursor.Binding{TenantID: "t", PrincipalID: "p", Query: "q"}
	promoted, err := ParseCursorSecret(`{"id":"k2","secret":"` + k2 + `"}`)
	if err != nil {
		t.Fatal(err)
	}
	fromNewContainer := promoted.Seal(b, []byte("pos"), clk.Now().Add(time.Hour))

	secret = `{"id":"k1","secret":"` + k1 + `","next":[{"id":"k2","secret":"` + k2 + `"}]}`
	clk.Advance(cursorKeysRefresh - time.Second)
	keys.refresh(t.Context())
	if reads != 1 {
		t.Fatalf("%d reads before the refresh interval, want 1", reads)
	}
	if _, err := keys.Open(b, fromNewContainer, clk.Now()); err == nil {
		t.Fatal("opened a k2 cursor before reading the staged secret")
	}
	clk.Advance(time.Second)
	keys.refresh(t.Context())
	if reads != 2 {
		t.Fatalf("%d reads after the interval, want 2", reads)
	}
	if _, err := keys.Open(b, fromNewContainer, clk.Now()); err != nil {
		t.Fatalf("the staged key does not open: %v", err)
	}

	fail = true
	clk.Advance(cursorKeysRefresh)
	keys.refresh(t.Context())
	if _, err := keys.Open(b, fromNewContainer, clk.Now()); err != nil || reads != 3 {
		t.Fatalf("after a failed read (%d reads) the keys changed: %v", reads, err)
	}
}
