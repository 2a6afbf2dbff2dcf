package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: scim-bridge <command> [flags]

commands:
  serve --config FILE      run the bridge (config also from $SCIM_BRIDGE_CONFIG)
  --demo [--listen ADDR] [--admin-listen ADDR] [--token TOKEN] [--shadow]
                           run the bridge with an in-process Gainsight simulator
                           and a temporary SQLite store, on 127.0.0.1; nothing
                           is kept (also: serve --demo); --shadow starts it in
                           shadow mode
  check-config FILE        validate a config file and build everything serve
                           builds from it (without listening or connecting),
                           then print it, secrets masked
  explain --config FILE [--json] USER
                           show a user's (SCIM id, userName or GSID) groups,
                           effective attributes and their sources, the last
                           pushed record and the sync state
  history --config FILE [--since D|TIME] [--limit N] [--json] USER
                           show a user's audit trail, newest first: what the
                           IdP, the console and the sync engine did, with
                           Gainsight's request ids
  plan --config FILE [--json] [--only KIND]
                           show what shadow mode planned (counts, then each
                           user's changes, old → new, and where each value
                           comes from) and the users the mass-deactivation
                           guard holds; KIND: adopt, create, update,
                           deactivate, reactivate, failed, held
  guard approve|reject --config FILE [--by NAME] [--all | USER…]
                           approve the deactivations the guard holds (sent
                           next), or reject them (the users are planned
                           again from their identity source)
  reconcile --config FILE [--drift] [--timeout D]
                           sync every user once, retrying failed ones, then
                           exit; --drift first reads every linked user back
                           from Gainsight and repairs changes made there
  google-check --config FILE [--timeout D]
                           verify the Google Workspace credentials and scopes,
                           print users and groups in scope and what the next
                           poll would change (writes nothing)
  hash-token [TOKEN]       print the SHA-256 hash to configure for a bearer
                           token (reads the token from stdin when omitted)
  version                  print the version
  help                     print this text

"scim-bridge <command> -h" lists a command's flags. Flags may follow
arguments: "scim-bridge explain ann@example.com --config config.yaml".
`

// errUsage marks command-line mistakes (exit status 2).
var errUsage = errors.New("usage")

// errFlags marks a flag error the flag package has already reported along
// with the command's own usage (exit status 2, nothing more printed).
var errFlags = errors.New("invalid flags")

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	err := dispatch(ctx, args, env{stdout: stdout, stderr: stderr, stdin: os.Stdin, reload: reload, getenv: os.Getenv})
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errFlags):
		return 2
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "scim-bridge: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "scim-bridge: %v\n", err)
		return 1
	}
}

// env is the process environment a command runs in, injected for tests.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	reload         <-chan struct{}
	getenv         func(string) string
	// ready, when set, is called once serving with the SCIM base URL and
	// the admin listener's URL.
	ready func(baseURL, adminURL string)
}

func dispatch(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command", errUsage)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "--demo", "-demo":
		return cmdServe(ctx, append([]string{"--demo"}, rest...), e)
	case "serve":
		return cmdServe(ctx, rest, e)
	case "check-config":
		return cmdCheckConfig(ctx, rest, e)
	case "explain":
		return cmdExplain(ctx, rest, e)
	case "history":
		return cmdHistory(ctx, rest, e)
	case "plan":
		return cmdPlan(ctx, rest, e)
	case "guard":
		return cmdGuard(ctx, rest, e)
	case "reconcile":
		return cmdReconcile(ctx, rest, e)
	case "google-check":
		return cmdGoogleCheck(ctx, rest, e)
	case "hash-token":
		return cmdHashToken(rest, e)
	case "version", "--version":
		fmt.Fprintf(e.stdout, "scim-bridge %s\n", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

// newFlagSet returns the flag set of a command; synopsis is the command's
// usage line, printed with its flags by -h and after a flag error.
func newFlagSet(name, synopsis string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: scim-bridge %s\n", synopsis)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(e.stderr, "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args, also accepting flags after positional arguments
// ("explain ann@example.com --config FILE"). -h returns flag.ErrHelp after
// printing the command's usage; a flag error returns errFlags after
// printing it.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return fmt.Errorf("%s: %w", fs.Name(), err)
		}
		return fmt.Errorf("%s: %w: %v", fs.Name(), errFlags, err)
	}
	return nil
}

// interspersed moves the flags in args in front of the positional
// arguments, which follow a "--" so none of them is taken for a flag. A
// "--" in args ends the flags, as for the flag package.
func interspersed(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			f := fs.Lookup(name)
			if f == nil {
				continue
			}
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(append(flags, "--"), pos...)
}
