package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/deploy"
)

// Sids of the statements each need becomes; the tests find them by these.
const (
	SidTableRead             = "TableRead"
	SidTableWrite            = "TableWrite"
	SidRateLimit             = "RateLimitCounters"
	SidCursorKey             = "CursorKey"
	SidStartExecution        = "StartExecution"
	SidSendTask              = "SendTask"
	SidSchedules             = "Schedules"
	SidPassSchedulerRole     = "PassSchedulerRole"
	SidPublish               = "PublishEvents"
	SidOrganizationsRead     = "OrganizationsRead"
	SidInstance              = "IdentityCenterInstance"
	SidPermissionSets        = "PermissionSets"
	SidManagedPermissionSets = "ManagedPermissionSetsOnly"
	SidAssignManaged         = "AssignManagedPermissionSets"
	SidAssignAssignable      = "AssignTaggedAssignablePermissionSets"
	SidCutSessions           = "CutSessionsOfTaggedAssignableSets"
	SidCreateManaged         = "CreateManagedPermissionSetsOnly"
	SidAccounts              = "AccountAssignments"
	SidProtectedAccounts     = "NeverAssignProtectedAccounts"
	SidIdentityStore         = "IdentityStoreUsers"
	SidIdentityCenterKey     = "IdentityCenterKey"
	SidRDSLookup             = "AssumeRDSLookupRole"
	SidSweepQueue            = "SweepQueue"
)

// statements turns a function's needs into the narrowest IAM statements
// this stack can write for them.
func (s *Stack) statements(f deploy.Function) []awsiam.PolicyStatement {
	var out []awsiam.PolicyStatement
	allow := func(sid string, actions []string, resources []*string) awsiam.PolicyStatement {
		st := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &resources,
		})
		out = append(out, st)
		return st
	}
	str := jsii.String

	if f.Has(deploy.NeedTableRead) {
		// The store reads with GetItem and Query, on the table and its
		// indexes; nothing on a request path scans.
		allow(SidTableRead, []string{"dynamodb:GetItem", "dynamodb:Query"},
			[]*string{s.Table.TableArn(), str(*s.Table.TableArn() + "/index/*")})
	}
	if f.Has(deploy.NeedTableWrite) {
		// TransactWriteItems has no IAM action of its own: each item in a
		// transaction is authorized as the PutItem, UpdateItem, DeleteItem
		// or ConditionCheckItem it is. Indexes cannot be written.
		allow(SidTableWrite, []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"},
			[]*string{s.Table.TableArn()})
	}
	if f.Has(deploy.NeedRateLimit) {
		// The rate-limit counters only: UpdateItem on items whose partition
		// key begins with the prefix. A function that also writes the table
		// has TableWrite besides.
		allow(SidRateLimit, []string{"dynamodb:UpdateItem"}, []*string{s.Table.TableArn()}).
			AddCondition(str("ForAllValues:StringLike"), map[string]any{"dynamodb:LeadingKeys": []string{deploy.RateLimitPrefix + "*"}})
	}
	if f.Has(deploy.NeedCursorKey) {
		allow(SidCursorKey, []string{"secretsmanager:GetSecretValue"}, []*string{s.CursorSecret.SecretArn()})
	}
	if f.Has(deploy.NeedStartExecution) {
		allow(SidStartExecution, []string{"states:StartExecution"}, []*string{str(s.stateMachineARN)})
	}
	if f.Has(deploy.NeedSendTask) {
		// SendTaskSuccess and SendTaskFailure take no resource in IAM (the
		// task token is the capability), so "*" is the only resource that
		// matches. Tokens never leave the backend. No heartbeat: the
		// definition sets no HeartbeatSeconds.
		allow(SidSendTask, []string{"states:SendTaskSuccess", "states:SendTaskFailure"}, []*string{str("*")})
	}
	if f.Has(deploy.NeedSchedule) {
		allow(SidSchedules, []string{"scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule"},
			[]*string{s.Stack.FormatArn(&awscdk.ArnComponents{
				Service: str("scheduler"), Resource: str("schedule"),
				ResourceName: str(*s.ScheduleGroup.ScheduleGroupName() + "/*"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
			})})
		allow(SidPassSchedulerRole, []string{"iam:PassRole"}, []*string{s.SchedulerRole.RoleArn()}).
			AddCondition(str("StringEquals"), map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"})
	}
	if f.Has(deploy.NeedPublish) {
		allow(SidPublish, []string{"events:PutEvents"}, []*string{s.EventBus.EventBusArn()})
	}
	if f.Has(deploy.NeedOrganizationsRead) {
		// Organizations ARNs carry the organization id, which the stack does
		// not know; these are read-only calls on the organization's tree.
		allow(SidOrganizationsRead, []string{
			"organizations:DescribeAccount", "organizations:ListParents", "organizations:ListChildren",
			"organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent",
		}, []*string{str("*")})
	}
	if f.Has(deploy.NeedResolveUsers) {
		out = append(out, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(SidIdentityStore), Actions: jsii.Strings("identitystore:GetUserId", "identitystore:DescribeUser"),
			Resources: &[]*string{
				// The identity store belongs to the account that owns the
				// instance (the management account), so the account is "*";
				// the store id pins it.
				jsii.String("arn:" + s.partition() + ":identitystore::*:identitystore/" + s.Config.IdentityStoreID),
				jsii.String("arn:" + s.partition() + ":identitystore:::user/*"),
			},
		}))
	}
	if f.Has(deploy.NeedIdentityCenter) {
		out = append(out, s.identityCenter()...)
	}
	if f.Has(deploy.NeedSweepQueue) {
		// SendMessageBatch is authorized as SendMessage.
		allow(SidSweepQueue, []string{"sqs:SendMessage"}, []*string{s.SweepQueue.QueueArn()})
	}
	return out
}

// identityCenter is the identity-center need. An sso action on a permission
// set is authorized against both the instance and the permission set (and
// the account, for assignments): IAM Identity Center's CreateAccountAssignment
// and DeleteAccountAssignment name three resource types (Instance,
// PermissionSet, Account), and only the PermissionSet type carries the
// aws:ResourceTag condition key (the permission set's own tags). A tag
// condition on a statement that also lists the instance or accounts would
// never match them, so each resource type has its own statement: the
// instance and accounts with no condition; permission sets Elevate may
// change only when tagged elevate:managed=true, and assign or unassign only
// when tagged elevate:managed=true or elevate:assignable=true (the
// operator's tag on the sets a tenant boundary may list).
func (s *Stack) identityCenter() []awsiam.PolicyStatement {
	c := s.Config
	partition := s.partition()
	instance := jsii.String(c.IdentityCenterInstanceARN)
	permissionSets := jsii.String("arn:" + partition + ":sso:::permissionSet/" + c.InstanceID() + "/*")
	accounts := jsii.String("arn:" + partition + ":sso:::account/*")
	managed := map[string]any{"aws:ResourceTag/" + access.ManagedTagKey: access.ManagedTagValue}
	assignable := map[string]any{"aws:ResourceTag/" + access.AssignableTagKey: access.AssignableTagValue}

	statement := func(sid string, effect awsiam.Effect, actions []string, resources []*string, condition map[string]any) awsiam.PolicyStatement {
		props := &awsiam.PolicyStatementProps{
			Sid: jsii.String(sid), Effect: effect, Actions: jsii.Strings(actions...), Resources: &resources,
		}
		if condition != nil {
			props.Conditions = &map[string]any{"StringEquals": condition}
		}
		return awsiam.NewPolicyStatement(props)
	}
	sso := func(actions ...string) []string {
		out := make([]string, len(actions))
		for i, a := range actions {
			out[i] = "sso:" + a
		}
		return out
	}

	out := []awsiam.PolicyStatement{
		// The instance part of every call the adapter makes
		// (internal/identitycenter): alone it grants nothing on a permission
		// set or an account.
		statement(SidInstance, awsiam.Effect_ALLOW, sso(
			"ListPermissionSets", "DescribePermissionSet", "ListTagsForResource", "ListAccountsForProvisionedPermissionSet",
			"ListAccountAssignments", "ListAccountAssignmentsForPrincipal", "CreateAccountAssignment", "DeleteAccountAssignment",
			"DescribeAccountAssignmentCreationStatus", "DescribeAccountAssignmentDeletionStatus",
			"GetInlinePolicyForPermissionSet", "PutInlinePolicyToPermissionSet", "UpdatePermissionSet",
			"ProvisionPermissionSet", "DeletePermissionSet",
			"DeleteInlinePolicyFromPermissionSet", "DescribePermissionSetProvisioningStatus",
		), []*string{instance}, nil),
		// Any permission set of the instance may be read.
		statement(SidPermissionSets, awsiam.Effect_ALLOW, sso(
			"DescribePermissionSet", "ListTagsForResource", "ListAccountsForProvisionedPermissionSet", "ListAccountAssignments",
		), []*string{permissionSets}, nil),
		// Only Elevate's own sets and the operator's assignable ones may be
		// assigned: whatever a tenant's catalog or Cedar says, the boundary
		// holds in IAM.
		statement(SidAssignManaged, awsiam.Effect_ALLOW, sso("CreateAccountAssignment", "DeleteAccountAssignment"),
			[]*string{permissionSets}, managed),
		statement(SidAssignAssignable, awsiam.Effect_ALLOW, sso("CreateAccountAssignment", "DeleteAccountAssignment"),
			[]*string{permissionSets}, assignable),
		// Only Elevate's own sets may be changed, provisioned or deleted.
		statement(SidManagedPermissionSets, awsiam.Effect_ALLOW, sso(
			"GetInlinePolicyForPermissionSet", "PutInlinePolicyToPermissionSet", "UpdatePermissionSet",
			"ProvisionPermissionSet", "DeletePermissionSet",
			"DeleteInlinePolicyFromPermissionSet",
		), []*string{permissionSets}, managed),
		// Cutting a revoked grant's open sessions (docs/revocation.md) on an
		// operator's set: its inline policy and its provisioning only, and
		// only on the sets the operator tagged elevate:cut-sessions=true.
		statement(SidCutSessions, awsiam.Effect_ALLOW, sso(
			"GetInlinePolicyForPermissionSet", "PutInlinePolicyToPermissionSet", "DeleteInlinePolicyFromPermissionSet",
			"ProvisionPermissionSet",
		), []*string{permissionSets}, map[string]any{"aws:ResourceTag/" + access.CutSessionsTagKey: access.CutSessionsTagValue}),
		// A permission set may be created only with the managed tag.
		statement(SidCreateManaged, awsiam.Effect_ALLOW, sso("CreatePermissionSet"),
			[]*string{instance, permissionSets}, map[string]any{"aws:RequestTag/" + access.ManagedTagKey: access.ManagedTagValue}),
		statement(SidAccounts, awsiam.Effect_ALLOW, sso(
			"ListAccountAssignments", "CreateAccountAssignment", "DeleteAccountAssignment", "ProvisionPermissionSet",
		), []*string{accounts}, nil),
	}

	// Whatever the policies and the code say, no assignment is ever made in
	// a protected account: the context's, this account and the
	// organization's management account.
	var protected []*string
	for _, a := range s.protectedAccounts {
		protected = append(protected, awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:" + partition + ":sso:::account/"), a}))
	}
	out = append(out, statement(SidProtectedAccounts, awsiam.Effect_DENY, sso("CreateAccountAssignment"), protected, nil))

	if c.IdentityCenterKMSKeyARN != "" {
		out = append(out, statement(SidIdentityCenterKey, awsiam.Effect_ALLOW, []string{"kms:Decrypt"},
			[]*string{jsii.String(c.IdentityCenterKMSKeyARN)}, nil))
	}
	if c.RDSLookupRole != "" {
		// The role has one name in every member account; it may be assumed
		// only in an account of this organization (aws:ResourceOrgID must be
		// the caller's own organization), never in one outside it that
		// happens to have a role of that name.
		out = append(out, statement(SidRDSLookup, awsiam.Effect_ALLOW, []string{"sts:AssumeRole"},
			[]*string{jsii.String("arn:" + partition + ":iam::*:role/" + c.RDSLookupRole)},
			map[string]any{"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}))
	}
	return out
}
