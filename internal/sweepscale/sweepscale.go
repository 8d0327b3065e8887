// Package sweepscale simulates one full sweep of a large deployment: N
// tenants with M active grants in all and K Elevate-managed permission sets,
// against a fake of Identity Center's SSO Admin API that enforces its rate
// (20 calls per second) and counts every call. It runs the real sweeper
// (access.Operator.Sweep, with a sweep queue) and the real Identity Center
// adapter, then the queue's per-tenant sweeps (SweepTenant) on the
// consumers the stack allows, and reports how long the pass took in
// simulated time and whether every overdue grant it planted was found.
// make sweep-scale runs it at the default scale; its test at a small one.
package sweepscale

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/identitycenter"
	"github.com/elevate-jit/elevate/internal/local"
	"github.com/elevate-jit/elevate/internal/store/memstore"
)

// Config is the deployment to simulate.
type Config struct {
	Tenants      int
	ActiveGrants int
	// ManagedSets are the instance's Elevate-managed permission sets:
	// four in five used by active grants, the rest unused, of which a
	// quarter new (younger than the adapter's delete grace: a grant in some
	// tenant may be about to claim its first assignment).
	ManagedSets int
	// Overdue is how many active grants are planted past their end (lost
	// schedules); the sweep must find every one.
	Overdue        int
	UsersPerTenant int
	Accounts       int
	// TPS is Identity Center's rate, which the fake enforces and the
	// sweeper's adapter is given as its share.
	TPS int
	// StoreLatency is the simulated time of one table or queue call.
	StoreLatency time.Duration
	// Consumers and Batch are the sweep queue's concurrency and batch size
	// (infra.SweepConcurrency, infra.SweepBatchSize).
	Consumers, Batch int
	Seed             uint64
}

// Default is the scale of make sweep-scale: 1,000 tenants with 10,000
// active grants.
func Default() Config {
	return Config{Tenants: 1000, ActiveGrants: 10000, ManagedSets: 1000, Overdue: 100, UsersPerTenant: 10, Accounts: 200,
		TPS: 20, StoreLatency: 5 * time.Millisecond, Consumers: 5, Batch: 10, Seed: 1}
}

// Result is the pass's figures; the JSON is make sweep-scale's last line.
type Result struct {
	Tenants             int     `json:"tenants"`
	ActiveGrants        int     `json:"active_grants"`
	IdentityCenterCalls int     `json:"identity_center_calls"`
	SimulatedSeconds    float64 `json:"simulated_seconds"`
	OverdueFound        int     `json:"overdue_found"`
	OverduePlanted      int     `json:"overdue_planted"`

	Detail Detail `json:"-"`
}

// Detail is what else the pass saw.
type Detail struct {
	// SweeperSeconds is the sweeper's run (queueing, ledger, collection,
	// audit); TenantSeconds when the last queued tenant was swept.
	SweeperSeconds, TenantSeconds float64
	MaxCallsPerSecond, Throttled  int
	CallsByMethod                 map[string]int
	TableCalls                    int
	UsersAudited, UsersToAudit    int
	SetsCollected                 int
	// UsedSetsDeleted and NewSetsDeleted must be zero.
	UsedSetsDeleted, NewSetsDeleted int
	Problems                        []string
}

const (
	instance    = "ssoins-5c1e0a9b7d3f2468"
	instanceARN = "arn:aws:sso:::instance/" + instance
)

// now is when the pass runs; the domain's clock stands still during it.
var now = time.Date(2031, 3, 3, 9, 0, 0, 0, time.UTC)

func hexOf(parts ...any) string {
	h := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(h[:])
}

func setARN(id string) string { return "arn:aws:sso:::permissionSet/" + instance + "/ps-" + id[:16] }

// Run simulates one pass.
func Run(ctx context.Context, c Config) (Result, error) {
	if c.Tenants < 1 || c.ActiveGrants < c.Tenants || c.Overdue > c.ActiveGrants || c.UsersPerTenant < 1 || c.Accounts < 1 || c.TPS < 1 ||
		c.Consumers < 1 || c.Batch < 1 {
		return Result{}, fmt.Errorf("sweepscale: invalid configuration %+v", c)
	}
	rng := rand.New(rand.NewPCG(c.Seed, 7))
	clk := newSimClock(c.TPS, c.StoreLatency)
	sso := newSSOFake(c.TPS, clk)
	st := &store{Store: memstore.New(memstore.WithClock(func() time.Time { return now })), clk: clk}
	q := &queue{clk: clk}
	fl := &flow{starts: map[string]int{}, tick: st.tick}
	var problems []string
	ic := identitycenter.NewAWS(identitycenter.AWSConfig{
		SSOAdmin: sso, TPS: 1e9, // the pacing is in simulated time (simClock)
		Now: func() time.Time { return now },
	})
	ids := 0
	op := access.NewOperator(access.Config{
		Store: st, Workflow: fl, Scheduler: fl, IdentityCenter: ic, SweepQueue: q,
		SweepAuditUsers: access.SweepAuditUsersAt(float64(c.TPS)),
		Now:             func() time.Time { return now },
		NewID:           func() string { ids++; return uuidOf(hexOf("id", ids)) },
		Report:          func(_ context.Context, p access.Problem) { problems = append(problems, p.Message) },
	})

	// The operator's permission sets, which tenants may assign.
	catalog := local.DemoCatalog(instance)
	assignable := catalog.PermissionSets()
	for i, arn := range assignable {
		sso.addSet(arn, &permissionSet{name: fmt.Sprintf("Operator%d", i), created: now.AddDate(-1, 0, 0)})
	}
	for i := range 20 { // and some that are none of Elevate's business
		sso.addSet(setARN(hexOf("other", i)), &permissionSet{name: fmt.Sprintf("AWSOther%d", i), created: now.AddDate(-1, 0, 0)})
	}
	// The managed sets.
	used, unused := c.ManagedSets*4/5, c.ManagedSets-c.ManagedSets*4/5
	fresh := unused / 4
	managed := make([]string, c.ManagedSets)
	for i := range managed {
		id := hexOf("managed", i)
		managed[i] = setARN(id)
		created := now.AddDate(0, 0, -30)
		if i >= used && i < used+fresh {
			created = now.Add(-2 * time.Minute)
		}
		ps := &permissionSet{name: "elv-" + id[:28], managed: true, created: created}
		if i >= used {
			ps.accounts = []string{account(rng.IntN(c.Accounts))} // provisioned once, no assignment left
		}
		sso.addSet(managed[i], ps)
	}

	// Tenants, their users' active grants, the ledger and Identity Center.
	tenants := make([]string, c.Tenants)
	for i := range tenants {
		tenants[i] = uuidOf(hexOf("tenant", i))
		b := access.DefaultBoundary()
		b.InstanceARN, b.IdentityStoreID, b.AllowedRoots, b.Assignable = instanceARN, "d-9067a1b2c3", []string{"r-ab12"}, assignable
		t := access.Tenant{ID: tenants[i], Name: fmt.Sprintf("Tenant %d", i), Boundary: b, Settings: access.DefaultSettings(),
			Catalog: catalog, PolicyVersion: 1, Revision: 1, CreatedAt: now.AddDate(0, -1, 0), UpdatedAt: now.AddDate(0, -1, 0)}
		if err := st.Commit(ctx, access.Change{Tenants: []access.Tenant{t}}); err != nil {
			return Result{}, fmt.Errorf("tenant %d: %w", i, err)
		}
	}
	overdue := map[int]bool{}
	for _, i := range rng.Perm(c.ActiveGrants)[:c.Overdue] {
		overdue[i] = true
	}
	seen := map[access.AssignmentKey]bool{}
	for i := range c.ActiveGrants {
		ti := i % c.Tenants
		tenant := tenants[ti]
		var key access.AssignmentKey
		var g access.Grant
		for {
			user := rng.IntN(c.UsersPerTenant)
			g = access.Grant{ID: uuidOf(hexOf("grant", i)), TenantID: tenant, RequestID: uuidOf(hexOf("request", i)),
				GranteeID: fmt.Sprintf("user%d", user), GranteeUserID: uuidOf(hexOf("user", ti, user)), CreatedBy: fmt.Sprintf("user%d", user),
				PolicyVersion: 1, Status: access.GrantActive, DurationSeconds: 8 * 3600, Generation: 1, Revision: 1}
			acct := account(rng.IntN(c.Accounts))
			var ps string
			switch {
			case i < used: // every used managed set has a grant
				ps = managed[i]
			case rng.IntN(10) < 3:
				ps = managed[rng.IntN(used)]
			default:
				ps = assignable[rng.IntN(2)] // ReadOnly or Admin on an account
			}
			if slices.Contains(managed, ps) {
				g.Resource = access.Resource{Type: access.ResourceS3Bucket, ID: "bucket-" + hexOf(ps)[:12], AccountID: acct}
				g.Action = "read"
			} else {
				g.Resource, g.Action, g.PermissionSetARN = access.Resource{Type: access.ResourceAccount, ID: acct}, "ReadOnly", ps
			}
			key = access.AssignmentKey{InstanceARN: instanceARN, PrincipalID: g.GranteeUserID, AccountID: acct, PermissionSetARN: ps}
			if !seen[key] {
				break
			}
		}
		seen[key] = true
		began := now.Add(-time.Duration(1+rng.IntN(6*60)) * time.Minute)
		g.GrantedAt, g.CreatedAt, g.UpdatedAt = began, began, began
		g.ExpiresAt = now.Add(time.Duration(5+rng.IntN(8*60)) * time.Minute)
		if overdue[i] {
			g.ExpiresAt = now.Add(-time.Duration(2+rng.IntN(60)) * time.Minute) // its schedule was lost
		}
		g.Assignments = []access.Assignment{{InstanceARN: instanceARN, PrincipalID: key.PrincipalID, AccountID: key.AccountID,
			PermissionSetARN: key.PermissionSetARN, State: access.AssignmentActive}}
		e := access.LedgerEntry{Key: key, State: access.LedgerActive, Holders: []access.Holder{{TenantID: tenant, GrantID: g.ID}},
			Revision: 1, CreatedAt: began, UpdatedAt: began}
		tp := access.TouchedPrincipal{InstanceARN: instanceARN, UserID: key.PrincipalID, ExpiresAt: now.Add(30 * 24 * time.Hour)}
		if err := st.Commit(ctx, access.Change{Grants: []access.Grant{g}, Ledger: []access.LedgerEntry{e}, Touched: []access.TouchedPrincipal{tp}}); err != nil {
			return Result{}, fmt.Errorf("grant %d: %w", i, err)
		}
		sso.assign(key)
	}

	// The pass: the sweeper, then the queue's consumers.
	st.counting = true
	rep, err := op.Sweep(ctx)
	st.counting = false
	if err != nil {
		return Result{}, fmt.Errorf("sweep: %w", err)
	}
	sweeperEnd := clk.Now()
	free := make([]time.Duration, c.Consumers) // when each consumer is next free
	found := 0
	tenantProblems := 0
	var pending []string
	var pendingAt time.Duration
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		i := slices.Index(free, slices.Min(free))
		at := max(free[i], pendingAt)
		for _, id := range pending {
			var calls int
			st.tenant = &calls
			trep, err := op.SweepTenant(ctx, id)
			st.tenant = nil
			if err != nil {
				return err
			}
			found += trep.GrantsExpired
			tenantProblems += len(trep.Problems)
			problems = append(problems, trep.Problems...)
			at += time.Duration(calls) * c.StoreLatency
		}
		free[i], pending = at, nil
		return nil
	}
	for _, b := range q.batches { // SQS batches the consumers' receives
		for _, id := range b.ids {
			pending, pendingAt = append(pending, id), b.at
			if len(pending) == c.Batch {
				if err := flush(); err != nil {
					return Result{}, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return Result{}, err
	}
	tenantsEnd := slices.Max(free)

	d := Detail{SweeperSeconds: sweeperEnd.Seconds(), TenantSeconds: tenantsEnd.Seconds(), MaxCallsPerSecond: sso.maxPerSecond(),
		Throttled: sso.throttled, CallsByMethod: sso.byMethod, TableCalls: st.calls, UsersAudited: rep.UsersAudited,
		UsersToAudit: rep.UsersToAudit, SetsCollected: rep.PermissionSetsGone, Problems: append(rep.Problems, problems...)}
	for _, arn := range sso.deletedSets {
		i := slices.Index(managed, arn)
		switch {
		case i < 0 || i < used:
			d.UsedSetsDeleted++
		case i < used+fresh:
			d.NewSetsDeleted++
		}
	}
	return Result{
		Tenants: c.Tenants, ActiveGrants: c.ActiveGrants, IdentityCenterCalls: sso.calls,
		SimulatedSeconds: max(sweeperEnd, tenantsEnd).Round(time.Millisecond).Seconds(),
		OverdueFound:     found, OverduePlanted: c.Overdue, Detail: d,
	}, nil
}

func account(i int) string { return fmt.Sprintf("%012d", 100000000000+i) }

// uuidOf formats 32 hex digits as a UUID.
func uuidOf(h string) string {
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}
