package policy

import (
	"errors"
	"strings"
	"testing"
)

// TestSyntaxErrors pins the sentence each kind of Cedar syntax error gets:
// the token at fault, its position, and what was expected instead.
func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name         string
		text         string
		id           string
		line, column int
		message      string
	}{
		{
			name: "scope not closed",
			text: "@id(\"a\")\n\npermit (\n  principal,\n  action,\n  resource\nwhen { true };",
			id:   "a", line: 7, column: 1,
			message: "expected `)` to close the scope that opens at line 3, but found `when` at line 7, column 1",
		},
		{
			name: "text ends inside the scope",
			text: "@id(\"a\")\npermit (principal, action, resource\n",
			id:   "a", line: 3, column: 1,
			message: "expected `)` to close the scope that opens at line 2, but the text ends at line 3, column 1",
		},
		{
			name: "condition not closed",
			text: "@id(\"a\")\npermit (principal, action, resource)\nwhen {\n  context.action == \"x\"\n  when { true };",
			id:   "a", line: 5, column: 3,
			message: "expected `}` to close the `when` condition that opens at line 3, column 6, but found `when` at line 5, column 3",
		},
		{
			name: "parenthesis not closed",
			text: `@id("a") permit (principal, action, resource) when { (true };`,
			id:   "a", line: 1, column: 60,
			message: "expected `)` to close the parenthesis that opens at line 1, column 54, but found `}` at line 1, column 60",
		},
		{
			name: "missing semicolon",
			text: "@id(\"a\")\npermit (principal, action, resource)\n\n@id(\"b\")\nforbid (principal, action, resource);",
			id:   "a", line: 4, column: 1,
			message: "expected `;` to end the policy that starts at line 1, but found `@` at line 4, column 1",
		},
		{
			name: "a value is missing",
			text: "@id(\"a\")\npermit (principal, action, resource)\nwhen { context.duration_seconds < };",
			id:   "a", line: 3, column: 35,
			message: "expected a value after `<`, but found `}` at line 3, column 35",
		},
		{
			name: "an unknown name",
			text: "@id(\"a\")\npermit (principal, action, resource)\nwhen { user.groups.contains(\"x\") };",
			id:   "a", line: 3, column: 8,
			message: "`user` at line 3, column 8 is not a value: write `principal`, `action`, `resource`, `context`, a literal, or an entity such as Elevate::User::\"alice\"",
		},
		{
			name: "single equals",
			text: `@id("a") permit (principal, action, resource) when { context.action = "x" };`,
			id:   "a", line: 1, column: 69,
			message: "expected `}` to close the `when` condition that opens at line 1, column 52, but found `=` at line 1, column 69 (compare with `==`)",
		},
		{
			name: "not an effect",
			text: "@id(\"a\")\nallow (principal, action, resource);",
			id:   "a", line: 2, column: 1,
			message: "expected `permit` or `forbid` to start a policy, but found `allow` at line 2, column 1",
		},
		{
			name: "scope out of order",
			text: `@id("a") permit (action, principal, resource);`,
			id:   "a", line: 1, column: 18,
			message: "expected `principal`, but found `action` at line 1, column 18: the scope names principal, action and resource in that order",
		},
		{
			name: "entity without an id",
			text: `@id("a") permit (principal == Elevate::User, action, resource);`,
			id:   "a", line: 1, column: 44,
			message: "expected `::` after `User`, but found `,` at line 1, column 44: an entity is written Type::\"id\", such as Elevate::User::\"alice\"",
		},
		{
			name: "unquoted annotation value",
			text: "@id(a)\npermit (principal, action, resource);",
			line: 1, column: 5,
			message: "the value of `@id` must be a string in double quotes, such as @id(\"my-policy\"), but found `a` at line 1, column 5",
		},
		{
			name: "annotation given twice",
			text: `@id("a") @id("b") permit (principal, action, resource);`,
			id:   "a", line: 1, column: 11,
			message: "the annotation `@id` appears twice on one policy (again at line 1, column 11)",
		},
		{
			name: "list without commas",
			text: `@id("a") permit (principal, action in [Elevate::Action::"request" Elevate::Action::"approve"], resource);`,
			id:   "a", line: 1, column: 67,
			message: "expected `,` or `]` in the list that opens at line 1, column 39, but found `Elevate` at line 1, column 67",
		},
		{
			name: "if without else",
			text: `@id("a") permit (principal, action, resource) when { if context.delegated then false };`,
			id:   "a", line: 1, column: 86,
			message: "expected `else`, but found `}` at line 1, column 86: an `if` needs both `then` and `else`",
		},
		{
			name: "unknown method",
			text: `@id("a") permit (principal, action, resource) when { principal.groups.includes("x") };`,
			id:   "a", line: 1, column: 71,
			message: "unknown method `includes` at line 1, column 71",
		},
		{
			name: "unknown function",
			text: `@id("a") permit (principal, action, resource) when { lower(context.action) == "x" };`,
			id:   "a", line: 1, column: 54,
			message: "unknown function `lower` at line 1, column 54",
		},
		{
			name: "duplicate record key",
			text: `@id("a") permit (principal, action, resource) when { {a: 1, a: 2} == {} };`,
			id:   "a", line: 1, column: 61,
			message: "the record has the key `a` twice (again at line 1, column 61)",
		},
		{
			name: "bad escape",
			text: "@id(\"a\")\npermit (principal, action, resource)\nwhen { context.action == \"C:\\Users\" };",
			id:   "a", line: 3, column: 29,
			message: "invalid escape `\\U` in the string at line 3, column 29: use \\n, \\r, \\t, \\\\, \\0, \\', \\\", \\xHH or \\u{HHHH}",
		},
		{
			name: "escape beyond Unicode",
			text: "@id(\"a\")\npermit (principal, action, resource)\nwhen { context.action == \"\\u{110000}\" };",
			id:   "a", line: 3, column: 26,
			message: "the escape `\\u{110000}` in the string at line 3, column 26 is not a character: \\x takes 00 to 7f, \\u{…} a Unicode scalar value, and only a `like` pattern may escape `*`",
		},
		{
			name: "number out of range",
			text: "@id(\"a\")\npermit (principal, action, resource)\nwhen { context.duration_seconds < 99999999999999999999 };",
			id:   "a", line: 3, column: 35,
			message: "the number `99999999999999999999` at line 3, column 35 is out of range: a Long is from -9223372036854775808 to 9223372036854775807",
		},
		{
			name: "comment not closed",
			text: "@id(\"a\")\n/* draft\npermit (principal, action, resource);",
			id:   "a", line: 2, column: 1,
			message: "the comment that opens at line 2, column 1 is never closed with `*/`",
		},
		{
			name: "NUL character",
			text: "@id(\"a\")\npermit (principal, action, resource);\x00",
			line: 2, column: 38,
			message: "the text contains a NUL character at line 2, column 38",
		},
		{
			name: "nesting too deep",
			text: `@id("a") permit (principal, action, resource) when { ` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + ` == [] };`,
			id:   "a", line: 1, column: 117,
			message: "brackets nest more than 64 deep at line 1, column 117; write the condition with less nesting",
		},
		{
			name: "too many unary operators",
			text: `@id("a") permit (principal, action, resource) when { !!-!!context.delegated };`,
			id:   "a", line: 1, column: 58,
			message: "more than 4 `!` or `-` in a row at line 1, column 58; Cedar allows at most 4",
		},
		{
			name: "columns count characters, not bytes",
			text: "@id(\"é\") permit (principal, action, resource) when { ünknown };",
			id:   "é", line: 1, column: 54,
			message: "expected a value after `{`, but found `ü` at line 1, column 54",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.cedar", []byte(tc.text))
			var pe *ParseError
			if !errors.As(err, &pe) || len(pe.Problems) != 1 {
				t.Fatalf("Parse = %v, want one problem", err)
			}
			p := pe.Problems[0]
			if p.PolicyID != tc.id || p.Line != tc.line || p.Column != tc.column || p.Message != tc.message {
				t.Errorf("problem = %+v\nwant id %q at %d:%d: %s", p, tc.id, tc.line, tc.column, tc.message)
			}
			checkSentence(t, p)
		})
	}
}

// checkSentence fails if a problem shows cedar-go's parser internals.
func checkSentence(t testing.TB, p Problem) {
	t.Helper()
	for _, internal := range []string{"<input>", "exact got", "invalid primary", "parse error", "parser error", "strconv.", "expected ident", "unexpected effect", "bad unicode", "bad char", "bad hex"} {
		if strings.Contains(p.Message, internal) {
			t.Errorf("message %q shows parser internals (%q)", p.Message, internal)
		}
	}
	if p.Message == "" {
		t.Error("empty message")
	}
}
