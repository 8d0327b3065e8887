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
func (s *Service) ProvisionGrant(ctx context.Context, tenantID, grantID string) (done bool, err error) {
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

func (s *Service) provisionGrant(ctx context.Context, tenantID, grantID string) (done bool, err error) {
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
func (s *Service) plan(ctx context.Context, t Tenant, g Grant) (Grant, error) {
	ancestors, err := s.ic.Ancestors(ctx, t, g.Resource)
	if err != nil {
		return g, fmt.Errorf("ancestors of %s: %w", g.Resource.ID, err)
	}
	if err := s.checkTarget(t, g.Resource, ancestors); err != nil {
		return s.failGrant(ctx, t, g, clientMessage(err))
	}
	user, err := s.ic.ResolveUser(ctx, t, g.GranteeID)
	if errors.Is(err, ErrUserNotFound) {
		return s.failGrant(ctx, t, g, fmt.Sprintf("Grantee %q has no active Identity Center user", g.GranteeID))
	} else if err != nil {
		return g, fmt.Errorf("resolve grantee %s: %w", g.GranteeID, err)
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
			if s.accountAllowed(t.Settings.Boundary, a, anc) {
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
			InstanceARN: t.Settings.Boundary.InstanceARN, PermissionSetARN: psARN,
			AccountID: a, PrincipalID: user, State: AssignmentPlanned,
		})
	}
	return s.saveGrant(ctx, g)
}

// permissionSet returns the permission set a grant assigns: the catalog's for
// accounts, OUs and permission sets, a managed one for the other types.
func (s *Service) permissionSet(ctx context.Context, t Tenant, g Grant) (string, error) {
	if !g.Resource.Type.Managed() {
		a, ok := t.Catalog.Lookup(g.Resource.Type, g.Action)
		if !ok {
			return "", Errorf(CodeValidationFailed, "action %q is no longer in the catalog for %s", g.Action, g.Resource.Type)
		}
		if g.Resource.Type == ResourcePermissionSet {
			return g.Resource.ID, nil
		}
		return a.PermissionSetARN, nil
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
	spec, err := ManagedSpec(t.Settings.Boundary.InstanceARN, g.Resource, g.Action, t.PolicyVersion, dbi)
	if err != nil {
		return "", &Error{Code: CodeValidationFailed, Message: "cannot build the managed permission set", Cause: err}
	}
	return s.ic.EnsurePermissionSet(ctx, t, spec)
}

// advanceCreation moves assignment i of g one step towards active, through
// the ledger: claim the entry (or join it), create the assignment when this
// grant is its creator, and poll the creation.
func (s *Service) advanceCreation(ctx context.Context, t Tenant, g Grant, i int) (Grant, error) {
	a := g.Assignments[i]
	now := s.clock()
	switch a.State {
	case AssignmentPlanned:
		entry, err := s.store.GetLedgerEntry(ctx, t.ID, a.Key())
		switch {
		case errors.Is(err, ErrNotFound):
			exists, err := s.ic.AssignmentExists(ctx, a)
			if err != nil {
				return g, err
			}
			entry = LedgerEntry{TenantID: t.ID, Key: a.Key(), State: LedgerCreating, Holders: []string{g.ID}, Creator: g.ID, Revision: 1, CreatedAt: now, UpdatedAt: now}
			a.State, a.Creator = AssignmentCreating, true
			if exists {
				entry.State, entry.External, entry.Creator = LedgerActive, true, ""
				a.State, a.Creator, a.External = AssignmentActive, false, true
			}
		case err != nil:
			return g, err
		case entry.State == LedgerDeleting:
			return g, nil // another grant's expiry is removing it; claim it again once it is gone
		default:
			entry.addHolder(g.ID)
			entry.Revision++
			entry.UpdatedAt = now
			a.State, a.External, a.OperationID = AssignmentCreating, entry.External, ""
			if entry.State == LedgerActive {
				a.State = AssignmentActive
			}
		}
		g.Assignments[i] = a
		return s.saveGrantWith(ctx, g, entry)
	case AssignmentCreating:
		if !a.Creator {
			entry, err := s.store.GetLedgerEntry(ctx, t.ID, a.Key())
			switch {
			case errors.Is(err, ErrNotFound) || (err == nil && !entry.Holds(g.ID)):
				a.State = AssignmentFailed // its creation failed and the entry was removed
			case err != nil:
				return g, err
			case entry.State == LedgerActive:
				a.State = AssignmentActive
			case entry.Creator == g.ID:
				// The creator let go before creating it and handed the job over.
				a.Creator, a.OperationID = true, entry.OperationID
			default:
				return g, nil
			}
			g.Assignments[i] = a
			return s.saveGrant(ctx, g)
		}
		if a.OperationID == "" {
			op, err := s.ic.CreateAssignment(ctx, a)
			if err != nil {
				return g, fmt.Errorf("create assignment in %s: %w", a.AccountID, err)
			}
			a.OperationID = op.ID
			g.Assignments[i] = a
			return s.withEntry(ctx, t, g, a, func(e *LedgerEntry) { e.OperationID = op.ID })
		}
		op, err := s.ic.CreationStatus(ctx, a.InstanceARN, a.OperationID)
		if err != nil {
			return g, fmt.Errorf("creation status in %s: %w", a.AccountID, err)
		}
		switch op.Status {
		case OperationSucceeded:
			a.State = AssignmentActive
			g.Assignments[i] = a
			return s.withEntry(ctx, t, g, a, func(e *LedgerEntry) { e.State, e.OperationID, e.Creator = LedgerActive, "", "" })
		case OperationFailed:
			a.State = AssignmentFailed
			g.Assignments[i] = a
			g.Notices = append(g.Notices, fmt.Sprintf("Identity Center failed to create the assignment in %s: %s", a.AccountID, op.Reason))
			return s.withEntry(ctx, t, g, a, func(e *LedgerEntry) { e.Deleted = true })
		}
	}
	return g, nil
}

// withEntry updates the ledger entry of a and saves g with it, atomically.
func (s *Service) withEntry(ctx context.Context, t Tenant, g Grant, a Assignment, update func(*LedgerEntry)) (Grant, error) {
	entry, err := s.store.GetLedgerEntry(ctx, t.ID, a.Key())
	if err != nil {
		return g, fmt.Errorf("ledger entry for %s: %w", a.AccountID, err)
	}
	update(&entry)
	entry.Revision++
	entry.UpdatedAt = s.clock()
	return s.saveGrantWith(ctx, g, entry)
}

// activate makes a fully assigned grant active and arranges its end: a
// one-time schedule, or an inline expiry for a grant ending within a minute.
// The schedule is made before the grant is marked active, so an active grant
// always has one (a schedule of a grant that never became active is a no-op).
func (s *Service) activate(ctx context.Context, t Tenant, g Grant) error {
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
	c := Change{Grants: []Grant{g}, Audit: []AuditEvent{s.audit(t, sys, now, "grant.activated", "grant", g.ID, SeverityInfo, map[string]any{
		"expires_at": g.ExpiresAt.Format(time.RFC3339), "assignments": len(g.Assignments),
	})}}
	if err := s.commit(ctx, c); err != nil {
		return err
	}
	if inline {
		_, err := s.endGrant(ctx, t, g, sys, EndExpiry, "The grant ended within a minute of becoming active")
		return err
	}
	return nil
}

// failGrant records a permanent provisioning failure. The grant stays
// provisioning, with Failure set, until what was created is removed; then it
// and its request become failed.
func (s *Service) failGrant(ctx context.Context, t Tenant, g Grant, reason string) (Grant, error) {
	g.Failure = reason
	g.Notices = append(g.Notices, "Provisioning failed: "+reason)
	return s.saveGrant(ctx, g)
}

// releaseAll takes every assignment of a failed or ending grant away (see
// release), and finishes the grant once all are gone.
func (s *Service) releaseAll(ctx context.Context, t Tenant, g Grant) (bool, error) {
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
	return true, s.finish(ctx, t, g)
}

// release moves assignment i of g one step towards gone. The grant's hold in
// the ledger is dropped; the assignment itself is deleted only by its last
// holder and never when it existed before Elevate.
func (s *Service) release(ctx context.Context, t Tenant, g Grant, i int) (Grant, error) {
	a := g.Assignments[i]
	switch a.State {
	case AssignmentPlanned, AssignmentDeleted, AssignmentFailed:
		return g, nil
	case AssignmentCreating:
		if a.Creator && a.OperationID != "" {
			op, err := s.ic.CreationStatus(ctx, a.InstanceARN, a.OperationID)
			if err != nil {
				return g, err
			}
			switch op.Status {
			case OperationInProgress:
				return g, nil // let the creation settle before deleting
			case OperationFailed:
				a.State = AssignmentFailed
				g.Assignments[i] = a
				return s.withEntry(ctx, t, g, a, func(e *LedgerEntry) { e.Deleted = true })
			}
			a.OperationID = ""
			a.State = AssignmentActive
			g.Assignments[i] = a
			return s.withEntry(ctx, t, g, a, func(e *LedgerEntry) { e.State, e.OperationID, e.Creator = LedgerActive, "", "" })
		}
		if a.Creator {
			return s.releaseUncreated(ctx, t, g, i)
		}
		fallthrough
	case AssignmentActive:
		entry, err := s.store.GetLedgerEntry(ctx, t.ID, a.Key())
		if errors.Is(err, ErrNotFound) {
			a.State = AssignmentDeleted
			g.Assignments[i] = a
			return s.saveGrant(ctx, g)
		} else if err != nil {
			return g, err
		}
		entry.removeHolder(g.ID)
		entry.Revision++
		entry.UpdatedAt = s.clock()
		switch {
		case len(entry.Holders) > 0:
			a.State = AssignmentDeleted // others still need it
		case entry.External:
			a.State, entry.Deleted = AssignmentDeleted, true // standing access: never deleted
		default:
			a.State, a.OperationID, entry.State = AssignmentDeleting, "", LedgerDeleting
			entry.Holders = []string{g.ID} // the deleting grant keeps the entry until the deletion succeeds
		}
		g.Assignments[i] = a
		return s.saveGrantWith(ctx, g, entry)
	case AssignmentDeleting:
		if a.OperationID == "" {
			op, err := s.ic.DeleteAssignment(ctx, a)
			if err != nil {
				if !errors.Is(err, ErrRetryLater) {
					s.report(ctx, "deletion of an assignment of grant "+g.ID+" failed; retrying", err)
				}
				return g, err
			}
			a.OperationID = op.ID
			g.Assignments[i] = a
			return s.withEntry(ctx, t, g, a, func(e *LedgerEntry) { e.OperationID = op.ID })
		}
		op, err := s.ic.DeletionStatus(ctx, a.InstanceARN, a.OperationID)
		if err != nil {
			return g, err
		}
		switch op.Status {
		case OperationSucceeded:
			a.State = AssignmentDeleted
			g.Assignments[i] = a
			return s.withEntry(ctx, t, g, a, func(e *LedgerEntry) { e.Deleted = true })
		case OperationFailed:
			// Keep the grant revoking and try again; raise it loudly.
			a.OperationID = ""
			g.Assignments[i] = a
			now := s.clock()
			ev := s.audit(t, systemActor(t.ID), now, "grant.deletion_failed", "grant", g.ID, SeverityHigh, map[string]any{
				"account_id": a.AccountID, "permission_set_arn": a.PermissionSetARN, "reason": op.Reason,
			})
			g.Revision++
			g.UpdatedAt = now
			if err := s.commit(ctx, Change{Grants: []Grant{g}, Audit: []AuditEvent{ev}}); err != nil {
				return g, err
			}
			s.report(ctx, "deletion of an assignment of grant "+g.ID+" failed; retrying", errors.New(op.Reason))
			return g, nil
		}
	}
	return g, nil
}

// releaseUncreated lets go of an assignment this grant was to create but
// never asked Identity Center for (or did, and crashed before recording it).
// Other holders still need it, so the job passes to one of them; without
// them the entry goes, and the assignment is deleted only if it exists.
func (s *Service) releaseUncreated(ctx context.Context, t Tenant, g Grant, i int) (Grant, error) {
	a := g.Assignments[i]
	entry, err := s.store.GetLedgerEntry(ctx, t.ID, a.Key())
	if errors.Is(err, ErrNotFound) {
		a.State = AssignmentDeleted
		g.Assignments[i] = a
		return s.saveGrant(ctx, g)
	} else if err != nil {
		return g, err
	}
	entry.removeHolder(g.ID)
	entry.Revision++
	entry.UpdatedAt = s.clock()
	a.State = AssignmentDeleted
	switch {
	case len(entry.Holders) > 0:
		entry.Creator = entry.Holders[0]
	default:
		exists, err := s.ic.AssignmentExists(ctx, a)
		if err != nil {
			return g, err
		}
		if exists {
			// Created before a crash kept us from recording it: it is ours.
			a.State, a.OperationID, entry.State, entry.Creator = AssignmentDeleting, "", LedgerDeleting, ""
			entry.Holders = []string{g.ID}
		} else {
			entry.Deleted = true
		}
	}
	g.Assignments[i] = a
	return s.saveGrantWith(ctx, g, entry)
}

// finish ends a grant whose assignments are all gone: failed after a failed
// provisioning, else expired or revoked as its end reason says.
func (s *Service) finish(ctx context.Context, t Tenant, g Grant) error {
	now := s.clock()
	sys := systemActor(t.ID)
	c := Change{}
	var action string
	switch {
	case g.Status == GrantProvisioning:
		if err := g.transition(GrantFailed, now); err != nil {
			return err
		}
		action = "grant.failed"
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
				c.Audit = append(c.Audit, s.audit(t, sys, now, "request.failed", "request", r.ID, SeverityHigh, map[string]any{"reason": g.Failure}))
			}
		}
	case g.EndReason == EndRevocation:
		if err := g.transition(GrantRevoked, now); err != nil {
			return err
		}
		g.RevokedAt = now
		action = "grant.revoked"
	default:
		if err := g.transition(GrantExpired, now); err != nil {
			return err
		}
		action = "grant.expired"
	}
	g.Revision++
	c.Grants = []Grant{g}
	c.Audit = append([]AuditEvent{s.audit(t, sys, now, action, "grant", g.ID, severityOf(action), map[string]any{"reason": g.Failure})}, c.Audit...)
	return s.commit(ctx, c)
}

func severityOf(action string) Severity {
	if action == "grant.failed" {
		return SeverityHigh
	}
	return SeverityInfo
}

// DeprovisionGrant advances a revoking grant by one step: release each
// assignment (deleting those no other grant needs), poll the deletions, and
// mark the grant expired or revoked only once every deletion succeeded. It is
// re-entrant; a workflow calls it until done is true.
func (s *Service) DeprovisionGrant(ctx context.Context, tenantID, grantID string) (done bool, err error) {
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
func (s *Service) tenantAndGrant(ctx context.Context, tenantID, grantID string) (Tenant, Grant, error) {
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return t, Grant{}, err
	}
	g, err := s.loadGrant(ctx, tenantID, grantID)
	return t, g, err
}

func (s *Service) loadGrant(ctx context.Context, tenantID, id string) (Grant, error) {
	g, err := s.store.GetGrant(ctx, tenantID, id)
	if errors.Is(err, ErrNotFound) {
		return g, notFound("grant", err)
	}
	return g, err
}

// saveGrant writes g as its next revision.
func (s *Service) saveGrant(ctx context.Context, g Grant) (Grant, error) {
	g.Revision++
	g.UpdatedAt = s.clock()
	if err := s.commit(ctx, Change{Grants: []Grant{g}}); err != nil {
		return g, err
	}
	return g, nil
}

// saveGrantWith writes g and a ledger entry (already at its next revision) together.
func (s *Service) saveGrantWith(ctx context.Context, g Grant, e LedgerEntry) (Grant, error) {
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
