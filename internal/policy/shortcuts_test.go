package policy

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cedar-policy/cedar-go"
)

// scopeText exercises every scope form and the OU chain, with conditions that
// fail to evaluate behind scopes that rarely match.
const scopeText = `
@id("eq-user") permit (principal == Elevate::User::"alice", action in Elevate::Action::"access", resource);
@id("in-user") permit (principal in Elevate::User::"bob", action == Elevate::Action::"request", resource) when { context.duration_seconds < 600 };
@id("in-group") permit (principal in Elevate::Group::"oncall", action == Elevate::Action::"break_glass", resource);
@id("is-in-group") forbid (principal is Elevate::User in Elevate::Group::"contractors", action, resource in Elevate::OrganizationalUnit::"ou-abcd-33333333");
@id("in-ou") permit (principal, action == Elevate::Action::"request", resource in Elevate::OrganizationalUnit::"ou-abcd-11111111");
@id("in-root") permit (principal, action == Elevate::Action::"request", resource in Elevate::OrganizationalUnit::"r-abcd") when { context.action == "ReadOnly" };
@id("in-account") forbid (principal, action in Elevate::Action::"access", resource in Elevate::Account::"222222222222") when { context.hour < 8 };
@id("eq-account") permit (principal, action == Elevate::Action::"request", resource == Elevate::Account::"111111111111");
@id("is-bucket-in") permit (principal in Elevate::Group::"data", action == Elevate::Action::"request", resource is Elevate::S3Bucket in Elevate::Account::"111111111111");
@id("is-ec2") permit (principal, action == Elevate::Action::"request", resource is Elevate::EC2Instance) when { resource.region == "eu-west-1" };
@id("account-attr") permit (principal, action == Elevate::Action::"request", resource) when { (resource is Elevate::S3Bucket && resource.account in Elevate::OrganizationalUnit::"ou-abcd-22222222") };
@id("ou-literal") permit (principal, action == Elevate::Action::"request", resource) when { Elevate::OrganizationalUnit::"ou-abcd-22222222" in Elevate::OrganizationalUnit::"ou-abcd-11111111" && context.action == "Chain" };
@id("guarded-overflow") permit (principal in Elevate::Group::"overflow", action == Elevate::Action::"request", resource) when { context.duration_seconds * 9223372036854775807 > 0 };
@id("scoped-overflow") forbid (principal, action == Elevate::Action::"request", resource in Elevate::OrganizationalUnit::"ou-abcd-33333333") when { context.duration_seconds + 9223372036854775807 > 0 };
@id("approve-own-ou") permit (principal in Elevate::Group::"approvers", action == Elevate::Action::"approve", resource);
`

// TestShortcutsChangeNothing checks that what Decide skips for speed (policies
// for other actions or whose scope cannot match, and the OU entities when no
// policy can observe them) changes no answer from the evaluator.
func TestShortcutsChangeNothing(t *testing.T) {
	texts := map[string]string{"default": DefaultText, "scopes": scopeText, "generated": benchText(300)}
	users := []User{
		{ID: "alice", Groups: []string{"oncall", "engineering-0"}},
		{ID: "bob"},
		{ID: "carl", Groups: []string{"contractors", "data", "sre-1", "overflow"}},
		{ID: "dora", Groups: []string{"security-3", "finance-4", "platform-5", "support-6", "data-2", "sre-7", "engineering-8", "approvers", "oncall"}},
	}
	ancestors := [][]string{nil, {"r-abcd"}, {"r-abcd", "ou-abcd-11111111"}, {"r-abcd", "ou-abcd-11111111", "ou-abcd-22222222"}, {"r-abcd", "ou-abcd-33333333"},
		{"r-abcd", "ou-abcd-00000003", "ou-abcd-00000013", "ou-abcd-00000023", "ou-abcd-00000033", "ou-abcd-00000004"}}
	resources := func(anc []string) []Resource {
		return []Resource{
			{Type: ResourceAccount, ID: "111111111111", Ancestors: anc},
			{Type: ResourceAccount, ID: "222222222222", Ancestors: anc},
			{Type: ResourceAccount, ID: "100000000013", Ancestors: anc},
			{Type: ResourceOrganizationalUnit, ID: "ou-abcd-22222222", Ancestors: anc},
			{Type: ResourceS3Bucket, ID: "logs", AccountID: "111111111111", Ancestors: anc},
			{Type: ResourceS3Bucket, ID: "data", AccountID: "100000000003", Ancestors: anc},
			{Type: ResourceEC2Instance, ID: "i-0123456789abcdef0", AccountID: "222222222222", Region: "eu-west-1", Ancestors: anc},
			{Type: ResourcePermissionSet, ID: "arn:aws:sso:::permissionSet/ssoins-1/ps-1", AccountID: "111111111111", Ancestors: anc},
		}
	}
	for name, text := range texts {
		s := mustParse(t, text)
		n := 0
		for _, u := range users {
			for _, anc := range ancestors {
				for _, res := range resources(anc) {
					for _, action := range []string{"ReadOnly", "Admin", "read", "Chain"} {
						for _, dur := range []int64{300, 3600, 50000} {
							for _, bg := range []bool{false, true} {
								for _, grantee := range []string{"", "erin"} {
									r := Request{Principal: u, BreakGlass: bg, Resource: res, Action: action, DurationSeconds: dur,
										Grantee: grantee, Time: monday10.Add(-3 * 3600e9), Justification: "INC-1"}
									fast, slow := s.evaluateBoth(t, r)
									if fast != slow {
										t.Fatalf("%s: %+v:\nfast %s\nslow %s", name, r, fast, slow)
									}
									n++
								}
							}
						}
					}
				}
			}
		}
		t.Logf("%s: %d requests agree", name, n)
	}
}

// evaluateBoth returns cedar's answer for r as Decide computes it and without
// any shortcut, as comparable strings.
func (s *Set) evaluateBoth(t *testing.T, r Request) (fast, slow string) {
	t.Helper()
	e, req, err := s.requestEnv(r, s.ouChain)
	if err != nil {
		t.Fatal(err)
	}
	fast = describe(cedar.Authorize(e, e, req))
	e, req, _ = s.requestEnv(r, true)
	e.policies, e.exhaustive = s.all, true
	slow = describe(cedar.Authorize(e, e, req))
	return fast, slow
}

func describe(dec cedar.Decision, diag cedar.Diagnostic) string {
	var reasons, errs []string
	for _, r := range diag.Reasons {
		reasons = append(reasons, string(r.PolicyID))
	}
	for _, e := range diag.Errors {
		errs = append(errs, string(e.PolicyID)+": "+e.Message)
	}
	slices.Sort(reasons)
	slices.Sort(errs)
	return fmt.Sprintf("%v reasons=%q errors=%q", dec, reasons, errs)
}

func TestOUChainOnlyWhenObservable(t *testing.T) {
	tests := []struct {
		cond string
		want bool
	}{
		{`resource in Elevate::OrganizationalUnit::"ou-abcd-11111111"`, false},
		{`resource is Elevate::S3Bucket && resource.account in Elevate::OrganizationalUnit::"ou-abcd-11111111"`, false},
		{`principal in Elevate::Group::"g"`, false},
		{`context.grantee in Elevate::Group::"g"`, false},
		{`Elevate::OrganizationalUnit::"ou-abcd-22222222" in Elevate::OrganizationalUnit::"r-abcd"`, true},
		{`(if context.hour > 3 then Elevate::Account::"111111111111" else Elevate::Account::"222222222222") in Elevate::OrganizationalUnit::"r-abcd"`, true},
		{`Elevate::OrganizationalUnit::"ou-abcd-22222222" is Elevate::OrganizationalUnit in Elevate::OrganizationalUnit::"r-abcd"`, true},
	}
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			s := mustParse(t, `@id("p") permit (principal, action == Elevate::Action::"request", resource) when { `+tc.cond+` };`)
			if s.ouChain != tc.want {
				t.Errorf("ouChain = %v, want %v", s.ouChain, tc.want)
			}
		})
	}
}
