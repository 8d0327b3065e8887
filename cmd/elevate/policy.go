package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/elevate-jit/elevate/internal/policy"
)

const policyUsage = `Usage:
  elevate policy validate FILE           parse FILE and type-check it against Elevate's schema
  elevate policy test FILE CASES.json    run a table of requests against FILE; exit 1 on any mismatch
  elevate policy schema                  print Elevate's Cedar schema
  elevate policy default                 print the default policy set of new tenants
`

// policyCmd runs the policy subcommands, so tenants can check and test policy
// changes in their own CI before uploading them.
func policyCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, policyUsage) }
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	rest := fs.Args()[1:]
	switch sub := fs.Arg(0); {
	case sub == "validate" && len(rest) == 1:
		set, err := parsePolicyFile(rest[0])
		if err != nil {
			printPolicyError(stderr, rest[0], err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: %d policies, valid\n", rest[0], set.Len())
		return 0
	case sub == "test" && len(rest) == 2:
		return policyTest(rest[0], rest[1], stdout, stderr)
	case sub == "schema" && len(rest) == 0:
		fmt.Fprint(stdout, policy.SchemaText)
		return 0
	case sub == "default" && len(rest) == 0:
		fmt.Fprint(stdout, policy.DefaultText)
		return 0
	}
	fs.Usage()
	return 2
}

func parsePolicyFile(path string) (*policy.Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return policy.Parse(path, b)
}

func printPolicyError(w io.Writer, path string, err error) {
	var pe *policy.ParseError
	if !errors.As(err, &pe) {
		fmt.Fprintf(w, "%s: %v\n", path, err)
		return
	}
	for _, p := range pe.Problems {
		fmt.Fprintf(w, "%s:%s\n", path, p.String())
	}
}

func policyTest(policyPath, casesPath string, stdout, stderr io.Writer) int {
	set, err := parsePolicyFile(policyPath)
	if err != nil {
		printPolicyError(stderr, policyPath, err)
		return 1
	}
	b, err := os.ReadFile(casesPath)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	cases, err := policy.ParseCases(b)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", casesPath, err)
		return 1
	}
	results, err := cases.Run(set)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", casesPath, err)
		return 1
	}
	failed := 0
	for _, r := range results {
		if r.Passed() {
			fmt.Fprintf(stdout, "ok    %s\n", r.Name)
			continue
		}
		failed++
		fmt.Fprintf(stdout, "FAIL  %s\n", r.Name)
		for _, p := range r.Problems {
			fmt.Fprintf(stdout, "        %s\n", p)
		}
	}
	fmt.Fprintf(stdout, "%d cases, %d failed\n", len(results), failed)
	if failed > 0 {
		return 1
	}
	return 0
}
