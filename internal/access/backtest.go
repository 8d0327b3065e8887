package access

import (
	"context"
	"time"

	"github.com/elevate-jit/elevate/internal/policy"
)

// Backtest limits: how far back a backtest looks by default, and how many
// recorded requests it replays at most.
const (
	DefaultBacktestWindow = 30 * 24 * time.Hour
	MaxBacktestRequests   = 10000
	// backtestPage is how many requests a backtest reads from the store at once.
	backtestPage = 500
)

// NoticeIncompleteContext is the notice on a change of a request recorded
// before Elevate kept what its policies saw (Request.Context): it is
// replayed without its requester's groups and the organization above its
// resource, so the change may come from the missing context.
const NoticeIncompleteContext = "Recorded before Elevate kept the decision context: replayed without the requester's groups and the organization above the resource."

// BacktestInput asks how a draft policy set would have decided the
// tenant's recorded requests made in [Since, Until).
type BacktestInput struct {
	Policies string
	// Since is the oldest request's time; zero means DefaultBacktestWindow
	// before Until.
	Since time.Time
	// Until bounds the window (exclusive); zero means now. A paginated
	// backtest keeps the first page's, so every page replays the same requests.
	Until time.Time
	// Limit is the most requests replayed, newest first; 0 or more than
	// MaxBacktestRequests means MaxBacktestRequests.
	Limit int
}

// BacktestOutcome is a decision as a backtest compares it: denied, or allowed with
// an approval mode and the approvals it needs.
type BacktestOutcome struct {
	Allowed   bool
	Mode      ApprovalMode
	Approvals int
}

// Label is the outcome's name in a backtest summary: deny, auto, require
// or break_glass.
func (o BacktestOutcome) Label() string {
	if !o.Allowed {
		return "deny"
	}
	return string(o.Mode)
}

// BacktestChange is a recorded request the draft would have decided
// differently.
type BacktestChange struct {
	RequestID string
	CreatedAt time.Time
	Before    BacktestOutcome
	After     BacktestOutcome
	// Notices are the draft's notices for the request, and
	// NoticeIncompleteContext for one replayed without its context.
	Notices []string
}

// Backtest is what a draft policy set would have changed.
type Backtest struct {
	Since, Until time.Time
	// Evaluated is the number of requests replayed; Changed those decided
	// differently; Incomplete those replayed without their context.
	Evaluated, Changed, Incomplete int
	// Summary counts the changes by "before→after" outcome labels
	// (BacktestOutcome.Label): "auto→require", "require→deny", … A change of the
	// approvals needed only is counted as "require→require".
	Summary map[string]int
	// Changes are every change, newest request first.
	Changes []BacktestChange
}

// BacktestPolicies replays the tenant's recorded requests under a draft
// policy set (admins only): each request as its policies saw it when it was
// made (its requester's groups, the organization above its resource, the
// tenant's time zone and the time, whether it was delegated or an
// extension), compared with what was decided then. Nothing is stored.
func (s *Service) BacktestPolicies(ctx context.Context, p Principal, in BacktestInput) (Backtest, error) {
	if err := requireRole(p, RoleAdmin, "backtesting policies"); err != nil {
		return Backtest{}, err
	}
	now := s.clock()
	v := Violations{}
	if len(in.Policies) > MaxPolicyBytes {
		v.Add("policies", "must be at most %d bytes", MaxPolicyBytes)
	} else if in.Policies == "" {
		v.Add("policies", "is required: the draft policy set to replay the recorded requests under")
	}
	if in.Until.IsZero() || in.Until.After(now) {
		in.Until = now
	}
	if in.Since.IsZero() {
		in.Since = in.Until.Add(-DefaultBacktestWindow)
	}
	if !in.Since.Before(in.Until) {
		v.Add("since", "must be in the past")
	}
	if in.Limit < 0 {
		v.Add("limit", "must be a positive number of requests, at most %d", MaxBacktestRequests)
	}
	if err := v.Err(); err != nil {
		return Backtest{}, err
	}
	if in.Limit == 0 || in.Limit > MaxBacktestRequests {
		in.Limit = MaxBacktestRequests
	}
	set, err := policy.Parse("draft.cedar", []byte(in.Policies))
	if err != nil {
		return Backtest{}, policyError(err)
	}
	if _, err := s.tenant(ctx, p.TenantID); err != nil {
		return Backtest{}, err
	}
	bt := Backtest{Since: in.Since, Until: in.Until, Summary: map[string]int{}}
	page := PageRequest{Limit: backtestPage}
	for bt.Evaluated < in.Limit {
		rs, err := s.store.ListRequests(ctx, p.TenantID, RequestFilter{}, page)
		if err != nil {
			return Backtest{}, err
		}
		for _, r := range rs.Items {
			if !r.CreatedAt.Before(in.Until) {
				continue // made after the backtest began
			}
			if r.CreatedAt.Before(in.Since) || bt.Evaluated == in.Limit {
				return bt, nil // newest first: the rest are older still
			}
			bt.replay(set, r)
		}
		if rs.Next == nil {
			break
		}
		page.After = rs.Next
	}
	return bt, nil
}

// replay decides one recorded request under the draft and records a change.
func (bt *Backtest) replay(set *policy.Set, r Request) {
	req, complete := replayRequest(r)
	dec := set.Decide(req)
	bt.Evaluated++
	if !complete {
		bt.Incomplete++
	}
	before := recordedOutcome(r)
	after := BacktestOutcome{Allowed: dec.Allowed, Mode: ApprovalMode(dec.Mode), Approvals: dec.Approvals}
	if after.Allowed && after.Mode == ModeRequire {
		after.Approvals = max(after.Approvals, 1)
	}
	if before == after {
		return
	}
	bt.Changed++
	bt.Summary[before.Label()+"→"+after.Label()]++
	notices := dec.Notices
	if !complete {
		notices = append(notices, NoticeIncompleteContext)
	}
	bt.Changes = append(bt.Changes, BacktestChange{RequestID: r.ID, CreatedAt: r.CreatedAt, Before: before, After: after, Notices: notices})
}

// recordedOutcome is what the tenant's policies decided when r was made: a
// request denied with no approval mode was denied by policy (an approver's
// denial leaves the mode of the pending request).
func recordedOutcome(r Request) BacktestOutcome {
	if r.ApprovalMode == "" {
		return BacktestOutcome{}
	}
	o := BacktestOutcome{Allowed: true, Mode: r.ApprovalMode}
	if r.ApprovalMode == ModeRequire {
		o.Approvals = r.ApprovalsRequired
	}
	return o
}
