package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchText returns the default set followed by n distinct, realistic policies:
// permits and forbids on groups, OUs, accounts, actions, durations and time.
func benchText(n int) string {
	actions := []string{"ReadOnly", "Admin", "PowerUser", "Billing", "read", "write", "connect", "ssm-session"}
	groups := []string{"engineering", "sre", "data", "security", "finance", "platform", "support"}
	var b strings.Builder
	b.WriteString(DefaultText)
	for i := range n {
		ou := fmt.Sprintf("ou-abcd-%08d", i%40)
		acct := fmt.Sprintf("%012d", 100000000000+i)
		group := fmt.Sprintf("%s-%d", groups[i%len(groups)], i/len(groups))
		act := actions[i%len(actions)]
		fmt.Fprintf(&b, "\n@id(\"p%d\")\n", i)
		switch i % 6 {
		case 0:
			fmt.Fprintf(&b, "permit (principal in Elevate::Group::%q, action == Elevate::Action::\"request\", resource in Elevate::OrganizationalUnit::%q)\n"+
				"when { context.action == %q && context.duration_seconds <= %d };\n", group, ou, act, 3600*(1+i%8))
		case 1:
			fmt.Fprintf(&b, "@approval(\"auto\")\n"+
				"permit (principal in Elevate::Group::%q, action == Elevate::Action::\"request\", resource is Elevate::Account in Elevate::OrganizationalUnit::%q)\n"+
				"when { context.action == \"ReadOnly\" && context.duration_seconds <= 3600 && !context.delegated };\n", group, ou)
		case 2:
			fmt.Fprintf(&b, "@notice(\"%s: no %s after hours.\")\n"+
				"forbid (principal, action in Elevate::Action::\"access\", resource in Elevate::Account::%q)\n"+
				"when { context.action == %q && (context.hour < 7 || context.hour >= 19) };\n", acct, act, acct, act)
		case 3:
			fmt.Fprintf(&b, "@approvals(\"2\")\n"+
				"permit (principal in Elevate::Group::%q, action == Elevate::Action::\"request\", resource is Elevate::S3Bucket)\n"+
				"when { [\"read\", \"write\"].contains(context.action) && resource.account == Elevate::Account::%q };\n", group, acct)
		case 4:
			fmt.Fprintf(&b, "@notice(\"%s: at most %d s.\")\n"+
				"forbid (principal in Elevate::Group::%q, action in Elevate::Action::\"access\", resource)\n"+
				"when { context.duration_seconds > %d && !(context.justification like \"*INC-*\") };\n", group, 1800*(1+i%4), group, 1800*(1+i%4))
		case 5:
			fmt.Fprintf(&b, "permit (principal in Elevate::Group::%q, action == Elevate::Action::\"approve\", resource)\n"+
				"when { resource.action == %q && resource.duration_seconds <= %d && context.weekday != \"sunday\" };\n", group, act, 3600*(1+i%12))
		}
	}
	return b.String()
}

func benchmarkDecide(b *testing.B, n int) {
	s, err := Parse("bench.cedar", []byte(benchText(n)))
	if err != nil {
		b.Fatal(err)
	}
	req := Request{
		Principal:       User{ID: "alice", Groups: []string{"engineering-0", "sre-1", "oncall"}},
		Resource:        Resource{Type: ResourceAccount, ID: "100000000013", Ancestors: []string{"r-abcd", "ou-abcd-00000003", "ou-abcd-00000013"}},
		Action:          "Admin",
		DurationSeconds: 3600,
		Justification:   "INC-4711: payment errors",
		Time:            time.Date(2025, 3, 11, 9, 30, 0, 0, time.UTC),
	}
	if d := s.Decide(req); !d.Allowed || len(d.Errors) > 0 {
		b.Fatalf("benchmark request is not allowed: %+v", d)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.Decide(req)
	}
}

func BenchmarkDecide10(b *testing.B)   { benchmarkDecide(b, 10) }
func BenchmarkDecide100(b *testing.B)  { benchmarkDecide(b, 100) }
func BenchmarkDecide1000(b *testing.B) { benchmarkDecide(b, 1000) }

func BenchmarkParse1000(b *testing.B) {
	text := []byte(benchText(1000))
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := Parse("bench.cedar", text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMayApprove100(b *testing.B) {
	s, err := Parse("bench.cedar", []byte(benchText(100)))
	if err != nil {
		b.Fatal(err)
	}
	req := ApproveRequest{
		Approver: User{ID: "carol", Groups: []string{"engineering-0", "security-3"}},
		Request: RequestInfo{ID: "req-1", Requester: "alice", Resource: Resource{Type: ResourceAccount, ID: "100000000013"},
			Action: "Admin", DurationSeconds: 3600, Justification: "INC-4711"},
		Time: time.Date(2025, 3, 11, 9, 30, 0, 0, time.UTC),
	}
	if d := s.MayApprove(req); !d.Allowed {
		b.Fatalf("benchmark approval is not allowed: %+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.MayApprove(req)
	}
}

func TestBenchText(t *testing.T) {
	// The benchmarks' policies must stay valid and distinct.
	s, err := Parse("bench.cedar", []byte(benchText(1000)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1000+MustDefault().Len() {
		t.Errorf("Len = %d", s.Len())
	}
}
