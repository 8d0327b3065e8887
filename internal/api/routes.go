package api

import (
	"net/http"

	"github.com/elevate-jit/elevate/internal/access"
)

// Route is one route of the API: its pattern, the least role that may call
// it (what names it in the refusal), and its handler; or, for the few
// routes anyone may call before signing in, its public handler, which is
// neither authenticated nor rate-limited.
//
// Each route has a constructor named after the Lambda function that serves
// it (requests-get: RequestsGet), which that function's generated main
// passes to NewRoute: a function's binary links its own handler only, and
// New (every route) is the local server's.
type Route struct {
	Pattern string
	role    access.Role
	what    string
	serve   func(a *API) handlerFunc
	public  func(a *API) http.HandlerFunc
}

func route(pattern string, role access.Role, what string, serve func(a *API) handlerFunc) Route {
	return Route{Pattern: pattern, role: role, what: what, serve: serve}
}

// AllRoutes is every route, in the order New registers them.
func AllRoutes() []Route {
	return []Route{
		RequestsCreate(), RequestsPreview(), TenantSignIn(), RequestsList(), RequestsGet(), RequestsApprove(), RequestsDeny(), RequestsCancel(), RequestsForward(), ApprovalsPending(),
		GrantsList(), GrantsCreate(), GrantsGet(), GrantsRevoke(), GrantsExtend(),
		CatalogGet(), CatalogPut(), TenantGet(), TenantPatch(),
		ApikeysCreate(), ApikeysList(), ApikeysGet(), ApikeysDelete(),
		AuditList(),
		PoliciesGet(), PoliciesPut(), PoliciesVersion(), PoliciesEvaluate(), PoliciesBacktest(),
		ReviewsPending(), GrantsReview(), SuspensionsList(), SuspensionsLift(),
	}
}

// The routes, one per API function.

func RequestsCreate() Route {
	return route("POST /v1/requests", access.RoleRequester, "requesting access", func(a *API) handlerFunc { return a.createRequest })
}

func RequestsPreview() Route {
	return route("POST /v1/requests/preview", access.RoleRequester, "requesting access", func(a *API) handlerFunc { return a.previewRequest })
}

// TenantSignIn is public: how the console signs in to a tenant, before
// anyone is signed in.
func TenantSignIn() Route {
	return Route{Pattern: "GET /v1/tenants/{id}/sign-in", public: func(a *API) http.HandlerFunc { return a.signIn }}
}

func RequestsList() Route {
	return route("GET /v1/requests", access.RoleRequester, "reading requests", func(a *API) handlerFunc { return a.listRequests })
}

func RequestsGet() Route {
	return route("GET /v1/requests/{id}", access.RoleRequester, "reading requests", func(a *API) handlerFunc { return a.getRequest })
}

// Below the approver role, the domain lets only members of the group a
// request escalated to (@escalate_to) decide it.

func RequestsApprove() Route {
	return route("POST /v1/requests/{id}/approve", access.RoleRequester, "deciding requests", func(a *API) handlerFunc { return a.approveRequest })
}

func RequestsDeny() Route {
	return route("POST /v1/requests/{id}/deny", access.RoleRequester, "deciding requests", func(a *API) handlerFunc { return a.denyRequest })
}

func RequestsCancel() Route {
	return route("POST /v1/requests/{id}/cancel", access.RoleRequester, "cancelling requests", func(a *API) handlerFunc { return a.cancelRequest })
}

func RequestsForward() Route {
	return route("POST /v1/requests/{id}/forward", access.RoleApprover, "forwarding requests", func(a *API) handlerFunc { return a.forwardRequest })
}

func ApprovalsPending() Route {
	return route("GET /v1/approvals/pending", access.RoleApprover, "the approvals inbox", func(a *API) handlerFunc { return a.listPendingApprovals })
}

func GrantsList() Route {
	return route("GET /v1/grants", access.RoleRequester, "reading grants", func(a *API) handlerFunc { return a.listGrants })
}

func GrantsCreate() Route {
	return route("POST /v1/grants", access.RoleAdmin, "granting access directly", func(a *API) handlerFunc { return a.createGrant })
}

func GrantsGet() Route {
	return route("GET /v1/grants/{id}", access.RoleRequester, "reading grants", func(a *API) handlerFunc { return a.getGrant })
}

func GrantsRevoke() Route {
	return route("POST /v1/grants/{id}/revoke", access.RoleRequester, "revoking grants", func(a *API) handlerFunc { return a.revokeGrant })
}

func GrantsExtend() Route {
	return route("POST /v1/grants/{id}/extend", access.RoleRequester, "extending grants", func(a *API) handlerFunc { return a.extendGrant })
}

func CatalogGet() Route {
	return route("GET /v1/catalog", access.RoleRequester, "reading the catalog", func(a *API) handlerFunc { return a.getCatalog })
}

func CatalogPut() Route {
	return route("PUT /v1/catalog", access.RoleAdmin, "changing the catalog", func(a *API) handlerFunc { return a.putCatalog })
}

func TenantGet() Route {
	return route("GET /v1/tenant", access.RoleAdmin, "reading tenant settings", func(a *API) handlerFunc { return a.getTenant })
}

func TenantPatch() Route {
	return route("PATCH /v1/tenant", access.RoleAdmin, "changing tenant settings", func(a *API) handlerFunc { return a.patchTenant })
}

func ApikeysCreate() Route {
	return route("POST /v1/api-keys", access.RoleAdmin, "managing API keys", func(a *API) handlerFunc { return a.createAPIKey })
}

func ApikeysList() Route {
	return route("GET /v1/api-keys", access.RoleAdmin, "managing API keys", func(a *API) handlerFunc { return a.listAPIKeys })
}

func ApikeysGet() Route {
	return route("GET /v1/api-keys/{id}", access.RoleAdmin, "managing API keys", func(a *API) handlerFunc { return a.getAPIKey })
}

func ApikeysDelete() Route {
	return route("DELETE /v1/api-keys/{id}", access.RoleAdmin, "managing API keys", func(a *API) handlerFunc { return a.deleteAPIKey })
}

func AuditList() Route {
	return route("GET /v1/audit-events", access.RoleAdmin, "reading the audit trail", func(a *API) handlerFunc { return a.listAuditEvents })
}

func PoliciesGet() Route {
	return route("GET /v1/policies", access.RoleApprover, "reading policies", func(a *API) handlerFunc { return a.getPolicies })
}

func PoliciesPut() Route {
	return route("PUT /v1/policies", access.RoleAdmin, "changing policies", func(a *API) handlerFunc { return a.putPolicies })
}

func PoliciesVersion() Route {
	return route("GET /v1/policies/versions/{n}", access.RoleApprover, "reading policies", func(a *API) handlerFunc { return a.getPolicyVersion })
}

func PoliciesEvaluate() Route {
	return route("POST /v1/policies/evaluate", access.RoleAdmin, "evaluating policies", func(a *API) handlerFunc { return a.evaluatePolicies })
}

func PoliciesBacktest() Route {
	return route("POST /v1/policies/backtest", access.RoleAdmin, "backtesting policies", func(a *API) handlerFunc { return a.backtestPolicies })
}

func ReviewsPending() Route {
	return route("GET /v1/reviews/pending", access.RoleApprover, "the reviews inbox", func(a *API) handlerFunc { return a.listPendingReviews })
}

func GrantsReview() Route {
	return route("POST /v1/grants/{id}/review", access.RoleApprover, "reviewing break-glass grants", func(a *API) handlerFunc { return a.reviewGrant })
}

func SuspensionsList() Route {
	return route("GET /v1/break-glass/suspensions", access.RoleAdmin, "listing break-glass suspensions", func(a *API) handlerFunc { return a.listSuspensions })
}

func SuspensionsLift() Route {
	return route("POST /v1/break-glass/suspensions/{user_id}/lift", access.RoleAdmin, "lifting break-glass suspensions", func(a *API) handlerFunc { return a.liftSuspension })
}
