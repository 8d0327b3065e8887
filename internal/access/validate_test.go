package access_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/local"
)

const (
	rdsARN = "arn:aws:rds:eu-west-1:123456789012:db:orders-db"
	ec2ID8 = "i-0123abcd"
)

func TestResourceValidate(t *testing.T) {
	var (
		acct = func(id string) access.Resource { return access.Resource{Type: access.ResourceAccount, ID: id} }
		ps   = func(id, account string) access.Resource {
			return access.Resource{Type: access.ResourcePermissionSet, ID: id, AccountID: account}
		}
		ou = func(id string) access.Resource {
			return access.Resource{Type: access.ResourceOrganizationalUnit, ID: id}
		}
		bucket = func(name string) access.Resource {
			return access.Resource{Type: access.ResourceS3Bucket, ID: name, AccountID: acct1}
		}
		rds = func(arn string) access.Resource { return access.Resource{Type: access.ResourceRDSInstance, ID: arn} }
		ec2 = func(id string) access.Resource {
			return access.Resource{Type: access.ResourceEC2Instance, ID: id, AccountID: acct1, Region: "eu-west-1"}
		}
		with = func(r access.Resource, edit func(*access.Resource)) access.Resource { edit(&r); return r }
	)
	long := func(n int) string { return strings.Repeat("a", n) }

	valid := map[string]access.Resource{
		"account":                     acct("123456789012"),
		"permission set":              ps(psData, acct1),
		"permission set, gov":         ps("arn:aws-us-gov:sso:::permissionSet/"+instance+"/ps-2c3d4e5f60718293", acct1),
		"ou":                          ou(ouWork),
		"ou, shortest":                ou("ou-ab12-12345678"),
		"ou, longest":                 ou("ou-" + strings.Repeat("a", 32) + "-" + strings.Repeat("1", 32)),
		"bucket, 3 characters":        bucket("abc"),
		"bucket, 63 characters":       bucket(long(63)),
		"bucket, dots and hyphens":    bucket("my-bucket.logs-2030"),
		"bucket, digits":              bucket("123bucket"),
		"rds, arn only":               rds(rdsARN),
		"rds, matching account, user": with(rds(rdsARN), func(r *access.Resource) { r.AccountID, r.Region, r.DBUser = acct1, "eu-west-1", "app_user" }),
		"rds, gov region":             rds("arn:aws-us-gov:rds:us-gov-west-1:123456789012:db:a"),
		"ec2, 8 hex":                  ec2(ec2ID8),
		"ec2, 17 hex":                 ec2("i-0123456789abcdef0"),
	}
	for name, r := range valid {
		t.Run("valid/"+name, func(t *testing.T) {
			v := access.Violations{}
			r.Validate("resource", v)
			if err := v.Err(); err != nil {
				t.Fatalf("Validate(%+v) = %v, want no violations", r, err)
			}
		})
	}

	tests := []struct {
		name   string
		r      access.Resource
		fields []string
		msg    string // a part of the first field's message
	}{
		{"type unknown", access.Resource{Type: "aws_lambda", ID: "x"}, []string{"resource.type"}, "must be one of"},
		{"type empty", access.Resource{ID: acct1}, []string{"resource.type"}, ""},

		{"account empty", acct(""), []string{"resource.id"}, "is required"},
		{"account 11 digits", acct("12345678901"), []string{"resource.id"}, "12-digit"},
		{"account 13 digits", acct("1234567890123"), []string{"resource.id"}, "12-digit"},
		{"account letter", acct("12345678901a"), []string{"resource.id"}, "12-digit"},
		{"account with spaces", acct(" 123456789012"), []string{"resource.id"}, "12-digit"},
		{"account with region", with(acct(acct1), func(r *access.Resource) { r.Region = "eu-west-1" }), []string{"resource.region"}, "is not allowed for aws_account"},
		{"account with account_id", with(acct(acct1), func(r *access.Resource) { r.AccountID = acct2 }), []string{"resource.account_id"}, "is not allowed"},
		{"account with db_user", with(acct(acct1), func(r *access.Resource) { r.DBUser = "app" }), []string{"resource.db_user"}, "is not allowed"},

		{"permission set short instance", ps("arn:aws:sso:::permissionSet/ssoins-72a3c1e9/ps-2c3d4e5f60718293", acct1), []string{"resource.id"}, "permission set ARN"},
		{"permission set short id", ps("arn:aws:sso:::permissionSet/"+instance+"/ps-2c3d", acct1), []string{"resource.id"}, ""},
		{"permission set bare id", ps("ps-2c3d4e5f60718293", acct1), []string{"resource.id"}, ""},
		{"permission set other service", ps("arn:aws:iam:::permissionSet/"+instance+"/ps-2c3d4e5f60718293", acct1), []string{"resource.id"}, ""},
		{"permission set without account", ps(psData, ""), []string{"resource.account_id"}, "is required for aws_permission_set"},
		{"permission set bad account", ps(psData, "1234"), []string{"resource.account_id"}, "12-digit"},
		{"permission set with region", with(ps(psData, acct1), func(r *access.Resource) { r.Region = "eu-west-1" }), []string{"resource.region"}, "is not allowed"},

		{"ou uppercase", ou("ou-AC01-workload"), []string{"resource.id"}, "organizational unit id"},
		{"ou root part too short", ou("ou-abc-12345678"), []string{"resource.id"}, ""},
		{"ou second part too short", ou("ou-abcd-1234567"), []string{"resource.id"}, ""},
		{"ou first part too long", ou("ou-" + strings.Repeat("a", 33) + "-12345678"), []string{"resource.id"}, ""},
		{"ou is a root", ou(root), []string{"resource.id"}, ""},
		{"ou is an account", ou(acct1), []string{"resource.id"}, ""},
		{"ou with account_id", with(ou(ouWork), func(r *access.Resource) { r.AccountID = acct1 }), []string{"resource.account_id"}, "is not allowed"},
		{"ou with region", with(ou(ouWork), func(r *access.Resource) { r.Region = "eu-west-1" }), []string{"resource.region"}, "is not allowed"},

		{"bucket 2 characters", bucket("ab"), []string{"resource.id"}, "3 to 63 characters"},
		{"bucket 64 characters", bucket(long(64)), []string{"resource.id"}, "3 to 63 characters"},
		{"bucket uppercase", bucket("My-Bucket"), []string{"resource.id"}, "lowercase"},
		{"bucket underscore", bucket("my_bucket"), []string{"resource.id"}, "lowercase"},
		{"bucket leading hyphen", bucket("-bucket"), []string{"resource.id"}, "begin and end"},
		{"bucket trailing dot", bucket("bucket."), []string{"resource.id"}, "begin and end"},
		{"bucket adjacent dots", bucket("my..bucket"), []string{"resource.id"}, "two adjacent dots"},
		{"bucket dot hyphen", bucket("my.-bucket"), []string{"resource.id"}, "dot next to a hyphen"},
		{"bucket hyphen dot", bucket("my-.bucket"), []string{"resource.id"}, "dot next to a hyphen"},
		{"bucket IP", bucket("192.168.1.1"), []string{"resource.id"}, "IP address"},
		{"bucket xn-- prefix", bucket("xn--bucket"), []string{"resource.id"}, "must not begin with xn--"},
		{"bucket sthree- prefix", bucket("sthree-bucket"), []string{"resource.id"}, "must not begin with sthree-"},
		{"bucket amzn-s3-demo- prefix", bucket("amzn-s3-demo-bucket"), []string{"resource.id"}, "must not begin with amzn-s3-demo-"},
		{"bucket -s3alias suffix", bucket("bucket-s3alias"), []string{"resource.id"}, "must not end with -s3alias"},
		{"bucket --ol-s3 suffix", bucket("bucket--ol-s3"), []string{"resource.id"}, "must not end with --ol-s3"},
		{"bucket .mrap suffix", bucket("bucket.mrap"), []string{"resource.id"}, "must not end with .mrap"},
		{"bucket --x-s3 suffix", bucket("bucket--x-s3"), []string{"resource.id"}, "must not end with --x-s3"},
		{"bucket --table-s3 suffix", bucket("bucket--table-s3"), []string{"resource.id"}, "must not end with --table-s3"},
		{"bucket without account", access.Resource{Type: access.ResourceS3Bucket, ID: "logs"}, []string{"resource.account_id"}, "is required for aws_s3_bucket"},
		{"bucket with region", with(bucket("logs"), func(r *access.Resource) { r.Region = "eu-west-1" }), []string{"resource.region"}, "is not allowed"},
		{"bucket with db_user", with(bucket("logs"), func(r *access.Resource) { r.DBUser = "app" }), []string{"resource.db_user"}, "is not allowed"},

		{"rds cluster arn", rds("arn:aws:rds:eu-west-1:123456789012:cluster:orders"), []string{"resource.id"}, "DB instance ARN"},
		{"rds short account", rds("arn:aws:rds:eu-west-1:12345:db:orders"), []string{"resource.id"}, ""},
		{"rds bad region", rds("arn:aws:rds:EU-west-1:123456789012:db:orders"), []string{"resource.id"}, ""},
		{"rds double hyphen", rds("arn:aws:rds:eu-west-1:123456789012:db:orders--db"), []string{"resource.id"}, ""},
		{"rds trailing hyphen", rds("arn:aws:rds:eu-west-1:123456789012:db:orders-"), []string{"resource.id"}, ""},
		{"rds name starts with digit", rds("arn:aws:rds:eu-west-1:123456789012:db:1orders"), []string{"resource.id"}, ""},
		{"rds name too long", rds("arn:aws:rds:eu-west-1:123456789012:db:a" + long(63)), []string{"resource.id"}, ""},
		{"rds other service", rds("arn:aws:s3:::orders"), []string{"resource.id"}, ""},
		{"rds account mismatch", with(rds(rdsARN), func(r *access.Resource) { r.AccountID = acct2 }), []string{"resource.account_id"}, "must match the account in the DB instance ARN (123456789012)"},
		{"rds region mismatch", with(rds(rdsARN), func(r *access.Resource) { r.Region = "us-east-1" }), []string{"resource.region"}, "must match the region in the DB instance ARN (eu-west-1)"},
		{"rds both mismatch", with(rds(rdsARN), func(r *access.Resource) { r.AccountID, r.Region = acct2, "us-east-1" }), []string{"resource.account_id", "resource.region"}, ""},
		{"rds bad db_user", with(rds(rdsARN), func(r *access.Resource) { r.DBUser = "1user" }), []string{"resource.db_user"}, "database user name"},
		{"rds db_user too long", with(rds(rdsARN), func(r *access.Resource) { r.DBUser = long(64) }), []string{"resource.db_user"}, ""},
		{"rds empty", rds(""), []string{"resource.id"}, "is required"},

		{"ec2 7 hex", ec2("i-0123abc"), []string{"resource.id"}, "8 or 17 hex"},
		{"ec2 9 hex", ec2("i-0123abcd0"), []string{"resource.id"}, ""},
		{"ec2 16 hex", ec2("i-0123456789abcdef"), []string{"resource.id"}, ""},
		{"ec2 18 hex", ec2("i-0123456789abcdef01"), []string{"resource.id"}, ""},
		{"ec2 uppercase hex", ec2("i-0123ABCD"), []string{"resource.id"}, ""},
		{"ec2 not hex", ec2("i-0123abcg"), []string{"resource.id"}, ""},
		{"ec2 no prefix", ec2("0123abcd"), []string{"resource.id"}, ""},
		{"ec2 without region", with(ec2(ec2ID8), func(r *access.Resource) { r.Region = "" }), []string{"resource.region"}, "is required for aws_ec2_instance"},
		{"ec2 without account", with(ec2(ec2ID8), func(r *access.Resource) { r.AccountID = "" }), []string{"resource.account_id"}, "is required for aws_ec2_instance"},
		{"ec2 bad region", with(ec2(ec2ID8), func(r *access.Resource) { r.Region = "EU-west-1" }), []string{"resource.region"}, "AWS region name"},
		{"ec2 region without number", with(ec2(ec2ID8), func(r *access.Resource) { r.Region = "eu-west" }), []string{"resource.region"}, ""},
		{"ec2 bad account", with(ec2(ec2ID8), func(r *access.Resource) { r.AccountID = "12345678901x" }), []string{"resource.account_id"}, "12-digit"},
		{"ec2 with db_user", with(ec2(ec2ID8), func(r *access.Resource) { r.DBUser = "app" }), []string{"resource.db_user"}, "is not allowed"},
		{"ec2 missing everything", access.Resource{Type: access.ResourceEC2Instance}, []string{"resource.id", "resource.account_id", "resource.region"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := access.Violations{}
			tt.r.Validate("resource", v)
			e := wantFields(t, v.Err(), tt.fields...)
			if tt.msg != "" {
				if got := fmt.Sprint(e.Details[tt.fields[0]]); !strings.Contains(got, tt.msg) {
					t.Errorf("details[%s] = %q, want it to contain %q", tt.fields[0], got, tt.msg)
				}
			}
		})
	}

	t.Run("prefix", func(t *testing.T) {
		v := access.Violations{}
		acct("1").Validate("target", v)
		wantFields(t, v.Err(), "target.id")
	})
}

func TestResourceNormalize(t *testing.T) {
	got := access.Resource{Type: access.ResourceRDSInstance, ID: rdsARN}.Normalize()
	if got.AccountID != acct1 || got.Region != "eu-west-1" {
		t.Errorf("Normalize() = %+v, want account %s and region eu-west-1 from the ARN", got, acct1)
	}
	if got.TargetAccount() != acct1 {
		t.Errorf("TargetAccount() = %q, want %s", got.TargetAccount(), acct1)
	}
	a := access.Resource{Type: access.ResourceAccount, ID: acct2}
	if a.Normalize() != a || a.TargetAccount() != acct2 {
		t.Errorf("an account resource changed on Normalize or has target %q", a.TargetAccount())
	}
	if o := (access.Resource{Type: access.ResourceOrganizationalUnit, ID: ouWork}); o.TargetAccount() != "" {
		t.Errorf("OU target account = %q, want empty", o.TargetAccount())
	}
}

func TestCatalogValidate(t *testing.T) {
	ps := func(id string) string { return "arn:aws:sso:::permissionSet/" + instance + "/ps-" + id }
	many := make([]access.CatalogAction, 51)
	for i := range many {
		many[i] = access.CatalogAction{Name: fmt.Sprintf("a%d", i), PermissionSetARN: psReadOnly}
	}
	tests := []struct {
		name  string
		c     access.Catalog
		field string // "" when valid
		msg   string
	}{
		{"demo catalog", local.DemoCatalog(instance), "", ""},
		{"empty", access.Catalog{}, "", ""},
		{"all managed actions", access.Catalog{
			access.ResourceS3Bucket:    {{Name: "read"}, {Name: "write"}},
			access.ResourceRDSInstance: {{Name: "connect"}, {Name: "read"}, {Name: "admin"}},
			access.ResourceEC2Instance: {{Name: "ssm-session"}, {Name: "read"}},
		}, "", ""},
		{"unknown type", access.Catalog{"aws_lambda": {{Name: "invoke", PermissionSetARN: psReadOnly}}}, "actions.aws_lambda", "is not a resource type"},
		{"name starts with digit", access.Catalog{access.ResourceAccount: {{Name: "1read", PermissionSetARN: psReadOnly}}}, "actions.aws_account", "must start with a letter"},
		{"empty name", access.Catalog{access.ResourceAccount: {{Name: "", PermissionSetARN: psReadOnly}}}, "actions.aws_account", "must start with a letter"},
		{"name with space", access.Catalog{access.ResourceAccount: {{Name: "Read Only", PermissionSetARN: psReadOnly}}}, "actions.aws_account", "must start with a letter"},
		{"name too long", access.Catalog{access.ResourceAccount: {{Name: "a" + strings.Repeat("b", 64), PermissionSetARN: psReadOnly}}}, "actions.aws_account", "up to 64"},
		{"duplicate", access.Catalog{access.ResourceAccount: {
			{Name: "ReadOnly", PermissionSetARN: psReadOnly}, {Name: "ReadOnly", PermissionSetARN: psAdmin},
		}}, "actions.aws_account", `action "ReadOnly" is listed twice`},
		{"duplicate managed", access.Catalog{access.ResourceS3Bucket: {{Name: "read"}, {Name: "read"}}}, "actions.aws_s3_bucket", "listed twice"},
		{"unmanaged without permission set", access.Catalog{access.ResourceAccount: {{Name: "ReadOnly"}}}, "actions.aws_account", `action "ReadOnly" needs a permission_set_arn`},
		{"unmanaged with bad permission set", access.Catalog{access.ResourceOrganizationalUnit: {{Name: "ReadOnly", PermissionSetARN: ps("short")}}}, "actions.aws_organizational_unit", "needs a permission_set_arn"},
		{"permission set type without permission set", access.Catalog{access.ResourcePermissionSet: {{Name: "Data"}}}, "actions.aws_permission_set", "needs a permission_set_arn"},
		{"managed with permission set", access.Catalog{access.ResourceS3Bucket: {{Name: "read", PermissionSetARN: psReadOnly}}}, "actions.aws_s3_bucket", "remove permission_set_arn"},
		{"managed unknown action", access.Catalog{access.ResourceS3Bucket: {{Name: "delete"}}}, "actions.aws_s3_bucket", `action "delete" is not one Elevate can build`},
		{"managed action of another type", access.Catalog{access.ResourceEC2Instance: {{Name: "connect"}}}, "actions.aws_ec2_instance", "is not one Elevate can build"},
		{"managed action in wrong case", access.Catalog{access.ResourceRDSInstance: {{Name: "Connect"}}}, "actions.aws_rds_instance", "is not one Elevate can build"},
		{"long description", access.Catalog{access.ResourceAccount: {{Name: "ReadOnly", PermissionSetARN: psReadOnly, Description: strings.Repeat("x", 513)}}}, "actions.aws_account", "at most 512"},
		{"too many actions", access.Catalog{access.ResourceAccount: many}, "actions.aws_account", "at most 50 actions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := access.Violations{}
			tt.c.Validate(v)
			err := v.Err()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			e := wantFields(t, err, tt.field)
			if got := fmt.Sprint(e.Details[tt.field]); !strings.Contains(got, tt.msg) {
				t.Errorf("details[%s] = %q, want it to contain %q", tt.field, got, tt.msg)
			}
		})
	}
}

func TestCatalogLookup(t *testing.T) {
	c := local.DemoCatalog(instance)
	if a, ok := c.Lookup(access.ResourceAccount, "Admin"); !ok || a.PermissionSetARN != psAdmin {
		t.Errorf("Lookup(Admin) = %+v, %v", a, ok)
	}
	if _, ok := c.Lookup(access.ResourceAccount, "admin"); ok {
		t.Error("Lookup is case-insensitive; want exact names")
	}
	if _, ok := c.Lookup(access.ResourceOrganizationalUnit, "Admin"); ok {
		t.Error("Lookup found Admin for an OU, which the demo catalog does not offer")
	}
	if got := strings.Join(c.Names(access.ResourceAccount), ","); got != "ReadOnly,Admin" {
		t.Errorf("Names(aws_account) = %s, want ReadOnly,Admin in catalog order", got)
	}
}

func TestSettingsValidate(t *testing.T) {
	jwt := access.JWTSettings{Issuer: "https://idp.example.com/", Audience: "elevate", JWKSURL: "https://idp.example.com/jwks.json", GroupsClaim: "groups"}
	tests := []struct {
		name   string
		edit   func(*access.Settings)
		fields []string
	}{
		{"demo settings", func(*access.Settings) {}, nil},
		{"defaults", func(s *access.Settings) { *s = access.DefaultSettings() }, nil},
		{"full jwt", func(s *access.Settings) { s.JWT = jwt }, nil},
		{"jwks http", func(s *access.Settings) { s.JWT = jwt; s.JWT.JWKSURL = "http://idp.example.com/jwks.json" }, []string{"jwt.jwks_url"}},
		{"jwks no scheme", func(s *access.Settings) { s.JWT = jwt; s.JWT.JWKSURL = "idp.example.com/jwks.json" }, []string{"jwt.jwks_url"}},
		{"jwks no host", func(s *access.Settings) { s.JWT = jwt; s.JWT.JWKSURL = "https:///jwks.json" }, []string{"jwt.jwks_url"}},
		{"jwks with credentials", func(s *access.Settings) { s.JWT = jwt; s.JWT.JWKSURL = "https://user:pw@idp.example.com/jwks.json" }, []string{"jwt.jwks_url"}},
		{"jwks too long", func(s *access.Settings) {
			s.JWT = jwt
			s.JWT.JWKSURL = "https://idp.example.com/" + strings.Repeat("a", 2048)
		}, []string{"jwt.jwks_url"}},
		{"jwt issuer only", func(s *access.Settings) { s.JWT.Issuer = jwt.Issuer }, []string{"jwt.audience", "jwt.jwks_url"}},
		{"jwt without issuer", func(s *access.Settings) { s.JWT = jwt; s.JWT.Issuer = "" }, []string{"jwt.issuer"}},
		{"jwt issuer too long", func(s *access.Settings) { s.JWT = jwt; s.JWT.Issuer = "https://" + strings.Repeat("a", 510) }, []string{"jwt.issuer"}},
		{"groups claim empty", func(s *access.Settings) { s.JWT.GroupsClaim = "" }, []string{"jwt.groups_claim"}},
		{"groups claim with space", func(s *access.Settings) { s.JWT.GroupsClaim = "my groups" }, []string{"jwt.groups_claim"}},
		{"role unknown", func(s *access.Settings) { s.GroupRoles = map[string]access.Role{"eng": "superuser"} }, []string{"group_roles.eng"}},
		{"group name control character", func(s *access.Settings) { s.GroupRoles = map[string]access.Role{"a\nb": access.RoleAdmin} }, []string{"group_roles"}},
		{"narrowed roots: too many", func(s *access.Settings) {
			s.AllowedRoots = nil
			for i := range 101 {
				s.AllowedRoots = append(s.AllowedRoots, fmt.Sprintf("%012d", i))
			}
		}, []string{"identity_center.allowed_roots"}},
		{"time zone Berlin", func(s *access.Settings) { s.TimeZone = "Europe/Berlin" }, nil},
		{"time zone unknown", func(s *access.Settings) { s.TimeZone = "Mars/Olympus_Mons" }, []string{"time_zone"}},
		{"time zone empty", func(s *access.Settings) { s.TimeZone = "" }, []string{"time_zone"}},
		{"time zone Local", func(s *access.Settings) { s.TimeZone = "Local" }, []string{"time_zone"}},
		{"approval window 60s", func(s *access.Settings) { s.ApprovalWindow = time.Minute }, nil},
		{"approval window 7d", func(s *access.Settings) { s.ApprovalWindow = access.MaxApprovalWindow }, nil},
		{"approval window 59s", func(s *access.Settings) { s.ApprovalWindow = 59 * time.Second }, []string{"default_approval_window_seconds"}},
		{"approval window over 7d", func(s *access.Settings) { s.ApprovalWindow = access.MaxApprovalWindow + time.Second }, []string{"default_approval_window_seconds"}},
		{"max duration 60s", func(s *access.Settings) { s.MaxDuration = time.Minute }, nil},
		{"max duration 0", func(s *access.Settings) { s.MaxDuration = 0 }, []string{"max_duration_seconds"}},
		{"max duration over 7d", func(s *access.Settings) { s.MaxDuration = access.MaxMaxDuration + time.Second }, []string{"max_duration_seconds"}},
		{"retention 23h", func(s *access.Settings) { s.AuditRetention = 23 * time.Hour }, []string{"audit_retention_days"}},
		{"retention over 10 years", func(s *access.Settings) { s.AuditRetention = access.MaxAuditRetention + time.Hour }, []string{"audit_retention_days"}},
		{"several problems", func(s *access.Settings) { s.TimeZone = "Nowhere"; s.MaxDuration = time.Second }, []string{"time_zone", "max_duration_seconds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := demoSettings()
			tt.edit(&s)
			v := access.Violations{}
			s.Validate(v)
			if len(tt.fields) == 0 {
				if err := v.Err(); err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			wantFields(t, v.Err(), tt.fields...)
		})
	}
}

func TestBoundaryValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*access.Boundary)
		fields []string
	}{
		{"demo boundary", func(*access.Boundary) {}, nil},
		{"defaults", func(s *access.Boundary) { *s = access.DefaultBoundary() }, nil},
		{"identity mapping unknown", func(s *access.Boundary) { s.IdentityMapping = "phone" }, []string{"identity_mapping"}},
		{"identity mapping email", func(s *access.Boundary) { s.IdentityMapping = access.MapEmail }, nil},
		{"instance arn bad", func(s *access.Boundary) { s.InstanceARN = "arn:aws:sso:::instance/ssoins-short" }, []string{"identity_center.instance_arn"}},
		{"identity store bad", func(s *access.Boundary) { s.IdentityStoreID = "d-123" }, []string{"identity_center.identity_store_id"}},
		{"roots: root, OU and account", func(s *access.Boundary) { s.AllowedRoots = []string{root, ouWork, acct1} }, nil},
		{"roots: bad root", func(s *access.Boundary) { s.AllowedRoots = []string{root, "r-AB"} }, []string{"identity_center.allowed_roots_ceiling"}},
		{"roots: word", func(s *access.Boundary) { s.AllowedRoots = []string{"everything"} }, []string{"identity_center.allowed_roots_ceiling"}},
		{"roots: short account", func(s *access.Boundary) { s.AllowedRoots = []string{"12345"} }, []string{"identity_center.allowed_roots_ceiling"}},
		{"assignable of another instance", func(s *access.Boundary) {
			s.Assignable = []string{"arn:aws:sso:::permissionSet/ssoins-0b5e8d2c7a9f3e14/ps-0a1b2c3d4e5f6071"}
		}, []string{"identity_center.assignable_permission_sets"}},
		{"assignable not an ARN", func(s *access.Boundary) { s.Assignable = []string{"ReadOnly"} }, []string{"identity_center.assignable_permission_sets"}},
		{"ceiling of the maximum duration over 7d", func(s *access.Boundary) { s.MaxDuration = access.MaxMaxDuration + time.Second }, []string{"max_duration_ceiling_seconds"}},
		{"floor of the retention under a day", func(s *access.Boundary) { s.MinAuditRetention = time.Hour }, []string{"audit_retention_floor_days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := demoBoundary()
			tt.edit(&b)
			v := access.Violations{}
			b.Validate(v)
			if len(tt.fields) == 0 {
				if err := v.Err(); err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			wantFields(t, v.Err(), tt.fields...)
		})
	}
}

func TestViolations(t *testing.T) {
	v := access.Violations{}
	if v.Err() != nil {
		t.Fatal("empty violations are an error")
	}
	v.Add("b", "first %d", 1)
	v.Add("b", "second")
	v.Add("a", "other")
	err := v.Err()
	e := wantFields(t, err, "a", "b")
	if e.Details["b"] != "first 1" {
		t.Errorf("details[b] = %v, want the first problem", e.Details["b"])
	}
	if access.CodeOf(err) != access.CodeValidationFailed {
		t.Errorf("CodeOf(%v) = %q, want %s", err, access.CodeOf(err), access.CodeValidationFailed)
	}
	if e.Message != "invalid a, b" {
		t.Errorf("message = %q", e.Message)
	}
	one := access.Invalid("x.y", "is %s", "bad")
	if one.Error() != "validation_failed: x.y: is bad" {
		t.Errorf("Invalid() = %q", one.Error())
	}
}
