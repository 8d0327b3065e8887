package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/policy"
)

type backtestResult struct {
	Since      time.Time      `json:"since"`
	Until      time.Time      `json:"until"`
	Evaluated  int            `json:"evaluated"`
	Changed    int            `json:"changed"`
	Incomplete int            `json:"incomplete"`
	Summary    map[string]int `json:"summary"`
	Changes    []struct {
		RequestID string `json:"request_id"`
		Before    struct {
			Decision     string  `json:"decision"`
			ApprovalMode *string `json:"approval_mode"`
			Approvals    int     `json:"approvals"`
		} `json:"before"`
		After struct {
			Decision     string  `json:"decision"`
			ApprovalMode *string `json:"approval_mode"`
			Approvals    int     `json:"approvals"`
		} `json:"after"`
		Notices []string `json:"notices"`
	} `json:"changes"`
	NextCursor *string `json:"next_cursor"`
	HasMore    bool    `json:"has_more"`
}

// TestPolicyBacktest: an admin replays the tenant's recorded requests under
// a draft that takes away the auto-approval of read-only access, and pages
// through what would change; nothing else sees or changes anything.
func TestPolicyBacktest(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		var auto []string
		for i := range 3 {
			auto = append(auto, a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 600+i)).want(http.StatusCreated).request().ID)
			e.advance(time.Minute)
		}
		a.bob.post("/v1/requests", accountRequest("210987654321", "Admin", 1800)).want(http.StatusCreated)
		e.advance(time.Hour)

		draft := strings.Replace(policy.DefaultText, "@id(\"auto-approve-short-readonly\")\n@approval(\"auto\")", "@id(\"auto-approve-short-readonly\")\n@approval(\"require\")", 1)
		var same backtestResult
		a.ada.post("/v1/policies/backtest", body{"policies": policy.DefaultText}).want(http.StatusOK).decode(&same)
		if same.Evaluated != 4 || same.Changed != 0 || len(same.Changes) != 0 {
			t.Fatalf("the policies in force: evaluated %d, changed %d; want 4, 0", same.Evaluated, same.Changed)
		}

		// Two changes a page, newest first.
		var pages []backtestResult
		path := "/v1/policies/backtest?limit=2"
		for {
			var page backtestResult
			a.ada.post(path, body{"policies": draft, "since": start.Format(time.RFC3339)}).want(http.StatusOK).decode(&page)
			pages = append(pages, page)
			if !page.HasMore {
				break
			}
			path = "/v1/policies/backtest?limit=2&cursor=" + *page.NextCursor
			// A request made meanwhile is not in the paged backtest.
			a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 900)).want(http.StatusCreated)
		}
		if len(pages) != 2 || len(pages[0].Changes) != 2 || len(pages[1].Changes) != 1 {
			t.Fatalf("pages %d with %v changes, want 2 pages of 2 and 1", len(pages), pages)
		}
		var got []string
		for _, p := range pages {
			if p.Evaluated != 4 || p.Changed != 3 || p.Summary["auto→require"] != 3 || !p.Until.Equal(pages[0].Until) {
				t.Errorf("page: evaluated %d, changed %d, summary %v, until %v", p.Evaluated, p.Changed, p.Summary, p.Until)
			}
			for _, c := range p.Changes {
				if c.Before.Decision != "allow" || *c.Before.ApprovalMode != "auto" || *c.After.ApprovalMode != "require" || c.After.Approvals != 1 {
					t.Errorf("change %+v", c)
				}
				got = append(got, c.RequestID)
			}
		}
		if want := []string{auto[2], auto[1], auto[0]}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("changes %v, want %v (newest first)", got, want)
		}
		// The cursor is the draft's: it does not page another backtest.
		a.ada.post("/v1/policies/backtest?limit=2&cursor="+*pages[0].NextCursor, body{"policies": policy.DefaultText}).wantError(http.StatusBadRequest, "invalid_cursor")

		// Refusals, in the error shape.
		a.carol.post("/v1/policies/backtest", body{"policies": draft}).wantError(http.StatusForbidden, "forbidden")
		er := a.ada.post("/v1/policies/backtest", body{"policies": "permit (principal, action, resource"}).wantError(http.StatusBadRequest, "validation_failed")
		if er.Details["policies"] == nil {
			t.Errorf("a draft that does not parse: details %v", er.Details)
		}
		for _, b := range []body{
			{},
			{"policies": draft, "since": "yesterday"},
			{"policies": draft, "since": e.clock.Now().Add(time.Hour).Format(time.RFC3339)},
			{"policies": draft, "limit": 0},
			{"policies": draft, "limit": 10001},
			{"policies": draft, "until": "2026-01-01T00:00:00Z"},
		} {
			a.ada.do(http.MethodPost, "/v1/policies/backtest", b, invalid()).wantError(http.StatusBadRequest, "validation_failed")
		}
	})
}
