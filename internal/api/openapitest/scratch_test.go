package openapitest

import (
	"bytes"
	"testing"

	"github.com/elevate-jit/elevate/internal/api"
	"github.com/getkin/kin-openapi/openapi3"
)

func TestLoadBroken(t *testing.T) {
	for _, c := range [][2]string{
		{"status: pending", "status: bogus"},
		{"        approvals_required: 1\n", "        approvals_required: 1\n        extra: 1\n"},
		{"        approval_mode: require\n", "        approval_mode: null\n"},
		{"        has_more: false\n\n  schemas", "        has_more: 3\n\n  schemas"},
		{"code: policy_denied\n", "code: forbidden\n"},
	} {
		b := bytes.Replace(api.OpenAPIYAML, []byte(c[0]), []byte(c[1]), 1)
		l := openapi3.NewLoader()
		doc, err := l.LoadFromData(b)
		if err != nil {
			t.Fatal(err)
		}
		err = doc.Validate(l.Context)
		t.Logf("%q: %v", c[1], err)
	}
}
