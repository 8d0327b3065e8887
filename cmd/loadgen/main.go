// Command loadgen puts a reproducible load on Elevate's API and reports
// throughput and latency percentiles per operation. By default it starts a
// local Elevate in-process on the embedded store (the same wiring as
// `elevate serve`) and drives it over loopback HTTP; with -url and -demo it
// drives a running server instead.
//
//	go run ./cmd/loadgen -duration 10s -concurrency 8
//
// With -flood N it measures tenant isolation instead: the first demo
// tenant's clients make a paced mix of calls, first alone and then while N
// clients of the second tenant call as fast as they can; the in-process
// server runs with the deployment's default rate limits (10 calls a second
// per caller, 50 per tenant). The quiet tenant's percentiles should not
// move.
//
//	go run ./cmd/loadgen -flood 16 -concurrency 2 -duration 10s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
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
	flood := flag.Int("flood", 0, "clients of a second tenant calling as fast as they can; the first tenant's clients are then paced")
	quietRate := flag.Float64("quiet-rate", 4, "with -flood: calls a second each of the first tenant's clients makes")
	floodRate := flag.Float64("flood-rate", 500, "with -flood: calls a second of all flood clients together (500: what the stage throttle lets through; 0: as fast as they can)")
	flag.Parse()
	var err error
	if *flood > 0 {
		err = runFlood(*url, *demoFile, *duration, *concurrency, *flood, *quietRate, *floodRate, *seed)
	} else {
		err = run(*url, *demoFile, *duration, *concurrency, *seed)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// target is the server under load and a demo tenant's keys.
type target struct {
	base   string
	tenant local.DemoTenant
	client *http.Client
}

// recorder collects the latency of each call by operation, and the calls
// that did not get the answer they wanted.
type recorder struct {
	mu      sync.Mutex
	samples map[string][]time.Duration
	errs    map[string]int
}

func newRecorder() *recorder {
	return &recorder{samples: map[string][]time.Duration{}, errs: map[string]int{}}
}

func (r *recorder) record(op string, d time.Duration, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples[op] = append(r.samples[op], d)
	if !ok {
		r.errs[op]++
	}
}

// print writes the table of operations; it reports whether any call failed.
func (r *recorder) print(duration time.Duration) (failed bool) {
	ops := slices.Sorted(maps.Keys(r.samples))
	fmt.Printf("%-16s %8s %9s %9s %9s %9s %7s\n", "operation", "count", "per sec", "p50", "p95", "p99", "errors")
	var all []time.Duration
	for _, op := range ops {
		s := r.samples[op]
		slices.Sort(s)
		all = append(all, s...)
		fmt.Printf("%-16s %8d %9.0f %9s %9s %9s %7d\n", op, len(s), float64(len(s))/duration.Seconds(),
			pct(s, 50), pct(s, 95), pct(s, 99), r.errs[op])
		failed = failed || r.errs[op] > 0
	}
	slices.Sort(all)
	fmt.Printf("%-16s %8d %9.0f %9s %9s %9s\n", "all", len(all), float64(len(all))/duration.Seconds(), pct(all, 50), pct(all, 95), pct(all, 99))
	return failed
}

// runFlood measures the first tenant's paced clients alone, then while the
// second tenant's flood clients call as fast as they can.
func runFlood(url, demoFile string, duration time.Duration, quiet, flood int, quietRate, floodRate float64, seed uint64) error {
	targets, stop, err := connectAll(url, demoFile, true)
	if err != nil {
		return err
	}
	defer stop()
	if len(targets) < 2 {
		return fmt.Errorf("-flood needs two demo tenants")
	}
	q, f := targets[0], targets[1]
	phase := func(withFlood bool) (*recorder, *recorder) {
		rq, rf := newRecorder(), newRecorder()
		ctx, cancel := context.WithTimeout(context.Background(), duration)
		defer cancel()
		var wg sync.WaitGroup
		for i := range quiet {
			wg.Go(func() {
				q.client1(ctx, rand.New(rand.NewPCG(seed, uint64(i))), rq.record, time.Duration(float64(time.Second)/quietRate))
			})
		}
		if withFlood {
			for i := range flood {
				wg.Go(func() { f.flood(ctx, i, rf, every(floodRate/float64(flood))) })
			}
		}
		wg.Wait()
		return rq, rf
	}
	fmt.Printf("isolation: %d clients of tenant %q at %.0f calls a second each, %s a phase, against %s\n", quiet, q.tenant.Name, quietRate, duration, q.base)
	fmt.Printf("\n%s alone:\n", q.tenant.Name)
	alone, _ := phase(false)
	failed := alone.print(duration)
	fmt.Printf("\n%s while %d clients of %q flood (%.0f calls a second in all; 0 is as fast as they can):\n", q.tenant.Name, flood, f.tenant.Name, floodRate)
	flooded, fl := phase(true)
	failed = flooded.print(duration) || failed
	fmt.Printf("\nflood (%s): answered 200 or 429 rate_limited:\n", f.tenant.Name)
	fl.print(duration)
	if failed {
		return fmt.Errorf("some of the quiet tenant's calls failed")
	}
	return nil
}

// every is the pause between calls at rate calls a second; 0 for none.
func every(rate float64) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / rate)
}

// paced waits for the next of a client's calls, one every pace; it reports
// false when ctx ends first.
func paced(ctx context.Context, next *time.Time, pace time.Duration) bool {
	if pace <= 0 {
		return ctx.Err() == nil
	}
	*next = next.Add(pace)
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Until(*next)):
		return true
	}
}

// flood calls with one of the tenant's keys, one call every pace, and
// counts a 429 rate_limited as an answer it expects.
func (t *target) flood(ctx context.Context, i int, r *recorder, pace time.Duration) {
	k := t.tenant.Keys
	key := []string{k.Requester, k.Requester2, k.Approver, k.Admin}[i%4]
	next := time.Now()
	for paced(ctx, &next, pace) {
		start := time.Now()
		status, err := t.do(ctx, http.MethodGet, "/v1/requests?limit=50", key, "", nil)
		if ctx.Err() != nil {
			return
		}
		op := "flood-200"
		if status == http.StatusTooManyRequests {
			op = "flood-429"
		}
		r.record(op, time.Since(start), err == nil && (status == http.StatusOK || status == http.StatusTooManyRequests))
	}
}

func run(url, demoFile string, duration time.Duration, concurrency int, seed uint64) error {
	targets, stop, err := connectAll(url, demoFile, false)
	if err != nil {
		return err
	}
	defer stop()
	t := targets[0]
	fmt.Printf("load: %d clients for %s against %s\n\n", concurrency, duration, t.base)
	r := newRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Go(func() { t.client1(ctx, rand.New(rand.NewPCG(seed, uint64(i))), r.record, 0) })
	}
	wg.Wait()
	if r.print(duration) {
		return fmt.Errorf("some calls failed")
	}
	return nil
}

// client1 is one client: a mix of creates, reads, lists and approvals, one
// call every pace (as fast as it can when pace is 0).
func (t *target) client1(ctx context.Context, rnd *rand.Rand, record func(string, time.Duration, bool), pace time.Duration) {
	k := t.tenant.Keys
	var pending []string
	next := time.Now()
	for paced(ctx, &next, pace) {
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
	start := time.Now()
	status, err := t.do(ctx, method, path, key, body, out)
	if ctx.Err() != nil {
		return false
	}
	ok := err == nil && status == want
	record(op, time.Since(start), ok)
	return ok
}

// do makes one call as the holder of key; out, when not nil, receives a
// successful answer.
func (t *target) do(ctx context.Context, method, path, key, body string, out any) (int, error) {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Tenant-ID", t.tenant.ID)
	req.Header.Set("X-API-Key", key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && out != nil && res.StatusCode < 300 {
		err = json.Unmarshal(b, out)
	}
	return res.StatusCode, err
}

// connectAll starts an in-process Elevate (with the deployment's default
// rate limits when limited), or uses the one at url; it returns a target
// per demo tenant.
func connectAll(url, demoFile string, limited bool) ([]*target, func(), error) {
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
		return targetsOf(url, d, client), func() {}, nil
	}
	sealer, err := cursor.New(cursor.Key{ID: "load", Secret: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		return nil, nil, err
	}
	c := local.Config{Cursors: sealer, Logger: slog.New(slog.DiscardHandler), ProtectedAccounts: []string{local.DemoProtectedAccount}}
	if limited {
		c.RateLimit, c.TenantRateLimit = 10, 50 // the deployment's defaults
	}
	elevate := local.New(c)
	d, err := local.SeedDemo(context.Background(), elevate.Operator, elevate.IdentityCenter)
	if err != nil {
		return nil, nil, err
	}
	srv := httptest.NewServer(elevate.Handler)
	return targetsOf(srv.URL, d, client), func() { srv.Close(); elevate.Close() }, nil
}

func targetsOf(base string, d local.Demo, client *http.Client) []*target {
	var out []*target
	for _, t := range d.Tenants {
		out = append(out, &target{base: base, tenant: t, client: client})
	}
	return out
}

func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	d := sorted[min(len(sorted)-1, len(sorted)*p/100)]
	return d.Round(10 * time.Microsecond).String()
}
