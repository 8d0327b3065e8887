package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CaseResult is the outcome of one case.
type CaseResult struct {
	Name     string
	Decision Decision
	// Problems lists each way the decision differs from what was expected.
	Problems []string
}

// Passed reports whether the case got what it expected.
func (r CaseResult) Passed() bool { return len(r.Problems) == 0 }

var defaultCaseTime = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

// ParseCases reads a case table strictly: unknown fields are errors, so a
// typo does not silently leave an expectation unchecked.
func ParseCases(b []byte) (Cases, error) {
	var c Cases
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Cases{}, fmt.Errorf("parse cases: %w", err)
	}
	if len(c.Cases) == 0 {
		return Cases{}, fmt.Errorf("parse cases: no cases")
	}
	for i, k := range c.Cases {
		if (k.Request == nil) == (k.Approve == nil) {
			return Cases{}, fmt.Errorf("case %d (%q): give exactly one of request and approve", i+1, k.Name)
		}
		if d := k.Expect.Decision; d != "allow" && d != "deny" {
			return Cases{}, fmt.Errorf("case %d (%q): expect.decision must be allow or deny", i+1, k.Name)
		}
	}
	return c, nil
}

// Run evaluates every case against the set.
func (c Cases) Run(s *Set) ([]CaseResult, error) {
	loc := time.UTC
	if c.TimeZone != "" {
		l, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("time_zone: %w", err)
		}
		loc = l
	}
	out := make([]CaseResult, 0, len(c.Cases))
	for _, k := range c.Cases {
		res := CaseResult{Name: k.Name}
		var req CaseRequest
		if k.Request != nil {
			req = *k.Request
		} else {
			req = k.Approve.Request
		}
		at := defaultCaseTime
		if req.Time != "" {
			t, err := time.Parse(time.RFC3339, req.Time)
			if err != nil {
				return nil, fmt.Errorf("case %q: time: %w", k.Name, err)
			}
			at = t
		}
		r := Resource{Type: req.Resource.Type, ID: req.Resource.ID, AccountID: req.Resource.AccountID, Region: req.Resource.Region, Ancestors: req.Resource.Ancestors}
		grantee := req.GranteeID
		if grantee == "" {
			grantee = req.Principal.ID
		}
		if k.Request != nil {
			res.Decision = s.Decide(Request{
				Principal: User{ID: req.Principal.ID, Groups: req.Principal.Groups}, BreakGlass: req.BreakGlass, Resource: r,
				Action: req.Action, DurationSeconds: req.DurationSeconds, Justification: req.Justification,
				Grantee: grantee, Delegated: grantee != req.Principal.ID, Time: at, Location: loc,
				BreakGlassSuspended: req.BreakGlassSuspended,
			})
		} else {
			res.Decision = s.MayApprove(ApproveRequest{
				Approver: User{ID: k.Approve.Approver.ID, Groups: k.Approve.Approver.Groups},
				Request: RequestInfo{ID: "case", Requester: req.Principal.ID, Grantee: grantee, Resource: r, Action: req.Action,
					DurationSeconds: req.DurationSeconds, BreakGlass: req.BreakGlass, Delegated: grantee != req.Principal.ID, Justification: req.Justification},
				Time: at, Location: loc,
			})
		}
		res.Problems = k.Expect.check(res.Decision)
		out = append(out, res)
	}
	return out, nil
}

func (e Expect) check(d Decision) []string {
	var problems []string
	got := "deny"
	if d.Allowed {
		got = "allow"
	}
	if got != e.Decision {
		problems = append(problems, fmt.Sprintf("decision is %s, want %s", got, e.Decision))
	}
	if e.ApprovalMode != "" && string(d.Mode) != e.ApprovalMode {
		problems = append(problems, fmt.Sprintf("approval mode is %q, want %q", d.Mode, e.ApprovalMode))
	}
	if e.ApprovalsRequired != 0 && d.Approvals != e.ApprovalsRequired {
		problems = append(problems, fmt.Sprintf("approvals required is %d, want %d", d.Approvals, e.ApprovalsRequired))
	}
	ids := make([]string, 0, len(d.Determining))
	for _, p := range d.Determining {
		ids = append(ids, p.ID)
	}
	for _, id := range e.Determining {
		if !slices.Contains(ids, id) {
			problems = append(problems, fmt.Sprintf("policy %q is not among the determining ones %v", id, ids))
		}
	}
	all := strings.Join(d.Notices, "\n")
	for _, n := range e.NoticesContain {
		if !strings.Contains(all, n) {
			problems = append(problems, fmt.Sprintf("no notice contains %q (notices: %q)", n, d.Notices))
		}
	}
	for _, er := range d.Errors {
		problems = append(problems, fmt.Sprintf("evaluation error in %q: %s", er.PolicyID, er.Message))
	}
	return problems
}
