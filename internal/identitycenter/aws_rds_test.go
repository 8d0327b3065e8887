package identitycenter_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter"
	"github.com/elevate-jit/elevate/internal/motoserver"
)

// TestRDSLookup assumes the lookup role into the instance's account and
// reads its DbiResourceId from moto's RDS, once.
func TestRDSLookup(t *testing.T) {
	t.Parallel()
	srv := motoserver.Shared(t)
	cfg := srv.AWSConfig()
	const account = "123456789012"
	name := "orders-" + randomHex(3)
	// The instance lives in the member account: create it with that account's
	// (assumed) credentials, as its owner would.
	lookup := identitycenter.NewRDSLookup(cfg, sts.NewFromConfig(cfg), "ElevateRDSLookup")
	owner := cfg.Copy()
	owner.Region = "eu-west-1"
	created, err := rds.NewFromConfig(owner).CreateDBInstance(t.Context(), &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(name), DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("postgres"),
		MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("not-a-real-password"), AllocatedStorage: aws.Int32(20),
	})
	if err != nil {
		t.Fatalf("CreateDBInstance: %v\n%s", err, srv.Output())
	}
	want := aws.ToString(created.DBInstance.DbiResourceId)
	arn := "arn:aws:rds:eu-west-1:" + account + ":db:" + name
	for range 2 {
		got, err := lookup.DBIResourceID(t.Context(), arn)
		if err != nil || got != want {
			t.Fatalf("DBIResourceID = %q, %v; want %q", got, err, want)
		}
	}
	// A missing instance is a clear, permanent failure.
	_, err = lookup.DBIResourceID(t.Context(), "arn:aws:rds:eu-west-1:"+account+":db:nothing-here")
	if access.CodeOf(err) != access.CodeValidationFailed {
		t.Fatalf("missing instance: %v", err)
	}
	// Without a lookup role, RDS connect fails with the reason.
	_, err = identitycenter.NewAWS(identitycenter.AWSConfig{}).DBIResourceID(t.Context(), access.Tenant{}, arn)
	if access.CodeOf(err) != access.CodeValidationFailed {
		t.Fatalf("no lookup role: %v", err)
	}
}
