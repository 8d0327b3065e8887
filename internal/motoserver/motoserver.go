// Package motoserver runs moto_server, a local fake of the AWS APIs, for
// tests of Elevate's AWS adapters. Tests never reach real AWS: the server
// listens on a loopback port and the SDK configuration it hands out carries
// static fake credentials.
//
// Starting moto takes a moment, so a test binary usually shares one server
// (Shared) and gives each test its own resources, such as a DynamoDB table
// with a unique name. A package that uses Shared stops the server after its
// tests by calling Main from its TestMain.
//
// Tests that execute Step Functions state machines use a patched server
// (Options.Patched): moto's own server started through launcher.py, which
// fixes what moto 5.2.1 gets wrong for Elevate's state machine. The patches
// are listed in launcher.py and docs/workflow.md.
package motoserver

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Command is the moto server executable looked up on PATH.
const Command = "moto_server"

// Python is the interpreter, looked up on PATH, that runs launcher.py for a
// patched server; moto must be installed for it.
const Python = "python3"

// launcher starts moto's server with Elevate's patches. It is run as
// "python3 - ARGS" with the script on standard input, so no file has to be
// written; "python3 launcher.py -p PORT" runs the same server by hand.
//
//go:embed launcher.py
var launcher string

// launcherNoMoto is launcher.py's exit status when moto cannot be imported.
const launcherNoMoto = 3

// Options choose how Start and Shared run moto. The zero value runs
// moto_server as it is.
type Options struct {
	// Patched runs moto through launcher.py with Python instead of
	// moto_server, with the patches that executing Elevate's state machine
	// on moto 5.2.1 needs (see launcher.py).
	Patched bool
	// TimeScale multiplies the pauses of executions on a patched server:
	// Wait states and the intervals between Retry attempts. Zero means 1.
	TimeScale float64
	// InvokeURL, on a patched server, answers Lambda invocations: the
	// Lambda backend without Docker sends each Invoke there (launcher patch
	// 5) instead of answering with a queued canned result. Functions serves
	// such a URL. Empty keeps the canned results.
	InvokeURL string
}

// startTimeout bounds how long Start waits for moto to answer.
const startTimeout = 30 * time.Second

// Server is a running moto_server on a loopback port.
type Server struct {
	// URL is the server's base URL, such as http://127.0.0.1:43121.
	URL string

	name   string // what was started, for messages
	cmd    *exec.Cmd
	output *tailBuffer
	exited chan struct{}
	client *http.Client
	stop   sync.Once
}

// errNotInstalled means moto_server is not on PATH.
var errNotInstalled = errors.New(Command + " is not installed (not found on PATH); install it with: pip install 'moto[server]'")

// errNoPython means a patched server cannot start: Python is not on PATH,
// or moto is not installed for it.
var errNoPython = errors.New("a patched moto server needs " + Python + " on PATH with moto installed: pip install 'moto[server]'")

// Start starts moto_server on a free 127.0.0.1 port, waits until it
// answers, and stops it (with every process it started) when the test ends.
// Without moto_server the test is skipped, or fails when the CI environment
// variable is set.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start for a server started as o says.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := launch(o)
	if err != nil {
		fail(t, err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Run starts a server as o says outside a test, such as in a measurement
// tool, and waits until it answers. The caller stops it (Stop). Unlike
// Start, a missing moto is an error.
func Run(o Options) (*Server, error) { return launch(o) }

// sharedServer is the test binary's one server for some Options.
type sharedServer struct {
	once sync.Once
	srv  *Server
	err  error
}

var shared struct {
	mu      sync.Mutex
	servers map[Options]*sharedServer
}

// Shared returns the one server of this test binary, starting it on first
// use. It keeps running until Main stops it after the tests (or the process
// exits). It is not reset between tests; see Reset.
func Shared(t testing.TB) *Server {
	t.Helper()
	return SharedWith(t, Options{})
}

// SharedWith is Shared for a server started as o says: one per Options.
func SharedWith(t testing.TB, o Options) *Server {
	t.Helper()
	shared.mu.Lock()
	if shared.servers == nil {
		shared.servers = map[Options]*sharedServer{}
	}
	ss := shared.servers[o]
	if ss == nil {
		ss = &sharedServer{}
		shared.servers[o] = ss
	}
	shared.mu.Unlock()
	ss.once.Do(func() { ss.srv, ss.err = launch(o) })
	if ss.err != nil {
		fail(t, ss.err)
	}
	return ss.srv
}

// Main runs the tests of a package that uses Shared and stops the shared
// servers afterwards. Call it from TestMain:
//
//	func TestMain(m *testing.M) { motoserver.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	for _, ss := range shared.servers {
		if ss.srv != nil {
			ss.srv.Stop()
		}
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// fail skips the test when moto is not installed, unless running under CI,
// where a missing server is a broken build; other errors fail the test.
func fail(t testing.TB, err error) {
	t.Helper()
	if (errors.Is(err, errNotInstalled) || errors.Is(err, errNoPython)) && os.Getenv("CI") == "" {
		t.Skip(err.Error())
	}
	t.Fatal(err)
}

// launch starts a server and waits for it. A port taken between choosing it
// and moto binding it is retried on another port.
func launch(o Options) (*Server, error) {
	name, path := Command, ""
	var err error
	if o.Patched {
		name = Python + " launcher.py"
		path, err = exec.LookPath(Python)
		if err != nil {
			return nil, fmt.Errorf("%w (%s is not on PATH)", errNoPython, Python)
		}
	} else if o.InvokeURL != "" {
		return nil, errors.New("motoserver: InvokeURL needs a patched server (Options.Patched)")
	} else if path, err = exec.LookPath(Command); err != nil {
		return nil, errNotInstalled
	}
	for attempt := 1; ; attempt++ {
		s, err := launchOn(name, path, o)
		if err == nil || attempt == 3 || errors.Is(err, errNoPython) {
			return s, err
		}
	}
}

func launchOn(name, path string, o Options) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("motoserver: choose a port: %w", err)
	}
	out := &tailBuffer{max: 64 << 10}
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	if o.Patched {
		scale := o.TimeScale
		if scale == 0 {
			scale = 1
		}
		args := []string{"-", "-H", "127.0.0.1", "-p", strconv.Itoa(port), "--time-scale", strconv.FormatFloat(scale, 'g', -1, 64)}
		if o.InvokeURL != "" {
			args = append(args, "--invoke-url", o.InvokeURL)
		}
		cmd = exec.Command(path, args...)
		cmd.Stdin = strings.NewReader(launcher)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Moto must not read the credentials or settings of whoever runs the tests.
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_DEFAULT_REGION=us-east-1")
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("motoserver: start %s: %w", path, err)
	}
	s := &Server{
		URL:    "http://127.0.0.1:" + strconv.Itoa(port),
		name:   name,
		cmd:    cmd,
		output: out,
		exited: make(chan struct{}),
		client: &http.Client{Transport: &serialTransport{next: http.DefaultTransport.(*http.Transport).Clone()}},
	}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(startTimeout); err != nil {
		s.Stop()
		if o.Patched && cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == launcherNoMoto {
			err = fmt.Errorf("%w: %v", errNoPython, err)
		}
		return nil, fmt.Errorf("motoserver: %w\n%s output:\n%s", err, name, out.String())
	}
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls the moto API until it answers, the process exits, or the
// timeout passes.
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	probe := &http.Client{Timeout: time.Second}
	for {
		res, err := probe.Get(s.URL + "/moto-api/")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /moto-api/: status %d", res.StatusCode)
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited before answering (%v)", s.name, s.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within %v: %v", s.name, timeout, err)
		}
	}
}

// Stop ends the server and every process it started. It is safe to call more
// than once.
func (s *Server) Stop() {
	s.stop.Do(func() {
		killProcessGroup(s.cmd)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
		}
	})
}

// Output returns the tail of what the server wrote to stdout and stderr.
func (s *Server) Output() string { return s.output.String() }

// Reset drops every resource of every service the server holds.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	s.post(t, "reset", "/moto-api/reset", nil)
}

// Configure changes moto's configuration (POST /moto-api/config), such as
// {"stepfunctions": {"execute_state_machine": true}} to execute state
// machines. The configuration survives Reset.
func (s *Server) Configure(t testing.TB, config any) {
	t.Helper()
	s.post(t, "configure", "/moto-api/config", config)
}

// QueueLambdaResults queues canned payloads for Lambda invocations in
// us-east-1 of moto's default account. With the configuration
// {"lambda": {"use_docker": false}}, every Invoke, of any function, answers
// with the next queued payload, or echoes its own payload when none is
// left. On a patched server, a payload shaped like a Lambda runtime's error
// ({"errorType": ..., "errorMessage": ...}) is a function error.
func (s *Server) QueueLambdaResults(t testing.TB, results ...string) {
	t.Helper()
	s.post(t, "queue Lambda results", "/moto-api/static/lambda-simple/response", map[string]any{"results": results})
}

// post sends a moto API call and fails the test unless it succeeds.
func (s *Server) post(t testing.TB, what, path string, body any) {
	t.Helper()
	if err := s.PostAPI(context.Background(), path, body); err != nil {
		t.Fatalf("motoserver: %s: %v", what, err)
	}
}

// PostAPI sends a call to moto's own API, such as /moto-api/config with
// the configuration that Configure sends, with body as JSON (nil for none).
func (s *Server) PostAPI(ctx context.Context, path string, body any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.client.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: status %d", path, res.StatusCode)
	}
	return nil
}

// AWSConfig returns an SDK configuration for this server: region us-east-1,
// static fake credentials, the server as every service's endpoint, and at
// most three attempts per call.
//
// Its HTTP client sends one request to the server at a time. moto_server
// serves requests on threads without locking its DynamoDB backend, so two
// concurrent conditional writes can both pass their condition, and a failed
// TransactWriteItems restores a snapshot of the whole table taken before it
// started, undoing writes that landed meanwhile. Real DynamoDB applies each
// item write and each transaction atomically; serializing the calls gives
// moto the same behaviour. Moto processes one call at a time anyway.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAMOTOTESTING00000", "moto-fake-secret-access-key", ""),
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   s.client,
		Retryer: func() aws.Retryer {
			return retry.AddWithMaxAttempts(retry.NewStandard(), 3)
		},
		RetryMaxAttempts: 3,
	}
}

// serialTransport sends one request at a time. A response's headers arrive
// only after moto has finished the operation, so holding the lock until then
// serializes the operations themselves.
type serialTransport struct {
	mu   sync.Mutex
	next http.RoundTripper
}

func (t *serialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.next.RoundTrip(r)
}

// tailBuffer keeps the last max bytes written to it; moto logs every request,
// and only the end (or a failed start) is worth showing.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
