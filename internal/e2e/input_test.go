package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCreateRequestRejectsBadInput(t *testing.T) {
	good := accountRequest("123456789012", "ReadOnly", 600)
	res := func(v body) body { return good.with("resource", v) }
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"missing resource", good.with("resource", nil), "resource"},
		{"missing action", good.with("action", nil), "action"},
		{"missing duration", good.with("duration_seconds", nil), "duration_seconds"},
		{"missing justification", good.with("justification", nil), "justification"},
		{"blank justification", good.with("justification", "   "), "justification"},
		{"long justification", good.with("justification", strings.Repeat("x", 1025)), "justification"},
		{"control characters", good.with("justification", "bad\x00input"), "justification"},
		{"zero duration", good.with("duration_seconds", 0), "duration_seconds"},
		{"negative duration", good.with("duration_seconds", -5), "duration_seconds"},
		{"fractional duration", good.with("duration_seconds", 1.5), "duration_seconds"},
		{"string duration", good.with("duration_seconds", "600"), "duration_seconds"},
		{"duration over tenant max", good.with("duration_seconds", 86401), "duration_seconds"},
		{"huge duration", `{"resource":{"type":"aws_account","id":"123456789012"},"action":"ReadOnly","duration_seconds":1e30,"justification":"x"}`, "duration_seconds"},
		{"unknown action", good.with("action", "God"), "action"},
		{"action of another type", good.with("action", "read"), "action"},
		{"unknown resource type", res(body{"type": "aws_lambda", "id": "f"}), "resource.type"},
		{"short account", res(body{"type": "aws_account", "id": "12345"}), "resource.id"},
		{"extra region", res(body{"type": "aws_account", "id": "123456789012", "region": "eu-west-1"}), "resource.region"},
		{"missing id", res(body{"type": "aws_account"}), "resource.id"},
		{"bad OU", res(body{"type": "aws_organizational_unit", "id": "ou-x"}), "resource.id"},
		{"bad bucket", good.with("action", "read").with("resource", body{"type": "aws_s3_bucket", "id": "Bad_Bucket", "account_id": "123456789012"}), "resource.id"},
		{"bucket without account", good.with("action", "read").with("resource", body{"type": "aws_s3_bucket", "id": "logs"}), "resource.account_id"},
		{"ec2 without region", good.with("action", "read").with("resource", body{"type": "aws_ec2_instance", "id": "i-0123456789abcdef0", "account_id": "123456789012"}), "resource.region"},
		{"bad ec2 id", good.with("action", "read").with("resource", body{"type": "aws_ec2_instance", "id": "i-xyz", "account_id": "123456789012", "region": "eu-west-1"}), "resource.id"},
		{"rds connect without user", good.with("action", "connect").with("resource", body{"type": "aws_rds_instance", "id": "arn:aws:rds:eu-west-1:123456789012:db:orders"}), "resource.db_user"},
		{"rds account mismatch", good.with("action", "read").with("resource", body{"type": "aws_rds_instance", "id": "arn:aws:rds:eu-west-1:123456789012:db:orders", "account_id": "210987654321"}), "resource.account_id"},
		{"permission set not in catalog", good.with("action", "DataEngineer").with("resource", body{"type": "aws_permission_set", "id": "arn:aws:sso:::permissionSet/ssoins-72a3c1e9d4b5f601/ps-ffffffffffffffff", "account_id": "123456789012"}), "resource.id"},
		{"empty grantee", good.with("grantee_id", ""), "grantee_id"},
		{"long grantee", good.with("grantee_id", strings.Repeat("g", 257)), "grantee_id"},
		{"break_glass not bool", good.with("break_glass", "yes"), "break_glass"},
		{"metadata not object", good.with("metadata", []int{1}), "metadata"},
		{"metadata too big", good.with("metadata", body{"blob": strings.Repeat("m", 5000)}), "metadata"},
		{"unknown field", good.with("durration", 5), "durration"},
		{"unknown resource field", res(body{"type": "aws_account", "id": "123456789012", "acount_id": "1"}), "resource.acount_id"},
		{"not json", `{"resource":`, "body"},
		{"array body", `[1,2]`, "body"},
		{"two objects", `{} {}`, "body"},
		{"empty body", ``, "body"},
	}
	runAll(t, func(t *testing.T, e *env) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := e.sub(t)
				er := e.acme.alice.post("/v1/requests", c.body, invalid()).wantError(http.StatusBadRequest, "validation_failed")
				if _, ok := er.Details[c.field]; !ok {
					t.Fatalf("details %v do not name %s", er.Details, c.field)
				}
			})
		}
		// Nothing was recorded.
		var l list[request]
		e.acme.carol.get("/v1/requests").decode(&l)
		if len(l.Data) != 0 {
			t.Fatalf("bad input recorded %d requests", len(l.Data))
		}
	})
}

func TestTransportErrors(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		big := `{"justification":"` + strings.Repeat("x", 70<<10) + `"}`
		a.alice.post("/v1/requests", big, invalid()).wantError(http.StatusRequestEntityTooLarge, "payload_too_large")
		a.alice.post("/v1/requests", "resource=1", header("Content-Type", "application/x-www-form-urlencoded"), invalid()).
			wantError(http.StatusUnsupportedMediaType, "unsupported_media_type")
		a.alice.post("/v1/requests", `{}`, header("Content-Type", "text/plain"), invalid()).wantError(http.StatusUnsupportedMediaType, "unsupported_media_type")
		a.alice.do("PUT", "/v1/requests", nil, invalid()).wantError(http.StatusMethodNotAllowed, "method_not_allowed")
		a.alice.get("/v1/nothing-here", invalid()).wantError(http.StatusNotFound, "not_found")
		a.alice.get("/v1/requests/not-a-request").wantError(http.StatusNotFound, "not_found")
		a.alice.get("/v1//requests", invalid()).wantError(http.StatusNotFound, "not_found")
		a.alice.get("/v1/requests/../grants", invalid()).wantError(http.StatusNotFound, "not_found")
		for _, q := range []string{"limit=0", "limit=251", "limit=ten", "limit=+5", "limit=007", "status=open", "stauts=pending", "limit=1&limit=2"} {
			a.alice.get("/v1/requests?"+q, invalid()).wantError(http.StatusBadRequest, "validation_failed")
		}
		a.alice.get("/v1/grants?status=active,bogus", invalid()).wantError(http.StatusBadRequest, "validation_failed")
		// 250 is allowed.
		a.alice.get("/v1/requests?limit=250").want(http.StatusOK)
	})
}

func TestAdminInputIsValidated(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		for _, c := range []struct {
			name, method, path string
			body               any
			field              string
		}{
			{"bad time zone", "PATCH", "/v1/tenant", body{"time_zone": "Mars/Olympus"}, "time_zone"},
			{"http jwks", "PATCH", "/v1/tenant", body{"jwt": body{"issuer": "https://idp", "audience": "elevate", "jwks_url": "http://idp/jwks", "groups_claim": "groups"}}, "jwt.jwks_url"},
			{"bad role mapping", "PATCH", "/v1/tenant", body{"group_roles": body{"ops": "root"}}, "group_roles.ops"},
			{"window too short", "PATCH", "/v1/tenant", body{"default_approval_window_seconds": 5}, "default_approval_window_seconds"},
			{"negative max", "PATCH", "/v1/tenant", body{"max_duration_seconds": -1}, "max_duration_seconds"},
			{"bad root", "PATCH", "/v1/tenant", body{"identity_center": body{"instance_arn": "arn:aws:sso:::instance/ssoins-72a3c1e9d4b5f601", "identity_store_id": "d-90670a1b2c", "allowed_roots": []string{"everything"}}}, "identity_center.allowed_roots"},
			{"unknown setting", "PATCH", "/v1/tenant", body{"colour": "blue"}, "colour"},
			{"catalog unknown type", "PUT", "/v1/catalog", body{"actions": body{"aws_lambda": []body{{"name": "invoke"}}}}, "actions.aws_lambda"},
			{"catalog action without set", "PUT", "/v1/catalog", body{"actions": body{"aws_account": []body{{"name": "ReadOnly"}}}}, "actions.aws_account"},
			{"key without role", "POST", "/v1/api-keys", body{"name": "k"}, "role"},
			{"key bad role", "POST", "/v1/api-keys", body{"name": "k", "role": "root"}, "role"},
			{"key past expiry", "POST", "/v1/api-keys", body{"name": "k", "role": "requester", "expires_at": start.Add(-time.Hour).Format(time.RFC3339)}, "expires_at"},
			{"key bad expiry", "POST", "/v1/api-keys", body{"name": "k", "role": "requester", "expires_at": "tomorrow"}, "expires_at"},
			{"key bad service name", "POST", "/v1/api-keys", body{"name": "k", "role": "requester", "service_principal": "CI Bot"}, "service_principal"},
			{"grant without expiry", "POST", "/v1/grants", body{"grantee_id": "bob", "resource": body{"type": "aws_account", "id": "123456789012"}, "action": "ReadOnly", "reasoning": "r"}, "expires_at"},
			{"grant past expiry", "POST", "/v1/grants", body{"grantee_id": "bob", "resource": body{"type": "aws_account", "id": "123456789012"}, "action": "ReadOnly", "reasoning": "r", "expires_at": start.Add(-time.Minute).Format(time.RFC3339)}, "expires_at"},
			{"grant beyond max", "POST", "/v1/grants", body{"grantee_id": "bob", "resource": body{"type": "aws_account", "id": "123456789012"}, "action": "ReadOnly", "reasoning": "r", "expires_at": start.Add(25 * time.Hour).Format(time.RFC3339)}, "expires_at"},
			{"reasoning too long", "POST", "/v1/requests/x/approve", body{"reasoning": strings.Repeat("r", 1025)}, "reasoning"},
		} {
			t.Run(c.name, func(t *testing.T) {
				a := e.sub(t).acme
				er := a.ada.do(c.method, c.path, c.body, invalid()).wantError(http.StatusBadRequest, "validation_failed")
				if _, ok := er.Details[c.field]; !ok {
					t.Fatalf("details %v do not name %s", er.Details, c.field)
				}
			})
		}
		// A valid patch works and is audited.
		var tn map[string]any
		a.ada.do("PATCH", "/v1/tenant", body{"time_zone": "Europe/Berlin", "default_approval_window_seconds": 3600}).want(http.StatusOK).decode(&tn)
		if tn["time_zone"] != "Europe/Berlin" || tn["default_approval_window_seconds"] != float64(3600) {
			t.Fatalf("patched tenant = %v", tn)
		}
		// Two tenants cannot share a JWT issuer and audience.
		jwt := body{"jwt": body{"issuer": "https://idp.example.com", "audience": "elevate", "jwks_url": "https://idp.example.com/jwks", "groups_claim": "groups"}}
		a.ada.do("PATCH", "/v1/tenant", jwt).want(http.StatusOK)
		e.globex.ada.do("PATCH", "/v1/tenant", jwt).wantError(http.StatusBadRequest, "validation_failed")

		// Nested settings merge: changing the groups claim keeps the issuer,
		// and changing the roots keeps the instance.
		a.ada.do("PATCH", "/v1/tenant", body{"jwt": body{"groups_claim": "roles"}, "identity_center": body{"allowed_roots": []string{"r-ac01"}}}).want(http.StatusOK).decode(&tn)
		j, ic := tn["jwt"].(map[string]any), tn["identity_center"].(map[string]any)
		if j["issuer"] != "https://idp.example.com" || j["groups_claim"] != "roles" || ic["instance_arn"] == "" {
			t.Fatalf("merged settings = %v / %v", j, ic)
		}
		// A patch that changes nothing writes nothing.
		var before, after list[map[string]any]
		a.ada.get("/v1/audit-events").decode(&before)
		a.ada.do("PATCH", "/v1/tenant", body{}).want(http.StatusOK)
		a.ada.get("/v1/audit-events").decode(&after)
		if len(after.Data) != len(before.Data) {
			t.Fatal("an empty patch was audited as a change")
		}
	})
}
