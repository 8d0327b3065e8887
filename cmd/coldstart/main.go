// Command coldstart measures the cold start of every Lambda function (make
// coldstart; not part of make test). It builds every function and a
// hello-world lambda.Start bootstrap (cmd/coldstart/hello) with the
// Makefile's flags, once for linux/arm64 (the size column: what Lambda
// downloads) and once for the host (the timings), then starts each binary
// -n times against the Runtime API fake of internal/lambdatest and prints,
// per function, the size, the median init (exec to the first GET
// /invocation/next), the median first response (exec to the posted answer)
// and the init's ratio to hello-world's, with the targets.
//
// The first invocation is one a function answers without AWS doing work:
// an API call without credentials (401; openapi serves its document) or a
// workflow step's empty input (refused). AWS_ENDPOINT_URL points at a
// loopback stand-in that hands out the cursor secret and refuses every
// other call at once, so nothing leaves the machine and no start waits on
// a network.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/lambdatest"
)

func main() {
	n := flag.Int("n", 15, "starts per function")
	only := flag.String("only", "", "comma-separated functions to measure (default all)")
	flag.Parse()
	if err := run(*n, deploy.SplitList(*only)); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// hello is the name of the floor in the table.
const hello = "hello-world"

type measured struct {
	name, kind         string
	size               int64
	inits, firsts      []time.Duration
	failed             string
	maxSize, maxFactor float64
}

func run(n int, only []string) error {
	dir, err := os.MkdirTemp("", "elevate-coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	arm, host := filepath.Join(dir, "arm64"), filepath.Join(dir, "host")
	fmt.Fprintf(os.Stderr, "building every function and %s for linux/arm64 and %s/%s …\n", hello, runtime.GOOS, runtime.GOARCH)
	if err := build(arm, "linux", "arm64"); err != nil {
		return err
	}
	if err := build(host, runtime.GOOS, runtime.GOARCH); err != nil {
		return err
	}
	aws := fakeAWS()
	defer aws.Close()

	rows := []*measured{{name: hello, kind: "floor"}}
	for _, f := range deploy.Functions {
		if len(only) > 0 && !slices.Contains(only, f.Name) {
			continue
		}
		rows = append(rows, &measured{name: f.Name, kind: kind(f)})
	}
	for _, r := range rows {
		r.maxSize, r.maxFactor = targets(r.kind)
		bin := r.name
		if r.name == hello {
			bin = "hello"
		}
		st, err := os.Stat(filepath.Join(arm, bin))
		if err != nil {
			return err
		}
		r.size = st.Size()
	}
	// Rounds go through every binary in turn, so that a noisy moment of the
	// machine spreads over all of them instead of one.
	for i := range n {
		fmt.Fprintf(os.Stderr, "round %d of %d\n", i+1, n)
		for _, r := range rows {
			bin := r.name
			if r.name == hello {
				bin = "hello"
			}
			init, first, err := start(filepath.Join(host, bin), r.name, aws.URL)
			if err != nil {
				r.failed = err.Error()
				continue
			}
			r.inits, r.firsts = append(r.inits, init), append(r.firsts, first)
		}
	}
	floor := median(rows[0].inits)
	fmt.Printf("%d starts each; arm64 sizes; timings on %s/%s (%d CPUs); init is exec → first GET /invocation/next\n\n", n, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Printf("| function | kind | size (arm64) | median init | median first response | init ÷ hello-world | targets |\n")
	fmt.Printf("|---|---|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		if r.failed != "" {
			fmt.Printf("| %s | %s | %.1f MB | failed: %s | | | |\n", r.name, r.kind, mb(r.size), r.failed)
			continue
		}
		init := median(r.inits)
		ratio := float64(init) / float64(floor)
		verdict := ""
		if r.maxSize > 0 {
			verdict = fmt.Sprintf("≤ %.0f MB %s, ≤ %.1f× %s", r.maxSize, mark(mb(r.size) <= r.maxSize), r.maxFactor, mark(ratio <= r.maxFactor))
		}
		fmt.Printf("| %s | %s | %.1f MB | %s | %s | %.2f× | %s |\n", r.name, r.kind, mb(r.size), ms(init), ms(median(r.firsts)), ratio, verdict)
	}
	return nil
}

// kind sorts a function into the targets' classes: openapi, read-only API
// functions (no table-write), other API functions, workflow steps.
func kind(f deploy.Function) string {
	switch {
	case f.Name == "openapi":
		return "openapi"
	case f.Route != "" && !f.Has(deploy.NeedTableWrite):
		return "api read"
	case f.Route != "":
		return "api write"
	}
	return "workflow"
}

// targets are the issue's: every bootstrap ≤ 12 MB, read-only API
// functions ≤ 10 MB and openapi ≤ 8 MB; init ≤ 1.5× hello-world for read
// functions and openapi, ≤ 2× for the others.
func targets(kind string) (maxMB, maxFactor float64) {
	switch kind {
	case "floor":
		return 0, 0
	case "openapi":
		return 8, 1.5
	case "api read":
		return 10, 1.5
	}
	return 12, 2
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

func mb(n int64) float64 { return float64(n) / 1e6 }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// build builds every function and hello into dir, as the Makefile does.
func build(dir, goos, goarch string) error {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w",
		"-o", dir+string(filepath.Separator), "./functions/...", "./cmd/coldstart/hello")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for %s/%s: %v\n%s", goos, goarch, err, out)
	}
	return nil
}

// start runs one cold start of bin: it queues the first invocation, starts
// the process and waits for its answer.
func start(bin, name, endpoint string) (init, first time.Duration, err error) {
	rt := lambdatest.NewRuntime()
	defer rt.Close()
	rt.Invoke(lambdatest.Invocation{
		RequestID: "coldstart", Event: event(name), Deadline: time.Now().Add(30 * time.Second),
		FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:elevate-" + name,
	})
	cmd := exec.Command(bin)
	cmd.Env = environment(name, endpoint, rt.Addr())
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	select {
	case res := <-rt.Results():
		if res.Kind == lambdatest.KindInitError {
			return 0, 0, fmt.Errorf("init error: %s", res.Body)
		}
		return rt.FirstNext().Sub(t0), res.At.Sub(t0), nil
	case <-time.After(30 * time.Second):
		return 0, 0, fmt.Errorf("no answer in 30 s")
	}
}

// event is the first invocation of a function.
func event(name string) []byte {
	f, ok := deploy.FunctionByName(name)
	if !ok || f.Route == "" {
		return []byte(`{}`)
	}
	method, path, _ := strings.Cut(f.Route, " ")
	path = strings.NewReplacer("{id}", "b0c1d2e3-0000-4000-8000-000000000001", "{n}", "1").Replace(path)
	b, _ := json.Marshal(events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: f.Route, RawPath: path, Headers: map[string]string{"content-type": "application/json"},
		Body: "{}",
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "coldstart", RouteKey: f.Route, Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "192.0.2.1"},
		},
	})
	return b
}

// environment is what Lambda gives a provided.al2023 function, the
// contract's variables for its needs, and AWS_ENDPOINT_URL at the stand-in.
func environment(name, endpoint, runtimeAPI string) []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin", "TZ=:UTC", "_HANDLER=bootstrap",
		"AWS_LAMBDA_RUNTIME_API=" + runtimeAPI,
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_LAMBDA_FUNCTION_NAME=elevate-" + name, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_ACCESS_KEY_ID=ASIACOLDSTART0000000", "AWS_SECRET_ACCESS_KEY=coldstart", "AWS_SESSION_TOKEN=coldstart",
		"AWS_ENDPOINT_URL=" + endpoint, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true", "HTTP_PROXY=http://127.0.0.1:1", "HTTPS_PROXY=http://127.0.0.1:1",
	}
	f, ok := deploy.FunctionByName(name)
	if !ok {
		return env
	}
	for _, v := range f.Variables() {
		if v.Optional {
			continue
		}
		value := "arn:aws:states:us-east-1:123456789012:stateMachine:elevate"
		switch v.Name {
		case deploy.EnvTable, deploy.EnvEventBus, deploy.EnvScheduleGroup:
			value = "elevate"
		case deploy.EnvRatePerTenant, deploy.EnvRatePerPrincipal:
			value = "100"
		}
		env = append(env, v.Name+"="+value)
	}
	return env
}

// fakeAWS answers Secrets Manager's GetSecretValue with a cursor secret and
// refuses every other call with a ValidationException, which no client
// retries.
func fakeAWS() *httptest.Server {
	secret := `{"id":"k1","secret":"` + strings.Repeat("ab", 32) + `"}`
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if r.Header.Get("X-Amz-Target") == "secretsmanager.GetSecretValue" {
			b, _ := json.Marshal(map[string]string{"Name": "cursor", "SecretString": secret})
			_, _ = w.Write(b)
			return
		}
		w.Header().Set("X-Amzn-ErrorType", "ValidationException")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"ValidationException","message":"make coldstart answers no AWS calls"}`)
	}))
}
