package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedJSONIsCurrent fails when openapi.yaml changed without
// `go generate ./internal/api/...`.
func TestGeneratedJSONIsCurrent(t *testing.T) {
	yaml, err := os.ReadFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Convert(yaml)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../spec/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/api/spec/openapi.json is stale: run go generate ./internal/api/...")
	}
}
