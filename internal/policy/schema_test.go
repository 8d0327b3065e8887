package policy

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"
)

// TestActionEntitiesMatchSchema checks the table of action entities that
// decisions use against the actions of the resolved schema, so a schema
// change that forgets the table fails here.
func TestActionEntitiesMatchSchema(t *testing.T) {
	want := compileSchema().actionEntities
	got := make(map[types.EntityUID]types.Entity)
	for _, e := range actionEntities() {
		if _, dup := got[e.UID]; dup {
			t.Errorf("the table has %s twice", e.UID)
		}
		got[e.UID] = e
	}
	for uid, w := range want {
		g, ok := actionEntity(uid)
		switch {
		case !ok:
			t.Errorf("the table lacks %s", uid)
		case !g.Equal(w):
			t.Errorf("the table's %s has parents %v, attributes %v, tags %v; the schema's %v, %v, %v",
				uid, g.Parents, g.Attributes, g.Tags, w.Parents, w.Attributes, w.Tags)
		}
	}
	for uid := range got {
		if _, ok := want[uid]; !ok {
			t.Errorf("the table has %s, which the schema lacks", uid)
		}
	}
	if len(want) == 0 || !slices.Contains(slices.Collect(maps.Keys(want)), actionRequest) {
		t.Fatalf("the schema's actions %v lack %s", want, actionRequest)
	}
	if _, ok := actionEntity(types.NewEntityUID(typeAction, "delete")); ok {
		t.Error("actionEntity finds an action the schema lacks")
	}
}

// TestSchemaOnlyGrows keeps Load safe across releases. A stored policy set
// was validated against the schema of the release that saved it, and Load
// does not validate it again. If a later schema drops or changes what an
// old policy names, the policy can stop matching without any evaluation
// error: a forbid that silently stops denying. So every entity type,
// attribute, parent type and action of the baseline (the schema as last
// released, testdata/schema-baseline.cedarschema) must still be in the
// schema, unchanged. A schema that only grew passes once the baseline is
// updated. One that dropped or changed something needs a migration of every
// stored policy set first.
func TestSchemaOnlyGrows(t *testing.T) {
	baselineText, err := os.ReadFile("testdata/schema-baseline.cedarschema")
	if err != nil {
		t.Fatal(err)
	}
	base := resolveSchema(t, "schema-baseline.cedarschema", string(baselineText))
	for _, p := range schemaLosses(base, resolveSchema(t, "elevate.cedarschema", SchemaText)) {
		t.Errorf("the schema lost %s: stored policy sets that name it would be loaded unvalidated (Load) and could stop matching; migrate them before changing it", p)
	}
	if !t.Failed() && string(baselineText) != SchemaText {
		t.Error("the schema grew: copy elevate.cedarschema to testdata/schema-baseline.cedarschema")
	}
}

// schemaLosses lists what of old is missing or different in cur.
func schemaLosses(old, cur *resolved.Schema) []string {
	var out []string
	record := func(where string, o, c resolved.RecordType) {
		for name, a := range o {
			b, ok := c[name]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("%s attribute %q", where, name))
			case a.Optional != b.Optional || !reflect.DeepEqual(a.Type, b.Type):
				out = append(out, fmt.Sprintf("%s attribute %q as it was (type or optionality changed)", where, name))
			}
		}
	}
	subset := func(where string, o, c []types.EntityType) {
		for _, e := range o {
			if !slices.Contains(c, e) {
				out = append(out, fmt.Sprintf("%s %s", where, e))
			}
		}
	}
	for name, e := range old.Entities {
		c, ok := cur.Entities[name]
		if !ok {
			out = append(out, fmt.Sprintf("entity type %s", name))
			continue
		}
		subset(fmt.Sprintf("the parent type of %s:", name), e.ParentTypes, c.ParentTypes)
		record(string(name), e.Shape, c.Shape)
		if !reflect.DeepEqual(e.Tags, c.Tags) {
			out = append(out, fmt.Sprintf("the tags of %s as they were", name))
		}
	}
	for name, e := range old.Enums {
		c, ok := cur.Enums[name]
		if !ok {
			out = append(out, fmt.Sprintf("enum type %s", name))
			continue
		}
		for _, v := range e.Values {
			if !slices.Contains(c.Values, v) {
				out = append(out, fmt.Sprintf("enum value %s", v))
			}
		}
	}
	for uid, a := range old.Actions {
		c, ok := cur.Actions[uid]
		if !ok {
			out = append(out, fmt.Sprintf("action %s", uid))
			continue
		}
		for p := range a.Entity.Parents.All() {
			if !c.Entity.Parents.Contains(p) {
				out = append(out, fmt.Sprintf("action %s in %s", uid, p))
			}
		}
		if a.AppliesTo == nil {
			continue
		}
		if c.AppliesTo == nil {
			out = append(out, fmt.Sprintf("what action %s applies to", uid))
			continue
		}
		subset(fmt.Sprintf("a principal type of %s:", uid), a.AppliesTo.Principals, c.AppliesTo.Principals)
		subset(fmt.Sprintf("a resource type of %s:", uid), a.AppliesTo.Resources, c.AppliesTo.Resources)
		record(fmt.Sprintf("the context of %s:", uid), a.AppliesTo.Context, c.AppliesTo.Context)
	}
	slices.Sort(out)
	return out
}

// TestSchemaLosses shows that TestSchemaOnlyGrows can fail: each change
// that could make an old policy stop matching is found, and growth is not.
func TestSchemaLosses(t *testing.T) {
	const old = `namespace E {
  entity Group;
  entity User in [Group] { dept: String, level?: Long };
  entity Doc;
  action read, write appliesTo { principal: [User], resource: [Doc], context: { hour: Long } };
  action edit in [write] appliesTo { principal: [User], resource: [Doc] };
}`
	for _, tc := range []struct {
		name, from, to string
		lost           bool
	}{
		{"unchanged", "", "", false},
		{"an attribute, an entity type and an action added", "entity Doc;", "entity Doc { owner: User }; entity Folder;\n  action list appliesTo { principal: [User], resource: [Folder] };", false},
		{"an optional attribute dropped", ", level?: Long", "", true},
		{"an attribute's type changed", "dept: String", "dept: Long", true},
		{"an attribute made optional", "dept: String", "dept?: String", true},
		{"a parent type dropped", "entity User in [Group]", "entity User", true},
		{"an entity type renamed", "Doc", "Document", true},
		{"an action dropped", "action read, write", "action write", true},
		{"an action's group dropped", "action edit in [write]", "action edit", true},
		{"a resource type dropped", "resource: [Doc], context", "resource: [User], context", true},
		{"a context attribute dropped", "context: { hour: Long }", "context: {}", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := old
			if tc.from != "" {
				if !strings.Contains(old, tc.from) {
					t.Fatalf("the schema has no %q", tc.from)
				}
				cur = strings.ReplaceAll(old, tc.from, tc.to)
			}
			losses := schemaLosses(resolveSchema(t, "old", old), resolveSchema(t, "new", cur))
			if lost := len(losses) > 0; lost != tc.lost {
				t.Errorf("losses %q; want some: %v", losses, tc.lost)
			}
		})
	}
}

// TestEntityTypesMatchSchema holds the written-out entity types that Load
// checks stored policies against to the schema's.
func TestEntityTypesMatchSchema(t *testing.T) {
	r := resolveSchema(t, "elevate.cedarschema", SchemaText)
	want := []types.EntityType{typeAction}
	for name := range r.Entities {
		want = append(want, name)
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(schemaEntityTypes()))
	if !slices.Equal(got, want) {
		t.Errorf("schemaEntityTypes() = %v; the schema has %v", got, want)
	}
}

// resolveSchema parses and resolves a schema in the human-readable format.
func resolveSchema(t *testing.T, name, text string) *resolved.Schema {
	t.Helper()
	var s schema.Schema
	s.SetFilename(name)
	if err := s.UnmarshalCedar([]byte(text)); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	r, err := s.Resolve()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}
