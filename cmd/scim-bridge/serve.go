package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/sqlite"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func cmdServe(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("serve", "serve --config FILE | --demo [--listen ADDR] [--admin-listen ADDR] [--token TOKEN] [--shadow]", e)
	path := fs.String("config", e.getenv("SCIM_BRIDGE_CONFIG"), "config file (env SCIM_BRIDGE_CONFIG)")
	demo := fs.Bool("demo", false, "run with an in-process Gainsight simulator and a temporary SQLite store")
	var d demoOptions
	fs.StringVar(&d.listen, "listen", "127.0.0.1:8080", "SCIM listen address in --demo mode (falls back to a free port when taken)")
	fs.StringVar(&d.adminListen, "admin-listen", "127.0.0.1:9090", "admin listen address in --demo mode (falls back to a free port when taken)")
	fs.StringVar(&d.token, "token", "", "bearer token the --demo bridge accepts (default: a random one), so commands keep working across restarts")
	fs.BoolVar(&d.shadow, "shadow", false, "start the --demo bridge in shadow mode: it plans and writes nothing until its config says live")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *demo {
		if d.token != "" && !demoTokenChars.MatchString(d.token) {
			return fmt.Errorf("%w: --token may hold only letters, digits and . _ ~ + / = - (it is pasted into shell commands)", errUsage)
		}
		return runDemo(ctx, d, e)
	}
	demoOnly := map[string]bool{"listen": true, "admin-listen": true, "token": true, "shadow": true}
	var misplaced error
	fs.Visit(func(f *flag.Flag) {
		if demoOnly[f.Name] && misplaced == nil {
			misplaced = fmt.Errorf("%w: --%s is a --demo flag; serve takes its addresses and tokens from the config file", errUsage, f.Name)
		}
	})
	if misplaced != nil {
		return misplaced
	}
	if *path == "" {
		return fmt.Errorf("%w: serve needs --config FILE (or --demo)", errUsage)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, *path, listeners{}, e)
}

// demoTokenChars are the characters a --demo token may hold: those of
// base64 and URL-safe tokens, none of which a shell or JSON string treats
// specially.
var demoTokenChars = regexp.MustCompile(`^[A-Za-z0-9._~+/=-]+$`)

// listeners, when set, are used instead of the configured addresses.
type listeners struct{ scim, admin net.Listener }

// serve runs the bridge with cfg until ctx is done. The bridge closes the
// listeners it was given; when it cannot be built, serve closes them.
func serve(ctx context.Context, cfg *config.Config, path string, ls listeners, e env) (err error) {
	running := false
	defer func() {
		if running {
			return
		}
		for _, ln := range []net.Listener{ls.scim, ls.admin} {
			if ln != nil {
				ln.Close()
			}
		}
	}()
	logger, err := newLogger(cfg.Log.Level, e)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()

	b, err := newBridge(cfg, path, st, logger, reg, ls, e)
	if err != nil {
		return err
	}
	running = true
	return b.Run(ctx)
}

// newBridge builds everything serve runs on st — mapping, group profiles,
// tokens, the Gainsight client, the SCIM handler, the sync engine and the
// Google source — without listening or calling anyone. check-config builds
// the same, so it refuses exactly what serve refuses.
func newBridge(cfg *config.Config, path string, st store.Store, logger *zap.Logger, reg *prometheus.Registry, ls listeners, e env) (*bridge.Bridge, error) {
	up, err := newUpstream(cfg, st, logger, reg)
	if err != nil {
		return nil, err
	}
	owner, _ := os.Hostname()
	return bridge.New(bridge.Options{
		Config:        cfg,
		ConfigPath:    path,
		Reload:        e.reload,
		Logger:        logger,
		Registry:      reg,
		Store:         st,
		Upstream:      up,
		Version:       version,
		Owner:         fmt.Sprintf("%s/%d", owner, os.Getpid()),
		SCIMListener:  ls.scim,
		AdminListener: ls.admin,
		Ready: func(scimAddr, adminAddr net.Addr) {
			if e.ready != nil {
				e.ready("http://"+scimAddr.String()+cfg.SCIM.BasePath, "http://"+adminAddr.String())
			}
		},
	})
}

func newLogger(level string, e env) (*zap.Logger, error) {
	lvl := zapcore.InfoLevel
	if level != "" {
		if err := lvl.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("log level %q: %w", level, err)
		}
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "ts"
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(e.stderr), lvl)
	return zap.New(core), nil
}

func openStore(ctx context.Context, cfg *config.Config, log *zap.Logger) (store.Store, error) {
	switch cfg.Store.Type {
	case "", "sqlite":
		st, err := sqlite.Open(ctx, cfg.Store.SQLite.Path, sqlite.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open sqlite store %s: %w", cfg.Store.SQLite.Path, err)
		}
		return st, nil
	case "postgres":
		st, err := postgres.Open(ctx, string(cfg.Store.Postgres.DSN), postgres.Options{
			Logger:           log,
			MaxConns:         cfg.Store.Postgres.MaxConns,
			StatementTimeout: cfg.Store.Postgres.StatementTimeout,
		})
		if err != nil {
			return nil, fmt.Errorf("open postgres store: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("unknown store type %q", cfg.Store.Type)
}

func newUpstream(cfg *config.Config, st store.Store, log *zap.Logger, reg prometheus.Registerer) (gainsight.Client, error) {
	opts := bridge.UpstreamOptions(cfg, version)
	opts.Logger, opts.Registerer = log, reg
	// A store that can count calls shares the budget between replicas and
	// keeps it across restarts.
	if c, ok := st.(gainsight.Counter); ok {
		opts.Counter = c
	}
	c, err := gainsight.New(opts)
	if err != nil {
		return nil, fmt.Errorf("gainsight client: %w", err)
	}
	return c, nil
}

func cmdCheckConfig(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("check-config", "check-config FILE", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	path := fs.Arg(0)
	if path == "" {
		path = e.getenv("SCIM_BRIDGE_CONFIG")
	}
	if path == "" || fs.NArg() > 1 {
		return fmt.Errorf("%w: check-config FILE", errUsage)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if err := checkBuild(ctx, cfg, path, e); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	fmt.Fprintf(e.stderr, "%s: valid\n", path)
	return cfg.Print(e.stdout)
}

// checkBuild builds what serve builds from cfg on a throwaway SQLite store
// and drops it: nothing listens, and neither the configured store nor
// Gainsight nor Google is contacted.
func checkBuild(ctx context.Context, cfg *config.Config, path string, e env) error {
	dir, err := os.MkdirTemp("", "scim-bridge-check-")
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "check.db"), sqlite.Options{Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("check: scratch store: %w", err)
	}
	defer st.Close()
	e.ready, e.reload = nil, nil
	_, err = newBridge(cfg, path, st, zap.NewNop(), prometheus.NewRegistry(), listeners{}, e)
	return err
}

func cmdHashToken(args []string, e env) error {
	fs := newFlagSet("hash-token", "hash-token [TOKEN]", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("%w: hash-token [TOKEN]", errUsage)
	}
	token := fs.Arg(0)
	if token == "" {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := e.stdin.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		token = strings.TrimRight(b.String(), "\r\n")
	}
	if token == "" {
		return errors.New("hash-token: empty token")
	}
	fmt.Fprintln(e.stdout, config.HashToken(token))
	return nil
}
