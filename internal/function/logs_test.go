package function_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function"
)

// problemLineEnv makes the test binary a helper process that writes one
// problem line of the kind it names and exits (see TestMain):
// lambdacontext reads the log format once, when the process starts, so the
// real handler in JSON mode needs a process started with
// AWS_LAMBDA_LOG_FORMAT=JSON, as Lambda starts a function the stack
// configured.
const problemLineEnv = "ELEVATE_TEST_PROBLEM_LINE"

func TestMain(m *testing.M) {
	if kind := os.Getenv(problemLineEnv); kind != "" {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "0f6e1c2a-request"})
		report := function.Report(slog.New(function.LogHandler()))
		report(ctx, access.Problem{Kind: access.ProblemKind(kind), Message: "deletion of an assignment of grant g-1 failed; retrying",
			Err: errors.New("AccessDeniedException: not authorized")})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// problemLine runs the test binary as a helper process with the given log
// format and returns what it wrote: one line, through the handler every
// function logs with and the Report hook the domain's problems go through.
func problemLine(t *testing.T, kind, format string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), problemLineEnv+"="+kind, "AWS_LAMBDA_LOG_FORMAT="+format, "AWS_LAMBDA_LOG_LEVEL=INFO")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper process: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("the helper wrote %d lines, want 1:\n%s", len(lines), stdout.String())
	}
	return lines[0]
}

// TestProblemLinesMatchTheStackFilter checks the revocation-failure alarm end
// to end on the function's side: the line the real handler writes for a
// deletion_failed problem, in the JSON format the stack configures, matches
// the filter pattern the stack deploys (deploy.ProblemFilter; infra's tests
// check the template holds exactly that pattern), and lines of other kinds
// do not.
func TestProblemLinesMatchTheStackFilter(t *testing.T) {
	filter := deploy.ProblemFilter(string(access.ProblemDeletionFailed))
	kinds := []access.ProblemKind{access.ProblemDeletionFailed, access.ProblemCreationFailed, access.ProblemAssignmentMissing, access.ProblemWorkflow}
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			line := problemLine(t, string(kind), "JSON")
			var fields map[string]any
			if err := json.Unmarshal([]byte(line), &fields); err != nil {
				t.Fatalf("not a JSON line: %v\n%s", err, line)
			}
			// The keys Lambda reads for its level filter and the ones people search by.
			for key, want := range map[string]any{"level": "WARN", deploy.ProblemKey: string(kind), "requestId": "0f6e1c2a-request"} {
				if fields[key] != want {
					t.Errorf("%s = %v, want %v in %s", key, fields[key], want, line)
				}
			}
			for _, key := range []string{"timestamp", "message", "error"} {
				if _, ok := fields[key]; !ok {
					t.Errorf("no %q in %s", key, line)
				}
			}
			got, err := filterMatches(filter, line)
			if err != nil {
				t.Fatal(err)
			}
			if want := kind == access.ProblemDeletionFailed; got != want {
				t.Errorf("%s matches %s: %v, want %v", filter, line, got, want)
			}
		})
	}
	// In Lambda's default text format the same problem matches nothing: the
	// stack must configure JSON.
	line := problemLine(t, string(access.ProblemDeletionFailed), "TEXT")
	if got, err := filterMatches(filter, line); err != nil || got {
		t.Errorf("a text line matches %s (%v): %s", filter, err, line)
	}
}

// filterTerm is one comparison of a CloudWatch Logs JSON filter pattern.
var filterTerm = regexp.MustCompile(`^\s*\$\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*=\s*"([^"*]*)"\s*$`)

// filterMatches evaluates a CloudWatch Logs JSON filter pattern against one
// log event, for the subset of the syntax the stack writes: "{ TERM }" or
// "{ TERM && TERM … }", where a TERM is `$.a.b = "text"`: the property at
// that path is a string equal to text (no wildcards, no arrays, no numbers,
// no ||, IS NULL or EXISTS). As in CloudWatch, an event that is not a JSON
// object matches nothing. A pattern outside the subset is an error, so it
// cannot pass unread.
func filterMatches(pattern, event string) (bool, error) {
	body, open := strings.CutPrefix(strings.TrimSpace(pattern), "{")
	body, closed := strings.CutSuffix(body, "}")
	if !open || !closed {
		return false, fmt.Errorf("filter %q: not a JSON filter pattern { … }", pattern)
	}
	var doc map[string]any
	isJSON := json.Unmarshal([]byte(event), &doc) == nil
	match := isJSON
	for _, term := range strings.Split(body, "&&") {
		m := filterTerm.FindStringSubmatch(term)
		if m == nil {
			return false, fmt.Errorf("filter %q: %q is outside the evaluated subset ($.path = \"text\")", pattern, term)
		}
		if !isJSON {
			continue
		}
		var v any = doc
		for _, key := range strings.Split(m[1], ".") {
			obj, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = obj[key]
		}
		if s, ok := v.(string); !ok || s != m[2] {
			match = false
		}
	}
	return match, nil
}

func TestFilterMatches(t *testing.T) {
	line := `{"level":"WARN","problem":"deletion_failed","grant":{"id":"g-1"}}`
	for _, c := range []struct {
		pattern string
		event   string
		want    bool
		err     bool
	}{
		{`{ $.problem = "deletion_failed" }`, line, true, false},
		{`{$.problem="deletion_failed"}`, line, true, false},
		{`{ $.problem = "creation_failed" }`, line, false, false},
		{`{ $.grant.id = "g-1" && $.level = "WARN" }`, line, true, false},
		{`{ $.grant.id = "g-1" && $.level = "ERROR" }`, line, false, false},
		{`{ $.missing = "x" }`, line, false, false},
		{`{ $.problem = "deletion_failed" }`, `time=… level=WARN msg=… problem=deletion_failed`, false, false},
		{`{ $.problem = "deletion*" }`, line, false, true},
		{`{ $.problem = "a" || $.level = "WARN" }`, line, false, true},
		{`"deletion_failed"`, line, false, true},
	} {
		got, err := filterMatches(c.pattern, c.event)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("filterMatches(%s, %s) = %v, %v; want %v, error %v", c.pattern, c.event, got, err, c.want, c.err)
		}
	}
}
