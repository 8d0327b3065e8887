package access

// kind is everything the domain knows about one resource type. Resource and
// ResourceType answer from it, and so do catalog and request validation and
// the managed permission sets: a new type is one entry in kinds, one in the
// policy package's table and one in its Cedar schema (a test checks that
// they agree).
type kind struct {
	typ ResourceType
	// checkID validates a non-empty id, and any field the id determines.
	checkID func(r Resource, field func(string) string, v Violations)
	// Whether the type needs, allows or refuses each extra field.
	account, region, dbUser presence
	// isAccount: the resource is an account, the target of its own grants.
	isAccount bool
	// fromID fills the fields the type derives from its id; nil if none.
	fromID func(Resource) Resource
	// managed lists the actions Elevate builds a managed permission set for,
	// in the order the catalog names them; nil when grants use the permission
	// sets of the tenant's catalog.
	managed []managedAction
	// checkAction validates the fields that depend on the catalog action
	// asked for; nil if none do.
	checkAction func(r Resource, action string, a CatalogAction, v Violations)
}

// presence says whether a resource type needs, allows or refuses a field.
type presence uint8

const (
	refused presence = iota
	allowed
	required
)

// kinds are the resource types (docs/design.md, "Resources"), in the order ResourceTypes
// lists them.
var kinds = []kind{
	{
		typ:       ResourceAccount,
		checkID:   idMatches(ValidAccountID, "must be a 12-digit AWS account id"),
		isAccount: true,
	},
	{
		typ:         ResourcePermissionSet,
		checkID:     idMatches(ValidPermissionSetARN, "must be a permission set ARN (arn:aws:sso:::permissionSet/ssoins-…/ps-…)"),
		account:     required,
		checkAction: checkPermissionSetAction,
	},
	{
		typ:     ResourceOrganizationalUnit,
		checkID: idMatches(ValidOUID, "must be an organizational unit id (ou-xxxx-xxxxxxxx)"),
	},
	{
		typ:     ResourceS3Bucket,
		checkID: checkBucketName,
		account: required,
		managed: []managedAction{{"read", s3Read}, {"write", s3Write}},
	},
	{
		typ:         ResourceRDSInstance,
		checkID:     checkRDSARN,
		account:     allowed,
		region:      allowed,
		dbUser:      allowed,
		fromID:      rdsFromARN,
		managed:     []managedAction{{"connect", rdsConnect}, {"read", rdsRead}, {"admin", rdsAdmin}},
		checkAction: checkDBUserAction,
	},
	{
		typ:     ResourceEC2Instance,
		checkID: idMatches(ec2InstancePattern().MatchString, "must be an EC2 instance id (i- followed by 8 or 17 hex digits)"),
		account: required,
		region:  required,
		managed: []managedAction{{"ssm-session", ec2Session}, {"read", ec2Read}},
	},
}

// kindOf returns the kind of a resource type; ok is false for an unknown one.
func kindOf(t ResourceType) (k *kind, ok bool) {
	for i := range kinds {
		if kinds[i].typ == t {
			return &kinds[i], true
		}
	}
	return nil, false
}

// idMatches is the id check of a type whose ids follow one rule.
func idMatches(valid func(string) bool, problem string) func(Resource, func(string) string, Violations) {
	return func(r Resource, field func(string) string, v Violations) {
		if !valid(r.ID) {
			v.Add(field("id"), "%s", problem)
		}
	}
}

// checkBucketName applies the S3 general purpose bucket naming rules.
func checkBucketName(r Resource, field func(string) string, v Violations) {
	if p := bucketNameProblem(r.ID); p != "" {
		v.Add(field("id"), "bucket name %s", p)
	}
}

// checkRDSARN checks a DB instance ARN, and that the account and region,
// when given, are the ones in it.
func checkRDSARN(r Resource, field func(string) string, v Violations) {
	region, account, _, ok := ParseRDSARN(r.ID)
	if !ok {
		v.Add(field("id"), "must be a DB instance ARN (arn:aws:rds:<region>:<account>:db:<name>)")
		return
	}
	if r.AccountID != "" && r.AccountID != account {
		v.Add(field("account_id"), "must match the account in the DB instance ARN (%s)", account)
	}
	if r.Region != "" && r.Region != region {
		v.Add(field("region"), "must match the region in the DB instance ARN (%s)", region)
	}
}

// rdsFromARN fills an RDS instance's account and region from its ARN.
func rdsFromARN(r Resource) Resource {
	if region, account, _, ok := ParseRDSARN(r.ID); ok {
		r.Region, r.AccountID = region, account
	}
	return r
}

// checkPermissionSetAction: a request for a permission set must name the one
// the catalog maps the action to.
func checkPermissionSetAction(r Resource, action string, a CatalogAction, v Violations) {
	if r.ID != "" && a.PermissionSetARN != r.ID {
		v.Add("resource.id", "is not the permission set the catalog maps action %q to", action)
	}
}

// checkDBUserAction: the connect action, and only it, names a database user.
func checkDBUserAction(r Resource, action string, _ CatalogAction, v Violations) {
	switch {
	case action == "connect" && r.DBUser == "":
		v.Add("resource.db_user", "is required for the connect action")
	case action != "connect" && r.DBUser != "":
		v.Add("resource.db_user", "is only allowed for the connect action")
	}
}
