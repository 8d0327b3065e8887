package dynamo

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

var at = time.Date(2025, time.March, 14, 9, 26, 53, 589793000, time.UTC)

func testTenant() access.Tenant {
	return access.Tenant{
		ID: "4f1c2a9e-0b7d-4c3e-9a51-6d2f8e7b1a01", Name: "Acme",
		Boundary: access.Boundary{
			InstanceARN: "arn:aws:sso:::instance/ssoins-72230ed8c1d3a5f4", IdentityStoreID: "d-9067a1b2c3", IdentityMapping: access.MapEmail,
			AllowedRoots: []string{"r-a1b2"}, Assignable: []string{"arn:aws:sso:::permissionSet/ssoins-72230ed8c1d3a5f4/ps-0f3a9c1d2b4e6a7c"},
			MaxDuration: 48 * time.Hour, MinAuditRetention: 30 * 24 * time.Hour, MaxKeyLifetime: 60 * 24 * time.Hour, CutSessions: true,
		},
		Settings: access.Settings{
			JWT: access.JWTSettings{Issuer: "https://idp.example.com", Audience: "api://elevate", JWKSURL: "https://idp.example.com/keys", GroupsClaim: "groups",
				ClientID: "elevate-console", AuthorizationEndpoint: "https://idp.example.com/authorize"},
			GroupRoles: map[string]access.Role{"admins": access.RoleAdmin},
			TimeZone:   "Europe/Berlin", ApprovalWindow: 90 * time.Minute, MaxDuration: 12*time.Hour + 1, AuditRetention: 400 * 24 * time.Hour,
			AllowedRoots: []string{"ou-a1b2-c3d4e5f6"}, DenyReasoningOptional: true, MaxGrantLifetime: 36 * time.Hour, MaxStartAhead: 48 * time.Hour, ReminderPercent: 75, RemindersOff: true, EndSessions: access.EndSessionsOff,
			BreakGlassReview: 2 * time.Hour, SuspendAfterOverdue: 2, SuspendOverdueOff: true,
		},
		Catalog:       access.Catalog{access.ResourceAccount: {{Name: "ReadOnly", Description: "Read", PermissionSetARN: "arn:aws:sso:::permissionSet/ssoins-72230ed8c1d3a5f4/ps-0f3a9c1d2b4e6a7c"}}},
		PolicyVersion: 3, Revision: 7, CreatedAt: at, UpdatedAt: at.Add(time.Nanosecond),
	}
}

func testRequest() access.Request {
	return access.Request{
		ID: "0195e1c2-0000-7000-8000-000000000001", TenantID: testTenant().ID, RequesterID: "alice", RequesterKind: access.PrincipalUser, GranteeID: "bob",
		RequesterUserID: "u-alice", GranteeUserID: "u-bob", PermissionSetARN: "ps",
		Resource: access.Resource{Type: access.ResourceRDSInstance, ID: "arn:aws:rds:eu-west-1:111122223333:db:pay", AccountID: "111122223333", Region: "eu-west-1", DBUser: "ro"},
		Action:   "connect", Justification: "INC-1", DurationSeconds: 3600, BreakGlass: true, Status: access.RequestPending,
		ApprovalMode: access.ModeRequire, ApprovalsRequired: 2,
		Approvals: []access.Approval{{ApproverID: "carol", ApproverUserID: "u-carol", Reasoning: "ok", At: at.Add(time.Minute)}},
		Reasoning: "why", DecidedBy: "carol", DecidedAt: at.Add(2 * time.Minute), ApprovalExpiresAt: at.Add(time.Hour),
		GrantID: "g1", ExtendsGrantID: "g0", StartsAt: at.Add(3 * time.Hour), Notices: []string{"n1", "n2"},
		RemindAt: at.Add(30 * time.Minute), RemindedAt: at.Add(31 * time.Minute), EscalateAt: at.Add(40 * time.Minute), EscalateTo: "leads", EscalatedAt: at.Add(41 * time.Minute), EndSessions: "true",
		Context: &access.DecisionContext{Groups: []string{"oncall"}, Ancestors: []string{"r-1", "ou-1"}, TimeZone: "Europe/Paris",
			Extension:           &access.ExtensionContext{RemainingSeconds: 60, Extensions: 1, OriginalDurationSeconds: 3600},
			ActiveGrants:        []access.ActiveGrantContext{{ID: "g7", ResourceType: "aws_account", ResourceID: "111122223333", AccountID: "111122223333", Action: "Admin"}},
			BreakGlassSuspended: true},
		ForwardHistory: []access.Forward{{From: "carol", To: "dave", By: "ada", Comment: "away", At: at.Add(30 * time.Second)}},
		Conflicts:      []access.Conflict{{PolicyID: "p1", Name: "sod", Enforce: "deny", GrantIDs: []string{"g7", "g8"}}},
		Metadata:       map[string]any{"ticket": "INC-1", "n": json.Number("12345678901234567890"), "nested": map[string]any{"a": []any{true, nil, 1.5}}},
		PolicyVersion:  3, TaskToken: "token", Revision: 4, CreatedAt: at, UpdatedAt: at.Add(time.Hour),
	}
}

func testGrant() access.Grant {
	return access.Grant{
		ID: "g1", TenantID: testTenant().ID, RequestID: "r1", GranteeID: "bob", GranteeUserID: "u-bob", CreatedBy: "alice",
		PermissionSetARN: "ps", PolicyVersion: 2,
		Resource: access.Resource{Type: access.ResourceAccount, ID: "111122223333", AccountID: "a", Region: "r", DBUser: "u"},
		Action:   "ReadOnly", Status: access.GrantActive, DurationSeconds: 3600,
		StartsAt: at.Add(-time.Hour), ExpiresAt: at.Add(time.Hour), GrantedAt: at.Add(time.Second), RevokedAt: at.Add(time.Minute), RevokedBy: "ada",
		Reasoning: "done", EndReason: access.EndRevocation, EndingAt: at.Add(50 * time.Second), Failure: "boom",
		Assignments: []access.Assignment{{InstanceARN: "i", PermissionSetARN: "p", AccountID: "111122223333", PrincipalID: "u", State: access.AssignmentActive, External: true, DeletedAt: at.Add(40 * time.Second)}},
		Notices:     []string{"n"}, Metadata: map[string]any{"k": "v"}, BreakGlass: true, Generation: 2, Extensions: 1, PendingExtension: "r9", Revision: 3, EndSessions: "false",
		Revocation: &access.Revocation{AssignmentDeletedAt: at.Add(40 * time.Second), VerifiedAbsentAt: at.Add(45 * time.Second), SessionsCutUntil: at.Add(time.Hour), Method: access.CutDone},
		Review: &access.Review{Status: access.ReviewJustified, DueAt: at.Add(24 * time.Hour), OverdueAt: at.Add(25 * time.Hour), ReviewerID: "carol",
			Reasoning: "incident INC-1", ReviewedAt: at.Add(26 * time.Hour)},
		CreatedAt: at, UpdatedAt: at.Add(time.Second),
	}
}

func testAPIKey() access.APIKey {
	return access.APIKey{
		ID: "k7f3a9c1d2b4e6a70000", TenantID: testTenant().ID, Name: "ci", Role: access.RoleRequester,
		PrincipalID: "svc", PrincipalKind: access.PrincipalService, Groups: []string{"g"}, SecretHash: []byte{1, 2, 3},
		CreatedBy: "ada", CreatedAt: at, ExpiresAt: at.Add(time.Hour), RevokedAt: at.Add(time.Minute), RevokedBy: "ada", Revision: 2,
	}
}

// sameJSON compares domain values as JSON, where a metadata number reads
// back as json.Number.
func sameJSON(t *testing.T, what string, want, got any) {
	t.Helper()
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(w) != string(g) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// allSet fails when a fixture leaves a field zero, so that a new domain
// field cannot slip past the round trips below unconverted.
func allSet(t *testing.T, v any, except ...string) {
	t.Helper()
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		if slices.Contains(except, path) {
			return
		}
		if v.Kind() == reflect.Struct && v.Type() != reflect.TypeFor[time.Time]() {
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
			return
		}
		if v.IsZero() {
			t.Errorf("the fixture leaves %s zero; set it so the round trip covers it", path)
		}
	}
	walk(reflect.TypeOf(v).Name(), reflect.ValueOf(v))
}

// roundTrip marshals an item to attributes and back, as a write and a read
// would.
func roundTrip[T any](t *testing.T, item T) T {
	t.Helper()
	m, err := marshal(item)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := unmarshal(m, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestItemRoundTrips(t *testing.T) {
	t.Run("tenant", func(t *testing.T) {
		v := testTenant()
		allSet(t, v)
		got, err := tenantFromData(roundTrip(t, tenantToItem(v)).tenantData)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "tenant", v, got)
	})
	t.Run("request", func(t *testing.T) {
		v := testRequest()
		allSet(t, v)
		items, err := requestToItems(v)
		if err != nil || len(items) != 2 {
			t.Fatalf("requestToItems: %d items, %v; want the request and its grantee's copy", len(items), err)
		}
		for _, it := range items {
			got, err := requestFromData(roundTrip(t, it).requestData)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "request "+it.SK, v, got)
		}
		if cp := items[1]; cp.SK != "P#bob" || cp.GSI5PK != requestsByParty(v.TenantID, "bob") || cp.GSI1PK != "" || cp.GSI2PK != "" || cp.GSI3PK != "" || cp.GSI4PK != "" {
			t.Errorf("the grantee's copy has keys %+v; want only the party index", cp.keys)
		}
		v.GranteeID = v.RequesterID
		if items, _ := requestToItems(v); len(items) != 1 {
			t.Errorf("a request that is not delegated has %d items, want 1", len(items))
		}
	})
	t.Run("suspension", func(t *testing.T) {
		v := access.Suspension{TenantID: testTenant().ID, IdentityStoreUserID: "9067a1b2c3-bbbbbbbb-1111-2222-3333-444444444444", UserID: "bob", Overdue: 2, Suspended: true, Reason: access.SuspendedUnjustified,
			GrantID: "g1", SuspendedAt: at, SuspendedBy: "carol", LiftedAt: at.Add(-time.Hour), LiftedBy: "ada", LiftReasoning: "ok",
			Revision: 3, UpdatedAt: at.Add(time.Second)}
		allSet(t, v)
		got, err := suspensionFromItem(roundTrip(t, suspensionToItem(v)))
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "suspension", v, got)
	})
	t.Run("grant", func(t *testing.T) {
		v := testGrant()
		allSet(t, v)
		it, err := grantToItem(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := grantFromData(roundTrip(t, it).grantData)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "grant", v, got)
	})
	t.Run("api key", func(t *testing.T) {
		v := testAPIKey()
		allSet(t, v)
		got, err := apiKeyFromData(roundTrip(t, apiKeyToItem(v)).apiKeyData)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "api key", v, got)
	})
	t.Run("audit event", func(t *testing.T) {
		v := access.AuditEvent{
			ID: "e1", TenantID: testTenant().ID, At: at, ActorID: "ada", ActorKind: access.PrincipalUser, Action: "request.created",
			Severity: access.SeverityHigh, ObjectType: "request", ObjectID: "r1", Details: map[string]any{"x": 1.0}, ExpiresAt: at.Add(time.Hour + time.Nanosecond),
		}
		allSet(t, v)
		it, err := auditToItem(v)
		if err != nil {
			t.Fatal(err)
		}
		if it.TTL != at.Add(time.Hour).Unix()+1 {
			t.Errorf("ttl %d: want the second after ExpiresAt, %d", it.TTL, at.Add(time.Hour).Unix()+1)
		}
		got, err := auditFromItem(roundTrip(t, it))
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "audit event", v, got)
	})
	t.Run("policy set", func(t *testing.T) {
		v := access.PolicySet{TenantID: testTenant().ID, Version: 12, Text: "permit (principal, action, resource);", CreatedBy: "ada", CreatedAt: at}
		allSet(t, v)
		it := policyToItem(v)
		if it.SK != "V#0000000012" {
			t.Errorf("sort key %q", it.SK)
		}
		got, err := policyFromItem(roundTrip(t, it))
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "policy set", v, got)
	})
	t.Run("ledger entry", func(t *testing.T) {
		v := access.LedgerEntry{
			Key:   access.AssignmentKey{InstanceARN: "i", PrincipalID: "u", AccountID: "111122223333", PermissionSetARN: "p"},
			State: access.LedgerCreating, External: true, Holders: []access.Holder{{TenantID: testTenant().ID, GrantID: "g1"}, {TenantID: "t2", GrantID: "g2"}},
			Issuer: access.Holder{TenantID: testTenant().ID, GrantID: "g1"}, CreationIssuedAt: at.Add(time.Millisecond), OperationID: "op",
			Revision: 2, CreatedAt: at, UpdatedAt: at.Add(time.Second),
		}
		allSet(t, v, "LedgerEntry.Deleted")
		got, err := ledgerFromItem(roundTrip(t, ledgerToItem(v)))
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "ledger entry", v, got)
	})
	t.Run("session cuts", func(t *testing.T) {
		v := access.CutSet{
			Key: access.CutSetKey{InstanceARN: "i", PermissionSetARN: "p"},
			Cuts: []access.SessionCut{{Sid: "ElevateCut0011", Holder: access.Holder{TenantID: testTenant().ID, GrantID: "g1"}, UserName: "alice",
				Accounts: []string{"111122223333"}, IssuedBefore: at, Until: at.Add(time.Hour), State: access.CutStateApplied}},
			ApplyingSince: at.Add(time.Second), Revision: 2, CreatedAt: at, UpdatedAt: at.Add(time.Second),
		}
		allSet(t, v, "CutSet.Deleted")
		got, err := cutSetFromItem(roundTrip(t, cutSetToItem(v)))
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "session cuts", v, got)
	})
	t.Run("idempotency record", func(t *testing.T) {
		r, g, k := testRequest(), testGrant(), testAPIKey()
		v := access.IdempotencyRecord{
			Scope:    access.IdempotencyScope{TenantID: testTenant().ID, PrincipalID: "alice", Route: "POST /v1/requests", Key: "k1"},
			BodyHash: "9f86d081", Outcome: access.Outcome{Request: &r, Grant: &g, APIKey: &k},
			CreatedAt: at, ExpiresAt: at.Add(access.IdempotencyTTL),
		}
		allSet(t, v, "IdempotencyRecord.Outcome")
		it, err := idempotencyToItem(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := idempotencyFromItem(roundTrip(t, it))
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "idempotency record", v, got)
	})
}

// TestZeroValues checks that zero times, empty lists and maps are left out
// of items and read back as zero values.
func TestZeroValues(t *testing.T) {
	v := access.Request{ID: "r1", TenantID: "t1", Status: access.RequestPending, Revision: 1, CreatedAt: at}
	items, err := requestToItems(v)
	if err != nil {
		t.Fatal(err)
	}
	m, err := marshal(items[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"decided_at", "approval_expires_at", "metadata", "approvals", "notices", "updated_at"} {
		if _, ok := m[name]; ok {
			t.Errorf("attribute %s is stored for a zero value", name)
		}
	}
	got, err := requestFromData(roundTrip(t, items[0]).requestData)
	if err != nil {
		t.Fatal(err)
	}
	if !got.DecidedAt.IsZero() || got.Metadata != nil || got.Approvals != nil || !got.CreatedAt.Equal(at) {
		t.Errorf("read back %+v", got)
	}
}

// TestSortKeyOrder checks that sort keys order as times do, ties by id.
func TestSortKeyOrder(t *testing.T) {
	times := []time.Time{
		at, at.Add(time.Nanosecond), at.Add(999 * time.Nanosecond), at.Add(time.Second), at.Add(-time.Second),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 3600)),
	}
	for _, a := range times {
		for _, b := range times {
			for _, ids := range [][2]string{{"a", "b"}, {"b", "a"}, {"a", "a"}} {
				ka, kb := sortKey(a, ids[0]), sortKey(b, ids[1])
				want := a.Compare(b)
				if want == 0 {
					want = strings.Compare(ids[0], ids[1])
				}
				if got := strings.Compare(ka, kb); got != want {
					t.Errorf("compare(%s, %s) = %d, want %d", ka, kb, got, want)
				}
				if !validSortKey(ka) {
					t.Errorf("validSortKey(%q) = false", ka)
				}
			}
		}
	}
}

func TestPositions(t *testing.T) {
	p := encodePosition("list-a", sortKey(at, "r1"))
	if got, err := decodePosition(p, "list-a"); err != nil || got != sortKey(at, "r1") {
		t.Fatalf("decodePosition = %q, %v", got, err)
	}
	for name, b := range map[string][]byte{
		"garbage":        []byte("not a cursor"),
		"another list":   p,
		"empty position": encodePosition("list-b", ""),
		"not a sort key": encodePosition("list-b", "2025-03-14#r1"),
		"other version":  []byte(`{"v":2,"l":"list-b","a":"2025-03-14T09:26:53.589793000Z#r1"}`),
	} {
		if _, err := decodePosition(b, "list-b"); access.CodeOf(err) != access.CodeInvalidCursor {
			t.Errorf("%s: error %v, want code %s", name, err, access.CodeInvalidCursor)
		}
	}
}

// TestKeysAreTenantScoped checks that every tenant item's partition key
// begins with the tenant's prefix, that the two claim items and the ledger
// (shared by the tenants of an instance) are the only deployment-level ones,
// and that the tenant item's entry in the sweeper's list of tenants and the
// ledger's list are the only deployment-level index partitions.
func TestKeysAreTenantScoped(t *testing.T) {
	tid := testTenant().ID
	prefix := "T#" + tid
	items, _ := requestToItems(testRequest())
	g, _ := grantToItem(testGrant())
	a, _ := auditToItem(access.AuditEvent{ID: "e", TenantID: tid, At: at})
	idem, _ := idempotencyToItem(access.IdempotencyRecord{Scope: access.IdempotencyScope{TenantID: tid, Key: "k"}})
	all := []keys{
		tenantToItem(testTenant()).keys, items[0].keys, items[1].keys, g.keys, apiKeyToItem(testAPIKey()).keys, a.keys, idem.keys,
		policyToItem(access.PolicySet{TenantID: tid, Version: 1}).keys,
	}
	active := testGrant()
	active.Status = access.GrantActive
	ag, _ := grantToItem(active)
	all = append(all, ag.keys)
	if ag.GSI7PK == "" {
		t.Error("an active grant is not in the expiry index")
	}
	for i, k := range all {
		for _, v := range []string{k.PK, k.GSI1PK, k.GSI2PK, k.GSI3PK, k.GSI4PK, k.GSI5PK, k.GSI7PK} {
			if i == 0 && v == tenantsAll {
				continue // the tenant in the sweeper's list of tenants
			}
			if v != "" && !strings.HasPrefix(v, prefix) {
				t.Errorf("key %q of %s does not begin with %q", v, k.PK, prefix)
			}
		}
	}
	if l := ledgerToItem(access.LedgerEntry{Key: access.AssignmentKey{InstanceARN: "i"}}).keys; !strings.HasPrefix(l.PK, "LEDGER#") || l.GSI1PK != ledgerAll {
		t.Errorf("ledger keys %+v", l)
	}
	if !strings.HasPrefix(issuerPK("i", "a"), "ISS#") || !strings.HasPrefix(keyClaimPK("k"), "KEYID#") || keyIDKey("k") != "KEY#k" {
		t.Error("claim and key id keys changed")
	}
}

// TestMetadataIsJSON checks that metadata values that are not JSON values
// fail the write rather than being stored wrongly.
func TestMetadataIsJSON(t *testing.T) {
	r := testRequest()
	r.Metadata = map[string]any{"ch": make(chan int)}
	if _, err := requestToItems(r); err == nil {
		t.Error("a channel in metadata was accepted")
	}
}
