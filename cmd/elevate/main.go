// Command elevate is Elevate's operator tool: it runs the local server,
// validates and tests Cedar policy sets, and creates tenants and keys in a
// deployment's table.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// command is one subcommand as help shows it.
type command struct {
	name    string // "serve", "tenant create"
	args    string // what follows the name, "[flags]" or "FILE"
	summary string // one line: what the command does
}

// commands are elevate's subcommands, in the order help lists them.
var commands = []command{
	{"serve", "[flags]", "run the API locally on an embedded store (or a DynamoDB table)"},
	{"policy validate", "FILE", "check a Cedar policy set against Elevate's schema"},
	{"policy test", "FILE CASES.json", "run a table of requests against a policy set; exit 1 on a mismatch"},
	{"policy backtest", "FILE", "replay a deployment's recorded requests under a draft policy set (-fail-on-change for CI)"},
	{"policy schema", "", "print Elevate's Cedar schema"},
	{"policy default", "", "print the default policy set of new tenants"},
	{"tenant create", "[flags]", "create a tenant and its first admin key in a DynamoDB table"},
	{"tenant update", "[flags]", "change a tenant's boundary (only the flags given; audited)"},
	{"tenant show", "[flags]", "print a tenant's boundary and settings as JSON"},
	{"apikey create", "[flags]", "create an API key for a user or service principal of a tenant; printed once"},
	{"version", "", "print the version of this build"},
	{"help", "[COMMAND]", "show this help, or a command's"},
}

// groups describe the commands that take a subcommand.
var groups = map[string]string{
	"policy": "check and test Cedar policy sets before uploading them",
	"tenant": "create tenants and keep their boundaries (the operator's; the API cannot change them)",
	"apikey": "create API keys directly in a deployment's table",
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if _, group := groups[name]; group && len(args) > 1 && !isHelp(args[1]) {
		name += " " + args[1]
	}
	rest := args[min(len(strings.Fields(name)), len(args)):]
	switch name {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "policy validate":
		return policyValidate(rest, stdout, stderr)
	case "policy test":
		return policyTest(rest, stdout, stderr)
	case "policy backtest":
		return policyBacktest(ctx, rest, stdout, stderr)
	case "policy schema", "policy default":
		return policyPrint(name, rest, stdout, stderr)
	case "tenant create":
		return tenantCreate(ctx, rest, stdout, stderr)
	case "tenant update":
		return tenantUpdate(ctx, rest, stdout, stderr)
	case "tenant show":
		return tenantShow(ctx, rest, stdout, stderr)
	case "apikey create":
		return apikeyCreate(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		return versionCmd(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		return helpCmd(ctx, rest, stdout, stderr)
	case "policy", "tenant", "apikey":
		if len(rest) > 0 && isHelp(rest[0]) {
			groupUsage(stdout, name)
			return 0
		}
		groupUsage(stderr, name)
		return 2
	}
	if _, group := groups[args[0]]; group {
		fmt.Fprintf(stderr, "elevate: unknown command %q\n\n", args[0]+" "+args[1])
		groupUsage(stderr, args[0])
		return 2
	}
	fmt.Fprintf(stderr, "elevate: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// usage lists every command with one line each.
func usage(w io.Writer) {
	fmt.Fprint(w, "elevate: just-in-time access to AWS\n\nUsage:\n")
	listCommands(w, "")
	fmt.Fprint(w, "\nRun \"elevate <command> -h\" for a command's flags.\n")
}

// groupUsage lists the commands of a group such as "tenant".
func groupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "elevate %s: %s\n\nUsage:\n", group, groups[group])
	listCommands(w, group+" ")
	fmt.Fprintf(w, "\nRun \"elevate %s <command> -h\" for a command's flags.\n", group)
}

func listCommands(w io.Writer, prefix string) {
	width := 0
	for _, c := range commands {
		width = max(width, len(c.name)+1+len(c.args))
	}
	for _, c := range commands {
		if strings.HasPrefix(c.name, prefix) {
			fmt.Fprintf(w, "  elevate %-*s  %s\n", width, strings.TrimSpace(c.name+" "+c.args), c.summary)
		}
	}
}

// helpCmd prints the help of the command named by args, or of all.
func helpCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("help", stderr)
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	name := strings.Join(fs.Args(), " ")
	_, group := groups[name]
	_, known := lookup(name)
	switch {
	case name == "" || name == "help":
		usage(stdout)
	case group:
		groupUsage(stdout, name)
	case known:
		return run(ctx, append(strings.Fields(name), "-h"), stdout, stderr)
	default:
		fmt.Fprintf(stderr, "elevate help: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	return 0
}

func lookup(name string) (command, bool) {
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == name })
	if i < 0 {
		return command{}, false
	}
	return commands[i], true
}

// newFlags makes the flag set of a command in the table; errors go to
// stderr, and -h or --help is answered by parseFlags.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parseFlags prints help where it belongs
	return fs
}

// parseFlags parses args. Asked for help (-h, -help or --help anywhere
// before "--"), it prints the command's one-line summary, usage and flags to
// stdout and says to exit 0; on a bad flag, it prints the usage to stderr
// and says to exit 2. done is false when the command should go on.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, done bool) {
	c, _ := lookup(fs.Name())
	end := slices.Index(args, "--")
	if end < 0 {
		end = len(args)
	}
	if slices.ContainsFunc(args[:end], isHelp) {
		commandHelp(stdout, c, fs)
		return 0, true
	}
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "\nUsage:\n  elevate %s\n\nRun \"elevate %s -h\" for its flags.\n", strings.TrimSpace(c.name+" "+c.args), c.name)
		return 2, true
	}
	return 0, false
}

// usageError reports a wrong command line and says to exit 2.
func usageError(stderr io.Writer, name, format string, args ...any) int {
	c, _ := lookup(name)
	fmt.Fprintf(stderr, "elevate %s: %s\n\nUsage:\n  elevate %s\n", name, fmt.Sprintf(format, args...), strings.TrimSpace(c.name+" "+c.args))
	return 2
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// commandHelp prints a command's summary, usage line, details and flags.
func commandHelp(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "elevate %s: %s\n\nUsage:\n  elevate %s\n", c.name, c.summary, strings.TrimSpace(c.name+" "+c.args))
	if d := details[c.name]; d != "" {
		fmt.Fprintf(w, "\n%s", d)
	}
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprint(w, "\nFlags:\n")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
}

// details are what some commands' help says beyond the summary.
var details = map[string]string{
	"tenant create": boundaryDetails + "The tenant starts with the default policies and an empty catalog; set the catalog and settings\nthrough the API with the admin key printed.\n",
	"tenant update": boundaryDetails,
	"policy test":   "CASES.json is {\"cases\":[{\"name\":…,\"request\":{…},\"expect\":{\"decision\":\"allow\",…}}]}, as in\ntestdata/policies/default.cases.json.\n",
}

const boundaryDetails = `The boundary flags (--identity-center-instance-arn, --identity-store-id, --identity-mapping,
--allowed-roots, --assignable, --max-duration-ceiling, --audit-retention-floor-days) are the
operator's: a tenant admin can never widen them.
`
