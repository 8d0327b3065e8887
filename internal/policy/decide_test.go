package policy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	// monday10 is Monday 10 March 2025, 10:00 UTC.
	monday10 = time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)

	alice = User{ID: "alice", Groups: []string{"engineering", "oncall"}}
	bob   = User{ID: "bob", Groups: []string{"engineering"}}
)

const (
	orgRoot  = "r-abcd"
	ouDev    = "ou-abcd-11111111"
	ouDevWeb = "ou-abcd-22222222" // inside ouDev
	ouProd   = "ou-abcd-33333333"
)

func account(id string, ancestors ...string) Resource {
	return Resource{Type: ResourceAccount, ID: id, Ancestors: ancestors}
}

func bucket(name, accountID string, ancestors ...string) Resource {
	return Resource{Type: ResourceS3Bucket, ID: name, AccountID: accountID, Ancestors: ancestors}
}

// want is the part of a Decision a test case checks.
type want struct {
	allowed     bool
	mode        Mode
	approvals   int
	determining []string // policy ids, in order
	notices     []string
	errors      []string // policy ids of evaluation errors
}

func checkDecision(t *testing.T, got Decision, w want) {
	t.Helper()
	if got.Allowed != w.allowed || got.Mode != w.mode || got.Approvals != w.approvals {
		t.Errorf("got allowed=%v mode=%q approvals=%d, want allowed=%v mode=%q approvals=%d (notices %q, errors %v)",
			got.Allowed, got.Mode, got.Approvals, w.allowed, w.mode, w.approvals, got.Notices, got.Errors)
	}
	var ids []string
	for _, d := range got.Determining {
		ids = append(ids, d.ID)
	}
	if !slices.Equal(ids, w.determining) {
		t.Errorf("determining = %q, want %q", ids, w.determining)
	}
	if !slices.Equal(got.Notices, w.notices) {
		t.Errorf("notices = %q, want %q", got.Notices, w.notices)
	}
	var errIDs []string
	for _, e := range got.Errors {
		errIDs = append(errIDs, e.PolicyID)
	}
	if !slices.Equal(errIDs, w.errors) {
		t.Errorf("errors = %v, want policies %q", got.Errors, w.errors)
	}
}

func mustParse(t testing.TB, text string) *Set {
	t.Helper()
	s, err := Parse("test.cedar", []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

func TestDecideDefault(t *testing.T) {
	const (
		noticeAuto      = "Read-only access to an account for up to 1 hour is approved automatically."
		noticeRequire   = "This request needs an approver."
		noticeMax       = "The maximum duration is 43200 seconds (12 hours)."
		noticeBG        = "Break-glass access is granted at once and reviewed afterwards."
		noticeBGMax     = "Break-glass access lasts at most 3600 seconds (1 hour)."
		noticeDelegated = "Break-glass cannot be requested on behalf of someone else."
	)
	prod := account("123456789012", orgRoot, ouProd)
	tests := []struct {
		name string
		req  Request
		want want
	}{
		{
			name: "ReadOnly on an account for an hour is auto-approved",
			req:  Request{Principal: alice, Resource: prod, Action: "ReadOnly", DurationSeconds: 3600},
			want: want{allowed: true, mode: ModeAuto, determining: []string{"auto-approve-short-readonly"}, notices: []string{noticeAuto}},
		},
		{
			name: "ReadOnly for a second more needs an approver",
			req:  Request{Principal: alice, Resource: prod, Action: "ReadOnly", DurationSeconds: 3601},
			want: want{allowed: true, mode: ModeRequire, approvals: 1, determining: []string{"require-approval"}, notices: []string{noticeRequire}},
		},
		{
			name: "Admin needs an approver",
			req:  Request{Principal: bob, Resource: prod, Action: "Admin", DurationSeconds: 600},
			want: want{allowed: true, mode: ModeRequire, approvals: 1, determining: []string{"require-approval"}, notices: []string{noticeRequire}},
		},
		{
			name: "ReadOnly on a non-account resource needs an approver",
			req:  Request{Principal: bob, Resource: bucket("logs", "123456789012", orgRoot, ouProd), Action: "ReadOnly", DurationSeconds: 600},
			want: want{allowed: true, mode: ModeRequire, approvals: 1, determining: []string{"require-approval"}, notices: []string{noticeRequire}},
		},
		{
			name: "S3 read needs an approver",
			req:  Request{Principal: bob, Resource: bucket("logs", "123456789012", orgRoot, ouProd), Action: "read", DurationSeconds: 3600},
			want: want{allowed: true, mode: ModeRequire, approvals: 1, determining: []string{"require-approval"}, notices: []string{noticeRequire}},
		},
		{
			name: "exactly 12 hours needs an approver",
			req:  Request{Principal: bob, Resource: prod, Action: "Admin", DurationSeconds: 43200},
			want: want{allowed: true, mode: ModeRequire, approvals: 1, determining: []string{"require-approval"}, notices: []string{noticeRequire}},
		},
		{
			name: "longer than 12 hours is denied with the maximum",
			req:  Request{Principal: bob, Resource: prod, Action: "ReadOnly", DurationSeconds: 43201},
			want: want{determining: []string{"maximum-duration"}, notices: []string{noticeMax}},
		},
		{
			name: "break-glass for oncall is allowed",
			req:  Request{Principal: alice, BreakGlass: true, Resource: prod, Action: "Admin", DurationSeconds: 3600},
			want: want{allowed: true, mode: ModeBreakGlass, determining: []string{"break-glass-oncall"}, notices: []string{noticeBG}},
		},
		{
			name: "break-glass while suspended is denied, with why",
			req:  Request{Principal: alice, BreakGlass: true, Resource: prod, Action: "Admin", DurationSeconds: 3600, BreakGlassSuspended: true},
			want: want{determining: []string{"break-glass-suspended"}, notices: []string{"Your break-glass access is suspended after an unjustified or overdue break-glass review; ask an admin to lift it, or make an ordinary request."}},
		},
		{
			name: "an ordinary request while suspended is decided as usual",
			req:  Request{Principal: alice, Resource: prod, Action: "ReadOnly", DurationSeconds: 3600, BreakGlassSuspended: true},
			want: want{allowed: true, mode: ModeAuto, determining: []string{"auto-approve-short-readonly"}, notices: []string{noticeAuto}},
		},
		{
			name: "break-glass for someone not oncall is denied",
			req:  Request{Principal: bob, BreakGlass: true, Resource: prod, Action: "Admin", DurationSeconds: 3600},
			want: want{notices: []string{"No policy permits break-glass access for this request."}},
		},
		{
			name: "break-glass for two hours is denied",
			req:  Request{Principal: alice, BreakGlass: true, Resource: prod, Action: "Admin", DurationSeconds: 7200},
			want: want{determining: []string{"break-glass-maximum-duration"}, notices: []string{noticeBGMax}},
		},
		{
			name: "break-glass longer than 12 hours hits both forbids in text order",
			req:  Request{Principal: alice, BreakGlass: true, Resource: prod, Action: "Admin", DurationSeconds: 50000},
			want: want{determining: []string{"maximum-duration", "break-glass-maximum-duration"}, notices: []string{noticeMax, noticeBGMax}},
		},
		{
			name: "delegated ReadOnly needs an approver",
			req:  Request{Principal: alice, Grantee: "bob", Delegated: true, Resource: prod, Action: "ReadOnly", DurationSeconds: 3600},
			want: want{allowed: true, mode: ModeRequire, approvals: 1, determining: []string{"require-approval"}, notices: []string{noticeRequire}},
		},
		{
			name: "a grantee other than the principal counts as delegated even without the flag",
			req:  Request{Principal: alice, Grantee: "bob", Resource: prod, Action: "ReadOnly", DurationSeconds: 3600},
			want: want{allowed: true, mode: ModeRequire, approvals: 1, determining: []string{"require-approval"}, notices: []string{noticeRequire}},
		},
		{
			name: "delegated break-glass is denied",
			req:  Request{Principal: alice, Grantee: "bob", Delegated: true, BreakGlass: true, Resource: prod, Action: "Admin", DurationSeconds: 600},
			want: want{determining: []string{"no-delegated-break-glass"}, notices: []string{noticeDelegated}},
		},
		{
			name: "an unknown resource type fails closed",
			req:  Request{Principal: alice, Resource: Resource{Type: "aws_lambda_function", ID: "f"}, Action: "ReadOnly", DurationSeconds: 60},
			want: want{
				notices: []string{`The request could not be evaluated, so it is denied: unknown resource type "aws_lambda_function"`},
				errors:  []string{""},
			},
		},
		{
			name: "a bucket without its account fails closed",
			req:  Request{Principal: alice, Resource: Resource{Type: ResourceS3Bucket, ID: "logs"}, Action: "read", DurationSeconds: 60},
			want: want{
				notices: []string{"The request could not be evaluated, so it is denied: a resource of type aws_s3_bucket needs an account id"},
				errors:  []string{""},
			},
		},
	}
	s := MustDefault()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Time = monday10
			checkDecision(t, s.Decide(tc.req), tc.want)
		})
	}
}

func TestDecideEveryResourceType(t *testing.T) {
	// Every resource type maps to an entity that sits in its account and OUs.
	s := mustParse(t, `
@id("dev-ou") @approval("auto")
permit (principal, action == Elevate::Action::"request", resource in Elevate::OrganizationalUnit::"ou-abcd-11111111");

@id("account-111") @approval("auto")
permit (principal, action == Elevate::Action::"request", resource in Elevate::Account::"111111111111");

@id("regional") @approval("auto")
permit (principal, action == Elevate::Action::"request", resource)
when { (resource is Elevate::EC2Instance || resource is Elevate::RDSInstance) && resource.region == "eu-west-1" && resource.account == Elevate::Account::"111111111111" };
`)
	anc := []string{orgRoot, ouDev}
	tests := []struct {
		name string
		res  Resource
		want []string
	}{
		{"account", Resource{Type: ResourceAccount, ID: "111111111111", Ancestors: anc}, []string{"dev-ou", "account-111"}},
		{"organizational unit", Resource{Type: ResourceOrganizationalUnit, ID: ouDevWeb, Ancestors: anc}, []string{"dev-ou"}},
		{"permission set", Resource{Type: ResourcePermissionSet, ID: "arn:aws:sso:::permissionSet/ssoins-1/ps-1", AccountID: "111111111111", Ancestors: anc}, []string{"dev-ou", "account-111"}},
		{"s3 bucket", Resource{Type: ResourceS3Bucket, ID: "logs", AccountID: "111111111111", Ancestors: anc}, []string{"dev-ou", "account-111"}},
		{"ec2 instance", Resource{Type: ResourceEC2Instance, ID: "i-0123456789abcdef0", AccountID: "111111111111", Region: "eu-west-1", Ancestors: anc}, []string{"dev-ou", "account-111", "regional"}},
		{"rds instance", Resource{Type: ResourceRDSInstance, ID: "arn:aws:rds:eu-west-1:111111111111:db:main", AccountID: "111111111111", Region: "eu-west-1"}, []string{"account-111", "regional"}},
		{"ec2 in another region", Resource{Type: ResourceEC2Instance, ID: "i-0123456789abcdef0", AccountID: "111111111111", Region: "us-east-1"}, []string{"account-111"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := s.Decide(Request{Principal: bob, Resource: tc.res, Action: "read", DurationSeconds: 60, Time: monday10})
			var ids []string
			for _, x := range d.Determining {
				ids = append(ids, x.ID)
			}
			if !d.Allowed || !slices.Equal(ids, tc.want) {
				t.Errorf("allowed=%v determining=%q, want allowed by %q (notices %q)", d.Allowed, ids, tc.want, d.Notices)
			}
		})
	}
}

func TestDecideCustom(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	const quorum = `
@id("admin-two-approvers")
@approvals("2")
permit (principal, action == Elevate::Action::"request", resource)
when { context.action == "Admin" };

@id("prod-three-approvers")
@approval("require")
@approvals("3")
@notice("Production access needs three approvers.")
permit (principal, action == Elevate::Action::"request", resource in Elevate::OrganizationalUnit::"ou-abcd-33333333");
`
	const ouInheritance = `
@id("dev-ou-auto")
@approval("auto")
permit (principal, action == Elevate::Action::"request", resource in Elevate::OrganizationalUnit::"ou-abcd-11111111");

@id("not-the-shared-account")
@notice("The shared services account is not available through Elevate.")
forbid (principal, action in Elevate::Action::"access", resource in Elevate::Account::"222222222222");
`
	const officeHours = `
@id("office-hours")
@approval("auto")
@notice("Granted during Berlin office hours.")
permit (principal, action == Elevate::Action::"request", resource)
when { context.hour >= 9 && context.hour < 17 };

@id("no-weekends")
@notice("Not at weekends.")
forbid (principal, action in Elevate::Action::"access", resource)
when { context.weekday == "saturday" || context.weekday == "sunday" };
`
	const overflow = `
@id("everyone")
@approval("auto")
permit (principal, action, resource);

@id("overflowing")
permit (principal, action == Elevate::Action::"request", resource)
when { context.duration_seconds + 9223372036854775807 > 0 };

@id("far-future")
forbid (principal, action == Elevate::Action::"request", resource)
when { context.action == "Future" && datetime("2024-01-01").offset(duration("106751991000d")) > datetime("2024-01-01") };
`
	const delegatedAware = `
@id("leads-for-their-team")
@approval("auto")
@notice("Team leads may give their team read-only access.")
permit (principal in Elevate::Group::"leads", action == Elevate::Action::"request", resource)
when { context.delegated && context.action == "ReadOnly" };

@id("auto-for-all")
@approval("auto")
permit (principal, action == Elevate::Action::"request", resource)
when { context.action == "ViewOnly" };

@id("bg-oncall")
permit (principal in Elevate::Group::"oncall", action == Elevate::Action::"break_glass", resource)
when { context.action == "Admin" };

@id("bg-oncall-for-others")
permit (principal in Elevate::Group::"oncall", action == Elevate::Action::"break_glass", resource)
when { context.delegated && context.action == "Debug" };
`
	lead := User{ID: "lea", Groups: []string{"leads"}}
	dev := account("111111111111", orgRoot, ouDev)
	devWeb := account("444444444444", orgRoot, ouDev, ouDevWeb)
	shared := account("222222222222", orgRoot, ouDev)
	prod := account("333333333333", orgRoot, ouProd)

	tests := []struct {
		name, text string
		req        Request
		want       want
	}{
		{
			name: "quorum from @approvals",
			text: quorum,
			req:  Request{Principal: bob, Resource: dev, Action: "Admin", DurationSeconds: 600},
			want: want{allowed: true, mode: ModeRequire, approvals: 2, determining: []string{"admin-two-approvers"}},
		},
		{
			name: "quorum is the largest @approvals",
			text: quorum,
			req:  Request{Principal: bob, Resource: prod, Action: "Admin", DurationSeconds: 600},
			want: want{allowed: true, mode: ModeRequire, approvals: 3, determining: []string{"admin-two-approvers", "prod-three-approvers"}, notices: []string{"Production access needs three approvers."}},
		},
		{
			name: "a permit without @approval needs an approver",
			text: quorum,
			req:  Request{Principal: bob, Resource: prod, Action: "ReadOnly", DurationSeconds: 600},
			want: want{allowed: true, mode: ModeRequire, approvals: 3, determining: []string{"prod-three-approvers"}, notices: []string{"Production access needs three approvers."}},
		},
		{
			name: "OU permit covers an account in the OU",
			text: ouInheritance,
			req:  Request{Principal: bob, Resource: dev, Action: "Admin", DurationSeconds: 600},
			want: want{allowed: true, mode: ModeAuto, determining: []string{"dev-ou-auto"}},
		},
		{
			name: "OU permit covers an account in a nested OU",
			text: ouInheritance,
			req:  Request{Principal: bob, Resource: devWeb, Action: "Admin", DurationSeconds: 600},
			want: want{allowed: true, mode: ModeAuto, determining: []string{"dev-ou-auto"}},
		},
		{
			name: "OU permit covers a bucket in an account of the OU",
			text: ouInheritance,
			req:  Request{Principal: bob, Resource: bucket("web", "444444444444", orgRoot, ouDev, ouDevWeb), Action: "read", DurationSeconds: 600},
			want: want{allowed: true, mode: ModeAuto, determining: []string{"dev-ou-auto"}},
		},
		{
			name: "forbid on one account inside the OU wins",
			text: ouInheritance,
			req:  Request{Principal: bob, Resource: shared, Action: "Admin", DurationSeconds: 600},
			want: want{determining: []string{"not-the-shared-account"}, notices: []string{"The shared services account is not available through Elevate."}},
		},
		{
			name: "forbid on an account covers its buckets",
			text: ouInheritance,
			req:  Request{Principal: bob, Resource: bucket("shared", "222222222222", orgRoot, ouDev), Action: "read", DurationSeconds: 600},
			want: want{determining: []string{"not-the-shared-account"}, notices: []string{"The shared services account is not available through Elevate."}},
		},
		{
			name: "an account outside the OU is not permitted",
			text: ouInheritance,
			req:  Request{Principal: bob, Resource: prod, Action: "Admin", DurationSeconds: 600},
			want: want{notices: []string{"No policy permits this request."}},
		},
		{
			name: "16:30 UTC is 17:30 in Berlin: outside office hours",
			text: officeHours,
			req:  Request{Principal: bob, Resource: prod, Action: "Admin", DurationSeconds: 600, Time: time.Date(2025, 1, 15, 16, 30, 0, 0, time.UTC), Location: berlin},
			want: want{notices: []string{"No policy permits this request."}},
		},
		{
			name: "16:30 UTC is inside office hours when the tenant is on UTC",
			text: officeHours,
			req:  Request{Principal: bob, Resource: prod, Action: "Admin", DurationSeconds: 600, Time: time.Date(2025, 1, 15, 16, 30, 0, 0, time.UTC)},
			want: want{allowed: true, mode: ModeAuto, determining: []string{"office-hours"}, notices: []string{"Granted during Berlin office hours."}},
		},
		{
			name: "08:30 UTC is 09:30 in Berlin: inside office hours",
			text: officeHours,
			req:  Request{Principal: bob, Resource: prod, Action: "Admin", DurationSeconds: 600, Time: time.Date(2025, 1, 15, 8, 30, 0, 0, time.UTC), Location: berlin},
			want: want{allowed: true, mode: ModeAuto, determining: []string{"office-hours"}, notices: []string{"Granted during Berlin office hours."}},
		},
		{
			name: "Friday 22:30 UTC in summer is Saturday in Berlin",
			text: officeHours,
			req:  Request{Principal: bob, Resource: prod, Action: "Admin", DurationSeconds: 600, Time: time.Date(2025, 7, 4, 22, 30, 0, 0, time.UTC), Location: berlin},
			want: want{determining: []string{"no-weekends"}, notices: []string{"Not at weekends."}},
		},
		{
			name: "an overflow denies even though another policy permits",
			text: overflow,
			req:  Request{Principal: bob, Resource: prod, Action: "Admin", DurationSeconds: 600},
			want: want{
				notices: []string{`Policy "overflowing" could not be evaluated, so the request is denied: integer overflow while attempting to add ` + "`600` with `9223372036854775807`"},
				errors:  []string{"overflowing"},
			},
		},
		{
			name: "an extension function error denies and names the policy",
			text: overflow,
			req:  Request{Principal: bob, Resource: prod, Action: "Future", DurationSeconds: 0},
			want: want{
				notices: []string{`Policy "far-future" could not be evaluated, so the request is denied: integer overflow while attempting to compute datetime offset`},
				errors:  []string{"far-future"},
			},
		},
		{
			name: "no error when the failing expressions are not reached",
			text: overflow,
			req:  Request{Principal: bob, Resource: prod, Action: "Admin", DurationSeconds: -9223372036854775807},
			want: want{allowed: true, mode: ModeAuto, determining: []string{"everyone"}},
		},
		{
			name: "delegated auto is kept when a permit tests context.delegated",
			text: delegatedAware,
			req:  Request{Principal: lead, Grantee: "bob", Delegated: true, Resource: dev, Action: "ReadOnly", DurationSeconds: 600},
			want: want{allowed: true, mode: ModeAuto, determining: []string{"leads-for-their-team"}, notices: []string{"Team leads may give their team read-only access."}},
		},
		{
			name: "delegated auto needs an approver when no permit tests context.delegated",
			text: delegatedAware,
			req:  Request{Principal: lead, Grantee: "bob", Delegated: true, Resource: dev, Action: "ViewOnly", DurationSeconds: 600},
			want: want{allowed: true, mode: ModeRequire, approvals: 1, determining: []string{"auto-for-all"}, notices: []string{"Requests on behalf of someone else need an approver."}},
		},
		{
			name: "the same request for oneself stays auto",
			text: delegatedAware,
			req:  Request{Principal: lead, Resource: dev, Action: "ViewOnly", DurationSeconds: 600},
			want: want{allowed: true, mode: ModeAuto, determining: []string{"auto-for-all"}},
		},
		{
			name: "delegated break-glass is denied when no permit tests context.delegated",
			text: delegatedAware,
			req:  Request{Principal: alice, Grantee: "bob", Delegated: true, BreakGlass: true, Resource: dev, Action: "Admin", DurationSeconds: 600},
			want: want{notices: []string{"Break-glass cannot be requested on behalf of someone else."}},
		},
		{
			name: "delegated break-glass is kept when a permit tests context.delegated",
			text: delegatedAware,
			req:  Request{Principal: alice, Grantee: "bob", Delegated: true, BreakGlass: true, Resource: dev, Action: "Debug", DurationSeconds: 600},
			want: want{allowed: true, mode: ModeBreakGlass, determining: []string{"bg-oncall-for-others"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.Time.IsZero() {
				tc.req.Time = monday10
			}
			checkDecision(t, mustParse(t, tc.text).Decide(tc.req), tc.want)
		})
	}
}

func TestDecideContext(t *testing.T) {
	// Each policy checks one context attribute; all must hold for the permit.
	s := mustParse(t, `
@id("context")
@approval("auto")
permit (principal == Elevate::User::"alice", action == Elevate::Action::"request", resource)
when {
  context.action == "Admin" &&
  context.duration_seconds == 5400 &&
  context.justification like "*INC-42*" &&
  context.grantee == Elevate::User::"alice" &&
  !context.delegated &&
  context.hour == 23 &&
  context.weekday == "sunday"
};
`)
	tokyo := time.FixedZone("UTC+9", 9*3600)
	req := Request{
		Principal: alice, Resource: account("111111111111"), Action: "Admin", DurationSeconds: 5400,
		Justification: "fixing INC-42", Time: time.Date(2025, 3, 9, 14, 0, 0, 0, time.UTC), Location: tokyo,
	}
	if d := s.Decide(req); !d.Allowed || d.Mode != ModeAuto {
		t.Fatalf("Decide = %+v, want auto", d)
	}
	req.Location = nil // 14:00 UTC
	if d := s.Decide(req); d.Allowed {
		t.Errorf("Decide in UTC = %+v, want denied", d)
	}
}

// context.starts_in_seconds is how long after the request its access
// begins: 0 for access at once.
func TestDecideStartsIn(t *testing.T) {
	s := mustParse(t, `
@id("soon")
@approval("auto")
permit (principal, action == Elevate::Action::"request", resource)
when { context.starts_in_seconds <= 3600 };
`)
	req := Request{Principal: alice, Resource: account("111111111111"), Action: "Admin", DurationSeconds: 600, Justification: "x", Time: monday10}
	for _, c := range []struct {
		in      int64
		allowed bool
	}{{0, true}, {3600, true}, {3601, false}, {-5, true}} {
		req.StartsInSeconds = c.in
		if d := s.Decide(req); d.Allowed != c.allowed {
			t.Errorf("starts in %d s: Decide = %+v, want allowed=%v", c.in, d, c.allowed)
		}
	}
}

// The earliest @escalate_after of the permits that require approval
// decides when, and to which group, a request escalates; approve policies
// see context.escalated.
func TestDecideEscalation(t *testing.T) {
	s := mustParse(t, `
@id("slow")
@escalate_after("PT2H") @escalate_to("managers")
permit (principal, action == Elevate::Action::"request", resource);

@id("fast")
@escalate_after("PT30M") @escalate_to("oncall")
permit (principal, action == Elevate::Action::"request", resource) when { context.action == "Admin" };

@id("escalated-oncall")
permit (principal in Elevate::Group::"oncall", action == Elevate::Action::"approve", resource) when { context.escalated };
`)
	req := Request{Principal: bob, Resource: account("111111111111"), Action: "Admin", DurationSeconds: 600, Justification: "x", Time: monday10}
	if d := s.Decide(req); d.Mode != ModeRequire || d.EscalateAfter != 30*time.Minute || d.EscalateTo != "oncall" {
		t.Errorf("Admin: Decide = %+v, want escalation to oncall after 30m", d)
	}
	req.Action = "ReadOnly"
	if d := s.Decide(req); d.EscalateAfter != 2*time.Hour || d.EscalateTo != "managers" {
		t.Errorf("ReadOnly: Decide = %+v, want escalation to managers after 2h", d)
	}
	ar := ApproveRequest{Approver: alice, Request: RequestInfo{ID: "r1", Requester: "bob", Resource: account("111111111111"), Action: "Admin"}, Time: monday10}
	if d := s.MayApprove(ar); d.Allowed {
		t.Errorf("before escalation: MayApprove = %+v, want refused", d)
	}
	ar.Escalated = true
	if d := s.MayApprove(ar); !d.Allowed {
		t.Errorf("escalated: MayApprove = %+v, want allowed", d)
	}
}

// @end_sessions of the determining permits: "true" wins over "false", and
// a decision no permit annotates leaves it to the tenant ("").
func TestDecideEndSessions(t *testing.T) {
	s := mustParse(t, `
@id("keep") @approval("auto") @end_sessions("false")
permit (principal, action == Elevate::Action::"request", resource);

@id("cut") @approval("auto") @end_sessions("true")
permit (principal, action == Elevate::Action::"request", resource) when { context.action == "Admin" };

@id("plain") @approval("auto")
permit (principal, action == Elevate::Action::"break_glass", resource);
`)
	req := Request{Principal: bob, Resource: account("111111111111"), Action: "Admin", DurationSeconds: 600, Justification: "x", Time: monday10}
	if d := s.Decide(req); !d.Allowed || d.EndSessions != "true" {
		t.Errorf("Admin: Decide = %+v, want end_sessions true", d)
	}
	req.Action = "ReadOnly"
	if d := s.Decide(req); !d.Allowed || d.EndSessions != "false" {
		t.Errorf("ReadOnly: Decide = %+v, want end_sessions false", d)
	}
	req.BreakGlass = true
	if d := s.Decide(req); !d.Allowed || d.EndSessions != "" {
		t.Errorf("break glass: Decide = %+v, want no end_sessions", d)
	}
}

func TestDecideOUChain(t *testing.T) {
	// The ancestors form a chain, so an inner OU is in the outer ones.
	s := mustParse(t, `
@id("chain")
@approval("auto")
permit (principal, action == Elevate::Action::"request", resource)
when { Elevate::OrganizationalUnit::"ou-abcd-22222222" in Elevate::OrganizationalUnit::"r-abcd" };
`)
	d := s.Decide(Request{Principal: bob, Resource: account("111111111111", orgRoot, ouDev, ouDevWeb), Action: "Admin", DurationSeconds: 60, Time: monday10})
	if !d.Allowed {
		t.Errorf("inner OU not in the root: %+v", d)
	}
	d = s.Decide(Request{Principal: bob, Resource: account("111111111111", orgRoot, ouProd), Action: "Admin", DurationSeconds: 60, Time: monday10})
	if d.Allowed {
		t.Errorf("an OU outside the request's hierarchy matched: %+v", d)
	}
}

func TestDecideDeterminingAnnotations(t *testing.T) {
	d := MustDefault().Decide(Request{Principal: alice, Resource: account("111111111111"), Action: "ReadOnly", DurationSeconds: 60, Time: monday10})
	if len(d.Determining) != 1 {
		t.Fatalf("determining = %+v", d.Determining)
	}
	got := d.Determining[0]
	if got.Effect != "permit" || got.Annotations["approval"] != "auto" || got.Annotations["id"] != "auto-approve-short-readonly" {
		t.Errorf("determining = %+v", got)
	}
	// Callers may keep and change what they get without affecting the set.
	got.Annotations["approval"] = "require"
	d = MustDefault().Decide(Request{Principal: alice, Resource: account("111111111111"), Action: "ReadOnly", DurationSeconds: 60, Time: monday10})
	if d.Mode != ModeAuto || d.Determining[0].Annotations["approval"] != "auto" {
		t.Errorf("a caller's change leaked into the set: %+v", d)
	}
}

func TestDecideForbidWithoutNotice(t *testing.T) {
	s := mustParse(t, `
@id("everyone") permit (principal, action, resource);
@id("silent-forbid") forbid (principal, action == Elevate::Action::"request", resource);
`)
	d := s.Decide(Request{Principal: bob, Resource: account("111111111111"), Action: "Admin", DurationSeconds: 60, Time: monday10})
	checkDecision(t, d, want{determining: []string{"silent-forbid"}, notices: []string{`Policy "silent-forbid" denies this request.`}})
	if d.Determining[0].Effect != "forbid" {
		t.Errorf("effect = %q, want forbid", d.Determining[0].Effect)
	}
}

func TestDecideConcurrent(t *testing.T) {
	s := MustDefault()
	done := make(chan Decision)
	for i := range 8 {
		go func() {
			var d Decision
			for range 200 {
				d = s.Decide(Request{Principal: alice, Resource: account("111111111111", orgRoot, ouDev), Action: "ReadOnly", DurationSeconds: int64(3000 + i), Time: monday10})
			}
			done <- d
		}()
	}
	for range 8 {
		if d := <-done; d.Mode != ModeAuto || !strings.HasPrefix(d.Notices[0], "Read-only") {
			t.Errorf("concurrent Decide = %+v", d)
		}
	}
}

func TestDecideDefaultExtension(t *testing.T) {
	const autoNotice = "A first extension of read-only access, up to its original duration, is approved automatically."
	const requireNotice = "This request needs an approver."
	acct := account("111111111111", orgRoot, ouDev)
	tests := []struct {
		name      string
		principal User
		grantee   string
		resource  Resource
		action    string
		duration  int64
		ext       Extension
		want      want
	}{
		{"first read-only extension within the original duration", bob, "", acct, "ReadOnly", 7200,
			Extension{RemainingSeconds: 600, OriginalDurationSeconds: 7200},
			want{allowed: true, mode: ModeAuto, determining: []string{"auto-approve-first-readonly-extension"}, notices: []string{autoNotice}}},
		{"first read extension of a bucket", bob, "", bucket("logs", "111111111111", orgRoot), "read", 1800,
			Extension{RemainingSeconds: 60, OriginalDurationSeconds: 1800},
			want{allowed: true, mode: ModeAuto, determining: []string{"auto-approve-first-readonly-extension"}, notices: []string{autoNotice}}},
		{"longer than the original duration", bob, "", acct, "ReadOnly", 7201,
			Extension{RemainingSeconds: 600, OriginalDurationSeconds: 7200},
			want{allowed: true, mode: ModeRequire, approvals: 1, determining: []string{"require-approval"}, notices: []string{requireNotice}}},
		{"second extension", bob, "", acct, "ReadOnly", 7200,
			Extension{RemainingSeconds: 600, Extensions: 1, OriginalDurationSeconds: 7200},
			want{allowed: true, mode: ModeRequire, approvals: 1, determining: []string{"require-approval"}, notices: []string{requireNotice}}},
		{"second short extension, as a new request would be", bob, "", acct, "ReadOnly", 3600,
			Extension{RemainingSeconds: 600, Extensions: 1, OriginalDurationSeconds: 3600},
			want{allowed: true, mode: ModeAuto, determining: []string{"auto-approve-short-readonly"}, notices: []string{"Read-only access to an account for up to 1 hour is approved automatically."}}},
		{"admin extension", bob, "", acct, "Admin", 600,
			Extension{RemainingSeconds: 600, OriginalDurationSeconds: 3600},
			want{allowed: true, mode: ModeRequire, approvals: 1, determining: []string{"require-approval"}, notices: []string{requireNotice}}},
		{"delegated first extension", alice, "bob", acct, "ReadOnly", 7200,
			Extension{RemainingSeconds: 600, OriginalDurationSeconds: 7200},
			want{allowed: true, mode: ModeRequire, approvals: 1, determining: []string{"require-approval"}, notices: []string{requireNotice}}},
		{"past the maximum duration", bob, "", acct, "ReadOnly", 43201,
			Extension{RemainingSeconds: 600, OriginalDurationSeconds: 43200},
			want{determining: []string{"maximum-duration"}, notices: []string{"The maximum duration is 43200 seconds (12 hours)."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ext := tt.ext
			got := MustDefault().Decide(Request{
				Principal: tt.principal, Resource: tt.resource, Action: tt.action, DurationSeconds: tt.duration,
				Justification: "more time", Grantee: tt.grantee, Time: monday10, Extension: &ext,
			})
			checkDecision(t, got, tt.want)
		})
	}
}
