package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// SweepStore is what the sweeper reads beyond the Store: every tenant, the
// active grants past their end, and the assignment ledger. Nothing on a
// request path uses it.
type SweepStore interface {
	ListTenantIDs(ctx context.Context, p PageRequest) (Page[string], error)
	// ListGrantsExpiringBefore lists active grants whose ExpiresAt is before
	// t, earliest first.
	ListGrantsExpiringBefore(ctx context.Context, tenantID string, t time.Time, p PageRequest) (Page[Grant], error)
	ListLedgerEntries(ctx context.Context, tenantID string, p PageRequest) (Page[LedgerEntry], error)
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
	PermissionSetsGone  int
	Problems            []string
	TenantsWithProblems []string
}

// Sweep finds work the workflows did not finish and finishes it: active
// grants past their end (a lost schedule), grants stuck in provisioning or
// revoking (a crashed or failed execution), pending requests past their
// approval window (a lost timer); it reconciles ledger-owned assignments
// with Identity Center, releasing those no live grant holds and reporting
// those that vanished, and never touches external (standing) assignments.
// Every fix goes through the same domain steps as the workflows, so a sweep
// racing a workflow is harmless.
func (s *Operator) Sweep(ctx context.Context) (SweepReport, error) {
	ss, ok := s.store.(SweepStore)
	if !ok {
		return SweepReport{}, errors.New("this store cannot be swept")
	}
	var rep SweepReport
	var after []byte
	for {
		page, err := ss.ListTenantIDs(ctx, PageRequest{Limit: sweepPage, After: after})
		if err != nil {
			return rep, fmt.Errorf("list tenants: %w", err)
		}
		for _, id := range page.Items {
			rep.Tenants++
			if err := s.sweepTenant(ctx, ss, id, &rep); err != nil {
				rep.Problems = append(rep.Problems, fmt.Sprintf("tenant %s: %v", id, err))
				rep.TenantsWithProblems = append(rep.TenantsWithProblems, id)
			}
		}
		if after = page.Next; after == nil {
			return rep, nil
		}
	}
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
			s.report(ctx, "end approval wait of request "+r.ID, err)
		}
		return nil
	}); err != nil {
		errs = append(errs, fmt.Errorf("stale requests: %w", err))
	}
	if err := s.reconcile(ctx, ss, t, rep); err != nil {
		errs = append(errs, fmt.Errorf("reconcile: %w", err))
	}
	if pc, ok := s.ic.(PermissionSetCollector); ok {
		if err := s.collectPermissionSets(ctx, pc, t, rep); err != nil {
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

// reconcile checks each ledger-owned assignment: one no live grant holds is
// released (deleted from Identity Center, then from the ledger, over as many
// sweeps as the deletion takes); one a live grant holds but Identity Center
// lacks is reported. External entries are never touched.
func (s *core) reconcile(ctx context.Context, ss SweepStore, t Tenant, rep *SweepReport) error {
	return eachPage(func(p PageRequest) (Page[LedgerEntry], error) {
		return ss.ListLedgerEntries(ctx, t.ID, p)
	}, func(e LedgerEntry) error {
		if e.External {
			return nil
		}
		live, err := s.liveHolders(ctx, t.ID, e)
		if err != nil {
			return err
		}
		a := Assignment{InstanceARN: e.Key.InstanceARN, PrincipalID: e.Key.PrincipalID, AccountID: e.Key.AccountID, PermissionSetARN: e.Key.PermissionSetARN}
		switch {
		case len(live) > 0 && e.State == LedgerActive:
			exists, err := s.ic.AssignmentExists(ctx, a)
			if err != nil {
				return err
			}
			if !exists {
				rep.AssignmentsMissing++
				s.report(ctx, fmt.Sprintf("assignment of %s in account %s held by grants %v is missing from Identity Center", e.Key.PrincipalID, e.Key.AccountID, live), errors.New("missing assignment"))
			}
			return nil
		case len(live) > 0 || e.State == LedgerCreating:
			return nil // a live grant's workflow is working on it
		}
		released, err := s.releaseOrphan(ctx, t, e, a)
		if released {
			rep.OrphansReleased++
		}
		return err
	})
}

// liveHolders returns the holders of an entry whose grants have not ended.
func (s *core) liveHolders(ctx context.Context, tenantID string, e LedgerEntry) ([]string, error) {
	var live []string
	for _, id := range e.Holders {
		g, err := s.store.GetGrant(ctx, tenantID, id)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, err
		case !g.Status.Ended():
			live = append(live, id)
		}
	}
	return live, nil
}

// releaseOrphan moves an assignment nobody holds one step towards gone.
func (s *core) releaseOrphan(ctx context.Context, t Tenant, e LedgerEntry, a Assignment) (bool, error) {
	now := s.clock()
	e.Revision++
	e.UpdatedAt = now
	switch {
	case e.State != LedgerDeleting || e.OperationID == "":
		op, err := s.ic.DeleteAssignment(ctx, a)
		if err != nil {
			return false, err
		}
		e.State, e.OperationID, e.Holders = LedgerDeleting, op.ID, nil
		return false, s.commit(ctx, Change{Ledger: []LedgerEntry{e}})
	default:
		op, err := s.ic.DeletionStatus(ctx, a.InstanceARN, e.OperationID)
		if err != nil {
			return false, err
		}
		switch op.Status {
		case OperationSucceeded:
			e.Deleted = true
			ev := s.audit(t, systemActor(t.ID), now, AuditLedgerOrphanReleased, "assignment", e.Key.AccountID, SeverityHigh, map[string]any{
				"principal_id": e.Key.PrincipalID, "permission_set_arn": e.Key.PermissionSetARN,
			})
			return true, s.commit(ctx, Change{Ledger: []LedgerEntry{e}, Audit: []AuditEvent{ev}})
		case OperationFailed:
			e.OperationID = "" // try again next sweep
			return false, s.commit(ctx, Change{Ledger: []LedgerEntry{e}})
		}
		return false, nil
	}
}

// collectPermissionSets deletes managed permission sets no assignment uses,
// except those a live ledger entry still names.
func (s *core) collectPermissionSets(ctx context.Context, pc PermissionSetCollector, t Tenant, rep *SweepReport) error {
	if t.Boundary.InstanceARN == "" {
		return nil
	}
	arns, err := pc.ManagedPermissionSets(ctx, t)
	if err != nil {
		return err
	}
	var inUse []string
	ss := s.store.(SweepStore)
	if err := eachPage(func(p PageRequest) (Page[LedgerEntry], error) {
		return ss.ListLedgerEntries(ctx, t.ID, p)
	}, func(e LedgerEntry) error {
		inUse = append(inUse, e.Key.PermissionSetARN)
		return nil
	}); err != nil {
		return err
	}
	for _, arn := range arns {
		if slices.Contains(inUse, arn) {
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
