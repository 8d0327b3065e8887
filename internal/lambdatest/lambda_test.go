package lambdatest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/api/openapitest"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/workflow"
)

func TestMain(m *testing.M) { motoserver.Main(m) }

// maxBinarySize is a generous bound on a function binary (stripped, host
// platform), so that bloat is noticed.
const maxBinarySize = 40 << 20

// Timeouts are the stack's: 10 s for API functions, 60 s for workflow steps,
// 5 minutes for the sweeper. An invocation's deadline is its timeout.
func timeout(f deploy.Function) time.Duration {
	switch {
	case f.Route != "":
		return 10 * time.Second
	case f.Name == "sweeper":
		return 5 * time.Minute
	}
	return time.Minute
}

// TestFunctions builds every function binary once, deploys Elevate's AWS
// side on moto, and runs each binary as Lambda would against a Runtime API
// served by the test, with its sample event from events/ and only the
// configuration the stack gives it. Each must answer its event as
// documented. It logs every binary's size and the time from process start
// to its first response.
func TestFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function binary")
	}
	build := startBuild(t)
	srv := motoserver.Shared(t)
	if u, err := url.Parse(srv.URL); err != nil || !loopback(u.Host) {
		t.Fatalf("moto is not on loopback: %s", srv.URL)
	}
	d := newDeployment(t, srv)
	dir := build.wait(t)

	var table []outcome
	for _, f := range deploy.Functions {
		// In the inventory's order, which puts the sweeper last; each event
		// acts on objects of its own, so one failing does not fail others.
		t.Run(f.Name, func(t *testing.T) {
			o := &outcome{fn: f}
			defer func() { table = append(table, *o) }()
			invoke(t, dir, d, o)
			checkOutcome(t, d, o)
		})
	}
	t.Run("missing configuration", func(t *testing.T) { testStartupFailures(t, dir, d) })
	t.Run("rate limits counted in the table", func(t *testing.T) { checkRateCounters(t, d) })

	var b strings.Builder
	fmt.Fprintf(&b, "built %d functions in %v\n", len(deploy.Functions), build.took.Round(time.Millisecond))
	fmt.Fprintf(&b, "%-18s %-8s %10s %8s %15s  %s\n", "function", "kind", "size", "init", "first response", "answer")
	for _, o := range table {
		kind := "workflow"
		if o.fn.Route != "" {
			kind = "api"
		}
		fmt.Fprintf(&b, "%-18s %-8s %7.1f MB %8s %15s  %s\n", o.fn.Name, kind, float64(o.size)/1e6,
			ms(o.init), ms(o.first), o.summary)
	}
	var foreign []string
	for _, o := range table {
		if o.foreignRequestID {
			foreign = append(foreign, o.fn.Name)
		}
	}
	if len(foreign) > 0 {
		fmt.Fprintf(&b, "X-Request-ID is not API Gateway's requestContext.requestId for %d API functions (%s …): "+
			"internal/function/function.go passes it as x-request-id, and the API refuses ids with \"=\"\n", len(foreign), foreign[0])
	}
	t.Log("\n" + b.String())
}

// checkRateCounters checks that the API functions counted their calls in
// the table (the rate-limit need's items), per tenant and per caller, so
// the limits hold across containers.
func checkRateCounters(t *testing.T, d *deployment) {
	out, err := d.ddb.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(d.table)})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, it := range out.Items {
		pk, _ := it["PK"].(*ddbtypes.AttributeValueMemberS)
		if pk != nil && strings.HasPrefix(pk.Value, deploy.RateLimitPrefix) {
			kinds[strings.SplitN(strings.TrimPrefix(pk.Value, deploy.RateLimitPrefix), "#", 2)[0]] = true
		}
	}
	if !kinds["T"] || !kinds["P"] {
		t.Errorf("rate-limit items in the table: per tenant %v, per caller %v; want both", kinds["T"], kinds["P"])
	}
}

// outcome is one function's run.
type outcome struct {
	fn    deploy.Function
	size  int64
	init  time.Duration // process start to the first GET /next
	first time.Duration // process start to the first result posted
	event []byte
	res   Result
	// summary is what the table shows of the answer.
	summary string
	// foreignRequestID is set when X-Request-ID is not API Gateway's
	// request id.
	foreignRequestID bool
	output           string
}

func ms(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return d.Round(100 * time.Microsecond).String()
}

// invoke runs one function binary on one invocation of its sample event.
func invoke(t *testing.T, dir string, d *deployment, o *outcome) {
	t.Helper()
	f := o.fn
	bin := filepath.Join(dir, f.Name)
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatalf("the build made no binary for %s: %v", f.Name, err)
	}
	if st.Size() > maxBinarySize {
		t.Errorf("%s is %d bytes, more than %d", f.Name, st.Size(), maxBinarySize)
	}
	o.size, o.event = st.Size(), expand(t, f.Name, readEvent(t, f.Name), d.vars)
	env := lambdaEnv(f, d, dir)
	for k, v := range d.environment(t, f) {
		env = append(env, k+"="+v)
	}
	p, err := start(bin, env, o.event, timeout(f))
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	select {
	case o.res = <-p.rt.Results():
	case <-p.exited:
		o.summary = "exited"
		t.Fatalf("%s exited (%v) without answering; its output:\n%s", f.Name, p.waitErr, p.out.String())
	case <-time.After(timeout(f) + 5*time.Second):
		o.summary = "no answer"
		t.Fatalf("%s did not answer within its %v timeout; its output:\n%s", f.Name, timeout(f), p.out.String())
	}
	o.first = o.res.At.Sub(p.started)
	if n := p.rt.FirstNext(); !n.IsZero() {
		o.init = n.Sub(p.started)
	}
	p.stop()
	o.output = p.out.String()
}

// process is a function binary running against its own Runtime.
type process struct {
	rt      *Runtime
	cmd     *exec.Cmd
	out     *tailBuffer
	started time.Time
	exited  chan struct{}
	waitErr error
	once    sync.Once
}

// start starts a function binary with env and queues one invocation of event.
func start(bin string, env []string, event []byte, deadline time.Duration) (*process, error) {
	rt := NewRuntime()
	rt.Invoke(Invocation{
		RequestID:   uuid.NewString(),
		Event:       event,
		Deadline:    time.Now().Add(deadline),
		FunctionARN: functionARN(filepath.Base(bin)),
		TraceID:     fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=1", time.Now().Unix(), randomHex(12), randomHex(8)),
	})
	p := &process{rt: rt, out: &tailBuffer{max: 256 << 10}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Dir = filepath.Dir(bin)
	p.cmd.Env = append(env, "AWS_LAMBDA_RUNTIME_API="+rt.Addr())
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		rt.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop kills the process (Lambda does not stop a function politely either)
// and closes its Runtime.
func (p *process) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.rt.Close()
	})
}

// lambdaEnv is the environment Lambda gives a provided.al2023 function
// (without the Runtime API address), plus what keeps every call on the
// machine: AWS_ENDPOINT_URL sends every AWS call to moto, nothing of the
// host's AWS configuration or instance metadata is read, and a proxy that
// refuses connections stands in for the internet (Go never proxies
// loopback addresses, so moto and the Runtime API are reached directly).
func lambdaEnv(f deploy.Function, d *deployment, dir string) []string {
	memory := "256"
	if f.Name == "sweeper" {
		memory = "512"
	}
	name := stackName + "-" + f.Name
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"LAMBDA_TASK_ROOT=" + dir,
		"LAMBDA_RUNTIME_DIR=/var/runtime",
		"_HANDLER=bootstrap",
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + memory,
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + randomHex(16),
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		// The execution role's session: fake, moto takes any.
		"AWS_ACCESS_KEY_ID=ASIAMOTOTESTING00000",
		"AWS_SECRET_ACCESS_KEY=moto-fake-secret-access-key",
		"AWS_SESSION_TOKEN=moto-fake-session-token",
		"AWS_ENDPOINT_URL=" + d.endpoint,
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"HTTP_PROXY=http://127.0.0.1:1",
		"HTTPS_PROXY=http://127.0.0.1:1",
	}
}

// apiKeySecret matches a full API key; none may ever appear in a log.
var apiKeySecret = regexp.MustCompile(`elv_[a-z2-7]{16}_[a-z2-7]{52}`)

// checkOutcome checks a function's answer to its sample event.
func checkOutcome(t *testing.T, d *deployment, o *outcome) {
	t.Helper()
	f := o.fn
	defer func() {
		if t.Failed() {
			t.Logf("%s's output:\n%s", f.Name, o.output)
		}
	}()
	if m := apiKeySecret.FindString(o.output); m != "" {
		t.Errorf("%s logged an API key secret", f.Name)
	}
	if strings.Contains(o.output, d.vars["TASK_TOKEN"]) {
		t.Errorf("%s logged the task token", f.Name)
	}
	// A warning is work after a commit that failed (a workflow not started,
	// an event not published): the happy path has none.
	for _, line := range strings.Split(o.output, "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			t.Errorf("%s logged: %s", f.Name, line)
		}
	}
	if o.res.Kind != KindResponse {
		o.summary = string(o.res.Kind)
		t.Fatalf("%s posted %s (%s): %s", f.Name, o.res.Kind, o.res.ErrorType, o.res.Body)
	}
	if f.Route != "" {
		o.summary = checkAPI(t, f, o)
		return
	}
	o.summary = string(o.res.Body)
	checkWorkflow(t, f, d, o.res.Body)
}

// The statuses the sample events answer with, other than 200.
var wantStatus = map[string]int{
	"requests-create": http.StatusCreated,
	"grants-create":   http.StatusCreated,
	"grants-extend":   http.StatusCreated,
	"apikeys-create":  http.StatusCreated,
	"apikeys-delete":  http.StatusNoContent,
}

// lists are the functions that answer with a page.
var lists = map[string]bool{"requests-list": true, "approvals-pending": true, "grants-list": true, "apikeys-list": true, "audit-list": true,
	"reviews-pending": true, "suspensions-list": true}

// checkAPI checks an API function's answer: an API Gateway HTTP API
// response with the status the event should get, and, as a client would see
// it through API Gateway, a response the OpenAPI document allows for that
// call. It returns the status for the table.
func checkAPI(t *testing.T, f deploy.Function, o *outcome) string {
	t.Helper()
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(o.event, &req); err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := strict(o.res.Body, &resp); err != nil {
		t.Fatalf("%s answered with no API Gateway HTTP API response: %v\n%s", f.Name, err, o.res.Body)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			t.Fatalf("base64 body: %v", err)
		}
	}
	want := wantStatus[f.Name]
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		t.Fatalf("%s answered %d, want %d: %s", f.Name, resp.StatusCode, want, body)
	}
	if f.Name == "console" {
		// A page, not an API answer: what the browser needs of it.
		if h := resp.Headers; !strings.HasPrefix(h["Content-Type"], "text/html") || h["Cache-Control"] != "no-store" ||
			!strings.Contains(h["Content-Security-Policy"], "frame-ancestors 'none'") || !bytes.Contains(body, []byte("/console/assets/app.")) {
			t.Fatalf("console answered headers %v and %.200s", resp.Headers, body)
		}
		return "the console's page"
	}

	// Replay the call through the OpenAPI-validating client, with the
	// function's response as the server's.
	u := "https://" + req.RequestContext.DomainName + req.RawPath
	if req.RawQueryString != "" {
		u += "?" + req.RawQueryString
	}
	var reqBody io.Reader
	if req.Body != "" {
		reqBody = strings.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(t.Context(), req.RequestContext.HTTP.Method, u, reqBody)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	served := roundTripper(func(r *http.Request) (*http.Response, error) {
		h := http.Header{}
		for k, v := range resp.Headers {
			h.Set(k, v)
		}
		for k, vs := range resp.MultiValueHeaders {
			if _, ok := resp.Headers[k]; !ok {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
		}
		return &http.Response{
			Status: fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)), StatusCode: resp.StatusCode,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Request: r,
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		}, nil
	})
	res, err := openapitest.Client(t, served).Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// The API names every answer with X-Request-ID. The wiring offers it API
	// Gateway's request id, but the API takes only ids without "=", which
	// API Gateway's ids end with, so it makes its own: noted, not failed.
	switch id := res.Header.Get("X-Request-ID"); {
	case id == "":
		t.Errorf("%s answered without X-Request-ID", f.Name)
	case id != req.RequestContext.RequestID:
		o.foreignRequestID = true
	}

	summary := fmt.Sprint(resp.StatusCode)
	if resp.StatusCode == http.StatusNoContent {
		if len(body) > 0 {
			t.Errorf("a 204 with a body: %s", body)
		}
		return summary
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		t.Fatalf("%s's body is not a JSON object: %v\n%s", f.Name, err, body)
	}
	if _, isError := obj["code"]; isError && obj["message"] != nil {
		t.Errorf("%s answered an error: %s", f.Name, body)
	}
	if lists[f.Name] {
		data, ok := obj["data"].([]any)
		_, hasMore := obj["has_more"].(bool)
		cur, hasCursor := obj["next_cursor"]
		if _, isString := cur.(string); !ok || !hasMore || !hasCursor || (cur != nil && !isString) {
			t.Errorf("%s's page is not {data: [...], next_cursor: string|null, has_more: bool}: %s", f.Name, body)
		}
		summary += fmt.Sprintf(" (%d items)", len(data))
	}
	for field, want := range expectFields[f.Name] {
		if got := fmt.Sprint(lookup(obj, field)); got != want {
			t.Errorf("%s: %s is %s, want %s", f.Name, field, got, want)
		}
	}
	if s, ok := obj["status"].(string); ok {
		summary += " " + s
	}
	return summary
}

// expectFields are fields (dotted paths) of a response and their values, as
// fmt.Sprint prints them, that show the function did what its event asks.
var expectFields = map[string]map[string]string{
	"requests-create":   {"status": "pending", "approval_mode": "require", "requester_id": "alice"},
	"requests-preview":  {"status": "pending", "approval_mode": "require", "approvals_required": "1"},
	"requests-get":      {"status": "pending"},
	"requests-approve":  {"status": "approved", "decided_by": "carol"},
	"requests-deny":     {"status": "denied", "decided_by": "carol"},
	"requests-cancel":   {"status": "cancelled"},
	"requests-forward":  {"status": "pending", "forward_history.0.to": "erin", "forward_history.0.from": "carol"},
	"grants-create":     {"status": "provisioning", "grantee_id": "bob"},
	"grants-get":        {"status": "active", "grantee_id": "alice"},
	"grants-revoke":     {"status": "revoking"},
	"grants-extend":     {"status": "approved", "approval_mode": "auto", "requester_id": "alice"},
	"policies-put":      {"version": "2", "created_by": "ada"},
	"policies-version":  {"version": "1"},
	"policies-evaluate": {"decision": "allow", "approval_mode": "require"},
	"policies-backtest": {"changes.0.after.approval_mode": "require"},
	"catalog-put":       {"actions.aws_ec2_instance.0.name": "ssm-session"},
	"tenant-patch":      {"time_zone": "Europe/Berlin"},
	"tenant-sign-in":    {"api_keys": "true", "oidc": "<nil>"},
	"apikeys-create":    {"principal_id": "deploy-bot", "principal_kind": "service"},
	"openapi":           {"info.title": "Elevate API"},
	"grants-review":     {"review.status": "justified", "review.reviewer_id": "carol", "break_glass": "true"},
	"suspensions-lift":  {"user_id": "alice", "suspended": "false", "lifted_by": "ada"},
}

// lookup follows a dotted path through objects and arrays.
func lookup(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			var i int
			if _, err := fmt.Sscan(part, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// checkWorkflow checks a workflow function's answer: the JSON of its
// handler's output type, nothing more, and the change it made.
func checkWorkflow(t *testing.T, f deploy.Function, d *deployment, body []byte) {
	t.Helper()
	ctx := t.Context()
	tenant := d.vars["TENANT_ID"]
	keys := func(want ...string) {
		t.Helper()
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%s's answer is not a JSON object: %s", f.Name, body)
		}
		var got []string
		for k := range m {
			got = append(got, k)
		}
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s answered %s; want the fields %v", f.Name, body, want)
		}
	}
	switch f.Name {
	case "wf-attach-token":
		keys()
		r, err := d.store.GetRequest(ctx, tenant, d.vars["REQUEST_ID"])
		if err != nil || r.TaskToken != d.vars["TASK_TOKEN"] {
			t.Errorf("after wf-attach-token the request's task token is %.20q… (%v), want the event's", r.TaskToken, err)
		}
	case "wf-expire-request":
		keys("outcome", "grant_id")
		var out workflow.Decision
		if err := strict(body, &out); err != nil || out.Outcome != access.OutcomeExpired || out.GrantID != "" {
			t.Errorf("wf-expire-request answered %s (%v); want outcome %q and no grant", body, err, access.OutcomeExpired)
		}
	case "wf-provision", "wf-deprovision":
		keys("done", "wait_seconds")
		var out workflow.StepOutput
		if err := strict(body, &out); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
		// moto accepts assignment creations and deletions but never says
		// they succeeded, so the step is not done yet; it made its call.
		id := d.vars["PROVISION_GRANT_ID"]
		if f.Name == "wf-deprovision" {
			id = d.vars["DEPROVISION_GRANT_ID"]
		}
		g, err := d.store.GetGrant(ctx, tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if g.Failure != "" {
			t.Errorf("%s failed the grant: %s", f.Name, g.Failure)
		}
		var states []string
		for _, a := range g.Assignments {
			states = append(states, string(a.State))
		}
		t.Logf("%s: done=%v, grant %s, assignments %v", f.Name, out.Done, g.Status, states)
		want := access.AssignmentCreating
		if f.Name == "wf-deprovision" {
			want = access.AssignmentDeleting
		}
		if len(g.Assignments) != 1 || (!out.Done && g.Assignments[0].State != want) {
			t.Errorf("%s left the grant's assignments %v; want one, %s", f.Name, states, want)
		}
	case "expiry":
		keys()
		g, err := d.store.GetGrant(ctx, tenant, d.vars["EXPIRY_GRANT_ID"])
		if err != nil || g.Status != access.GrantRevoking || g.EndReason != access.EndExpiry {
			t.Errorf("after expiry the grant is %s (%s, %v); want revoking on expiry", g.Status, g.EndReason, err)
		}
	case "sweeper":
		var rep workflow.SweepOutput
		if err := strict(body, &rep); err != nil {
			t.Fatalf("the sweeper answered %s: %v", body, err)
		}
		if rep.Tenants < 1 || rep.TenantsQueued != rep.Tenants {
			t.Errorf("the sweeper swept %d tenants and queued %d; want every one queued", rep.Tenants, rep.TenantsQueued)
		}
		if len(rep.Problems) > 0 {
			t.Errorf("the sweeper reports problems: %q", rep.Problems)
		}
		attrs, err := sqs.NewFromConfig(d.awsConfig).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(d.sweepQueueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
		})
		if err != nil || attrs.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)] != strconv.Itoa(rep.TenantsQueued) {
			t.Errorf("the sweep queue holds %v messages (%v); want %d", attrs, err, rep.TenantsQueued)
		}
	case "sweeper-tenant":
		var res events.SQSEventResponse
		if err := strict(body, &res); err != nil {
			t.Fatalf("the tenant sweeper answered %s: %v", body, err)
		}
		if len(res.BatchItemFailures) > 0 {
			t.Errorf("the tenant sweeper failed messages %v", res.BatchItemFailures)
		}
	case "events-publish":
		var res events.DynamoDBEventResponse
		if err := strict(body, &res); err != nil {
			t.Fatalf("the outbox answered %s: %v", body, err)
		}
		if len(res.BatchItemFailures) > 0 {
			t.Errorf("the outbox failed records %v", res.BatchItemFailures)
		}
	default:
		t.Fatalf("no check for workflow function %s", f.Name)
	}
}

// testStartupFailures starts binaries with a setting missing or malformed:
// each must stop at start-up, before asking for an invocation, with a
// message naming the variable (Lambda shows it as the init error).
func testStartupFailures(t *testing.T, dir string, d *deployment) {
	tests := []struct {
		fn      string
		without string
		with    string // NAME=value to set instead
	}{
		{fn: "requests-get", without: deploy.EnvTable},
		{fn: "requests-list", without: deploy.EnvCursorSecretARN},
		{fn: "requests-approve", without: deploy.EnvStateMachineARN},
		{fn: "grants-revoke", without: deploy.EnvScheduleGroup},
		{fn: "wf-provision", with: deploy.EnvIdentityCenterTPS + "=fast"},
	}
	for _, tc := range tests {
		variable, _, _ := strings.Cut(tc.without+tc.with, "=")
		t.Run(tc.fn+" "+variable, func(t *testing.T) {
			f, ok := deploy.FunctionByName(tc.fn)
			if !ok {
				t.Fatalf("no function %s", tc.fn)
			}
			env := lambdaEnv(f, d, dir)
			for k, v := range d.environment(t, f) {
				if k != tc.without && k != variable {
					env = append(env, k+"="+v)
				}
			}
			if tc.with != "" {
				env = append(env, tc.with)
			}
			p, err := start(filepath.Join(dir, tc.fn), env, expand(t, tc.fn, readEvent(t, tc.fn), d.vars), timeout(f))
			if err != nil {
				t.Fatal(err)
			}
			defer p.stop()
			var message string
			select {
			case res := <-p.rt.Results():
				if res.Kind != KindInitError {
					t.Fatalf("%s started without %s and posted %s: %s", tc.fn, variable, res.Kind, res.Body)
				}
				message = string(res.Body)
			case <-p.exited:
				var exit *exec.ExitError
				if !errors.As(p.waitErr, &exit) || exit.ExitCode() == 0 {
					t.Fatalf("%s exited with %v; want a non-zero status", tc.fn, p.waitErr)
				}
				message = p.out.String()
			case <-time.After(10 * time.Second):
				t.Fatalf("%s neither failed nor exited without %s; output:\n%s", tc.fn, variable, p.out.String())
			}
			if !p.rt.FirstNext().IsZero() {
				t.Errorf("%s asked for an invocation before failing", tc.fn)
			}
			if !strings.Contains(message, variable) {
				t.Errorf("%s's start-up failure does not name %s:\n%s", tc.fn, variable, message)
			}
		})
	}
}

// build is the one `go build` of every function binary.
type build struct {
	dir  string
	took time.Duration
	out  []byte
	err  error
	done chan struct{}
}

// startBuild builds every function for the host platform, as the Makefile
// builds them for Lambda (no cgo, lambda.norpc, trimmed, stripped), in one
// go build that writes every main package into one directory. It runs
// while the test deploys.
func startBuild(t *testing.T) *build {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the module root is not at %s: %v", root, err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the functions with: %v", err)
	}
	b := &build{dir: t.TempDir(), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, goTool, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w",
		"-o", b.dir+string(filepath.Separator), "./functions/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	go func() {
		began := time.Now()
		b.out, b.err = cmd.CombinedOutput()
		b.took = time.Since(began)
		close(b.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-b.done
	})
	return b
}

// wait waits for the build and returns the directory of the binaries.
func (b *build) wait(t *testing.T) string {
	t.Helper()
	<-b.done
	if b.err != nil {
		t.Fatalf("go build ./functions/...: %v\n%s", b.err, b.out)
	}
	return b.dir
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = b.buf[over:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// loopback reports whether host (with or without a port) is a loopback address.
func loopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
