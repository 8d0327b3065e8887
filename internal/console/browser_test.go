package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/elevate-jit/elevate/internal/local"
)

// chromium finds Debian's chromium (or another Chrome) on PATH. Without one
// the browser tests skip, unless CI is set: there a missing browser fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the console's browser tests need chromium, and CI is set: .ci/run installs it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium): skipping the console's browser tests")
	return ""
}

// artifacts is the (gitignored) folder the walk saves screenshots to.
func artifacts(t *testing.T) string {
	dir := os.Getenv("ELEVATE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", ".artifacts")
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// walk drives one browser tab through the console.
type walk struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string
	axe  string
}

func (w *walk) run(actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	if err := chromedp.Do(w.ctx, actions...); err != nil {
		w.t.Fatalf("browser: %v\npage: %s", err, w.text("body"))
	}
}

// text is the visible text of the first element sel matches ("" if none).
func (w *walk) text(sel string) string {
	s, _ := chromedp.Run(w.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, sel)))
	return s
}

// until waits for a JavaScript condition; the bound is only there so a
// broken console fails instead of hanging.
func (w *walk) until(what, js string) {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if ok, err := chromedp.Run(w.ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("waiting for %s: not so\nalert: %s\nmain: %s", what, w.text("#alert"), w.text("main"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *walk) contains(sel, text string) {
	w.t.Helper()
	w.until(fmt.Sprintf("%s to show %q", sel, text),
		fmt.Sprintf(`!!document.querySelector(%q) && document.querySelector(%q).innerText.includes(%q)`, sel, sel, text))
}

// set gives a form control a value the way typing would: input and change
// events follow.
func (w *walk) set(sel, value string) {
	w.t.Helper()
	w.until(sel+" to exist", fmt.Sprintf(`!!document.querySelector(%q)`, sel))
	w.eval(fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q;
		el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, sel, value))
}

func (w *walk) click(sel string) {
	w.t.Helper()
	w.run(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

func (w *walk) visit(hash string) {
	w.t.Helper()
	w.eval(fmt.Sprintf(`location.hash = %q; true`, hash))
}

// eval runs JavaScript that answers true.
func (w *walk) eval(js string) {
	w.t.Helper()
	if _, err := chromedp.Run(w.ctx, chromedp.Evaluate[bool](js)); err != nil {
		w.t.Fatalf("browser: %v", err)
	}
}

// screenshot saves the page and checks it with axe-core: any serious or
// critical violation fails the test.
func (w *walk) screenshot(name string) {
	w.t.Helper()
	png, err := chromedp.Run(w.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.shot, name+".png"), png, 0o644); err != nil {
		w.t.Fatal(err)
	}
	// One page at a time: a page that rendered twice, or into another page,
	// repeats its ids.
	dup, err := chromedp.Run(w.ctx, chromedp.Evaluate[string](`(() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
		return ids.filter((id, i) => ids.indexOf(id) !== i).join(' ') })()`))
	if err != nil || dup != "" {
		w.t.Errorf("%s repeats ids %q (%v)", name, dup, err)
	}
	w.eval(w.axe + "\n;true")
	raw, err := chromedp.Run(w.ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		w.t.Fatalf("axe on %s: %v", name, err)
	}
	var violations []map[string]any
	if err := json.Unmarshal([]byte(raw), &violations); err != nil {
		w.t.Fatalf("axe on %s: %v (%s)", name, err, raw)
	}
	for _, v := range violations {
		w.t.Errorf("axe on %s: %v", name, v)
	}
}

// signIn signs user in through the tenant's identity provider.
func (w *walk) signIn(tenant, user string) {
	w.t.Helper()
	w.run(chromedp.Navigate(w.base + "/"))
	w.set("#tenant", tenant)
	w.click("form button[type=submit]")
	w.click("#sso")
	w.run(chromedp.WaitVisible(chromedp.CSS("#user")))
	w.set("#user", user)
	w.click("#login")
	w.contains("#who", user)
}

func (w *walk) signOut() {
	w.t.Helper()
	w.click("#sign-out")
	w.run(chromedp.WaitVisible(chromedp.CSS("#tenant")))
	left, err := chromedp.Run(w.ctx, chromedp.Evaluate[string](`JSON.stringify(Object.keys(sessionStorage))`))
	if err != nil || left != "[]" {
		w.t.Fatalf("sign-out left %s in session storage", left)
	}
}

// TestConsoleWalk drives the console in headless chromium against elevate
// serve's handler and a test OIDC provider: sign in with OIDC, auto-approved
// access going active, an Admin request approved from the inbox, a revoke,
// a policy edit with a syntax error, a dry run and a save, and the audit
// trail; every page is checked with axe-core and saved as a screenshot.
func TestConsoleWalk(t *testing.T) {
	exe := chromium(t)
	axe, err := os.ReadFile(filepath.Join("testdata", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	const client = "elevate-console"
	idp := newTestIdP(t, client, map[string][]string{
		"alice": {"engineering"}, "carol": {"approvers"}, "ada": {"platform-admins"},
	})

	l := local.New(local.Config{Cursors: testSealer(t), Logger: slog.New(slog.DiscardHandler), JWKSClient: idp.srv.Client(),
		AllowPrivateJWKS: true, Poll: 5 * time.Millisecond})
	t.Cleanup(l.Close)
	ctx := context.Background()
	demo, err := local.SeedDemo(ctx, l.Operator, l.IdentityCenter)
	if err != nil {
		t.Fatal(err)
	}
	acme := demo.Tenants[0]
	srv := httptest.NewServer(l.Web)
	t.Cleanup(srv.Close)

	// The tenant admin registers the console's client, as the README says.
	patch := fmt.Sprintf(`{"jwt":{"issuer":%q,"audience":%q,"jwks_url":%q,"client_id":%q}}`, idp.issuer(), client, idp.issuer()+"/jwks", client)
	req, _ := http.NewRequest("PATCH", srv.URL+"/v1/tenant", strings.NewReader(patch))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tenant-ID", acme.ID)
	req.Header.Set("X-API-Key", acme.Keys.Admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("PATCH /v1/tenant: %v %v", err, res.Status)
	}
	res.Body.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancel)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	tctx, cancel := context.WithTimeout(bctx, 6*time.Minute)
	t.Cleanup(cancel)
	w := &walk{t: t, ctx: tctx, base: srv.URL, shot: artifacts(t), axe: string(axe)}

	w.run(chromedp.Navigate(srv.URL + "/"))
	w.run(chromedp.WaitVisible(chromedp.CSS("#tenant")))
	w.screenshot("01-sign-in")

	// A requester signs in with OIDC and asks for read-only access, which
	// the default policies approve at once: the preview says so first.
	w.signIn(acme.ID, "alice")
	w.visit("#/request")
	w.set("#type", "aws_account")
	w.set("#res-id", "123456789012")
	w.set("#action", "ReadOnly")
	w.set("#minutes", "60")
	w.set("#justification", "INC-4242: read the logs")
	w.contains("#preview", "Approved at once")
	w.screenshot("02-request")
	w.click("#submit-request")
	w.contains("#grants", "active")
	w.contains("#grants", "left")

	// Admin needs approval: the preview says how many approvals.
	w.visit("#/request")
	w.set("#type", "aws_account")
	w.set("#res-id", "210987654321")
	w.set("#action", "Admin")
	w.set("#minutes", "30")
	w.set("#justification", "INC-4243: roll back the deploy")
	w.contains("#preview", "Needs approval")
	w.contains("#preview", "Approvals needed")
	w.click("#submit-request")
	w.contains("#requests", "pending")
	w.contains("#requests", "0 of 1 approvals")

	// Access that starts tomorrow is approved now and waits, scheduled.
	w.visit("#/request")
	w.set("#type", "aws_account")
	w.set("#res-id", "123456789012")
	w.set("#action", "ReadOnly")
	w.set("#minutes", "30")
	w.set("#justification", "CHG-7: tomorrow's maintenance window")
	w.set("#starts-at", time.Now().Add(24*time.Hour).Format("2006-01-02T15:04"))
	w.contains("#preview", "Approved at once")
	w.click("#submit-request")
	w.contains("#grants", "scheduled")
	w.contains("#grants", "starts")
	w.until("no stray null on the page", `!/\bnull\b/.test(document.querySelector('main').innerText)`)
	w.screenshot("03-my-access")
	w.signOut()

	// The approver approves it from the inbox.
	w.signIn(acme.ID, "carol")
	w.visit("#/inbox")
	w.contains("main", "Admin on aws_account · 210987654321")
	w.contains("main", "INC-4243: roll back the deploy")
	w.contains("main", "0 of 1 approvals")
	w.contains("main", "ReadOnly on aws_account · 123456789012 — approved") // the requester's recent history
	w.contains("main", "Forward to (user id)")
	w.screenshot("04-inbox")
	w.set("textarea[id^=reason-]", "Rollback approved")
	w.click("article button.primary")
	w.contains("#alert", "approved")
	w.contains("main", "Nothing waits for you")
	w.signOut()

	// The requester sees both grants active and revokes the Admin one.
	w.signIn(acme.ID, "alice")
	w.visit("#/mine")
	w.until("two active grants", `document.querySelectorAll('#grants tr[data-grant] .s-active').length === 2`)
	w.click(`#grants tr[data-grant] button[aria-label="Revoke aws_account · 210987654321"]`)
	w.contains("#alert", "Revoking")
	w.until("the Admin grant to end", `[...document.querySelectorAll('#grants tr[data-grant]')].some(tr => tr.innerText.includes('210987654321') && /revok/.test(tr.innerText))`)
	w.signOut()

	// The requester (on call, with her API key) breaks glass; the approver
	// finds it unjustified from the reviews page, which suspends her
	// break-glass.
	bg, _ := http.NewRequest("POST", srv.URL+"/v1/requests", strings.NewReader(
		`{"resource":{"type":"aws_account","id":"210987654321"},"action":"Admin","duration_seconds":1800,"justification":"SEV-2: checkout down","break_glass":true}`))
	bg.Header.Set("Content-Type", "application/json")
	bg.Header.Set("X-Tenant-ID", acme.ID)
	bg.Header.Set("X-API-Key", acme.Keys.Requester)
	res, err = http.DefaultClient.Do(bg)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("break-glass request: %v %v", err, res.Status)
	}
	res.Body.Close()
	w.signIn(acme.ID, "carol")
	w.visit("#/reviews")
	w.contains("main", "Admin on aws_account · 210987654321")
	w.contains("main", "Review due")
	w.screenshot("04b-reviews")
	w.click("article[data-review] button.danger")
	w.contains("#alert", "reasoning")
	w.set("textarea[id^=review-reason-]", "No incident matched SEV-2")
	w.click("article[data-review] button.danger")
	w.contains("#alert", "unjustified")
	w.contains("main", "No break-glass grant waits for your review")
	w.signOut()

	// An admin edits the policies: a syntax error is shown at its line,
	// the fix validates, a dry run of the draft, then the save.
	w.signIn(acme.ID, "ada")
	w.visit("#/policies")
	w.contains("#policy-version", "Version 1")
	text, err := chromedp.Run(w.ctx, chromedp.Evaluate[string](`document.querySelector('#policy-text').value`))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(text, "\n") + 1
	broken := text + "\n@id(\"no-admin\")\nforbid (principal, action, resource) when { context.action == \"Admin\" ;\n"
	w.set("#policy-text", broken)
	w.contains("#policy-errors", fmt.Sprintf("Line %d", lines+2))
	w.screenshot("05-policy-error")
	fixed := text + "\n@id(\"no-admin-on-sandbox\")\n@notice(\"Admin on the sandbox account is frozen.\")\nforbid (principal, action == Elevate::Action::\"request\", resource) when { context.action == \"Admin\" };\n"
	w.set("#policy-text", fixed)
	w.contains("#policy-problems", "The draft is valid")
	w.set("#dry-id", "210987654321")
	w.set("#dry-action", "Admin")
	w.click("#dry-run")
	w.contains("#dry-result", "deny")
	w.contains("#dry-result", "frozen")
	w.click("#save-policies")
	w.contains("#policy-version", "Version 2")
	w.click("#policy-versions li:last-child button")
	w.contains("#policy-diff", "+ @id(\"no-admin-on-sandbox\")")
	w.screenshot("06-policies")

	// The admin lifts the requester's break-glass suspension.
	w.visit("#/reviews")
	w.contains("main", "Suspended break-glass")
	w.contains("article[data-suspension]", "an unjustified review")
	w.screenshot("06b-suspensions")
	w.set("textarea[id^=lift-reason-]", "Talked it through with alice")
	w.click("article[data-suspension] button")
	w.contains("#alert", "no longer suspended")
	w.contains("main", "Nobody's break-glass is suspended")

	// The audit trail shows it all.
	w.visit("#/audit")
	for _, action := range []string{"policy.updated", "request.created", "request.approved", "grant.revoked", "grant.reviewed", "break_glass.suspended", "break_glass.lifted"} {
		w.contains("#audit", action)
	}
	w.screenshot("07-audit")
	w.set("#audit-filter", "policy.updated")
	w.until("the filter to hide other events", `[...document.querySelectorAll('#audit tbody tr')].filter(tr => !tr.hidden).every(tr => tr.innerText.includes('policy.updated'))`)
	w.visit("#/settings")
	w.contains("main", "API keys")
	w.screenshot("08-settings")
}
