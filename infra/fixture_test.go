package infra_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/elevate-jit/elevate/infra"
	"github.com/elevate-jit/elevate/internal/deploy"
)

// The deployment the tests synthesize: real-looking Identity Center
// settings, two protected accounts and an RDS lookup role.
const (
	testInstanceARN = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
	testStoreID     = "d-1234567890"
	testProtected   = "111111111111,222222222222"
	testRDSRole     = "elevate/rds-lookup"
	// testReserved is the reserved concurrency: not the default (none), so
	// that the tests see the reservations in the template.
	testReserved = 12
)

// fixture is one synthesized stack, shared by the tests: building it takes
// the jsii runtime several seconds.
type fixture struct {
	stack    *infra.Stack
	template assertions.Template
	// doc is the template as JSON.
	doc map[string]any
}

// TestMain removes the temporary directories the synthesized stacks used.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range temporary {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// temporary are the directories to remove after the tests.
var temporary []string

func tempDir(pattern string) (string, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err == nil {
		temporary = append(temporary, dir)
	}
	return dir, err
}

var (
	shared     *fixture
	sharedErr  error
	sharedOnce sync.Once
)

// stack returns the shared stack, built once per test binary.
func stack(t *testing.T) *fixture {
	t.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = build(map[string]any{
			infra.CtxInstanceARN:         testInstanceARN,
			infra.CtxIdentityStoreID:     testStoreID,
			infra.CtxProtectedAccounts:   testProtected,
			infra.CtxRDSLookupRole:       testRDSRole,
			infra.CtxReservedConcurrency: testReserved,
		})
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// build synthesizes Elevate's stack with cdk.json's context (its feature
// flags), the given context and a bin directory of dummy binaries.
func build(context map[string]any) (f *fixture, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synthesis panicked: %v", r)
		}
	}()
	ctx, err := cdkJSONContext()
	if err != nil {
		return nil, err
	}
	bin, err := dummyBinaries()
	if err != nil {
		return nil, err
	}
	ctx[infra.CtxBinDir] = bin
	for k, v := range context {
		ctx[k] = v
	}
	out, err := tempDir("elevate-cdk-out-")
	if err != nil {
		return nil, err
	}
	a := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)})
	s, err := infra.Build(a, "..")
	if err != nil {
		return nil, err
	}
	tpl := assertions.Template_FromStack(s.Stack, nil)
	raw, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		return nil, err
	}
	f = &fixture{stack: s, template: tpl}
	return f, json.Unmarshal(raw, &f.doc)
}

// cdkJSONContext is the "context" block of the repository's cdk.json.
func cdkJSONContext() (map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join("..", "cdk.json"))
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	if cfg.Context == nil {
		cfg.Context = map[string]any{}
	}
	return cfg.Context, nil
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// dummyBinaries is a bin directory with a stand-in bootstrap per function.
func dummyBinaries() (string, error) {
	binOnce.Do(func() {
		binDir, binErr = tempDir("elevate-bin-")
		for _, f := range deploy.Functions {
			if binErr != nil {
				return
			}
			dir := filepath.Join(binDir, f.Name)
			if binErr = os.MkdirAll(dir, 0o755); binErr == nil {
				binErr = os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n# "+f.Name+"\n"), 0o755)
			}
		}
	})
	return binDir, binErr
}

// must runs an assertion of the CDK's, which panics when it fails.
func must(t *testing.T, what string, assert func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assert()
}

// resources returns the template's resources of one type, by logical id.
func (f *fixture) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range f.doc["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func (f *fixture) resource(t *testing.T, id string) map[string]any {
	t.Helper()
	r, ok := f.doc["Resources"].(map[string]any)[id].(map[string]any)
	if !ok {
		t.Fatalf("no resource %s", id)
	}
	return r
}

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

// functionID is the logical id of the function for name.
func (f *fixture) functionID(t *testing.T, name string) string {
	t.Helper()
	fn, ok := f.stack.Functions[name]
	if !ok {
		t.Fatalf("no function %s", name)
	}
	return f.idOf(fn)
}

// idOf is the logical id of a construct's CloudFormation resource.
func (f *fixture) idOf(c constructs.IConstruct) string {
	return *f.stack.Stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}

// statement is one IAM policy statement, normalized: Action and Resource
// always lists.
type statement struct {
	Sid       string
	Effect    string
	Actions   []string
	Resources []any
	Condition map[string]any
}

// policy returns the statements of a role's policies in the template.
func (f *fixture) policy(t *testing.T, roleID string) []statement {
	t.Helper()
	var out []statement
	for _, r := range f.resources("AWS::IAM::Policy") {
		p := props(r)
		attached := false
		for _, role := range p["Roles"].([]any) {
			if ref, ok := role.(map[string]any)["Ref"]; ok && ref == roleID {
				attached = true
			}
		}
		if !attached {
			continue
		}
		for _, s := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			out = append(out, normalize(s.(map[string]any)))
		}
	}
	return out
}

func normalize(s map[string]any) statement {
	st := statement{Effect: s["Effect"].(string)}
	if sid, ok := s["Sid"].(string); ok {
		st.Sid = sid
	}
	switch a := s["Action"].(type) {
	case string:
		st.Actions = []string{a}
	case []any:
		for _, x := range a {
			st.Actions = append(st.Actions, x.(string))
		}
	}
	switch r := s["Resource"].(type) {
	case []any:
		st.Resources = r
	default:
		st.Resources = []any{r}
	}
	if c, ok := s["Condition"].(map[string]any); ok {
		st.Condition = c
	}
	return st
}

// functionPolicy returns the statements of a function's role.
func (f *fixture) functionPolicy(t *testing.T, name string) []statement {
	t.Helper()
	return f.policy(t, f.idOf(f.stack.Roles[name]))
}

// actions lists every action a set of statements allows.
func allowed(sts []statement) []string {
	var out []string
	for _, s := range sts {
		if s.Effect == "Allow" {
			out = append(out, s.Actions...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func hasPrefix(actions []string, prefix string) bool {
	return slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, prefix) })
}

// ref is {"Ref": id}.
func ref(id string) map[string]any { return map[string]any{"Ref": id} }

// getAtt is {"Fn::GetAtt": [id, attr]}.
func getAtt(id, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// render writes a template value as a string: literals as they are,
// {"Ref": X} as <X>, {"Fn::GetAtt": [X, A]} as <X.A>, and Fn::Join joined,
// so that tests need not know how the CDK folds literals into joins.
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if r, ok := x["Ref"].(string); ok {
			return "<" + r + ">"
		}
		if ga, ok := x["Fn::GetAtt"].([]any); ok {
			return "<" + ga[0].(string) + "." + ga[1].(string) + ">"
		}
		if j, ok := x["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}
