package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/google/uuid"
)

// base is the time test objects are created around. It has microseconds, the
// precision the domain writes, so round trips check sub-second times.
var base = time.Date(2025, time.March, 14, 9, 26, 53, 589793000, time.UTC)

// People and AWS names the fixtures use.
const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
	carol = "carol@example.com"

	instanceARN  = "arn:aws:sso:::instance/ssoins-72230ed8c1d3a5f4"
	readOnlySet  = "arn:aws:sso:::permissionSet/ssoins-72230ed8c1d3a5f4/ps-0f3a9c1d2b4e6a7c"
	adminSet     = "arn:aws:sso:::permissionSet/ssoins-72230ed8c1d3a5f4/ps-9d8c7b6a5f4e3d2c"
	managedSet   = "arn:aws:sso:::permissionSet/ssoins-72230ed8c1d3a5f4/ps-1a2b3c4d5e6f7a8b"
	storeUserID  = "94482488-3041-7026-18f3-3a0c1c8e9b71"
	paymentsDB   = "arn:aws:rds:eu-west-1:111122223333:db:payments-primary"
	paymentsAcct = "111122223333"
	otherAcct    = "444455556666"
)

// now is the wall clock at the precision the domain writes. Expiry is checked
// against the store's clock, so records that must stay live or be expired are
// dated from here.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// newTenant returns a tenant with every setting filled in and a JWT issuer of
// its own.
func newTenant() access.Tenant {
	id := uuid.NewString()
	return access.Tenant{
		ID:   id,
		Name: "Acme Payments",
		Boundary: access.Boundary{
			InstanceARN:       instanceARN,
			IdentityStoreID:   "d-9067a1b2c3",
			IdentityMapping:   access.MapEmail,
			AllowedRoots:      []string{"ou-a1b2-c3d4e5f6", paymentsAcct},
			Assignable:        []string{readOnlySet, adminSet},
			MaxDuration:       48 * time.Hour,
			MinAuditRetention: 90 * 24 * time.Hour,
			MaxKeyLifetime:    180 * 24 * time.Hour,
			CutSessions:       true,
		},
		Settings: access.Settings{
			JWT: access.JWTSettings{
				Issuer:                "https://acme.okta.com/oauth2/" + id,
				Audience:              "api://elevate",
				JWKSURL:               "https://acme.okta.com/oauth2/" + id + "/v1/keys",
				GroupsClaim:           "groups",
				ClientID:              "0oa-console-" + id,
				AuthorizationEndpoint: "https://acme.okta.com/oauth2/" + id + "/v1/authorize",
			},
			GroupRoles: map[string]access.Role{
				"aws-admins":    access.RoleAdmin,
				"aws-approvers": access.RoleApprover,
				"engineering":   access.RoleRequester,
			},
			TimeZone:       "Europe/Berlin",
			ApprovalWindow: 4 * time.Hour,
			MaxDuration:    12 * time.Hour,
			AuditRetention: 400 * 24 * time.Hour,
			AllowedRoots:   []string{"ou-a1b2-c3d4e5f6"},
			// Set, so the round trip shows the store keeps it.
			DenyReasoningOptional: true,
			MaxGrantLifetime:      36 * time.Hour,
			MaxStartAhead:         48 * time.Hour,
			ReminderPercent:       75,
			RemindersOff:          true,
			BreakGlassReview:      6 * time.Hour,
			SuspendAfterOverdue:   2,
			SuspendOverdueOff:     true,
			EndSessions:           access.EndSessionsAll,
		},
		Catalog: access.Catalog{
			access.ResourceAccount: {
				{Name: "ReadOnly", Description: "View resources and logs", PermissionSetARN: readOnlySet},
				{Name: "Admin", Description: "Full administrator access", PermissionSetARN: adminSet},
			},
			access.ResourceRDSInstance: {{Name: "connect", Description: "IAM database authentication"}},
		},
		PolicyVersion: 3,
		Revision:      1,
		CreatedAt:     base,
		UpdatedAt:     base.Add(90 * time.Second),
	}
}

// newRequest returns a request created at at, with every field filled in.
func newRequest(tenantID string, at time.Time) access.Request {
	return access.Request{
		ID:               uuid.NewString(),
		TenantID:         tenantID,
		RequesterID:      alice,
		RequesterKind:    access.PrincipalUser,
		GranteeID:        bob,
		RequesterUserID:  "9067a1b2c3-aaaaaaaa-1111-2222-3333-444444444444",
		GranteeUserID:    "9067a1b2c3-bbbbbbbb-1111-2222-3333-444444444444",
		PermissionSetARN: readOnlySet,
		Resource: access.Resource{
			Type: access.ResourceRDSInstance, ID: paymentsDB,
			AccountID: paymentsAcct, Region: "eu-west-1", DBUser: "iam_readonly",
		},
		Action:            "connect",
		Justification:     "INC-4821: checkout returns 5xx, inspect stuck payment rows",
		DurationSeconds:   3600,
		BreakGlass:        true,
		Status:            access.RequestPending,
		ApprovalMode:      access.ModeRequire,
		ApprovalsRequired: 2,
		Approvals: []access.Approval{
			{ApproverID: carol, ApproverUserID: "9067a1b2c3-cccccccc-1111-2222-3333-444444444444", Reasoning: "on call, matches the incident", At: at.Add(2*time.Minute + 250*time.Microsecond)},
		},
		Reasoning:         "approved for the incident",
		DecidedBy:         carol,
		DecidedAt:         at.Add(3 * time.Minute),
		ApprovalExpiresAt: at.Add(4 * time.Hour),
		GrantID:           uuid.NewString(),
		ExtendsGrantID:    uuid.NewString(),
		StartsAt:          at.Add(6 * time.Hour),
		RemindAt:          at.Add(2 * time.Hour),
		RemindedAt:        at.Add(2*time.Hour + time.Second),
		EscalateAt:        at.Add(time.Hour),
		EscalateTo:        "payments-leads",
		EscalatedAt:       at.Add(time.Hour + 2*time.Second),
		EndSessions:       "true",
		Notices:           []string{"Delegated requests need two approvals.", "Production databases are audited."},
		Context: &access.DecisionContext{
			Groups: []string{"payments-oncall", "engineering"}, Ancestors: []string{"r-a1b2", "ou-a1b2-payments"}, TimeZone: "Europe/Berlin",
			Extension: &access.ExtensionContext{RemainingSeconds: 900, Extensions: 1, OriginalDurationSeconds: 3600},
			ActiveGrants: []access.ActiveGrantContext{
				{ID: uuid.NewString(), ResourceType: "aws_account", ResourceID: paymentsAcct, AccountID: paymentsAcct, Action: "AuditRead"},
			},
			BreakGlassSuspended: true,
		},
		ForwardHistory: []access.Forward{
			{From: carol, To: "dave@example.com", By: carol, Comment: "dave owns the payments database", At: at.Add(time.Minute)},
			{From: "dave@example.com", To: "erin@example.com", By: "ada@example.com", Comment: "dave is away", At: at.Add(90 * time.Second)},
		},
		Conflicts: []access.Conflict{{PolicyID: "sod-payments", Name: "payments-vs-audit", Enforce: "require", GrantIDs: []string{uuid.NewString(), uuid.NewString()}}},

		Metadata: map[string]any{
			"ticket":   "INC-4821",
			"severity": 2.0,
			"amount":   json.Number("12.5"),
			"labels":   []any{"prod", "checkout"},
			"pager": map[string]any{
				"escalated":  true,
				"rotation":   nil,
				"responders": []any{map[string]any{"id": carol, "ack_minutes": 1.5}},
			},
		},
		PolicyVersion: 3,
		TaskToken:     "AQCEAAAAKgAAAAMAAAAAAAAAAX7eBz0nhZ4JlYcExampleToken==",
		Revision:      1,
		CreatedAt:     at,
		UpdatedAt:     at.Add(3 * time.Minute),
	}
}

// newGrant returns a grant created at at, with every field filled in.
func newGrant(tenantID string, at time.Time) access.Grant {
	return access.Grant{
		ID:               uuid.NewString(),
		TenantID:         tenantID,
		RequestID:        uuid.NewString(),
		GranteeID:        bob,
		GranteeUserID:    "9067a1b2c3-bbbbbbbb-1111-2222-3333-444444444444",
		CreatedBy:        alice,
		PermissionSetARN: readOnlySet,
		PolicyVersion:    3,
		Resource: access.Resource{
			Type: access.ResourceRDSInstance, ID: paymentsDB,
			AccountID: paymentsAcct, Region: "eu-west-1", DBUser: "iam_readonly",
		},
		Action:          "connect",
		Status:          access.GrantActive,
		DurationSeconds: 3600,
		ExpiresAt:       at.Add(time.Hour + 5*time.Second),
		GrantedAt:       at.Add(5 * time.Second),
		RevokedAt:       at.Add(30 * time.Minute),
		RevokedBy:       alice,
		Reasoning:       "incident closed",
		EndReason:       access.EndRevocation,
		EndingAt:        at.Add(29 * time.Minute),
		Failure:         "ConflictException: assignment creation already in progress",
		Assignments: []access.Assignment{
			{
				InstanceARN: instanceARN, PermissionSetARN: managedSet, AccountID: paymentsAcct,
				PrincipalID: storeUserID, State: access.AssignmentActive, External: true, DeletedAt: at.Add(28 * time.Minute),
			},
			{
				InstanceARN: instanceARN, PermissionSetARN: readOnlySet, AccountID: "444455556666",
				PrincipalID: storeUserID, State: access.AssignmentActive, External: true, DeletedAt: at.Add(28 * time.Minute),
			},
		},
		Notices:          []string{"Sessions already open last up to one hour after revocation."},
		Metadata:         map[string]any{"change": "CHG-1093", "window": map[string]any{"start": "22:00", "end": "23:00"}},
		BreakGlass:       true,
		Generation:       2,
		Extensions:       1,
		PendingExtension: uuid.NewString(),
		Review: &access.Review{
			Status: access.ReviewUnjustified, DueAt: at.Add(24 * time.Hour), OverdueAt: at.Add(24*time.Hour + time.Minute),
			ReviewerID: carol, Reasoning: "no incident matched", ReviewedAt: at.Add(25 * time.Hour),
		},
		EndSessions: "false",
		Revocation: &access.Revocation{AssignmentDeletedAt: at.Add(28 * time.Minute), VerifiedAbsentAt: at.Add(29 * time.Minute),
			SessionsCutUntil: at.Add(89 * time.Minute), Method: access.CutDone},
		StartsAt:  at.Add(-time.Hour),
		Revision:  1,
		CreatedAt: at,
		UpdatedAt: at.Add(5 * time.Second),
	}
}

// newAPIKey returns an API key created at at, with every field filled in.
func newAPIKey(tenantID string, at time.Time) access.APIKey {
	id := strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
	hash := sha256.Sum256([]byte("elv_" + id + "_Zm9vYmFyYmF6cXV4"))
	return access.APIKey{
		ID:            id,
		TenantID:      tenantID,
		Name:          "ci-deployer",
		Role:          access.RoleRequester,
		PrincipalID:   "svc-ci-deployer",
		PrincipalKind: access.PrincipalService,
		Groups:        []string{"deployers", "engineering"},
		SecretHash:    hash[:],
		CreatedBy:     alice,
		CreatedAt:     at,
		ExpiresAt:     at.Add(90 * 24 * time.Hour),
		RevokedAt:     at.Add(30 * 24 * time.Hour),
		RevokedBy:     carol,
		Revision:      1,
	}
}

// newAuditEvent returns an audit event at at whose retention ends in a year.
func newAuditEvent(tenantID string, at time.Time) access.AuditEvent {
	return access.AuditEvent{
		ID:         uuid.NewString(),
		TenantID:   tenantID,
		At:         at,
		ActorID:    alice,
		ActorKind:  access.PrincipalUser,
		Action:     "request.created",
		Severity:   access.SeverityHigh,
		ObjectType: "request",
		ObjectID:   uuid.NewString(),
		Details: map[string]any{
			"resource":         map[string]any{"type": "aws_account", "id": paymentsAcct},
			"duration_seconds": 3600.0,
			"break_glass":      true,
			"notices":          []any{"Break-glass use pages the security team."},
		},
		ExpiresAt: now().Add(365 * 24 * time.Hour),
	}
}

// newPolicySet returns version v of a tenant's policy set.
func newPolicySet(tenantID string, v int) access.PolicySet {
	return access.PolicySet{
		TenantID: tenantID,
		Version:  v,
		Text: fmt.Sprintf(`@id("read-only-auto-v%d")
@approval("auto")
@notice("Read-only access up to an hour is approved automatically.")
permit (principal, action == Elevate::Action::"request", resource is Elevate::Account)
when { context.action == "ReadOnly" && context.duration_seconds <= 3600 };
`, v),
		CreatedBy: alice,
		CreatedAt: base.Add(time.Duration(v) * time.Hour),
	}
}

// newLedgerEntry returns the ledger entry of an assignment in a random
// account, created at at.
func newLedgerEntry(tenantID string, at time.Time) access.LedgerEntry {
	return access.LedgerEntry{
		Key: access.AssignmentKey{
			InstanceARN:      instanceARN,
			PrincipalID:      storeUserID,
			AccountID:        fmt.Sprintf("%012d", rand.Int64N(1e12)),
			PermissionSetARN: readOnlySet,
		},
		State:            access.LedgerCreating,
		External:         true,
		Holders:          []access.Holder{{TenantID: tenantID, GrantID: uuid.NewString()}, {TenantID: uuid.NewString(), GrantID: uuid.NewString()}},
		Issuer:           access.Holder{TenantID: tenantID, GrantID: uuid.NewString()},
		CreationIssuedAt: at.Add(30 * time.Second),
		OperationID:      "0bd9e5c4-7a1f-4c3e-9b2d-6e8f0a1b2c3d",
		Revision:         1,
		CreatedAt:        at,
		UpdatedAt:        at.Add(time.Minute),
	}
}

// newIdempotency returns a live idempotency record of a new key of alice's
// for creating requests.
func newIdempotency(tenantID string, o access.Outcome) access.IdempotencyRecord {
	t := now()
	body := sha256.Sum256([]byte(uuid.NewString()))
	return access.IdempotencyRecord{
		Scope: access.IdempotencyScope{
			TenantID: tenantID, PrincipalID: alice, Route: "POST /v1/requests", Key: uuid.NewString(),
		},
		BodyHash:  hex.EncodeToString(body[:]),
		Outcome:   o,
		CreatedAt: t,
		ExpiresAt: t.Add(access.IdempotencyTTL),
	}
}

// identityOf is the fake Identity Store user id of a principal id.
func identityOf(userID string) string {
	return "9067a1b2c3-" + uuid.NewSHA1(uuid.NameSpaceURL, []byte(userID)).String()
}

// newSuspension returns a user's suspended break-glass standing, changed at
// at, with every field filled in: keyed by the Identity Store user userID
// stands for.
func newSuspension(tenantID, userID string, at time.Time) access.Suspension {
	return access.Suspension{
		TenantID: tenantID, IdentityStoreUserID: identityOf(userID), UserID: userID, Overdue: 2, Suspended: true, Reason: access.SuspendedOverdue,
		GrantID: "0195e1c2-0000-7000-8000-00000000b9a1", SuspendedAt: at.Add(-time.Minute), SuspendedBy: access.SystemPrincipalID,
		LiftedAt: at.Add(-time.Hour), LiftedBy: "ada@example.com", LiftReasoning: "reviewed with the on-call lead",
		Revision: 1, UpdatedAt: at,
	}
}
