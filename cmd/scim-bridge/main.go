package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: scim-bridge <command> [flags]

commands:
  serve --config FILE      run the bridge (config also from $SCIM_BRIDGE_CONFIG)
  serve --demo | --demo    run the bridge with an in-process Gainsight simulator
                           and a temporary SQLite store, on 127.0.0.1
  check-config FILE        validate a config file and print it, secrets masked
  explain --config FILE USER
                           show a user's groups, effective attributes and their
                           sources, the last pushed record and the sync state
  reconcile --config FILE  mark every user dirty and sync them all once
  google-check --config FILE
                           verify the Google Workspace credentials and scopes,
                           print users and groups in scope and what the next
                           poll would change (writes nothing)
  hash-token [TOKEN]       print the SHA-256 hash to configure for a bearer
                           token (reads the token from stdin when omitted)
  version                  print the version
`

// errUsage marks command-line mistakes (exit status 2).
var errUsage = errors.New("usage")

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
	case err == nil:
		return 0
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
		return cmdCheckConfig(rest, e)
	case "explain":
		return cmdExplain(ctx, rest, e)
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

func newFlagSet(name string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return fmt.Errorf("%w: %s", errUsage, fs.Name())
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
