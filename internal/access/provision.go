package access

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DBResolver finds what a managed RDS permission set needs to know about a
// DB instance.
type DBResolver interface {
	// DBIResourceID returns the instance's DbiResourceId (db-…).
	DBIResourceID(ctx context.Context, t Tenant, dbInstanceARN string) (string, error)
}

// inlineExpiry is how close to its end a grant is expired inline instead of
// through a schedule.
const inlineExpiry = 60 * time.Second

// ProvisionGrant advances a provisioning grant by one step: plan its
// assignments, claim them in the ledger, create them in Identity Center, poll
// the creations, and activate the grant once every assignment exists. It is
// re-entrant and safe to repeat; a workflow calls it until done is true
// (the grant is active, failed, or was revoked meanwhile).
func (s *Steps) ProvisionGrant(ctx context.Context, tenantID, grantID string) (done bool, err error) {
	done, err = s.provisionGrant(ctx, tenantID, grantID)
	return done, laterIsNotAnError(err)
}

// laterIsNotAnError turns a throttled step into a step that is simply not
// done yet, so the workflow waits and tries again instead of failing.
func laterIsNotAnError(err error) error {
	if errors.Is(err, ErrRetryLater) {
		return nil
	}
	return err
}

func (s *core) provisionGrant(ctx context.Context, tenantID, grantID string) (done bool, err error) {
	t, g, err := s.tenantAndGrant(ctx, tenantID, grantID)
	if err != nil {
		return false, err
	}
	if g.Status != GrantProvisioning {
		return true, nil
	}
	if g.Failure != "" {
		return s.releaseAll(ctx, t, g)
	}
	if len(g.Assignments) == 0 {
		g, err = s.plan(ctx, t, g)
		if err != nil || g.Failure != "" {
			return false, err
		}
	}
	pending := false
	for i := range g.Assignments {
		g, err = s.advanceCreation(ctx, t, g, i)
		if err != nil {
			return false, fmt.Errorf("provision grant %s: %w", g.ID, err)
		}
		switch g.Assignments[i].State {
		case AssignmentFailed:
			_, err := s.failGrant(ctx, t, g, "Identity Center could not create the account assignment in "+g.Assignments[i].AccountID)
			return false, err
		case AssignmentActive:
		default:
			pending = true
		}
	}
	if pending {
		return false, nil
	}
	return true, s.activate(ctx, t, g)
}

// plan works out the grant's assignments: it checks the target against the
// boundary and protected accounts, resolves the grantee, expands an OU and
// finds or creates the permission set. A permanent problem fails the grant.
func (s *core) plan(ctx context.Context, t Tenant, g Grant) (Grant, error) {
	ancestors, err := s.ic.Ancestors(ctx, t, g.Resource)
	if err != nil {
		return g, fmt.Errorf("ancestors of %s: %w", g.Resource.ID, err)
	}
	if err := s.checkTarget(t, g.Resource, ancestors); err != nil {
		return s.failGrant(ctx, t, g, clientMessage(err))
	}
	user, err := s.ic.ResolveUser(ctx, t, g.GranteeID)
	switch {
	case errors.Is(err, ErrUserNotFound):
		return s.failGrant(ctx, t, g, fmt.Sprintf("Grantee %q has no active Identity Center user", g.GranteeID))
	case err != nil:
		return g, fmt.Errorf("resolve grantee %s: %w", g.GranteeID, err)
	case g.GranteeUserID != "" && user != g.GranteeUserID:
		return s.failGrant(ctx, t, g, fmt.Sprintf("Grantee %q now names another Identity Center user than when access was granted", g.GranteeID))
	}
	accounts := []string{g.Resource.TargetAccount()}
	if g.Resource.Type == ResourceOrganizationalUnit {
		all, truncated, err := s.ic.AccountsUnder(ctx, t, g.Resource.ID, s.maxOU)
		if err != nil {
			return g, fmt.Errorf("accounts under %s: %w", g.Resource.ID, err)
		}
		accounts = accounts[:0]
		for _, a := range all {
			anc, err := s.ic.Ancestors(ctx, t, Resource{Type: ResourceAccount, ID: a})
			if err != nil {
				return g, fmt.Errorf("ancestors of %s: %w", a, err)
			}
			if s.accountAllowed(t, a, anc) {
				accounts = append(accounts, a)
			}
		}
		if truncated {
			g.Notices = append(g.Notices, fmt.Sprintf("The organizational unit has more accounts than Elevate assigns at once; access covers the first %d.", s.maxOU))
		}
		if len(accounts) == 0 {
			return s.failGrant(ctx, t, g, "The organizational unit has no active account Elevate may grant access to")
		}
	}
	psARN, err := s.permissionSet(ctx, t, g)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return s.failGrant(ctx, t, g, e.Message)
		}
		return g, err
	}
	for _, a := range accounts {
		g.Assignments = append(g.Assignments, Assignment{
			InstanceARN: t.Boundary.InstanceARN, PermissionSetARN: psARN,
			AccountID: a, PrincipalID: user, State: AssignmentPlanned,
		})
	}
	return s.saveGrant(ctx, g)
}

// permissionSet returns the permission set a grant assigns: the catalog's for
// accounts, OUs and permission sets, a managed one for the other types.
func (s *core) permissionSet(ctx context.Context, t Tenant, g Grant) (string, error) {
	if !g.Resource.Type.Managed() {
		ps := g.PermissionSetARN
		if ps == "" { // a grant made before requests recorded their permission set
			ps = catalogPermissionSet(t.Catalog, g.Resource, g.Action)
		}
		if ps == "" {
			return "", Errorf(CodeValidationFailed, "action %q is no longer in the catalog for %s", g.Action, g.Resource.Type)
		}
		if !t.Boundary.CanAssign(ps) {
			return "", Errorf(CodeForbidden, "permission set %s is not assignable to this tenant", ps)
		}
		return ps, nil
	}
	var dbi string
	if g.Resource.Type == ResourceRDSInstance && g.Action == "connect" {
		if s.db == nil {
			return "", Errorf(CodeValidationFailed, "this deployment cannot resolve RDS instances")
		}
		id, err := s.db.DBIResourceID(ctx, t, g.Resource.ID)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", g.Resource.ID, err)
		}
		dbi = id
	}
	version := g.PolicyVersion
	if version == 0 {
		version = t.PolicyVersion
	}
	spec, err := ManagedSpec(t.Boundary.InstanceARN, g.Resource, g.Action, version, dbi)
	if err != nil {
		return "", &Error{Code: CodeValidationFailed, Message: "cannot build the managed permission set", Cause: err}
	}
	return s.ic.EnsurePermissionSet(ctx, t, spec)
}

// advanceCreation moves assignment i of g one step towards active, through
// the ledger: claim the entry (or join it), and, when this grant is the
// entry's issuer, issue and poll the creation. The grant's own assignment
// state follows the entry's.
func (s *core) advanceCreation(ctx context.Context, t Tenant, g Grant, i int) (Grant, error) {
	a := g.Assignments[i]
	me := Holder{t.ID, g.ID}
	now := s.clock()
	switch a.State {
	case AssignmentPlanned:
		entry, err := s.ledger.GetLedgerEntry(ctx, a.Key())
		switch {
		case errors.Is(err, ErrNotFound):
			exists, err := s.ic.AssignmentExists(ctx, a)
			if err != nil {
				return g, err
			}
			entry = claimEntry(a.Key(), me, exists, now)
		case err != nil:
			return g, err
		case entry.State == LedgerDeleting:
			return g, nil // its last holder is deleting it; claim it anew once it is gone
		default:
			if err := entry.join(me, now); err != nil {
				return g, err
			}
			entry.Revision++
		}
		a.State, a.External = assignmentStateOf(entry), entry.External
		g.Assignments[i] = a
		g.Revision++
		g.UpdatedAt = now
		touched := TouchedPrincipal{InstanceARN: a.InstanceARN, UserID: a.PrincipalID, ExpiresAt: now.Add(touchedFor)}
		if err := s.commit(ctx, Change{Grants: []Grant{g}, Ledger: []LedgerEntry{entry}, Touched: []TouchedPrincipal{touched}}); err != nil {
			return g, err
		}
		if a.State == AssignmentCreating && entry.Issuer == me {
			// This grant claimed a new entry: issue its creation in the
			// same step, so access waits for Identity Center alone.
			return s.advanceCreation(ctx, t, g, i)
		}
		return g, nil
	case AssignmentCreating:
		entry, err := s.ledger.GetLedgerEntry(ctx, a.Key())
		switch {
		case errors.Is(err, ErrNotFound) || (err == nil && !entry.Holds(me)):
			a.State = AssignmentFailed // its creation failed and the entry went
		case err != nil:
			return g, err
		case entry.State == LedgerActive:
			a.State, a.External = AssignmentActive, entry.External
		case entry.State == LedgerCreating && entry.Issuer == me:
			if err := s.driveCreation(ctx, entry); err != nil {
				return g, err
			}
			if entry, err = s.ledger.GetLedgerEntry(ctx, a.Key()); err != nil || entry.State != LedgerActive {
				return g, ignoreNotFound(err) // not yet; a failed creation is seen next step
			}
			a.State, a.External = AssignmentActive, entry.External
		default:
			return g, nil // another holder issues the creation
		}
		g.Assignments[i] = a
		return s.saveGrant(ctx, g)
	}
	return g, nil
}

// ignoreNotFound drops a not-found error.
func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// assignmentStateOf is what a holder's assignment is while the entry is in
// its state.
func assignmentStateOf(e LedgerEntry) AssignmentState {
	if e.State == LedgerActive {
		return AssignmentActive
	}
	return AssignmentCreating
}

// driveCreation moves the creation of an entry's assignment one step: issue
// it (recording on the entry first that it is being issued, then its
// operation id) or poll it, and record the outcome. It writes only the
// entry, under the entry's own condition, so a concurrent revoke of a holder
// can never make the operation id go unrecorded.
func (s *core) driveCreation(ctx context.Context, e LedgerEntry) error {
	a := e.Assignment()
	if e.OperationID != "" {
		return s.settleCreation(ctx, e)
	}
	switch {
	case !e.CreationIssuedAt.IsZero() && s.clock().Sub(e.CreationIssuedAt) < reissueAfter:
		return nil // another step is issuing it right now; its operation id will be recorded
	case e.CreationIssuedAt.IsZero():
		if err := e.issueCreation(s.clock()); err != nil {
			return err
		}
		e.Revision++
		if err := s.commit(ctx, Change{Ledger: []LedgerEntry{e}}); err != nil {
			return fmt.Errorf("record the creation of the assignment in %s: %w", a.AccountID, err)
		}
	}
	// Issued now, or again after the step that issued it died before it
	// could record the operation (creating an assignment that exists, or is
	// being created, is harmless). The issuer's tenant takes its fair share
	// of the instance's creation slots.
	op, err := s.ic.CreateAssignment(OnBehalfOf(ctx, e.Issuer.TenantID), a)
	issued := e.CreationIssuedAt
	if err != nil {
		if uerr := s.updateEntry(ctx, e.Key, func(cur *LedgerEntry, found bool) (bool, error) {
			if !found || !cur.creationInFlight() || cur.OperationID != "" || !cur.CreationIssuedAt.Equal(issued) {
				return false, nil
			}
			cur.Revision++
			return true, cur.issueFailed(s.clock())
		}); uerr != nil {
			return errors.Join(fmt.Errorf("create assignment in %s: %w", a.AccountID, err), uerr)
		}
		return fmt.Errorf("create assignment in %s: %w", a.AccountID, err)
	}
	if op, err = s.failedCreation(ctx, a, op); err != nil {
		return err
	}
	return s.updateEntry(ctx, e.Key, func(cur *LedgerEntry, found bool) (bool, error) {
		switch {
		case !found:
			// The entry went while the creation was in flight (its holders all
			// let go past creationSettles): record it again, so what the
			// creation makes is tracked and deleted.
			*cur = LedgerEntry{Key: e.Key, State: LedgerCreating, Holders: e.Holders, Issuer: e.Issuer,
				CreationIssuedAt: issued, Revision: 1, CreatedAt: s.clock(), UpdatedAt: s.clock()}
		case cur.State != LedgerCreating || cur.OperationID != "" || !cur.CreationIssuedAt.Equal(issued):
			return false, nil // another issue of the same creation was recorded first
		default:
			cur.Revision++
		}
		cur.OperationID, cur.UpdatedAt = op.ID, s.clock()
		if op.Status != OperationInProgress {
			return true, cur.settleCreation(op.Status == OperationSucceeded, s.clock())
		}
		return true, nil
	})
}

// settleCreation polls an entry's creation and records its outcome.
func (s *core) settleCreation(ctx context.Context, e LedgerEntry) error {
	op, err := s.ic.CreationStatus(ctx, e.Key.InstanceARN, e.OperationID)
	if err != nil {
		return fmt.Errorf("creation status in %s: %w", e.Key.AccountID, err)
	}
	if op.Status == OperationInProgress {
		return nil
	}
	if op, err = s.failedCreation(ctx, e.Assignment(), op); err != nil {
		return err
	}
	if op.Status == OperationFailed {
		s.report(ctx, Problem{ProblemCreationFailed, fmt.Sprintf("Identity Center failed to create the assignment of %s in %s: %s", e.Key.PrincipalID, e.Key.AccountID, op.Reason), errors.New("creation failed")})
	}
	return s.updateEntry(ctx, e.Key, func(cur *LedgerEntry, found bool) (bool, error) {
		if !found || cur.State != LedgerCreating || cur.OperationID != e.OperationID {
			return false, nil // settled already
		}
		cur.Revision++
		return true, cur.settleCreation(op.Status == OperationSucceeded, s.clock())
	})
}

// failedCreation checks a creation Identity Center reports failed: when the
// assignment exists all the same, an earlier issue of it (whose operation
// id was lost) made it, and the creation has succeeded.
func (s *core) failedCreation(ctx context.Context, a Assignment, op Operation) (Operation, error) {
	if op.Status != OperationFailed {
		return op, nil
	}
	exists, err := s.ic.AssignmentExists(ctx, a)
	if err != nil {
		return op, fmt.Errorf("check the failed creation in %s: %w", a.AccountID, err)
	}
	if exists {
		op.Status, op.Reason = OperationSucceeded, ""
	}
	return op, nil
}

// settleInFlight settles a creation in flight that its last holder waits
// for: it polls a recorded operation, or, when the issuing step died before
// recording it, lets creationSettles pass and asks whether the assignment
// exists. It reports whether the creation has settled.
func (s *core) settleInFlight(ctx context.Context, e LedgerEntry) (bool, error) {
	if e.OperationID != "" {
		if err := s.settleCreation(ctx, e); err != nil {
			return false, err
		}
	} else {
		if s.clock().Sub(e.CreationIssuedAt) < creationSettles {
			return false, nil
		}
		exists, err := s.ic.AssignmentExists(ctx, e.Assignment())
		if err != nil {
			return false, err
		}
		if err := s.updateEntry(ctx, e.Key, func(cur *LedgerEntry, found bool) (bool, error) {
			if !found || !cur.creationInFlight() || cur.OperationID != "" {
				return false, nil
			}
			cur.Revision++
			return true, cur.settleCreation(exists, s.clock())
		}); err != nil {
			return false, err
		}
	}
	cur, err := s.ledger.GetLedgerEntry(ctx, e.Key)
	if errors.Is(err, ErrNotFound) {
		return true, nil
	}
	return err == nil && !cur.creationInFlight(), err
}

// updateEntry changes an entry alone: it reads it, lets change edit it
// (found is false when there is none, which change may create), and writes
// it when change says so, reading again when the write lost a race.
func (s *core) updateEntry(ctx context.Context, key AssignmentKey, change func(e *LedgerEntry, found bool) (bool, error)) error {
	_, err := retry(func() (struct{}, error) {
		e, err := s.ledger.GetLedgerEntry(ctx, key)
		found := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return struct{}{}, err
		}
		write, err := change(&e, found)
		if err != nil || !write {
			return struct{}{}, err
		}
		return struct{}{}, s.commit(ctx, Change{Ledger: []LedgerEntry{e}})
	})
	return err
}

// activate makes a fully assigned grant active and arranges its end: a
// one-time schedule, or an inline expiry for a grant ending within a minute.
// The schedule is made before the grant is marked active, so an active grant
// always has one (a schedule of a grant that never became active is a no-op).
func (s *core) activate(ctx context.Context, t Tenant, g Grant) error {
	now := s.clock()
	if g.ExpiresAt.IsZero() {
		g.ExpiresAt = now.Add(time.Duration(g.DurationSeconds) * time.Second)
	}
	g.Generation++
	g.GrantedAt = now
	inline := g.ExpiresAt.Sub(now) <= inlineExpiry
	if !inline {
		if err := s.scheduler.ScheduleExpiry(ctx, g); err != nil {
			return fmt.Errorf("schedule expiry of grant %s: %w", g.ID, err)
		}
	}
	if err := g.transition(GrantActive, now); err != nil {
		return err
	}
	g.Revision++
	sys := systemActor(t.ID)
	c := Change{Grants: []Grant{g}, Audit: []AuditEvent{s.audit(t, sys, now, AuditGrantActivated, "grant", g.ID, SeverityInfo, map[string]any{
		"expires_at": g.ExpiresAt.Format(time.RFC3339), "assignments": len(g.Assignments),
	})}}
	if err := s.commit(ctx, c); err != nil {
		return err
	}
	s.observe(ctx, g)
	if inline {
		_, err := s.endGrant(ctx, t, g, sys, EndExpiry, "The grant ended within a minute of becoming active")
		return err
	}
	return nil
}

// failGrant records a permanent provisioning failure. The grant stays
// provisioning, with Failure set, until what was created is removed; then it
// and its request become failed.
func (s *core) failGrant(ctx context.Context, t Tenant, g Grant, reason string) (Grant, error) {
	g.Failure = reason
	g.Notices = append(g.Notices, "Provisioning failed: "+reason)
	return s.saveGrant(ctx, g)
}

// releaseAll takes every assignment of a failed or ending grant away (see
// release), and finishes the grant once all are gone.
func (s *core) releaseAll(ctx context.Context, t Tenant, g Grant) (bool, error) {
	for i := range g.Assignments {
		var err error
		if g, err = s.release(ctx, t, g, i); err != nil {
			return false, fmt.Errorf("release assignment of grant %s in %s: %w", g.ID, g.Assignments[i].AccountID, err)
		}
	}
	for _, a := range g.Assignments {
		if a.State != AssignmentDeleted && a.State != AssignmentFailed && a.State != AssignmentPlanned {
			return false, nil
		}
	}
	var cuts *CutSet
	if g.Status == GrantRevoking {
		var err error
		if g, cuts, err = s.receipt(ctx, t, g); err != nil {
			return false, err
		}
	}
	if err := s.finish(ctx, t, g, cuts); err != nil {
		return false, err
	}
	if cuts != nil {
		// The grant has ended (its assignments are gone and verified absent);
		// the cut follows at once, and the sweeper retries it if it fails.
		_ = s.reconcileCuts(ctx, cuts.Key)
	}
	return true, nil
}

// release moves assignment i of g one step towards gone, through the
// ledger: the grant lets go of the entry; the last holder deletes the
// assignment (never standing access), after any creation in flight settled.
func (s *core) release(ctx context.Context, t Tenant, g Grant, i int) (Grant, error) {
	a := g.Assignments[i]
	if a.State == AssignmentPlanned || a.State == AssignmentDeleted || a.State == AssignmentFailed {
		return g, nil
	}
	me := Holder{t.ID, g.ID}
	entry, err := s.ledger.GetLedgerEntry(ctx, a.Key())
	switch {
	case errors.Is(err, ErrNotFound) || (err == nil && !entry.Holds(me)):
		a.State = AssignmentDeleted // nothing of this grant's is left there
		g.Assignments[i] = a
		return s.saveGrant(ctx, g)
	case err != nil:
		return g, err
	case entry.State == LedgerDeleting:
		return s.deleteAssignment(ctx, t, g, i, entry)
	}
	now := s.clock()
	next, err := entry.leave(me, now)
	if err != nil {
		return g, err
	}
	switch next {
	case releaseWait:
		settled, err := s.settleInFlight(ctx, entry)
		if err != nil || !settled {
			return g, err
		}
		return s.release(ctx, t, g, i) // leave the settled entry
	case releaseDelete:
		a.State = AssignmentDeleting
	default:
		a.State = AssignmentDeleted
	}
	entry.Revision++
	g.Assignments[i] = a
	return s.saveGrantWith(ctx, g, entry)
}

// deleteAssignment moves the deletion of an assignment this grant is the
// last holder of one step: issue it, recording its operation id on the
// entry, or poll it. Only its success ends the entry; a failure is raised
// loudly and tried again.
func (s *core) deleteAssignment(ctx context.Context, t Tenant, g Grant, i int, e LedgerEntry) (Grant, error) {
	a := g.Assignments[i]
	if e.OperationID == "" {
		op, err := s.ic.DeleteAssignment(ctx, a)
		if err != nil {
			if !errors.Is(err, ErrRetryLater) {
				s.report(ctx, Problem{ProblemDeletionFailed, "deletion of an assignment of grant " + g.ID + " failed; retrying", err})
			}
			return g, err
		}
		return g, s.updateEntry(ctx, e.Key, func(cur *LedgerEntry, found bool) (bool, error) {
			if !found || cur.State != LedgerDeleting || cur.OperationID != "" {
				return false, nil
			}
			cur.OperationID, cur.UpdatedAt = op.ID, s.clock()
			cur.Revision++
			return true, nil
		})
	}
	op, err := s.ic.DeletionStatus(ctx, a.InstanceARN, e.OperationID)
	if err != nil {
		return g, err
	}
	now := s.clock()
	switch op.Status {
	case OperationSucceeded:
		if err := e.settleDeletion(true, now); err != nil {
			return g, err
		}
		e.Revision++
		a.State, a.DeletedAt = AssignmentDeleted, now
		g.Assignments[i] = a
		return s.saveGrantWith(ctx, g, e)
	case OperationFailed:
		if err := e.settleDeletion(false, now); err != nil {
			return g, err
		}
		e.Revision++
		ev := s.audit(t, systemActor(t.ID), now, AuditGrantDeletionFailed, "grant", g.ID, SeverityHigh, map[string]any{
			"account_id": a.AccountID, "permission_set_arn": a.PermissionSetARN, "reason": op.Reason,
		})
		if err := s.commit(ctx, Change{Ledger: []LedgerEntry{e}, Audit: []AuditEvent{ev}}); err != nil {
			return g, err
		}
		s.report(ctx, Problem{ProblemDeletionFailed, "deletion of an assignment of grant " + g.ID + " failed; retrying", errors.New(op.Reason)})
	}
	return g, nil
}

// finish ends a grant whose assignments are all gone: failed after a failed
// provisioning, else expired or revoked as its end reason says.
func (s *core) finish(ctx context.Context, t Tenant, g Grant, cuts *CutSet) error {
	now := s.clock()
	sys := systemActor(t.ID)
	c := Change{}
	if cuts != nil {
		c.CutSets = []CutSet{*cuts}
	}
	var action string
	switch {
	case g.Status == GrantProvisioning:
		if err := g.transition(GrantFailed, now); err != nil {
			return err
		}
		action = AuditGrantFailed
		if g.RequestID != "" {
			r, err := s.getRequest(ctx, t.ID, g.RequestID)
			if err != nil {
				return err
			}
			if r.Status.CanBecome(RequestFailed) {
				r.Revision++
				_ = r.transition(RequestFailed, now)
				r.Notices = append(r.Notices, "Provisioning failed: "+g.Failure)
				c.Requests = []Request{r}
				c.Audit = append(c.Audit, s.audit(t, sys, now, AuditRequestFailed, "request", r.ID, SeverityHigh, map[string]any{"reason": g.Failure}))
			}
		}
	case g.EndReason == EndRevocation:
		if err := g.transition(GrantRevoked, now); err != nil {
			return err
		}
		g.RevokedAt = now
		action = AuditGrantRevoked
	default:
		if err := g.transition(GrantExpired, now); err != nil {
			return err
		}
		action = AuditGrantExpired
	}
	// An extension still waiting for approval ends with its grant, at once:
	// its approvers have nothing left to decide.
	var ended *Request
	if g.PendingExtension != "" {
		r, err := s.getRequest(ctx, t.ID, g.PendingExtension)
		switch {
		case CodeOf(err) == CodeNotFound:
		case err != nil:
			return err
		case r.Status.CanBecome(RequestFailed) && r.Status == RequestPending:
			r.Revision++
			r.UpdatedAt = now
			_ = r.transition(RequestFailed, now)
			r.Notices = append(r.Notices, noticeGrantEnded)
			c.Requests = append(c.Requests, r)
			c.Audit = append(c.Audit, s.audit(t, sys, now, AuditRequestFailed, "request", r.ID, SeverityInfo,
				map[string]any{"reason": "the grant ended before the extension was approved", "extends_grant_id": g.ID}))
			ended = &r
		}
		g.PendingExtension = ""
	}
	g.Revision++
	c.Grants = []Grant{g}
	details := map[string]any{"reason": g.Failure}
	if g.Status == GrantRevoked {
		details = map[string]any{"revoked_by": g.RevokedBy, "reasoning": g.Reasoning}
	}
	if g.Revocation != nil {
		details["revocation"] = g.Revocation.Details()
	}
	c.Audit = append([]AuditEvent{s.audit(t, sys, now, action, "grant", g.ID, severityOf(action), details)}, c.Audit...)
	if err := s.commit(ctx, c); err != nil {
		return err
	}
	if ended != nil {
		s.endApproval(ctx, *ended)
	}
	s.observe(ctx, g)
	return nil
}

func severityOf(action string) Severity {
	if action == AuditGrantFailed {
		return SeverityHigh
	}
	return SeverityInfo
}

// DeprovisionGrant advances a revoking grant by one step: release each
// assignment (deleting those no other grant needs), poll the deletions, and
// mark the grant expired or revoked only once every deletion succeeded. It is
// re-entrant; a workflow calls it until done is true.
func (s *Steps) DeprovisionGrant(ctx context.Context, tenantID, grantID string) (done bool, err error) {
	t, g, err := s.tenantAndGrant(ctx, tenantID, grantID)
	if err != nil {
		return false, err
	}
	if g.Status != GrantRevoking {
		return g.Status.Ended(), nil
	}
	done, err = s.releaseAll(ctx, t, g)
	return done, laterIsNotAnError(err)
}

// tenantAndGrant loads a workflow step's tenant and grant.
func (s *core) tenantAndGrant(ctx context.Context, tenantID, grantID string) (Tenant, Grant, error) {
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return t, Grant{}, err
	}
	g, err := s.loadGrant(ctx, tenantID, grantID)
	return t, g, err
}

func (s *core) loadGrant(ctx context.Context, tenantID, id string) (Grant, error) {
	g, err := s.store.GetGrant(ctx, tenantID, id)
	if errors.Is(err, ErrNotFound) {
		return g, notFound("grant", err)
	}
	return g, err
}

// saveGrant writes g as its next revision.
func (s *core) saveGrant(ctx context.Context, g Grant) (Grant, error) {
	g.Revision++
	g.UpdatedAt = s.clock()
	if err := s.commit(ctx, Change{Grants: []Grant{g}}); err != nil {
		return g, err
	}
	return g, nil
}

// saveGrantWith writes g and a ledger entry (already at its next revision) together.
func (s *core) saveGrantWith(ctx context.Context, g Grant, e LedgerEntry) (Grant, error) {
	g.Revision++
	g.UpdatedAt = s.clock()
	if err := s.commit(ctx, Change{Grants: []Grant{g}, Ledger: []LedgerEntry{e}}); err != nil {
		return g, err
	}
	return g, nil
}

// clientMessage returns the client-safe message of an *Error, or a generic one.
func clientMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
