package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/elevate-jit/elevate/internal/policy"
)

// policyValidate parses and type-checks a policy file, so tenants can check
// policy changes in their own CI before uploading them.
func policyValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("policy validate", stderr)
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(stderr, "policy validate", "give one policy file")
	}
	set, err := parsePolicyFile(fs.Arg(0))
	if err != nil {
		printPolicyError(stderr, fs.Arg(0), err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d policies, valid\n", fs.Arg(0), set.Len())
	return 0
}

// policyPrint prints the schema or the default policy set.
func policyPrint(name string, args []string, stdout, stderr io.Writer) int {
	fs := newFlags(name, stderr)
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() != 0 {
		return usageError(stderr, name, "takes no arguments")
	}
	if name == "policy schema" {
		fmt.Fprint(stdout, policy.SchemaText)
	} else {
		fmt.Fprint(stdout, policy.DefaultText)
	}
	return 0
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

// policyTest runs a table of requests against a policy file.
func policyTest(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("policy test", stderr)
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() != 2 {
		return usageError(stderr, "policy test", "give a policy file and a cases file")
	}
	policyPath, casesPath := fs.Arg(0), fs.Arg(1)
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
