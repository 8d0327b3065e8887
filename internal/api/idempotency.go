package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/elevate-jit/elevate/internal/access"
)

// A state-changing call renders its outcome; a replay renders the recorded
// outcome the same way.
type renderFunc func(access.Outcome) (int, any)

// runFunc performs a state-changing call, with the caller's idempotency key
// when there is one.
type runFunc func(idem *access.Idempotency) (access.Outcome, error)

// idempotent performs a POST at most once per Idempotency-Key (the API contract):
// the key is scoped to tenant, principal and route (the path, so it names the
// object); a replay with the same body returns the first response; another
// body is 422; a duplicate while the first still runs is 409.
func (a *API) idempotent(w http.ResponseWriter, r *http.Request, p access.Principal, body []byte, render renderFunc, run runFunc) error {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		o, err := run(nil)
		if err != nil {
			return err
		}
		status, v := render(o)
		writeJSON(w, status, v)
		return nil
	}
	if len(key) > 255 || !printableASCII(key) {
		return access.Invalid("Idempotency-Key", "must be 1 to 255 printable ASCII characters")
	}
	sum := sha256.Sum256(body)
	idem := access.Idempotency{
		Scope:    access.IdempotencyScope{TenantID: p.TenantID, PrincipalID: p.ID, Route: r.Method + " " + r.URL.Path, Key: key},
		BodyHash: hex.EncodeToString(sum[:]),
	}
	if o, ok, err := a.svc.Replay(r.Context(), idem); err != nil {
		return err
	} else if ok {
		w.Header().Set("Idempotent-Replayed", "true")
		status, v := render(o)
		writeJSON(w, status, v)
		return nil
	}
	if !a.begin(idem.Scope) {
		return access.Errorf(access.CodeConflict, "a request with this Idempotency-Key is still being processed; retry to get its response")
	}
	defer a.end(idem.Scope)
	o, err := run(&idem)
	if err != nil {
		return err
	}
	status, v := render(o)
	writeJSON(w, status, v)
	return nil
}

func (a *API) begin(s access.IdempotencyScope) bool {
	a.inflightMu.Lock()
	defer a.inflightMu.Unlock()
	if a.inflight[s] {
		return false
	}
	a.inflight[s] = true
	return true
}

func (a *API) end(s access.IdempotencyScope) {
	a.inflightMu.Lock()
	defer a.inflightMu.Unlock()
	delete(a.inflight, s)
}

func printableASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
