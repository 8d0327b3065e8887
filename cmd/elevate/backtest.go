package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// apiKeyEnv names the environment variable the API commands read their key
// from: never a flag, so it stays out of shell history and process lists.
const apiKeyEnv = "ELEVATE_API_KEY"

// backtestPage is how many changes the command asks for at once.
const backtestPage = 250

// backtestAnswer is POST /v1/policies/backtest's answer.
type backtestAnswer struct {
	Since      time.Time      `json:"since"`
	Until      time.Time      `json:"until"`
	Evaluated  int            `json:"evaluated"`
	Changed    int            `json:"changed"`
	Incomplete int            `json:"incomplete"`
	Summary    map[string]int `json:"summary"`
	Changes    []struct {
		RequestID string          `json:"request_id"`
		CreatedAt time.Time       `json:"created_at"`
		Before    backtestOutcome `json:"before"`
		After     backtestOutcome `json:"after"`
		Notices   []string        `json:"notices"`
	} `json:"changes"`
	NextCursor *string `json:"next_cursor"`
}

type backtestOutcome struct {
	Decision     string  `json:"decision"`
	ApprovalMode *string `json:"approval_mode"`
	Approvals    int     `json:"approvals"`
}

func (o backtestOutcome) String() string {
	switch {
	case o.Decision != "allow":
		return "deny"
	case o.ApprovalMode != nil && *o.ApprovalMode == "require":
		return fmt.Sprintf("require(%d)", o.Approvals)
	case o.ApprovalMode != nil:
		return *o.ApprovalMode
	}
	return "allow"
}

// policyBacktest replays a deployment's recorded requests under a draft
// policy set, through the API (POST /v1/policies/backtest): a policy
// repository's CI can gate a change on what it would have done.
func policyBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("policy backtest", stderr)
	api := fs.String("url", os.Getenv("ELEVATE_URL"), "the API's base URL (default $ELEVATE_URL)")
	tenant := fs.String("tenant", os.Getenv("ELEVATE_TENANT_ID"), "the tenant id (default $ELEVATE_TENANT_ID)")
	since := fs.Duration("since", 30*24*time.Hour, "how far back to replay")
	limit := fs.Int("limit", 0, "replay at most this many requests, newest first (default and at most 10000)")
	failOnChange := fs.Bool("fail-on-change", false, "exit 1 when any decision changes")
	asJSON := fs.Bool("json", false, "print the answer as JSON (every change) instead of a report")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(stderr, "policy backtest", "give one policy file")
	}
	key := os.Getenv(apiKeyEnv)
	switch {
	case *api == "":
		return usageError(stderr, "policy backtest", "give the API's URL with -url or $ELEVATE_URL")
	case *tenant == "":
		return usageError(stderr, "policy backtest", "give the tenant with -tenant or $ELEVATE_TENANT_ID")
	case key == "":
		return usageError(stderr, "policy backtest", "set $"+apiKeyEnv+" to an admin's API key")
	case *since <= 0:
		return usageError(stderr, "policy backtest", "-since must be positive")
	}
	draft, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	body := map[string]any{"policies": string(draft), "since": time.Now().Add(-*since).UTC().Format(time.RFC3339)}
	if *limit > 0 {
		body["limit"] = *limit
	}
	client := apiClient{base: strings.TrimRight(*api, "/"), tenant: *tenant, key: key, http: http.DefaultClient}
	var all backtestAnswer
	for cursor := ""; ; {
		var page backtestAnswer
		q := url.Values{"limit": {fmt.Sprint(backtestPage)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if err := client.post(ctx, "/v1/policies/backtest?"+q.Encode(), body, &page); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", fs.Arg(0), err)
			return 1
		}
		changes := append(all.Changes, page.Changes...)
		all = page
		all.Changes = changes
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	all.NextCursor = nil
	if *asJSON {
		if code := printJSON(stdout, all); code != 0 {
			return code
		}
	} else {
		printBacktest(stdout, fs.Arg(0), all)
	}
	if *failOnChange && all.Changed > 0 {
		return 1
	}
	return 0
}

func printBacktest(w io.Writer, path string, bt backtestAnswer) {
	fmt.Fprintf(w, "%s: %d requests from %s to %s replayed, %d decided differently", path, bt.Evaluated,
		bt.Since.Format(time.RFC3339), bt.Until.Format(time.RFC3339), bt.Changed)
	if bt.Incomplete > 0 {
		fmt.Fprintf(w, " (%d replayed without their recorded context)", bt.Incomplete)
	}
	fmt.Fprintln(w)
	keys := make([]string, 0, len(bt.Summary))
	for k := range bt.Summary {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-28s %d\n", k, bt.Summary[k])
	}
	for _, c := range bt.Changes {
		fmt.Fprintf(w, "%s  %s  %s → %s\n", c.CreatedAt.Format(time.RFC3339), c.RequestID, c.Before, c.After)
		for _, n := range c.Notices {
			fmt.Fprintf(w, "    %s\n", n)
		}
	}
}

// apiClient calls Elevate's HTTP API with an API key.
type apiClient struct {
	base, tenant, key string
	http              *http.Client
}

// post sends body as JSON and decodes a 2xx answer into out; any other
// answer is an error with the API's code and message.
func (c apiClient) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tenant-ID", c.tenant)
	req.Header.Set("X-API-Key", c.key)
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		var e struct {
			Code    string         `json:"code"`
			Message string         `json:"message"`
			Details map[string]any `json:"details"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Code == "" {
			return fmt.Errorf("%s: %s", res.Status, bytes.TrimSpace(raw))
		}
		msg := fmt.Sprintf("%s (%s)", e.Message, e.Code)
		if problems, ok := e.Details["policies"].([]any); ok {
			for _, p := range problems {
				if m, ok := p.(map[string]any); ok {
					msg += fmt.Sprintf("\n  line %v, column %v: %v", m["line"], m["column"], m["message"])
				}
			}
		}
		return fmt.Errorf("%s", msg)
	}
	return json.Unmarshal(raw, out)
}
