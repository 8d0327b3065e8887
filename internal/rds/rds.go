// Package rds looks up RDS DB instances in member accounts, for the managed
// connect permission sets of RDS grants: IAM database authentication names
// an instance by its resource id, which only RDS knows.
package rds

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/elevate-jit/elevate/internal/access"
)

// API is the part of the RDS client the lookup uses.
type API interface {
	DescribeDBInstances(ctx context.Context, in *awsrds.DescribeDBInstancesInput, opts ...func(*awsrds.Options)) (*awsrds.DescribeDBInstancesOutput, error)
}

// Lookup finds DB instances in member accounts by assuming a role there
// (the deployment's RDS lookup role, allowed only rds:DescribeDBInstances).
// Resource ids never change, so answers are kept for the process's life.
type Lookup struct {
	base aws.Config
	role string
	sts  stscreds.AssumeRoleAPIClient
	// clientFor makes the RDS client of an account and region; tests replace it.
	clientFor func(cfg aws.Config) API

	mu  sync.Mutex
	ids map[string]string
}

// NewLookup returns a lookup that assumes role (a role name, with an
// optional path) in each DB instance's account, with credentials from base.
func NewLookup(base aws.Config, sts stscreds.AssumeRoleAPIClient, role string) *Lookup {
	return &Lookup{base: base, role: strings.Trim(role, "/"), sts: sts, ids: map[string]string{},
		clientFor: func(cfg aws.Config) API { return awsrds.NewFromConfig(cfg) }}
}

// DBIResourceID returns the DbiResourceId of the DB instance arn.
func (l *Lookup) DBIResourceID(ctx context.Context, arn string) (string, error) {
	l.mu.Lock()
	id, ok := l.ids[arn]
	l.mu.Unlock()
	if ok {
		return id, nil
	}
	region, account, name, ok := access.ParseRDSARN(arn)
	if !ok {
		return "", access.Errorf(access.CodeValidationFailed, "%s is not a DB instance ARN", arn)
	}
	partition := strings.SplitN(arn, ":", 3)[1]
	roleARN := fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, l.role)
	cfg := l.base.Copy()
	cfg.Region = region
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(l.sts, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "elevate-rds-lookup"
	}))
	out, err := l.clientFor(cfg).DescribeDBInstances(ctx, &awsrds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(name)})
	var missing *rdstypes.DBInstanceNotFoundFault
	switch {
	case errors.As(err, &missing):
		return "", access.Errorf(access.CodeValidationFailed, "DB instance %s does not exist", arn)
	case err != nil:
		return "", fmt.Errorf("describe DB instance %s as %s: %w", arn, roleARN, err)
	case len(out.DBInstances) != 1 || aws.ToString(out.DBInstances[0].DbiResourceId) == "":
		return "", fmt.Errorf("describe DB instance %s: no resource id in the answer", arn)
	}
	id = aws.ToString(out.DBInstances[0].DbiResourceId)
	l.mu.Lock()
	l.ids[arn] = id
	l.mu.Unlock()
	return id, nil
}
