package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
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
	fs := newFlagSet("serve", "serve --config FILE | --demo [--listen ADDR]", e)
	path := fs.String("config", e.getenv("SCIM_BRIDGE_CONFIG"), "config file (env SCIM_BRIDGE_CONFIG)")
	demo := fs.Bool("demo", false, "run with an in-process Gainsight simulator and a temporary SQLite store")
	listen := fs.String("listen", "127.0.0.1:8080", "SCIM listen address in --demo mode (falls back to a free port when taken)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *demo {
		return runDemo(ctx, *listen, e)
	}
	if *path == "" {
		return fmt.Errorf("%w: serve needs --config FILE (or --demo)", errUsage)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, *path, nil, e)
}

// serve runs the bridge with cfg until ctx is done. scimLn, when set, is
// used instead of cfg.Listen.SCIM.
func serve(ctx context.Context, cfg *config.Config, path string, scimLn net.Listener, e env) error {
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

	up, err := newUpstream(cfg, st, logger, reg)
	if err != nil {
		return err
	}
	owner, _ := os.Hostname()
	return bridge.Run(ctx, bridge.Options{
		Config:       cfg,
		ConfigPath:   path,
		Reload:       e.reload,
		Logger:       logger,
		Registry:     reg,
		Store:        st,
		Upstream:     up,
		Version:      version,
		Owner:        fmt.Sprintf("%s/%d", owner, os.Getpid()),
		SCIMListener: scimLn,
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

func cmdCheckConfig(args []string, e env) error {
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
	fmt.Fprintf(e.stderr, "%s: valid\n", path)
	return cfg.Print(e.stdout)
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
