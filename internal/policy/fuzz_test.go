package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"
)

// FuzzParse feeds arbitrary text to Parse, as PUT /v1/policies does. No text
// may panic; a refused text is a *ParseError whose problems are sentences at
// positions inside the text; an accepted one decides requests and approvals
// without panicking. Load accepts what Parse accepts, as the same set, and a
// set only Load accepts (one the schema refuses) decides without panicking
// too. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add(DefaultText)
	f.Add(examples)
	f.Fuzz(func(t *testing.T, text string) {
		set, err := Parse("fuzz.cedar", []byte(text))
		loaded, lerr := Load("fuzz.cedar", []byte(text))
		if err == nil && (lerr != nil || !slices.Equal(loaded.IDs(), set.IDs())) {
			t.Fatalf("Parse accepts %q and Load = %v, %v", set.IDs(), loaded, lerr)
		}
		if lerr == nil {
			decideAll(loaded)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 || set != nil {
				t.Fatalf("Parse = %v, %v; want a *ParseError with problems and no set", set, err)
			}
			lines := strings.Count(text, "\n") + 1
			for _, p := range pe.Problems {
				if p.Message == "" || p.Line < 0 || p.Line > lines || p.Column < 0 || (p.Line == 0) != (p.Column == 0) {
					t.Fatalf("problem %+v is outside the %d lines of the text", p, lines)
				}
			}
			if _, cerr := cedar.NewPolicyListFromBytes("", []byte(text)); cerr != nil && len(text) <= maxTextBytes {
				p := pe.Problems[0]
				checkSentence(t, p)
				if p.Line == 0 || strings.HasPrefix(p.Message, "syntax error") || strings.HasPrefix(p.Message, "the policy text cannot") {
					t.Fatalf("syntax error %q (cedar-go: %v) was not explained", p, cerr)
				}
			}
			return
		}
		decideAll(set)
	})
}

// decideAll decides a request, a delegated break-glass request and an
// approval with set.
func decideAll(set *Set) {
	at := time.Date(2025, 3, 11, 9, 0, 0, 0, time.UTC)
	user := User{ID: "alice", Groups: []string{"sre", "oncall"}}
	res := Resource{Type: "aws_account", ID: "111111111111", Ancestors: []string{"r-abcd", "ou-abcd-sandbox1"}}
	set.Decide(Request{Principal: user, Resource: res, Action: "Admin", DurationSeconds: 3600, Justification: "fuzz", Time: at})
	set.Decide(Request{Principal: user, Resource: res, Action: "ReadOnly", DurationSeconds: 60, BreakGlass: true, Grantee: "bob", Delegated: true, Time: at})
	set.MayApprove(ApproveRequest{Approver: User{ID: "carol", Groups: []string{"approvers"}}, Time: at, Request: RequestInfo{
		ID: "req-1", Requester: "alice", Grantee: "alice", Resource: res, Action: "Admin", DurationSeconds: 3600,
	}})
}

// examples exercises every kind of expression the schema allows.
const examples = `@id("a") @approval("auto") @approvals("2") @notice("n")
permit (principal in Elevate::Group::"sre", action in [Elevate::Action::"request", Elevate::Action::"break_glass"], resource is Elevate::Account in Elevate::OrganizationalUnit::"ou-abcd-sandbox1")
when { context.duration_seconds <= 3600 && context.action like "Read*" && !context.delegated && (context.hour >= 9 || context.hour < 17) }
unless { if principal has groups then false else true };
@id("b") forbid (principal == Elevate::User::"mallory", action, resource) when { Elevate::OrganizationalUnit::"ou-x" in resource };
`
