package infra_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/elevate-jit/elevate/infra"
	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/deploy"
)

// needActions are the action prefixes each need brings; a function without
// the need must have none of them.
var needActions = map[deploy.Need][]string{
	deploy.NeedCursorKey:         {"secretsmanager:"},
	deploy.NeedStartExecution:    {"states:StartExecution"},
	deploy.NeedSendTask:          {"states:SendTask"},
	deploy.NeedSchedule:          {"scheduler:", "iam:PassRole"},
	deploy.NeedPublish:           {"events:"},
	deploy.NeedOrganizationsRead: {"organizations:"},
	deploy.NeedIdentityCenter:    {"sso:", "sts:AssumeRole"},
	deploy.NeedResolveUsers:      {"identitystore:"},
	deploy.NeedTableWrite:        {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"},
	deploy.NeedTableRead:         {"dynamodb:GetItem", "dynamodb:Query"},
	deploy.NeedSweepQueue:        {"sqs:SendMessage"},
	// The outbox's event source mapping reads the stream for the function.
	deploy.NeedTableStream: {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"},
}

// outboxFailureActions are what the outbox's event source mapping needs to
// send a batch it gave up on to its dead-letter queue (its on-failure
// destination), in the events-publish function's role.
var outboxFailureActions = []string{"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}

// consumeActions are what Lambda's event source mapping needs to read the
// sweep queue for the sweeper-tenant function: not a need of the function's
// code, which never calls SQS.
var consumeActions = []string{"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}

func TestEachFunctionGetsOnlyItsNeeds(t *testing.T) {
	f := stack(t)
	for _, fn := range deploy.Functions {
		t.Run(fn.Name, func(t *testing.T) {
			sts := f.functionPolicy(t, fn.Name)
			checkRateLimitStatement(t, fn, sts)
			actions := allowed(withoutRateLimit(sts))
			for need, prefixes := range needActions {
				if need == deploy.NeedSweepQueue && (fn.Name == infra.FnExpiry || fn.Has(deploy.NeedTableStream)) {
					continue // its failed events go to a DLQ with sqs:SendMessage (below)
				}
				has := slices.Contains(fn.Needs, need)
				for _, p := range prefixes {
					if got := hasPrefix(actions, p); got != has {
						t.Errorf("%s actions: %v, but need %s is %v", p, got, need, has)
					}
				}
			}
			for _, a := range actions {
				if strings.HasSuffix(a, "*") || !strings.Contains(a, ":") {
					t.Errorf("wildcard action %q", a)
				}
				known := strings.HasPrefix(a, "logs:") || strings.HasPrefix(a, "xray:") ||
					// The expiry function's failed asynchronous events go to the DLQ.
					fn.Name == infra.FnExpiry && a == "sqs:SendMessage" ||
					fn.Name == infra.FnSweeperTenant && slices.Contains(consumeActions, a) ||
					fn.Has(deploy.NeedTableStream) && slices.Contains(outboxFailureActions, a)
				for _, prefixes := range needActions {
					known = known || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(a, p) })
				}
				if !known {
					t.Errorf("action %q belongs to no need", a)
				}
			}
			for _, s := range sts {
				// The table's writes never reach indexes; reads reach table and indexes only.
				if s.Sid == infra.SidTableWrite && len(s.Resources) != 1 {
					t.Errorf("table writes on %v", s.Resources)
				}
				if s.Sid == "Logs" && len(s.Resources) != 1 {
					t.Errorf("logs on %v, want its own log group only", s.Resources)
				}
			}
		})
	}
}

// withoutRateLimit drops the rate-limit need's statement, whose one action
// (UpdateItem) table-write also brings; checkRateLimitStatement checks it.
func withoutRateLimit(sts []statement) []statement {
	return slices.DeleteFunc(slices.Clone(sts), func(s statement) bool { return s.Sid == infra.SidRateLimit })
}

// checkRateLimitStatement checks that a function has the rate-limit
// statement exactly when it has the need, and that it writes the counters
// and nothing else.
func checkRateLimitStatement(t *testing.T, fn deploy.Function, sts []statement) {
	t.Helper()
	i := slices.IndexFunc(sts, func(s statement) bool { return s.Sid == infra.SidRateLimit })
	if (i >= 0) != fn.Has(deploy.NeedRateLimit) {
		t.Fatalf("rate-limit statement: %v, need rate-limit: %v", i >= 0, fn.Has(deploy.NeedRateLimit))
	}
	if i < 0 {
		return
	}
	s := sts[i]
	want := map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []any{deploy.RateLimitPrefix + "*"}}}
	if s.Effect != "Allow" || !slices.Equal(s.Actions, []string{"dynamodb:UpdateItem"}) || len(s.Resources) != 1 ||
		fmt.Sprint(s.Condition) != fmt.Sprint(want) {
		t.Errorf("rate-limit statement %+v, want UpdateItem on the table where %v", s, want)
	}
}

func TestReadOnlyFunction(t *testing.T) {
	f := stack(t)
	sts := f.functionPolicy(t, "requests-get")
	fn, _ := deploy.FunctionByName("requests-get")
	checkRateLimitStatement(t, fn, sts)
	got := allowed(withoutRateLimit(sts))
	want := []string{"dynamodb:GetItem", "dynamodb:Query", "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}
	if !slices.Equal(got, want) {
		t.Errorf("requests-get may %v, want %v", got, want)
	}
	for _, a := range got {
		for _, bad := range []string{"Put", "Update", "Delete", "states:", "sso:", "identitystore:"} {
			if strings.Contains(a, bad) && !strings.HasPrefix(a, "logs:") && !strings.HasPrefix(a, "xray:") {
				t.Errorf("read-only function may %s", a)
			}
		}
	}
}

func TestManagedPermissionSetsOnly(t *testing.T) {
	f := stack(t)
	permissionSets := "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/*"
	instance := testInstanceARN
	managed := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + access.ManagedTagKey: access.ManagedTagValue}}
	assignable := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + access.AssignableTagKey: access.AssignableTagValue}}
	requestTag := map[string]any{"StringEquals": map[string]any{"aws:RequestTag/" + access.ManagedTagKey: access.ManagedTagValue}}
	cutTag := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + access.CutSessionsTagKey: access.CutSessionsTagValue}}
	// What a session cut may do on an operator's set tagged for it.
	cuts := []string{"sso:GetInlinePolicyForPermissionSet", "sso:PutInlinePolicyToPermissionSet", "sso:DeleteInlinePolicyFromPermissionSet", "sso:ProvisionPermissionSet"}
	changes := []string{
		"sso:PutInlinePolicyToPermissionSet", "sso:DeletePermissionSet", "sso:ProvisionPermissionSet",
		"sso:UpdatePermissionSet", "sso:GetInlinePolicyForPermissionSet", "sso:DeleteInlinePolicyFromPermissionSet",
	}
	for _, fn := range deploy.Functions {
		if !slices.Contains(fn.Needs, deploy.NeedIdentityCenter) {
			continue
		}
		t.Run(fn.Name, func(t *testing.T) {
			sts := f.functionPolicy(t, fn.Name)
			putInline, create, cutStatement := false, false, false
			assigns := map[string]bool{}
			for _, s := range sts {
				if s.Effect != "Allow" {
					continue
				}
				for _, r := range s.Resources {
					res, _ := r.(string)
					if res == "*" && hasPrefix(s.Actions, "sso:") {
						t.Errorf("%s: sso actions on *", s.Sid)
					}
					if strings.HasPrefix(res, "arn:aws:sso:::instance/") && res != instance {
						t.Errorf("%s: another instance %s", s.Sid, res)
					}
					// On a permission set, changes need the managed tag, and
					// assignments the managed or the assignable tag.
					if res == permissionSets {
						for _, a := range s.Actions {
							if jsonEqual(s.Condition, cutTag) {
								cutStatement = true
								if !slices.Contains(cuts, a) {
									t.Errorf("%s: %s on the sets tagged for session cuts", s.Sid, a)
								}
								continue
							}
							if slices.Contains(changes, a) && !jsonEqual(s.Condition, managed) {
								t.Errorf("%s: %s on permission sets without the managed tag condition (%v)", s.Sid, a, s.Condition)
							}
							if (a == "sso:CreateAccountAssignment" || a == "sso:DeleteAccountAssignment") && !jsonEqual(s.Condition, managed) && !jsonEqual(s.Condition, assignable) {
								t.Errorf("%s: %s on permission sets without the managed or assignable tag condition (%v)", s.Sid, a, s.Condition)
							}
							if a == "sso:CreateAccountAssignment" {
								assigns[fmt.Sprint(s.Condition)] = true
							}
							if a == "sso:PutInlinePolicyToPermissionSet" {
								putInline = true
							}
						}
					}
				}
				if slices.Contains(s.Actions, "sso:CreatePermissionSet") {
					create = true
					if !jsonEqual(s.Condition, requestTag) {
						t.Errorf("%s: CreatePermissionSet without the request tag condition (%v)", s.Sid, s.Condition)
					}
				}
				if slices.Contains(s.Actions, "sso:TagResource") || slices.Contains(s.Actions, "sso:UntagResource") {
					t.Errorf("%s: may tag permission sets, and so make a customer's set look managed", s.Sid)
				}
			}
			if !cutStatement {
				t.Error("no statement lets the session cut change the sets tagged elevate:cut-sessions=true")
			}
			if !putInline || !create {
				t.Errorf("PutInlinePolicyToPermissionSet granted on managed sets: %v; CreatePermissionSet granted: %v", putInline, create)
			}
			if len(assigns) != 2 {
				t.Errorf("CreateAccountAssignment on permission sets under %d conditions, want the managed and the assignable tag", len(assigns))
			}

			// An explicit Deny covers the protected accounts.
			var deny *statement
			for i := range sts {
				if sts[i].Effect == "Deny" {
					deny = &sts[i]
				}
			}
			if deny == nil || !slices.Equal(deny.Actions, []string{"sso:CreateAccountAssignment"}) {
				t.Fatalf("no Deny of CreateAccountAssignment in protected accounts: %v", deny)
			}
			var denied []string
			for _, r := range deny.Resources {
				denied = append(denied, render(r))
			}
			for _, a := range append(strings.Split(testProtected, ","), "<AWS::AccountId>") {
				if !slices.Contains(denied, "arn:aws:sso:::account/"+a) {
					t.Errorf("Deny lacks protected account %s: %v", a, denied)
				}
			}
			if !slices.ContainsFunc(denied, func(r string) bool { return strings.HasSuffix(r, ".Organization.MasterAccountId>") }) ||
				len(denied) != len(strings.Split(testProtected, ","))+2 {
				t.Errorf("Deny covers %v, want the context's accounts, this one and the management account", denied)
			}
		})
	}
}

func TestPassRoleOnlyToScheduler(t *testing.T) {
	f := stack(t)
	for _, fn := range deploy.Functions {
		for _, s := range f.functionPolicy(t, fn.Name) {
			if !slices.Contains(s.Actions, "iam:PassRole") {
				continue
			}
			want := map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}}
			if !jsonEqual(s.Condition, want) || len(s.Resources) != 1 || !jsonEqual(s.Resources[0], getAtt(f.idOf(f.stack.SchedulerRole), "Arn")) {
				t.Errorf("%s: PassRole %v on %v", fn.Name, s.Condition, s.Resources)
			}
		}
	}
}

// The RDS lookup role may be assumed only in an account of the deployment's
// own organization.
func TestRDSLookupRoleStaysInTheOrganization(t *testing.T) {
	f := stack(t)
	want := map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}}
	found := 0
	for _, fn := range deploy.Functions {
		for _, s := range f.functionPolicy(t, fn.Name) {
			if s.Sid != infra.SidRDSLookup {
				continue
			}
			found++
			if !jsonEqual(s.Condition, want) {
				t.Errorf("%s: sts:AssumeRole of the lookup role under %v, want %v", fn.Name, s.Condition, want)
			}
		}
	}
	if found == 0 {
		t.Fatal("no function may assume the RDS lookup role")
	}
}

// Scheduled starts (starts_at) use the expiry schedules' group, role and
// target: the functions that schedule or cancel a start may manage
// schedules, and the target, the expiry function, may start the workflow
// that provisions a started grant.
func TestStartSchedules(t *testing.T) {
	f := stack(t)
	for _, name := range []string{"requests-create", "requests-approve", "requests-cancel", "grants-revoke", infra.FnExpiry, infra.FnSweeperTenant} {
		actions := allowed(withoutRateLimit(f.functionPolicy(t, name)))
		for _, a := range []string{"scheduler:CreateSchedule", "scheduler:DeleteSchedule", "iam:PassRole"} {
			if !slices.Contains(actions, a) {
				t.Errorf("%s may not %s: it schedules or cancels grant starts", name, a)
			}
		}
	}
	if actions := allowed(withoutRateLimit(f.functionPolicy(t, infra.FnExpiry))); !slices.Contains(actions, "states:StartExecution") {
		t.Errorf("the expiry function, which starts scheduled grants, may not states:StartExecution (%v)", actions)
	}
}
