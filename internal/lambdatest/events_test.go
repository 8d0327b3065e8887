package lambdatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/workflow"
)

// eventsDir holds a sample event per function, named after it.
const eventsDir = "../../events"

// placeholder matches the ${NAME} placeholders of the sample events.
var placeholder = regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)\}`)

// readEvent reads a function's sample event as written, placeholders and all.
func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name+".json"))
	if err != nil {
		t.Fatalf("every function needs a sample event: %v", err)
	}
	return b
}

// expand fills the placeholders of an event with vars, as os.Expand does.
// API Gateway's own "$default" (the stage, or a catch-all route) is not a
// placeholder and stays. It fails the test on a placeholder vars lacks.
func expand(t *testing.T, name string, event []byte, vars map[string]string) []byte {
	t.Helper()
	var missing []string
	out := os.Expand(string(event), func(v string) string {
		if v == "default" {
			return "$default"
		}
		value, ok := vars[v]
		if !ok {
			missing = append(missing, v)
		}
		return value
	})
	if len(missing) > 0 {
		t.Fatalf("events/%s.json uses placeholders the test does not fill: %s", name, strings.Join(missing, ", "))
	}
	if !json.Valid([]byte(out)) {
		t.Fatalf("events/%s.json is not valid JSON once its placeholders are filled", name)
	}
	return []byte(out)
}

// strict decodes JSON into v, refusing fields v does not have and trailing data.
func strict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// workflowInput is the type each workflow function's handler decodes.
func workflowInput(name string) any {
	switch name {
	case "wf-attach-token":
		return &workflow.AttachTokenInput{}
	case "wf-expire-request":
		return &workflow.RequestStepInput{}
	case "wf-provision", "wf-deprovision":
		return &workflow.GrantStepInput{}
	case "expiry":
		return &workflow.ExpiryInput{}
	case "sweeper":
		return &events.EventBridgeEvent{}
	case "sweeper-tenant":
		return &events.SQSEvent{}
	case "events-publish":
		return &events.DynamoDBEvent{}
	}
	return nil
}

// sampleValues fills every documented placeholder with a value of the
// right form, for checks that need no deployment.
var sampleValues = map[string]string{
	"TENANT_ID":            "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01",
	"ADMIN_API_KEY":        "elv_aaaaaaaaaaaaaaaa_" + strings.Repeat("a", 52),
	"APPROVER_API_KEY":     "elv_bbbbbbbbbbbbbbbb_" + strings.Repeat("b", 52),
	"REQUESTER_API_KEY":    "elv_cccccccccccccccc_" + strings.Repeat("c", 52),
	"ACCOUNT_ID":           "210987654321",
	"INSTANCE_ID":          "ssoins-72a3c1e9d4b5f601",
	"REQUEST_ID":           "019ab1e2-0000-7000-8000-000000000001",
	"APPROVE_REQUEST_ID":   "019ab1e2-0000-7000-8000-000000000002",
	"DENY_REQUEST_ID":      "019ab1e2-0000-7000-8000-000000000003",
	"CANCEL_REQUEST_ID":    "019ab1e2-0000-7000-8000-000000000004",
	"FORWARD_REQUEST_ID":   "019ab1e2-0000-7000-8000-00000000000b",
	"EXPIRED_REQUEST_ID":   "019ab1e2-0000-7000-8000-000000000005",
	"GRANT_ID":             "019ab1e2-0000-7000-8000-000000000006",
	"REVOKE_GRANT_ID":      "019ab1e2-0000-7000-8000-000000000007",
	"PROVISION_GRANT_ID":   "019ab1e2-0000-7000-8000-000000000008",
	"DEPROVISION_GRANT_ID": "019ab1e2-0000-7000-8000-000000000009",
	"EXPIRY_GRANT_ID":      "019ab1e2-0000-7000-8000-00000000000a",
	"REVIEW_GRANT_ID":      "019ab1e2-0000-7000-8000-00000000000c",
	"SUSPENDED_USER_ID":    "alice",
	"KEY_ID":               "dddddddddddddddd",
	"REVOKE_KEY_ID":        "eeeeeeeeeeeeeeee",
	"TASK_TOKEN":           "AQCEAAAAKgAAAAMAAAAAAAAAAb3Jk+/w==",
	"EXPIRES_AT":           "2025-11-23T18:40:12Z",
}

// TestEvents checks the sample events without running anything: one per
// function and no other, each a well-formed event of the kind its function
// takes (an API Gateway HTTP API payload 2.0 event on the function's route,
// or the workflow input), and every placeholder documented in
// events/README.md and filled by the test's deployment.
func TestEvents(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(eventsDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = true
	}
	used := map[string]bool{}

	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := deploy.FunctionByName(strings.TrimSuffix(filepath.Base(f), ".json")); !ok {
			t.Errorf("%s is the event of no function in deploy.Functions", f)
		}
	}

	for _, f := range deploy.Functions {
		t.Run(f.Name, func(t *testing.T) {
			raw := readEvent(t, f.Name)
			for _, m := range placeholder.FindAllStringSubmatch(string(raw), -1) {
				used[m[1]] = true
				if !documented[m[1]] {
					t.Errorf("placeholder ${%s} is not documented in events/README.md", m[1])
				}
			}
			ev := expand(t, f.Name, raw, sampleValues)
			if f.Route == "" {
				if err := strict(ev, workflowInput(f.Name)); err != nil {
					t.Errorf("events/%s.json is not the function's input: %v", f.Name, err)
				}
				return
			}
			var req events.APIGatewayV2HTTPRequest
			if err := strict(ev, &req); err != nil {
				t.Fatalf("events/%s.json is not an API Gateway HTTP API event: %v", f.Name, err)
			}
			for _, p := range checkAPIEvent(f, req) {
				t.Errorf("events/%s.json: %s", f.Name, p)
			}
		})
	}
	var stale []string
	for name := range documented {
		if !used[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 && !t.Failed() {
		t.Errorf("events/README.md documents placeholders no event uses: %s", strings.Join(stale, ", "))
	}
	for name := range used {
		if _, ok := sampleValues[name]; !ok {
			t.Errorf("sampleValues lacks ${%s}", name)
		}
	}
}

// checkAPIEvent lists what is wrong with an API function's event: API
// Gateway (HTTP API, payload format 2.0) sends the route key, the raw path
// and query, lower-cased headers and the request context consistently.
func checkAPIEvent(f deploy.Function, req events.APIGatewayV2HTTPRequest) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	method, pattern, _ := strings.Cut(f.Route, " ")
	if req.Version != "2.0" {
		bad("version is %q, want 2.0", req.Version)
	}
	if req.RouteKey != f.Route || req.RequestContext.RouteKey != f.Route {
		bad("routeKey %q and requestContext.routeKey %q, want %q", req.RouteKey, req.RequestContext.RouteKey, f.Route)
	}
	h := req.RequestContext.HTTP
	if h.Method != method {
		bad("requestContext.http.method is %q, want %s", h.Method, method)
	}
	if h.Path != req.RawPath {
		bad("requestContext.http.path %q differs from rawPath %q", h.Path, req.RawPath)
	}
	path := pattern
	for k, v := range req.PathParameters {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	if strings.Contains(path, "{") || path != req.RawPath {
		bad("rawPath %q is not the route %q with pathParameters %v", req.RawPath, pattern, req.PathParameters)
	}
	q, err := url.ParseQuery(req.RawQueryString)
	if err != nil {
		bad("rawQueryString: %v", err)
	}
	if len(q) != len(req.QueryStringParameters) {
		bad("queryStringParameters %v do not match rawQueryString %q", req.QueryStringParameters, req.RawQueryString)
	}
	for k, v := range req.QueryStringParameters {
		if q.Get(k) != v {
			bad("queryStringParameters[%s] = %q, rawQueryString says %q", k, v, q.Get(k))
		}
	}
	for k := range req.Headers {
		if k != strings.ToLower(k) {
			bad("header %q is not lower-case, as API Gateway sends headers", k)
		}
	}
	want := []string{"host", "user-agent", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-amzn-trace-id"}
	// The document, the console and how to sign in need no credential.
	if f.Name != "openapi" && f.Name != "tenant-sign-in" && f.Name != "console" {
		want = append(want, "x-tenant-id", "x-api-key")
	}
	if req.Body != "" {
		want = append(want, "content-type")
		if !json.Valid([]byte(req.Body)) {
			bad("body is not JSON")
		}
		if req.IsBase64Encoded {
			bad("body is base64-encoded; the samples keep it readable")
		}
	}
	if method == "POST" || method == "PUT" || method == "PATCH" {
		if req.Body == "" {
			bad("a %s without a body", method)
		}
	}
	for _, k := range want {
		if req.Headers[k] == "" {
			bad("header %q is missing", k)
		}
	}
	rc := req.RequestContext
	if rc.Stage != "$default" || rc.AccountID == "" || rc.APIID == "" || rc.RequestID == "" || rc.Time == "" || rc.TimeEpoch == 0 {
		bad("requestContext lacks stage $default, accountId, apiId, requestId, time or timeEpoch: %+v", rc)
	}
	if rc.DomainName != req.Headers["host"] || !strings.HasPrefix(rc.DomainName, rc.APIID+".execute-api.") {
		bad("requestContext.domainName %q, host %q and apiId %q disagree", rc.DomainName, req.Headers["host"], rc.APIID)
	}
	if h.SourceIP != req.Headers["x-forwarded-for"] || h.UserAgent != req.Headers["user-agent"] || h.Protocol == "" {
		bad("requestContext.http (sourceIp, userAgent, protocol) disagrees with the headers")
	}
	return problems
}
