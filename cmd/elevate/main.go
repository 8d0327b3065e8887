// Command elevate is Elevate's operator tool: it runs the local server and
// validates and tests Cedar policy sets.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `elevate: just-in-time access to AWS

Usage:
  elevate serve [flags]                 run the API locally on an embedded store
  elevate policy validate FILE          check a Cedar policy set against Elevate's schema
  elevate policy test FILE CASES.json   run a table of requests against a policy set
  elevate tenant create [flags]         create a tenant and its first admin key (DynamoDB)
  elevate apikey create [flags]         create an API key for a tenant's user (DynamoDB)
  elevate help                          show this help

Run "elevate <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "policy":
		return policyCmd(args[1:], stdout, stderr)
	case "tenant":
		return tenantCmd(ctx, args[1:], stdout, stderr)
	case "apikey":
		return apikeyCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "elevate: unknown command %q\n\n%s", args[0], usage)
	return 2
}
