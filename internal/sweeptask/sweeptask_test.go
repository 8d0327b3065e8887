package sweeptask_test

import (
	"testing"

	"github.com/elevate-jit/elevate/internal/sweeptask"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		body    string
		want    string
		wantErr bool
	}{
		{`{"tenant_id":"t-1"}`, "t-1", false},
		{`{}`, "", true},
		{`not json`, "", true},
	} {
		m, err := sweeptask.Parse(tc.body)
		if m.TenantID != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("Parse(%s) = %+v, %v", tc.body, m, err)
		}
	}
}
