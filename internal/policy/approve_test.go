package policy

import (
	"testing"
	"time"
)

func TestMayApproveDefault(t *testing.T) {
	carol := User{ID: "carol", Groups: []string{"approvers"}}
	req := RequestInfo{
		ID: "req-1", Requester: "alice", Grantee: "alice",
		Resource: account("111111111111"), Action: "Admin", DurationSeconds: 3600, Justification: "INC-1",
	}
	delegated := req
	delegated.Grantee, delegated.Delegated = "bob", true
	const selfNotice = "Nobody may approve a request they made or will receive."
	tests := []struct {
		name     string
		approver User
		req      RequestInfo
		want     want
	}{
		{
			name: "an approver may approve someone else's request", approver: carol, req: req,
			want: want{allowed: true, determining: []string{"approvers-may-approve"}},
		},
		{
			name: "nobody approves their own request", approver: alice, req: req,
			want: want{determining: []string{"no-self-approval"}, notices: []string{selfNotice}},
		},
		{
			name: "nobody approves a request they will receive", approver: bob, req: delegated,
			want: want{determining: []string{"no-self-approval"}, notices: []string{selfNotice}},
		},
		{
			name: "the requester of a delegated request may not approve it either", approver: alice, req: delegated,
			want: want{determining: []string{"no-self-approval"}, notices: []string{selfNotice}},
		},
		{
			name: "an approver may approve a delegated request", approver: carol, req: delegated,
			want: want{allowed: true, determining: []string{"approvers-may-approve"}},
		},
	}
	s := MustDefault()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := s.MayApprove(ApproveRequest{Approver: tc.approver, Request: tc.req, Time: monday10})
			checkDecision(t, d, tc.want)
		})
	}
}

func TestMayApproveCustom(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	const everyone = `@id("anyone") permit (principal, action == Elevate::Action::"approve", resource);`
	const rules = `
@id("security-approves-admin")
permit (principal in Elevate::Group::"security", action == Elevate::Action::"approve", resource)
when { resource.action == "Admin" && resource.resource_type == "aws_account" && resource.account_id == "111111111111" };

@id("leads-approve-short")
permit (principal in Elevate::Group::"leads", action == Elevate::Action::"approve", resource)
when { resource.duration_seconds <= 3600 && !resource.break_glass && !resource.delegated && resource.justification != "" };

@id("weekday-daytime")
@notice("Approvals are made on weekdays between 08:00 and 20:00 Berlin time.")
forbid (principal, action == Elevate::Action::"approve", resource)
unless { context.hour >= 8 && context.hour < 20 && context.weekday != "saturday" && context.weekday != "sunday" };
`
	const broken = `
@id("anyone") permit (principal, action == Elevate::Action::"approve", resource);
@id("overflow") forbid (principal, action == Elevate::Action::"approve", resource) when { resource.duration_seconds * 9223372036854775807 > 0 };
`
	sec := User{ID: "sam", Groups: []string{"security"}}
	lead := User{ID: "lea", Groups: []string{"leads"}}
	admin := RequestInfo{ID: "r1", Requester: "alice", Resource: account("111111111111"), Action: "Admin", DurationSeconds: 7200, Justification: "INC-7"}
	onBucket := RequestInfo{ID: "r2", Requester: "alice", Resource: bucket("logs", "111111111111"), Action: "Admin", DurationSeconds: 600, Justification: "INC-8"}
	short := RequestInfo{ID: "r3", Requester: "alice", Resource: account("111111111111"), Action: "ReadOnly", DurationSeconds: 600, Justification: "INC-9"}
	shortForBob := short
	shortForBob.Grantee = "bob"
	tuesdayNoonUTC := time.Date(2025, 3, 11, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, text string
		approver   User
		req        RequestInfo
		at         time.Time
		want       want
	}{
		{
			name: "self-approval is denied even when policies allow it", text: everyone, approver: alice, req: short,
			want: want{notices: []string{"Nobody may approve a request they made or will receive."}},
		},
		{
			name: "receiving a request counts as self-approval", text: everyone, approver: bob, req: shortForBob,
			want: want{notices: []string{"Nobody may approve a request they made or will receive."}},
		},
		{
			name: "request attributes reach the policy", text: rules, approver: sec, req: admin,
			want: want{allowed: true, determining: []string{"security-approves-admin"}},
		},
		{
			name: "account_id and resource_type of a bucket", text: rules, approver: sec, req: onBucket,
			want: want{notices: []string{"No policy permits you to approve this request."}},
		},
		{
			name: "an empty grantee means the requester, so the request is not delegated", text: rules, approver: lead, req: short,
			want: want{allowed: true, determining: []string{"leads-approve-short"}},
		},
		{
			name: "delegated requests are marked delegated", text: rules, approver: lead, req: shortForBob,
			want: want{notices: []string{"No policy permits you to approve this request."}},
		},
		{
			name: "time of day in the tenant's zone", text: rules, approver: lead, req: short, at: time.Date(2025, 3, 11, 19, 30, 0, 0, time.UTC),
			want: want{determining: []string{"weekday-daytime"}, notices: []string{"Approvals are made on weekdays between 08:00 and 20:00 Berlin time."}},
		},
		{
			name: "an evaluation error denies", text: broken, approver: lead, req: short,
			want: want{
				notices: []string{`Policy "overflow" could not be evaluated, so the request is denied: integer overflow while attempting to multiply ` + "`600` by `9223372036854775807`"},
				errors:  []string{"overflow"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := tc.at
			if at.IsZero() {
				at = tuesdayNoonUTC
			}
			d := mustParse(t, tc.text).MayApprove(ApproveRequest{Approver: tc.approver, Request: tc.req, Time: at, Location: berlin})
			checkDecision(t, d, tc.want)
		})
	}
}
