package sim

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// lifecycle is one request (or direct grant) and what its people do with it.
type lifecycle struct {
	n       int
	tenant  *tenant
	kind    string
	request string
	grant   string
	planned bool // the follow-ups of its grant are scheduled
}

// api runs an API call as a one-shot actor at d from now, for lc.
func (w *world) api(d time.Duration, lc *lifecycle, what string, call func() error) {
	w.pendingAPI++
	t := w.after(d, fmt.Sprintf("api:%d", w.q.seq+1), what, func() {
		w.pendingAPI--
		w.apiCalls++
		err := guard(call)
		w.trace.event(w, "= %s: %s", what, outcome(err))
	})
	t.lc = lc
}

// clientCall is an API call a client may send with an idempotency key, as
// the HTTP handlers run it: a key already used replays the recorded outcome.
// A quarter of calls carry a key, and a third of those are sent again with
// the same key a few seconds later (the client's answer was lost, or it
// retried on a timeout): the retry must not act a second time.
func (w *world) clientCall(d time.Duration, lc *lifecycle, p access.Principal, route, what string, call func(*access.Idempotency) error) {
	if w.rng.IntN(4) != 0 {
		w.api(d, lc, what, func() error { return call(nil) })
		return
	}
	w.idemKeys++
	idem := &access.Idempotency{
		Scope:    access.IdempotencyScope{TenantID: p.TenantID, PrincipalID: p.ID, Route: route, Key: fmt.Sprintf("key-%d", w.idemKeys)},
		BodyHash: fmt.Sprintf("body-%d", w.idemKeys),
	}
	do := func() error {
		if _, found, err := w.svc.Replay(w.ctx, *idem); err != nil || found {
			return err
		}
		return call(idem)
	}
	w.api(d, lc, what+" (key-"+fmt.Sprint(w.idemKeys)+")", do)
	if w.rng.IntN(3) == 0 {
		w.api(d+time.Duration(w.rng.IntN(5000))*time.Millisecond, lc, what+" (key-"+fmt.Sprint(w.idemKeys)+", sent again)", do)
	}
}

// outcome is an API call's result as the trace shows it.
func outcome(err error) string {
	var e *access.Error
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &e):
		return string(e.Code) + ": " + e.Message
	}
	return "error: " + err.Error()
}

// Load: a new lifecycle every meanArrival on average.
const meanArrival = 40 * time.Second

// startLoad starts the actors of the load phase: arrivals, tenant admins,
// a user who is disabled now and then, and the sweeper.
func (w *world) startLoad() {
	w.after(time.Second, "load", "arrival", w.arrive)
	for i, t := range w.tenants[:2] {
		w.after(time.Duration(5+i*7)*time.Minute, "admin:"+t.label, "admin change", func() { w.adminChange(t) })
	}
	w.after(20*time.Minute, "identitystore", "toggle frank", w.toggleUser)
	w.after(time.Duration(20+w.rng.IntN(60))*time.Minute, "outsider", "remove an assignment", w.removeAssignment)
	w.after(sweepEvery, "sweeper", "sweep", w.sweep)
}

// arrive starts one lifecycle and schedules the next arrival until the
// episode's quota is recorded.
func (w *world) arrive() {
	if w.lifecycles >= w.quota {
		w.loadDone = true
		return
	}
	w.newLifecycle()
	d := time.Duration(w.rng.ExpFloat64() * float64(meanArrival))
	w.after(max(d, time.Second), "load", "arrival", w.arrive)
}

func pick[T any](w *world, xs []T) T { return xs[w.rng.IntN(len(xs))] }

// newLifecycle makes one request or direct grant of a random kind.
func (w *world) newLifecycle() {
	w.created++
	lc := &lifecycle{n: w.created}
	r := w.rng.IntN(100)
	switch {
	case r < 45:
		lc.tenant = w.tenants[0]
	case r < 88:
		lc.tenant = w.tenants[1]
		if w.cfg.SeparateInstances {
			lc.tenant = w.tenants[0]
		}
	default:
		lc.tenant = w.tenants[2]
	}
	t := lc.tenant
	requester := pick(w, t.requesters)
	account := pick(w, t.accounts)
	if w.rng.IntN(40) == 0 {
		account = protected1
	}
	in := access.CreateRequestInput{
		Resource: access.Resource{Type: access.ResourceAccount, ID: account},
		Action:   "ReadOnly", Justification: fmt.Sprintf("SIM-%d", lc.n),
		DurationSeconds: pick(w, []int64{60, 300, 900, 1800, 3600}),
	}
	switch r := w.rng.IntN(100); {
	case r < 28:
		lc.kind = "auto"
	case r < 46:
		lc.kind = "require"
		in.Action = "Admin"
		in.DurationSeconds = pick(w, []int64{900, 1800, 3600, 7200})
	case r < 56:
		lc.kind = "break-glass"
		in.BreakGlass = true
		in.Action = pick(w, []string{"ReadOnly", "Admin"})
		in.DurationSeconds = pick(w, []int64{300, 900, 3600})
	case r < 66:
		lc.kind = "delegated"
		for in.GranteeID == "" || in.GranteeID == requester.ID {
			in.GranteeID = pick(w, t.requesters).ID
		}
	case r < 76:
		lc.kind = "ou"
		in.Resource = access.Resource{Type: access.ResourceOrganizationalUnit, ID: t.ou}
		in.DurationSeconds = pick(w, []int64{900, 1800})
	case r < 81:
		lc.kind = "permission-set"
		in.Resource = access.Resource{Type: access.ResourcePermissionSet, ID: t.data, AccountID: account}
		in.Action = "DataEngineer"
	case r < 86:
		lc.kind = "s3"
		in.Resource = access.Resource{Type: access.ResourceS3Bucket, ID: "sim-logs-" + account, AccountID: account}
		in.Action = "read"
	default:
		lc.kind = "direct"
		grantee := pick(w, t.requesters).ID
		action := pick(w, []string{"ReadOnly", "Admin"})
		expires := w.now().Add(pick(w, []time.Duration{5, 15, 30, 60}) * time.Minute)
		what := fmt.Sprintf("CreateGrant #%d %s for %s %s/%s until +%s", lc.n, t.label, grantee, action, account, expires.Sub(w.now()))
		w.clientCall(0, lc, t.adminP, "POST /v1/grants", what, func(idem *access.Idempotency) error {
			_, err := w.svc.CreateGrant(w.ctx, t.adminP, access.CreateGrantInput{
				GranteeID: grantee, Resource: in.Resource, Action: action, ExpiresAt: expires, Reasoning: "simulated",
			}, idem)
			return err
		})
		return
	}
	who := requester.ID
	if in.GranteeID != "" {
		who += " for " + in.GranteeID
	}
	what := fmt.Sprintf("CreateRequest #%d %s %s by %s: %s %s/%s %ds", lc.n, t.label, lc.kind, who, in.Action, in.Resource.Type, in.Resource.ID, in.DurationSeconds)
	w.clientCall(0, lc, requester, "POST /v1/requests", what, func(idem *access.Idempotency) error {
		_, err := w.svc.CreateRequest(w.ctx, requester, in, idem)
		return err
	})
}

// created is observed by the checker: a request or a direct grant of lc
// was committed.
func (w *world) requestCreated(lc *lifecycle, r access.Request) {
	if lc == nil {
		return
	}
	if lc.request != "" {
		if lc.request != r.ID {
			w.check.violateAbout([]string{w.label(lc.request), w.label(r.ID)}, invOnce, "one call made two requests, %s and %s", w.label(lc.request), w.label(r.ID))
		}
		return
	}
	lc.request = r.ID
	w.lifecycles++
	if r.Status == access.RequestPending {
		w.planDecision(lc, r)
	}
}

func (w *world) grantCreated(lc *lifecycle, g access.Grant) {
	if lc == nil {
		return
	}
	if lc.planned {
		if g.RequestID == "" && lc.grant != g.ID {
			w.check.violateAbout([]string{w.label(lc.grant), w.label(g.ID)}, invOnce, "one call made two grants, %s and %s", w.label(lc.grant), w.label(g.ID))
		}
		return
	}
	lc.grant, lc.planned = g.ID, true
	if g.RequestID == "" {
		w.lifecycles++
	}
	w.planGrant(lc, g)
}

// planDecision schedules what approvers and the requester do with a
// pending request: approve (one, or two at once), deny, approve and deny at
// once, cancel, or nothing until the window ends. Some come after the
// window (late approvals); some calls are sent twice.
func (w *world) planDecision(lc *lifecycle, r access.Request) {
	t := lc.tenant
	at := time.Duration(10+w.rng.IntN(int(approvalWindow/time.Second)+600)) * time.Second
	type call struct {
		what string
		do   func() error
	}
	approve := func(p access.Principal) call {
		return call{fmt.Sprintf("Approve %s by %s", w.label(r.ID), p.ID), func() error {
			_, err := w.svc.Approve(w.ctx, p, r.ID, "fine", nil)
			return err
		}}
	}
	deny := func(p access.Principal) call {
		return call{fmt.Sprintf("Deny %s by %s", w.label(r.ID), p.ID), func() error {
			_, err := w.svc.Deny(w.ctx, p, r.ID, "no", nil)
			return err
		}}
	}
	var calls []call
	switch x := w.rng.IntN(100); {
	case x < 35:
		calls = []call{approve(pick(w, t.approvers))}
	case x < 55:
		calls = []call{approve(t.approvers[0]), approve(t.approvers[1])}
	case x < 65:
		calls = []call{approve(t.approvers[0]), deny(t.approvers[1])}
	case x < 75:
		calls = []call{deny(pick(w, t.approvers))}
	case x < 85:
		requester := access.Principal{TenantID: t.id, ID: r.RequesterID, Kind: access.PrincipalUser, Role: access.RoleRequester}
		calls = []call{{fmt.Sprintf("Cancel %s by %s", w.label(r.ID), r.RequesterID), func() error {
			_, err := w.svc.Cancel(w.ctx, requester, r.ID, nil)
			return err
		}}}
	}
	for _, c := range calls {
		for range 1 + boolInt(w.rng.IntN(20) == 0) { // sometimes sent twice
			w.api(at, lc, c.what, c.do)
		}
	}
}

// planGrant schedules revocations of a grant: a third of grants are
// revoked, some within seconds (mid-provisioning), some twice at once.
func (w *world) planGrant(lc *lifecycle, g access.Grant) {
	if w.rng.IntN(3) != 0 {
		return
	}
	t := lc.tenant
	var at time.Duration
	if w.rng.IntN(3) == 0 {
		at = time.Duration(w.rng.IntN(3000)) * time.Millisecond
	} else {
		at = time.Duration(w.rng.Int64N(g.DurationSeconds+1)) * time.Second
	}
	by := t.adminP
	if w.rng.IntN(2) == 0 {
		by = access.Principal{TenantID: t.id, ID: g.GranteeID, Kind: access.PrincipalUser, Role: access.RoleRequester}
	}
	for range 1 + boolInt(w.rng.IntN(10) == 0) {
		w.clientCall(at, lc, by, "POST /v1/grants/{id}/revoke", fmt.Sprintf("RevokeGrant %s by %s", w.label(g.ID), by.ID), func(idem *access.Idempotency) error {
			_, err := w.svc.RevokeGrant(w.ctx, by, g.ID, "done", idem)
			return err
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// adminChange is a tenant admin changing the policies (sometimes from a
// stale version), narrowing or restoring the allowed roots, or switching
// the catalog's Admin permission set.
func (w *world) adminChange(t *tenant) {
	if w.loadDone {
		return
	}
	defer w.after(time.Duration(5+w.rng.IntN(25))*time.Minute, "admin:"+t.label, "admin change", func() { w.adminChange(t) })
	var what string
	var call func() error
	switch x := w.rng.IntN(100); {
	case x < 60:
		text := w.rng.IntN(len(policyTexts))
		stale := w.rng.IntN(8) == 0
		what = fmt.Sprintf("PutPolicies %s variant %d (stale %t)", t.label, text, stale)
		call = func() error {
			cur, err := w.svc.GetPolicies(w.ctx, t.adminP)
			if err != nil {
				return err
			}
			_, err = w.svc.PutPolicies(w.ctx, t.adminP, policyTexts[text], cur.Version-boolInt(stale))
			return err
		}
	case x < 85:
		roots := []string{}
		if w.rng.IntN(2) == 0 {
			roots = []string{t.ou}
		}
		what = fmt.Sprintf("UpdateTenant %s allowed roots %v", t.label, roots)
		call = func() error {
			_, err := w.svc.UpdateTenant(w.ctx, t.adminP, access.TenantPatch{AllowedRoots: &roots}, nil)
			return err
		}
	default:
		t.catalogAlt = !t.catalogAlt
		what = fmt.Sprintf("PutCatalog %s Admin → alternative %t", t.label, t.catalogAlt)
		call = func() error {
			_, err := w.svc.PutCatalog(w.ctx, t.adminP, t.catalog())
			return err
		}
	}
	err := guard(call)
	w.trace.event(w, "= %s: %s", what, outcome(err))
}

// toggleUser disables frank in both identity stores for a while, or
// enables him again.
func (w *world) toggleUser() {
	if w.loadDone {
		return
	}
	on := !w.ic.users[store1]["frank"]
	w.ic.users[store1]["frank"], w.ic.users[store2]["frank"] = on, on
	w.trace.event(w, "identity store: frank enabled=%t", on)
	w.after(time.Duration(5+w.rng.IntN(40))*time.Minute, "identitystore", "toggle frank", w.toggleUser)
}

// removeAssignment is someone outside Elevate deleting an assignment an
// active grant holds (standing access included): the sweeper must make it
// again.
func (w *world) removeAssignment() {
	if w.loadDone || w.cfg.NoOutsider {
		return
	}
	defer w.after(time.Duration(20+w.rng.IntN(70))*time.Minute, "outsider", "remove an assignment", w.removeAssignment)
	var keys []access.AssignmentKey
	for k := range w.ic.present {
		if w.ic.inflight[k] == nil && w.check.heldByActive(k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.SortFunc(keys, compareKeys)
	k := pick(w, keys)
	delete(w.ic.present, k)
	delete(w.ic.standing, k)
	w.check.removed[k] = w.now()
	w.check.keyChanged(k)
	w.trace.event(w, "outsider: deletes %s in Identity Center", w.keyLabel(k))
}
