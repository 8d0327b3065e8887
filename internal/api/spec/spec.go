// Package spec holds the OpenAPI document as it is served: JSON generated
// from internal/api/openapi.yaml (go generate ./internal/api/...). It
// imports only net/http, so a function that only serves the document links
// nothing else of the API.
package spec

import (
	_ "embed"
	"net/http"
)

// JSON is the OpenAPI 3 document of the API.
//
//go:embed openapi.json
var JSON []byte

// Serve writes the document: public, cacheable for five minutes.
func Serve(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(JSON)
}
