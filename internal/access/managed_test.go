package access_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

const dbi = "db-ABCDEFGHIJKLMNOPQRSTUVWXY"

type policyDoc struct {
	Version   string
	Statement []struct {
		Sid       string
		Effect    string
		Action    []string
		Resource  []string
		Condition map[string]map[string]string
	}
}

func TestManagedSpec(t *testing.T) {
	bucket := access.Resource{Type: access.ResourceS3Bucket, ID: "team-logs", AccountID: acct1}
	db := access.Resource{Type: access.ResourceRDSInstance, ID: rdsARN, DBUser: "app_user"}.Normalize()
	dbNoUser := access.Resource{Type: access.ResourceRDSInstance, ID: rdsARN}.Normalize()
	vm := access.Resource{Type: access.ResourceEC2Instance, ID: "i-0123456789abcdef0", AccountID: acct2, Region: "eu-central-1"}
	tests := []struct {
		name     string
		instance string
		r        access.Resource
		action   string
		account  string
		actions  []string // some actions the policy must allow
		resource string   // a resource the policy must name
	}{
		{"s3 read", instanceARN, bucket, "read", acct1, []string{"s3:GetObject", "s3:ListBucket"}, "arn:aws:s3:::team-logs/*"},
		{"s3 write", instanceARN, bucket, "write", acct1, []string{"s3:PutObject", "s3:DeleteObject"}, "arn:aws:s3:::team-logs"},
		{"s3 read, gov partition", "arn:aws-us-gov:sso:::instance/" + instance, bucket, "read", acct1, []string{"s3:GetObject"}, "arn:aws-us-gov:s3:::team-logs"},
		{"rds connect", instanceARN, db, "connect", acct1, []string{"rds-db:connect"}, "arn:aws:rds-db:eu-west-1:" + acct1 + ":dbuser:" + dbi + "/app_user"},
		{"rds read", instanceARN, dbNoUser, "read", acct1, []string{"rds:DescribeDBInstances"}, rdsARN},
		{"rds admin", instanceARN, dbNoUser, "admin", acct1, []string{"rds:RebootDBInstance"}, rdsARN},
		{"ec2 ssm-session", instanceARN, vm, "ssm-session", acct2, []string{"ssm:StartSession"}, "arn:aws:ec2:eu-central-1:" + acct2 + ":instance/i-0123456789abcdef0"},
		{"ec2 read", instanceARN, vm, "read", acct2, []string{"ec2:DescribeInstances"}, "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := access.ManagedSpec(tt.instance, tt.r, tt.action, 3, dbi)
			if err != nil {
				t.Fatalf("ManagedSpec: %v", err)
			}
			if !strings.HasPrefix(spec.Name, "elv-") || len(spec.Name) > access.MaxPermissionSetName {
				t.Errorf("name %q: want elv- and at most %d characters", spec.Name, access.MaxPermissionSetName)
			}
			if want := access.ManagedName(tt.instance, tt.r, tt.action, 3); spec.Name != want {
				t.Errorf("name = %q, want ManagedName's %q", spec.Name, want)
			}
			if spec.AccountID != tt.account {
				t.Errorf("account = %q, want %q", spec.AccountID, tt.account)
			}
			if spec.SessionDuration != time.Hour {
				t.Errorf("session duration = %v, want 1h", spec.SessionDuration)
			}
			if spec.Description == "" || len(spec.Description) > 700 {
				t.Errorf("description %q", spec.Description)
			}
			if len(spec.InlinePolicy) > access.MaxInlinePolicyBytes {
				t.Errorf("inline policy is %d bytes", len(spec.InlinePolicy))
			}
			var doc policyDoc
			if err := json.Unmarshal([]byte(spec.InlinePolicy), &doc); err != nil {
				t.Fatalf("inline policy is not JSON: %v\n%s", err, spec.InlinePolicy)
			}
			if doc.Version != "2012-10-17" || len(doc.Statement) == 0 {
				t.Fatalf("policy %s", spec.InlinePolicy)
			}
			var allActions, allResources []string
			for _, st := range doc.Statement {
				if st.Effect != "Allow" {
					t.Errorf("statement %s has effect %q", st.Sid, st.Effect)
				}
				if got := st.Condition["StringEquals"]["aws:ResourceAccount"]; got != tt.account {
					t.Errorf("statement %s: aws:ResourceAccount = %q, want %q", st.Sid, got, tt.account)
				}
				allActions = append(allActions, st.Action...)
				allResources = append(allResources, st.Resource...)
			}
			for _, a := range tt.actions {
				if !contains(allActions, a) {
					t.Errorf("policy does not allow %s: %v", a, allActions)
				}
			}
			if !contains(allResources, tt.resource) {
				t.Errorf("policy does not name %s: %v", tt.resource, allResources)
			}
			if tt.action == "read" && tt.r.Type == access.ResourceS3Bucket && contains(allActions, "s3:PutObject") {
				t.Error("read access allows s3:PutObject")
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestManagedSpecErrors(t *testing.T) {
	db := access.Resource{Type: access.ResourceRDSInstance, ID: rdsARN, DBUser: "app_user"}.Normalize()
	tests := []struct {
		name   string
		r      access.Resource
		action string
		dbi    string
	}{
		{"rds connect without DbiResourceId", db, "connect", ""},
		{"unknown s3 action", access.Resource{Type: access.ResourceS3Bucket, ID: "logs", AccountID: acct1}, "delete", ""},
		{"ec2 connect", access.Resource{Type: access.ResourceEC2Instance, ID: ec2ID8, AccountID: acct1, Region: "eu-west-1"}, "connect", dbi},
		{"unmanaged type", access.Resource{Type: access.ResourceAccount, ID: acct1}, "ReadOnly", ""},
		{"empty action", access.Resource{Type: access.ResourceS3Bucket, ID: "logs", AccountID: acct1}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := access.ManagedSpec(instanceARN, tt.r, tt.action, 1, tt.dbi)
			if err == nil {
				t.Fatalf("ManagedSpec = %+v, want an error", spec)
			}
		})
	}
}

func TestManagedName(t *testing.T) {
	bucket := access.Resource{Type: access.ResourceS3Bucket, ID: "team-logs", AccountID: acct1}
	db := access.Resource{Type: access.ResourceRDSInstance, ID: rdsARN, AccountID: acct1, Region: "eu-west-1", DBUser: "app"}
	base := access.ManagedName(instanceARN, bucket, "read", 1)
	if again := access.ManagedName(instanceARN, bucket, "read", 1); again != base {
		t.Fatalf("ManagedName is not deterministic: %q then %q", base, again)
	}
	if !strings.HasPrefix(base, "elv-") || len(base) > 32 {
		t.Fatalf("ManagedName = %q, want elv- and at most 32 characters", base)
	}
	with := func(edit func(*access.Resource)) access.Resource { r := bucket; edit(&r); return r }
	others := map[string]string{
		"other bucket":         access.ManagedName(instanceARN, with(func(r *access.Resource) { r.ID = "team-logs2" }), "read", 1),
		"other account":        access.ManagedName(instanceARN, with(func(r *access.Resource) { r.AccountID = acct2 }), "read", 1),
		"other action":         access.ManagedName(instanceARN, bucket, "write", 1),
		"other policy version": access.ManagedName(instanceARN, bucket, "read", 2),
		"other instance":       access.ManagedName("arn:aws:sso:::instance/ssoins-0b5e8d2c7a9f3e14", bucket, "read", 1),
		"other type":           access.ManagedName(instanceARN, with(func(r *access.Resource) { r.Type = access.ResourceEC2Instance }), "read", 1),
	}
	seen := map[string]string{base: "base"}
	for name, got := range others {
		if prev, dup := seen[got]; dup {
			t.Errorf("%s has the same name as %s: %q", name, prev, got)
		}
		seen[got] = name
		if !strings.HasPrefix(got, "elv-") || len(got) > 32 {
			t.Errorf("%s: name %q", name, got)
		}
	}
	dbUser := access.ManagedName(instanceARN, db, "connect", 1)
	db.DBUser = "other"
	if access.ManagedName(instanceARN, db, "connect", 1) == dbUser {
		t.Error("connect as two database users shares a permission set")
	}
}
