package policy

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
)

// SchemaText is Elevate's Cedar schema in the human-readable schema format,
// published so tenants and tools can validate policies the same way Parse does.
//
//go:embed elevate.cedarschema
var SchemaText string

// DefaultText is the policy set a new tenant starts with, and the reference
// example of how Elevate policies are written.
//
//go:embed default.cedar
var DefaultText string

// Entity types and actions of the schema, built once so Decide only copies them.
var (
	typeUser          = types.EntityType("Elevate::User")
	typeGroup         = types.EntityType("Elevate::Group")
	typeOU            = types.EntityType("Elevate::OrganizationalUnit")
	typeAccount       = types.EntityType("Elevate::Account")
	typePermissionSet = types.EntityType("Elevate::PermissionSet")
	typeS3Bucket      = types.EntityType("Elevate::S3Bucket")
	typeEC2Instance   = types.EntityType("Elevate::EC2Instance")
	typeRDSInstance   = types.EntityType("Elevate::RDSInstance")
	typeRequest       = types.EntityType("Elevate::Request")
	typeAction        = types.EntityType("Elevate::Action")

	actionAccess     = types.NewEntityUID(typeAction, "access")
	actionRequest    = types.NewEntityUID(typeAction, "request")
	actionBreakGlass = types.NewEntityUID(typeAction, "break_glass")
	actionApprove    = types.NewEntityUID(typeAction, "approve")
)

// compiledSchema is the embedded schema, parsed and resolved on first use (not
// at start-up: a function that never parses or decides a policy never pays
// for it), and only read afterwards.
type compiledSchema struct {
	// validator checks policies against the schema.
	validator *validate.Validator
	// actionEntities are the action entities of the schema (with their group
	// memberships), served to the evaluator so `action in
	// Elevate::Action::"access"` works.
	actionEntities map[types.EntityUID]types.Entity
}

// The compiled schema, built by the first schemaOf. These are plain
// variables (not a sync.OnceValue, which would need package init code): a
// binary that never decides a policy, such as a read function's, then links
// nothing of Cedar's schema parser, validator or JSON encoding.
var (
	schemaOnce     sync.Once
	schemaCompiled compiledSchema
)

// schemaOf is the compiled schema.
func schemaOf() compiledSchema {
	schemaOnce.Do(func() { schemaCompiled = compileSchema() })
	return schemaCompiled
}

func compileSchema() compiledSchema {
	var s schema.Schema
	s.SetFilename("elevate.cedarschema")
	if err := s.UnmarshalCedar([]byte(SchemaText)); err != nil {
		panic(fmt.Sprintf("policy: embedded schema does not parse: %v", err))
	}
	resolved, err := s.Resolve()
	if err != nil {
		panic(fmt.Sprintf("policy: embedded schema does not resolve: %v", err))
	}
	c := compiledSchema{validator: validate.New(resolved, validate.WithStrict()), actionEntities: make(map[types.EntityUID]types.Entity, len(resolved.Actions))}
	for uid, a := range resolved.Actions {
		c.actionEntities[uid] = a.Entity
	}
	for _, uid := range []types.EntityUID{actionAccess, actionRequest, actionBreakGlass, actionApprove} {
		if _, ok := c.actionEntities[uid]; !ok {
			panic(fmt.Sprintf("policy: embedded schema lacks action %s", uid))
		}
	}
	return c
}
