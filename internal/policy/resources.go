package policy

import (
	"fmt"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// Resource types Elevate knows, as they appear in Resource.Type.
const (
	ResourceAccount            = "aws_account"
	ResourcePermissionSet      = "aws_permission_set"
	ResourceOrganizationalUnit = "aws_organizational_unit"
	ResourceS3Bucket           = "aws_s3_bucket"
	ResourceRDSInstance        = "aws_rds_instance"
	ResourceEC2Instance        = "aws_ec2_instance"
)

// resourceKind is how resources of one type appear to Cedar: their entity
// type in the schema and what the entity carries.
type resourceKind struct {
	entity  types.EntityType
	account accountRole
	region  bool // the entity has a region attribute
}

// accountRole is how a resource relates to an AWS account.
type accountRole uint8

const (
	accountMember accountRole = iota // inside an account: a member of it, with an account attribute
	accountSelf                      // the resource is the account
	accountNone                      // an organizational unit, in no account
)

// resourceKinds maps each resource type to its entity; the schema declares
// the same entities (a test checks both ways).
var resourceKinds = map[string]resourceKind{
	ResourceAccount:            {entity: typeAccount, account: accountSelf},
	ResourcePermissionSet:      {entity: typePermissionSet},
	ResourceOrganizationalUnit: {entity: typeOU, account: accountNone},
	ResourceS3Bucket:           {entity: typeS3Bucket},
	ResourceRDSInstance:        {entity: typeRDSInstance, region: true},
	ResourceEC2Instance:        {entity: typeEC2Instance, region: true},
}

// CheckResource reports whether r becomes entities and requests that
// Elevate's schema accepts: for a request, a break-glass request and the
// approval of a request on it. Decide and MayApprove rely on this; the
// domain's tests run each of its resource types through it.
func CheckResource(r Resource) error {
	var s Set
	user := User{ID: "check-user", Groups: []string{"check-group"}}
	for _, breakGlass := range []bool{false, true} {
		e, req, err := s.requestEnv(Request{Principal: user, BreakGlass: breakGlass, Resource: r, Action: "check"}, true)
		if err != nil {
			return err
		}
		if err := checkEnv(e, req); err != nil {
			return fmt.Errorf("%s of %s %s: %w", req.Action, r.Type, r.ID, err)
		}
	}
	e, req, _ := s.approveEnv(ApproveRequest{Approver: user, Request: RequestInfo{ID: "check-request", Requester: "check-requester", Resource: r, Action: "check"}})
	if err := checkEnv(e, req); err != nil {
		return fmt.Errorf("%s of a request on %s %s: %w", req.Action, r.Type, r.ID, err)
	}
	return nil
}

// checkEnv validates a request and the entities of its evaluation against the
// schema.
func checkEnv(e *env, req cedar.Request) error {
	if err := schemaOf().validator.Request(req); err != nil {
		return err
	}
	ents := append([]types.Entity{e.principal, e.resource}, e.ous...)
	if e.account.UID.Type != "" {
		ents = append(ents, e.account)
	}
	for _, ent := range ents {
		if err := schemaOf().validator.Entity(ent); err != nil {
			return fmt.Errorf("entity %s: %w", ent.UID, err)
		}
	}
	return nil
}
