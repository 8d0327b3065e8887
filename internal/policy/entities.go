package policy

import (
	"fmt"
	"iter"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// env is one evaluation: the few entities it needs and the policies that may
// apply. It is both the cedar.PolicyIterator and the types.EntityGetter, so a
// decision allocates one of these and not a map per entity.
type env struct {
	policies   policyList
	exhaustive bool // yield every policy, even those whose scope cannot match (for tests)

	principal types.Entity
	resource  types.Entity
	account   types.Entity   // the resource's account, for non-account resources; zero UID otherwise
	ous       []types.Entity // the resource's ancestors as a chain, outermost first; only when needed

	groups  []types.EntityUID // the principal's groups: all its ancestors
	parents []types.EntityUID // the resource's OUs and account: all its ancestors

	groupBuf  [8]types.EntityUID
	parentBuf [8]types.EntityUID
	ouBuf     [4]types.Entity
}

// All implements cedar.PolicyIterator. It yields, in text order, the policies
// whose principal and resource scopes can match; a scope that cannot match
// makes its policy false before any condition is evaluated (cedar-go evaluates
// the scope first and short-circuits), so skipping it changes no decision.
func (e *env) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, c := range e.policies {
			if !e.exhaustive && (!c.principalScope.mayMatch(e.principal.UID, e.groups) || !c.resourceScope.mayMatch(e.resource.UID, e.parents)) {
				continue
			}
			if !yield(cedar.PolicyID(c.id), c.policy) {
				return
			}
		}
	}
}

// Get implements types.EntityGetter.
func (e *env) Get(uid types.EntityUID) (types.Entity, bool) {
	switch uid.Type {
	case typeGroup:
		return types.Entity{}, false // groups have no parents
	case typeOU:
		if uid == e.resource.UID {
			return e.resource, true
		}
		for i := range e.ous {
			if e.ous[i].UID == uid {
				return e.ous[i], true
			}
		}
		return types.Entity{}, false
	case typeAccount:
		switch uid {
		case e.resource.UID:
			return e.resource, true
		case e.account.UID:
			return e.account, true
		}
		return types.Entity{}, false
	case typeAction:
		return actionEntity(uid)
	}
	switch uid {
	case e.principal.UID:
		return e.principal, true
	case e.resource.UID:
		return e.resource, true
	}
	return types.Entity{}, false
}

// setPrincipal makes u the principal, a User in its groups.
func (e *env) setPrincipal(u User) {
	e.principal.UID = types.NewEntityUID(typeUser, types.String(u.ID))
	if len(u.Groups) == 0 {
		return
	}
	e.groups = e.groupBuf[:0]
	for _, g := range u.Groups {
		e.groups = append(e.groups, types.NewEntityUID(typeGroup, types.String(g)))
	}
	e.principal.Parents = types.NewEntityUIDSet(e.groups...)
}

// setResource makes r the resource, a member of its account and of all its
// ancestors. With chain set it also adds the ancestors as OU entities, each
// the child of its outer neighbour.
func (e *env) setResource(r Resource, chain bool) error {
	k, ok := resourceKinds[r.Type]
	if !ok {
		return fmt.Errorf("unknown resource type %q", r.Type)
	}
	inAccount := k.account == accountMember
	if r.ID == "" {
		return fmt.Errorf("the resource has no id")
	}
	if inAccount && r.AccountID == "" {
		return fmt.Errorf("a resource of type %s needs an account id", r.Type)
	}

	// The resource (and its account) get all ancestors as direct parents, so
	// `resource in OU` is answered without walking the chain.
	e.parents = e.parentBuf[:0]
	for _, id := range r.Ancestors {
		e.parents = append(e.parents, types.NewEntityUID(typeOU, types.String(id)))
	}
	if chain {
		e.ous = e.ouBuf[:0]
		for i, uid := range e.parents {
			ou := types.Entity{UID: uid}
			if i > 0 {
				ou.Parents = types.NewEntityUIDSet(e.parents[i-1])
			}
			e.ous = append(e.ous, ou)
		}
	}

	e.resource.UID = types.NewEntityUID(k.entity, types.String(r.ID))
	if !inAccount {
		if len(e.parents) > 0 {
			e.resource.Parents = types.NewEntityUIDSet(e.parents...)
		}
		return nil
	}
	account := types.NewEntityUID(typeAccount, types.String(r.AccountID))
	e.account.UID = account
	if len(e.parents) > 0 {
		e.account.Parents = types.NewEntityUIDSet(e.parents...)
	}
	e.parents = append(e.parents, account)
	e.resource.Parents = types.NewEntityUIDSet(e.parents...)
	attrs := types.RecordMap{"account": account}
	if k.region {
		attrs["region"] = types.String(r.Region)
	}
	e.resource.Attributes = types.NewRecord(attrs)
	return nil
}

// scopeNeed is what a principal or resource scope requires of the entity,
// reduced to what can be checked without the evaluator.
type scopeNeed struct {
	kind scopeKind
	uid  types.EntityUID
}

// scopeKind tells which check a scopeNeed makes.
type scopeKind uint8

const (
	scopeAny scopeKind = iota // unconstrained, or a constraint left to the evaluator
	scopeEq                   // the entity is uid
	scopeIn                   // the entity is uid or has it as an ancestor
)

// needOf reduces a principal or resource scope to a scopeNeed.
func needOf(scope any) scopeNeed {
	switch sc := scope.(type) {
	case xast.ScopeTypeEq:
		return scopeNeed{kind: scopeEq, uid: sc.Entity}
	case xast.ScopeTypeIn:
		return scopeNeed{kind: scopeIn, uid: sc.Entity}
	case xast.ScopeTypeIsIn:
		return scopeNeed{kind: scopeIn, uid: sc.Entity}
	}
	return scopeNeed{}
}

// mayMatch reports whether an entity with this uid and all these ancestors can
// satisfy the scope.
func (n scopeNeed) mayMatch(uid types.EntityUID, ancestors []types.EntityUID) bool {
	switch n.kind {
	case scopeEq:
		return n.uid == uid
	case scopeIn:
		if n.uid == uid {
			return true
		}
		for _, a := range ancestors {
			if a == n.uid {
				return true
			}
		}
		return false
	}
	return true
}
