package e2e

import (
	"net/http"
	"testing"
	"time"
)

// TestAliasesOfYourselfAreYou: the Identity Store matches user names
// whatever their case, so "ADA" is ada and "Carol" is carol.
func TestAliasesOfYourselfAreYou(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		a.ada.post("/v1/grants", body{
			"grantee_id": "ADA", "resource": body{"type": "aws_account", "id": "123456789012"}, "action": "Admin",
			"expires_at": start.Add(time.Hour).Format(time.RFC3339), "reasoning": "me, myself",
		}).wantError(http.StatusForbidden, "forbidden")
		r := a.alice.post("/v1/requests", accountRequest("123456789012", "Admin", 600).with("grantee_id", "Carol")).
			want(http.StatusCreated).request()
		a.carol.post("/v1/requests/"+r.ID+"/approve", body{"reasoning": "fine"}).wantError(http.StatusForbidden, "forbidden")
	})
}

// TestServiceKeyNamedLikeAUserIsNotThatUser: principals are (kind, id).
func TestServiceKeyNamedLikeAUserIsNotThatUser(t *testing.T) {
	runAll(t, func(t *testing.T, e *env) {
		a := e.acme
		r := a.alice.post("/v1/requests", accountRequest("123456789012", "ReadOnly", 3600)).want(http.StatusCreated).request()
		e.settle()
		var k struct {
			Secret string `json:"key"`
		}
		a.ada.post("/v1/api-keys", body{"name": "looks like alice", "role": "requester", "service_principal": "alice"}).
			want(http.StatusCreated).decode(&k)
		impostor := caller{e: e, tenant: a.id, key: k.Secret, name: "service alice"}
		var grants list[grant]
		impostor.get("/v1/grants").want(http.StatusOK).decode(&grants)
		if len(grants.Data) != 0 {
			t.Errorf("the service key lists alice's grants: %+v", grants.Data)
		}
		impostor.get("/v1/grants/"+*r.GrantID).wantError(http.StatusNotFound, "not_found")
		impostor.post("/v1/grants/"+*r.GrantID+"/revoke", body{}).wantError(http.StatusNotFound, "not_found")
		var reqs list[request]
		impostor.get("/v1/requests").want(http.StatusOK).decode(&reqs)
		if len(reqs.Data) != 0 {
			t.Errorf("the service key lists alice's requests: %+v", reqs.Data)
		}
	})
}
