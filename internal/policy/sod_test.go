package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestSoDConflictTurnsAutoIntoRequire(t *testing.T) {
	set, err := Parse("sod.cedar", []byte(sodEasy("")))
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Principal: alice, Resource: account("111111111111"), Action: "ReadOnly", DurationSeconds: 600, Time: monday10}

	// No active grants: auto, no conflicts.
	d := set.Decide(req)
	if !d.Allowed || d.Mode != ModeAuto || len(d.Conflicts) != 0 {
		t.Fatalf("without grants: %+v", d)
	}
	// An unrelated grant: still auto.
	req.ActiveGrants = []ActiveGrant{{ID: "g-other", ResourceType: "aws_account", ResourceID: "333333333333", AccountID: "333333333333", Action: "ReadOnly"}}
	if d := set.Decide(req); d.Mode != ModeAuto || len(d.Conflicts) != 0 {
		t.Fatalf("unrelated grant: %+v", d)
	}
	// A grant in the audit account conflicts: require, and the conflict
	// names that grant only.
	req.ActiveGrants = append(req.ActiveGrants, ActiveGrant{ID: "g-audit", ResourceType: "aws_s3_bucket", ResourceID: "logs", AccountID: "222222222222", Action: "read"})
	d = set.Decide(req)
	if !d.Allowed || d.Mode != ModeRequire || d.Approvals != 1 {
		t.Fatalf("conflict: %+v", d)
	}
	if len(d.Conflicts) != 1 || d.Conflicts[0].PolicyID != "payments-vs-audit" || d.Conflicts[0].Name != "payments-vs-audit" || d.Conflicts[0].Deny ||
		!slices.Equal(d.Conflicts[0].GrantIDs, []string{"g-audit"}) {
		t.Fatalf("conflicts = %+v", d.Conflicts)
	}
	if !slices.ContainsFunc(d.Notices, func(n string) bool { return strings.Contains(n, "Separation of duties") }) {
		t.Errorf("notices = %q", d.Notices)
	}
	// Break-glass stays break-glass but carries the conflict.
	bg := req
	bg.BreakGlass = true
	if d := set.Decide(bg); d.Mode != ModeBreakGlass || len(d.Conflicts) != 1 {
		t.Fatalf("break-glass: %+v", d)
	}
	// Another account is not covered by the policy.
	other := req
	other.Resource = account("444444444444")
	if d := set.Decide(other); d.Mode != ModeAuto || len(d.Conflicts) != 0 {
		t.Fatalf("other account: %+v", d)
	}
}

func TestSoDEnforceDeny(t *testing.T) {
	set, err := Parse("sod.cedar", []byte(sodEasy(`@sod_enforce("deny")`)))
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Principal: alice, Resource: account("111111111111"), Action: "ReadOnly", DurationSeconds: 600, Time: monday10,
		ActiveGrants: []ActiveGrant{{ID: "g-audit", ResourceType: "aws_account", ResourceID: "222222222222", AccountID: "222222222222", Action: "ReadOnly"}}}
	d := set.Decide(req)
	if d.Allowed || len(d.Conflicts) != 1 || !d.Conflicts[0].Deny || len(d.Determining) != 1 || d.Determining[0].ID != "payments-vs-audit" {
		t.Fatalf("deny: %+v", d)
	}
	if len(d.Notices) != 1 || !strings.Contains(d.Notices[0], "denied") {
		t.Errorf("notices = %q", d.Notices)
	}
}

func TestSoDAnnotationsChecked(t *testing.T) {
	for name, text := range map[string]string{
		"on a permit":       `@id("p") @sod("x") permit (principal, action == Elevate::Action::"request", resource);`,
		"empty name":        `@id("p") @sod(" ") forbid (principal, action == Elevate::Action::"request", resource);`,
		"on approvals":      `@id("p") @sod("x") forbid (principal, action, resource);`,
		"enforce without":   `@id("p") @sod_enforce("deny") forbid (principal, action == Elevate::Action::"request", resource);`,
		"enforce bad value": `@id("p") @sod("x") @sod_enforce("maybe") forbid (principal, action == Elevate::Action::"request", resource);`,
	} {
		if _, err := Parse("bad.cedar", []byte(text)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// sodEasy is a policy set whose SoD rule says: no access to the payments
// account (111111111111) while holding anything in the audit account
// (222222222222).
func sodEasy(enforce string) string {
	return `
@id("auto-readonly")
@approval("auto")
permit (principal, action == Elevate::Action::"request", resource)
when { context.action == "ReadOnly" };

@id("break-glass")
permit (principal, action == Elevate::Action::"break_glass", resource);

@id("payments-vs-audit")
@sod("payments-vs-audit")
` + enforce + `
forbid (principal, action in Elevate::Action::"access", resource == Elevate::Account::"111111111111")
when { context.active_grants.accounts.contains("222222222222") };
`
}
