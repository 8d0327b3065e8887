package rds_test

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/motoserver"
	"github.com/elevate-jit/elevate/internal/rds"
)

func TestMain(m *testing.M) { motoserver.Main(m) }

// TestLookup assumes the lookup role into the instance's account and
// reads its DbiResourceId from moto's RDS, once.
func TestLookup(t *testing.T) {
	t.Parallel()
	srv := motoserver.Shared(t)
	cfg := srv.AWSConfig()
	const account = "123456789012"
	name := "orders-" + randomHex(3)
	// The instance lives in the member account: create it with that account's
	// (assumed) credentials, as its owner would.
	lookup := rds.NewLookup(cfg, sts.NewFromConfig(cfg), "ElevateRDSLookup")
	owner := cfg.Copy()
	owner.Region = "eu-west-1"
	created, err := awsrds.NewFromConfig(owner).CreateDBInstance(t.Context(), &awsrds.CreateDBInstanceInput{
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
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
