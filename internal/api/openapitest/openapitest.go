// Package openapitest checks HTTP traffic against Elevate's OpenAPI document
// (api.OpenAPIYAML), so tests that talk to the API catch any drift between the
// handlers and the published contract.
//
// Wrap a test's client with Client or Transport: every request it sends is
// validated against the operation the document gives for its method and path
// (parameters, headers, query, body), and every response against that
// operation's documented responses (status, headers, content type, body).
// Requests that a test sends on purpose with bad input are marked with
// MarkInvalid: they are not validated, but their responses still are.
// Responses to paths the document does not know must be the documented
// 404 not_found error, and to methods a known path does not take the
// documented 405 method_not_allowed error with an Allow header listing the
// methods the document has for that path.
//
// The package imports internal/api, so tests of package api that use it must
// be external tests (package api_test).
package openapitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/elevate-jit/elevate/internal/api"
)

// Transport wraps base (nil = http.DefaultTransport) so that every request
// sent and every response received through it is validated against the API's
// OpenAPI document. An unknown route or method, a request that breaks the
// document (unless the request's context was made with MarkInvalid), or a
// response whose status, headers or body the document does not allow is
// reported with t.Errorf naming the method, path, status and the problem. The
// response body stays readable by the caller.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	t.Helper()
	s, err := load()
	if err != nil {
		t.Fatalf("openapitest: %v", err)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{t: t, base: base, spec: s}
}

// Client returns an *http.Client whose transport is Transport(t, base).
func Client(t testing.TB, base http.RoundTripper) *http.Client {
	t.Helper()
	return &http.Client{Transport: Transport(t, base)}
}

type invalidKey struct{}

// MarkInvalid returns a context that tells the transport the request is
// deliberately invalid (a test of bad input): the request is not validated
// (an unknown path or method is not reported either), but the response still
// is.
func MarkInvalid(ctx context.Context) context.Context {
	return context.WithValue(ctx, invalidKey{}, true)
}

func markedInvalid(ctx context.Context) bool {
	v, _ := ctx.Value(invalidKey{}).(bool)
	return v
}

// spec is the loaded document and what validating against it needs.
type spec struct {
	doc    *openapi3.T
	router routers.Router
	// notFound and methodNotAllowed are the document's responses for paths
	// and methods it does not know.
	notFound, methodNotAllowed *openapi3.ResponseRef
}

var (
	loadOnce sync.Once
	loaded   *spec
	loadErr  error
)

// uuidFormat matches what the server accepts as a UUID (any version, either
// case); kin-openapi does not check the uuid format by itself.
var uuidFormat = openapi3.NewRegexpFormatValidator(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// load parses and validates the document once.
func load() (*spec, error) {
	loadOnce.Do(func() { loaded, loadErr = loadSpec(api.OpenAPIYAML) })
	return loaded, loadErr
}

func loadSpec(data []byte) (*spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("the OpenAPI document does not load: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	// The document names a deployment URL; tests talk to servers on any
	// host, so route on the path alone.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("routing the OpenAPI document: %w", err)
	}
	s := &spec{doc: doc, router: router}
	if doc.Components != nil {
		s.notFound = doc.Components.Responses["NotFound"]
		s.methodNotAllowed = doc.Components.Responses["MethodNotAllowed"]
	}
	if s.notFound == nil || s.methodNotAllowed == nil {
		return nil, errors.New("the OpenAPI document lacks the components/responses NotFound and MethodNotAllowed")
	}
	return s, nil
}

// options are the validation options: complete reports, no defaults written
// into requests, undocumented statuses and unexpected request bodies
// rejected, any credential accepted (authentication is the server's business).
func options() *openapi3filter.Options {
	return &openapi3filter.Options{
		IncludeResponseStatus:             true,
		MultiError:                        true,
		SkipSettingDefaults:               true,
		RejectWhenRequestBodyNotSpecified: true,
		AuthenticationFunc:                func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidator("uuid", uuidFormat),
			// Messages name the failing path and reason without dumping
			// whole schemas (the body excerpt follows the message).
			openapi3.DisableSchemaErrorDetails(),
		},
	}
}

// methods are the methods the API routes.
var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

type transport struct {
	t    testing.TB
	base http.RoundTripper
	spec *spec
}

// exchange is what is known of one call while it is checked.
type exchange struct {
	method   string        // the method sent
	req      *http.Request // a private copy for the validator
	route    *routers.Route
	input    *openapi3filter.RequestValidationInput
	allowed  []string // for a path the document knows without this method
	problems []string
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := drain(req.Body)
	if err != nil {
		return nil, fmt.Errorf("openapitest: reading the request body: %w", err)
	}
	out := req.Clone(req.Context())
	setBody(out, body)
	ex := tr.spec.checkRequest(req, body, markedInvalid(req.Context()))

	resp, err := tr.base.RoundTrip(out)
	if err != nil {
		for _, p := range ex.problems {
			tr.t.Errorf("openapitest: %s %s (no response: %v): %s", req.Method, req.URL.RequestURI(), err, p)
		}
		return nil, err
	}
	respBody, err := drain(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err != nil {
		return nil, fmt.Errorf("openapitest: reading the response body: %w", err)
	}
	responseProblems := tr.spec.checkResponse(ex, resp, respBody)
	for _, p := range ex.problems {
		tr.t.Errorf("openapitest: %s %s → %d: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, p)
	}
	for _, p := range responseProblems {
		tr.t.Errorf("openapitest: %s %s → %d: %s\n  response body: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, p, excerpt(respBody))
	}
	return resp, nil
}

// checkRequest finds the operation of a request and, unless skip, validates
// the request against it.
func (s *spec) checkRequest(req *http.Request, body []byte, skip bool) *exchange {
	v := req.Clone(req.Context())
	setBody(v, body)
	v.ContentLength = int64(len(body))
	if v.Method == http.MethodHead {
		v.Method = http.MethodGet // net/http serves HEAD with the GET handler
	}
	ex := &exchange{method: req.Method, req: v}
	route, params, err := s.find(v)
	if err != nil {
		ex.allowed = s.allowedMethods(v)
		if !skip {
			if len(ex.allowed) > 0 {
				ex.problems = append(ex.problems, fmt.Sprintf("the OpenAPI document has no %s operation on this path (it has %s)", req.Method, strings.Join(ex.allowed, ", ")))
			} else {
				ex.problems = append(ex.problems, "the OpenAPI document has no such path")
			}
		}
		return ex
	}
	ex.route = route
	ex.input = &openapi3filter.RequestValidationInput{Request: v, PathParams: params, Route: route, Options: options()}
	if skip {
		return ex
	}
	if err := openapi3filter.ValidateRequest(v.Context(), ex.input); err != nil {
		ex.problems = append(ex.problems, "request: "+message(err))
	}
	ex.problems = append(ex.problems, checkQuery(route, v)...)
	return ex
}

// checkQuery reports query parameters the operation does not declare and
// repeated ones, which the server rejects but kin-openapi lets through.
func checkQuery(route *routers.Route, req *http.Request) []string {
	declared := map[string]bool{}
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	var problems []string
	q := req.URL.Query()
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch {
		case !declared[name]:
			problems = append(problems, fmt.Sprintf("request: query parameter %q is not in the OpenAPI document", name))
		case len(q[name]) > 1:
			problems = append(problems, fmt.Sprintf("request: query parameter %q is repeated", name))
		}
	}
	return problems
}

// find finds the operation of a request. kin-openapi's legacy router also
// matches a path with a trailing slash, or an empty path parameter, which
// net/http's ServeMux (and so the API) does not route; find does not either.
func (s *spec) find(req *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		return nil, nil, err
	}
	path := route.Path
	for name, value := range params {
		if value == "" {
			return nil, nil, routers.ErrPathNotFound
		}
		path = strings.ReplaceAll(path, "{"+name+"}", value)
	}
	if path != req.URL.Path {
		return nil, nil, routers.ErrPathNotFound
	}
	return route, params, nil
}

// allowedMethods lists the methods the document has for the request's path.
func (s *spec) allowedMethods(req *http.Request) []string {
	var out []string
	for _, m := range methods {
		probe := req.Clone(req.Context())
		probe.Method = m
		if _, _, err := s.find(probe); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// checkResponse validates a response against the operation's documented
// responses, or, for a path or method the document does not know, against
// the documented 404 or 405 error.
func (s *spec) checkResponse(ex *exchange, resp *http.Response, body []byte) []string {
	if ex.method == http.MethodHead {
		return nil // no body to check
	}
	input := ex.input
	if ex.route == nil {
		status, want, what := http.StatusNotFound, s.notFound, "a path it does not have"
		if len(ex.allowed) > 0 {
			status, want, what = http.StatusMethodNotAllowed, s.methodNotAllowed, "a method the path does not take"
		}
		if resp.StatusCode != status {
			return []string{fmt.Sprintf("response: the OpenAPI document answers %s with %d (components/responses), not %d", what, status, resp.StatusCode)}
		}
		op := openapi3.NewOperation()
		op.Responses = openapi3.NewResponses(openapi3.WithStatus(status, want))
		route := &routers.Route{Spec: s.doc, Path: ex.req.URL.Path, Method: ex.req.Method, Operation: op}
		input = &openapi3filter.RequestValidationInput{Request: ex.req, Route: route, Options: options()}
	}
	var problems []string
	rvi := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                input.Options,
	}
	if err := openapi3filter.ValidateResponse(ex.req.Context(), rvi); err != nil {
		problems = append(problems, "response: "+message(err))
	}
	if ex.route == nil && len(ex.allowed) > 0 && len(resp.Header.Values("Allow")) > 0 {
		if got, want := splitList(resp.Header.Get("Allow")), ex.allowed; !sameSet(got, want) {
			problems = append(problems, fmt.Sprintf("response: Allow is %q, but the OpenAPI document has %s for this path", resp.Header.Get("Allow"), strings.Join(want, ", ")))
		}
	}
	// kin-openapi does not check that a response documented without content
	// has none.
	if ref := input.Route.Operation.Responses.Status(resp.StatusCode); ref != nil && ref.Value != nil && len(ref.Value.Content) == 0 && len(body) > 0 {
		problems = append(problems, fmt.Sprintf("response: the OpenAPI document gives %d no body, but it has %d bytes", resp.StatusCode, len(body)))
	}
	return problems
}

// message flattens a validation error into one readable line per problem.
func message(err error) string {
	if me, ok := err.(openapi3.MultiError); ok && len(me) > 0 {
		parts := make([]string, 0, len(me))
		for _, e := range me {
			parts = append(parts, message(e))
		}
		return strings.Join(parts, "; ")
	}
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " ")
}

// drain reads and closes a body; a nil body reads as empty.
func drain(rc io.ReadCloser) ([]byte, error) {
	if rc == nil || rc == http.NoBody {
		return nil, nil
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// setBody gives r a fresh reader over body, keeping a nil or empty body as it was.
func setBody(r *http.Request, body []byte) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
}

var secretKey = regexp.MustCompile(`elv_[a-z2-7]{16}_[a-z2-7]{52}`)

// excerpt is the start of a body for a report, with API key secrets hidden.
func excerpt(body []byte) string {
	const max = 1024
	s := secretKey.ReplaceAllString(string(body), "elv_<redacted>")
	s = strings.TrimSpace(s)
	if len(s) > max {
		s = s[:max] + "…"
	}
	if s == "" {
		return "(empty)"
	}
	return s
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
