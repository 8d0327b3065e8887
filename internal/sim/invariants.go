package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

// The invariants of issue 11, as the checker names them.
const (
	invLeftBehind = "nothing left behind"
	invTakenAway  = "nothing taken away"
	invHonest     = "honest status"
	invBoundary   = "boundary"
	invOnce       = "exactly once"
	invExpiry     = "expiry"
)

// Bounds of the time invariants, once faults have stopped.
const (
	sweepEvery = 5 * time.Minute
	// overdueGrace is the sweeper's: it ends active grants this far past their end.
	overdueGrace = time.Minute
	// expiryMargin is what a step may add to the sweeper's bound.
	expiryMargin = 2 * time.Minute
	// settleWithin bounds how long a grant stays provisioning or revoking
	// once faults have stopped: the sweeper restarts stuck work after 15
	// minutes, a creation whose issuer died settles after 15 more.
	settleWithin = 60 * time.Minute
	// repairWithin bounds how long an assignment deleted outside Elevate
	// stays missing under an active grant once faults have stopped: a sweep
	// may find a repair issued before that failed, the next issues it again,
	// and Identity Center takes up to maxOperation.
	repairWithin = 3*sweepEvery + maxOperation + expiryMargin
)

// violation is one broken invariant.
type violation struct {
	Invariant string
	Message   string
	At        time.Duration
	// labels name the objects involved, for the minimal trace.
	labels []string
}

func (v violation) String() string {
	return fmt.Sprintf("%s: %s (at +%s)", v.Invariant, v.Message, v.At)
}

// checker keeps its own view of what the store committed (every commit
// goes through the simulator's store) and checks the invariants against
// the Identity Center fake's actual assignments.
type checker struct {
	w *world

	grants      map[string]*grantView
	requests    map[string]*requestView
	ledger      map[access.AssignmentKey]access.LedgerState
	tenants     map[string]access.Tenant
	rootsBefore map[string][]string
	// removed are the assignments someone outside Elevate deleted, and
	// when; the sweeper makes them again.
	removed map[access.AssignmentKey]time.Time
	// keyGrants lists the grants that ever planned an assignment.
	keyGrants     map[access.AssignmentKey][]string
	requestGrants map[string][]string
	live          map[string]bool
	pending       map[string]bool

	dirtyGrants []string
	dirtyKeys   []access.AssignmentKey
	isDirty     map[string]bool
	keyDirty    map[access.AssignmentKey]bool
	changed     bool

	violations []violation
}

type grantView struct {
	g     access.Grant
	since time.Time // when it entered its status
}

type requestView struct {
	r     access.Request
	since time.Time
}

func newChecker(w *world) *checker {
	return &checker{
		w: w, grants: map[string]*grantView{}, requests: map[string]*requestView{},
		ledger: map[access.AssignmentKey]access.LedgerState{}, tenants: map[string]access.Tenant{},
		keyGrants: map[access.AssignmentKey][]string{}, requestGrants: map[string][]string{}, live: map[string]bool{}, pending: map[string]bool{},
		isDirty: map[string]bool{}, keyDirty: map[access.AssignmentKey]bool{}, removed: map[access.AssignmentKey]time.Time{},
	}
}

// violate records a broken invariant; the episode stops after the step.
func (c *checker) violate(inv, format string, args ...any) {
	c.violateAbout(nil, inv, format, args...)
}

func (c *checker) violateAbout(labels []string, inv, format string, args ...any) {
	v := violation{Invariant: inv, Message: fmt.Sprintf(format, args...), At: c.w.now().Sub(epoch), labels: labels}
	for _, old := range c.violations {
		if old.Invariant == v.Invariant && old.Message == v.Message {
			return
		}
	}
	c.violations = append(c.violations, v)
	c.w.trace.event(c.w, "✗ VIOLATION %s", v)
}

// stepStart notes the allowed roots as they were before the step, so that
// a tenant change racing a plan inside one step is judged fairly.
func (c *checker) stepStart() {
	c.rootsBefore = map[string][]string{}
	for id, t := range c.tenants {
		c.rootsBefore[id] = t.AllowedRoots()
	}
}

func (c *checker) markGrant(id string) {
	c.changed = true
	if !c.isDirty[id] {
		c.isDirty[id] = true
		c.dirtyGrants = append(c.dirtyGrants, id)
	}
}

// keyChanged notes that an assignment appeared, went or got an operation.
func (c *checker) keyChanged(k access.AssignmentKey) {
	c.changed = true
	if !c.keyDirty[k] {
		c.keyDirty[k] = true
		c.dirtyKeys = append(c.dirtyKeys, k)
	}
}

// committed checks a change that landed against the view of what was
// stored before it (only legal transitions, one grant per approved request,
// the boundary of what a plan assigns) and updates the view.
func (c *checker) committed(ch access.Change) {
	w := c.w
	now := w.now()
	for _, t := range ch.Tenants {
		c.tenants[t.ID] = t
	}
	newGrants := map[string]bool{}
	for _, g := range ch.Grants {
		newGrants[g.ID] = true
	}
	for _, r := range ch.Requests {
		prev, ok := c.requests[r.ID]
		var from access.RequestStatus
		if ok {
			from = prev.r.Status
		}
		if from != r.Status && !from.CanBecome(r.Status) {
			c.violateAbout([]string{w.label(r.ID)}, invOnce, "request %s went %q → %q", w.label(r.ID), from, r.Status)
		}
		if r.Status == access.RequestApproved && from != access.RequestApproved && (r.GrantID == "" || !newGrants[r.GrantID]) {
			c.violateAbout([]string{w.label(r.ID)}, invOnce, "request %s approved without its grant in the same commit", w.label(r.ID))
		}
		if r.Status == access.RequestPending {
			c.pending[r.ID] = true
		} else {
			delete(c.pending, r.ID)
		}
		if !ok {
			w.name(r.ID, 'r')
			c.requests[r.ID] = &requestView{r: r, since: now}
			if cur := w.current(); cur != nil {
				w.requestCreated(cur.lc, r)
			}
			w.trace.event(w, "store: %s %s created %s", w.label(r.ID), w.label(r.TenantID), r.Status)
			continue
		}
		if from != r.Status {
			prev.since = now
			w.trace.event(w, "store: %s %s → %s", w.label(r.ID), from, r.Status)
		}
		prev.r = r
	}
	for _, g := range ch.Grants {
		c.grantCommitted(g, now)
	}
	for _, e := range ch.Ledger {
		next := e.State
		if e.Deleted {
			next = ""
		}
		from := c.ledger[e.Key]
		if from != next && !from.CanBecome(next) {
			c.violateAbout([]string{w.keyLabel(e.Key)}, invOnce, "ledger entry of %s went %q → %q", w.keyLabel(e.Key), from, next)
		}
		if next == "" {
			delete(c.ledger, e.Key)
		} else {
			c.ledger[e.Key] = next
		}
		if from != next || e.Deleted {
			w.trace.event(w, "store: ledger %s %q → %q holders %s op %q", w.keyLabel(e.Key), from, next, w.holdersLabel(e.Holders), e.OperationID)
		}
	}
}

func (c *checker) grantCommitted(g access.Grant, now time.Time) {
	w := c.w
	g.Assignments = slices.Clone(g.Assignments)
	prev, ok := c.grants[g.ID]
	var from access.GrantStatus
	if ok {
		from = prev.g.Status
	}
	if from != g.Status && !from.CanBecome(g.Status) {
		c.violateAbout([]string{w.label(g.ID)}, invOnce, "grant %s went %q → %q", w.label(g.ID), from, g.Status)
	}
	if !ok {
		w.name(g.ID, 'g')
		prev = &grantView{g: g, since: now}
		c.grants[g.ID] = prev
		c.live[g.ID] = true
		if g.RequestID != "" {
			c.requestGrants[g.RequestID] = append(c.requestGrants[g.RequestID], g.ID)
			if n := len(c.requestGrants[g.RequestID]); n > 1 {
				c.violateAbout([]string{w.label(g.ID), w.label(g.RequestID)}, invOnce, "request %s has %d grants", w.label(g.RequestID), n)
			}
		}
		if cur := w.current(); cur != nil {
			w.grantCreated(cur.lc, g)
		}
		w.trace.event(w, "store: %s of %s %s created %s (%s %s %s)", w.label(g.ID), w.label(g.RequestID), w.label(g.TenantID), g.Status, g.GranteeID, g.Action, g.Resource.ID)
	} else if from != g.Status {
		w.trace.event(w, "store: %s %s → %s%s", w.label(g.ID), from, g.Status, failure(g))
	}
	if len(g.Assignments) > 0 && len(prev.g.Assignments) == 0 || !ok && len(g.Assignments) > 0 {
		c.planned(g)
	}
	for _, a := range g.Assignments {
		k := a.Key()
		if !slices.Contains(c.keyGrants[k], g.ID) {
			c.keyGrants[k] = append(c.keyGrants[k], g.ID)
		}
	}
	if from != g.Status {
		prev.since = now
	}
	prev.g = g
	if g.Status.Ended() {
		delete(c.live, g.ID)
	}
	c.markGrant(g.ID)
}

func failure(g access.Grant) string {
	if g.Failure != "" {
		return " (" + g.Failure + ")"
	}
	return ""
}

// planned checks the assignments a grant's plan chose: never a protected
// account, always inside the tenant's boundary and its allowed roots (as
// they were before or after the step), a permission set the tenant may
// assign or one Elevate manages.
func (c *checker) planned(g access.Grant) {
	w := c.w
	t := c.tenants[g.TenantID]
	for _, a := range g.Assignments {
		lbl := []string{w.label(g.ID), w.keyLabel(a.Key())}
		switch {
		case slices.Contains(protectedAccounts, a.AccountID):
			c.violateAbout(lbl, invBoundary, "%s plans an assignment in protected account %s", w.label(g.ID), a.AccountID)
		case a.InstanceARN != t.Boundary.InstanceARN:
			c.violateAbout(lbl, invBoundary, "%s of tenant %s plans an assignment in instance %s", w.label(g.ID), w.label(t.ID), a.InstanceARN)
		case !c.underRoots(t.Boundary.InstanceARN, a.AccountID, t.Boundary.AllowedRoots):
			c.violateAbout(lbl, invBoundary, "%s plans an assignment in %s, outside tenant %s's boundary", w.label(g.ID), a.AccountID, w.label(t.ID))
		case !c.underRoots(t.Boundary.InstanceARN, a.AccountID, t.AllowedRoots()) && !c.underRoots(t.Boundary.InstanceARN, a.AccountID, c.rootsBefore[t.ID]):
			c.violateAbout(lbl, invBoundary, "%s plans an assignment in %s, outside tenant %s's allowed roots", w.label(g.ID), a.AccountID, w.label(t.ID))
		case !t.Boundary.CanAssign(a.PermissionSetARN) && !w.ic.managed[a.PermissionSetARN]:
			c.violateAbout(lbl, invBoundary, "%s plans %s, which tenant %s may not assign", w.label(g.ID), a.PermissionSetARN, w.label(t.ID))
		}
	}
}

// underRoots reports whether an account is one of roots or under one.
func (c *checker) underRoots(instance, account string, roots []string) bool {
	if slices.Contains(roots, account) {
		return true
	}
	for _, anc := range c.w.ic.orgs[instance][account] {
		if slices.Contains(roots, anc) {
			return true
		}
	}
	return false
}

// creationAccepted checks, as Identity Center accepts a creation, that the
// account is not protected and that some grant that planned the assignment
// belongs to a tenant whose boundary covers it.
func (c *checker) creationAccepted(k access.AssignmentKey) {
	w := c.w
	if slices.Contains(protectedAccounts, k.AccountID) {
		c.violateAbout([]string{w.keyLabel(k)}, invBoundary, "an assignment is being created in protected account %s: %s", k.AccountID, w.keyLabel(k))
		return
	}
	for _, id := range c.keyGrants[k] {
		t := c.tenants[c.grants[id].g.TenantID]
		if t.Boundary.InstanceARN == k.InstanceARN && c.underRoots(k.InstanceARN, k.AccountID, t.Boundary.AllowedRoots) &&
			(t.Boundary.CanAssign(k.PermissionSetARN) || w.ic.managed[k.PermissionSetARN]) {
			return
		}
	}
	c.violateAbout([]string{w.keyLabel(k)}, invBoundary, "%s is being created for no grant whose tenant's boundary covers it", w.keyLabel(k))
}

// afterStep checks the grants and assignments the step touched, the time
// bounds, and, when nothing is in flight, that nothing is left behind.
func (c *checker) afterStep() {
	w := c.w
	w.ic.settle(w.now())
	for len(c.dirtyGrants) > 0 || len(c.dirtyKeys) > 0 {
		grants, keys := c.dirtyGrants, c.dirtyKeys
		c.dirtyGrants, c.dirtyKeys = nil, nil
		clear(c.isDirty)
		clear(c.keyDirty)
		for _, id := range grants {
			c.checkGrant(id)
		}
		for _, k := range keys {
			for _, id := range c.keyGrants[k] {
				c.checkGrant(id)
			}
			c.checkKey(k)
		}
	}
	if c.changed && c.quiet() {
		c.changed = false
		c.checkQuiet()
	}
}

// claimed reports whether an assignment state means the grant took part in
// the assignment's ledger entry.
func claimed(s access.AssignmentState) bool {
	return s == access.AssignmentCreating || s == access.AssignmentActive || s == access.AssignmentDeleting
}

// checkGrant: an active grant's assignments all exist (nothing taken
// away); an ended grant's assignments neither exist nor are being created,
// unless standing or claimed by another grant that has not ended (honest
// status).
func (c *checker) checkGrant(id string) {
	w := c.w
	v := c.grants[id]
	g := v.g
	switch {
	case g.Status == access.GrantActive:
		for _, a := range g.Assignments {
			if _, gone := c.removed[a.Key()]; !w.ic.present[a.Key()] && !gone {
				c.violateAbout([]string{w.label(g.ID), w.keyLabel(a.Key())}, invTakenAway, "%s is active but %s does not exist", w.label(g.ID), w.keyLabel(a.Key()))
			}
		}
	case g.Status.Ended():
		for _, a := range g.Assignments {
			k := a.Key()
			if a.State == access.AssignmentPlanned || a.External || w.ic.standing[k] {
				continue
			}
			if (w.ic.present[k] || w.ic.creating(k)) && !c.claimedByOther(k, g.ID) {
				what := "exists"
				if !w.ic.present[k] {
					what = "is still being created"
				}
				c.violateAbout([]string{w.label(g.ID), w.keyLabel(k)}, invHonest, "%s is %s but %s %s and no live grant holds it", w.label(g.ID), g.Status, w.keyLabel(k), what)
			}
		}
	}
}

// heldByActive reports whether an active grant holds the assignment.
func (c *checker) heldByActive(k access.AssignmentKey) bool {
	for _, id := range c.keyGrants[k] {
		g := c.grants[id].g
		if g.Status != access.GrantActive {
			continue
		}
		for _, a := range g.Assignments {
			if a.Key() == k {
				return true
			}
		}
	}
	return false
}

// claimedByOther reports whether a grant other than id that has not ended
// holds the assignment.
func (c *checker) claimedByOther(k access.AssignmentKey, id string) bool {
	for _, other := range c.keyGrants[k] {
		if other == id {
			continue
		}
		g := c.grants[other].g
		if g.Status.Ended() {
			continue
		}
		for _, a := range g.Assignments {
			if a.Key() == k && claimed(a.State) {
				return true
			}
		}
	}
	return false
}

// checkKey: standing access is never gone.
func (c *checker) checkKey(k access.AssignmentKey) {
	if c.w.ic.standing[k] && !c.w.ic.present[k] {
		c.violateAbout([]string{c.w.keyLabel(k)}, invTakenAway, "standing access %s was deleted", c.w.keyLabel(k))
	}
}

// quiet reports whether nothing is in flight: no grant provisioning or
// revoking, no Identity Center operation running.
func (c *checker) quiet() bool {
	if len(c.w.ic.pending) > 0 {
		return false
	}
	for id := range c.live {
		if s := c.grants[id].g.Status; s == access.GrantProvisioning || s == access.GrantRevoking {
			return false
		}
	}
	return true
}

// checkQuiet: every assignment that exists is standing or held by an active
// grant (nothing left behind).
func (c *checker) checkQuiet() {
	w := c.w
	keys := make([]access.AssignmentKey, 0, len(w.ic.present))
	for k := range w.ic.present {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	for _, k := range keys {
		if w.ic.standing[k] {
			continue
		}
		held := false
		for _, id := range c.keyGrants[k] {
			g := c.grants[id].g
			if g.Status != access.GrantActive {
				continue
			}
			for _, a := range g.Assignments {
				held = held || a.Key() == k && a.State == access.AssignmentActive
			}
		}
		if !held {
			c.violateAbout(append([]string{w.keyLabel(k)}, c.w.labelsOf(c.keyGrants[k])...), invLeftBehind, "%s exists while nothing is in flight, and no active grant holds it", w.keyLabel(k))
		}
	}
}

// afterCleanSweep: a sweep that met no fault ended every active grant
// more than overdueGrace past its end when it started.
func (c *checker) afterCleanSweep(start time.Time) {
	for _, id := range sortedKeys(c.live) {
		g := c.grants[id].g
		if g.Status == access.GrantActive && g.ExpiresAt.Add(overdueGrace).Before(start) {
			c.violateAbout([]string{c.w.label(id)}, invExpiry, "%s is still active after a clean sweep, %s past its end", c.w.label(id), start.Sub(g.ExpiresAt))
		}
	}
}

// watch checks the time bounds once faults have stopped: no active grant
// more than a sweep period and the grace past its end, no grant
// provisioning or revoking for longer than settleWithin, no request pending
// past its window and a sweep.
func (c *checker) watch() {
	w := c.w
	now := w.now()
	for _, id := range sortedKeys(c.live) {
		v := c.grants[id]
		g := v.g
		switch g.Status {
		case access.GrantActive:
			if late := now.Sub(later(g.ExpiresAt, w.faultsStopped)); late > sweepEvery+overdueGrace+expiryMargin {
				c.violateAbout([]string{w.label(id)}, invExpiry, "%s is still active %s past its end (%s after faults stopped)", w.label(id), now.Sub(g.ExpiresAt), late)
			}
		case access.GrantProvisioning, access.GrantRevoking:
			if d := now.Sub(later(v.since, w.faultsStopped)); d > settleWithin {
				c.violateAbout([]string{w.label(id)}, invOnce, "%s has been %s for %s since faults stopped", w.label(id), g.Status, d)
			}
		}
	}
	removed := make([]access.AssignmentKey, 0, len(c.removed))
	for k := range c.removed {
		removed = append(removed, k)
	}
	slices.SortFunc(removed, compareKeys)
	for _, k := range removed {
		if d := now.Sub(later(c.removed[k], w.faultsStopped)); c.heldByActive(k) && d > repairWithin {
			c.violateAbout([]string{w.keyLabel(k)}, invTakenAway, "%s, deleted outside Elevate, is not made again %s after faults stopped while an active grant holds it", w.keyLabel(k), d)
		}
	}
	for _, id := range sortedKeys(c.pending) {
		r := c.requests[id].r
		if now.Sub(later(r.ApprovalExpiresAt, w.faultsStopped)) > sweepEvery+expiryMargin {
			c.violateAbout([]string{w.label(id)}, invOnce, "%s is still pending %s past its approval window", w.label(id), now.Sub(r.ApprovalExpiresAt))
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// settled reports whether every request and grant of the episode has
// reached a final state.
func (c *checker) settled() bool {
	return len(c.live) == 0 && len(c.pending) == 0
}

// final checks the end of an episode: Identity Center holds exactly the
// standing access, no operation is in flight, the ledger is empty, and
// every approved request has exactly one grant.
func (c *checker) final() {
	w := c.w
	var keys []access.AssignmentKey
	for k := range w.ic.present {
		keys = append(keys, k)
	}
	for k := range w.ic.standing {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	for _, k := range slices.Compact(keys) {
		switch {
		case w.ic.present[k] && !w.ic.standing[k]:
			c.violateAbout(append([]string{w.keyLabel(k)}, w.labelsOf(c.keyGrants[k])...), invLeftBehind, "%s exists after every grant ended", w.keyLabel(k))
		case !w.ic.present[k]:
			c.violateAbout([]string{w.keyLabel(k)}, invTakenAway, "standing access %s is gone", w.keyLabel(k))
		}
	}
	if n := len(w.ic.pending); n > 0 {
		c.violate(invLeftBehind, "%d Identity Center operations still running after every grant ended", n)
	}
	page, err := w.backend.ListLedgerEntries(w.ctx, access.PageRequest{Limit: 100})
	switch {
	case err != nil:
		c.violate(invLeftBehind, "list the ledger: %v", err)
	case len(page.Items) > 0:
		e := page.Items[0]
		c.violateAbout(append([]string{w.keyLabel(e.Key)}, w.labelsOf(c.keyGrants[e.Key])...), invLeftBehind,
			"%d ledger entries left after every grant ended, first %s %s holders %s", len(page.Items), w.keyLabel(e.Key), e.State, w.holdersLabel(e.Holders))
	}
	for _, id := range sortedKeys(c.requests) {
		r := c.requests[id].r
		if r.Status == access.RequestApproved && len(c.requestGrants[id]) != 1 {
			c.violateAbout([]string{w.label(id)}, invOnce, "approved %s has %d grants", w.label(id), len(c.requestGrants[id]))
		}
	}
}
