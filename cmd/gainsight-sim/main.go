package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr, nil)
	stop()
	os.Exit(code)
}

// shutdownTimeout bounds how long in-flight calls may finish on shutdown.
const shutdownTimeout = 5 * time.Second

// errUsage marks command-line mistakes (exit status 2).
var errUsage = errors.New("usage")

// run serves the simulator until ctx ends and returns the exit status. Logs
// (JSON, one line per call) and errors go to logOut; ready, when set, is
// called with the listening address once calls are accepted.
func run(ctx context.Context, args []string, logOut io.Writer, ready func(addr string)) int {
	err := serve(ctx, args, logOut, ready)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(logOut, "gainsight-sim: %v\n", err)
		return 2
	default:
		fmt.Fprintf(logOut, "gainsight-sim: %v\n", err)
		return 1
	}
}

// options are the command line.
type options struct {
	listen    string
	config    string
	accessKey string
	perHour   int
	perDay    int
	set       map[string]bool // flags given explicitly
}

func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("gainsight-sim", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8089", "address to listen on")
	fs.StringVar(&o.config, "config", "", "YAML or JSON file with the tenant (accessKey, licenseTypes, permissionBundles, customFields, perHour, perDay, hourWindow, dayWindow, users) and faults")
	fs.StringVar(&o.accessKey, "access-key", "", "access key callers must send (overrides the config file; default "+gainsighttest.DefaultAccessKey+")")
	fs.IntVar(&o.perHour, "per-hour", 0, "calls accepted per clock hour, 0 = unlimited (overrides the config file)")
	fs.IntVar(&o.perDay, "per-day", 0, "calls accepted per day, 0 = unlimited (overrides the config file)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if o.perHour < 0 || o.perDay < 0 {
		return o, fmt.Errorf("%w: --per-hour and --per-day must not be negative", errUsage)
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	return o, nil
}

// loadConfig reads the config file, if any, and applies the flags over it.
func loadConfig(o options) (gainsighttest.Config, error) {
	var c gainsighttest.Config
	if o.config != "" {
		var err error
		if c, err = gainsighttest.LoadConfig(o.config); err != nil {
			return c, fmt.Errorf("load config: %w", err)
		}
	}
	if o.set["access-key"] {
		c.AccessKey = o.accessKey
	}
	if o.set["per-hour"] {
		c.PerHour = o.perHour
	}
	if o.set["per-day"] {
		c.PerDay = o.perDay
	}
	return c, nil
}

func newLogger(w io.Writer) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(w), zapcore.InfoLevel)
	return zap.New(core)
}

func serve(ctx context.Context, args []string, logOut io.Writer, ready func(addr string)) error {
	o, err := parseFlags(args, logOut)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	log := newLogger(logOut).Named("gainsight-sim")
	defer func() { _ = log.Sync() }()

	sim := gainsighttest.New(cfg.Tenant, gainsighttest.WithLogger(log))
	sim.SetFaults(cfg.Faults)

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	log.Info("listening",
		zap.String("addr", ln.Addr().String()),
		zap.Int("users", len(sim.Users())),
		zap.Int("perHour", cfg.PerHour), zap.Int("perDay", cfg.PerDay),
		zap.Bool("defaultAccessKey", cfg.AccessKey == "" || cfg.AccessKey == gainsighttest.DefaultAccessKey),
		zap.Any("faults", cfg.Faults))
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
