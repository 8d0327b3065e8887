package policy_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/elevate-jit/elevate/internal/policy"
)

// The annotations Elevate reads: @id names a policy, @approval says whether
// the requests a permit allows are approved automatically, @approvals asks for
// several distinct approvers, and @notice is what people are told.
const examplePolicies = `
@id("sandbox-auto")
@approval("auto")
@notice("Sandbox accounts are yours to use.")
permit (principal, action == Elevate::Action::"request", resource in Elevate::OrganizationalUnit::"ou-abcd-sandbox1")
when { context.duration_seconds <= 28800 };

@id("prod-admin")
@approval("require")
@approvals("2")
@notice("Admin in production needs two approvers.")
permit (principal in Elevate::Group::"sre", action == Elevate::Action::"request", resource in Elevate::OrganizationalUnit::"ou-abcd-prod0001")
when { context.action == "Admin" && context.duration_seconds <= 14400 };

@id("prod-nights")
@notice("Production access is not granted between 22:00 and 06:00 Berlin time.")
forbid (principal, action == Elevate::Action::"request", resource in Elevate::OrganizationalUnit::"ou-abcd-prod0001")
when { context.hour >= 22 || context.hour < 6 };
`

func ExampleSet_Decide() {
	set, err := policy.Parse("example.cedar", []byte(examplePolicies))
	if err != nil {
		fmt.Println(err)
		return
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	sre := policy.User{ID: "alice", Groups: []string{"sre"}}
	at := time.Date(2025, 3, 11, 9, 0, 0, 0, time.UTC) // 10:00 in Berlin

	for _, r := range []policy.Request{
		{Principal: sre, Resource: policy.Resource{Type: "aws_account", ID: "111111111111", Ancestors: []string{"r-abcd", "ou-abcd-sandbox1"}}, Action: "Admin", DurationSeconds: 3600},
		{Principal: sre, Resource: policy.Resource{Type: "aws_account", ID: "222222222222", Ancestors: []string{"r-abcd", "ou-abcd-prod0001"}}, Action: "Admin", DurationSeconds: 3600},
		{Principal: sre, Resource: policy.Resource{Type: "aws_account", ID: "222222222222", Ancestors: []string{"r-abcd", "ou-abcd-prod0001"}}, Action: "Admin", DurationSeconds: 3600, Time: at.Add(13 * time.Hour)},
	} {
		r.Location = berlin
		if r.Time.IsZero() {
			r.Time = at
		}
		d := set.Decide(r)
		fmt.Printf("allowed=%v mode=%q approvals=%d notices=%q\n", d.Allowed, d.Mode, d.Approvals, d.Notices)
	}
	// Output:
	// allowed=true mode="auto" approvals=0 notices=["Sandbox accounts are yours to use."]
	// allowed=true mode="require" approvals=2 notices=["Admin in production needs two approvers."]
	// allowed=false mode="" approvals=0 notices=["Production access is not granted between 22:00 and 06:00 Berlin time."]
}

func ExampleSet_Decide_delegated() {
	// Requests on behalf of someone else never auto-approve unless a permit
	// tests context.delegated.
	set := policy.MustDefault()
	d := set.Decide(policy.Request{
		Principal:       policy.User{ID: "alice"},
		Grantee:         "bob",
		Delegated:       true,
		Resource:        policy.Resource{Type: "aws_account", ID: "111111111111"},
		Action:          "ReadOnly",
		DurationSeconds: 3600,
		Time:            time.Date(2025, 3, 11, 9, 0, 0, 0, time.UTC),
	})
	fmt.Println(d.Mode, d.Approvals, d.Determining[0].ID)
	// Output:
	// require 1 require-approval
}

func ExampleParse() {
	_, err := policy.Parse("tenant.cedar", []byte(`
@id("auto-readonly")
@approval("automatic")
permit (principal, action == Elevate::Action::"request", resource)
when { context.action == "ReadOnly" };

permit (principal, action == Elevate::Action::"request", resource)
when { context.duration_seconds < "3600" };
`))
	var pe *policy.ParseError
	if errors.As(err, &pe) {
		for _, p := range pe.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// line 2, column 1: policy "auto-readonly": @approval must be "auto" or "require", not "automatic"
	// line 7, column 1: the policy has no @id("…") annotation; every policy needs a unique id
	// line 7, column 1: unexpected type: expected datetime, or duration, or Long but saw String
}

// Load reads a set that Parse validated when it was stored; a policy the
// schema would now refuse is still evaluated, and its error denies.
func ExampleLoad() {
	set, err := policy.Load("stored.cedar", []byte(`
@id("auto") @approval("auto")
permit (principal, action == Elevate::Action::"request", resource);

@id("stale")
forbid (principal, action == Elevate::Action::"request", resource)
when { context.retired == true };
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	d := set.Decide(policy.Request{
		Principal: policy.User{ID: "alice"},
		Resource:  policy.Resource{Type: policy.ResourceAccount, ID: "111111111111"},
		Action:    "ReadOnly", DurationSeconds: 3600,
		Time: time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC),
	})
	fmt.Println(d.Allowed, d.Errors[0].PolicyID)
	// Output:
	// false stale
}

func ExampleSet_MayApprove() {
	set := policy.MustDefault()
	request := policy.RequestInfo{
		ID: "req-1", Requester: "alice", Grantee: "alice",
		Resource: policy.Resource{Type: "aws_account", ID: "111111111111"},
		Action:   "Admin", DurationSeconds: 3600,
	}
	for _, approver := range []string{"carol", "alice"} {
		d := set.MayApprove(policy.ApproveRequest{Approver: policy.User{ID: approver}, Request: request})
		fmt.Println(approver, d.Allowed, d.Notices)
	}
	// Output:
	// carol true []
	// alice false [Nobody may approve a request they made or will receive.]
}
