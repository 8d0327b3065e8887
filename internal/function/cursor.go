package function

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/elevate-jit/elevate/internal/cursor"
)

// cursorKeysRefresh is how often a container reads the cursor secret
// again. A key rotation (docs/deploy.md) waits at least this long between
// its steps, so that every container running then has seen the step before.
const cursorKeysRefresh = 5 * time.Minute

// cursorKeys seals and opens cursors with the keys of the cursor secret as
// last read, and reads it again every cursorKeysRefresh, before an
// invocation (refresh), so that a rotation reaches containers that started
// before it. A failed read keeps the keys it had.
type cursorKeys struct {
	load func(context.Context) (*cursor.Sealer, error)
	now  func() time.Time
	log  *slog.Logger

	mu     sync.RWMutex
	sealer *cursor.Sealer
	loaded time.Time
}

// newCursorKeys reads the keys once; a container that cannot read them does
// not start.
func newCursorKeys(ctx context.Context, load func(context.Context) (*cursor.Sealer, error), now func() time.Time, log *slog.Logger) (*cursorKeys, error) {
	s, err := load(ctx)
	if err != nil {
		return nil, err
	}
	return &cursorKeys{load: load, now: now, log: log, sealer: s, loaded: now()}, nil
}

// refresh reads the secret again when the keys are older than
// cursorKeysRefresh.
func (k *cursorKeys) refresh(ctx context.Context) {
	k.mu.RLock()
	due := k.now().Sub(k.loaded) >= cursorKeysRefresh
	k.mu.RUnlock()
	if !due {
		return
	}
	s, err := k.load(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.loaded = k.now()
	if err != nil {
		k.log.WarnContext(ctx, "cannot read the cursor secret again; keeping its keys as they were", "error", err)
		return
	}
	k.sealer = s
}

func (k *cursorKeys) current() *cursor.Sealer {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.sealer
}

// Seal seals with the current key.
func (k *cursorKeys) Seal(b cursor.Binding, position []byte, expires time.Time) string {
	return k.current().Seal(b, position, expires)
}

// Open opens a cursor of any key the secret lists.
func (k *cursorKeys) Open(b cursor.Binding, c string, now time.Time) ([]byte, error) {
	return k.current().Open(b, c, now)
}

// cursorSecretJSON is the secret the stack generates: a key id and 32 bytes
// as 64 hex digits. A rotation adds keys that open cursors but do not seal
// them: "next" for a key that will seal once every container has it,
// "previous" for the keys of cursors still in flight (docs/deploy.md).
type cursorSecretJSON struct {
	ID       string          `json:"id"`
	Secret   string          `json:"secret"`
	Next     []cursorKeyJSON `json:"next"`
	Previous []cursorKeyJSON `json:"previous"`
}

type cursorKeyJSON struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

// ParseCursorSecret reads the cursor-sealing keys from the secret's text:
// the stack's JSON ({"id","secret"(hex),"next"?,"previous"?}: the first
// key seals, all open), or the local form "id:base64,id:base64" (the first
// seals, all open).
func ParseCursorSecret(text string) (*cursor.Sealer, error) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "{") {
		return cursor.ParseKeys(text)
	}
	var j cursorSecretJSON
	if err := json.Unmarshal([]byte(text), &j); err != nil {
		return nil, errors.New("the secret is neither id:base64 keys nor the stack's JSON")
	}
	key := func(id, hexSecret string) (cursor.Key, error) {
		b, err := hex.DecodeString(hexSecret)
		if err != nil || len(b) != cursor.SecretSize {
			return cursor.Key{}, fmt.Errorf("key %q: the secret must be %d bytes as hex", id, cursor.SecretSize)
		}
		return cursor.Key{ID: id, Secret: b}, nil
	}
	cur, err := key(j.ID, j.Secret)
	if err != nil {
		return nil, err
	}
	var others []cursor.Key
	for _, p := range append(j.Next, j.Previous...) {
		k, err := key(p.ID, p.Secret)
		if err != nil {
			return nil, err
		}
		others = append(others, k)
	}
	return cursor.New(cur, others...)
}
