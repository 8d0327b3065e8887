// Command gen writes functions/<name>/main.go for every function of the
// deployment contract (deploy.Functions), each importing the providers of
// its needs only (package needs). Run it with
// `go generate ./internal/function/needs`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function/needs"
)

func main() {
	out := flag.String("out", "functions", "the functions directory")
	flag.Parse()
	for _, fn := range deploy.Functions {
		src, err := needs.Main(fn)
		if err == nil {
			dir := filepath.Join(*out, fn.Name)
			if err = os.MkdirAll(dir, 0o755); err == nil {
				err = os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644)
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "gen: %s: %v\n", fn.Name, err)
			os.Exit(1)
		}
	}
}
