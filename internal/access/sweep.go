package access

import (
	"context"
	"errors"
	"fmt"
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

// AssignmentLister lists a user's account assignments in Identity Center.
// Identity Center adapters may implement it; the sweeper then looks for
// assignments of watched permission sets that no ledger entry explains.
type AssignmentLister interface {
	AssignmentsOf(ctx context.Context, instanceARN, userID string) ([]AssignmentKey, error)
}

// PermissionSetCollector removes Elevate-managed permission sets no
// assignment uses any more. Identity Center adapters may implement it.
type PermissionSetCollector interface {
	ManagedPermissionSets(ctx context.Context, t Tenant) ([]string, error)
	DeleteManagedPermissionSetIfUnused(ctx context.Context, t Tenant, arn string) (bool, error)
}

// Sweep timings.
const (
	// overdueGrace is how long past its end an active grant may stay before
	// the sweeper ends it (its schedule normally does it on time).
	overdueGrace = time.Minute
	// stuckAfter is how long a grant may sit in provisioning or revoking
	// without a change before the sweeper starts its workflow again.
	stuckAfter = 15 * time.Minute
	sweepPage  = 100
)

// SweepReport says what one sweep found and fixed.
type SweepReport struct {
	Tenants             int
	GrantsExpired       int
	GrantsRestarted     int
	RequestsExpired     int
	OrphansReleased     int
	AssignmentsMissing  int
	AssignmentsRepaired int
	// AssignmentsUntracked counts assignments of Elevate-managed or assignable
	// permission sets, for users Elevate assigned something to, that no ledger
	// entry explains: access Elevate may have made and lost track of.
	AssignmentsUntracked int
	PermissionSetsGone   int
	Problems             []string
	TenantsWithProblems  []string
}

// Sweep finds work the workflows did not finish and finishes it: active
// grants past their end (a lost schedule), grants stuck in provisioning or
// revoking (a crashed or failed execution), pending requests past their
// approval window (a lost timer). It reconciles the deployment's ledger with
// Identity Center: assignments no live grant holds are released, creations
// whose issuer died are settled, and assignments that vanished while live
// grants hold them (standing access included) are reported and made again.
// Every fix goes through the same ledger operations as the workflows, so a
// sweep racing a workflow is harmless.
func (s *Operator) Sweep(ctx context.Context) (SweepReport, error) {
	ss, ok := s.store.(SweepStore)
	if !ok {
		return SweepReport{}, errors.New("this store cannot be swept")
	}
	var rep SweepReport
	inUse, watched := map[string]bool{}, map[string]bool{}
	if err := s.reconcile(ctx, &rep, inUse); err != nil {
		rep.Problems = append(rep.Problems, fmt.Sprintf("ledger: %v", err))
		inUse = nil // unknown: collect no permission set this time
	}
	var after []byte
	for {
		page, err := ss.ListTenantIDs(ctx, PageRequest{Limit: sweepPage, After: after})
		if err != nil {
			return rep, fmt.Errorf("list tenants: %w", err)
		}
		for _, id := range page.Items {
			rep.Tenants++
			if err := s.sweepTenant(ctx, ss, id, inUse, watched, &rep); err != nil {
				rep.Problems = append(rep.Problems, fmt.Sprintf("tenant %s: %v", id, err))
				rep.TenantsWithProblems = append(rep.TenantsWithProblems, id)
			}
		}
		if after = page.Next; after == nil {
			break
		}
	}
	if err := s.findUntracked(ctx, watched, &rep); err != nil {
		rep.Problems = append(rep.Problems, fmt.Sprintf("untracked assignments: %v", err))
	}
	return rep, nil
}

// findUntracked lists the assignments of every user Elevate recently
// assigned something to, and reports those of watched permission sets
// (Elevate-managed, or assignable to a tenant) that no ledger entry
// explains. It reports and never deletes: such an assignment may be
// standing access an administrator made; the audit trail and the alarm let
// a person decide. It costs one Identity Center call per user.
func (s *core) findUntracked(ctx context.Context, watched map[string]bool, rep *SweepReport) error {
	lister, ok := s.ic.(AssignmentLister)
	if !ok || len(watched) == 0 {
		return nil
	}
	return eachPage(func(p PageRequest) (Page[TouchedPrincipal], error) {
		return s.ledger.ListTouchedPrincipals(ctx, p)
	}, func(tp TouchedPrincipal) error {
		keys, err := lister.AssignmentsOf(ctx, tp.InstanceARN, tp.UserID)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if !watched[k.PermissionSetARN] {
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
		return nil
	})
}

func (s *core) sweepTenant(ctx context.Context, ss SweepStore, tenantID string, inUse, watched map[string]bool, rep *SweepReport) error {
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, ps := range t.Boundary.Assignable {
		watched[ps] = true
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
		if err := s.workflow.EndApproval(ctx, got); err != nil {
			s.report(ctx, Problem{ProblemWorkflow, "end approval wait of request " + r.ID, err})
		}
		return nil
	}); err != nil {
		errs = append(errs, fmt.Errorf("stale requests: %w", err))
	}
	if pc, ok := s.ic.(PermissionSetCollector); ok && inUse != nil {
		if err := s.collectPermissionSets(ctx, pc, t, inUse, watched, rep); err != nil {
			errs = append(errs, fmt.Errorf("managed permission sets: %w", err))
		}
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
// grants that hold it and against Identity Center, and records in inUse the
// permission sets the ledger names.
func (s *core) reconcile(ctx context.Context, rep *SweepReport, inUse map[string]bool) error {
	return eachPage(func(p PageRequest) (Page[LedgerEntry], error) {
		return s.ledger.ListLedgerEntries(ctx, p)
	}, func(e LedgerEntry) error {
		inUse[e.Key.PermissionSetARN] = true
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
			return s.checkPresent(ctx, e, live, rep)
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

// collectPermissionSets deletes managed permission sets no assignment uses,
// except those a live ledger entry still names.
func (s *core) collectPermissionSets(ctx context.Context, pc PermissionSetCollector, t Tenant, inUse, watched map[string]bool, rep *SweepReport) error {
	if t.Boundary.InstanceARN == "" {
		return nil
	}
	arns, err := pc.ManagedPermissionSets(ctx, t)
	if err != nil {
		return err
	}
	for _, arn := range arns {
		watched[arn] = true
		if inUse[arn] {
			continue
		}
		deleted, err := pc.DeleteManagedPermissionSetIfUnused(ctx, t, arn)
		if err != nil {
			return err
		}
		if deleted {
			rep.PermissionSetsGone++
		}
	}
	return nil
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
