package function_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function"
	"github.com/elevate-jit/elevate/internal/function/docs"
	"github.com/elevate-jit/elevate/internal/function/needs"
	"github.com/elevate-jit/elevate/internal/function/webconsole"
)

func TestParseCursorSecret(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	b := cursor.Binding{TenantID: "t", PrincipalID: "p", Query: "q"}
	now := time.Now()
	for _, c := range []struct {
		name, text string
		ok         bool
	}{
		{"stack JSON", `{"id":"k1","secret":"` + hexKey + `"}`, true},
		{"stack JSON with previous", `{"id":"k2","secret":"` + hexKey + `","previous":[{"id":"k1","secret":"` + strings.Repeat("cd", 32) + `"}]}`, true},
		{"stack JSON with next", `{"id":"k1","secret":"` + hexKey + `","next":[{"id":"k2","secret":"` + strings.Repeat("cd", 32) + `"}]}`, true},
		{"a next key that is not hex", `{"id":"k1","secret":"` + hexKey + `","next":[{"id":"k2","secret":"nope"}]}`, false},
		{"the same id twice", `{"id":"k1","secret":"` + hexKey + `","next":[{"id":"k1","secret":"` + strings.Repeat("cd", 32) + `"}]}`, false},
		{"local form", "k1:" + "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=", true},
		{"short hex", `{"id":"k1","secret":"abcd"}`, false},
		{"not hex", `{"id":"k1","secret":"` + strings.Repeat("zz", 32) + `"}`, false},
		{"no id", `{"secret":"` + hexKey + `"}`, false},
		{"garbage JSON", `{"id":`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := function.ParseCursorSecret(c.text)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok %v", err, c.ok)
			}
			if err == nil {
				if _, err := s.Open(b, s.Seal(b, []byte("pos"), now.Add(time.Hour)), now); err != nil {
					t.Fatalf("round trip: %v", err)
				}
			}
		})
	}
	// A cursor sealed with the previous key still opens after a rotation.
	old, _ := function.ParseCursorSecret(`{"id":"k1","secret":"` + strings.Repeat("cd", 32) + `"}`)
	rotated, _ := function.ParseCursorSecret(`{"id":"k2","secret":"` + hexKey + `","previous":[{"id":"k1","secret":"` + strings.Repeat("cd", 32) + `"}]}`)
	if _, err := rotated.Open(b, old.Seal(b, []byte("pos"), now.Add(time.Hour)), now); err != nil {
		t.Fatalf("a cursor of the previous key: %v", err)
	}
}

// TestCursorKeyRotation follows the rotation in docs/deploy.md: every step's
// secret works with the step before and after it, in both directions, so
// containers that have read either never refuse each other's cursors; a
// step skipped would.
func TestCursorKeyRotation(t *testing.T) {
	k1, k2 := strings.Repeat("cd", 32), strings.Repeat("ab", 32)
	steps := []struct{ name, secret string }{
		{"generated", `{"id":"k1","secret":"` + k1 + `"}`},
		{"staged", `{"id":"k1","secret":"` + k1 + `","next":[{"id":"k2","secret":"` + k2 + `"}]}`},
		{"promoted", `{"id":"k2","secret":"` + k2 + `","previous":[{"id":"k1","secret":"` + k1 + `"}]}`},
		{"retired", `{"id":"k2","secret":"` + k2 + `"}`},
	}
	b := cursor.Binding{TenantID: "t", PrincipalID: "p", Query: "q"}
	now := time.Now()
	sealers := make([]*cursor.Sealer, len(steps))
	for i, s := range steps {
		var err error
		if sealers[i], err = function.ParseCursorSecret(s.secret); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	opens := func(from, in int) bool {
		_, err := sealers[in].Open(b, sealers[from].Seal(b, []byte("pos"), now.Add(time.Hour)), now)
		return err == nil
	}
	for i := 0; i+1 < len(steps); i++ {
		if !opens(i, i+1) || !opens(i+1, i) {
			t.Errorf("%s and %s containers refuse each other's cursors", steps[i].name, steps[i+1].name)
		}
	}
	if opens(2, 0) {
		t.Error("a generated-only container opened a promoted key's cursor: the test no longer shows why the staged step exists")
	}
}

// TestEveryFunctionHasAMain checks that functions/ and the inventory agree,
// and that every main is the one `go generate ./internal/function/needs`
// writes: it runs its function with the providers of its needs.
func TestEveryFunctionHasAMain(t *testing.T) {
	dirs, err := os.ReadDir("../../functions")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range dirs {
		names = append(names, d.Name())
		src, err := os.ReadFile(filepath.Join("../../functions", d.Name(), "main.go"))
		if err != nil {
			t.Errorf("functions/%s: %v", d.Name(), err)
			continue
		}
		fn, ok := deploy.FunctionByName(d.Name())
		if !ok {
			continue
		}
		want, err := needs.Main(fn)
		if err != nil {
			t.Fatalf("%s: %v", fn.Name, err)
		}
		if string(src) != string(want) {
			t.Errorf("functions/%s/main.go is stale; run go generate ./internal/function/needs. Want:\n%s", d.Name(), want)
		}
	}
	for _, f := range deploy.Functions {
		if !slices.Contains(names, f.Name) {
			t.Errorf("function %s of the inventory has no functions/%s", f.Name, f.Name)
		}
	}
	if len(names) != len(deploy.Functions) {
		t.Errorf("%d directories, %d functions in the inventory", len(names), len(deploy.Functions))
	}
}

// TestFunctionsLinkNoLocalMode checks that no function links the embedded
// store, local mode or the recording Identity Center.
func TestFunctionsLinkNoLocalMode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, local := range []string{"/internal/store/memstore", "/internal/local", "/internal/identitycenter/recording"} {
			if strings.HasSuffix(pkg, local) {
				t.Errorf("the functions link %s", pkg)
			}
		}
	}
}

// sdk is the import path prefix of the AWS SDK's service clients (the
// attribute values of dynamodb bring the types of dynamodbstreams).
const sdk = "github.com/aws/aws-sdk-go-v2/service/"

// linkedBy are the service clients a need allows a function to link; every
// function may link what its needs' providers need besides (their packages
// and the SDK's core).
var linkedBy = map[deploy.Need][]string{
	deploy.NeedTableRead:         {"dynamodb", "dynamodbstreams"},
	deploy.NeedTableWrite:        {"dynamodb", "dynamodbstreams"},
	deploy.NeedRateLimit:         {"dynamodb", "dynamodbstreams"},
	deploy.NeedCursorKey:         {"secretsmanager"},
	deploy.NeedStartExecution:    {"sfn"},
	deploy.NeedSendTask:          {"sfn"},
	deploy.NeedSchedule:          {"scheduler"},
	deploy.NeedPublish:           {"eventbridge"},
	deploy.NeedOrganizationsRead: {"organizations", "identitystore"},
	deploy.NeedResolveUsers:      {"identitystore", "organizations"},
	// Identity Center: SSO Admin, and RDS through an assumed role (STS) for
	// the connect grants of RDS instances.
	deploy.NeedIdentityCenter: {"ssoadmin", "identitystore", "organizations", "rds", "sts"},
	deploy.NeedSweepQueue:     {"sqs"},
	// The stream's items decode with the table's attribute values.
	deploy.NeedTableStream: {"dynamodb", "dynamodbstreams"},
}

// TestFunctionsLinkOnlyTheirNeeds keeps the link graph honest: a function
// links the service clients its needs allow and no others (so a function
// without the need identity-center has no SSO Admin client), every need's
// client is linked by the functions that have it, and openapi, which has no
// needs, links no part of the AWS SDK, and no function links a client whose
// serialization is schema-based (its schemas package builds every shape of
// the service at package init: the largest init and a third of the client's
// size). It reads each main's imports with go list -deps, which is what the
// linker gets.
func TestFunctionsLinkOnlyTheirNeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("go list -deps of every function")
	}
	for _, fn := range deploy.Functions {
		t.Run(fn.Name, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command("go", "list", "-deps", "../../functions/"+fn.Name).CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			allowed := map[string]bool{}
			for _, n := range fn.Needs {
				for _, s := range linkedBy[n] {
					allowed[s] = true
				}
			}
			linked := map[string]bool{}
			for _, pkg := range strings.Fields(string(out)) {
				if strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2") && len(fn.Needs) == 0 {
					t.Errorf("%s has no needs and links %s", fn.Name, pkg)
				}
				// The document's function serves a file: none of the domain,
				// the authenticator or Cedar.
				if fn.Route == docs.Route && (strings.HasSuffix(pkg, "/internal/access") || strings.HasSuffix(pkg, "/internal/auth") ||
					strings.HasPrefix(pkg, "github.com/cedar-policy/")) {
					t.Errorf("%s links %s", fn.Name, pkg)
				}
				service, ok := strings.CutPrefix(pkg, sdk)
				if !ok {
					continue
				}
				if strings.HasSuffix(pkg, "/schemas") {
					t.Errorf("%s links %s: a client with schema-based serialization builds every shape of its service at package init (see the pins in go.mod)", fn.Name, pkg)
				}
				service, _, _ = strings.Cut(service, "/")
				if service == "internal" {
					continue // the clients' shared parts
				}
				linked[service] = true
				if !allowed[service] {
					t.Errorf("%s links %s, which none of its needs %v allows", fn.Name, pkg, fn.Needs)
				}
			}
			for _, n := range fn.Needs {
				if !linked[linkedBy[n][0]] {
					t.Errorf("%s has the need %s and does not link %s", fn.Name, n, linkedBy[n][0])
				}
			}
		})
	}
}

// TestFunctionsLinkOnlyTheirHandler checks what the linker keeps, which the
// imports alone do not say: a function's binary holds its own handler and
// what that calls, not another route's handler (every API function imports
// package api); a read holds no Cedar evaluation, schema or validator (it
// imports the domain, which imports Cedar); and a function that decides
// with a stored policy set (policy.Load) evaluates Cedar without the
// schema's parser or validator, which only a function that writes policies
// (policy.Parse) holds. It builds four functions with their symbols and
// reads them with go tool nm.
func TestFunctionsLinkOnlyTheirHandler(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four functions")
	}
	const (
		api       = "github.com/elevate-jit/elevate/internal/api.(*API)."
		eval      = "github.com/cedar-policy/cedar-go/internal/eval."
		validator = "github.com/cedar-policy/cedar-go/x/exp/schema/validate."
		parser    = "github.com/cedar-policy/cedar-go/x/exp/schema/internal/parser."
	)
	for _, tc := range []struct {
		fn         string
		has, lacks []string
	}{
		{"requests-get", []string{api + "getRequest"}, []string{
			api + "createRequest", api + "approveRequest", api + "putPolicies",
			"github.com/elevate-jit/elevate/internal/workflow.Handlers.Provision",
			eval, validator, parser,
			// Cedar's values' JSON encoding, which a package-level Cedar
			// value built at init drags in through its type.
			"github.com/go-json-experiment/json.Marshal",
		}},
		{"requests-create", []string{api + "createRequest", eval}, []string{api + "putPolicies", validator, parser}},
		{"policies-put", []string{api + "putPolicies", validator, parser}, []string{api + "createRequest"}},
		{"wf-attach-token", []string{"github.com/elevate-jit/elevate/internal/workflow.Handlers.AttachToken"}, []string{
			api, "github.com/elevate-jit/elevate/internal/workflow.Handlers.Provision",
		}},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			t.Parallel()
			bin := filepath.Join(t.TempDir(), "bootstrap")
			build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "../../functions/"+tc.fn)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			out, err := exec.Command("go", "tool", "nm", bin).Output()
			if err != nil {
				t.Fatalf("go tool nm: %v", err)
			}
			// A package's init and variables stay linked with its import;
			// only its code (text symbols) counts here.
			var syms []string
			for _, line := range strings.Split(string(out), "\n") {
				if f := strings.Fields(line); len(f) >= 3 && strings.EqualFold(f[1], "T") && !strings.Contains(f[2], ".init") {
					syms = append(syms, f[2])
				}
			}
			links := func(prefix string) bool {
				return slices.ContainsFunc(syms, func(s string) bool { return strings.HasPrefix(s, prefix) })
			}
			for _, s := range tc.has {
				if !links(s) {
					t.Errorf("%s does not link %s", tc.fn, s)
				}
			}
			for _, s := range tc.lacks {
				if links(s) {
					t.Errorf("%s links %s", tc.fn, s)
				}
			}
			checkInitAllocs(t, bin)
		})
	}
}

// maxInitAllocs is what one of our packages may allocate at init: a few
// small tables, never a compiled pattern, schema or parsed policy (which
// belong to first use).
const maxInitAllocs = 150

// checkInitAllocs runs a built function with GODEBUG=inittrace=1 (and no
// configuration, so it stops right after init) and fails the test for
// each of our packages that allocates more than maxInitAllocs at init.
func checkInitAllocs(t *testing.T, bin string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{"GODEBUG=inittrace=1"}
	out, _ := cmd.CombinedOutput() // it exits non-zero without its configuration
	seen := 0
	for _, line := range strings.Split(string(out), "\n") {
		// init <package> @<t> ms, <d> ms clock, <n> bytes, <m> allocs
		f := strings.Fields(line)
		if len(f) != 11 || f[0] != "init" || !strings.HasPrefix(f[1], "github.com/elevate-jit/elevate/") {
			continue
		}
		seen++
		if n, err := strconv.Atoi(f[9]); err != nil || n > maxInitAllocs {
			t.Errorf("package %s allocates %s times at init, want at most %d: %s", f[1], f[9], maxInitAllocs, line)
		}
	}
	if seen == 0 {
		t.Errorf("no init trace of our packages in the output of %s:\n%s", bin, out)
	}
}

// TestProvidersMatchTheNeeds checks that a function refuses to start
// without a provider for one of its needs, or with a provider of none of
// them (which would link what its needs do not allow).
func TestProvidersMatchTheNeeds(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	env := map[string]string{deploy.EnvTable: "elevate", deploy.EnvRatePerTenant: "10", deploy.EnvRatePerPrincipal: "5"}
	getenv := func(name string) string { return env[name] }
	fn, _ := deploy.FunctionByName("requests-get")
	for _, tc := range []struct {
		name      string
		providers []function.Provider
		ok        bool
	}{
		{"its needs", needs.For(fn), true},
		{"a need without a provider", needs.For(fn)[:1], false},
		{"a provider of no need", needs.All, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := function.Handler(t.Context(), fn.Name, getenv, slog.DiscardHandler, tc.providers...)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestMissingConfigurationIsNamed checks that a function refuses to start
// without its settings and names every missing one.
func TestMissingConfigurationIsNamed(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE000000000")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "example")
	revoke, _ := deploy.FunctionByName("grants-revoke")
	_, err := function.Handler(context.Background(), "grants-revoke", func(string) string { return "" }, slog.DiscardHandler, needs.For(revoke)...)
	if err == nil {
		t.Fatal("started without configuration")
	}
	for _, name := range []string{deploy.EnvTable, deploy.EnvStateMachineARN, deploy.EnvScheduleGroup} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if _, err := function.Handler(context.Background(), "no-such-function", func(string) string { return "" }, slog.DiscardHandler); err == nil {
		t.Fatal("an unknown function started")
	}
}

// TestEnvironmentIsTheContract checks, for every function, that the wiring
// reads exactly the variables the contract gives it (deploy.Variables, which
// the stack sets), and that it refuses to start without exactly the required
// ones.
func TestEnvironmentIsTheContract(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE000000000")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "example")
	names := regexp.MustCompile(`ELEVATE_[A-Z_]+`)
	for _, fn := range deploy.Functions {
		t.Run(fn.Name, func(t *testing.T) {
			read := map[string]bool{}
			getenv := func(name string) string {
				read[name] = true
				return ""
			}
			_, err := function.HandlerWith(context.Background(), fn.Name, servesOf(t, fn.Name), getenv, slog.DiscardHandler, needs.For(fn)...)
			var got, want, missing, required []string
			for name := range read {
				got = append(got, name)
			}
			if err != nil {
				missing = names.FindAllString(err.Error(), -1)
			}
			want = fn.Environment()
			for _, v := range fn.Variables() {
				if !v.Optional {
					required = append(required, v.Name)
				}
			}
			for _, l := range [][]string{got, want, missing, required} {
				slices.Sort(l)
			}
			if !slices.Equal(got, want) {
				t.Errorf("reads %v; the stack sets %v", got, want)
			}
			if !slices.Equal(missing, required) {
				t.Errorf("without any variable, the start fails with %v; want it to name %v", err, required)
			}
		})
	}
}

// TestWrongRouteIsNotFound checks that an API function refuses a call for a
// route it does not serve (a misconfigured integration) with the API's 404,
// through the API's middleware.
func TestWrongRouteIsNotFound(t *testing.T) {
	h, err := function.HandlerWith(context.Background(), "openapi", servesOf(t, "openapi"), func(string) string { return "" }, slog.DiscardHandler)
	if err != nil {
		t.Fatal(err)
	}
	serve, ok := h.(func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error))
	if !ok {
		t.Fatalf("the openapi handler is a %T", h)
	}
	for _, tc := range []struct {
		routeKey string
		status   int
	}{
		{"GET /openapi.json", http.StatusOK},
		{"$default", http.StatusOK},
		{`GET /v1/grants/{id}`, http.StatusNotFound},
	} {
		t.Run(tc.routeKey, func(t *testing.T) {
			res, err := serve(t.Context(), events.APIGatewayV2HTTPRequest{
				Version: "2.0", RouteKey: tc.routeKey, RawPath: "/openapi.json",
				RequestContext: events.APIGatewayV2HTTPRequestContext{
					RequestID: "JkT6hgXPoAMEVsg=", RouteKey: tc.routeKey,
					HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/openapi.json"},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, res.Body)
			}
			if got := res.Headers["X-Request-Id"]; got != "JkT6hgXPoAMEVsg=" {
				t.Errorf("X-Request-ID = %q, want API Gateway's request id", got)
			}
			if tc.status != http.StatusNotFound {
				return
			}
			var body struct{ Code, Message string }
			if err := json.Unmarshal([]byte(res.Body), &body); err != nil || body.Code != "not_found" || !strings.Contains(body.Message, tc.routeKey) {
				t.Errorf("body %s (%v); want not_found naming %s", res.Body, err, tc.routeKey)
			}
		})
	}
}

// servesOf is what a function serves, the functions with mains of their own
// (openapi, console) included.
func servesOf(t *testing.T, name string) function.Serves {
	t.Helper()
	switch name {
	case "openapi":
		return func(w *function.Wiring) (any, error) { return docs.Handler(w.Getenv, w.Log.Handler()), nil }
	case webconsole.Name:
		return func(w *function.Wiring) (any, error) { return webconsole.Handler(w.Getenv, w.Log.Handler()), nil }
	}
	s, err := function.ServesOf(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFunctionsEmbedZonesWhereTheyReadThem builds every function and holds
// needs.Zones to what each links: a function that reads a time zone
// (time.LoadLocation) must embed the zone database, or on Lambda, whose
// image has none, a tenant's zone would silently read as UTC; a function
// that reads none carries no 0.4 MB of zones.
func TestFunctionsEmbedZonesWhereTheyReadThem(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", dir+string(filepath.Separator), "../../functions/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, fn := range deploy.Functions {
		t.Run(fn.Name, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command("go", "tool", "nm", filepath.Join(dir, fn.Name)).Output()
			if err != nil {
				t.Fatalf("go tool nm: %v", err)
			}
			reads := regexp.MustCompile(`(?m) T time\.LoadLocation$`).Match(out)
			embeds := regexp.MustCompile(`(?m) time/tzdata\.\.inittask$`).Match(out)
			listed := slices.Contains(needs.Zones, fn.Name)
			switch {
			case reads && !embeds:
				t.Errorf("%s reads time zones and has no zone database: add it to needs.Zones and run go generate ./internal/function/needs", fn.Name)
			case !reads && embeds:
				t.Errorf("%s embeds the zone database and reads no time zone: take it out of needs.Zones", fn.Name)
			case reads != listed:
				t.Errorf("%s: reads zones %v, listed in needs.Zones %v", fn.Name, reads, listed)
			}
		})
	}
}
