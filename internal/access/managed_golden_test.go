package access_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/elevate-jit/elevate/internal/access"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestManagedPolicyGolden pins the exact inline policy of every managed
// permission set to testdata/managed/, which docs/permission-sets.md
// documents: a change to what Elevate grants shows up in review.
func TestManagedPolicyGolden(t *testing.T) {
	instance := "arn:aws:sso:::instance/ssoins-72a3c1e9d4b5f601"
	cases := []struct {
		name     string
		resource access.Resource
		action   string
	}{
		{"s3-read", access.Resource{Type: access.ResourceS3Bucket, ID: "acme-incident-logs", AccountID: "123456789012"}, "read"},
		{"s3-write", access.Resource{Type: access.ResourceS3Bucket, ID: "acme-incident-logs", AccountID: "123456789012"}, "write"},
		{"rds-connect", access.Resource{Type: access.ResourceRDSInstance, ID: "arn:aws:rds:eu-west-1:123456789012:db:orders", DBUser: "readonly"}.Normalize(), "connect"},
		{"rds-read", access.Resource{Type: access.ResourceRDSInstance, ID: "arn:aws:rds:eu-west-1:123456789012:db:orders"}.Normalize(), "read"},
		{"rds-admin", access.Resource{Type: access.ResourceRDSInstance, ID: "arn:aws:rds:eu-west-1:123456789012:db:orders"}.Normalize(), "admin"},
		{"ec2-ssm-session", access.Resource{Type: access.ResourceEC2Instance, ID: "i-0123456789abcdef0", AccountID: "123456789012", Region: "eu-west-1"}, "ssm-session"},
		{"ec2-read", access.Resource{Type: access.ResourceEC2Instance, ID: "i-0123456789abcdef0", AccountID: "123456789012", Region: "eu-west-1"}, "read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec, err := access.ManagedSpec(instance, c.resource, c.action, 3, "db-ABCDEFGHIJKLMNOPQRSTUVWXY0")
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal([]byte(spec.InlinePolicy), &doc); err != nil {
				t.Fatal(err)
			}
			got, _ := json.MarshalIndent(map[string]any{
				"name": spec.Name, "session_duration": spec.SessionDuration.String(), "inline_policy": doc,
			}, "", "  ")
			got = append(got, '\n')
			path := filepath.Join("testdata", "managed", c.name+".json")
			if *update {
				_ = os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/access -run Golden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("the managed permission set changed; review and run with -update:\n%s", got)
			}
		})
	}
}
