package policy

import (
	_ "embed"
	"fmt"
	"slices"
	"sync"

	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
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

// The schema's actions with their groups, served to the evaluator so `action
// in Elevate::Action::"access"` works, written out so a decision needs no
// schema (TestActionEntitiesMatchSchema holds them to it). They are built on
// first use: no package init code (see schemaOf).
var (
	actionTableOnce sync.Once
	actionTable     [4]types.Entity
)

// actionEntities returns the schema's action entities.
func actionEntities() []types.Entity {
	actionTableOnce.Do(func() {
		inAccess := types.NewEntityUIDSet(actionAccess)
		actionTable = [...]types.Entity{
			{UID: actionAccess},
			{UID: actionRequest, Parents: inAccess},
			{UID: actionBreakGlass, Parents: inAccess},
			{UID: actionApprove},
		}
	})
	return actionTable[:]
}

// actionEntity returns the action entity uid, if the schema has it.
func actionEntity(uid types.EntityUID) (types.Entity, bool) {
	for _, e := range actionEntities() {
		if e.UID == uid {
			return e, true
		}
	}
	return types.Entity{}, false
}

// compiledSchema is the embedded schema, parsed and resolved on first use (not
// at start-up: a function that never validates a policy never pays for it),
// and only read afterwards. Only Parse and CheckResource use it: deciding
// needs no schema (see Load and actionEntities).
type compiledSchema struct {
	// validator checks policies against the schema.
	validator *validate.Validator
	// actionEntities are the action entities of the schema (with their group
	// memberships), which actionEntities must equal.
	actionEntities map[types.EntityUID]types.Entity
}

// The compiled schema, built by the first schemaOf. These are plain
// variables (not a sync.OnceValue, which would need package init code): a
// binary that never validates a policy, such as a read function's or one
// that only decides, then links nothing of Cedar's schema parser, validator
// or JSON encoding.
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
	return c
}

// validatePolicy validates p against the schema, returning the validator's
// findings sorted, one message each.
func validatePolicy(p *xast.Policy) []string {
	err := schemaOf().validator.Policy("", p)
	if err == nil {
		return nil
	}
	// The validator visits actions in map order; sort for stable output.
	msgs := make([]string, 0, 4)
	for _, e := range flatten(err) {
		msgs = append(msgs, e.Error())
	}
	slices.Sort(msgs)
	msgs = slices.Compact(msgs)
	// An unknown type or action also makes the scope inapplicable; the
	// second message only repeats the first.
	if len(msgs) > 1 {
		msgs = slices.DeleteFunc(msgs, func(m string) bool { return m == inapplicableScope })
	}
	return msgs
}

// inapplicableScope is the validator's message for a scope no action of the
// schema applies to.
const inapplicableScope = "unable to find an applicable action given the policy scope constraints"

// flatten splits errors.Join trees so each validator finding is its own Problem.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// schemaEntityTypes are the schema's entity types, written out so that Load
// can refuse a stored policy that names one the schema does not have
// (TestEntityTypesMatchSchema holds them to it).
func schemaEntityTypes() []types.EntityType {
	return []types.EntityType{typeUser, typeGroup, typeOU, typeAccount, typePermissionSet,
		typeS3Bucket, typeEC2Instance, typeRDSInstance, typeRequest, typeAction}
}

// unknownNames lists the entity types and actions that p names and the
// schema does not have. Load refuses such a policy: validated under an
// earlier schema, it would otherwise just stop matching, and a forbid that
// stops matching stops denying.
func unknownNames(p *xast.Policy) []string {
	var out []string
	note := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	typ := func(t types.EntityType) {
		if !slices.Contains(schemaEntityTypes(), t) {
			note("the entity type " + string(t))
		}
	}
	uid := func(u types.EntityUID) {
		typ(u.Type)
		if _, ok := actionEntity(u); u.Type == typeAction && !ok {
			note("the action " + u.String())
		}
	}
	var value func(v types.Value)
	value = func(v types.Value) {
		switch v := v.(type) {
		case types.EntityUID:
			uid(v)
		case types.Set:
			for e := range v.All() {
				value(e)
			}
		case types.Record:
			for _, e := range v.All() {
				value(e)
			}
		}
	}
	scope := func(s any) {
		switch s := s.(type) {
		case xast.ScopeTypeEq:
			uid(s.Entity)
		case xast.ScopeTypeIn:
			uid(s.Entity)
		case xast.ScopeTypeInSet:
			for _, e := range s.Entities {
				uid(e)
			}
		case xast.ScopeTypeIs:
			typ(s.Type)
		case xast.ScopeTypeIsIn:
			typ(s.Type)
			uid(s.Entity)
		}
	}
	scope(p.Principal)
	scope(p.Action)
	scope(p.Resource)
	for _, c := range p.Conditions {
		xast.Inspect(xast.NewNode(c.Body), func(n xast.IsNode) bool {
			switch n := n.(type) {
			case xast.NodeValue:
				value(n.Value)
			case xast.NodeTypeIs:
				typ(n.EntityType)
			case xast.NodeTypeIsIn:
				typ(n.EntityType)
			}
			return true
		})
	}
	return out
}
