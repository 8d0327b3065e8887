package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"); without
// it, the module version or VCS revision the Go toolchain recorded is used.
var version string

// versionCmd prints the build's version, Go version and platform.
func versionCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", stderr)
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() != 0 {
		return usageError(stderr, "version", "takes no arguments")
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintf(stdout, "elevate %s (%s %s/%s)\n", buildVersion(version, info), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}

// buildVersion picks the most precise version known: the link-time one, the
// module version, the VCS revision (with "+dirty" for uncommitted changes),
// or "devel".
func buildVersion(linked string, info *debug.BuildInfo) string {
	if linked != "" {
		return linked
	}
	if info == nil {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			rev = s.Value[:12]
		case s.Key == "vcs.revision":
			rev = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+dirty"
		}
	}
	if rev == "" {
		return "devel"
	}
	return "devel-" + rev + dirty
}
