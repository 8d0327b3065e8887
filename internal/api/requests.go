package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/elevate-jit/elevate/internal/access"
)

// readCreateRequest reads and checks the body of a new request, which a
// preview takes too.
func (a *API) readCreateRequest(w http.ResponseWriter, r *http.Request, p access.Principal) ([]byte, access.CreateRequestInput, error) {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return nil, access.CreateRequestInput{}, err
	}
	var in createRequestBody
	v, err := decodeFields(body, &in)
	if err != nil {
		return nil, access.CreateRequestInput{}, err
	}
	cr := access.CreateRequestInput{Metadata: in.Metadata}
	if in.Resource == nil {
		v.Add("resource", "is required")
	} else {
		cr.Resource = toResource(*in.Resource)
	}
	required(v, "action", in.Action, &cr.Action)
	required(v, "justification", in.Justification, &cr.Justification)
	if in.DurationSeconds == nil {
		v.Add("duration_seconds", "is required")
	} else {
		cr.DurationSeconds = *in.DurationSeconds
	}
	if in.GranteeID != nil {
		if *in.GranteeID == "" {
			v.Add("grantee_id", "must not be empty; omit it to request for yourself")
		}
		cr.GranteeID = *in.GranteeID
	}
	if in.BreakGlass != nil {
		cr.BreakGlass = *in.BreakGlass
	}
	cr.StartsAt = parseTime("starts_at", in.StartsAt, v)
	if len(v) > 0 {
		// Name every problem at once: what is missing, and what the domain
		// finds wrong with what is there.
		v.Absorb(a.svc.CheckRequest(r.Context(), p, cr))
		return nil, access.CreateRequestInput{}, v.Err()
	}
	return body, cr, nil
}

type previewJSON struct {
	Status            string   `json:"status"`
	ApprovalMode      *string  `json:"approval_mode"`
	ApprovalsRequired int      `json:"approvals_required"`
	Notices           []string `json:"notices"`
	PolicyVersion     int      `json:"policy_version"`
}

// previewRequest answers what creating the same request would do, creating
// nothing.
func (a *API) previewRequest(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	_, cr, err := a.readCreateRequest(w, r, p)
	if err != nil {
		return err
	}
	pv, err := a.svc.PreviewRequest(r.Context(), p, cr)
	if err != nil {
		return err
	}
	out := previewJSON{Status: string(pv.Status), ApprovalsRequired: pv.ApprovalsRequired, Notices: pv.Notices, PolicyVersion: pv.PolicyVersion}
	if pv.ApprovalMode != "" {
		m := string(pv.ApprovalMode)
		out.ApprovalMode = &m
	}
	if out.Notices == nil {
		out.Notices = []string{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) createRequest(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, cr, err := a.readCreateRequest(w, r, p)
	if err != nil {
		return err
	}
	return a.idempotent(w, r, p, body, renderCreatedRequest, func(idem *access.Idempotency) (access.Outcome, error) {
		req, err := a.svc.CreateRequest(r.Context(), p, cr, idem)
		if err != nil && access.CodeOf(err) != access.CodePolicyDenied {
			return access.Outcome{}, err
		}
		return access.Outcome{Request: &req}, nil
	})
}

// renderCreatedRequest answers a create: 201 with the request, or 403
// policy_denied with its notices for a request the policies denied (it is
// still recorded, and the error names it).
func renderCreatedRequest(o access.Outcome) (int, any) {
	if o.Request.Status == access.RequestDenied {
		e := access.DeniedError(*o.Request).(*access.Error)
		return http.StatusForbidden, errorJSON{Code: string(e.Code), Message: e.Message, Details: e.Details, Notices: e.Notices}
	}
	return http.StatusCreated, fromRequest(*o.Request)
}

func renderRequest(o access.Outcome) (int, any) { return http.StatusOK, fromRequest(*o.Request) }

func (a *API) listRequests(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	q := readQuery(r, "limit", "cursor", "status", "requester_id", "grantee_id")
	f := access.RequestFilter{
		Statuses:    statuses(q, access.RequestStatuses),
		RequesterID: q.userParam("requester_id"),
		GranteeID:   q.userParam("grantee_id"),
	}
	page, b, err := a.pageOf(r, p, q, url.Values{
		"status": {joinStatuses(f.Statuses)}, "requester_id": {f.RequesterID}, "grantee_id": {f.GranteeID},
	})
	if err != nil {
		return err
	}
	res, err := a.svc.ListRequests(r.Context(), p, f, page)
	if err != nil {
		return err
	}
	return writeList(w, r, a, b, res, fromRequest)
}

func (a *API) getRequest(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	req, err := a.svc.GetRequest(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fromRequest(req))
	return nil
}

func (a *API) approveRequest(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	return a.decideRequest(w, r, p, a.svc.Approve)
}

func (a *API) denyRequest(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	return a.decideRequest(w, r, p, a.svc.Deny)
}

func (a *API) decideRequest(w http.ResponseWriter, r *http.Request, p access.Principal,
	decide func(ctx context.Context, p access.Principal, id, reasoning string, idem *access.Idempotency) (access.Request, error)) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	var in reasoningBody
	if err := decodeOptional(body, &in); err != nil {
		return err
	}
	id := r.PathValue("id")
	return a.idempotent(w, r, p, body, renderRequest, func(idem *access.Idempotency) (access.Outcome, error) {
		req, err := decide(r.Context(), p, id, deref(in.Reasoning), idem)
		return access.Outcome{Request: &req}, err
	})
}

func (a *API) cancelRequest(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	if err := decodeOptional(body, &struct{}{}); err != nil {
		return err
	}
	id := r.PathValue("id")
	return a.idempotent(w, r, p, body, renderRequest, func(idem *access.Idempotency) (access.Outcome, error) {
		req, err := a.svc.Cancel(r.Context(), p, id, idem)
		return access.Outcome{Request: &req}, err
	})
}

func (a *API) forwardRequest(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	var in forwardBody
	v, err := decodeFields(body, &in)
	if err != nil {
		return err
	}
	fw := access.ForwardInput{Comment: deref(in.Comment)}
	required(v, "to", in.To, &fw.To)
	if err := v.Err(); err != nil {
		return err
	}
	id := r.PathValue("id")
	return a.idempotent(w, r, p, body, renderRequest, func(idem *access.Idempotency) (access.Outcome, error) {
		req, err := a.svc.Forward(r.Context(), p, id, fw, idem)
		return access.Outcome{Request: &req}, err
	})
}

func (a *API) listPendingApprovals(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	q := readQuery(r, "limit", "cursor", "approver_id", "requester_id", "grantee_id", "resource_type", "account_id",
		"updated_after", "updated_before", "sort", "order", "count")
	f := access.InboxFilter{
		ApproverID:   q.userParam("approver_id"),
		RequesterID:  q.userParam("requester_id"),
		GranteeID:    q.userParam("grantee_id"),
		ResourceType: access.ResourceType(q.get("resource_type")),
		AccountID:    q.get("account_id"),
		UpdatedAfter: q.timeParam("updated_after"), UpdatedBefore: q.timeParam("updated_before"),
		SortBy: access.RequestSort(q.get("sort")),
	}
	switch f.SortBy {
	case "", access.SortCreatedAt, access.SortUpdatedAt:
	default:
		q.v.Add("sort", "must be created_at or updated_at")
	}
	switch q.get("order") {
	case "", "asc":
	case "desc":
		f.Descending = true
	default:
		q.v.Add("order", "must be asc (oldest first, the default) or desc")
	}
	switch q.get("count") {
	case "", "false":
	case "true":
		f.Count = true
	default:
		q.v.Add("count", "must be true or false")
	}
	filters := url.Values{}
	for _, name := range []string{"approver_id", "requester_id", "grantee_id", "resource_type", "account_id", "updated_after", "updated_before", "sort", "order"} {
		filters.Set(name, q.get(name))
	}
	page, b, err := a.pageOf(r, p, q, filters)
	if err != nil {
		return err
	}
	res, err := a.svc.ListPendingApprovals(r.Context(), p, f, page)
	if err != nil {
		return err
	}
	if f.Count {
		w.Header().Set("X-Total-Count", strconv.Itoa(res.Total))
		if res.TotalCapped {
			w.Header().Set("X-Total-Count-Capped", "true")
		}
	}
	return writeList(w, r, a, b, res.Page, fromRequest)
}

// required copies a required string field, recording it when missing.
func required(v access.Violations, field string, in *string, out *string) {
	if in == nil {
		v.Add(field, "is required")
		return
	}
	*out = *in
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

func joinStatuses[T ~string](list []T) string {
	parts := make([]string, len(list))
	for i, s := range list {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}
