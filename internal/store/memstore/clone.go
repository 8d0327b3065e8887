package memstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/elevate-jit/elevate/internal/access"
)

// copier deep-copies domain objects so that the store never shares memory
// with its callers. Metadata and audit details hold JSON values (maps,
// slices, strings, numbers, booleans, nil); those are copied recursively, and
// a value of any other kind is converted to JSON values through
// encoding/json, as a store that serializes would. err keeps the first value
// that could not be converted; values already in the store never fail.
type copier struct{ err error }

func (c *copier) request(r access.Request) access.Request {
	r.Approvals = slices.Clone(r.Approvals)
	r.ForwardHistory = slices.Clone(r.ForwardHistory)
	if r.Conflicts != nil {
		cs := make([]access.Conflict, len(r.Conflicts))
		for i, cf := range r.Conflicts {
			cf.GrantIDs = slices.Clone(cf.GrantIDs)
			cs[i] = cf
		}
		r.Conflicts = cs
	}
	r.Notices = slices.Clone(r.Notices)
	r.Metadata = c.object(r.Metadata)
	if r.Context != nil {
		ctx := *r.Context
		ctx.Groups, ctx.Ancestors, ctx.ActiveGrants = slices.Clone(ctx.Groups), slices.Clone(ctx.Ancestors), slices.Clone(ctx.ActiveGrants)
		if ctx.Extension != nil {
			e := *ctx.Extension
			ctx.Extension = &e
		}
		r.Context = &ctx
	}
	return r
}

func (c *copier) grant(g access.Grant) access.Grant {
	g.Assignments = slices.Clone(g.Assignments)
	g.Notices = slices.Clone(g.Notices)
	g.Metadata = c.object(g.Metadata)
	if g.Revocation != nil {
		r := *g.Revocation
		g.Revocation = &r
	}
	if g.Review != nil {
		rv := *g.Review
		g.Review = &rv
	}
	return g
}

func (c *copier) audit(e access.AuditEvent) access.AuditEvent {
	e.Details = c.object(e.Details)
	return e
}

func (c *copier) idempotency(r access.IdempotencyRecord) access.IdempotencyRecord {
	o := &r.Outcome
	if o.Request != nil {
		v := c.request(*o.Request)
		o.Request = &v
	}
	if o.Grant != nil {
		v := c.grant(*o.Grant)
		o.Grant = &v
	}
	if o.APIKey != nil {
		v := cloneAPIKey(*o.APIKey)
		o.APIKey = &v
	}
	if o.Suspension != nil {
		v := *o.Suspension
		o.Suspension = &v
	}
	return r
}

func (c *copier) object(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = c.value(v)
	}
	return out
}

func (c *copier) value(v any) any {
	switch x := v.(type) {
	case nil, string, bool, float64, json.Number:
		return v
	case map[string]any:
		return c.object(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = c.value(e)
		}
		return out
	}
	switch reflect.TypeOf(v).Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v // an immutable scalar
	}
	b, err := json.Marshal(v)
	if err != nil {
		c.fail(fmt.Errorf("memstore: metadata value of type %T is not JSON: %w", v, err))
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		c.fail(fmt.Errorf("memstore: metadata value of type %T: %w", v, err))
		return nil
	}
	return out
}

func (c *copier) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

func cloneTenant(t access.Tenant) access.Tenant {
	s := &t.Settings
	s.GroupRoles = maps.Clone(s.GroupRoles)
	s.AllowedRoots = slices.Clone(s.AllowedRoots)
	t.Boundary.AllowedRoots = slices.Clone(t.Boundary.AllowedRoots)
	t.Boundary.Assignable = slices.Clone(t.Boundary.Assignable)
	t.Catalog = cloneLists(t.Catalog)
	return t
}

func cloneAPIKey(k access.APIKey) access.APIKey {
	k.Groups = slices.Clone(k.Groups)
	k.SecretHash = bytes.Clone(k.SecretHash)
	return k
}

func cloneCutSet(c access.CutSet) access.CutSet {
	c.Cuts = slices.Clone(c.Cuts)
	for i := range c.Cuts {
		c.Cuts[i].Accounts = slices.Clone(c.Cuts[i].Accounts)
	}
	return c
}

func cloneLedgerEntry(e access.LedgerEntry) access.LedgerEntry {
	e.Holders = slices.Clone(e.Holders)
	return e
}

// cloneLists copies a map of slices of plain values.
func cloneLists[M ~map[K][]V, K comparable, V any](m M) M {
	if m == nil {
		return nil
	}
	out := make(M, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}
