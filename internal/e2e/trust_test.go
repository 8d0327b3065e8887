package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// globexAdminSet is a permission set of Globex's instance that Acme's
// operator never made assignable to Acme.
const globexAdminSet = "arn:aws:sso:::permissionSet/ssoins-0b5e8d2c7a9f3e14/ps-1b2c3d4e5f607182"

// TestTenantAdminCannotReachPastTheBoundary replays the attack that put
// Acme's admin into Globex's account: widen the allowed roots, remap an
// action to a Globex permission set, and grant it directly. Each step is
// refused with 403 forbidden, and nothing reaches Identity Center.
func TestTenantAdminCannotReachPastTheBoundary(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		for _, patch := range []body{
			{"identity_center": body{"allowed_roots": []string{"r-ac01", "345678901234"}}},
			{"identity_center": body{"instance_arn": "arn:aws:sso:::instance/ssoins-0b5e8d2c7a9f3e14"}},
			{"identity_center": body{"identity_store_id": "d-1234567890"}},
			{"identity_mapping": "user_id"},
		} {
			er := a.ada.do(http.MethodPatch, "/v1/tenant", patch).wantError(http.StatusForbidden, "forbidden")
			if !strings.Contains(er.Message, "operator") {
				t.Errorf("PATCH %v: message %q should say the operator owns it", patch, er.Message)
			}
		}
		er := a.ada.do(http.MethodPut, "/v1/catalog", body{"actions": body{
			"aws_account": []body{{"name": "Admin", "permission_set_arn": globexAdminSet}},
		}}).wantError(http.StatusForbidden, "forbidden")
		if !strings.Contains(er.Message, "assignable") {
			t.Errorf("PUT /v1/catalog: message %q should say the set is not assignable", er.Message)
		}
		a.ada.post("/v1/grants", body{
			"grantee_id": "bob", "resource": body{"type": "aws_account", "id": "345678901234"}, "action": "Admin",
			"expires_at": start.Add(time.Hour).Format(time.RFC3339), "reasoning": "cross-tenant",
		}).wantError(http.StatusForbidden, "forbidden")
		e.settle()
		if got := e.local.IdentityCenter.Assignments(); len(got) != 0 {
			t.Fatalf("Identity Center holds %+v", got)
		}
	})
}
