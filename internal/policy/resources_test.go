package policy

import (
	"slices"
	"testing"

	"github.com/cedar-policy/cedar-go/x/exp/schema"
)

// sampleResource is a resource of type typ with the fields its kind needs.
func sampleResource(typ string, k resourceKind) Resource {
	r := Resource{Type: typ, ID: "sample-1", Ancestors: []string{orgRoot, ouDev}}
	if k.account == accountMember {
		r.AccountID = "111111111111"
	}
	if k.region {
		r.Region = "eu-west-1"
	}
	return r
}

func TestResourceKindsMatchSchema(t *testing.T) {
	var entities []string
	for typ, k := range resourceKinds {
		entities = append(entities, string(k.entity))
		if err := CheckResource(sampleResource(typ, k)); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}

	// Every resource entity the schema lets people ask for has a type.
	var s schema.Schema
	if err := s.UnmarshalCedar([]byte(SchemaText)); err != nil {
		t.Fatal(err)
	}
	resolved, err := s.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"request", "break_glass"} {
		a, ok := resolved.Actions[actionRequest]
		if action == "break_glass" {
			a, ok = resolved.Actions[actionBreakGlass]
		}
		if !ok || a.AppliesTo == nil {
			t.Fatalf("the schema has no action %s", action)
		}
		for _, et := range a.AppliesTo.Resources {
			if !slices.Contains(entities, string(et)) {
				t.Errorf("the schema lets %s apply to %s, which no resource type maps to", action, et)
			}
		}
	}
}

func TestCheckResourceFindsMismatches(t *testing.T) {
	ec2 := resourceKinds[ResourceEC2Instance]
	tests := []struct {
		name string
		kind resourceKind // the EC2 instance's kind, broken
	}{
		{"missing attribute", resourceKind{entity: ec2.entity}},
		{"undeclared attribute", resourceKind{entity: typeS3Bucket, region: true}},
		{"entity not in the schema", resourceKind{entity: "Elevate::Lambda", region: true}},
		{"entity an action does not apply to", resourceKind{entity: typeRequest, region: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resourceKinds[ResourceEC2Instance] = tt.kind
			t.Cleanup(func() { resourceKinds[ResourceEC2Instance] = ec2 })
			err := CheckResource(sampleResource(ResourceEC2Instance, tt.kind))
			if err == nil {
				t.Fatal("CheckResource passed")
			}
			t.Log(err)
		})
	}
	if err := CheckResource(Resource{Type: "aws_lambda_function", ID: "f"}); err == nil {
		t.Error("CheckResource passed an unknown type")
	}
}
