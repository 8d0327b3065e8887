package api

import (
	"net/http"
	"net/url"

	"github.com/elevate-jit/elevate/internal/access"
)

// listPendingReviews is the reviews inbox: the break-glass grants whose
// review the caller may record.
func (a *API) listPendingReviews(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	q := readQuery(r, "limit", "cursor")
	page, b, err := a.pageOf(r, p, q, url.Values{})
	if err != nil {
		return err
	}
	res, err := a.svc.PendingReviews(r.Context(), p, page)
	if err != nil {
		return err
	}
	return writeList(w, r, a, b, res, fromGrant)
}

// reviewGrant records a review of a break-glass grant.
func (a *API) reviewGrant(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	var in reviewBody
	v, err := decodeFields(body, &in)
	if err != nil {
		return err
	}
	ri := access.ReviewInput{}
	required(v, "outcome", in.Outcome, &ri.Outcome)
	required(v, "reasoning", in.Reasoning, &ri.Reasoning)
	if len(v) > 0 {
		return v.Err()
	}
	id := r.PathValue("id")
	return a.idempotent(w, r, p, body, renderGrant(http.StatusOK), func(idem *access.Idempotency) (access.Outcome, error) {
		g, err := a.svc.ReviewGrant(r.Context(), p, id, ri, idem)
		return access.Outcome{Grant: &g}, err
	})
}

// listSuspensions lists the users whose break-glass is suspended.
func (a *API) listSuspensions(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	q := readQuery(r, "limit", "cursor")
	page, b, err := a.pageOf(r, p, q, url.Values{})
	if err != nil {
		return err
	}
	res, err := a.svc.ListSuspensions(r.Context(), p, page)
	if err != nil {
		return err
	}
	return writeList(w, r, a, b, res, fromSuspension)
}

// liftSuspension lifts a user's break-glass suspension.
func (a *API) liftSuspension(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	var in reasoningBody
	v, err := decodeFields(body, &in)
	if err != nil {
		return err
	}
	var reasoning string
	required(v, "reasoning", in.Reasoning, &reasoning)
	if len(v) > 0 {
		return v.Err()
	}
	userID := r.PathValue("user_id")
	render := func(o access.Outcome) (int, any) { return http.StatusOK, fromSuspension(*o.Suspension) }
	return a.idempotent(w, r, p, body, render, func(idem *access.Idempotency) (access.Outcome, error) {
		sp, err := a.svc.LiftSuspension(r.Context(), p, userID, reasoning, idem)
		return access.Outcome{Suspension: &sp}, err
	})
}
