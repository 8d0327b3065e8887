package policy

import (
	"maps"
	"slices"
	"testing"

	"github.com/cedar-policy/cedar-go/types"
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
