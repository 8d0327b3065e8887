package infra

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// Synth is the CDK app: the stack, configured from the context, with the
// checks, synthesized to the directory the CDK CLI gives.
func Synth() error {
	defer jsii.Close()
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	// cdk.json runs the app in infra/ (go -C infra run …), but the CLI
	// gives paths relative to its own directory, the repository root; the
	// jsii runtime starts with the first call below, in the new directory.
	if err := os.Chdir(root); err != nil {
		return err
	}
	app := awscdk.NewApp(nil)
	if _, err := Build(app, root); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

// Build adds Elevate's stack, configured from app's context, and the checks.
func Build(app awscdk.App, root string) (*Stack, error) {
	get := func(key string) any { return app.Node().TryGetContext(jsii.String(key)) }
	cfg, err := ConfigFromContext(get)
	if err != nil {
		return nil, err
	}
	name := DefaultStackName
	if v, ok := get(CtxStackName).(string); ok && v != "" {
		name = v
	}
	stack, err := NewStack(app, name, &Props{
		StackProps: awscdk.StackProps{
			Description: jsii.String("Elevate: just-in-time AWS access through IAM Identity Center"),
		},
		Config: cfg,
		Root:   root,
	})
	if err != nil {
		return nil, err
	}
	AddChecks(app)
	return stack, nil
}

// RepoRoot is the nearest directory at or above the working directory that
// holds cdk.json: the CDK CLI runs the app from there (cdk.json changes into
// infra/ first), and the tests run in infra/.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "cdk.json")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no cdk.json in the working directory or above it")
		}
		dir = parent
	}
}
