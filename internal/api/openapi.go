package api

import (
	_ "embed"
	"net/http"

	"github.com/elevate-jit/elevate/internal/api/spec"
)

//go:generate go run ./internal/genopenapi openapi.yaml spec/openapi.json

// OpenAPIYAML is the OpenAPI 3 document of the API, the contract the
// end-to-end tests validate every response against.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// openAPI serves the document as JSON (spec.JSON, generated from
// OpenAPIYAML; a test keeps the two in step), without credentials.
func (a *API) openAPI(w http.ResponseWriter, r *http.Request) { spec.Serve(w, r) }
