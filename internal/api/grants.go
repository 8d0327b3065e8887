package api

import (
	"net/http"
	"net/url"

	"github.com/elevate-jit/elevate/internal/access"
)

func renderGrant(status int) renderFunc {
	return func(o access.Outcome) (int, any) { return status, fromGrant(*o.Grant) }
}

func (a *API) listGrants(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	q := readQuery(r, "limit", "cursor", "status", "grantee_id")
	f := access.GrantFilter{Statuses: statuses(q, access.GrantStatuses), GranteeID: q.userParam("grantee_id")}
	page, b, err := a.pageOf(r, p, q, url.Values{"status": {joinStatuses(f.Statuses)}, "grantee_id": {f.GranteeID}})
	if err != nil {
		return err
	}
	res, err := a.svc.ListGrants(r.Context(), p, f, page)
	if err != nil {
		return err
	}
	return writeList(w, r, a, b, res, fromGrant)
}

func (a *API) getGrant(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	g, err := a.svc.GetGrant(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fromGrant(g))
	return nil
}

func (a *API) createGrant(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	var in createGrantBody
	v, err := decodeFields(body, &in)
	if err != nil {
		return err
	}
	cg := access.CreateGrantInput{Metadata: in.Metadata}
	if in.Resource == nil {
		v.Add("resource", "is required")
	} else {
		cg.Resource = toResource(*in.Resource)
	}
	required(v, "grantee_id", in.GranteeID, &cg.GranteeID)
	required(v, "action", in.Action, &cg.Action)
	required(v, "reasoning", in.Reasoning, &cg.Reasoning)
	if in.ExpiresAt == nil {
		v.Add("expires_at", "is required")
	}
	cg.ExpiresAt = parseTime("expires_at", in.ExpiresAt, v)
	if len(v) > 0 {
		v.Absorb(a.svc.CheckGrant(r.Context(), p, cg)) // every problem at once
		return v.Err()
	}
	return a.idempotent(w, r, p, body, renderGrant(http.StatusCreated), func(idem *access.Idempotency) (access.Outcome, error) {
		g, err := a.svc.CreateGrant(r.Context(), p, cg, idem)
		return access.Outcome{Grant: &g}, err
	})
}

func (a *API) revokeGrant(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	var in reasoningBody
	if err := decodeOptional(body, &in); err != nil {
		return err
	}
	id := r.PathValue("id")
	return a.idempotent(w, r, p, body, renderGrant(http.StatusOK), func(idem *access.Idempotency) (access.Outcome, error) {
		g, err := a.svc.RevokeGrant(r.Context(), p, id, deref(in.Reasoning), idem)
		return access.Outcome{Grant: &g}, err
	})
}

func (a *API) extendGrant(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	var in extendGrantBody
	v, err := decodeFields(body, &in)
	if err != nil {
		return err
	}
	ext := access.ExtendGrantInput{}
	required(v, "justification", in.Justification, &ext.Justification)
	if in.DurationSeconds == nil {
		v.Add("duration_seconds", "is required")
	} else {
		ext.DurationSeconds = *in.DurationSeconds
	}
	if len(v) > 0 {
		v.Absorb(a.svc.CheckExtend(r.Context(), p, ext)) // every problem at once
		return v.Err()
	}
	id := r.PathValue("id")
	return a.idempotent(w, r, p, body, renderCreatedRequest, func(idem *access.Idempotency) (access.Outcome, error) {
		req, err := a.svc.ExtendGrant(r.Context(), p, id, ext, idem)
		if err != nil && access.CodeOf(err) != access.CodePolicyDenied {
			return access.Outcome{}, err
		}
		return access.Outcome{Request: &req}, nil
	})
}
