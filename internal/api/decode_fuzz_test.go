package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/elevate-jit/elevate/internal/access"
)

// FuzzDecodeCreateRequest feeds arbitrary bodies of POST /v1/requests to the
// strict decoder (seeds in testdata/fuzz/FuzzDecodeCreateRequest).
func FuzzDecodeCreateRequest(f *testing.F) {
	f.Add([]byte(`{"resource":{"type":"aws_account","id":"123456789012"},"action":"ReadOnly","duration_seconds":3600,"justification":"INC-1"}`))
	f.Fuzz(func(t *testing.T, body []byte) { checkDecode[createRequestBody](t, body) })
}

// FuzzDecodeTenantPatch feeds arbitrary bodies of PATCH /v1/tenant to the
// strict decoder (seeds in testdata/fuzz/FuzzDecodeTenantPatch).
func FuzzDecodeTenantPatch(f *testing.F) {
	f.Add([]byte(`{"name":"Acme","jwt":{"issuer":"https://idp.example","audience":"elevate"},"group_roles":{"sre":"approver"},"identity_center":{"allowed_roots":["r-ab12"]}}`))
	f.Fuzz(func(t *testing.T, body []byte) { checkDecode[tenantPatchBody](t, body) })
}

// checkDecode decodes body into a T as a handler does after readBody. A
// refusal is a validation_failed error naming the body or a field, never an
// internal one or Go's own wording; an accepted body is one JSON object that
// a strict encoding/json decoder reads to the same value.
func checkDecode[T any](t *testing.T, body []byte) {
	if len(bytes.TrimSpace(body)) == 0 {
		body = nil // readBody passes an empty body on as nil
	}
	var got T
	err := decode(body, &got)
	if err != nil {
		var e *access.Error
		if !errors.As(err, &e) || e.Code != access.CodeValidationFailed || e.Message == "" {
			t.Fatalf("decode(%q) = %v, want a validation_failed *access.Error", body, err)
		}
		for _, internal := range []string{"json:", "reflect", "Go value", "main.", "api."} {
			if strings.Contains(e.Error(), internal) {
				t.Fatalf("decode(%q) = %v: the message shows internals (%q)", body, err, internal)
			}
		}
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var want T
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("decode accepted %q, which a strict decoder refuses: %v", body, err)
	}
	if dec.More() {
		t.Fatalf("decode accepted %q, which holds more than one value", body)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decode(%q) = %+v, a strict decoder reads %+v", body, got, want)
	}
}
