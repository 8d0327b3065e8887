package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/local"
	"github.com/elevate-jit/elevate/internal/policy"
)

func TestShippedDefaultPoliciesMatchTheEmbeddedSet(t *testing.T) {
	b, err := os.ReadFile("../../testdata/policies/default.cedar")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != policy.DefaultText {
		t.Fatal("testdata/policies/default.cedar differs from internal/policy/default.cedar; copy it over")
	}
}

func TestPolicyCommands(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.cedar")
	os.WriteFile(broken, []byte(`@id("x") permit (principal, action == Elevate::Action::"request", resource) when { context.nope };`), 0o600)
	wrongCases := filepath.Join(dir, "wrong.json")
	os.WriteFile(wrongCases, []byte(`{"cases":[{"name":"admin is auto","request":{"principal":{"id":"a"},"resource":{"type":"aws_account","id":"123456789012"},"action":"Admin","duration_seconds":60},"expect":{"decision":"allow","approval_mode":"auto"}}]}`), 0o600)
	typoCases := filepath.Join(dir, "typo.json")
	os.WriteFile(typoCases, []byte(`{"cases":[{"name":"x","request":{"principal":{"id":"a"}},"expect":{"decison":"allow"}}]}`), 0o600)
	def, cases := "../../testdata/policies/default.cedar", "../../testdata/policies/default.cases.json"
	for _, c := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"validate default", []string{"policy", "validate", def}, 0, "valid"},
		{"validate broken", []string{"policy", "validate", broken}, 1, "nope"},
		{"validate missing", []string{"policy", "validate", filepath.Join(dir, "none.cedar")}, 1, "no such file"},
		{"test default", []string{"policy", "test", def, cases}, 0, "0 failed"},
		{"test mismatch", []string{"policy", "test", def, wrongCases}, 1, "approval mode is \"require\", want \"auto\""},
		{"test typo in cases", []string{"policy", "test", def, typoCases}, 1, "decison"},
		{"schema", []string{"policy", "schema"}, 0, "namespace Elevate"},
		{"usage", []string{"policy"}, 2, "Usage"},
		{"validate without a file", []string{"policy", "validate"}, 2, "give one policy file"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown subcommand", []string{"tenant", "delete"}, 2, `unknown command "tenant delete"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), c.args, &out, &errb)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out.String(), errb.String())
			}
			if all := out.String() + errb.String(); !strings.Contains(all, c.out) {
				t.Fatalf("output lacks %q:\n%s", c.out, all)
			}
		})
	}
}

// TestHelp asks every command for help: it exits 0 and starts with the
// command's one-line summary, which the top-level help lists too.
func TestHelp(t *testing.T) {
	var top bytes.Buffer
	if code := run(context.Background(), []string{"help"}, &top, io.Discard); code != 0 {
		t.Fatalf("elevate help exited %d", code)
	}
	for _, c := range commands {
		if !strings.Contains(top.String(), c.summary) {
			t.Errorf("elevate help does not list %q:\n%s", c.name, top.String())
		}
		for _, flag := range []string{"-h", "--help"} {
			t.Run(c.name+" "+flag, func(t *testing.T) {
				var out, errb bytes.Buffer
				code := run(context.Background(), append(strings.Fields(c.name), flag), &out, &errb)
				first, _, _ := strings.Cut(out.String(), "\n")
				if code != 0 || first != "elevate "+c.name+": "+c.summary {
					t.Fatalf("exit %d, first line %q; want 0 and the summary\nstderr: %s", code, first, errb.String())
				}
			})
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"tenant", "-h"}, {"policy", "--help"}, {"apikey", "-h"}, {"help", "tenant"}, {"help", "tenant", "show"}, {"policy", "validate", "x.cedar", "-h"}} {
		var out bytes.Buffer
		if code := run(context.Background(), args, &out, io.Discard); code != 0 || !strings.HasPrefix(out.String(), "elevate") {
			t.Errorf("elevate %s: exit %d, output %q", strings.Join(args, " "), code, out.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &out, io.Discard); code != 0 || !regexp.MustCompile(`^elevate \S+ \(go1\.\S+ \w+/\w+\)\n$`).MatchString(out.String()) {
		t.Fatalf("elevate version: exit %d, %q", code, out.String())
	}
	mod := func(v string, settings ...debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Version: v}, Settings: settings}
	}
	for _, c := range []struct {
		linked string
		info   *debug.BuildInfo
		want   string
	}{
		{"v1.2.3", mod("v0.0.0-x"), "v1.2.3"},
		{"", mod("v0.4.0"), "v0.4.0"},
		{"", mod("(devel)", debug.BuildSetting{Key: "vcs.revision", Value: "e377f32b1c2d3e4f"}, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "devel-e377f32b1c2d+dirty"},
		{"", mod("(devel)"), "devel"},
		{"", nil, "devel"},
	} {
		if got := buildVersion(c.linked, c.info); got != c.want {
			t.Errorf("buildVersion(%q, %+v) = %q, want %q", c.linked, c.info, got, c.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while serve writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServe runs `elevate serve` as `make dev` does and uses what it prints.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir)
	out, errb, base, demo := &s.out, &s.errb, s.base, s.demo
	if !strings.Contains(out.String(), demo.Tenants[0].Keys.Requester) || !strings.Contains(out.String(), "curl -s $ELEVATE/v1/requests") {
		t.Fatalf("serve did not print the keys and examples:\n%s", out.String())
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/requests", nil)
	req.Header.Set("X-Tenant-ID", demo.Tenants[0].ID)
	req.Header.Set("X-API-Key", demo.Tenants[0].Keys.Requester)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/requests: %d", res.StatusCode)
	}
	// Demo keys expire, as every key should.
	keys := call(t, "GET", base+"/v1/api-keys", demo.Tenants[0].ID, demo.Tenants[0].Keys.Admin, "", 200)
	data, _ := keys["data"].([]any)
	for _, k := range data {
		if k, _ := k.(map[string]any); k["expires_at"] == nil {
			t.Errorf("demo key %v never expires", k["id"])
		}
	}
	if len(data) != 4 {
		t.Errorf("listed %d demo keys, want 4", len(data))
	}
	s.stop(t)
	_ = errb
	// The cursor key outlives the process: the file exists with private permissions.
	if fi, err := os.Stat(filepath.Join(dir, "keys")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cursor key file: %v %v", fi, err)
	}
}

// served is a running `elevate serve`.
type served struct {
	out, errb syncBuffer
	base      string
	demo      local.Demo
	cancel    context.CancelFunc
	done      chan int
}

// startServe runs `elevate serve` on a free port with extra flags, and
// reads the address and, when it seeds the demo (always on the memory
// store, only with --demo on DynamoDB), the demo keys it reports.
func startServe(t *testing.T, dir string, flags ...string) *served {
	t.Helper()
	demoOut := filepath.Join(dir, "demo.json")
	seeds := !slices.Contains(flags, "dynamodb") || slices.Contains(flags, "--demo")
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{cancel: cancel, done: make(chan int)}
	args := append([]string{"serve", "--port", "0", "--cursor-key-file", filepath.Join(dir, "keys")}, flags...)
	if seeds {
		args = append(args, "--demo-out", demoOut)
	}
	go func() { s.done <- run(ctx, args, &s.out, &s.errb) }()
	listening := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	for deadline := time.Now().Add(30 * time.Second); s.base == ""; {
		if m := listening.FindStringSubmatch(s.out.String()); m != nil {
			s.base = m[1]
		} else if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start; stderr: %s", s.errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !seeds {
		return s
	}
	b, err := os.ReadFile(demoOut)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s.demo); err != nil || len(s.demo.Tenants) != 2 || s.demo.Tenants[0].Keys.Requester2 == "" {
		t.Fatalf("demo file %s: %v", b, err)
	}
	return s
}

// stop stops the server and checks it exits cleanly.
func (s *served) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		if code != 0 {
			t.Fatalf("serve exited %d: %s", code, s.errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// call makes one API call and decodes the JSON answer.
func call(t *testing.T, method, url, tenant, key, body string, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("X-Tenant-ID", tenant)
	req.Header.Set("X-API-Key", key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(res.Body).Decode(&v)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %v", method, url, res.StatusCode, want, v)
	}
	return v
}

// TestPolicyBacktestCommand runs `elevate policy backtest` against a local
// Elevate whose tenant recorded two auto-approved read-only requests: the
// policies in force change nothing, a draft that takes the auto-approval
// away changes both (exit 1 with -fail-on-change), and a draft that does
// not parse is reported with its line.
func TestPolicyBacktestCommand(t *testing.T) {
	sealer, err := cursor.New(cursor.Key{ID: "test-1", Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	elevate := local.New(local.Config{Cursors: sealer, Logger: slog.New(slog.DiscardHandler), Poll: time.Millisecond})
	t.Cleanup(elevate.Close)
	demo, err := local.SeedDemo(t.Context(), elevate.Operator, elevate.IdentityCenter)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(elevate.Handler)
	t.Cleanup(srv.Close)
	acme := demo.Tenants[0]
	for range 2 {
		body := `{"resource":{"type":"aws_account","id":"123456789012"},"action":"ReadOnly","duration_seconds":900,"justification":"INC-1: read the logs"}`
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/requests", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tenant-ID", acme.ID)
		req.Header.Set("X-API-Key", acme.Keys.Requester)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("POST /v1/requests: %v %v", res.Status, err)
		}
		res.Body.Close()
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	same := write("same.cedar", policy.DefaultText)
	stricter := write("stricter.cedar", strings.Replace(policy.DefaultText, `@id("auto-approve-short-readonly")
@approval("auto")`, `@id("auto-approve-short-readonly")
@approval("require")`, 1))
	broken := write("broken.cedar", "// a comment\npermit (principal, action, resource) when { context.nope };\n")
	t.Setenv(apiKeyEnv, acme.Keys.Admin)
	flags := []string{"-url", srv.URL, "-tenant", acme.ID}
	for _, c := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no change", append([]string{"policy", "backtest", "-fail-on-change"}, append(flags, same)...), 0, "2 requests from"},
		{"changes reported", append([]string{"policy", "backtest"}, append(flags, stricter)...), 0, "auto → require(1)"},
		{"changes fail", append([]string{"policy", "backtest", "-fail-on-change"}, append(flags, stricter)...), 1, "auto→require                 2"},
		{"as JSON", append([]string{"policy", "backtest", "-json"}, append(flags, stricter)...), 0, `"changed": 2`},
		{"a draft that does not parse", append([]string{"policy", "backtest"}, append(flags, broken)...), 1, "line 2"},
		{"without a URL", []string{"policy", "backtest", "-tenant", acme.ID, same}, 2, "-url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(t.Context(), c.args, &out, &errb)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out.String(), errb.String())
			}
			if all := out.String() + errb.String(); !strings.Contains(all, c.out) {
				t.Fatalf("output lacks %q:\n%s", c.out, all)
			}
		})
	}
	t.Setenv(apiKeyEnv, acme.Keys.Requester)
	var out, errb bytes.Buffer
	if code := run(t.Context(), append([]string{"policy", "backtest"}, append(flags, same)...), &out, &errb); code != 1 || !strings.Contains(errb.String(), "forbidden") {
		t.Fatalf("a requester's key: exit %d, stderr %s", code, errb.String())
	}
}
