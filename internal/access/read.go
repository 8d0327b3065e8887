package access

import (
	"context"
	"errors"
	"strings"
	"time"
)

// joinTypes lists resource types for a message.
func joinTypes(ts []ResourceType) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = string(t)
	}
	return strings.Join(parts, ", ")
}

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

// InboxFilter narrows and orders an approvals inbox; empty fields do not
// filter.
type InboxFilter struct {
	// ApproverID shows another approver's inbox (admins only); "" or the
	// caller's own id is the caller's inbox.
	ApproverID   string
	RequesterID  string
	GranteeID    string
	ResourceType ResourceType
	AccountID    string
	// UpdatedAfter and UpdatedBefore are exclusive bounds on updated_at.
	UpdatedAfter, UpdatedBefore time.Time
	// SortBy is created_at (the default) or updated_at; Descending puts the
	// newest first (the default is oldest first).
	SortBy     RequestSort
	Descending bool
	// Count asks for the number of items the whole inbox holds.
	Count bool
}

// Inbox is a page of an approvals inbox and, when asked, its size.
type Inbox struct {
	Page[Request]
	// Total is the number of items the inbox holds, counted up to
	// MaxInboxCount pending requests read; TotalCapped says the count
	// stopped there and the inbox may hold more.
	Total       int
	TotalCapped bool
}

// MaxInboxCount bounds the pending requests one count reads (docs/design.md,
// "The approvals inbox").
const MaxInboxCount = 1000

// ListPendingApprovals lists the pending requests the approver may decide
// and has not yet approved, oldest first unless asked otherwise: the caller's
// own inbox, or for an admin the inbox of the approver f.ApproverID names.
func (s *Service) ListPendingApprovals(ctx context.Context, p Principal, f InboxFilter, page PageRequest) (Inbox, error) {
	if err := requireRole(p, RoleApprover, "the approvals inbox"); err != nil {
		return Inbox{}, err
	}
	v := Violations{}
	if f.ApproverID != "" {
		validateUserID(v, "approver_id", f.ApproverID)
	}
	if len(f.RequesterID) > MaxIDLength {
		v.Add("requester_id", "must be at most %d characters", MaxIDLength)
	}
	if f.GranteeID != "" {
		validateUserID(v, "grantee_id", f.GranteeID)
	}
	if f.ResourceType != "" && !f.ResourceType.Valid() {
		v.Add("resource_type", "must be one of %s", joinTypes(ResourceTypes))
	}
	if f.AccountID != "" && !ValidAccountID(f.AccountID) {
		v.Add("account_id", "must be a 12-digit AWS account id")
	}
	if f.SortBy != "" && f.SortBy != SortCreatedAt && f.SortBy != SortUpdatedAt {
		v.Add("sort", "must be created_at or updated_at")
	}
	if !f.UpdatedAfter.IsZero() && !f.UpdatedBefore.IsZero() && f.UpdatedAfter.After(f.UpdatedBefore) {
		v.Add("updated_after", "must not be later than updated_before")
	}
	if err := v.Err(); err != nil {
		return Inbox{}, err
	}
	viewer := p
	if f.ApproverID != "" && f.ApproverID != p.ID {
		if err := requireRole(p, RoleAdmin, "another approver's inbox"); err != nil {
			return Inbox{}, Errorf(CodeForbidden, "only admins may see another approver's inbox (approver_id); leave it out to see your own")
		}
		// Elevate knows a person's groups only when they call: the approver
		// is seen by id alone (docs/design.md, "The approvals inbox").
		viewer = Principal{TenantID: p.TenantID, ID: f.ApproverID, Kind: PrincipalUser, Role: RoleApprover}
	} else if p.IsService() {
		return Inbox{}, Errorf(CodeForbidden, "a service principal cannot decide requests, so it has no inbox; an admin key may name an approver_id")
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return Inbox{}, err
	}
	approver, err := s.resolveCaller(ctx, t, viewer)
	if err != nil {
		return Inbox{}, err
	}
	sf := RequestFilter{
		Statuses: []RequestStatus{RequestPending}, RequesterID: f.RequesterID, GranteeID: f.GranteeID,
		ResourceType: f.ResourceType, AccountID: f.AccountID, UpdatedAfter: f.UpdatedAfter, UpdatedBefore: f.UpdatedBefore,
		SortBy: f.SortBy, OldestFirst: !f.Descending,
	}
	now := s.clock()
	list := func(pr PageRequest) (Page[Request], error) { return s.store.ListRequests(ctx, t.ID, sf, pr) }
	keep := func(r Request) (bool, error) {
		if r.Involves(approver) || r.ApprovedBy(approver) || r.ForwardedAway(approver.ID) || !now.Before(r.ApprovalExpiresAt) {
			return false, nil
		}
		dec, err := s.mayDecide(ctx, t, viewer, approver, r, now)
		return dec.Allowed, err
	}
	out := Inbox{}
	if out.Page, err = filterPages(page, list, keep); err != nil {
		return Inbox{}, err
	}
	if f.Count {
		out.Total, out.TotalCapped, err = countPages(list, keep)
	}
	return out, err
}

// maxCountPages bounds the store pages one count reads: filtered store
// pages may be short, so MaxInboxCount alone would not bound the calls.
const maxCountPages = 2 * MaxInboxCount / MaxPageSize

// countPages counts the items keep accepts, reading at most MaxInboxCount
// items in at most maxCountPages pages; capped says more were left unread.
func countPages[T any](list func(PageRequest) (Page[T], error), keep func(T) (bool, error)) (n int, capped bool, err error) {
	var after []byte
	for read, pages := 0, 0; read < MaxInboxCount && pages < maxCountPages; pages++ {
		p, err := list(PageRequest{Limit: min(MaxPageSize, MaxInboxCount-read), After: after})
		if err != nil {
			return 0, false, err
		}
		read += len(p.Items)
		for _, it := range p.Items {
			ok, err := keep(it)
			if err != nil {
				return 0, false, err
			}
			if ok {
				n++
			}
		}
		if after = p.Next; after == nil {
			return n, false, nil
		}
	}
	return n, true, nil
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
