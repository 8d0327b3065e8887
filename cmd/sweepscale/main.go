// Command sweepscale simulates one full sweep of a large deployment against
// an Identity Center fake that enforces 20 calls per second
// (internal/sweepscale). make sweep-scale runs it; its last line is one JSON
// object with the pass's figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/elevate-jit/elevate/internal/sweepscale"
)

func main() {
	c := sweepscale.Default()
	flag.IntVar(&c.Tenants, "tenants", c.Tenants, "tenants (N)")
	flag.IntVar(&c.ActiveGrants, "grants", c.ActiveGrants, "active grants in all (M)")
	flag.IntVar(&c.ManagedSets, "managed-sets", c.ManagedSets, "Elevate-managed permission sets (K)")
	flag.IntVar(&c.Overdue, "overdue", c.Overdue, "active grants planted past their end")
	flag.Uint64Var(&c.Seed, "seed", c.Seed, "random seed")
	flag.Parse()

	began := time.Now()
	r, err := sweepscale.Run(context.Background(), c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sweep-scale:", err)
		os.Exit(1)
	}
	d := r.Detail
	fmt.Printf("%d tenants, %d active grants, %d managed permission sets, %d overdue grants planted\n",
		c.Tenants, c.ActiveGrants, c.ManagedSets, c.Overdue)
	fmt.Printf("sweeper %.1f s simulated (queueing, ledger, collection, audit); tenants swept by %.1f s on %d consumers\n",
		d.SweeperSeconds, d.TenantSeconds, c.Consumers)
	fmt.Printf("Identity Center: %d calls, at most %d in one simulated second (limit %d), %d throttled\n",
		r.IdentityCenterCalls, d.MaxCallsPerSecond, c.TPS, d.Throttled)
	methods := make([]string, 0, len(d.CallsByMethod))
	for m := range d.CallsByMethod {
		methods = append(methods, m)
	}
	slices.Sort(methods)
	for _, m := range methods {
		fmt.Printf("  %-40s %6d\n", m, d.CallsByMethod[m])
	}
	fmt.Printf("table and queue calls: %d (%v each)\n", d.TableCalls, c.StoreLatency)
	fmt.Printf("audit: %d of %d users this pass (the next pass goes on from there)\n", d.UsersAudited, d.UsersToAudit)
	fmt.Printf("managed permission sets collected: %d; used ones deleted: %d; new ones deleted: %d\n",
		d.SetsCollected, d.UsedSetsDeleted, d.NewSetsDeleted)
	if len(d.Problems) > 0 {
		fmt.Printf("problems: %d, first: %s\n", len(d.Problems), d.Problems[0])
	}
	fmt.Printf("real time: %v\n", time.Since(began).Round(time.Millisecond))
	line, _ := json.Marshal(r)
	fmt.Println(string(line))
	if r.OverdueFound != r.OverduePlanted || d.Throttled > 0 || d.UsedSetsDeleted+d.NewSetsDeleted > 0 || len(d.Problems) > 0 {
		os.Exit(1)
	}
}
