package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/elevate-jit/elevate/internal/cursor"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/local"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", stderr)
	addr := fs.String("addr", "127.0.0.1", "address to listen on")
	port := fs.Int("port", 8080, "port to listen on (0 picks a free one)")
	demo := fs.Bool("demo", true, "seed two demo tenants with API keys and print them; on --store dynamodb only when given explicitly")
	demoOut := fs.String("demo-out", "", "also write the demo tenants and keys as JSON to this file")
	keyFile := fs.String("cursor-key-file", ".elevate/cursor-keys", "file holding the cursor-sealing keys (id:base64,...); created if missing; ELEVATE_CURSOR_KEYS overrides it")
	protected := fs.String("protected-accounts", local.DemoProtectedAccount, "comma-separated account ids no grant may target")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	rateLimit := fs.Float64("rate-limit", 50, "calls a second each caller may make; 0 turns limiting off")
	tenantRateLimit := fs.Float64("tenant-rate-limit", 0, "calls a second all callers of one tenant may make together (default five times --rate-limit)")
	var sc local.StoreConfig
	storeFlags(fs, &sc)
	sweepEvery := fs.Duration("sweep-every", time.Minute, "run the sweeper (lost expiries, stuck grants, stale requests) this often; 0 turns it off")
	privateJWKS := fs.Bool("allow-private-jwks", false, "let tenants' JWKS URLs name loopback or private hosts (a local identity provider); never in production")
	jwksHosts := fs.String("jwks-allowed-hosts", "", "comma-separated identity provider hosts tenants' JWKS URLs may name (default: any public host)")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	// A lasting store may be a deployment's table: never plant demo tenants
	// and admin keys there unless asked to.
	if sc.Kind == "dynamodb" && !flagGiven(fs, "demo") {
		*demo = false
	}
	if *demoOut != "" && !*demo {
		return usageError(stderr, "serve", "--demo-out writes the demo keys, but no demo is seeded (with --store dynamodb, give --demo)")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "elevate serve: -log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	sealer, err := cursorKeys(*keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "elevate serve: cursor keys: %v\n", err)
		return 1
	}
	store, err := local.OpenStore(ctx, sc)
	if err != nil {
		fmt.Fprintf(stderr, "elevate serve: %v\n", err)
		return 1
	}
	elevate := local.New(local.Config{Store: store, Cursors: sealer, Logger: log, ProtectedAccounts: deploy.SplitList(*protected), SweepEvery: *sweepEvery, RateLimit: *rateLimit, TenantRateLimit: *tenantRateLimit,
		AllowPrivateJWKS: *privateJWKS, JWKSHosts: deploy.SplitList(*jwksHosts)})
	defer elevate.Close()

	ln, err := net.Listen("tcp", net.JoinHostPort(*addr, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintf(stderr, "elevate serve: %v\n", err)
		return 1
	}
	base := "http://" + ln.Addr().String()
	if *demo {
		d, err := local.SeedDemo(ctx, elevate.Operator, elevate.IdentityCenter)
		if err != nil {
			fmt.Fprintf(stderr, "elevate serve: %v\n", err)
			return 1
		}
		if *demoOut != "" {
			if err := writeJSONFile(*demoOut, d); err != nil {
				fmt.Fprintf(stderr, "elevate serve: -demo-out: %v\n", err)
				return 1
			}
		}
		printDemo(stdout, base, d)
	} else {
		fmt.Fprintln(stdout, "No demo tenants seeded (give --demo to seed them); create tenants with elevate tenant create.")
	}
	fmt.Fprintf(stdout, "Elevate is listening on %s (Ctrl-C to stop); the console is at %s/\n", base, base)

	srv := &http.Server{Handler: elevate.Web, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "elevate serve: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "elevate serve: shutdown: %v\n", err)
		return 1
	}
	return 0
}

// cursorKeys loads the cursor-sealing keys from ELEVATE_CURSOR_KEYS or a
// file, creating the file with a new random key the first time. The key
// outlives the process, so cursors stay valid across restarts.
func cursorKeys(path string) (*cursor.Sealer, error) {
	if env := os.Getenv("ELEVATE_CURSOR_KEYS"); env != "" {
		return cursor.ParseKeys(env)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		b = []byte("local-" + time.Now().UTC().Format("20060102") + ":" + base64.StdEncoding.EncodeToString(secret) + "\n")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return cursor.ParseKeys(strings.TrimSpace(string(b)))
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// printDemo prints the demo tenants, their keys and curl examples that work
// as pasted.
func printDemo(w io.Writer, base string, d local.Demo) {
	fmt.Fprintln(w, "Demo tenants (keys are new on every start; --demo-out writes them as JSON):")
	for _, t := range d.Tenants {
		fmt.Fprintf(w, "\n  %s  tenant id %s\n", t.Name, t.ID)
		fmt.Fprintf(w, "    admin       %-6s %s\n", local.DemoAdmin.ID, t.Keys.Admin)
		fmt.Fprintf(w, "    approver    %-6s %s\n", local.DemoApprover.ID, t.Keys.Approver)
		fmt.Fprintf(w, "    requester   %-6s %s   (on call: may break glass)\n", local.DemoRequester.ID, t.Keys.Requester)
		fmt.Fprintf(w, "    requester2  %-6s %s\n", local.DemoRequester2.ID, t.Keys.Requester2)
	}
	t := d.Tenants[0]
	fmt.Fprintf(w, `
Try it (paste into another shell):

  export ELEVATE=%s T=%s
  export ALICE=%s BOB=%s CAROL=%s ADA=%s

  # alice asks for read-only access to an account for an hour: approved automatically
  curl -s $ELEVATE/v1/requests -H "X-Tenant-ID: $T" -H "X-API-Key: $ALICE" -H 'Content-Type: application/json' \
    -d '{"resource":{"type":"aws_account","id":"123456789012"},"action":"ReadOnly","duration_seconds":3600,"justification":"Investigate INC-123"}'

  # bob asks for admin: it waits for an approver; carol sees it in her inbox
  curl -s $ELEVATE/v1/requests -H "X-Tenant-ID: $T" -H "X-API-Key: $BOB" -H 'Content-Type: application/json' \
    -d '{"resource":{"type":"aws_account","id":"210987654321"},"action":"Admin","duration_seconds":1800,"justification":"Rotate the KMS key"}'
  curl -s $ELEVATE/v1/approvals/pending -H "X-Tenant-ID: $T" -H "X-API-Key: $CAROL"

  # a protected account is refused whatever the policies say
  curl -s $ELEVATE/v1/requests -H "X-Tenant-ID: $T" -H "X-API-Key: $ALICE" -H 'Content-Type: application/json' \
    -d '{"resource":{"type":"aws_account","id":"%s"},"action":"ReadOnly","duration_seconds":600,"justification":"Look around"}'

  # grants and the audit trail
  curl -s $ELEVATE/v1/grants -H "X-Tenant-ID: $T" -H "X-API-Key: $ALICE"
  curl -s $ELEVATE/v1/audit-events -H "X-Tenant-ID: $T" -H "X-API-Key: $ADA"

`, base, t.ID, t.Keys.Requester, t.Keys.Requester2, t.Keys.Approver, t.Keys.Admin, local.DemoProtectedAccount)
}
