//go:build unix

package motoserver_test

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/elevate-jit/elevate/internal/motoserver"
)

func TestMain(m *testing.M) { motoserver.Main(m) }

// TestStart starts a server of its own, uses it through the SDK, resets it,
// and checks that stopping it leaves no process behind.
func TestStart(t *testing.T) {
	s := motoserver.Start(t)
	ctx := t.Context()
	db := dynamodb.NewFromConfig(s.AWSConfig())
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("motoserver-test"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("PK"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("PK"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v\n%s", err, s.Output())
	}
	if got := tables(t, db); len(got) != 1 || got[0] != "motoserver-test" {
		t.Fatalf("tables = %v, want [motoserver-test]", got)
	}
	s.Reset(t)
	if got := tables(t, db); len(got) != 0 {
		t.Fatalf("tables after Reset = %v, want none", got)
	}

	pid := processID(t, s)
	s.Stop()
	s.Stop() // a second stop is harmless
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("moto process %d still exists after Stop (signal 0: %v)", pid, err)
	}
	if _, err := http.Get(s.URL + "/moto-api/"); err == nil {
		t.Errorf("the server still answers after Stop")
	}
}

// TestShared checks that Shared hands out one server.
func TestShared(t *testing.T) {
	a, b := motoserver.Shared(t), motoserver.Shared(t)
	if a != b {
		t.Fatalf("Shared returned two servers: %s and %s", a.URL, b.URL)
	}
	res, err := http.Get(a.URL + "/moto-api/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /moto-api/: %d", res.StatusCode)
	}
}

// TestUnavailableServer checks what a test sees without a working
// moto_server: a skip that says how to install it, a failure under CI, and
// the server's own output when it fails to start.
func TestUnavailableServer(t *testing.T) {
	if os.Getenv("MOTOSERVER_CHILD") == "1" {
		motoserver.StartWith(t, motoserver.Options{Patched: os.Getenv("MOTOSERVER_PATCHED") == "1"})
		return
	}
	empty, broken, noMoto := t.TempDir(), t.TempDir(), t.TempDir()
	script := "#!/bin/sh\necho 'moto_server: error: port is cursed' >&2\nexit 3\n"
	if err := os.WriteFile(broken+"/moto_server", []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken+"/python3", []byte(strings.ReplaceAll(script, "exit 3", "exit 1")), 0o755); err != nil {
		t.Fatal(err)
	}
	// What launcher.py does when moto is not installed for python3.
	script = "#!/bin/sh\ncat >/dev/null\necho 'launcher: moto is not installed for python3' >&2\nexit 3\n"
	if err := os.WriteFile(noMoto+"/python3", []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, ci string
		patched        bool
		pass           bool
		want           []string
	}{
		{"not installed", empty, "", false, true, []string{"--- SKIP", "pip install 'moto[server]'"}},
		{"not installed under CI", empty, "true", false, false, []string{"--- FAIL", "pip install 'moto[server]'"}},
		{"fails to start", broken, "", false, false, []string{"--- FAIL", "exited before answering", "port is cursed"}},
		{"patched without python", empty, "", true, true, []string{"--- SKIP", "python3 is not on PATH", "pip install 'moto[server]'"}},
		{"patched without moto", noMoto, "", true, true, []string{"--- SKIP", "moto is not installed for python3"}},
		{"patched without moto under CI", noMoto, "true", true, false, []string{"--- FAIL", "moto is not installed for python3"}},
		{"patched fails to start", broken, "", true, false, []string{"--- FAIL", "python3 launcher.py exited before answering", "port is cursed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestUnavailableServer$", "-test.v")
			cmd.Env = []string{"MOTOSERVER_CHILD=1", "PATH=" + tc.path, "HOME=" + os.Getenv("HOME")}
			if tc.patched {
				cmd.Env = append(cmd.Env, "MOTOSERVER_PATCHED=1")
			}
			if tc.ci != "" {
				cmd.Env = append(cmd.Env, "CI="+tc.ci)
			}
			out, err := cmd.CombinedOutput()
			if (err == nil) != tc.pass {
				t.Errorf("child test error %v; want passing %v", err, tc.pass)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func tables(t *testing.T, db *dynamodb.Client) []string {
	t.Helper()
	out, err := db.ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	return out.TableNames
}

func processID(t *testing.T, s *motoserver.Server) int {
	t.Helper()
	pid, ok := motoserver.PID(s)
	if !ok {
		t.Fatal("the server has no process")
	}
	return pid
}
