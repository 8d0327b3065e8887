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
//
// The first read starts with the container's first call (refresh) and runs
// beside it rather than before it: a cold start does not wait on Secrets
// Manager before it takes the call, and the call waits for the keys only
// when it seals or opens a cursor. The call returns only once the first
// read has ended (at most firstReadTimeout), so that no read is left in
// flight when Lambda freezes the container between calls. A call that needs
// the keys while they cannot be read fails (internal error) and the next
// such call reads again.
type cursorKeys struct {
	ctx  context.Context // the container's, for the first read
	load func(context.Context) (*cursor.Sealer, error)
	now  func() time.Time
	log  *slog.Logger

	start sync.Once
	// first is closed when the first read has ended, however it ended;
	// firstTimeout bounds it (firstReadTimeout).
	first        chan struct{}
	firstTimeout time.Duration

	mu     sync.RWMutex
	sealer *cursor.Sealer // nil until a read succeeds
	loaded time.Time
}

// newCursorKeys returns keys that have not been read yet.
func newCursorKeys(ctx context.Context, load func(context.Context) (*cursor.Sealer, error), now func() time.Time, log *slog.Logger) *cursorKeys {
	return &cursorKeys{ctx: ctx, load: load, now: now, log: log, first: make(chan struct{}), firstTimeout: firstReadTimeout}
}

// firstReadTimeout bounds the first read, which no call's context does.
const firstReadTimeout = 5 * time.Second

// startFirstRead starts the first read, once, in the background.
func (k *cursorKeys) startFirstRead() {
	k.start.Do(func() {
		go func() {
			defer close(k.first)
			ctx, cancel := context.WithTimeout(k.ctx, k.firstTimeout)
			defer cancel()
			if err := k.read(ctx); err != nil {
				k.log.WarnContext(k.ctx, "cannot read the cursor secret; the next call that needs it reads it again", "error", err)
			}
		}()
	})
}

// read reads the keys; a failed read keeps those it had.
func (k *cursorKeys) read(ctx context.Context) error {
	s, err := k.load(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.loaded = k.now()
	if err != nil {
		return err
	}
	k.sealer = s
	return nil
}

// refresh runs before every call: it starts the first read, and reads the
// secret again when the keys are older than cursorKeysRefresh. It does not
// wait for the first read; what it returns, which runs after the call,
// does.
func (k *cursorKeys) refresh(ctx context.Context) (after func()) {
	k.startFirstRead()
	select {
	case <-k.first:
	default:
		return func() {
			select {
			case <-k.first:
			case <-ctx.Done():
			}
		}
	}
	k.mu.RLock()
	due := k.sealer != nil && k.now().Sub(k.loaded) >= cursorKeysRefresh
	k.mu.RUnlock()
	if !due {
		return nil
	}
	if err := k.read(ctx); err != nil {
		k.log.WarnContext(ctx, "cannot read the cursor secret again; keeping its keys as they were", "error", err)
	}
	return nil
}

// current returns the keys, waiting for the first read, and reading again
// if no read has succeeded yet.
func (k *cursorKeys) current(ctx context.Context) (*cursor.Sealer, error) {
	k.startFirstRead()
	select {
	case <-k.first:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the cursor keys: %w", ctx.Err())
	}
	k.mu.RLock()
	s := k.sealer
	k.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	if err := k.read(ctx); err != nil {
		return nil, fmt.Errorf("no cursor keys: %w", err)
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.sealer, nil
}

// Seal seals with the current key.
func (k *cursorKeys) Seal(ctx context.Context, b cursor.Binding, position []byte, expires time.Time) (string, error) {
	s, err := k.current(ctx)
	if err != nil {
		return "", err
	}
	return s.Seal(b, position, expires), nil
}

// Open opens a cursor of any key the secret lists.
func (k *cursorKeys) Open(ctx context.Context, b cursor.Binding, c string, now time.Time) ([]byte, error) {
	s, err := k.current(ctx)
	if err != nil {
		return nil, err
	}
	return s.Open(b, c, now)
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
