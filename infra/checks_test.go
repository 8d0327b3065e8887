package infra_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestNoUnsuppressedNagErrors(t *testing.T) {
	f := stack(t)
	annotations := assertions.Annotations_FromStack(f.stack.Stack)
	errs := annotations.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, e := range *errs {
		t.Errorf("%s: %v", *e.Id, e.Entry.Data)
	}
	warnings := annotations.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, w := range *warnings {
		t.Errorf("unsuppressed cdk-nag warning %s: %v", *w.Id, w.Entry.Data)
	}
}

// TestSuppressionsSayWhy holds every cdk-nag suppression in the template to
// a reason of its own, and every wildcard (IAM5) or managed policy (IAM4)
// suppression to the exact findings it allows.
func TestSuppressionsSayWhy(t *testing.T) {
	f := stack(t)
	reasons := map[string]string{} // reason -> rule id
	n := 0
	for id, r := range f.doc["Resources"].(map[string]any) {
		meta, _ := r.(map[string]any)["Metadata"].(map[string]any)
		nag, _ := meta["cdk_nag"].(map[string]any)
		rules, _ := nag["rules_to_suppress"].([]any)
		for _, rule := range rules {
			n++
			s := rule.(map[string]any)
			rid, reason := s["id"].(string), s["reason"].(string)
			if len(reason) < 80 {
				t.Errorf("%s %s: reason too short to be specific: %q", id, rid, reason)
			}
			for _, vague := range []string{"false positive", "not needed", "acceptable", "by design."} {
				if strings.EqualFold(strings.TrimSpace(reason), vague) {
					t.Errorf("%s %s: vague reason %q", id, rid, reason)
				}
			}
			if other, ok := reasons[reason]; ok && other != rid {
				t.Errorf("%s: the same reason serves %s and %s", id, rid, other)
			}
			reasons[reason] = rid
			if (rid == "AwsSolutions-IAM5" || rid == "AwsSolutions-IAM4") && s["applies_to"] == nil {
				t.Errorf("%s %s: suppressed without appliesTo, so it hides every finding of the rule", id, rid)
			}
		}
	}
	if n == 0 {
		t.Fatal("no suppressions found in the template's metadata")
	}
}

// cfnLintAllowed are the cfn-lint warnings the template may carry:
// W3005 (a DependsOn the CDK adds, from a function to its role, that a GetAtt
// already implies) is harmless.
var cfnLintAllowed = []string{"W3005"}

func TestCfnLint(t *testing.T) {
	f := stack(t)
	raw, err := json.Marshal(f.doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "Elevate.template.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cfnLint(t, path)
}

// TestMemberAccountTemplates lints the templates operators deploy in member
// accounts (infra/member-account).
func TestMemberAccountTemplates(t *testing.T) {
	paths, err := filepath.Glob("member-account/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no member-account templates: %v", err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) { cfnLint(t, p) })
	}
}

// cfnLint runs cfn-lint on a template and fails on any finding but the
// allowed warnings.
func cfnLint(t *testing.T, path string) {
	t.Helper()
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("cfn-lint is not installed (pip install cfn-lint)")
		}
		t.Skip("cfn-lint is not installed")
	}
	var out bytes.Buffer
	cmd := exec.Command(lint, "--format", "json", "--", path)
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	err = cmd.Run()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		t.Fatal(err)
	}
	var findings []struct {
		Rule struct {
			ID string `json:"Id"`
		} `json:"Rule"`
		Level    string `json:"Level"`
		Message  string `json:"Message"`
		Location struct {
			Path []any `json:"Path"`
		} `json:"Location"`
	}
	if err := json.Unmarshal(out.Bytes(), &findings); err != nil {
		t.Fatalf("cfn-lint output: %v\n%s", err, out.String())
	}
	for _, fd := range findings {
		if fd.Level == "Warning" && slices.Contains(cfnLintAllowed, fd.Rule.ID) || fd.Level == "Informational" {
			continue
		}
		t.Errorf("cfn-lint %s %s: %s (at %v)", fd.Level, fd.Rule.ID, fd.Message, fd.Location.Path)
	}
}
