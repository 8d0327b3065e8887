package access

import (
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/policy"
)

// TestKindsReachPolicy runs a valid resource of every type through the policy
// package the way the domain does, so a type added here without its entity in
// the policy package and the Cedar schema fails.
func TestKindsReachPolicy(t *testing.T) {
	const account = "111111111111"
	samples := map[ResourceType]Resource{
		ResourceAccount:            {Type: ResourceAccount, ID: account},
		ResourcePermissionSet:      {Type: ResourcePermissionSet, ID: "arn:aws:sso:::permissionSet/ssoins-72230ed8c1d3a5f4/ps-0f3a9c1d2b4e6a7c", AccountID: account},
		ResourceOrganizationalUnit: {Type: ResourceOrganizationalUnit, ID: "ou-ab12-12345678"},
		ResourceS3Bucket:           {Type: ResourceS3Bucket, ID: "team-logs", AccountID: account},
		ResourceRDSInstance:        {Type: ResourceRDSInstance, ID: "arn:aws:rds:eu-west-1:111111111111:db:orders", DBUser: "app"},
		ResourceEC2Instance:        {Type: ResourceEC2Instance, ID: "i-0123456789abcdef0", AccountID: account, Region: "eu-west-1"},
	}
	permitAll, err := policy.Parse("all.cedar", []byte(`@id("all") permit (principal, action, resource);`))
	if err != nil {
		t.Fatal(err)
	}
	defaults := policy.MustDefault()
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	ancestors := []string{"r-ab12", "ou-ab12-12345678"}

	for _, typ := range ResourceTypes {
		t.Run(string(typ), func(t *testing.T) {
			r, ok := samples[typ]
			if !ok {
				t.Fatalf("no sample resource of type %s; add one", typ)
			}
			v := Violations{}
			r.Validate("resource", v)
			if err := v.Err(); err != nil {
				t.Fatalf("the sample is not valid: %v", err)
			}
			pr := policyResource(r.Normalize(), ancestors)
			if err := policy.CheckResource(pr); err != nil {
				t.Fatalf("the policy package does not map it to the schema: %v", err)
			}
			for name, set := range map[string]*policy.Set{"permit-all": permitAll, "default": defaults} {
				for _, breakGlass := range []bool{false, true} {
					d := set.Decide(policy.Request{Principal: policy.User{ID: "alice", Groups: []string{"engineering"}},
						BreakGlass: breakGlass, Resource: pr, Action: "read", DurationSeconds: 3600, Justification: "check", Time: at})
					if len(d.Errors) > 0 || (name == "permit-all" && !d.Allowed) {
						t.Errorf("%s: Decide (break glass %v) = allowed %v, errors %v, notices %q", name, breakGlass, d.Allowed, d.Errors, d.Notices)
					}
				}
				d := set.MayApprove(policy.ApproveRequest{Approver: policy.User{ID: "bob", Groups: []string{"approvers"}},
					Request: policy.RequestInfo{ID: "req-1", Requester: "alice", Resource: pr, Action: "read", DurationSeconds: 3600}, Time: at})
				if len(d.Errors) > 0 || (name == "permit-all" && !d.Allowed) {
					t.Errorf("%s: MayApprove = allowed %v, errors %v, notices %q", name, d.Allowed, d.Errors, d.Notices)
				}
			}
		})
	}
}
