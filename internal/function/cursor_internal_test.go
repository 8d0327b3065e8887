package function

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
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
	keys := newCursorKeys(t.Context(), load, clk.Now, slog.New(slog.DiscardHandler))
	keys.refresh(t.Context()) // the first call starts the first read
	<-keys.first
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
	if _, err := keys.Open(t.Context(), b, fromNewContainer, clk.Now()); err == nil {
		t.Fatal("opened a k2 cursor before reading the staged secret")
	}
	clk.Advance(time.Second)
	keys.refresh(t.Context())
	if reads != 2 {
		t.Fatalf("%d reads after the interval, want 2", reads)
	}
	if _, err := keys.Open(t.Context(), b, fromNewContainer, clk.Now()); err != nil {
		t.Fatalf("the staged key does not open: %v", err)
	}

	fail = true
	clk.Advance(cursorKeysRefresh)
	keys.refresh(t.Context())
	if _, err := keys.Open(t.Context(), b, fromNewContainer, clk.Now()); err != nil || reads != 3 {
		t.Fatalf("after a failed read (%d reads) the keys changed: %v", reads, err)
	}
}

// TestCursorKeysFirstReadBesideTheCall checks that a container does not read
// the cursor secret before it takes its first call: the first read starts
// with it and runs beside it, a call waits for the keys only to seal or open a cursor, a
// failed first read fails such a call (no silent cursor) and the next one
// reads again.
func TestCursorKeysFirstReadBesideTheCall(t *testing.T) {
	secret := `{"id":"k1","secret":"` + strings.Repeat("cd", 32) + `"}`
	b := cursor.Binding{TenantID: "t", PrincipalID: "p", Query: "q"}
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	log := slog.New(slog.DiscardHandler)

	t.Run("the call waits only for a cursor", func(t *testing.T) {
		release, started := make(chan struct{}), make(chan struct{}, 1)
		load := func(context.Context) (*cursor.Sealer, error) {
			started <- struct{}{}
			<-release
			return ParseCursorSecret(secret)
		}
		keys := newCursorKeys(t.Context(), load, clk.Now, log)
		if reads := len(started); reads != 0 {
			t.Fatalf("%d reads before the first call, want 0", reads)
		}
		after := keys.refresh(t.Context()) // starts the read and does not wait for it
		<-started
		if after == nil {
			t.Fatal("the first call's refresh leaves nothing to wait for the read in flight")
		}
		var readEnded atomic.Bool
		afterSawRead := make(chan bool)
		go func() {
			after() // the call returns only once the read has ended
			afterSawRead <- readEnded.Load()
		}()
		sealed := make(chan string)
		go func() {
			c, err := keys.Seal(t.Context(), b, []byte("pos"), clk.Now().Add(time.Hour))
			if err != nil {
				t.Error(err)
			}
			sealed <- c
		}()
		readEnded.Store(true)
		close(release)
		if !<-afterSawRead {
			t.Error("the first call returned with the read in flight")
		}
		c := <-sealed
		if pos, err := keys.Open(t.Context(), b, c, clk.Now()); err != nil || string(pos) != "pos" {
			t.Fatalf("Open = %q, %v", pos, err)
		}
	})

	t.Run("a call without keys fails and reads again", func(t *testing.T) {
		reads := 0
		load := func(context.Context) (*cursor.Sealer, error) {
			reads++
			if reads <= 2 {
				return nil, errors.New("secrets manager is down")
			}
			return ParseCursorSecret(secret)
		}
		keys := newCursorKeys(t.Context(), load, clk.Now, log)
		keys.refresh(t.Context())
		<-keys.first
		keys.refresh(t.Context()) // no keys yet: refresh leaves the reading to the calls
		if reads != 1 {
			t.Fatalf("%d reads after refresh, want 1", reads)
		}
		if _, err := keys.Open(t.Context(), b, "x", clk.Now()); err == nil {
			t.Fatal("Open without keys succeeded")
		} else if access.CodeOf(err) != access.CodeInternal {
			t.Fatalf("Open without keys = %v: an API code, not an internal error", err)
		}
		c, err := keys.Seal(t.Context(), b, []byte("pos"), clk.Now().Add(time.Hour))
		if err != nil || c == "" || reads != 3 {
			t.Fatalf("Seal after two failed reads = %q, %v (%d reads)", c, err, reads)
		}
	})

	t.Run("a first read that hangs ends", func(t *testing.T) {
		reads := 0
		keys := newCursorKeys(t.Context(), func(ctx context.Context) (*cursor.Sealer, error) {
			reads++
			if reads == 1 {
				<-ctx.Done() // a connection frozen mid-read
				return nil, ctx.Err()
			}
			return ParseCursorSecret(secret)
		}, clk.Now, log)
		keys.firstTimeout = time.Millisecond
		if after := keys.refresh(t.Context()); after != nil {
			after()
		}
		if _, err := keys.Seal(t.Context(), b, []byte("pos"), clk.Now().Add(time.Hour)); err != nil || reads != 2 {
			t.Fatalf("Seal after a hung first read = %v (%d reads)", err, reads)
		}
	})

	t.Run("a call gives up when its context ends", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		keys := newCursorKeys(t.Context(), func(context.Context) (*cursor.Sealer, error) {
			<-release
			return ParseCursorSecret(secret)
		}, clk.Now, log)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := keys.Seal(ctx, b, []byte("pos"), clk.Now()); !errors.Is(err, context.Canceled) {
			t.Fatalf("Seal with an ended context = %v", err)
		}
	})
}
