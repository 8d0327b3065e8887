package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseDefault(t *testing.T) {
	s, err := Parse("default.cedar", []byte(DefaultText))
	if err != nil {
		t.Fatalf("default set: %v", err)
	}
	want := []string{
		"auto-approve-short-readonly", "auto-approve-first-readonly-extension", "require-approval", "maximum-duration",
		"break-glass-oncall", "break-glass-maximum-duration", "break-glass-suspended", "no-delegated-break-glass",
		"approvers-may-approve", "no-self-approval",
	}
	if got := s.IDs(); !slices.Equal(got, want) {
		t.Errorf("IDs = %q, want %q", got, want)
	}
	if s.Len() != len(want) {
		t.Errorf("Len = %d, want %d", s.Len(), len(want))
	}
	if first, again := MustDefault(), MustDefault(); first != again {
		t.Error("MustDefault parses more than once")
	}
}

// TestParseProblems runs every problem through Parse and Load: Load finds
// the same ones except those only the schema finds (load says which remain).
func TestParseProblems(t *testing.T) {
	type problem struct {
		id       string
		line     int
		column   int
		contains string
	}
	// loadAccepts is the load of a case whose problems are all the schema's.
	loadAccepts := []problem{}
	tests := []struct {
		name string
		text string
		want []problem
		// load is what Load reports when it differs from want: nil means
		// the same problems, loadAccepts none.
		load []problem
	}{
		{
			name: "missing @id",
			text: "@id(\"a\")\npermit (principal, action, resource);\n\npermit (principal, action, resource);\n",
			want: []problem{{"", 4, 1, `no @id("…") annotation`}},
		},
		{
			name: "empty @id",
			text: `@id("") permit (principal, action, resource);`,
			want: []problem{{"", 1, 1, "@id must not be empty"}},
		},
		{
			name: "duplicate @id",
			text: "@id(\"a\")\npermit (principal, action, resource);\n  @id(\"a\")\n  forbid (principal, action, resource);\n",
			want: []problem{{"a", 3, 3, `duplicate @id "a": the policy at line 1 already uses it`}},
		},
		{
			name: "bad @approval",
			text: `@id("a") @approval("manual") permit (principal, action, resource);`,
			want: []problem{{"a", 1, 1, `@approval must be "auto" or "require", not "manual"`}},
		},
		{
			name: "@approval on a forbid",
			text: `@id("a") @approval("auto") forbid (principal, action, resource);`,
			want: []problem{{"a", 1, 1, "@approval only applies to permit policies"}},
		},
		{
			name: "@approvals zero",
			text: `@id("a") @approvals("0") permit (principal, action, resource);`,
			want: []problem{{"a", 1, 1, `@approvals must be a whole number from 1 to 10, not "0"`}},
		},
		{
			name: "@approvals eleven",
			text: `@id("a") @approvals("11") permit (principal, action, resource);`,
			want: []problem{{"a", 1, 1, `not "11"`}},
		},
		{
			name: "@approvals with a sign",
			text: `@id("a") @approvals("+2") permit (principal, action, resource);`,
			want: []problem{{"a", 1, 1, `not "+2"`}},
		},
		{
			name: "@approvals in words",
			text: `@id("a") @approvals("two") permit (principal, action, resource);`,
			want: []problem{{"a", 1, 1, `not "two"`}},
		},
		{
			name: "@approvals on a forbid",
			text: `@id("a") @approvals("2") forbid (principal, action, resource);`,
			want: []problem{{"a", 1, 1, "@approvals only applies to permit policies"}},
		},
		{
			name: "empty @notice",
			text: `@id("a") @notice(" ") forbid (principal, action, resource);`,
			want: []problem{{"a", 1, 1, "@notice must not be empty"}},
		},
		{
			name: "@notice too long",
			text: `@id("a") @notice("` + strings.Repeat("é", 501) + `") forbid (principal, action, resource);`,
			want: []problem{{"a", 1, 1, "@notice is 501 characters long; the limit is 500"}},
		},
		{
			name: "unknown context attribute",
			text: "// a comment\n@id(\"typo\")\npermit (principal, action == Elevate::Action::\"request\", resource)\nwhen { context.nonexistent == 1 };\n",
			want: []problem{{"typo", 2, 1, "attribute `nonexistent` in context for Elevate::Action::\"request\" not found"}},
			load: loadAccepts,
		},
		{
			name: "comparing a Long to a String",
			text: "\n\n@id(\"types\")\npermit (principal, action == Elevate::Action::\"request\", resource)\nwhen { context.duration_seconds == \"3600\" };\n",
			want: []problem{{"types", 3, 1, "the types Long and String are not compatible"}},
			load: loadAccepts,
		},
		{
			name: "request context read without naming the action",
			text: `@id("any-action") permit (principal, action, resource) when { context.duration_seconds < 60 };`,
			want: []problem{{"any-action", 1, 1, "attribute `duration_seconds` in context for Elevate::Action::\"approve\" not found"}},
			load: loadAccepts,
		},
		{
			name: "unknown entity type",
			text: `@id("a") permit (principal in Elevate::Team::"x", action, resource);`,
			want: []problem{{"a", 1, 1, "unrecognized entity type `Elevate::Team`"}},
			// A name the schema lacks would make the policy stop matching
			// silently, so Load refuses it too (schema growth only adds names).
			load: []problem{{"a", 1, 1, "the policy names the entity type Elevate::Team, which Elevate's schema does not have"}},
		},
		{
			name: "unknown action",
			text: `@id("a") permit (principal, action == Elevate::Action::"delete", resource);`,
			want: []problem{{"a", 1, 1, "unrecognized action `Elevate::Action::\"delete\"`"}},
			load: []problem{{"a", 1, 1, "the policy names the action Elevate::Action::\"delete\", which Elevate's schema does not have"}},
		},
		{
			name: "unknown entity type in a condition",
			text: `@id("a") forbid (principal, action, resource) when { resource is Elevate::Bucket || principal in [Elevate::Team::"x"] };`,
			want: []problem{{"a", 1, 1, "unrecognized entity type `Elevate::Team`"}},
			load: []problem{{"a", 1, 1, "the policy names the entity type Elevate::Bucket, which Elevate's schema does not have"},
				{"a", 1, 1, "the policy names the entity type Elevate::Team, which Elevate's schema does not have"}},
		},
		{
			name: "scope no action applies to",
			text: `@id("a") permit (principal, action == Elevate::Action::"approve", resource is Elevate::Account);`,
			want: []problem{{"a", 1, 1, "unable to find an applicable action given the policy scope constraints"}},
			load: loadAccepts,
		},
		{
			name: "syntax error",
			text: "@id(\"a\")\npermit (principal, action, resource)\nwhen { context.action == };\n",
			want: []problem{{"a", 3, 26, "expected a value after `==`, but found `}` at line 3, column 26"}},
		},
		{
			name: "unterminated string",
			text: "@id(\"a\")\npermit (principal, action, resource)\n  when { context.action == \"x };\n",
			want: []problem{{"a", 3, 28, "the string that starts at line 3, column 28 is not closed"}},
		},
		{
			name: "every problem is reported",
			text: "@id(\"a\") @approval(\"sometimes\") permit (principal, action, resource);\n" +
				"permit (principal, action, resource);\n" +
				"@id(\"a\") forbid (principal, action == Elevate::Action::\"request\", resource) when { context.hour == \"9\" };\n",
			want: []problem{
				{"a", 1, 1, `@approval must be "auto" or "require"`},
				{"", 2, 1, "no @id"},
				{"a", 3, 1, "the types Long and String are not compatible"},
				{"a", 3, 1, "duplicate @id"},
			},
			load: []problem{
				{"a", 1, 1, `@approval must be "auto" or "require"`},
				{"", 2, 1, "no @id"},
				{"a", 3, 1, "duplicate @id"},
			},
		},
		{
			name: "text too large",
			text: strings.Repeat(" ", 256<<10+1),
			want: []problem{{"", 0, 0, "the policy text is 262145 bytes; the limit is 262144 bytes (256 KiB)"}},
		},
		{
			name: "bad @end_sessions",
			text: `@id("e") @end_sessions("yes") permit (principal, action == Elevate::Action::"request", resource);`,
			want: []problem{{"e", 1, 1, `@end_sessions must be "true" or "false"`}},
		},
		{
			name: "@end_sessions on a forbid",
			text: `@id("e") @end_sessions("true") forbid (principal, action == Elevate::Action::"request", resource);`,
			want: []problem{{"e", 1, 1, "@end_sessions only applies to permit policies"}},
		},
		{
			name: "@escalate_after without @escalate_to",
			text: `@id("e") @escalate_after("PT30M") permit (principal, action == Elevate::Action::"request", resource);`,
			want: []problem{{"e", 1, 1, "@escalate_after and @escalate_to go together"}},
		},
		{
			name: "bad @escalate_after",
			text: `@id("e") @escalate_after("30 minutes") @escalate_to("leads") permit (principal, action == Elevate::Action::"request", resource);`,
			want: []problem{{"e", 1, 1, "@escalate_after must be an ISO 8601 duration"}},
		},
		{
			name: "@escalate_after out of range",
			text: `@id("e") @escalate_after("PT30S") @escalate_to("leads") permit (principal, action == Elevate::Action::"request", resource);`,
			want: []problem{{"e", 1, 1, "@escalate_after must be between PT1M and P7D"}},
		},
		{
			name: "@escalate_to on a forbid",
			text: `@id("e") @escalate_after("PT30M") @escalate_to("leads") forbid (principal, action == Elevate::Action::"request", resource);`,
			want: []problem{{"e", 1, 1, "only apply to permit policies"}},
		},
		{
			name: "too many policies",
			text: manyPolicies(2001),
			want: []problem{{"", 0, 0, "the policy text has 2001 policies; the limit is 2000"}},
		},
	}
	for _, tc := range tests {
		load := tc.load
		if load == nil {
			load = tc.want
		}
		for _, f := range []struct {
			name  string
			parse func(string, []byte) (*Set, error)
			want  []problem
		}{
			{"Parse", Parse, tc.want},
			{"Load", Load, load},
		} {
			t.Run(tc.name+"/"+f.name, func(t *testing.T) {
				s, err := f.parse("test.cedar", []byte(tc.text))
				if len(f.want) == 0 {
					if err != nil || s == nil {
						t.Fatalf("%s = %v, %v; want a set", f.name, s, err)
					}
					return
				}
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("%s = %v, %v; want a *ParseError", f.name, s, err)
				}
				if s != nil {
					t.Errorf("%s returned a set with its error", f.name)
				}
				if len(pe.Problems) != len(f.want) {
					t.Fatalf("got %d problems, want %d: %v", len(pe.Problems), len(f.want), err)
				}
				for i, w := range f.want {
					p := pe.Problems[i]
					if p.PolicyID != w.id || p.Line != w.line || p.Column != w.column || !strings.Contains(p.Message, w.contains) {
						t.Errorf("problem %d = %+v, want id %q at %d:%d containing %q", i, p, w.id, w.line, w.column, w.contains)
					}
				}
				if msg := err.Error(); !strings.Contains(msg, f.want[0].contains) {
					t.Errorf("Error() = %q does not mention %q", msg, f.want[0].contains)
				}
			})
		}
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		text string
		ids  []string
	}{
		{"empty text", "", nil},
		{"only comments", "// nothing yet\n", nil},
		{"bare annotation values are allowed for other keys", `@id("a") @reviewed permit (principal, action, resource);`, []string{"a"}},
		{"@approvals at the limit", `@id("a") @approvals("10") permit (principal, action, resource);`, []string{"a"}},
		{"@notice at the limit", `@id("a") @notice("` + strings.Repeat("x", 500) + `") forbid (principal, action, resource);`, []string{"a"}},
		{"2000 policies", manyPolicies(2000), nil},
		{"brackets 64 deep", `@id("a") permit (principal, action, resource) when { ` + strings.Repeat("[", 63) + "1" + strings.Repeat("]", 63) + `.isEmpty() || true };`, nil},
		{"four unary operators", `@id("a") permit (principal, action == Elevate::Action::"request", resource) when { !!!!context.delegated && 1 - -1 == - - 2 };`, nil},

		{"text order is kept", `@id("z") permit (principal, action, resource); @id("a") forbid (principal, action, resource) when { false };`, []string{"z", "a"}},
	}
	for _, tc := range tests {
		for name, parse := range map[string]func(string, []byte) (*Set, error){"Parse": Parse, "Load": Load} {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				s, err := parse("test.cedar", []byte(tc.text))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if tc.ids != nil && !slices.Equal(s.IDs(), tc.ids) {
					t.Errorf("IDs = %q, want %q", s.IDs(), tc.ids)
				}
			})
		}
	}
}

// TestLoadFailsClosed loads a stored set that the schema would reject: a
// permit reading an undeclared context attribute. Load takes it (the set was
// validated when it was stored, so only a schema change makes this happen),
// and deciding with it denies and names the policy, as any evaluation error
// does.
func TestLoadFailsClosed(t *testing.T) {
	text := `@id("ok") @approval("auto") permit (principal, action == Elevate::Action::"request", resource);
@id("stale") forbid (principal, action == Elevate::Action::"request", resource) when { context.nope == 1 };`
	if _, err := Parse("stored.cedar", []byte(text)); err == nil || !strings.Contains(err.Error(), "attribute `nope` in context") {
		t.Fatalf("Parse = %v, want the schema's problem with context.nope", err)
	}
	s, err := Load("stored.cedar", []byte(text))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	d := s.Decide(Request{Principal: alice, Resource: account("111111111111"), Action: "ReadOnly", DurationSeconds: 3600, Time: monday10})
	if d.Allowed || len(d.Errors) != 1 || d.Errors[0].PolicyID != "stale" {
		t.Fatalf("Decide = allowed %v, errors %+v; want a denial by an error of policy stale", d.Allowed, d.Errors)
	}
	if len(d.Notices) != 1 || !strings.Contains(d.Notices[0], `Policy "stale" could not be evaluated, so the request is denied`) {
		t.Errorf("notices = %q, want that policy stale could not be evaluated", d.Notices)
	}
}

// TestLoadDefault checks that Load and Parse build the same set from a valid
// text.
func TestLoadDefault(t *testing.T) {
	loaded, err := Load("default.cedar", []byte(DefaultText))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	parsed := MustDefault()
	if !slices.Equal(loaded.IDs(), parsed.IDs()) || loaded.ouChain != parsed.ouChain {
		t.Errorf("Load gives %q (ouChain %v), Parse %q (ouChain %v)", loaded.IDs(), loaded.ouChain, parsed.IDs(), parsed.ouChain)
	}
	for _, l := range []struct{ loaded, parsed policyList }{
		{loaded.request, parsed.request}, {loaded.breakGlass, parsed.breakGlass}, {loaded.approve, parsed.approve},
		{loaded.sodRequest, parsed.sodRequest}, {loaded.sodBreakGlass, parsed.sodBreakGlass},
	} {
		if !slices.Equal(l.loaded.ids(), l.parsed.ids()) {
			t.Errorf("an action's policies: Load %q, Parse %q", l.loaded.ids(), l.parsed.ids())
		}
	}
}

func (l policyList) ids() []string {
	ids := make([]string, len(l))
	for i, c := range l {
		ids[i] = c.id
	}
	return ids
}

func TestParseErrorString(t *testing.T) {
	err := &ParseError{Problems: []Problem{
		{PolicyID: "a", Line: 3, Column: 1, Message: "first"},
		{Message: "second"},
	}}
	want := `invalid policy set (2 problems): line 3, column 1: policy "a": first; second`
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestTestsDelegated(t *testing.T) {
	tests := []struct {
		cond string
		want bool
	}{
		{`context.delegated`, true},
		{`context["delegated"] == false`, true},
		{`context.action == "x" && (context.hour > 3 || !context.delegated)`, true},
		{`context.action == "delegated"`, false},
		{`resource has delegated`, false},
		{`true`, false},
	}
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			s := mustParse(t, `@id("p") permit (principal, action == Elevate::Action::"request", resource) when { `+tc.cond+` };`)
			if got := s.all[0].testsDelegated; got != tc.want {
				t.Errorf("testsDelegated = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestActionScopes(t *testing.T) {
	tests := []struct {
		scope                        string
		request, breakGlass, approve bool
	}{
		{`action`, true, true, true},
		{`action == Elevate::Action::"request"`, true, false, false},
		{`action == Elevate::Action::"break_glass"`, false, true, false},
		{`action in Elevate::Action::"access"`, true, true, false},
		{`action in [Elevate::Action::"break_glass", Elevate::Action::"approve"]`, false, true, true},
		{`action == Elevate::Action::"approve"`, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.scope, func(t *testing.T) {
			s := mustParse(t, `@id("p") permit (principal, `+tc.scope+`, resource);`)
			got := []bool{len(s.request) == 1, len(s.breakGlass) == 1, len(s.approve) == 1}
			if want := []bool{tc.request, tc.breakGlass, tc.approve}; !slices.Equal(got, want) {
				t.Errorf("in request/break_glass/approve lists = %v, want %v", got, want)
			}
		})
	}
}

func manyPolicies(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "@id(\"p%d\") permit (principal, action, resource);\n", i)
	}
	return b.String()
}

func TestParseISODuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT30M": 30 * time.Minute, "PT1H": time.Hour, "P1D": 24 * time.Hour, "P1DT2H3M4S": 26*time.Hour + 3*time.Minute + 4*time.Second, "PT90S": 90 * time.Second,
	} {
		if got, err := ParseISODuration(in); err != nil || got != want {
			t.Errorf("ParseISODuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "30M", "PT30", "P1W", "P1Y", "PT0.5H", "pt30m", "P1DT"} {
		if got, err := ParseISODuration(in); err == nil {
			t.Errorf("ParseISODuration(%q) = %v, want an error", in, got)
		}
	}
}
