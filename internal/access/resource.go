package access

import (
	"net/netip"
	"regexp"
	"strings"
	"sync"
)

// ResourceType is one of the kinds of AWS resource Elevate grants access to
// (see kinds).
type ResourceType string

// The resource types (docs/design.md, "Resources").
const (
	ResourceAccount            ResourceType = "aws_account"
	ResourcePermissionSet      ResourceType = "aws_permission_set"
	ResourceOrganizationalUnit ResourceType = "aws_organizational_unit"
	ResourceS3Bucket           ResourceType = "aws_s3_bucket"
	ResourceRDSInstance        ResourceType = "aws_rds_instance"
	ResourceEC2Instance        ResourceType = "aws_ec2_instance"
)

// ResourceTypes lists every resource type in a stable order.
var ResourceTypes = func() []ResourceType {
	ts := make([]ResourceType, len(kinds))
	for i, k := range kinds {
		ts[i] = k.typ
	}
	return ts
}()

// Valid reports whether t is a known resource type.
func (t ResourceType) Valid() bool {
	_, ok := kindOf(t)
	return ok
}

// Managed reports whether grants on this type use an Elevate-managed
// permission set rather than one from the catalog.
func (t ResourceType) Managed() bool {
	k, ok := kindOf(t)
	return ok && len(k.managed) > 0
}

// ManagedActions are the actions Elevate knows how to build a managed
// permission set for on this type (docs/permission-sets.md); none for the others.
func (t ResourceType) ManagedActions() []string {
	k, ok := kindOf(t)
	if !ok {
		return nil
	}
	names := make([]string, len(k.managed))
	for i, a := range k.managed {
		names[i] = a.name
	}
	return names
}

// Resource is what a request asks access to: a type and id, plus the fields
// some types need (docs/design.md, "Resources").
type Resource struct {
	Type      ResourceType
	ID        string
	AccountID string
	Region    string
	DBUser    string
}

// TargetAccount is the account the assignment is made in: the id itself for
// an account, the account field for the others, and "" for an OU.
func (r Resource) TargetAccount() string {
	if k, ok := kindOf(r.Type); ok && k.isAccount {
		return r.ID
	}
	return r.AccountID
}

var (
	accountIDPattern     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{12}$`) })
	permissionSetPattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws(-[a-z]+)*:sso:::permissionSet/ssoins-[a-zA-Z0-9.-]{16}/ps-[a-zA-Z0-9./-]{16}$`)
	})
	ouPattern     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`) })
	rdsARNPattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws(-[a-z]+)*:rds:([a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+):([0-9]{12}):db:([a-zA-Z][a-zA-Z0-9-]{0,62})$`)
	})
	ec2InstancePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`) })
	regionPattern      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$`) })
	dbUserPattern      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_$-]{0,62}$`) })
	bucketPattern      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`) })
)

// ValidAccountID reports whether s is a 12-digit AWS account id.
func ValidAccountID(s string) bool { return accountIDPattern().MatchString(s) }

// ValidOUID reports whether s is an organizational unit id.
func ValidOUID(s string) bool { return ouPattern().MatchString(s) }

// ValidPermissionSetARN reports whether s is an Identity Center permission set ARN.
func ValidPermissionSetARN(s string) bool { return permissionSetPattern().MatchString(s) }

// ParseRDSARN returns the region, account and instance name of a DB instance ARN.
func ParseRDSARN(arn string) (region, account, name string, ok bool) {
	m := rdsARNPattern().FindStringSubmatch(arn)
	if m == nil || strings.Contains(m[5], "--") || strings.HasSuffix(m[5], "-") {
		return "", "", "", false
	}
	return m[2], m[4], m[5], true
}

// bucketNameProblem returns why name breaks the S3 general purpose bucket
// naming rules, or "".
func bucketNameProblem(name string) string {
	switch {
	case len(name) < 3 || len(name) > 63:
		return "must be 3 to 63 characters long"
	case !bucketPattern().MatchString(name):
		return "must use lowercase letters, digits, dots and hyphens, and begin and end with a letter or digit"
	case strings.Contains(name, ".."):
		return "must not contain two adjacent dots"
	case strings.Contains(name, ".-") || strings.Contains(name, "-."):
		return "must not contain a dot next to a hyphen"
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return "must not be formatted as an IP address"
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return "must not begin with " + p
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return "must not end with " + s
		}
	}
	return ""
}

// Validate checks the resource's id and extra fields strictly for its type,
// recording problems under prefix (for example "resource"). A field the type
// does not use is a violation, so typos are not silently ignored. For RDS
// instances the account and region, when given, must match the ARN.
func (r Resource) Validate(prefix string, v Violations) {
	f := func(name string) string { return prefix + "." + name }
	k, ok := kindOf(r.Type)
	if !ok {
		names := make([]string, len(ResourceTypes))
		for i, t := range ResourceTypes {
			names[i] = string(t)
		}
		v.Add(f("type"), "must be one of %s", strings.Join(names, ", "))
		return
	}
	if r.ID == "" {
		v.Add(f("id"), "is required")
	} else {
		k.checkID(r, f, v)
	}
	switch {
	case r.AccountID == "" && k.account == required:
		v.Add(f("account_id"), "is required for %s", r.Type)
	case r.AccountID != "" && k.account == refused:
		v.Add(f("account_id"), "is not allowed for %s", r.Type)
	case r.AccountID != "" && !ValidAccountID(r.AccountID):
		v.Add(f("account_id"), "must be a 12-digit AWS account id")
	}
	switch {
	case r.Region == "" && k.region == required:
		v.Add(f("region"), "is required for %s", r.Type)
	case r.Region != "" && k.region == refused:
		v.Add(f("region"), "is not allowed for %s", r.Type)
	case r.Region != "" && !regionPattern().MatchString(r.Region):
		v.Add(f("region"), "must be an AWS region name such as eu-west-1")
	}
	switch {
	case r.DBUser != "" && k.dbUser == refused:
		v.Add(f("db_user"), "is not allowed for %s", r.Type)
	case r.DBUser != "" && !dbUserPattern().MatchString(r.DBUser):
		v.Add(f("db_user"), "must be a database user name (letters, digits, _ $ -, up to 63 characters)")
	}
}

// Normalize fills the fields a type derives from its id: the account and
// region of an RDS instance come from its ARN.
func (r Resource) Normalize() Resource {
	if k, ok := kindOf(r.Type); ok && k.fromID != nil {
		return k.fromID(r)
	}
	return r
}
