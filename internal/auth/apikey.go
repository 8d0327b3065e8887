package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
)

// API key layout: "elv_" + key id (10 random bytes) + "_" + secret (32 random
// bytes), both in unpadded lowercase base32.
const (
	apiKeyPrefix   = "elv_"
	keyIDBytes     = 10
	secretBytes    = 32
	keyIDLen       = 16 // base32 of 10 bytes
	secretLen      = 52 // base32 of 32 bytes, unpadded
	apiKeyLen      = len(apiKeyPrefix) + keyIDLen + 1 + secretLen
	base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567"
)

var keyEncoding = base32.NewEncoding(base32Alphabet).WithPadding(base32.NoPadding)

// NewAPIKey generates a key id and secret and the full key to show its owner
// once; only HashSecret(secret) is stored.
func NewAPIKey() (id, secret, full string, err error) {
	b := make([]byte, keyIDBytes+secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", "", fmt.Errorf("generate API key: %w", err)
	}
	id = keyEncoding.EncodeToString(b[:keyIDBytes])
	secret = keyEncoding.EncodeToString(b[keyIDBytes:])
	return id, secret, apiKeyPrefix + id + "_" + secret, nil
}

// MintKey makes a new API key for access.Config.MintKey: its id, the full key
// to show its owner once, and the hash to store.
func MintKey() (id, full string, hash []byte, err error) {
	id, secret, full, err := NewAPIKey()
	if err != nil {
		return "", "", nil, err
	}
	return id, full, HashSecret(secret), nil
}

// ParseAPIKey splits a full key into its id and secret. It is strict: the
// prefix, the lengths and the alphabet must be exact, and each part must be
// the canonical encoding of its random bytes.
func ParseAPIKey(full string) (id, secret string, ok bool) {
	if len(full) != apiKeyLen || full[:len(apiKeyPrefix)] != apiKeyPrefix || full[len(apiKeyPrefix)+keyIDLen] != '_' {
		return "", "", false
	}
	id = full[len(apiKeyPrefix) : len(apiKeyPrefix)+keyIDLen]
	secret = full[len(apiKeyPrefix)+keyIDLen+1:]
	if !canonical(id, keyIDBytes) || !canonical(secret, secretBytes) {
		return "", "", false
	}
	return id, secret, true
}

// canonical reports whether s is exactly the encoding of n bytes; this also
// rejects a final character with stray low bits, so every key has one
// spelling.
func canonical(s string, n int) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	b, err := keyEncoding.DecodeString(s)
	return err == nil && len(b) == n && keyEncoding.EncodeToString(b) == s
}

// HashSecret is the stored form of an API key secret.
//
// A plain SHA-256 is enough: the secret is 256 bits from crypto/rand, so a
// leaked hash cannot be reversed by guessing, and slow password hashes
// (bcrypt, argon2) only protect low-entropy secrets while costing every API
// call milliseconds of CPU.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// secretMatches compares a presented secret with a stored hash in constant time.
func secretMatches(storedHash []byte, secret string) bool {
	return subtle.ConstantTimeCompare(storedHash, HashSecret(secret)) == 1
}
