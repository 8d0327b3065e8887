package access

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Limits Identity Center puts on permission sets.
const (
	MaxPermissionSetName = 32
	MaxInlinePolicyBytes = 10240
	ManagedSessionLength = time.Hour
	// ManagedTagKey marks permission sets Elevate created and may change.
	ManagedTagKey   = "elevate:managed"
	ManagedTagValue = "true"
	// AssignableTagKey marks the operator's permission sets Elevate may
	// assign (and unassign) for tenants whose boundary lists them.
	AssignableTagKey   = "elevate:assignable"
	AssignableTagValue = "true"
	// CutSessionsTagKey marks the operator's assignable permission sets
	// whose inline policy Elevate may change to cut a revoked grant's open
	// sessions (docs/revocation.md): IAM's half of the boundary's
	// cut_assignable_sessions.
	CutSessionsTagKey   = "elevate:cut-sessions"
	CutSessionsTagValue = "true"
)

// ManagedName is the deterministic name of the managed permission set for a
// resource and action: "elv-" and a hash of what it grants, so every grant on
// the same resource and action under the same policy version shares it.
func ManagedName(instanceARN string, r Resource, action string, policyVersion int) string {
	h := sha256.Sum256([]byte(strings.Join([]string{
		instanceARN, string(r.Type), r.ID, r.AccountID, r.Region, r.DBUser, action, fmt.Sprint(policyVersion),
	}, "\x00")))
	return "elv-" + hex.EncodeToString(h[:])[:MaxPermissionSetName-4]
}

type statement struct {
	Sid       string         `json:"Sid"`
	Effect    string         `json:"Effect"`
	Action    []string       `json:"Action"`
	Resource  []string       `json:"Resource"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// managedAction is one action of a managed resource type and the statements
// of its permission set.
type managedAction struct {
	name       string
	statements func(m managedTarget) ([]statement, error)
}

// managedTarget is what a managed permission set's statements are built for.
type managedTarget struct {
	partition string
	account   string // the resource's account
	r         Resource
	// dbiResourceID is the RDS instance's DbiResourceId, for the connect action.
	dbiResourceID string
}

// ManagedSpec builds the managed permission set for a grant on an S3 bucket,
// RDS instance or EC2 instance (docs/permission-sets.md). Every statement is pinned to the
// resource's account with aws:ResourceAccount. dbiResourceID is the RDS
// instance's DbiResourceId, needed for the connect action.
func ManagedSpec(instanceARN string, r Resource, action string, policyVersion int, dbiResourceID string) (ManagedPermissionSet, error) {
	account := r.TargetAccount()
	partition := "aws"
	if i := strings.Index(instanceARN, ":sso:"); strings.HasPrefix(instanceARN, "arn:") && i > 4 {
		partition = instanceARN[4:i]
	}
	var build func(managedTarget) ([]statement, error)
	if k, ok := kindOf(r.Type); ok {
		for _, a := range k.managed {
			if a.name == action {
				build = a.statements
			}
		}
	}
	if build == nil {
		return ManagedPermissionSet{}, fmt.Errorf("no managed permission set for action %q on %s", action, r.Type)
	}
	stmts, err := build(managedTarget{partition: partition, account: account, r: r, dbiResourceID: dbiResourceID})
	if err != nil {
		return ManagedPermissionSet{}, err
	}
	for i := range stmts {
		stmts[i].Condition = map[string]any{"StringEquals": map[string]string{"aws:ResourceAccount": account}}
	}
	doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	if err != nil {
		return ManagedPermissionSet{}, fmt.Errorf("encode inline policy: %w", err)
	}
	if len(doc) > MaxInlinePolicyBytes {
		return ManagedPermissionSet{}, fmt.Errorf("inline policy for %s is %d bytes, over Identity Center's %d", r.ID, len(doc), MaxInlinePolicyBytes)
	}
	return ManagedPermissionSet{
		Name:            ManagedName(instanceARN, r, action, policyVersion),
		Description:     truncate(fmt.Sprintf("Elevate: %s on %s %s", action, r.Type, r.ID), 700),
		InlinePolicy:    string(doc),
		AccountID:       account,
		SessionDuration: ManagedSessionLength,
	}, nil
}

// The statements of each managed action, named by type and action; kinds
// lists which type offers which.

func s3Read(m managedTarget) ([]statement, error) {
	return s3Statements(m.partition, m.r.ID, false), nil
}

func s3Write(m managedTarget) ([]statement, error) {
	return s3Statements(m.partition, m.r.ID, true), nil
}

func rdsConnect(m managedTarget) ([]statement, error) {
	if m.dbiResourceID == "" {
		return nil, fmt.Errorf("managed permission set for %s: the DB instance's resource id is unknown", m.r.ID)
	}
	return []statement{{
		Sid: "ConnectAsDBUser", Effect: "Allow", Action: []string{"rds-db:connect"},
		Resource: []string{fmt.Sprintf("arn:%s:rds-db:%s:%s:dbuser:%s/%s", m.partition, m.r.Region, m.account, m.dbiResourceID, m.r.DBUser)},
	}}, nil
}

func rdsRead(m managedTarget) ([]statement, error) {
	return []statement{{
		Sid: "DescribeInstance", Effect: "Allow",
		Action:   []string{"rds:DescribeDBInstances", "rds:DescribeDBLogFiles", "rds:DownloadDBLogFilePortion", "rds:ListTagsForResource"},
		Resource: []string{m.r.ID},
	}}, nil
}

func rdsAdmin(m managedTarget) ([]statement, error) {
	return []statement{{
		Sid: "AdministerInstance", Effect: "Allow",
		Action: []string{"rds:Describe*", "rds:ListTagsForResource", "rds:RebootDBInstance", "rds:ModifyDBInstance",
			"rds:CreateDBSnapshot", "rds:StartDBInstance", "rds:StopDBInstance", "rds:DownloadDBLogFilePortion"},
		Resource: []string{m.r.ID},
	}}, nil
}

func ec2Session(m managedTarget) ([]statement, error) {
	p, region := m.partition, m.r.Region
	instance := fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", p, region, m.account, m.r.ID)
	return []statement{
		{Sid: "StartSession", Effect: "Allow", Action: []string{"ssm:StartSession"}, Resource: []string{
			instance, fmt.Sprintf("arn:%s:ssm:%s::document/AWS-StartSSHSession", p, region),
			fmt.Sprintf("arn:%s:ssm:%s::document/AWS-StartPortForwardingSession", p, region),
		}},
		{Sid: "ManageOwnSessions", Effect: "Allow", Action: []string{"ssm:TerminateSession", "ssm:ResumeSession"},
			Resource: []string{fmt.Sprintf("arn:%s:ssm:*:*:session/${aws:userid}-*", p)}},
		{Sid: "DescribeInstance", Effect: "Allow", Action: []string{"ec2:DescribeInstances", "ssm:DescribeInstanceInformation", "ssm:GetConnectionStatus"}, Resource: []string{"*"}},
	}, nil
}

func ec2Read(managedTarget) ([]statement, error) {
	return []statement{{Sid: "DescribeInstance", Effect: "Allow",
		Action:   []string{"ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "ec2:GetConsoleOutput", "ssm:DescribeInstanceInformation"},
		Resource: []string{"*"}}}, nil
}

func s3Statements(partition, bucket string, write bool) []statement {
	bucketARN := fmt.Sprintf("arn:%s:s3:::%s", partition, bucket)
	objects := []string{"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"}
	if write {
		objects = append(objects, "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:PutObjectTagging")
	}
	return []statement{
		{Sid: "ListBucket", Effect: "Allow", Action: []string{"s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"}, Resource: []string{bucketARN}},
		{Sid: "Objects", Effect: "Allow", Action: objects, Resource: []string{bucketARN + "/*"}},
		{Sid: "FindBucket", Effect: "Allow", Action: []string{"s3:ListAllMyBuckets"}, Resource: []string{"*"}},
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
