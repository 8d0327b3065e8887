package api

import (
	"net/http"
	"net/url"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

func (a *API) getCatalog(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	c, err := a.svc.GetCatalog(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fromCatalog(c))
	return nil
}

func (a *API) putCatalog(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	var in catalogJSON
	if err := decode(body, &in); err != nil {
		return err
	}
	if in.Actions == nil {
		return access.Invalid("actions", "is required")
	}
	c, err := a.svc.PutCatalog(r.Context(), p, toCatalog(in))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fromCatalog(c))
	return nil
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	t, err := a.svc.GetTenant(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fromTenant(t))
	return nil
}

func (a *API) patchTenant(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	var in tenantPatchBody
	if err := decode(body, &in); err != nil {
		return err
	}
	patch := access.TenantPatch{Name: in.Name, TimeZone: in.TimeZone}
	if in.JWT != nil {
		patch.JWT = access.JWTPatch{Issuer: in.JWT.Issuer, Audience: in.JWT.Audience, JWKSURL: in.JWT.JWKSURL, GroupsClaim: in.JWT.GroupsClaim,
			ClientID: in.JWT.ClientID, AuthorizationEndpoint: in.JWT.AuthorizationEndpoint}
	}
	if in.GroupRoles != nil {
		patch.GroupRolesSet = true
		patch.GroupRoles = map[string]access.Role{}
		for g, role := range *in.GroupRoles {
			patch.GroupRoles[g] = access.Role(role)
		}
	}
	if in.IdentityMapping != nil {
		m := access.IdentityMapping(*in.IdentityMapping)
		patch.Boundary.IdentityMapping = &m
	}
	if ic := in.IdentityCenter; ic != nil {
		patch.AllowedRoots = ic.AllowedRoots
		patch.Boundary.InstanceARN, patch.Boundary.IdentityStoreID = ic.InstanceARN, ic.IdentityStoreID
		patch.Boundary.AllowedRoots, patch.Boundary.Assignable = ic.AllowedRootsCeiling, ic.Assignable
		patch.Boundary.CutSessions = ic.CutSessions
	}
	patch.ApprovalWindow = seconds(in.DefaultApprovalWindowSeconds, time.Second)
	patch.MaxDuration = seconds(in.MaxDurationSeconds, time.Second)
	patch.AuditRetention = seconds(in.AuditRetentionDays, 24*time.Hour)
	patch.DenyRequiresReasoning = in.DenyRequiresReasoning
	patch.MaxGrantLifetime = seconds(in.MaxGrantLifetimeSeconds, time.Second)
	patch.MaxStartAhead = seconds(in.MaxStartAheadSeconds, time.Second)
	if n := in.ApprovalReminderPercent; n != nil {
		pct := int(min(max(*n, -1), 100)) // out of range stays out of range, for the domain to name
		patch.ReminderPercent = &pct
	}
	if in.EndSessions != nil {
		e := access.EndSessions(*in.EndSessions)
		patch.EndSessions = &e
	}
	patch.BreakGlassReview = seconds(in.BreakGlassReviewSeconds, time.Second)
	if n := in.BreakGlassSuspendAfter; n != nil {
		c := int(min(max(*n, -1), access.MaxSuspendAfterOverdue+1)) // out of range stays out of range
		patch.SuspendAfterOverdue = &c
	}
	patch.Boundary.MaxDuration = seconds(in.MaxDurationCeilingSeconds, time.Second)
	patch.Boundary.MinAuditRetention = seconds(in.AuditRetentionFloorDays, 24*time.Hour)
	patch.Boundary.MaxKeyLifetime = seconds(in.APIKeyMaxLifetimeDays, 24*time.Hour)
	t, err := a.svc.UpdateTenant(r.Context(), p, patch, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fromTenant(t))
	return nil
}

// seconds converts a count of units to a duration, guarding against overflow
// (an out-of-range value becomes one the domain rejects).
func seconds(n *int64, unit time.Duration) *time.Duration {
	if n == nil {
		return nil
	}
	d := time.Duration(-1)
	if *n >= 0 && *n <= int64((1<<62)/unit) {
		d = time.Duration(*n) * unit
	}
	return &d
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	var in createAPIKeyBody
	if err := decode(body, &in); err != nil {
		return err
	}
	v := access.Violations{}
	var ki access.NewAPIKeyInput
	required(v, "name", in.Name, &ki.Name)
	var role string
	required(v, "role", in.Role, &role)
	ki.Role = access.Role(role)
	if in.ServicePrincipal != nil {
		ki.ServicePrincipal = *in.ServicePrincipal
		if ki.ServicePrincipal == "" {
			v.Add("service_principal", "must not be empty; omit it for a key that acts for you")
		}
	}
	ki.Groups = in.Groups
	ki.ExpiresAt = parseTime("expires_at", in.ExpiresAt, v)
	if err := v.Err(); err != nil {
		return err
	}
	// The secret exists only in the first response; a replay returns the key
	// without it (it is never stored, not even in the idempotency record).
	var secret string
	return a.idempotent(w, r, p, body, func(o access.Outcome) (int, any) {
		k := fromAPIKey(*o.APIKey)
		k.Key = secret
		return http.StatusCreated, k
	}, func(idem *access.Idempotency) (access.Outcome, error) {
		k, full, err := a.svc.CreateAPIKey(r.Context(), p, ki, idem)
		secret = full
		return access.Outcome{APIKey: &k}, err
	})
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	q := readQuery(r, "limit", "cursor")
	page, b, err := a.pageOf(r, p, q, url.Values{})
	if err != nil {
		return err
	}
	res, err := a.svc.ListAPIKeys(r.Context(), p, page)
	if err != nil {
		return err
	}
	return writeList(w, r, a, b, res, fromAPIKey)
}

func (a *API) getAPIKey(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	k, err := a.svc.GetAPIKey(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fromAPIKey(k))
	return nil
}

func (a *API) deleteAPIKey(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	k, err := a.svc.RevokeAPIKey(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if f, ok := a.auth.(keyForgetter); ok {
		f.ForgetKey(k.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// keyForgetter is an Authenticator that caches API keys and can forget one.
type keyForgetter interface{ ForgetKey(id string) }

func (a *API) listAuditEvents(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	q := readQuery(r, "limit", "cursor")
	page, b, err := a.pageOf(r, p, q, url.Values{})
	if err != nil {
		return err
	}
	res, err := a.svc.ListAuditEvents(r.Context(), p, page)
	if err != nil {
		return err
	}
	return writeList(w, r, a, b, res, fromAuditEvent)
}

type signInJSON struct {
	TenantID string    `json:"tenant_id"`
	OIDC     *oidcJSON `json:"oidc"`
	// APIKeys: an API key always signs in (local mode, service users).
	APIKeys bool `json:"api_keys"`
}

type oidcJSON struct {
	Issuer                string  `json:"issuer"`
	Audience              string  `json:"audience"`
	ClientID              string  `json:"client_id"`
	AuthorizationEndpoint *string `json:"authorization_endpoint"`
}

// signIn answers, to anyone, how the console signs a person in to a tenant:
// the tenant's public OIDC client, or none (API keys only).
func (a *API) signIn(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	si, err := a.svc.SignInSettings(r.Context(), id)
	if err != nil {
		WriteError(w, r, a.log, err)
		return
	}
	out := signInJSON{TenantID: access.CanonicalTenantID(id), APIKeys: true}
	if si.ClientID != "" {
		out.OIDC = &oidcJSON{Issuer: si.Issuer, Audience: si.Audience, ClientID: si.ClientID}
		if si.AuthorizationEndpoint != "" {
			out.OIDC.AuthorizationEndpoint = &si.AuthorizationEndpoint
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}
