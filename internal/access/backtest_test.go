package access_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/policy"
)

// backtestFixture records what the default policies decided for a day's
// requests of tenant A: an auto-approved read-only request and its first
// extension, one that needed an approver, an on-call engineer's break-glass
// (allowed through her group) and another's (denied).
func backtestFixture(t *testing.T) (*fixture, map[string]access.Request) {
	t.Helper()
	f := withTenant(t)
	rs := map[string]access.Request{}
	g := f.activeGrant(alice, readOnly(acct1))
	rs["readonly"] = f.request(tenantA, g.RequestID)
	f.clock.Advance(10 * time.Minute)
	rs["extension"] = must(f.svc.ExtendGrant(f.ctx, alice, g.ID, access.ExtendGrantInput{DurationSeconds: 1800, Justification: "INC-1: still digging"}, nil))(t)
	f.clock.Advance(time.Minute)
	rs["admin"] = must(f.svc.CreateRequest(f.ctx, bob, adminAccess(acct2), nil))(t)
	f.clock.Advance(time.Minute)
	bg := readOnly(acct3)
	bg.BreakGlass, bg.Action = true, "Admin"
	rs["break-glass"] = must(f.svc.CreateRequest(f.ctx, alice, bg, nil))(t)
	f.clock.Advance(time.Minute)
	if _, err := f.svc.CreateRequest(f.ctx, bob, bg, nil); err == nil {
		t.Fatal("bob, who is not on call, broke glass")
	}
	for name, want := range map[string]access.ApprovalMode{"readonly": access.ModeAuto, "extension": access.ModeAuto, "admin": access.ModeRequire, "break-glass": access.ModeBreakGlass} {
		if got := rs[name].ApprovalMode; got != want {
			t.Fatalf("%s was decided %q, want %q", name, got, want)
		}
	}
	f.clock.Advance(time.Hour)
	return f, rs
}

func TestBacktestReplaysWhatThePoliciesSaw(t *testing.T) {
	f, rs := backtestFixture(t)
	noAutoReadOnly := strings.Replace(policy.DefaultText, `@id("auto-approve-short-readonly")
@approval("auto")`, `@id("auto-approve-short-readonly")
@approval("require")`, 1)
	forbidWorkload := policy.DefaultText + `
@id("freeze-workload")
@notice("The workload OU is frozen.")
forbid (principal, action in Elevate::Action::"access", resource in Elevate::OrganizationalUnit::"` + ouWork + `");`
	noOncall := strings.Replace(policy.DefaultText, `principal in Elevate::Group::"oncall"`, `principal in Elevate::Group::"sre"`, 1)
	for _, tc := range []struct {
		name    string
		draft   string
		summary map[string]int
		changed []string
	}{
		// The policies in force decide every request as they did: the
		// groups, the organization, the time and the extension's grant are
		// what they were.
		{"the same policies", policy.DefaultText, map[string]int{}, nil},
		// The extension was auto-approved by the same policy too.
		{"no auto-approval of read-only", noAutoReadOnly, map[string]int{"auto→require": 2}, []string{"extension", "readonly"}},
		// The requests on accounts of the workload OU (its ancestors were
		// recorded) are denied; the security OU's break-glass is not.
		{"a frozen OU", forbidWorkload, map[string]int{"auto→deny": 2, "require→deny": 1}, []string{"admin", "extension", "readonly"}},
		// The break-glass was allowed through the requester's group then.
		{"break-glass for another group", noOncall, map[string]int{"break_glass→deny": 1}, []string{"break-glass"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bt := must(f.svc.BacktestPolicies(f.ctx, ada, access.BacktestInput{Policies: tc.draft}))(t)
			if bt.Evaluated != 5 || bt.Incomplete != 0 {
				t.Errorf("evaluated %d (%d incomplete), want 5 (0)", bt.Evaluated, bt.Incomplete)
			}
			if !maps.Equal(bt.Summary, tc.summary) || bt.Changed != len(tc.changed) {
				t.Errorf("changed %d: %v, want %v", bt.Changed, bt.Summary, tc.summary)
			}
			var got []string
			for _, c := range bt.Changes {
				for name, r := range rs {
					if r.ID == c.RequestID {
						got = append(got, name)
					}
				}
			}
			// Newest first.
			if strings.Join(got, ",") != strings.Join(tc.changed, ",") {
				t.Errorf("changes %v, want %v", got, tc.changed)
			}
		})
	}
}

func TestBacktestWindowAndLimit(t *testing.T) {
	f, rs := backtestFixture(t)
	noAutoReadOnly := strings.Replace(policy.DefaultText, `@approval("auto")`, `@approval("require")`, -1)
	// Three requests were made within the last 64 minutes; the first two
	// (the read-only and its extension) before.
	since := rs["admin"].CreatedAt
	bt := must(f.svc.BacktestPolicies(f.ctx, ada, access.BacktestInput{Policies: noAutoReadOnly, Since: since}))(t)
	if bt.Evaluated != 3 || bt.Changed != 0 {
		t.Errorf("since the admin request: evaluated %d, changed %d; want 3, 0", bt.Evaluated, bt.Changed)
	}
	bt = must(f.svc.BacktestPolicies(f.ctx, ada, access.BacktestInput{Policies: noAutoReadOnly, Limit: 4}))(t)
	if bt.Evaluated != 4 || bt.Changed != 1 || bt.Changes[0].RequestID != rs["extension"].ID {
		t.Errorf("the 4 newest: evaluated %d, changed %v; want 4 and the extension", bt.Evaluated, bt.Changes)
	}
	// Requests made after the window's end are left out.
	bt = must(f.svc.BacktestPolicies(f.ctx, ada, access.BacktestInput{Policies: noAutoReadOnly, Until: rs["admin"].CreatedAt}))(t)
	if bt.Evaluated != 2 || bt.Changed != 2 {
		t.Errorf("until the admin request: evaluated %d, changed %d; want 2, 2", bt.Evaluated, bt.Changed)
	}
	// Older than the default 30 days: nothing.
	f.clock.Advance(31 * 24 * time.Hour)
	bt = must(f.svc.BacktestPolicies(f.ctx, ada, access.BacktestInput{Policies: noAutoReadOnly}))(t)
	if bt.Evaluated != 0 {
		t.Errorf("31 days later: evaluated %d, want 0", bt.Evaluated)
	}
}

// TestBacktestWithoutRecordedContext: a request recorded before Elevate kept
// its decision context is replayed without it, and its change says so.
func TestBacktestWithoutRecordedContext(t *testing.T) {
	f, rs := backtestFixture(t)
	r := f.request(tenantA, rs["break-glass"].ID)
	r.Context = nil
	r.Revision++
	if err := f.store.Commit(f.ctx, access.Change{Requests: []access.Request{r}}); err != nil {
		t.Fatal(err)
	}
	bt := must(f.svc.BacktestPolicies(f.ctx, ada, access.BacktestInput{Policies: policy.DefaultText}))(t)
	if bt.Incomplete != 1 || bt.Changed != 1 || bt.Summary["break_glass→deny"] != 1 {
		t.Fatalf("incomplete %d, changes %v; want the break-glass, replayed without alice's on-call group", bt.Incomplete, bt.Summary)
	}
	if n := bt.Changes[0].Notices; len(n) == 0 || n[len(n)-1] != access.NoticeIncompleteContext {
		t.Errorf("notices %q, want the incomplete-context notice last", n)
	}
}

func TestBacktestRefusals(t *testing.T) {
	f, _ := backtestFixture(t)
	wantCode(t, must2(f.svc.BacktestPolicies(f.ctx, carol, access.BacktestInput{Policies: policy.DefaultText})), access.CodeForbidden)
	e := wantCode(t, must2(f.svc.BacktestPolicies(f.ctx, ada, access.BacktestInput{Policies: "permit (principal, action, resource) when { context.nope };"})), access.CodeValidationFailed)
	if _, ok := e.Details["policies"]; !ok {
		t.Errorf("details %v do not name the policies' problems", e.Details)
	}
	wantFields(t, must2(f.svc.BacktestPolicies(f.ctx, ada, access.BacktestInput{})), "policies")
	wantFields(t, must2(f.svc.BacktestPolicies(f.ctx, ada, access.BacktestInput{Policies: policy.DefaultText, Since: f.clock.Now().Add(time.Hour)})), "since")
	wantFields(t, must2(f.svc.BacktestPolicies(f.ctx, ada, access.BacktestInput{Policies: policy.DefaultText, Limit: -1})), "limit")
	wantFields(t, must2(f.svc.BacktestPolicies(f.ctx, ada, access.BacktestInput{Policies: strings.Repeat(" ", access.MaxPolicyBytes+1)})), "policies")
}

// must2 keeps a call's error.
func must2[T any](_ T, err error) error { return err }

// BenchmarkBacktest replays 10,000 recorded requests under a draft of 100
// policies (make bench; the target is under 1 s an operation).
func BenchmarkBacktest(b *testing.B) {
	f := withTenant(b)
	const n = 10000
	c := access.Change{}
	actions := []string{"ReadOnly", "Admin", "DataAccess"}
	for i := range n {
		r := access.Request{
			ID: fmt.Sprintf("0195e1c2-0000-7000-8000-%012d", i), TenantID: tenantA, RequesterID: "alice", RequesterKind: access.PrincipalUser, GranteeID: "alice",
			Resource: access.Resource{Type: access.ResourceAccount, ID: []string{acct1, acct2, acct3}[i%3]}, Action: actions[i%3],
			Justification: "INC-1: look at the logs", DurationSeconds: int64(600 + i%7200), Status: access.RequestApproved, ApprovalMode: access.ModeAuto,
			Context:  &access.DecisionContext{Groups: []string{"engineering", "oncall"}, Ancestors: demoOrganization[[]string{acct1, acct2, acct3}[i%3]]},
			Revision: 1, CreatedAt: t0.Add(time.Duration(i) * time.Second), UpdatedAt: t0.Add(time.Duration(i) * time.Second),
		}
		c.Requests = append(c.Requests, r)
	}
	if err := f.store.Commit(f.ctx, c); err != nil {
		b.Fatal(err)
	}
	f.clock.Advance(n * time.Second)
	var draft strings.Builder
	draft.WriteString(policy.DefaultText)
	for i := range 100 - 9 {
		fmt.Fprintf(&draft, "\n@id(\"bench-%d\")\n@approval(\"require\")\n@approvals(\"%d\")\npermit (principal in Elevate::Group::\"team-%d\", action == Elevate::Action::\"request\", resource) when { context.duration_seconds <= %d && context.action == \"%s\" };\n",
			i, 1+i%3, i, 600+i*60, actions[i%3])
	}
	in := access.BacktestInput{Policies: draft.String(), Since: t0}
	b.ResetTimer()
	for b.Loop() {
		bt, err := f.svc.BacktestPolicies(f.ctx, ada, in)
		if err != nil || bt.Evaluated != n {
			b.Fatalf("evaluated %d: %v", bt.Evaluated, err)
		}
	}
}
