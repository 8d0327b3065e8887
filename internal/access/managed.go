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

// ManagedSpec builds the managed permission set for a grant on an S3 bucket,
// RDS instance or EC2 instance (DESIGN §3). Every statement is pinned to the
// resource's account with aws:ResourceAccount. dbiResourceID is the RDS
// instance's DbiResourceId, needed for the connect action.
func ManagedSpec(instanceARN string, r Resource, action string, policyVersion int, dbiResourceID string) (ManagedPermissionSet, error) {
	account := r.TargetAccount()
	partition := "aws"
	if i := strings.Index(instanceARN, ":sso:"); strings.HasPrefix(instanceARN, "arn:") && i > 4 {
		partition = instanceARN[4:i]
	}
	var stmts []statement
	switch {
	case r.Type == ResourceS3Bucket && action == "read":
		stmts = s3Statements(partition, r.ID, false)
	case r.Type == ResourceS3Bucket && action == "write":
		stmts = s3Statements(partition, r.ID, true)
	case r.Type == ResourceRDSInstance && action == "connect":
		if dbiResourceID == "" {
			return ManagedPermissionSet{}, fmt.Errorf("managed permission set for %s: the DB instance's resource id is unknown", r.ID)
		}
		stmts = []statement{{
			Sid: "ConnectAsDBUser", Effect: "Allow", Action: []string{"rds-db:connect"},
			Resource: []string{fmt.Sprintf("arn:%s:rds-db:%s:%s:dbuser:%s/%s", partition, r.Region, account, dbiResourceID, r.DBUser)},
		}}
	case r.Type == ResourceRDSInstance && action == "read":
		stmts = []statement{{
			Sid: "DescribeInstance", Effect: "Allow",
			Action:   []string{"rds:DescribeDBInstances", "rds:DescribeDBLogFiles", "rds:DownloadDBLogFilePortion", "rds:ListTagsForResource"},
			Resource: []string{r.ID},
		}}
	case r.Type == ResourceRDSInstance && action == "admin":
		stmts = []statement{{
			Sid: "AdministerInstance", Effect: "Allow",
			Action: []string{"rds:Describe*", "rds:ListTagsForResource", "rds:RebootDBInstance", "rds:ModifyDBInstance",
				"rds:CreateDBSnapshot", "rds:StartDBInstance", "rds:StopDBInstance", "rds:DownloadDBLogFilePortion"},
			Resource: []string{r.ID},
		}}
	case r.Type == ResourceEC2Instance && action == "ssm-session":
		instance := fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", partition, r.Region, account, r.ID)
		stmts = []statement{
			{Sid: "StartSession", Effect: "Allow", Action: []string{"ssm:StartSession"}, Resource: []string{
				instance, fmt.Sprintf("arn:%s:ssm:%s::document/AWS-StartSSHSession", partition, r.Region),
				fmt.Sprintf("arn:%s:ssm:%s::document/AWS-StartPortForwardingSession", partition, r.Region),
			}},
			{Sid: "ManageOwnSessions", Effect: "Allow", Action: []string{"ssm:TerminateSession", "ssm:ResumeSession"},
				Resource: []string{fmt.Sprintf("arn:%s:ssm:*:*:session/${aws:userid}-*", partition)}},
			{Sid: "DescribeInstance", Effect: "Allow", Action: []string{"ec2:DescribeInstances", "ssm:DescribeInstanceInformation", "ssm:GetConnectionStatus"}, Resource: []string{"*"}},
		}
	case r.Type == ResourceEC2Instance && action == "read":
		stmts = []statement{{Sid: "DescribeInstance", Effect: "Allow",
			Action:   []string{"ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "ec2:GetConsoleOutput", "ssm:DescribeInstanceInformation"},
			Resource: []string{"*"}}}
	default:
		return ManagedPermissionSet{}, fmt.Errorf("no managed permission set for action %q on %s", action, r.Type)
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
