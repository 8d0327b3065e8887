package access_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
)

func TestCreateRequestAuto(t *testing.T) {
	f := withTenant(t)
	r := must(f.svc.CreateRequest(f.ctx, alice, readOnly(acct1), nil))(t)
	if r.Status != access.RequestApproved || r.ApprovalMode != access.ModeAuto {
		t.Fatalf("request is %s/%s, want approved/auto", r.Status, r.ApprovalMode)
	}
	if r.RequesterID != "alice" || r.GranteeID != "alice" || r.TenantID != tenantA {
		t.Errorf("request parties %q -> %q in %q", r.RequesterID, r.GranteeID, r.TenantID)
	}
	if !r.DecidedAt.Equal(t0) || r.GrantID == "" || !strings.Contains(r.Reasoning, "auto-approve-short-readonly") {
		t.Errorf("decided at %v, grant %q, reasoning %q", r.DecidedAt, r.GrantID, r.Reasoning)
	}
	if len(r.Notices) == 0 {
		t.Error("an auto-approved request carries no notice")
	}
	stored := f.request(tenantA, r.ID)
	if stored.Status != access.RequestApproved || stored.GrantID != r.GrantID {
		t.Errorf("stored request %s with grant %q", stored.Status, stored.GrantID)
	}
	g := f.grant(tenantA, r.GrantID)
	if g.Status != access.GrantProvisioning || g.RequestID != r.ID || g.GranteeID != "alice" || g.DurationSeconds != 3600 || !g.ExpiresAt.IsZero() {
		t.Errorf("grant %+v, want provisioning for alice, 3600 s, no expiry yet", g)
	}
	if n := len(f.flow.of("StartProvisioning", g.ID)); n != 1 {
		t.Errorf("StartProvisioning called %d times, want 1", n)
	}
	if n := f.flow.count("StartApproval"); n != 0 {
		t.Errorf("StartApproval called %d times for an auto request", n)
	}
	if got := actions(f.auditOf(tenantA, r.ID)); !slices.Equal(got, []string{"request.created"}) {
		t.Errorf("request audit = %v", got)
	}
	if got := actions(f.auditOf(tenantA, g.ID)); !slices.Equal(got, []string{"grant.created"}) {
		t.Errorf("grant audit = %v", got)
	}
}

func TestCreateRequestRequire(t *testing.T) {
	f := withTenant(t)
	f.clock.Advance(90 * time.Minute)
	r := must(f.svc.CreateRequest(f.ctx, alice, adminAccess(acct1), nil))(t)
	if r.Status != access.RequestPending || r.ApprovalMode != access.ModeRequire || r.ApprovalsRequired != 1 {
		t.Fatalf("request is %s/%s needing %d, want pending/require needing 1", r.Status, r.ApprovalMode, r.ApprovalsRequired)
	}
	if want := t0.Add(90 * time.Minute).Add(access.DefaultApprovalWindow); !r.ApprovalExpiresAt.Equal(want) {
		t.Errorf("approval expires at %v, want %v", r.ApprovalExpiresAt, want)
	}
	if r.GrantID != "" || !r.DecidedAt.IsZero() {
		t.Errorf("a pending request has grant %q, decided at %v", r.GrantID, r.DecidedAt)
	}
	if n := len(f.flow.of("StartApproval", r.ID)); n != 1 {
		t.Errorf("StartApproval called %d times, want 1", n)
	}
	if n := f.flow.count("StartProvisioning"); n != 0 {
		t.Errorf("StartProvisioning called %d times for a pending request", n)
	}
	grants := must(f.svc.ListGrants(f.ctx, ada, access.GrantFilter{}, access.PageRequest{Limit: 10}))(t)
	if len(grants.Items) != 0 {
		t.Errorf("a pending request made %d grants", len(grants.Items))
	}
}

func TestCreateRequestApprovalWindowFromSettings(t *testing.T) {
	f := newFixture(t)
	f.tenant(tenantA, func(in *access.NewTenantInput) { in.Settings.ApprovalWindow = 2 * time.Hour })
	r := must(f.svc.CreateRequest(f.ctx, alice, adminAccess(acct1), nil))(t)
	if want := t0.Add(2 * time.Hour); !r.ApprovalExpiresAt.Equal(want) {
		t.Errorf("approval expires at %v, want %v", r.ApprovalExpiresAt, want)
	}
}

func TestCreateRequestPolicyDenied(t *testing.T) {
	f := withTenant(t)
	in := adminAccess(acct1)
	in.DurationSeconds = 50000 // over the default policies' 12 hours, within the tenant's 24
	r, err := f.svc.CreateRequest(f.ctx, alice, in, nil)
	if access.CodeOf(err) != access.CodePolicyDenied {
		t.Fatalf("error = %v, want policy_denied", err)
	}
	e := wantCode(t, err, access.CodePolicyDenied)
	id, _ := e.Details["request_id"].(string)
	if id == "" || id != r.ID {
		t.Fatalf("details.request_id = %v, want the returned request's id %q", e.Details["request_id"], r.ID)
	}
	if !slices.Contains(e.Notices, "The maximum duration is 43200 seconds (12 hours).") {
		t.Errorf("notices = %q", e.Notices)
	}
	stored := f.request(tenantA, id)
	if stored.Status != access.RequestDenied || stored.GrantID != "" || stored.DecidedAt.IsZero() {
		t.Errorf("stored request is %s with grant %q, decided %v", stored.Status, stored.GrantID, stored.DecidedAt)
	}
	if !strings.Contains(stored.Reasoning, "maximum-duration") || !slices.Equal(stored.Notices, e.Notices) {
		t.Errorf("reasoning %q, notices %q", stored.Reasoning, stored.Notices)
	}
	if n := f.flow.count("StartApproval") + f.flow.count("StartProvisioning"); n != 0 {
		t.Errorf("a denied request started %d workflows", n)
	}
	ev, ok := f.findAudit(tenantA, id, "request.created")
	if !ok || ev.Details["status"] != "denied" {
		t.Errorf("audit of the denied request: %+v (found %v)", ev, ok)
	}
}

func TestCreateRequestBreakGlass(t *testing.T) {
	f := withTenant(t)
	in := adminAccess(acct1)
	in.DurationSeconds, in.BreakGlass = 1800, true
	r := must(f.svc.CreateRequest(f.ctx, alice, in, nil))(t)
	if r.Status != access.RequestApproved || r.ApprovalMode != access.ModeBreakGlass || !r.BreakGlass || r.GrantID == "" {
		t.Fatalf("request %s/%s (break glass %v, grant %q), want approved/break_glass with a grant", r.Status, r.ApprovalMode, r.BreakGlass, r.GrantID)
	}
	if !strings.Contains(r.Reasoning, "Break-glass") {
		t.Errorf("reasoning %q", r.Reasoning)
	}
	if g := f.grant(tenantA, r.GrantID); !g.BreakGlass || g.Status != access.GrantProvisioning {
		t.Errorf("grant %+v", g)
	}
	if n := len(f.flow.of("StartProvisioning", r.GrantID)); n != 1 {
		t.Errorf("StartProvisioning called %d times", n)
	}
	for _, id := range []string{r.ID, r.GrantID} {
		for _, ev := range f.auditOf(tenantA, id) {
			if ev.Severity != access.SeverityHigh {
				t.Errorf("audit %s of break-glass is %s, want high", ev.Action, ev.Severity)
			}
		}
	}
	if ev, ok := f.findAudit(tenantA, r.ID, "request.created"); !ok || ev.Severity != access.SeverityHigh || ev.Details["break_glass"] != true {
		t.Errorf("request.created = %+v", ev)
	}

	t.Run("not on call", func(t *testing.T) {
		_, err := f.svc.CreateRequest(f.ctx, bob, in, nil)
		wantCode(t, err, access.CodePolicyDenied)
	})
	t.Run("delegated", func(t *testing.T) {
		d := in
		d.GranteeID = "bob"
		_, err := f.svc.CreateRequest(f.ctx, alice, d, nil)
		e := wantCode(t, err, access.CodePolicyDenied)
		if !slices.Contains(e.Notices, "Break-glass cannot be requested on behalf of someone else.") {
			t.Errorf("notices %q", e.Notices)
		}
	})
}

func TestCreateRequestDelegated(t *testing.T) {
	f := withTenant(t)
	in := readOnly(acct1) // auto for oneself
	in.GranteeID = "bob"
	r := must(f.svc.CreateRequest(f.ctx, alice, in, nil))(t)
	if r.Status != access.RequestPending || r.ApprovalMode != access.ModeRequire {
		t.Fatalf("delegated request is %s/%s, want pending/require", r.Status, r.ApprovalMode)
	}
	if r.RequesterID != "alice" || r.GranteeID != "bob" || !r.Delegated() {
		t.Errorf("parties %q -> %q", r.RequesterID, r.GranteeID)
	}
}

func TestCreateRequestServicePrincipal(t *testing.T) {
	f := withTenant(t)
	t.Run("without grantee", func(t *testing.T) {
		_, err := f.svc.CreateRequest(f.ctx, robot, readOnly(acct1), nil)
		wantFields(t, err, "grantee_id")
	})
	t.Run("for a user", func(t *testing.T) {
		in := readOnly(acct1)
		in.GranteeID = "alice"
		r := must(f.svc.CreateRequest(f.ctx, robot, in, nil))(t)
		if r.RequesterID != "ci-bot" || r.GranteeID != "alice" || r.Status != access.RequestPending {
			t.Errorf("request %q -> %q is %s, want ci-bot -> alice pending (delegated)", r.RequesterID, r.GranteeID, r.Status)
		}
	})
}

func TestCreateRequestRefused(t *testing.T) {
	tests := []struct {
		name   string
		tenant func(*access.NewTenantInput)
		p      access.Principal
		in     func(*access.CreateRequestInput)
		code   access.Code
		fields []string
		msg    string
	}{
		{name: "protected account", in: func(in *access.CreateRequestInput) { in.Resource.ID = protected }, code: access.CodeForbidden, msg: "protected"},
		{name: "protected account as permission set target", in: func(in *access.CreateRequestInput) {
			*in = access.CreateRequestInput{Resource: access.Resource{Type: access.ResourcePermissionSet, ID: psData, AccountID: protected},
				Action: "DataEngineer", DurationSeconds: 3600, Justification: "x"}
		}, code: access.CodeForbidden, msg: "protected"},
		{name: "protected account as bucket owner", in: func(in *access.CreateRequestInput) {
			*in = access.CreateRequestInput{Resource: access.Resource{Type: access.ResourceS3Bucket, ID: "logs", AccountID: protected},
				Action: "read", DurationSeconds: 3600, Justification: "x"}
		}, code: access.CodeForbidden, msg: "protected"},
		{name: "account outside the allowed roots", in: func(in *access.CreateRequestInput) { in.Resource.ID = outside }, code: access.CodeForbidden, msg: "outside this tenant's allowed roots"},
		{name: "OU outside the allowed roots", tenant: func(in *access.NewTenantInput) { in.Boundary.AllowedRoots = []string{ouSecurity} },
			in: func(in *access.CreateRequestInput) {
				in.Resource = access.Resource{Type: access.ResourceOrganizationalUnit, ID: ouWork}
			}, code: access.CodeForbidden, msg: "organizational unit ou-ac01-workload is outside"},
		{name: "tenant without allowed roots", tenant: func(in *access.NewTenantInput) { in.Boundary.AllowedRoots = nil }, code: access.CodeForbidden, msg: "no Identity Center boundary"},
		{name: "action not offered", in: func(in *access.CreateRequestInput) { in.Action = "PowerUser" }, code: access.CodeValidationFailed,
			fields: []string{"action"}, msg: "is not offered for aws_account (offered: ReadOnly, Admin)"},
		{name: "action missing", in: func(in *access.CreateRequestInput) { in.Action = "" }, code: access.CodeValidationFailed, fields: []string{"action"}},
		{name: "no actions for the type", tenant: func(in *access.NewTenantInput) { delete(in.Catalog, access.ResourceEC2Instance) },
			in: func(in *access.CreateRequestInput) {
				in.Resource = access.Resource{Type: access.ResourceEC2Instance, ID: ec2ID8, AccountID: acct1, Region: "eu-west-1"}
				in.Action = "read"
			}, code: access.CodeValidationFailed, fields: []string{"action"}, msg: "offers no actions"},
		{name: "permission set not the catalog's", in: func(in *access.CreateRequestInput) {
			*in = access.CreateRequestInput{Resource: access.Resource{Type: access.ResourcePermissionSet, ID: psAdmin, AccountID: acct1},
				Action: "DataEngineer", DurationSeconds: 3600, Justification: "x"}
		}, code: access.CodeValidationFailed, fields: []string{"resource.id"}},
		{name: "rds connect without db_user", in: func(in *access.CreateRequestInput) {
			*in = access.CreateRequestInput{Resource: access.Resource{Type: access.ResourceRDSInstance, ID: rdsARN}, Action: "connect", DurationSeconds: 3600, Justification: "x"}
		}, code: access.CodeValidationFailed, fields: []string{"resource.db_user"}},
		{name: "rds read with db_user", in: func(in *access.CreateRequestInput) {
			*in = access.CreateRequestInput{Resource: access.Resource{Type: access.ResourceRDSInstance, ID: rdsARN, DBUser: "app"}, Action: "read", DurationSeconds: 3600, Justification: "x"}
		}, code: access.CodeValidationFailed, fields: []string{"resource.db_user"}},
		{name: "duration over the tenant maximum", in: func(in *access.CreateRequestInput) { in.DurationSeconds = 86401 }, code: access.CodeValidationFailed,
			fields: []string{"duration_seconds"}, msg: "at most 86400 seconds"},
		{name: "duration over a lowered maximum", tenant: func(in *access.NewTenantInput) { in.Settings.MaxDuration = 30 * time.Minute },
			code: access.CodeValidationFailed, fields: []string{"duration_seconds"}, msg: "at most 1800 seconds"},
		{name: "duration zero", in: func(in *access.CreateRequestInput) { in.DurationSeconds = 0 }, code: access.CodeValidationFailed, fields: []string{"duration_seconds"}},
		{name: "duration negative", in: func(in *access.CreateRequestInput) { in.DurationSeconds = -5 }, code: access.CodeValidationFailed, fields: []string{"duration_seconds"}},
		{name: "justification blank", in: func(in *access.CreateRequestInput) { in.Justification = "  \n " }, code: access.CodeValidationFailed, fields: []string{"justification"}},
		{name: "justification too long", in: func(in *access.CreateRequestInput) { in.Justification = strings.Repeat("é", 1025) }, code: access.CodeValidationFailed, fields: []string{"justification"}},
		{name: "justification control character", in: func(in *access.CreateRequestInput) { in.Justification = "a\x00b" }, code: access.CodeValidationFailed, fields: []string{"justification"}},
		{name: "justification not UTF-8", in: func(in *access.CreateRequestInput) { in.Justification = "a\xffb" }, code: access.CodeValidationFailed, fields: []string{"justification"}},
		{name: "grantee with spaces", in: func(in *access.CreateRequestInput) { in.GranteeID = " bob" }, code: access.CodeValidationFailed, fields: []string{"grantee_id"}},
		{name: "grantee too long", in: func(in *access.CreateRequestInput) { in.GranteeID = strings.Repeat("b", 257) }, code: access.CodeValidationFailed, fields: []string{"grantee_id"}},
		{name: "metadata too many keys", in: func(in *access.CreateRequestInput) {
			in.Metadata = map[string]any{}
			for i := range 33 {
				in.Metadata[fmt.Sprint(i)] = i
			}
		}, code: access.CodeValidationFailed, fields: []string{"metadata"}},
		{name: "metadata too big", in: func(in *access.CreateRequestInput) { in.Metadata = map[string]any{"k": strings.Repeat("x", 4100)} }, code: access.CodeValidationFailed, fields: []string{"metadata"}},
		{name: "metadata empty key", in: func(in *access.CreateRequestInput) { in.Metadata = map[string]any{"": 1} }, code: access.CodeValidationFailed, fields: []string{"metadata"}},
		{name: "bad resource and action", in: func(in *access.CreateRequestInput) { in.Resource.ID = "1"; in.Action = "Nope" }, code: access.CodeValidationFailed,
			fields: []string{"resource.id", "action"}},
		{name: "no role", p: access.Principal{TenantID: tenantA, ID: "mallory", Kind: access.PrincipalUser}, code: access.CodeForbidden},
		{name: "unknown tenant", p: user("11111111-2222-4333-8444-555555555555", "alice", access.RoleRequester), code: access.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.tenant(tenantA, tt.tenant)
			in := readOnly(acct1)
			if tt.in != nil {
				tt.in(&in)
			}
			p := alice
			if tt.p.ID != "" {
				p = tt.p
			}
			_, err := f.svc.CreateRequest(f.ctx, p, in, nil)
			e := wantCode(t, err, tt.code)
			if len(tt.fields) > 0 {
				wantFields(t, err, tt.fields...)
			}
			if tt.msg != "" && !strings.Contains(fmt.Sprint(e.Message, e.Details), tt.msg) {
				t.Errorf("error %q (%v) does not mention %q", e.Message, e.Details, tt.msg)
			}
			list := must(f.svc.ListRequests(f.ctx, ada, access.RequestFilter{}, access.PageRequest{Limit: 10}))(t)
			if len(list.Items) != 0 {
				t.Errorf("a refused request was stored: %+v", list.Items[0])
			}
			if n := len(f.flow.calls); n != 0 {
				t.Errorf("a refused request called the workflow %d times", n)
			}
			if got := actions(f.audit(tenantA)); !slices.Equal(got, []string{"tenant.created"}) {
				t.Errorf("audit after a refused request = %v", got)
			}
		})
	}
}

func TestCreateRequestOtherResourceTypes(t *testing.T) {
	tests := []struct {
		name string
		in   access.CreateRequestInput
	}{
		{"permission set", access.CreateRequestInput{Resource: access.Resource{Type: access.ResourcePermissionSet, ID: psData, AccountID: acct1}, Action: "DataEngineer"}},
		{"ou", access.CreateRequestInput{Resource: access.Resource{Type: access.ResourceOrganizationalUnit, ID: ouWork}, Action: "ReadOnly"}},
		{"bucket", access.CreateRequestInput{Resource: access.Resource{Type: access.ResourceS3Bucket, ID: "logs", AccountID: acct1}, Action: "read"}},
		{"rds", access.CreateRequestInput{Resource: access.Resource{Type: access.ResourceRDSInstance, ID: rdsARN, DBUser: "app"}, Action: "connect"}},
		{"ec2", access.CreateRequestInput{Resource: access.Resource{Type: access.ResourceEC2Instance, ID: ec2ID8, AccountID: acct2, Region: "eu-west-1"}, Action: "ssm-session"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := withTenant(t)
			tt.in.DurationSeconds, tt.in.Justification = 3600, "debugging"
			r := must(f.svc.CreateRequest(f.ctx, alice, tt.in, nil))(t)
			if r.Status != access.RequestPending {
				t.Errorf("request is %s, want pending (the default policies auto-approve only accounts)", r.Status)
			}
			if tt.in.Resource.Type == access.ResourceRDSInstance && (r.Resource.AccountID != acct1 || r.Resource.Region != "eu-west-1") {
				t.Errorf("the RDS resource was not normalized: %+v", r.Resource)
			}
		})
	}
}
