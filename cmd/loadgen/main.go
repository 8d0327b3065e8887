// Command loadgen puts a reproducible load on Elevate's API and reports
// throughput and latency percentiles per operation. By default it starts a
// local Elevate in-process on the embedded store (the same wiring as
// `elevate serve`) and drives it over loopback HTTP; with -url and -demo it
// drives a running server instead.
//
//	go run ./cmd/loadgen -duration 10s -concurrency 8
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/local"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long to run")
	concurrency := flag.Int("concurrency", 8, "concurrent clients")
	url := flag.String("url", "", "base URL of a running Elevate (default: start one in-process)")
	demoFile := flag.String("demo", "", "the --demo-out file of the running Elevate (with -url)")
	seed := flag.Uint64("seed", 1, "random seed of the operation mix")
	flag.Parse()
	if err := run(*url, *demoFile, *duration, *concurrency, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// target is the server under load and the demo tenant's keys.
type target struct {
	base   string
	tenant local.DemoTenant
	client *http.Client
}

func run(url, demoFile string, duration time.Duration, concurrency int, seed uint64) error {
	t, stop, err := connect(url, demoFile)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Printf("load: %d clients for %s against %s\n", concurrency, duration, t.base)

	var (
		mu      sync.Mutex
		samples = map[string][]time.Duration{}
		errs    = map[string]int{}
	)
	record := func(op string, d time.Duration, ok bool) {
		mu.Lock()
		defer mu.Unlock()
		samples[op] = append(samples[op], d)
		if !ok {
			errs[op]++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Go(func() { t.client1(ctx, rand.New(rand.NewPCG(seed, uint64(i))), record) })
	}
	wg.Wait()

	ops := make([]string, 0, len(samples))
	for op := range samples {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	fmt.Printf("\n%-16s %8s %9s %9s %9s %9s %7s\n", "operation", "count", "per sec", "p50", "p95", "p99", "errors")
	total := 0
	for _, op := range ops {
		s := samples[op]
		slices.Sort(s)
		total += len(s)
		fmt.Printf("%-16s %8d %9.0f %9s %9s %9s %7d\n", op, len(s), float64(len(s))/duration.Seconds(),
			pct(s, 50), pct(s, 95), pct(s, 99), errs[op])
	}
	fmt.Printf("%-16s %8d %9.0f\n", "all", total, float64(total)/duration.Seconds())
	for _, n := range errs {
		if n > 0 {
			return fmt.Errorf("some calls failed")
		}
	}
	return nil
}

// client1 is one client: a mix of creates, reads, lists and approvals.
func (t *target) client1(ctx context.Context, rnd *rand.Rand, record func(string, time.Duration, bool)) {
	k := t.tenant.Keys
	var pending []string
	for ctx.Err() == nil {
		switch n := rnd.IntN(100); {
		case n < 25:
			body := fmt.Sprintf(`{"resource":{"type":"aws_account","id":"210987654321"},"action":"Admin","duration_seconds":%d,"justification":"load test"}`, 600+rnd.IntN(3000))
			var r struct {
				ID string `json:"id"`
			}
			if t.call(ctx, "create", http.MethodPost, "/v1/requests", k.Requester2, body, http.StatusCreated, &r, record) {
				pending = append(pending, r.ID)
			}
		case n < 35 && len(pending) > 0:
			id := pending[len(pending)-1]
			pending = pending[:len(pending)-1]
			t.call(ctx, "approve", http.MethodPost, "/v1/requests/"+id+"/approve", k.Approver, `{"reasoning":"ok"}`, http.StatusOK, nil, record)
		case n < 60 && len(pending) > 0:
			t.call(ctx, "get", http.MethodGet, "/v1/requests/"+pending[rnd.IntN(len(pending))], k.Requester2, "", http.StatusOK, nil, record)
		case n < 80:
			t.call(ctx, "list-requests", http.MethodGet, "/v1/requests?limit=50", k.Requester2, "", http.StatusOK, nil, record)
		default:
			t.call(ctx, "list-grants", http.MethodGet, "/v1/grants?limit=50", k.Admin, "", http.StatusOK, nil, record)
		}
	}
}

// call makes one call and records its latency; it reports success.
func (t *target) call(ctx context.Context, op, method, path, key, body string, want int, out any, record func(string, time.Duration, bool)) bool {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, rd)
	if err != nil {
		return false
	}
	req.Header.Set("X-Tenant-ID", t.tenant.ID)
	req.Header.Set("X-API-Key", key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	res, err := t.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			record(op, time.Since(start), false)
		}
		return false
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	ok := res.StatusCode == want
	if ok && out != nil {
		ok = json.Unmarshal(b, out) == nil
	}
	record(op, time.Since(start), ok)
	return ok
}

// connect starts an in-process Elevate, or uses the one at url.
func connect(url, demoFile string) (*target, func(), error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	if url != "" {
		b, err := os.ReadFile(demoFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-url needs -demo (the server's --demo-out file): %w", err)
		}
		var d local.Demo
		if err := json.Unmarshal(b, &d); err != nil || len(d.Tenants) == 0 {
			return nil, nil, fmt.Errorf("%s is not a demo file", demoFile)
		}
		return &target{base: url, tenant: d.Tenants[0], client: client}, func() {}, nil
	}
	sealer, err := cursor.New(cursor.Key{ID: "load", Secret: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		return nil, nil, err
	}
	elevate := local.New(local.Config{Cursors: sealer, Logger: slog.New(slog.DiscardHandler), ProtectedAccounts: []string{local.DemoProtectedAccount}})
	d, err := local.SeedDemo(context.Background(), elevate.Operator, elevate.IdentityCenter)
	if err != nil {
		return nil, nil, err
	}
	srv := httptest.NewServer(elevate.Handler)
	return &target{base: srv.URL, tenant: d.Tenants[0], client: client}, func() { srv.Close(); elevate.Close() }, nil
}

func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	d := sorted[min(len(sorted)-1, len(sorted)*p/100)]
	return d.Round(10 * time.Microsecond).String()
}
