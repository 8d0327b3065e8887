// Package cursor seals list positions into opaque pagination cursors.
//
// A cursor is "<key id>.<base64url(nonce | AES-256-GCM ciphertext)>". The
// plaintext holds the expiry and the store's position; the tenant, the
// principal, the query and the key id are the AEAD's additional data, so a
// cursor opens only for the caller and the list it was issued for. The key
// is a deployment secret with an id (never a per-process random key), so any
// instance opens any instance's cursors, and older keys can still be accepted
// while a new one is rolled out.
package cursor

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// MaxLen is the longest cursor Open accepts, in characters. Seal keeps a
// position of up to about 1,400 bytes under it.
const MaxLen = 2048

// SecretSize is the length of a key's secret: AES-256.
const SecretSize = 32

const (
	// version is the plaintext layout: version, expiry (Unix ms), position.
	version    = 1
	headerSize = 1 + 8
	maxIDLen   = 32
	adPrefix   = "elevate/cursor/v1"
)

// Key is a deployment key that seals cursors; its ID travels in the cursor so
// the right key can be chosen after a rotation.
type Key struct {
	ID     string
	Secret []byte
}

// Sealer seals and opens cursors with a current key and, for rotation, older
// keys that are still accepted. It is safe for concurrent use.
type Sealer struct {
	currentID string
	aeads     map[string]cipher.AEAD
}

// Binding is what a cursor is valid for. Query is a canonical string of the
// list route and its filters, built by the caller, so a cursor of one query
// cannot page through another.
type Binding struct {
	TenantID    string
	PrincipalID string
	Query       string
}

// New builds a Sealer that seals with current and opens cursors of current
// and of the older keys.
func New(current Key, older ...Key) (*Sealer, error) {
	s := &Sealer{currentID: current.ID, aeads: make(map[string]cipher.AEAD, 1+len(older))}
	for _, k := range append([]Key{current}, older...) {
		if !validID(k.ID) {
			return nil, fmt.Errorf("cursor key id %q: must be 1 to %d characters of A-Z, a-z, 0-9, '-' or '_'", k.ID, maxIDLen)
		}
		if _, dup := s.aeads[k.ID]; dup {
			return nil, fmt.Errorf("cursor key id %q: duplicated", k.ID)
		}
		if len(k.Secret) != SecretSize {
			return nil, fmt.Errorf("cursor key %q: secret must be %d bytes, not %d", k.ID, SecretSize, len(k.Secret))
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("cursor key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("cursor key %q: %w", k.ID, err)
		}
		s.aeads[k.ID] = aead
	}
	return s, nil
}

// ParseKeys builds a Sealer from "id1:base64secret,id2:base64secret", the form
// of an environment variable or secret value; the first key is the current one.
func ParseKeys(s string) (*Sealer, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("cursor keys: none given")
	}
	var keys []Key
	for i, part := range strings.Split(s, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("cursor keys: entry %d is not of the form id:base64secret", i+1)
		}
		secret, err := decodeSecret(strings.TrimSpace(b64))
		if err != nil {
			// The error names the entry, never the secret.
			return nil, fmt.Errorf("cursor keys: entry %d (%q): secret is not valid base64", i+1, id)
		}
		keys = append(keys, Key{ID: strings.TrimSpace(id), Secret: secret})
	}
	return New(keys[0], keys[1:]...)
}

func decodeSecret(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.Strict().DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Seal returns a URL-safe cursor for position, valid for b until expires.
func (s *Sealer) Seal(b Binding, position []byte, expires time.Time) string {
	plain := make([]byte, headerSize, headerSize+len(position))
	plain[0] = version
	binary.BigEndian.PutUint64(plain[1:], uint64(expires.UnixMilli()))
	plain = append(plain, position...)
	sealed := s.aeads[s.currentID].Seal(nil, nil, plain, additionalData(s.currentID, b))
	return s.currentID + "." + base64.RawURLEncoding.EncodeToString(sealed)
}

// Open returns the position sealed in cursor, or an invalid_cursor error when
// the cursor is malformed, tampered with, sealed with an unknown key, issued
// for another tenant, principal or query, or expired at now.
func (s *Sealer) Open(b Binding, cursor string, now time.Time) ([]byte, error) {
	if len(cursor) > MaxLen {
		return nil, invalid("cursor is too long", errors.New("cursor longer than MaxLen"))
	}
	id, body, ok := strings.Cut(cursor, ".")
	if !ok {
		return nil, invalid(msgNotValid, errors.New("cursor has no key id"))
	}
	aead, ok := s.aeads[id]
	if !ok {
		return nil, invalid(msgNotValid, errors.New("cursor sealed with an unknown key id"))
	}
	sealed, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return nil, invalid(msgNotValid, fmt.Errorf("cursor is not base64url: %w", err))
	}
	plain, err := aead.Open(nil, nil, sealed, additionalData(id, b))
	if err != nil {
		return nil, invalid(msgNotValid, fmt.Errorf("cursor does not open for this binding: %w", err))
	}
	if len(plain) < headerSize || plain[0] != version {
		return nil, invalid(msgNotValid, errors.New("cursor plaintext has an unknown layout"))
	}
	expires := time.UnixMilli(int64(binary.BigEndian.Uint64(plain[1:headerSize])))
	if !now.Before(expires) {
		return nil, invalid("cursor has expired", fmt.Errorf("cursor expired at %s", expires.UTC().Format(time.RFC3339)))
	}
	return plain[headerSize:], nil
}

const msgNotValid = "cursor is not valid for this query"

func invalid(msg string, cause error) error {
	e := access.Errorf(access.CodeInvalidCursor, "%s", msg)
	e.Cause = cause
	return e
}

// additionalData binds a cursor to its key id and binding. Every field is
// length-prefixed so no two bindings encode alike.
func additionalData(keyID string, b Binding) []byte {
	fields := []string{keyID, b.TenantID, b.PrincipalID, b.Query}
	n := len(adPrefix)
	for _, f := range fields {
		n += binary.MaxVarintLen64 + len(f)
	}
	ad := make([]byte, 0, n)
	ad = append(ad, adPrefix...)
	for _, f := range fields {
		ad = binary.AppendUvarint(ad, uint64(len(f)))
		ad = append(ad, f...)
	}
	return ad
}
