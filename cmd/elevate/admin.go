package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/auth"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/local"
)

// storeFlags adds the flags that choose a store.
func storeFlags(fs *flag.FlagSet, c *local.StoreConfig) {
	fs.StringVar(&c.Kind, "store", "memory", "store: memory (embedded, gone on exit) or dynamodb")
	fs.StringVar(&c.Table, "table", "", "DynamoDB table name (with --store dynamodb)")
	fs.StringVar(&c.Endpoint, "dynamodb-endpoint", "", "DynamoDB API endpoint other than AWS's, such as http://127.0.0.1:5000 for moto")
	fs.StringVar(&c.Region, "region", "", "AWS region (default: from the AWS configuration)")
	fs.BoolVar(&c.CreateTable, "create-table", false, "create the DynamoDB table with its indexes if it does not exist")
}

// operatorService is a Service for operator commands that write the store
// directly: creating tenants and keys needs no workflow or Identity Center.
func operatorService(ctx context.Context, sc local.StoreConfig) (*access.Service, error) {
	if sc.Kind != "dynamodb" {
		return nil, fmt.Errorf("operator commands need a lasting store: give --store dynamodb --table NAME")
	}
	store, err := local.OpenStore(ctx, sc)
	if err != nil {
		return nil, err
	}
	return access.NewService(access.Config{Store: store, MintKey: auth.MintKey}), nil
}

const tenantUsage = `Usage:
  elevate tenant create --store dynamodb --table NAME --name NAME [flags]
      creates a tenant (default policies, empty catalog) and a key for its first admin,
      and prints both as JSON; set the catalog and settings through the API with that key
`

// tenantCmd creates tenants: the bootstrap of a deployment, since the API
// has no route to create one.
func tenantCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, tenantUsage)
		return 2
	}
	fs := flag.NewFlagSet("tenant create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sc local.StoreConfig
	storeFlags(fs, &sc)
	id := fs.String("id", "", "tenant id (a UUID; default: a new one)")
	name := fs.String("name", "", "tenant name (required)")
	instance := fs.String("identity-center-instance-arn", "", "Identity Center instance ARN of the tenant boundary (stack output IdentityCenterInstanceArn)")
	identityStore := fs.String("identity-store-id", "", "identity store id (d-…)")
	roots := fs.String("allowed-roots", "", "comma-separated organization root, OU or account ids the tenant may grant access in")
	tz := fs.String("time-zone", "UTC", "the tenant's time zone (IANA name)")
	window := fs.Int64("approval-window-seconds", int64(access.DefaultApprovalWindow/time.Second), "how long a request may wait for approval")
	admin := fs.String("admin", "", "user id of the tenant's first admin (required)")
	adminGroups := fs.String("admin-groups", "", "comma-separated groups of the first admin")
	expires := fs.Duration("key-expires-in", 30*24*time.Hour, "lifetime of the admin key (0 for none)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *name == "" || *admin == "" {
		fmt.Fprintln(stderr, "elevate tenant create: --name and --admin are required")
		return 2
	}
	svc, err := operatorService(ctx, sc)
	if err != nil {
		fmt.Fprintf(stderr, "elevate tenant create: %v\n", err)
		return 1
	}
	settings := access.DefaultSettings()
	settings.TimeZone = *tz
	settings.ApprovalWindow = time.Duration(*window) * time.Second
	settings.Boundary = access.Boundary{InstanceARN: *instance, IdentityStoreID: *identityStore, AllowedRoots: deploy.SplitList(*roots)}
	t, err := svc.CreateTenant(ctx, access.NewTenantInput{ID: *id, Name: *name, Settings: &settings})
	if err != nil {
		fmt.Fprintf(stderr, "elevate tenant create: %v\n", err)
		return 1
	}
	k, secret, err := svc.BootstrapAPIKey(ctx, t.ID, access.APIKey{Name: "first admin key", Role: access.RoleAdmin,
		PrincipalID: *admin, Groups: deploy.SplitList(*adminGroups), ExpiresAt: expiry(*expires), CreatedBy: "elevate-cli"})
	if err != nil {
		fmt.Fprintf(stderr, "elevate tenant create: tenant %s created, but its admin key was not: %v\n", t.ID, err)
		return 1
	}
	return printJSON(stdout, map[string]any{"tenant_id": t.ID, "name": t.Name, "admin": *admin, "key_id": k.ID, "key": secret})
}

const apikeyUsage = `Usage:
  elevate apikey create --store dynamodb --table NAME --tenant ID --principal ID --role ROLE [flags]
      creates an API key for a user (or, with --service, a service principal) and prints it once
`

// apikeyCmd creates API keys directly in the store, for operators.
func apikeyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, apikeyUsage)
		return 2
	}
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sc local.StoreConfig
	storeFlags(fs, &sc)
	tenant := fs.String("tenant", "", "tenant id (required)")
	principal := fs.String("principal", "", "user id, or service principal name with --service (required)")
	role := fs.String("role", "", "admin, approver or requester (required)")
	groups := fs.String("groups", "", "comma-separated groups")
	service := fs.Bool("service", false, "the key acts for a service principal")
	name := fs.String("name", "", "a name for the key")
	expires := fs.Duration("expires-in", 30*24*time.Hour, "lifetime of the key (0 for none)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *tenant == "" || *principal == "" || *role == "" {
		fmt.Fprintln(stderr, "elevate apikey create: --tenant, --principal and --role are required")
		return 2
	}
	svc, err := operatorService(ctx, sc)
	if err != nil {
		fmt.Fprintf(stderr, "elevate apikey create: %v\n", err)
		return 1
	}
	kind := access.PrincipalUser
	if *service {
		kind = access.PrincipalService
	}
	k, secret, err := svc.BootstrapAPIKey(ctx, access.CanonicalTenantID(*tenant), access.APIKey{Name: *name, Role: access.Role(*role),
		PrincipalID: *principal, PrincipalKind: kind, Groups: deploy.SplitList(*groups), ExpiresAt: expiry(*expires), CreatedBy: "elevate-cli"})
	if err != nil {
		fmt.Fprintf(stderr, "elevate apikey create: %v\n", err)
		return 1
	}
	return printJSON(stdout, map[string]any{"tenant_id": k.TenantID, "principal": k.PrincipalID, "role": k.Role, "key_id": k.ID, "key": secret})
}

func expiry(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

func printJSON(w io.Writer, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return 1
	}
	fmt.Fprintln(w, string(b))
	return 0
}
