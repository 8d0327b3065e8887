// Command genopenapi writes openapi.json from openapi.yaml, so the served
// document needs no YAML or OpenAPI library at run time (go generate).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/getkin/kin-openapi/openapi3"
)

func main() {
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "genopenapi:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	j, err := Convert(b)
	if err != nil {
		return err
	}
	return os.WriteFile(out, j, 0o644)
}

// Convert loads and validates the YAML document and returns it as JSON.
func Convert(yaml []byte) ([]byte, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(yaml)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, err
	}
	j, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return nil, err
	}
	return append(j, '\n'), nil
}
