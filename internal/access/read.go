package access

import (
	"context"
	"errors"
)

// List limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 250
	// maxFilteredPages bounds the store pages one filtered list call reads;
	// past it the caller gets a short page with an honest has_more.
	maxFilteredPages = 5
)

// GetRequest returns a request the caller may see.
func (s *Service) GetRequest(ctx context.Context, p Principal, id string) (Request, error) {
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Request{}, err
	}
	return s.visibleRequest(ctx, t, p, id)
}

// ListRequests lists requests newest first. Requesters see only requests they
// made or will receive, whatever the filter asks, by (kind, id): a service
// key named like a user sees none of that user's requests.
func (s *Service) ListRequests(ctx context.Context, p Principal, f RequestFilter, page PageRequest) (Page[Request], error) {
	f.OldestFirst = false
	if p.Role.AtLeast(RoleApprover) {
		return s.store.ListRequests(ctx, p.TenantID, f, page)
	}
	if p.IsService() {
		if f.RequesterID != "" && f.RequesterID != p.ID || f.GranteeID != "" {
			return Page[Request]{Items: []Request{}}, nil // a service principal receives nothing
		}
		f.RequesterID = p.ID
	} else {
		f.Party = p.ID
	}
	return filterPages(page, func(pr PageRequest) (Page[Request], error) {
		return s.store.ListRequests(ctx, p.TenantID, f, pr)
	}, func(r Request) (bool, error) { return r.VisibleTo(p), nil })
}

// ListPendingApprovals lists, oldest first, the pending requests the caller
// may decide and has not yet approved.
func (s *Service) ListPendingApprovals(ctx context.Context, p Principal, page PageRequest) (Page[Request], error) {
	if err := requireRole(p, RoleApprover, "the approvals inbox"); err != nil {
		return Page[Request]{}, err
	}
	if p.IsService() {
		return Page[Request]{}, Errorf(CodeForbidden, "a service principal cannot decide requests")
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Page[Request]{}, err
	}
	approver, err := s.resolveCaller(ctx, t, p)
	if err != nil {
		return Page[Request]{}, err
	}
	f := RequestFilter{Statuses: []RequestStatus{RequestPending}, OldestFirst: true}
	now := s.clock()
	return filterPages(page, func(pr PageRequest) (Page[Request], error) {
		return s.store.ListRequests(ctx, t.ID, f, pr)
	}, func(r Request) (bool, error) {
		if r.Involves(approver) || r.ApprovedBy(approver) || !now.Before(r.ApprovalExpiresAt) {
			return false, nil
		}
		dec, err := s.mayDecide(ctx, t, p, approver, r, now)
		return dec.Allowed, err
	})
}

// filterPages reads store pages and keeps the items keep accepts, until the
// page is full, the store has no more, or maxFilteredPages were read.
func filterPages[T any](page PageRequest, list func(PageRequest) (Page[T], error), keep func(T) (bool, error)) (Page[T], error) {
	out := Page[T]{Items: make([]T, 0, page.Limit)}
	after := page.After
	for range maxFilteredPages {
		p, err := list(PageRequest{Limit: page.Limit - len(out.Items), After: after})
		if err != nil {
			return Page[T]{}, err
		}
		for _, it := range p.Items {
			ok, err := keep(it)
			if err != nil {
				return Page[T]{}, err
			}
			if ok {
				out.Items = append(out.Items, it)
			}
		}
		after = p.Next
		if after == nil || len(out.Items) >= page.Limit {
			break
		}
	}
	out.Next = after
	return out, nil
}

// GetGrant returns a grant the caller may see: their own, or any for admins.
func (s *Service) GetGrant(ctx context.Context, p Principal, id string) (Grant, error) {
	return s.visibleGrant(ctx, p, id)
}

func (s *core) visibleGrant(ctx context.Context, p Principal, id string) (Grant, error) {
	g, err := s.store.GetGrant(ctx, p.TenantID, id)
	if errors.Is(err, ErrNotFound) || (err == nil && !p.Role.AtLeast(RoleAdmin) && !ownGrant(p, g)) {
		return Grant{}, NotFound("grant")
	}
	return g, err
}

// ownGrant reports whether g is the caller's: grantees are users, so a
// service principal owns none.
func ownGrant(p Principal, g Grant) bool { return !p.IsService() && g.GranteeID == p.ID }

// ListGrants lists grants newest first: the caller's own, or all for admins.
func (s *Service) ListGrants(ctx context.Context, p Principal, f GrantFilter, page PageRequest) (Page[Grant], error) {
	if !p.Role.AtLeast(RoleAdmin) {
		if p.IsService() || f.GranteeID != "" && f.GranteeID != p.ID {
			return Page[Grant]{Items: []Grant{}}, nil
		}
		f.GranteeID = p.ID
	}
	return s.store.ListGrants(ctx, p.TenantID, f, page)
}

// ListAuditEvents lists the tenant's audit trail, newest first.
func (s *Service) ListAuditEvents(ctx context.Context, p Principal, page PageRequest) (Page[AuditEvent], error) {
	if err := requireRole(p, RoleAdmin, "reading the audit trail"); err != nil {
		return Page[AuditEvent]{}, err
	}
	return s.store.ListAuditEvents(ctx, p.TenantID, page)
}
