package access

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// SweepStore is what the sweeper reads beyond the Store and the ledger:
// every tenant, and the active grants past their end. Nothing on a request
// path uses it.
type SweepStore interface {
	ListTenantIDs(ctx context.Context, p PageRequest) (Page[string], error)
	// ListGrantsExpiringBefore lists active grants whose ExpiresAt is before
	// t, earliest first.
	ListGrantsExpiringBefore(ctx context.Context, tenantID string, t time.Time, p PageRequest) (Page[Grant], error)
}

// SweepCheckpoints keeps where the sweeper stopped, between runs: the tenant
// the next run starts its round of tenants with, and the user after which
// the next slice of the assignment audit begins. Stores may implement it;
// without it every run starts at the beginning.
type SweepCheckpoints interface {
	// GetSweepCheckpoint returns a checkpoint's position, "" when none is
	// recorded.
	GetSweepCheckpoint(ctx context.Context, name string) (string, error)
	PutSweepCheckpoint(ctx context.Context, name, position string) error
}

// The sweeper's checkpoints.
const (
	CheckpointTenants = "tenants"
	CheckpointAudit   = "audit"
)

// SweepQueue hands tenants to the per-tenant sweep (SweepTenant), which runs
// elsewhere: an SQS queue and its consumer function on AWS. Optional:
// without it Sweep sweeps every tenant itself.
type SweepQueue interface {
	EnqueueTenantSweeps(ctx context.Context, tenantIDs []string) error
}

// AssignmentLister lists a user's account assignments in Identity Center.
// Identity Center adapters may implement it; the sweeper's audit then costs
// one listing per user (instead of one call per ledger entry) and finds
// assignments of watched permission sets that no ledger entry explains.
type AssignmentLister interface {
	AssignmentsOf(ctx context.Context, instanceARN, userID string) ([]AssignmentKey, error)
}

// PermissionSetCollector removes Elevate-managed permission sets no
// assignment uses any more. Identity Center adapters may implement it.
type PermissionSetCollector interface {
	// ManagedPermissionSets lists the instance's Elevate-managed permission
	// sets, leaving out, without looking at them, those inUse says are in
	// use.
	ManagedPermissionSets(ctx context.Context, instanceARN string, inUse func(arn string) bool) ([]string, error)
	DeleteManagedPermissionSetIfUnused(ctx context.Context, instanceARN, arn string) (bool, error)
}

// Sweep timings and sizes.
const (
	// overdueGrace is how long past its end an active grant may stay before
	// the sweeper ends it (its schedule normally does it on time).
	overdueGrace = time.Minute
	// stuckAfter is how long a grant may sit in provisioning or revoking
	// without a change before the sweeper starts its workflow again.
	stuckAfter = 15 * time.Minute
	sweepPage  = 100
	// sweepBatch is how many tenants are handed to the queue at once (SQS
	// sends at most 10 messages in one call).
	sweepBatch = 10
	// DefaultSweepAuditUsers is how many users one sweep audits in Identity
	// Center when Config.SweepAuditUsers is zero.
	DefaultSweepAuditUsers = 300
	// SweepAuditSeconds is how long one sweep's audit may take at the
	// sweeper's share of the Identity Center rate: about half of its
	// 5-minute run, at one listing per user.
	SweepAuditSeconds = 150
)

// SweepAuditUsersAt is SweepAuditUsers for a sweeper whose share of the
// Identity Center rate is tps calls per second.
func SweepAuditUsersAt(tps float64) int { return max(1, int(tps*SweepAuditSeconds)) }

// SweepReport says what one sweep found and fixed.
type SweepReport struct {
	Tenants int
	// TenantsQueued counts the tenants handed to the queue (SweepQueue)
	// rather than swept by this run.
	TenantsQueued   int
	GrantsExpired   int
	GrantsRestarted int
	// GrantsStarted counts scheduled grants found past their start.
	GrantsStarted   int
	RequestsExpired int
	// ReviewsOverdue counts break-glass reviews this sweep found past their
	// due time and announced (review.overdue).
	ReviewsOverdue      int
	OrphansReleased     int
	AssignmentsMissing  int
	AssignmentsRepaired int
	// AssignmentsUntracked counts assignments of Elevate-managed or assignable
	// permission sets, for users Elevate assigned something to, that no ledger
	// entry explains: access Elevate may have made and lost track of.
	AssignmentsUntracked int
	PermissionSetsGone   int
	// CutSetsReconciled counts permission sets whose session cuts were put
	// into Identity Center (pending ones, or expired ones taken out).
	CutSetsReconciled int
	// UsersAudited of UsersToAudit had their assignments compared with the
	// ledger in this run; the audit goes on where it stopped next time.
	UsersAudited        int
	UsersToAudit        int
	Problems            []string
	TenantsWithProblems []string
}

// Sweep finds work the workflows did not finish and finishes it. Each
// tenant is swept on its own (SweepTenant): in this run, or, with a
// SweepQueue, by the queue's consumers, in a round that starts where the
// last one left off (the tenants checkpoint) so that no tenant waits behind
// the others for ever. Then, once for the deployment, it reconciles the
// ledger with the grants (assignments no live grant holds are released,
// creations whose issuer died are settled), collects the managed permission
// sets no ledger entry names, and audits a slice of the users Elevate
// assigned something to against Identity Center: assignments that vanished
// while live grants hold them (standing access included) are reported and
// made again, and assignments of watched sets no ledger entry explains are
// reported. Every fix goes through the same ledger operations as the
// workflows, so a sweep racing a workflow is harmless.
func (s *Operator) Sweep(ctx context.Context) (SweepReport, error) {
	ss, ok := s.store.(SweepStore)
	if !ok {
		return SweepReport{}, errors.New("this store cannot be swept")
	}
	var rep SweepReport
	ids, err := s.tenantRound(ctx, ss)
	if err != nil {
		return rep, err
	}
	if err := s.sweepTenants(ctx, ss, ids, &rep); err != nil {
		return rep, err
	}
	d := deploymentSweep{inUse: map[string]bool{}, watched: map[string]bool{}, instances: map[string]bool{},
		known: map[AssignmentKey]bool{}, active: map[string][]LedgerEntry{}}
	for _, id := range ids {
		t, err := s.tenant(ctx, id)
		if err != nil {
			continue // reported by its own sweep
		}
		for _, ps := range t.Boundary.Assignable {
			d.watched[ps] = true
		}
		if t.Boundary.InstanceARN != "" {
			d.instances[t.Boundary.InstanceARN] = true
		}
	}
	ledgerKnown := true
	if err := s.reconcile(ctx, &rep, &d); err != nil {
		rep.Problems = append(rep.Problems, fmt.Sprintf("ledger: %v", err))
		ledgerKnown = false // unknown: collect no permission set, audit nothing this time
	}
	if ledgerKnown {
		if pc, ok := s.ic.(PermissionSetCollector); ok {
			if err := s.collectPermissionSets(ctx, pc, &d, &rep); err != nil {
				rep.Problems = append(rep.Problems, fmt.Sprintf("managed permission sets: %v", err))
			}
		}
		if err := s.auditAssignments(ctx, &d, &rep); err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("assignment audit: %v", err))
		}
	}
	if err := s.sweepCuts(ctx, &rep); err != nil {
		rep.Problems = append(rep.Problems, fmt.Sprintf("session cuts: %v", err))
	}
	return rep, nil
}

// SweepTenant sweeps one tenant: active grants past their end (a lost
// schedule), grants stuck in provisioning or revoking (a crashed or failed
// execution), pending requests past their approval window (a lost timer).
// It calls no Identity Center API: the queue's consumers run it side by
// side without touching the deployment's Identity Center budget.
func (s *Operator) SweepTenant(ctx context.Context, tenantID string) (SweepReport, error) {
	ss, ok := s.store.(SweepStore)
	if !ok {
		return SweepReport{}, errors.New("this store cannot be swept")
	}
	rep := SweepReport{Tenants: 1}
	if err := s.sweepTenant(ctx, ss, tenantID, &rep); err != nil {
		rep.Problems = append(rep.Problems, fmt.Sprintf("tenant %s: %v", tenantID, err))
		rep.TenantsWithProblems = append(rep.TenantsWithProblems, tenantID)
	}
	return rep, nil
}

// tenantRound lists every tenant, starting with the one the tenants
// checkpoint names and wrapping around: the order of this run's round.
func (s *core) tenantRound(ctx context.Context, ss SweepStore) ([]string, error) {
	var ids []string
	if err := eachPage(func(p PageRequest) (Page[string], error) { return ss.ListTenantIDs(ctx, p) },
		func(id string) error { ids = append(ids, id); return nil }); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	if cp, ok := s.store.(SweepCheckpoints); ok {
		at, err := cp.GetSweepCheckpoint(ctx, CheckpointTenants)
		if err != nil {
			return nil, fmt.Errorf("tenants checkpoint: %w", err)
		}
		if i := slices.Index(ids, at); i > 0 {
			ids = append(ids[i:], ids[:i]...)
		}
	}
	return ids, nil
}

// sweepTenants sweeps the round's tenants, or hands them to the queue, in
// batches. The tenants checkpoint follows the round, so that a run cut short
// (its timeout, a failing queue) starts the next one where it stopped; a
// complete round moves the next one's start a batch further, so every
// tenant takes its turn at the front.
func (s *core) sweepTenants(ctx context.Context, ss SweepStore, ids []string, rep *SweepReport) error {
	cp, _ := s.store.(SweepCheckpoints)
	save := func(i int) {
		if cp == nil || len(ids) == 0 {
			return
		}
		if err := cp.PutSweepCheckpoint(ctx, CheckpointTenants, ids[i%len(ids)]); err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("tenants checkpoint: %v", err))
		}
	}
	for i := 0; i < len(ids); i += sweepBatch {
		if ctx.Err() != nil {
			save(i)
			return ctx.Err()
		}
		batch := ids[i:min(i+sweepBatch, len(ids))]
		if s.sweepQueue != nil {
			if err := s.sweepQueue.EnqueueTenantSweeps(ctx, batch); err != nil {
				save(i)
				return fmt.Errorf("queue the sweeps of %d tenants: %w", len(ids)-i, err)
			}
			rep.Tenants += len(batch)
			rep.TenantsQueued += len(batch)
		} else {
			for _, id := range batch {
				rep.Tenants++
				if err := s.sweepTenant(ctx, ss, id, rep); err != nil {
					rep.Problems = append(rep.Problems, fmt.Sprintf("tenant %s: %v", id, err))
					rep.TenantsWithProblems = append(rep.TenantsWithProblems, id)
				}
			}
		}
		if (i/sweepBatch)%10 == 9 {
			save(i + sweepBatch)
		}
	}
	if len(ids) > 0 {
		save(max(sweepBatch%len(ids), 1))
	}
	return nil
}

// deploymentSweep is what the deployment-wide part of a sweep learns as it
// goes.
type deploymentSweep struct {
	// inUse are the permission sets some ledger entry names.
	inUse map[string]bool
	// watched are the permission sets Elevate may assign: the tenants'
	// assignable ones, those the ledger names, the managed ones.
	watched map[string]bool
	// instances are the Identity Center instances of the tenants and the
	// ledger.
	instances map[string]bool
	// known are the ledger's keys; active its active entries live grants
	// hold, by user (userKey).
	known  map[AssignmentKey]bool
	active map[string][]LedgerEntry
}

func userKey(instanceARN, userID string) string { return instanceARN + "\x00" + userID }

// auditAssignments compares the assignments of a slice of the users Elevate assigned
// something to (and of every user an active entry names) with the ledger:
// at most SweepAuditUsers of them per run, in key order from the audit
// checkpoint, wrapping around. With an AssignmentLister each user costs one
// listing (a page per 100 assignments); without one, one call per active
// entry.
func (s *core) auditAssignments(ctx context.Context, d *deploymentSweep, rep *SweepReport) error {
	users := map[string]TouchedPrincipal{}
	for k, es := range d.active {
		users[k] = TouchedPrincipal{InstanceARN: es[0].Key.InstanceARN, UserID: es[0].Key.PrincipalID}
	}
	if err := eachPage(func(p PageRequest) (Page[TouchedPrincipal], error) {
		return s.ledger.ListTouchedPrincipals(ctx, p)
	}, func(tp TouchedPrincipal) error {
		users[userKey(tp.InstanceARN, tp.UserID)] = tp
		return nil
	}); err != nil {
		return err
	}
	keys := slices.Sorted(maps.Keys(users))
	rep.UsersToAudit = len(keys)
	if len(keys) == 0 {
		return nil
	}
	cp, _ := s.store.(SweepCheckpoints)
	start := 0
	if cp != nil {
		after, err := cp.GetSweepCheckpoint(ctx, CheckpointAudit)
		if err != nil {
			return fmt.Errorf("audit checkpoint: %w", err)
		}
		start, _ = slices.BinarySearch(keys, after)
		if start < len(keys) && keys[start] == after {
			start++
		}
	}
	lister, _ := s.ic.(AssignmentLister)
	n := min(s.auditUsers, len(keys))
	var last string
	defer func() {
		if cp != nil && last != "" {
			if err := cp.PutSweepCheckpoint(ctx, CheckpointAudit, last); err != nil {
				rep.Problems = append(rep.Problems, fmt.Sprintf("audit checkpoint: %v", err))
			}
		}
	}()
	for i := 0; i < n; i++ {
		k := keys[(start+i)%len(keys)]
		if err := s.auditUser(ctx, lister, users[k], d.active[k], d, rep); err != nil {
			return err
		}
		last = k
		rep.UsersAudited++
	}
	return nil
}

// auditUser audits one user. An active entry whose assignment is not listed
// is checked again from the start (its entry read anew, the assignment asked
// for), since the listing may predate a change, before it is repaired.
func (s *core) auditUser(ctx context.Context, lister AssignmentLister, u TouchedPrincipal, active []LedgerEntry, d *deploymentSweep, rep *SweepReport) error {
	if lister == nil {
		for _, e := range active {
			if err := s.recheckPresent(ctx, e.Key, rep); err != nil {
				return err
			}
		}
		return nil
	}
	listed, err := lister.AssignmentsOf(ctx, u.InstanceARN, u.UserID)
	if err != nil {
		return err
	}
	present := map[AssignmentKey]bool{}
	for _, k := range listed {
		present[k] = true
		if !d.watched[k.PermissionSetARN] || d.known[k] {
			continue
		}
		_, err := s.ledger.GetLedgerEntry(ctx, k)
		switch {
		case errors.Is(err, ErrNotFound):
			rep.AssignmentsUntracked++
			s.report(ctx, Problem{ProblemAssignmentUntracked, fmt.Sprintf("assignment of %s to user %s in account %s has no ledger entry", k.PermissionSetARN, k.PrincipalID, k.AccountID), errors.New("untracked assignment")})
		case err != nil:
			return err
		}
	}
	for _, e := range active {
		if present[e.Key] {
			continue
		}
		if err := s.recheckPresent(ctx, e.Key, rep); err != nil {
			return err
		}
	}
	return nil
}

// recheckPresent reads an entry again and, if it is still active and held
// by live grants, makes sure its assignment exists (checkPresent).
func (s *core) recheckPresent(ctx context.Context, k AssignmentKey, rep *SweepReport) error {
	e, err := s.ledger.GetLedgerEntry(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if e.State != LedgerActive {
		return nil
	}
	live, err := s.liveHolders(ctx, e)
	if err != nil || len(live) == 0 {
		return err
	}
	return s.checkPresent(ctx, e, live, rep)
}

func (s *core) sweepTenant(ctx context.Context, ss SweepStore, tenantID string, rep *SweepReport) error {
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	now := s.clock()
	var errs []error
	// Active grants past their end.
	if err := eachPage(func(p PageRequest) (Page[Grant], error) {
		return ss.ListGrantsExpiringBefore(ctx, t.ID, now.Add(-overdueGrace), p)
	}, func(g Grant) error {
		if _, err := s.expireGrant(ctx, t.ID, g.ID, g.Generation); err != nil {
			return err
		}
		rep.GrantsExpired++
		return nil
	}); err != nil {
		errs = append(errs, fmt.Errorf("overdue grants: %w", err))
	}
	// Scheduled grants past their start: their start schedule was lost.
	if err := eachPage(func(p PageRequest) (Page[Grant], error) {
		return s.store.ListGrants(ctx, t.ID, GrantFilter{Statuses: []GrantStatus{GrantScheduled}}, p)
	}, func(g Grant) error {
		if now.Sub(g.StartsAt) < overdueGrace {
			return nil
		}
		got, err := s.startScheduled(ctx, t.ID, g.ID, g.Generation)
		if err != nil {
			return err
		}
		if got.Status == GrantProvisioning {
			rep.GrantsStarted++
		}
		return nil
	}); err != nil {
		errs = append(errs, fmt.Errorf("overdue scheduled grants: %w", err))
	}
	// Grants stuck in provisioning or revoking.
	if err := eachPage(func(p PageRequest) (Page[Grant], error) {
		return s.store.ListGrants(ctx, t.ID, GrantFilter{Statuses: []GrantStatus{GrantProvisioning, GrantRevoking}}, p)
	}, func(g Grant) error {
		if now.Sub(g.UpdatedAt) < stuckAfter {
			return nil
		}
		if err := s.restart(ctx, g); err != nil {
			return err
		}
		rep.GrantsRestarted++
		return nil
	}); err != nil {
		errs = append(errs, fmt.Errorf("stuck grants: %w", err))
	}
	// Pending requests past their approval window.
	if err := eachPage(func(p PageRequest) (Page[Request], error) {
		return s.store.ListRequests(ctx, t.ID, RequestFilter{Statuses: []RequestStatus{RequestPending}, OldestFirst: true}, p)
	}, func(r Request) error {
		if now.Before(r.ApprovalExpiresAt) {
			return nil
		}
		got, err := s.expireStaleRequest(ctx, t.ID, r.ID)
		if err != nil {
			return err
		}
		if got.Status == RequestExpired {
			rep.RequestsExpired++
		}
		s.endApproval(ctx, got)
		return nil
	}); err != nil {
		errs = append(errs, fmt.Errorf("stale requests: %w", err))
	}
	// Break-glass reviews past their due time, not yet announced: each is
	// announced once (review.overdue) and counted against its grantee.
	if err := eachPage(func(p PageRequest) (Page[Grant], error) {
		return s.store.ListPendingReviews(ctx, t.ID, ReviewFilter{Unannounced: true, DueBy: now}, p)
	}, func(g Grant) error {
		done, err := s.markOverdue(ctx, t, g.ID)
		if done {
			rep.ReviewsOverdue++
		}
		return err
	}); err != nil {
		errs = append(errs, fmt.Errorf("overdue reviews: %w", err))
	}
	return errors.Join(errs...)
}

// restart touches a stuck grant (a new revision, so its next execution has a
// new name) and starts its workflow again.
func (s *core) restart(ctx context.Context, g Grant) error {
	g, err := s.saveGrant(ctx, g)
	if err != nil {
		return err
	}
	if g.Status == GrantProvisioning {
		return s.workflow.StartProvisioning(ctx, g)
	}
	return s.workflow.StartDeprovisioning(ctx, g)
}

// reconcile checks every entry of the deployment's ledger against the
// grants that hold it, and records in d the permission sets, instances and
// keys the ledger names and the active entries the audit checks against
// Identity Center.
func (s *core) reconcile(ctx context.Context, rep *SweepReport, d *deploymentSweep) error {
	return eachPage(func(p PageRequest) (Page[LedgerEntry], error) {
		return s.ledger.ListLedgerEntries(ctx, p)
	}, func(e LedgerEntry) error {
		d.inUse[e.Key.PermissionSetARN] = true
		d.watched[e.Key.PermissionSetARN] = true
		d.instances[e.Key.InstanceARN] = true
		d.known[e.Key] = true
		live, err := s.liveHolders(ctx, e)
		if err != nil {
			return err
		}
		switch {
		case e.State == LedgerDeleting:
			if len(live) > 0 {
				return nil // its deleting grant is at work
			}
			return s.deleteOrphan(ctx, e, rep)
		case e.creationInFlight() && e.OperationID == "" || e.creationInFlight() && len(live) == 0:
			_, err := s.settleInFlight(ctx, e) // its issuer died before recording the operation
			return err
		case len(live) == 0:
			return s.releaseOrphan(ctx, e, rep)
		case e.State == LedgerCreating && s.repairing(ctx, e):
			return s.driveCreation(ctx, e)
		case e.State == LedgerActive:
			k := userKey(e.Key.InstanceARN, e.Key.PrincipalID)
			d.active[k] = append(d.active[k], e)
		}
		return nil
	})
}

// liveHolders returns the holders of an entry whose grants have not ended.
func (s *core) liveHolders(ctx context.Context, e LedgerEntry) ([]Holder, error) {
	var live []Holder
	for _, h := range e.Holders {
		g, err := s.store.GetGrant(ctx, h.TenantID, h.GrantID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, err
		case !g.Status.Ended():
			live = append(live, h)
		}
	}
	return live, nil
}

// repairing reports whether a creating entry is one the sweeper itself
// drives: a repair, which no holder issues, or one whose issuer's grant is
// not provisioning (so no workflow will).
func (s *core) repairing(ctx context.Context, e LedgerEntry) bool {
	if e.Issuer == (Holder{}) {
		return true
	}
	g, err := s.store.GetGrant(ctx, e.Issuer.TenantID, e.Issuer.GrantID)
	return err == nil && g.Status != GrantProvisioning
}

// checkPresent makes sure the assignment of an active entry live grants
// hold exists. One that vanished (removed outside Elevate, standing access
// included) is reported in every holder's tenant and made again, as
// Elevate's own from now on, so the holders' grants mean what they say and
// their end removes it.
func (s *core) checkPresent(ctx context.Context, e LedgerEntry, live []Holder, rep *SweepReport) error {
	exists, err := s.ic.AssignmentExists(ctx, e.Assignment())
	if err != nil || exists {
		return err
	}
	rep.AssignmentsMissing++
	s.report(ctx, Problem{ProblemAssignmentMissing, fmt.Sprintf("assignment of %s in account %s held by %d grant(s) is missing from Identity Center; making it again", e.Key.PrincipalID, e.Key.AccountID, len(live)), errors.New("missing assignment")})
	now := s.clock()
	var audit []AuditEvent
	for _, h := range live {
		t, err := s.tenant(ctx, h.TenantID)
		if err != nil {
			return err
		}
		audit = append(audit, s.audit(t, systemActor(t.ID), now, AuditAssignmentMissing, "grant", h.GrantID, SeverityHigh, map[string]any{
			"account_id": e.Key.AccountID, "permission_set_arn": e.Key.PermissionSetARN, "principal_id": e.Key.PrincipalID, "was_standing": e.External,
		}))
	}
	if err := e.recreate(live, now); err != nil {
		return err
	}
	e.Revision++
	if err := s.commit(ctx, Change{Ledger: []LedgerEntry{e}, Audit: audit}); err != nil {
		return err
	}
	rep.AssignmentsRepaired++
	return s.driveCreation(ctx, e)
}

// releaseOrphan lets go of an entry no live grant holds: standing access and
// a creation never issued lose their entry; an assignment Elevate made is
// deleted (deleteOrphan, over as many sweeps as that takes).
func (s *core) releaseOrphan(ctx context.Context, e LedgerEntry, rep *SweepReport) error {
	now := s.clock()
	next := LedgerDeleting
	if e.External || e.State == LedgerCreating {
		next = ledgerGone
	}
	if err := e.to(next, now); err != nil {
		return err
	}
	e.Issuer, e.OperationID = Holder{}, ""
	e.Revision++
	if err := s.commit(ctx, Change{Ledger: []LedgerEntry{e}}); err != nil || e.Deleted {
		return err
	}
	return s.deleteOrphan(ctx, e, rep)
}

// deleteOrphan moves the deletion of an assignment no live grant holds one
// step, and audits its removal in the tenants of its last holders.
func (s *core) deleteOrphan(ctx context.Context, e LedgerEntry, rep *SweepReport) error {
	a := e.Assignment()
	now := s.clock()
	if e.OperationID == "" {
		op, err := s.ic.DeleteAssignment(ctx, a)
		if err != nil {
			return err
		}
		e.OperationID, e.UpdatedAt = op.ID, now
		e.Revision++
		return s.commit(ctx, Change{Ledger: []LedgerEntry{e}})
	}
	op, err := s.ic.DeletionStatus(ctx, a.InstanceARN, e.OperationID)
	if err != nil || op.Status == OperationInProgress {
		return err
	}
	if err := e.settleDeletion(op.Status == OperationSucceeded, now); err != nil {
		return err
	}
	e.Revision++
	c := Change{Ledger: []LedgerEntry{e}}
	if e.Deleted {
		seen := map[string]bool{}
		for _, h := range e.Holders {
			if seen[h.TenantID] {
				continue
			}
			seen[h.TenantID] = true
			if t, err := s.tenant(ctx, h.TenantID); err == nil {
				c.Audit = append(c.Audit, s.audit(t, systemActor(t.ID), now, AuditLedgerOrphanReleased, "assignment", e.Key.AccountID, SeverityHigh, map[string]any{
					"principal_id": e.Key.PrincipalID, "permission_set_arn": e.Key.PermissionSetARN,
				}))
			}
		}
		rep.OrphansReleased++
	}
	return s.commit(ctx, c)
}

// collectPermissionSets deletes, once for the deployment, the managed
// permission sets of its instances that no ledger entry names and no
// assignment uses. A set that is new (DeleteGrace in the Identity Center
// adapter) is kept: its grant, in any tenant, may be about to claim its
// first assignment. Every managed set it sees is watched by the audit.
func (s *core) collectPermissionSets(ctx context.Context, pc PermissionSetCollector, d *deploymentSweep, rep *SweepReport) error {
	var errs []error
	for _, inst := range slices.Sorted(maps.Keys(d.instances)) {
		arns, err := pc.ManagedPermissionSets(ctx, inst, func(arn string) bool { return d.inUse[arn] })
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, arn := range arns {
			d.watched[arn] = true
			deleted, err := pc.DeleteManagedPermissionSetIfUnused(ctx, inst, arn)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if deleted {
				rep.PermissionSetsGone++
			}
		}
	}
	return errors.Join(errs...)
}

// eachPage calls fn for every item of a paged list, in order.
func eachPage[T any](list func(PageRequest) (Page[T], error), fn func(T) error) error {
	var after []byte
	for {
		p, err := list(PageRequest{Limit: sweepPage, After: after})
		if err != nil {
			return err
		}
		for _, it := range p.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if after = p.Next; after == nil {
			return nil
		}
	}
}
