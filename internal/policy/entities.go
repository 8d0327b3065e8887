package policy

import (
	"fmt"

	"github.com/cedar-policy/cedar-go/types"
)

// entityStore holds the few entities one decision needs. It replaces a
// types.EntityMap: a linear scan over a handful of entities is cheaper than
// building and hashing a map on every call.
type entityStore struct {
	principal types.Entity
	resource  types.Entity
	account   types.Entity   // the resource's account, for non-account resources; zero UID otherwise
	ous       []types.Entity // the resource's ancestors as a chain, outermost first
	ouBuf     [4]types.Entity
}

// Get implements types.EntityGetter.
func (e *entityStore) Get(uid types.EntityUID) (types.Entity, bool) {
	switch uid {
	case e.principal.UID:
		return e.principal, true
	case e.resource.UID:
		return e.resource, true
	}
	switch uid.Type {
	case typeOU:
		for i := range e.ous {
			if e.ous[i].UID == uid {
				return e.ous[i], true
			}
		}
	case typeAccount:
		if e.account.UID == uid {
			return e.account, true
		}
	case typeAction:
		ent, ok := actionEntities[uid]
		return ent, ok
	}
	return types.Entity{}, false
}

// setPrincipal makes u the principal, a User in its groups.
func (e *entityStore) setPrincipal(u User) {
	e.principal.UID = types.NewEntityUID(typeUser, types.String(u.ID))
	if len(u.Groups) == 0 {
		return
	}
	groups := make([]types.EntityUID, len(u.Groups))
	for i, g := range u.Groups {
		groups[i] = types.NewEntityUID(typeGroup, types.String(g))
	}
	e.principal.Parents = types.NewEntityUIDSet(groups...)
}

// setResource makes r the resource, with its OU chain and account.
func (e *entityStore) setResource(r Resource) error {
	var (
		typ          types.EntityType
		inAccount    bool
		hasRegion    bool
		needsAccount bool
	)
	switch r.Type {
	case ResourceAccount:
		typ = typeAccount
	case ResourceOrganizationalUnit:
		typ = typeOU
	case ResourcePermissionSet:
		typ, inAccount, needsAccount = typePermissionSet, true, true
	case ResourceS3Bucket:
		typ, inAccount, needsAccount = typeS3Bucket, true, true
	case ResourceEC2Instance:
		typ, inAccount, needsAccount, hasRegion = typeEC2Instance, true, true, true
	case ResourceRDSInstance:
		typ, inAccount, needsAccount, hasRegion = typeRDSInstance, true, true, true
	default:
		return fmt.Errorf("unknown resource type %q", r.Type)
	}
	if needsAccount && r.AccountID == "" {
		return fmt.Errorf("a resource of type %s needs an account id", r.Type)
	}
	if r.ID == "" {
		return fmt.Errorf("the resource has no id")
	}

	// The ancestors form a chain: each OU's parent is its outer neighbour.
	if len(r.Ancestors) <= len(e.ouBuf) {
		e.ous = e.ouBuf[:len(r.Ancestors)]
	} else {
		e.ous = make([]types.Entity, len(r.Ancestors))
	}
	// parents holds all ancestors (and the account) of the resource, so
	// `resource in OU` is answered without walking the chain.
	parents := make([]types.EntityUID, 0, len(r.Ancestors)+1)
	for i, id := range r.Ancestors {
		uid := types.NewEntityUID(typeOU, types.String(id))
		e.ous[i] = types.Entity{UID: uid}
		if i > 0 {
			e.ous[i].Parents = types.NewEntityUIDSet(parents[i-1])
		}
		parents = append(parents, uid)
	}

	e.resource.UID = types.NewEntityUID(typ, types.String(r.ID))
	if !inAccount {
		if len(parents) > 0 {
			e.resource.Parents = types.NewEntityUIDSet(parents...)
		}
		return nil
	}
	account := types.NewEntityUID(typeAccount, types.String(r.AccountID))
	e.account.UID = account
	if len(parents) > 0 {
		e.account.Parents = types.NewEntityUIDSet(parents...)
	}
	e.resource.Parents = types.NewEntityUIDSet(append(parents, account)...)
	attrs := types.RecordMap{"account": account}
	if hasRegion {
		attrs["region"] = types.String(r.Region)
	}
	e.resource.Attributes = types.NewRecord(attrs)
	return nil
}
