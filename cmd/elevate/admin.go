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
func operatorService(ctx context.Context, sc local.StoreConfig) (*access.Operator, error) {
	if sc.Kind != "dynamodb" {
		return nil, fmt.Errorf("operator commands need a lasting store: give --store dynamodb --table NAME")
	}
	store, err := local.OpenStore(ctx, sc)
	if err != nil {
		return nil, err
	}
	return access.NewOperator(access.Config{Store: store, MintKey: auth.MintKey}), nil
}

// boundaryFlags are the flags that set a tenant boundary; set reports
// which of them a command line gave.
type boundaryFlags struct {
	fs                               *flag.FlagSet
	instance, identityStore, mapping *string
	roots, assignable                *string
	maxDuration                      *time.Duration
	retentionFloor                   *int64
	keyLifetime                      *int64
	cutSessions                      *bool
}

func addBoundaryFlags(fs *flag.FlagSet) boundaryFlags {
	def := access.DefaultBoundary()
	return boundaryFlags{
		fs:             fs,
		instance:       fs.String("identity-center-instance-arn", "", "Identity Center instance ARN (stack output IdentityCenterInstanceArn)"),
		identityStore:  fs.String("identity-store-id", "", "identity store id (d-…)"),
		mapping:        fs.String("identity-mapping", string(def.IdentityMapping), "how people are matched to Identity Store users: user_name, email, external_id or user_id"),
		roots:          fs.String("allowed-roots", "", "comma-separated organization root, OU or account ids: the most the tenant may reach"),
		assignable:     fs.String("assignable", "", "comma-separated ARNs of existing permission sets the tenant's catalog may use"),
		maxDuration:    fs.Duration("max-duration-ceiling", def.MaxDuration, "the longest maximum duration the tenant's admins may set"),
		retentionFloor: fs.Int64("audit-retention-floor-days", int64(def.MinAuditRetention/(24*time.Hour)), "the shortest audit retention the tenant's admins may set"),
		keyLifetime:    fs.Int64("api-key-max-lifetime-days", int64(def.MaxKeyLifetime/(24*time.Hour)), "the longest an API key made for a person may live"),
		cutSessions: fs.Bool("cut-assignable-sessions", false, "let Elevate add a time-bound deny to the assignable permission sets' inline policies "+
			"to end a revoked grant's open sessions, when the tenant's end_sessions setting is \"all\" (docs/revocation.md)"),
	}
}

func (b boundaryFlags) set(name string) bool { return flagGiven(b.fs, name) }

// flagGiven reports whether the command line set the flag.
func flagGiven(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// patch is what the command line asks to change.
func (b boundaryFlags) patch() access.BoundaryPatch {
	var p access.BoundaryPatch
	list := func(s string) *[]string { l := deploy.SplitList(s); return &l }
	if b.set("identity-center-instance-arn") {
		p.InstanceARN = b.instance
	}
	if b.set("identity-store-id") {
		p.IdentityStoreID = b.identityStore
	}
	if b.set("identity-mapping") {
		m := access.IdentityMapping(*b.mapping)
		p.IdentityMapping = &m
	}
	if b.set("allowed-roots") {
		p.AllowedRoots = list(*b.roots)
	}
	if b.set("assignable") {
		p.Assignable = list(*b.assignable)
	}
	if b.set("max-duration-ceiling") {
		p.MaxDuration = b.maxDuration
	}
	if b.set("audit-retention-floor-days") {
		d := time.Duration(*b.retentionFloor) * 24 * time.Hour
		p.MinAuditRetention = &d
	}
	if b.set("api-key-max-lifetime-days") {
		d := time.Duration(*b.keyLifetime) * 24 * time.Hour
		p.MaxKeyLifetime = &d
	}
	if b.set("cut-assignable-sessions") {
		p.CutSessions = b.cutSessions
	}
	return p
}

func tenantCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tenant create", stderr)
	var sc local.StoreConfig
	storeFlags(fs, &sc)
	bf := addBoundaryFlags(fs)
	id := fs.String("id", "", "tenant id (a UUID; default: a new one)")
	name := fs.String("name", "", "tenant name (required)")
	tz := fs.String("time-zone", "UTC", "the tenant's time zone (IANA name)")
	window := fs.Int64("approval-window-seconds", int64(access.DefaultApprovalWindow/time.Second), "how long a request may wait for approval")
	admin := fs.String("admin", "", "user id of the tenant's first admin (required)")
	adminGroups := fs.String("admin-groups", "", "comma-separated groups of the first admin")
	expires := fs.Duration("key-expires-in", 30*24*time.Hour, "lifetime of the admin key (0 for none)")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
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
	boundary := bf.patch().Apply(access.DefaultBoundary())
	t, err := svc.CreateTenant(ctx, access.NewTenantInput{ID: *id, Name: *name, Boundary: &boundary, Settings: &settings})
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

func tenantUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tenant update", stderr)
	var sc local.StoreConfig
	storeFlags(fs, &sc)
	bf := addBoundaryFlags(fs)
	tenant := fs.String("tenant", "", "tenant id (required)")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if *tenant == "" {
		fmt.Fprintln(stderr, "elevate tenant update: --tenant is required")
		return 2
	}
	svc, err := operatorService(ctx, sc)
	if err != nil {
		fmt.Fprintf(stderr, "elevate tenant update: %v\n", err)
		return 1
	}
	t, err := svc.UpdateBoundary(ctx, *tenant, bf.patch())
	if err != nil {
		fmt.Fprintf(stderr, "elevate tenant update: %v\n", err)
		return 1
	}
	return printJSON(stdout, tenantView(t))
}

func tenantShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tenant show", stderr)
	var sc local.StoreConfig
	storeFlags(fs, &sc)
	tenant := fs.String("tenant", "", "tenant id (required)")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if *tenant == "" {
		fmt.Fprintln(stderr, "elevate tenant show: --tenant is required")
		return 2
	}
	svc, err := operatorService(ctx, sc)
	if err != nil {
		fmt.Fprintf(stderr, "elevate tenant show: %v\n", err)
		return 1
	}
	t, err := svc.Tenant(ctx, *tenant)
	if err != nil {
		fmt.Fprintf(stderr, "elevate tenant show: %v\n", err)
		return 1
	}
	return printJSON(stdout, tenantView(t))
}

// tenantView is a tenant as the operator sees it.
func tenantView(t access.Tenant) map[string]any {
	b := t.Boundary
	return map[string]any{
		"tenant_id": t.ID, "name": t.Name, "revision": t.Revision, "policy_version": t.PolicyVersion,
		"boundary": map[string]any{
			"identity_center_instance_arn": b.InstanceARN, "identity_store_id": b.IdentityStoreID,
			"identity_mapping": b.IdentityMapping, "allowed_roots": nonNil(b.AllowedRoots), "assignable": nonNil(b.Assignable),
			"max_duration_ceiling": b.MaxDuration.String(), "audit_retention_floor_days": int64(b.MinAuditRetention / (24 * time.Hour)),
			"api_key_max_lifetime_days": int64(b.MaxKeyLifetime / (24 * time.Hour)),
			"cut_assignable_sessions":   b.CutSessions,
		},
		"settings": map[string]any{
			"allowed_roots": nonNil(t.AllowedRoots()), "time_zone": t.Settings.TimeZone,
			"max_duration": t.Settings.MaxDuration.String(), "audit_retention_days": int64(t.Settings.AuditRetention / (24 * time.Hour)),
			"jwt_issuer": t.Settings.JWT.Issuer, "jwt_audience": t.Settings.JWT.Audience,
		},
	}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// apikeyCreate creates an API key directly in the store, for operators.
func apikeyCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("apikey create", stderr)
	var sc local.StoreConfig
	storeFlags(fs, &sc)
	tenant := fs.String("tenant", "", "tenant id (required)")
	principal := fs.String("principal", "", "user id, or service principal name with --service (required)")
	role := fs.String("role", "", "admin, approver or requester (required)")
	groups := fs.String("groups", "", "comma-separated groups")
	service := fs.Bool("service", false, "the key acts for a service principal")
	name := fs.String("name", "", "a name for the key")
	expires := fs.Duration("expires-in", 30*24*time.Hour, "lifetime of the key (0 for none)")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
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
