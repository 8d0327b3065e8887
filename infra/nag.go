package infra

import (
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/elevate-jit/elevate/internal/deploy"
)

// AddChecks runs cdk-nag's AwsSolutions rules on everything in scope at
// synthesis: an unsuppressed finding is an error, and `cdk synth` fails.
func AddChecks(scope awscdk.App) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// customResourceProvider is the construct id CDK gives the singleton Lambda
// behind every AwsCustomResource in a stack.
const customResourceProvider = "AWS679f53fac002430cb0da5b7982bd2287"

// suppressions says, for each AwsSolutions finding the stack keeps, why.
// Each IAM5 suppression names the exact wildcard it allows (appliesTo).
func (s *Stack) suppressions() {
	suppress := func(scope any, children bool, list ...*cdknag.NagPackSuppression) {
		cdknag.NagSuppressions_AddResourceSuppressions(scope, &list, jsii.Bool(children))
	}
	rule := func(id, reason string, appliesTo ...any) *cdknag.NagPackSuppression {
		sup := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
		if len(appliesTo) > 0 {
			sup.AppliesTo = &appliesTo
		}
		return sup
	}
	regex := func(re string) any { return &cdknag.RegexAppliesTo{Regex: jsii.String(re)} }

	suppress(s.CursorSecret, false, rule("AwsSolutions-SMG4",
		"The cursor key rotates by hand (docs/deploy.md): cursors carry their key id and the sealer accepts the previous key while "+
			"a new one rolls out, whereas a rotation Lambda would replace the key outright and invalidate every open cursor. "+
			"Cursors expire within minutes, so a leaked key is short-lived in effect."))

	suppress(s.API, true, rule("AwsSolutions-APIG4",
		"Authentication is in the functions (docs/design.md, \"Who may do what\"): X-API-Key keys stored as hashes, or a Bearer JWT checked against the "+
			"tenant's own issuer, audience and JWKS, chosen by X-Tenant-ID. One API Gateway JWT authorizer holds one issuer, so it "+
			"cannot serve many tenants, and GET /openapi.json is public by design."))

	cdknag.NagSuppressions_AddResourceSuppressionsByPath(s.Stack,
		jsii.String("/"+s.name+"/"+customResourceProvider+"/ServiceRole/Resource"),
		&[]*cdknag.NagPackSuppression{rule("AwsSolutions-IAM4",
			"CDK's AwsCustomResource provider, which only looks up the organization's management account at deployment, "+
				"writes its own logs with AWSLambdaBasicExecutionRole; it runs with no access to Elevate's data.",
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")},
		jsii.Bool(false))
	suppress(s.lookup, true, rule("AwsSolutions-IAM5",
		"organizations:DescribeOrganization supports no resource-level permissions; this read-only call runs once per "+
			"deployment to protect the management account.", "Resource::*"))

	suppress(s.StateMachine, true, rule("AwsSolutions-IAM5",
		"Step Functions' log delivery (logs:CreateLogDelivery and the other *LogDelivery actions, PutResourcePolicy, "+
			"DescribeResourcePolicies, DescribeLogGroups) and X-Ray (PutTraceSegments, PutTelemetryRecords, GetSamplingRules, "+
			"GetSamplingTargets) accept only \"*\"; the role invokes its four step functions by ARN and nothing else.", "Resource::*"))

	suppress(s.OutboxDeadLetterQueue, false, rule("AwsSolutions-SQS3",
		"This queue is itself a dead-letter queue: the on-failure destination of the outbox's event source mapping, "+
			"which cdk-nag does not recognise as one (it looks for queues' redrive policies). It is alarmed."))

	partition := s.partition()
	for _, f := range deploy.Functions {
		list := []*cdknag.NagPackSuppression{rule("AwsSolutions-IAM5", starReason(f), "Resource::*")}
		if f.Has(deploy.NeedTableRead) {
			list = append(list, rule("AwsSolutions-IAM5",
				"GetItem and Query on the global secondary indexes (GSI1 to GSI6) of Elevate's own table, whose ARN bounds the wildcard.",
				regex(`/^Resource::<Table[0-9A-F]{8}\.Arn>\/index\/\*$/`)))
		}
		if f.Has(deploy.NeedSchedule) {
			list = append(list, rule("AwsSolutions-IAM5",
				"Expiry schedules are named after grants at run time; the actions reach only schedules in Elevate's own schedule group.",
				regex(`/^Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule\/`+regexp.QuoteMeta(s.scheduleGroupName())+`\/\*$/`)))
		}
		if f.Has(deploy.NeedResolveUsers) {
			list = append(list, rule("AwsSolutions-IAM5",
				"People are resolved to Identity Store user ids at run time (identitystore:DescribeUser authorizes against "+
					"user/<id>); the store itself is the configured one, in whichever account owns the instance.",
				"Resource::arn:"+partition+":identitystore:::user/*",
				"Resource::arn:"+partition+":identitystore::*:identitystore/"+s.Config.IdentityStoreID))
		}
		if f.Has(deploy.NeedIdentityCenter) {
			list = append(list,
				rule("AwsSolutions-IAM5",
					"Permission sets of the one configured Identity Center instance: any may be read; only those tagged "+
						"elevate:managed=true or elevate:assignable=true (the operator's tag) may be assigned or unassigned, only "+
						"those tagged elevate:managed=true may be changed, provisioned or deleted (aws:ResourceTag conditions), and "+
						"new ones must carry that tag (aws:RequestTag).",
					"Resource::arn:"+partition+":sso:::permissionSet/"+s.Config.InstanceID()+"/*"),
				rule("AwsSolutions-IAM5",
					"The target account of an assignment is chosen per request at run time within the tenant boundary; an explicit "+
						"Deny forbids assignments in the protected accounts (the context's, this one and the management account).",
					"Resource::arn:"+partition+":sso:::account/*"))
			if s.Config.RDSLookupRole != "" {
				list = append(list, rule("AwsSolutions-IAM5",
					"The RDS lookup role has the same name in every member account; which account is chosen per request.",
					"Resource::arn:"+partition+":iam::*:role/"+s.Config.RDSLookupRole))
			}
		}
		suppress(s.Roles[f.Name], true, list...)
	}
}

// starReason says why a function's role has statements on "*": X-Ray for
// every function, and whichever needs of its take no resource.
func starReason(f deploy.Function) string {
	parts := []string{`X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) accepts only "*"`}
	if f.Has(deploy.NeedSendTask) {
		parts = append(parts, `states:SendTaskSuccess and SendTaskFailure take no resource in IAM (the task token, which never `+
			`leaves the backend, is the capability)`)
	}
	if f.Has(deploy.NeedOrganizationsRead) {
		parts = append(parts, `the read-only organizations:List*/DescribeAccount calls address ARNs that hold the organization id, `+
			`which the stack does not know`)
	}
	return strings.Join(parts, "; ") + "."
}
