package function

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/deploy"
)

// cursorSecret reads the cursor-sealing keys from Secrets Manager.
func cursorSecret(ctx context.Context, sm *secretsmanager.Client, arn string) (*cursor.Sealer, error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read the cursor secret %s: %w", deploy.EnvCursorSecretARN, err)
	}
	s, err := ParseCursorSecret(aws.ToString(out.SecretString))
	if err != nil {
		return nil, fmt.Errorf("the cursor secret (%s): %w", deploy.EnvCursorSecretARN, err)
	}
	return s, nil
}

// cursorSecretJSON is the secret the stack generates: a key id and 32 bytes
// as 64 hex digits, and optionally older keys that still open cursors (so a
// key can be rotated without breaking cursors in flight).
type cursorSecretJSON struct {
	ID       string `json:"id"`
	Secret   string `json:"secret"`
	Previous []struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	} `json:"previous"`
}

// ParseCursorSecret reads the cursor-sealing keys from the secret's text:
// the stack's JSON ({"id","secret"(hex),"previous"?}), or the local form
// "id:base64,id:base64" (the first seals, all open).
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
	var older []cursor.Key
	for _, p := range j.Previous {
		k, err := key(p.ID, p.Secret)
		if err != nil {
			return nil, err
		}
		older = append(older, k)
	}
	return cursor.New(cur, older...)
}
