package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/cursor"
)

type backtestBody struct {
	Policies *string `json:"policies"`
	Since    *string `json:"since"`
	Limit    *int    `json:"limit"`
}

type backtestOutcomeJSON struct {
	Decision     string  `json:"decision"`
	ApprovalMode *string `json:"approval_mode"`
	Approvals    int     `json:"approvals"`
}

type backtestChangeJSON struct {
	RequestID string              `json:"request_id"`
	CreatedAt time.Time           `json:"created_at"`
	Before    backtestOutcomeJSON `json:"before"`
	After     backtestOutcomeJSON `json:"after"`
	Notices   []string            `json:"notices"`
}

type backtestJSON struct {
	Since      time.Time            `json:"since"`
	Until      time.Time            `json:"until"`
	Evaluated  int                  `json:"evaluated"`
	Changed    int                  `json:"changed"`
	Incomplete int                  `json:"incomplete"`
	Summary    map[string]int       `json:"summary"`
	Changes    []backtestChangeJSON `json:"changes"`
	NextCursor *string              `json:"next_cursor"`
	HasMore    bool                 `json:"has_more"`
}

// backtestPosition is where a backtest's next page of changes starts, and
// the window's end, so every page replays the same requests; a cursor
// seals it as "offset unix-nanoseconds".
type backtestPosition struct {
	Offset int
	Until  time.Time
}

func (p backtestPosition) encode() []byte {
	return fmt.Appendf(nil, "%d %d", p.Offset, p.Until.UnixNano())
}

func decodeBacktestPosition(b []byte) (backtestPosition, bool) {
	var offset int
	var until int64
	if n, err := fmt.Sscanf(string(b), "%d %d", &offset, &until); err != nil || n != 2 || offset < 0 {
		return backtestPosition{}, false
	}
	return backtestPosition{Offset: offset, Until: time.Unix(0, until).UTC()}, true
}

// backtestPolicies replays the tenant's recorded requests under a draft
// (POST /v1/policies/backtest). The changes come a page at a time (limit
// and cursor in the query, as for lists); each page replays the window
// again, which a cursor pins to the first page's end. The cursor is bound
// to the draft, since and limit, so it cannot page another backtest.
func (a *API) backtestPolicies(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	q := readQuery(r, "limit", "cursor")
	pageSize := q.limit()
	if err := q.err(); err != nil {
		return err
	}
	body, err := readBody(w, r, maxPolicyBody)
	if err != nil {
		return err
	}
	var in backtestBody
	v, err := decodeFields(body, &in)
	if err != nil {
		return err
	}
	bi := access.BacktestInput{Policies: deref(in.Policies), Since: parseTime("since", in.Since, v)}
	if in.Limit != nil {
		if bi.Limit = *in.Limit; bi.Limit < 1 || bi.Limit > access.MaxBacktestRequests {
			v.Add("limit", "must be a number of requests from 1 to %d", access.MaxBacktestRequests)
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(bi.Policies))
	b := cursor.Binding{TenantID: p.TenantID, PrincipalID: p.ID,
		Query: fmt.Sprintf("%s?draft=%s&since=%s&limit=%d", r.URL.Path, hex.EncodeToString(digest[:]), deref(in.Since), bi.Limit)}
	var pos backtestPosition
	if c := q.get("cursor"); c != "" {
		raw, err := a.cursors.Open(r.Context(), b, c, a.now())
		if err != nil {
			return err
		}
		var ok bool
		if pos, ok = decodeBacktestPosition(raw); !ok {
			return access.Invalid("cursor", "is not a cursor of this backtest")
		}
		bi.Until = pos.Until
	}
	bt, err := a.svc.BacktestPolicies(r.Context(), p, bi)
	if err != nil {
		return err
	}
	out := backtestJSON{Since: bt.Since, Until: bt.Until, Evaluated: bt.Evaluated, Changed: bt.Changed, Incomplete: bt.Incomplete,
		Summary: bt.Summary, Changes: []backtestChangeJSON{}}
	end := min(pos.Offset+pageSize, len(bt.Changes))
	for _, c := range bt.Changes[min(pos.Offset, end):end] {
		out.Changes = append(out.Changes, backtestChangeJSON{RequestID: c.RequestID, CreatedAt: c.CreatedAt,
			Before: fromBacktestOutcome(c.Before), After: fromBacktestOutcome(c.After), Notices: nonNil(c.Notices)})
	}
	if end < len(bt.Changes) {
		c, err := a.cursors.Seal(r.Context(), b, backtestPosition{Offset: end, Until: bt.Until}.encode(), a.now().Add(a.cursorTTL))
		if err != nil {
			return err
		}
		out.NextCursor, out.HasMore = &c, true
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func fromBacktestOutcome(o access.BacktestOutcome) backtestOutcomeJSON {
	if !o.Allowed {
		return backtestOutcomeJSON{Decision: "deny"}
	}
	return backtestOutcomeJSON{Decision: "allow", ApprovalMode: optString(string(o.Mode)), Approvals: o.Approvals}
}
