package api

import (
	_ "embed"
	"net/http"
)

//go:generate go run ./internal/genopenapi openapi.yaml openapi.json

// OpenAPIYAML is the OpenAPI 3 document of the API, the contract the
// end-to-end tests validate every response against.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// openAPIJSON is the same document as JSON, generated from OpenAPIYAML (a
// test keeps the two in step), so serving it needs no YAML parser.
//
//go:embed openapi.json
var openAPIJSON []byte

// openAPI serves the document as JSON, without credentials.
func (a *API) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIJSON)
}
