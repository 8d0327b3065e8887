package api

import (
	"net/http"
	"net/url"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/cursor"
)

// pageOf reads the page size and cursor of a list call. The cursor is bound
// to the tenant, the principal and the list's route and filters (canonical,
// without limit and cursor), so it cannot be replayed elsewhere.
func (a *API) pageOf(r *http.Request, p access.Principal, q *query, filters url.Values) (access.PageRequest, cursor.Binding, error) {
	b := cursor.Binding{TenantID: p.TenantID, PrincipalID: p.ID, Query: r.URL.Path + "?" + filters.Encode()}
	page := access.PageRequest{Limit: q.limit()}
	if err := q.err(); err != nil {
		return page, b, err
	}
	if c := q.get("cursor"); c != "" {
		after, err := a.cursors.Open(r.Context(), b, c, a.now())
		if err != nil {
			return page, b, err
		}
		page.After = after
	}
	return page, b, nil
}

// writeList writes a list envelope, sealing the store's next position.
func writeList[T, W any](w http.ResponseWriter, r *http.Request, a *API, b cursor.Binding, page access.Page[T], conv func(T) W) error {
	out := listJSON[W]{Data: make([]W, 0, len(page.Items))}
	for _, it := range page.Items {
		out.Data = append(out.Data, conv(it))
	}
	if page.Next != nil {
		c, err := a.cursors.Seal(r.Context(), b, page.Next, a.now().Add(a.cursorTTL))
		if err != nil {
			return err
		}
		out.NextCursor, out.HasMore = &c, true
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
