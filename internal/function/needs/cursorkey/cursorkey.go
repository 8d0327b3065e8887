// Package cursorkey provides the need cursor-key: the keys that seal
// pagination cursors, read from Secrets Manager.
package cursorkey

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function"
	"github.com/elevate-jit/elevate/internal/function/needs/awsconfig"
)

// Provider serves cursor-key.
var Provider = function.Provider{Name: "cursorkey", Needs: []deploy.Need{deploy.NeedCursorKey}, Provide: provide}

func provide(w *function.Wiring) error {
	arn := w.Getenv(deploy.EnvCursorSecretARN)
	if arn == "" {
		return nil // reported missing
	}
	sm := secretsmanager.NewFromConfig(awsconfig.Config(w))
	w.UseCursorKeys(func(ctx context.Context) (*cursor.Sealer, error) {
		return readCursorSecret(ctx, sm, arn)
	})
	return nil
}

// readCursorSecret reads the cursor-sealing keys from Secrets Manager.
func readCursorSecret(ctx context.Context, sm *secretsmanager.Client, arn string) (*cursor.Sealer, error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read the cursor secret %s: %w", deploy.EnvCursorSecretARN, err)
	}
	s, err := function.ParseCursorSecret(aws.ToString(out.SecretString))
	if err != nil {
		return nil, fmt.Errorf("the cursor secret (%s): %w", deploy.EnvCursorSecretARN, err)
	}
	return s, nil
}
