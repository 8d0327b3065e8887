// Command elevate-cdk is the CDK app (cdk.json runs it from the repository
// root): it reads the deployment's settings from the context, builds
// Elevate's stack and runs cdk-nag's AwsSolutions checks on it.
package main

import (
	"fmt"
	"os"

	"github.com/elevate-jit/elevate/infra"
)

func main() {
	if err := infra.Synth(); err != nil {
		fmt.Fprintln(os.Stderr, "elevate-cdk:", err)
		os.Exit(1)
	}
}
