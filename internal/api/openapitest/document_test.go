package openapitest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/api"
)

// These tests keep the document from drifting from the code: the router, the
// error codes and their statuses, the wire types and the domain's enums.

func mustLoad(t *testing.T) *openapi3.T {
	t.Helper()
	s, err := load()
	if err != nil {
		t.Fatal(err)
	}
	return s.doc
}

func readSource(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var routePattern = regexp.MustCompile(`a\.(?:handle|mux\.HandleFunc)\(\s*"([A-Z]+) (/[^"]*)"`)

// TestDocumentCoversRoutes checks that every route (api.AllRoutes, and the
// unauthenticated ones of server.go) is in the document and every
// documented operation is routed.
func TestDocumentCoversRoutes(t *testing.T) {
	doc := mustLoad(t)
	routed := map[string]bool{}
	for _, m := range routePattern.FindAllStringSubmatch(readSource(t, "../server.go"), -1) {
		routed[m[1]+" "+m[2]] = true
	}
	for _, r := range api.AllRoutes() {
		routed[r.Pattern] = true
	}
	if len(routed) < 20 {
		t.Fatalf("found only %d routes in ../server.go; has the way routes are registered changed?", len(routed))
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, r := range sortedKeys(routed) {
		if !documented[r] {
			t.Errorf("%s is routed in server.go but not in openapi.yaml", r)
		}
	}
	for _, d := range sortedKeys(documented) {
		if !routed[d] {
			t.Errorf("%s is in openapi.yaml but not routed in server.go", d)
		}
	}
}

var (
	codeConstPattern = regexp.MustCompile(`(?m)^\s*(?:const\s+)?(Code\w+)\s+(?:access\.)?Code\s*=\s*"([a-z_]+)"`)
	statusOfPattern  = regexp.MustCompile(`(?m)^\s*((?:access\.)?Code\w+|"[a-z_]+"):\s*http\.(Status\w+),`)
	httpStatuses     = map[string]int{
		"StatusBadRequest": 400, "StatusUnauthorized": 401, "StatusForbidden": 403, "StatusNotFound": 404,
		"StatusMethodNotAllowed": 405, "StatusConflict": 409, "StatusRequestEntityTooLarge": 413,
		"StatusUnsupportedMediaType": 415, "StatusUnprocessableEntity": 422, "StatusTooManyRequests": 429,
		"StatusInternalServerError": 500,
	}
)

// serverStatuses reads the code-to-status map of ../errors.go, whose codes
// are access's and the API's own (CodeMethodNotAllowed).
func serverStatuses(t *testing.T) map[string]int {
	t.Helper()
	consts := map[string]string{}
	for _, m := range codeConstPattern.FindAllStringSubmatch(readSource(t, "../../access/errors.go"), -1) {
		consts["access."+m[1]] = m[2]
	}
	for _, m := range codeConstPattern.FindAllStringSubmatch(readSource(t, "../errors.go"), -1) {
		consts[m[1]] = m[2]
	}
	out := map[string]int{}
	for _, m := range statusOfPattern.FindAllStringSubmatch(readSource(t, "../errors.go"), -1) {
		code := strings.Trim(m[1], `"`)
		if !strings.HasPrefix(m[1], `"`) {
			code = consts[m[1]]
		}
		status, ok := httpStatuses[m[2]]
		if code == "" || !ok {
			t.Fatalf("cannot read the statusOf entry %q of ../errors.go", m[0])
		}
		out[code] = status
	}
	if len(out) < 10 {
		t.Fatalf("found only %d entries of statusOf in ../errors.go", len(out))
	}
	return out
}

// TestErrorCodesMatchServer checks the Error code enum against the codes the
// server maps, and that every documented error response lists only codes
// the server answers with that status.
func TestErrorCodesMatchServer(t *testing.T) {
	doc := mustLoad(t)
	statuses := serverStatuses(t)
	enum := enumOf(doc.Components.Schemas["Error"].Value.Properties["code"].Value)
	if want := sortedKeys(statuses); !slices.Equal(sorted(enum), want) {
		t.Errorf("Error.code enum is %v; the server maps %v", sorted(enum), want)
	}

	used := map[string]bool{}
	check := func(where string, status int, ref *openapi3.ResponseRef) {
		mt := ref.Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil {
			t.Errorf("%s: the %d response has no application/json schema", where, status)
			return
		}
		codes := codesOf(mt.Schema)
		if len(codes) == 0 {
			t.Errorf("%s: the %d response does not constrain the error code", where, status)
		}
		for _, c := range codes {
			used[c] = true
			if statuses[c] != status {
				t.Errorf("%s: the %d response allows code %q, which the server answers with %d", where, status, c, statuses[c])
			}
		}
	}
	forEachOperation(doc, func(method, path string, op *openapi3.Operation) {
		for key, ref := range op.Responses.Map() {
			status, err := strconv.Atoi(key)
			if err != nil {
				t.Errorf("%s %s: response %q: use explicit statuses", method, path, key)
				continue
			}
			if status >= 400 {
				check(method+" "+path, status, ref)
			}
		}
	})
	check("components/responses/MethodNotAllowed", 405, doc.Components.Responses["MethodNotAllowed"])
	check("components/responses/NotFound", 404, doc.Components.Responses["NotFound"])
	for _, c := range sortedKeys(statuses) {
		if !used[c] {
			t.Errorf("no documented response allows code %q", c)
		}
	}
}

// codesOf returns the error codes a response schema allows.
func codesOf(ref *openapi3.SchemaRef) []string {
	s := ref.Value
	switch {
	case len(s.OneOf) > 0 || len(s.AnyOf) > 0:
		var out []string
		for _, b := range append(append(openapi3.SchemaRefs{}, s.OneOf...), s.AnyOf...) {
			out = append(out, codesOf(b)...)
		}
		return out
	case len(s.AllOf) > 0:
		var out []string
		for i, b := range s.AllOf {
			codes := codesOf(b)
			switch {
			case codes == nil:
			case out == nil || i == 0:
				out = codes
			default:
				out = slices.DeleteFunc(out, func(c string) bool { return !slices.Contains(codes, c) })
			}
		}
		return out
	case s.Properties["code"] != nil:
		return enumOf(s.Properties["code"].Value)
	}
	return nil
}

// wireField is a field of a wire struct in wire.go.
type wireField struct {
	omitempty, pointer bool
}

// wireStructs reads the wire types of package api (../*.go): the struct
// types whose fields all carry a json tag, and their JSON fields.
func wireStructs(t *testing.T) map[string]map[string]wireField {
	t.Helper()
	files, err := filepath.Glob("../*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in ..: %v", err)
	}
	out := map[string]map[string]wireField{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok || len(st.Fields.List) == 0 {
				return false
			}
			fields := map[string]wireField{}
			for _, fl := range st.Fields.List {
				if fl.Tag == nil {
					return false // not a wire type
				}
				tag, _ := strconv.Unquote(fl.Tag.Value)
				name, opts, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
				if name == "-" || name == "" {
					return false
				}
				_, ptr := fl.Type.(*ast.StarExpr)
				fields[name] = wireField{omitempty: slices.Contains(strings.Split(opts, ","), "omitempty"), pointer: ptr}
			}
			out[ts.Name.Name] = fields
			return false
		})
	}
	if len(out) < 15 {
		t.Fatalf("found only %d wire types in ../*.go", len(out))
	}
	return out
}

// TestSchemasMatchWireTypes checks each schema against the wire struct it
// documents: the same fields; for responses, required unless omitempty and
// nullable exactly when a pointer; for request bodies, no other fields.
func TestSchemasMatchWireTypes(t *testing.T) {
	doc := mustLoad(t)
	schemas := doc.Components.Schemas
	patch := schemas["TenantPatch"].Value.Properties
	type pair struct {
		schema string
		value  *openapi3.Schema
		skip   string // a wire field the schema leaves out
	}
	responses := map[string][]pair{
		"resourceJSON":        {{schema: "Resource"}},
		"approvalJSON":        {{schema: "Approval"}},
		"requestJSON":         {{schema: "Request"}},
		"assignmentJSON":      {{schema: "Assignment"}},
		"grantJSON":           {{schema: "Grant"}},
		"revocationJSON":      {{schema: "Revocation"}},
		"apiKeyJSON":          {{schema: "ApiKeyCreated"}, {schema: "ApiKey", skip: "key"}},
		"auditEventJSON":      {{schema: "AuditEvent"}},
		"jwtJSON":             {{schema: "TenantJWT"}},
		"identityCenterJSON":  {{schema: "TenantIdentityCenter"}},
		"tenantJSON":          {{schema: "Tenant"}},
		"catalogActionJSON":   {{schema: "CatalogAction"}},
		"catalogJSON":         {{schema: "Catalog"}},
		"errorJSON":           {{schema: "Error"}},
		"listJSON":            {{schema: "RequestList"}, {schema: "GrantList"}, {schema: "ApiKeyList"}, {schema: "AuditEventList"}, {schema: "SuspensionList"}},
		"policySetJSON":       {{schema: "PolicySet"}},
		"evaluationJSON":      {{schema: "Evaluation"}},
		"determiningJSON":     {{schema: "PolicyDetermining"}},
		"evalErrorJSON":       {{schema: "PolicyEvaluationError"}},
		"backtestJSON":        {{schema: "Backtest"}},
		"backtestOutcomeJSON": {{schema: "BacktestOutcome"}},
		"backtestChangeJSON":  {{schema: "Backtest.changes", value: schemas["Backtest"].Value.Properties["changes"].Value.Items.Value}},
		"previewJSON":         {{schema: "RequestPreview"}},
		"signInJSON":          {{schema: "SignIn"}},
		"oidcJSON":            {{schema: "SignIn.oidc", value: schemas["SignIn"].Value.Properties["oidc"].Value}},
		"forwardJSON":         {{schema: "Forward"}},
		"conflictJSON":        {{schema: "SodConflict"}},
		"reviewJSON":          {{schema: "Review"}},
		"suspensionJSON":      {{schema: "Suspension"}},
	}
	requests := map[string][]pair{
		"createRequestBody":       {{schema: "CreateRequestBody"}},
		"reasoningBody":           {{schema: "ReasoningBody"}},
		"reviewBody":              {{schema: "ReviewBody"}},
		"forwardBody":             {{schema: "ForwardBody"}},
		"extendGrantBody":         {{schema: "ExtendGrantBody"}},
		"createGrantBody":         {{schema: "CreateGrantBody"}},
		"createAPIKeyBody":        {{schema: "CreateApiKeyBody"}},
		"tenantPatchBody":         {{schema: "TenantPatch"}},
		"jwtPatchJSON":            {{schema: "TenantPatch.jwt", value: patch["jwt"].Value}},
		"identityCenterPatchJSON": {{schema: "TenantPatch.identity_center", value: patch["identity_center"].Value}},
		"putPoliciesBody":         {{schema: "PutPoliciesBody"}},
		"evaluateBody":            {{schema: "EvaluateBody"}},
		"backtestBody":            {{schema: "BacktestBody"}},
		"evaluatePrincipalJSON":   {{schema: "EvaluateBody.principal", value: schemas["EvaluateBody"].Value.Properties["principal"].Value}},
	}
	wire := wireStructs(t)
	for _, name := range sortedKeys(wire) {
		if responses[name] == nil && requests[name] == nil {
			t.Errorf("package api: wire type %s is not mapped to a schema in this test; document it and add it here", name)
		}
	}
	for strict, table := range map[bool]map[string][]pair{true: responses, false: requests} {
		for wireName, pairs := range table {
			fields, ok := wire[wireName]
			if !ok {
				t.Errorf("package api has no wire type %s", wireName)
				continue
			}
			for _, p := range pairs {
				s := p.value
				if s == nil {
					if schemas[p.schema] == nil {
						t.Errorf("no schema %s", p.schema)
						continue
					}
					s = schemas[p.schema].Value
				}
				where := p.schema + " (" + wireName + ")"
				if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
					t.Errorf("%s: additionalProperties must be false", where)
				}
				want := map[string]wireField{}
				for k, v := range fields {
					if k != p.skip {
						want[k] = v
					}
				}
				if got, wantNames := sortedKeys(s.Properties), sortedKeys(want); !slices.Equal(got, wantNames) {
					t.Errorf("%s: properties %v, wire fields %v", where, got, wantNames)
				}
				for _, r := range s.Required {
					if _, ok := want[r]; !ok {
						t.Errorf("%s: requires %q, which is not a wire field", where, r)
					}
				}
				if !strict {
					continue
				}
				for name, f := range want {
					prop := s.Properties[name]
					if prop == nil {
						continue
					}
					if req := slices.Contains(s.Required, name); req == f.omitempty {
						t.Errorf("%s: %s required=%v, but its wire field omitempty=%v", where, name, req, f.omitempty)
					}
					if prop.Value.Nullable != f.pointer {
						t.Errorf("%s: %s nullable=%v, but its wire field is a pointer=%v", where, name, prop.Value.Nullable, f.pointer)
					}
				}
			}
		}
	}
}

// TestEnumsMatchDomain checks the document's enums and filters against the
// domain's values.
func TestEnumsMatchDomain(t *testing.T) {
	doc := mustLoad(t)
	schemas := doc.Components.Schemas
	prop := func(schema, name string) *openapi3.Schema {
		t.Helper()
		p := schemas[schema].Value.Properties[name]
		if p == nil {
			t.Fatalf("%s has no property %s", schema, name)
		}
		return p.Value
	}
	strs := func(vs ...string) []string { return vs }
	tests := []struct {
		where string
		s     *openapi3.Schema
		want  []string
	}{
		{"Request.status", prop("Request", "status"), stringsOf(access.RequestStatuses)},
		{"Grant.status", prop("Grant", "status"), stringsOf(access.GrantStatuses)},
		{"Resource.type", prop("Resource", "type"), stringsOf(access.ResourceTypes)},
		{"Role", schemas["Role"].Value, stringsOf([]access.Role{access.RoleAdmin, access.RoleApprover, access.RoleRequester})},
		{"Request.approval_mode", prop("Request", "approval_mode"), stringsOf([]access.ApprovalMode{access.ModeAuto, access.ModeRequire, access.ModeBreakGlass})},
		{"Assignment.status", prop("Assignment", "status"), stringsOf([]access.AssignmentState{access.AssignmentPlanned, access.AssignmentCreating,
			access.AssignmentActive, access.AssignmentDeleting, access.AssignmentDeleted, access.AssignmentFailed})},
		{"ApiKey.principal_kind", prop("ApiKey", "principal_kind"), stringsOf([]access.PrincipalKind{access.PrincipalUser, access.PrincipalService})},
		{"ApiKeyCreated.principal_kind", prop("ApiKeyCreated", "principal_kind"), stringsOf([]access.PrincipalKind{access.PrincipalUser, access.PrincipalService})},
		{"AuditEvent.actor_kind", prop("AuditEvent", "actor_kind"), stringsOf([]access.PrincipalKind{access.PrincipalUser, access.PrincipalService})},
		{"AuditEvent.severity", prop("AuditEvent", "severity"), stringsOf([]access.Severity{access.SeverityInfo, access.SeverityHigh})},
		{"Tenant.identity_mapping", prop("Tenant", "identity_mapping"), stringsOf([]access.IdentityMapping{access.MapUserID, access.MapExternalID, access.MapUserName, access.MapEmail})},
		{"TenantPatch.identity_mapping", prop("TenantPatch", "identity_mapping"), stringsOf([]access.IdentityMapping{access.MapUserID, access.MapExternalID, access.MapUserName, access.MapEmail})},
		{"Health.status", prop("Health", "status"), strs("ok")},
		{"Evaluation.approval_mode", prop("Evaluation", "approval_mode"), stringsOf([]access.ApprovalMode{access.ModeAuto, access.ModeRequire, access.ModeBreakGlass})},
	}
	for _, tt := range tests {
		if got := sorted(enumOf(tt.s)); !slices.Equal(got, sorted(tt.want)) {
			t.Errorf("%s: enum %v, domain %v", tt.where, got, sorted(tt.want))
		}
	}
	for _, r := range enumOf(schemas["Role"].Value) {
		if !access.Role(r).Valid() {
			t.Errorf("Role %q is not a valid access.Role", r)
		}
	}
	for _, m := range enumOf(prop("Tenant", "identity_mapping")) {
		if !access.IdentityMapping(m).Valid() {
			t.Errorf("identity mapping %q is not valid in the domain", m)
		}
	}

	params := doc.Components.Parameters
	limit := params["Limit"].Value.Schema.Value
	if limit.Min == nil || *limit.Min != 1 || limit.Max == nil || int(*limit.Max) != access.MaxPageSize || limit.Default != float64(access.DefaultPageSize) {
		t.Errorf("limit: min %v max %v default %v; the domain has 1..%d, default %d", limit.Min, limit.Max, limit.Default, access.MaxPageSize, access.DefaultPageSize)
	}
	for _, f := range []struct {
		param string
		all   []string
	}{
		{"RequestStatusFilter", stringsOf(access.RequestStatuses)},
		{"GrantStatusFilter", stringsOf(access.GrantStatuses)},
	} {
		re := regexp.MustCompile(params[f.param].Value.Schema.Value.Pattern)
		good := append(slices.Clone(f.all), strings.Join(f.all, ","), strings.Join(f.all, ", "))
		for _, v := range good {
			if !re.MatchString(v) {
				t.Errorf("%s does not accept %q", f.param, v)
			}
		}
		for _, v := range []string{"bogus", f.all[0] + ",", "," + f.all[0], f.all[0] + ",bogus", strings.ToUpper(f.all[0])} {
			if re.MatchString(v) {
				t.Errorf("%s accepts %q", f.param, v)
			}
		}
	}
}

// TestDocumentConventions checks what every operation of the document must
// have: names, descriptions, the right security and headers, the common
// error responses, and strict response schemas.
func TestDocumentConventions(t *testing.T) {
	doc := mustLoad(t)
	forEachOperation(doc, func(method, path string, op *openapi3.Operation) {
		where := method + " " + path
		if op.OperationID == "" || op.Summary == "" || strings.TrimSpace(op.Description) == "" || len(op.Tags) == 0 {
			t.Errorf("%s: needs an operationId, summary, description and tag", where)
		}
		item := doc.Paths.Value(path)
		params := append(slices.Clone(item.Parameters), op.Parameters...)
		// How to sign in is asked before anyone is: public, though under /v1.
		v1 := strings.HasPrefix(path, "/v1/") && path != "/v1/tenants/{id}/sign-in"
		if v1 {
			if op.Security != nil {
				t.Errorf("%s: /v1 operations use the document's security (API key or bearer)", where)
			}
			if params.GetByInAndName(openapi3.ParameterInHeader, "X-Tenant-ID") == nil {
				t.Errorf("%s: needs the X-Tenant-ID header parameter", where)
			}
			want := []string{"400", "401", "403", "429", "500"}
			if strings.Contains(path, "{id}") {
				want = append(want, "404")
			}
			if op.RequestBody != nil {
				want = append(want, "413", "415")
			}
			if method == http.MethodPost && !ignoresIdempotencyKey(params) {
				want = append(want, "409", "422")
			}
			for _, s := range want {
				if op.Responses.Value(s) == nil {
					t.Errorf("%s: needs a %s response", where, s)
				}
			}
		} else if op.Security == nil || len(*op.Security) != 0 {
			t.Errorf("%s: a public route needs `security: []`", where)
		}
		if (method == http.MethodPost) != (params.GetByInAndName(openapi3.ParameterInHeader, "Idempotency-Key") != nil) {
			t.Errorf("%s: Idempotency-Key belongs on every POST and only there", where)
		}
		if op.Responses.Default() != nil {
			t.Errorf("%s: list statuses explicitly instead of a default response", where)
		}
		for status, ref := range op.Responses.Map() {
			h := ref.Value.Headers["X-Request-ID"]
			if h == nil || !h.Value.Required {
				t.Errorf("%s: the %s response needs the required X-Request-ID header", where, status)
			}
			if mt := ref.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil && path != "/openapi.json" {
				checkStrict(t, where+" → "+status, mt.Schema, map[*openapi3.Schema]bool{})
			}
			if len(ref.Value.Content) > 0 && ref.Value.Content.Get("application/json") == nil {
				t.Errorf("%s: the %s response is not application/json", where, status)
			}
		}
	})
}

// ignoresIdempotencyKey reports whether an operation takes Idempotency-Key
// only to ignore it (a POST that stores nothing).
func ignoresIdempotencyKey(params openapi3.Parameters) bool {
	for _, p := range params {
		if p.Ref == "#/components/parameters/IdempotencyKeyIgnored" {
			return true
		}
	}
	return false
}

// freeForm are the objects whose members are not fixed.
var freeForm = []string{"metadata", "details"}

// checkStrict fails for an object schema with fixed members that allows
// others. allOf overlays (constraints on a $ref'd base) are not themselves
// objects the server emits, so only the referenced bases are checked.
func checkStrict(t *testing.T, where string, ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	t.Helper()
	s := ref.Value
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	for _, b := range s.AllOf {
		if b.Ref != "" {
			checkStrict(t, where, b, seen)
		}
	}
	for _, b := range append(append(openapi3.SchemaRefs{}, s.OneOf...), s.AnyOf...) {
		checkStrict(t, where, b, seen)
	}
	if s.Type.Is(openapi3.TypeObject) && len(s.AllOf) == 0 {
		if len(s.Properties) > 0 && (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has || s.AdditionalProperties.Schema != nil) {
			t.Errorf("%s: object %q allows undocumented members", where, ref.Ref)
		}
		if len(s.Properties) == 0 && s.AdditionalProperties.Schema == nil && !slices.Contains(freeForm, strings.ToLower(ref.Ref[strings.LastIndex(ref.Ref, "/")+1:])) {
			// Only free-form members may be open objects; they are checked
			// by name where they are properties.
			if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
				t.Errorf("%s: object %q has no members but allows any", where, ref.Ref)
			}
		}
	}
	for name, p := range s.Properties {
		if slices.Contains(freeForm, name) && p.Ref == "" {
			continue
		}
		if name == "metadata" || name == "details" {
			continue
		}
		checkStrict(t, where+"."+name, p, seen)
	}
	if s.Items != nil {
		checkStrict(t, where+"[]", s.Items, seen)
	}
	if s.AdditionalProperties.Schema != nil {
		checkStrict(t, where+"{}", s.AdditionalProperties.Schema, seen)
	}
}

func forEachOperation(doc *openapi3.T, fn func(method, path string, op *openapi3.Operation)) {
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, path := range paths {
		ops := doc.Paths.Value(path).Operations()
		for _, method := range sortedKeys(ops) {
			fn(method, path, ops[method])
		}
	}
}

func enumOf(s *openapi3.Schema) []string {
	out := make([]string, 0, len(s.Enum))
	for _, v := range s.Enum {
		if str, ok := v.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

func stringsOf[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
