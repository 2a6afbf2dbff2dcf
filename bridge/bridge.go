package bridge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/scim"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/source/google"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	bsync "github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/sync"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// Options are the bridge's dependencies. Everything is injected so several
// bridges can run in one process (tests do).
type Options struct {
	Config *config.Config
	// ConfigPath, when set, is re-read on Reload signals and when its
	// content changes; group profiles and mapping take effect at once.
	ConfigPath string
	// WatchInterval is how often ConfigPath is checked for changes
	// (default 5s; 0 keeps the default, negative disables watching).
	WatchInterval time.Duration
	// Reload delivers reload requests (SIGHUP). May be nil.
	Reload <-chan struct{}

	Logger   *zap.Logger
	Registry *prometheus.Registry
	// Store holds the bridge's state; New sets its Prioritizer to the
	// mapping in effect.
	Store    store.Store
	Upstream bsync.Upstream
	Version  string
	Now      func() time.Time
	// Owner names this replica in dirty-set leases (default: hostname).
	Owner string

	// SCIMListener and AdminListener, when set, are used instead of
	// listening on the configured addresses.
	SCIMListener  net.Listener
	AdminListener net.Listener
	// Ready is called once both listeners accept connections.
	Ready func(scimAddr, adminAddr net.Addr)
	// GoogleHTTPClient, when set, is used for Google Directory API calls
	// instead of the service account's client (tests).
	GoogleHTTPClient *http.Client
}

func (o *Options) validate() error {
	var errs []error
	if o.Config == nil {
		errs = append(errs, errors.New("bridge: Config is nil"))
	}
	if o.Logger == nil {
		errs = append(errs, errors.New("bridge: Logger is nil"))
	}
	if o.Registry == nil {
		errs = append(errs, errors.New("bridge: Registry is nil"))
	}
	if o.Store == nil {
		errs = append(errs, errors.New("bridge: Store is nil"))
	}
	if o.Upstream == nil {
		errs = append(errs, errors.New("bridge: Upstream is nil"))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.WatchInterval == 0 {
		o.WatchInterval = 5 * time.Second
	}
	return errors.Join(errs...)
}

// state is what a configuration reload replaces as one unit.
type state struct {
	cfg    *config.Config
	mapper *translate.Mapper
	tokens [][]byte
	// tokenNames are the names of tokens, in the same order; console the
	// console's admin tokens (tokens.go).
	tokenNames []string
	console    namedTokens
	// schema is what the SCIM schema takes from cfg; a new pointer on
	// every reload, so /Schemas follows it.
	schema *scim.SchemaConfig
}

// Bridge is a running bridge. It is created by New and driven by Run.
type Bridge struct {
	opts    Options
	log     *zap.Logger
	metrics *metrics
	cur     atomic.Pointer[state]
	engine  *bsync.Engine
	google  *google.Source // nil without a google: section
	// replica names this replica in the audit trail.
	replica string
	scim    http.Handler
	admin   http.Handler
	console http.Handler // console.go
	// configSum is the hash of the config file's content when the bridge
	// was built: the watcher's baseline, so an edit made before Run starts
	// watching is not missed.
	configSum []byte
}

// New builds a bridge from opts without starting anything.
func New(opts Options) (*Bridge, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	b := &Bridge{opts: opts, log: opts.Logger, replica: replicaName(opts.Owner)}
	st, err := newState(opts.Config)
	if err != nil {
		return nil, err
	}
	b.cur.Store(st)
	if opts.ConfigPath != "" {
		b.configSum = b.watchedSum()
	}

	cfg := opts.Config
	b.engine, err = bsync.New(bsync.Options{
		Store:         opts.Store,
		Upstream:      opts.Upstream,
		Planner:       func() bsync.Planner { return b.cur.Load().mapper },
		Logger:        opts.Logger,
		Registerer:    opts.Registry,
		Now:           opts.Now,
		Owner:         opts.Owner,
		BatchSize:     cfg.Gainsight.BatchSize,
		BatchWindow:   cfg.Sync.BatchWindow,
		MinBackoff:    cfg.Sync.MinBackoff,
		MaxBackoff:    cfg.Sync.MaxBackoff,
		Lease:         cfg.Sync.Lease,
		UserNameField: cfg.Mapping.UserNameField,
		// The Gainsight client's budget (its NextSlot) is found by the
		// engine on Upstream, so nothing is claimed while it is spent.
		TombstoneRetention: cfg.Sync.TombstoneRetention,
		Snapshot:           cfg.Sync.Snapshot,
		SnapshotMaxAge:     cfg.Sync.SnapshotMaxAge,
		Audit:              b.audit,
		// sync.mode and sync.guard are reloadable: read per batch.
		Rollout: func() bsync.Rollout { return rolloutOf(b.cur.Load().cfg) },
	})
	if err != nil {
		return nil, fmt.Errorf("bridge: sync engine: %w", err)
	}
	// Every write marks its users with the priority of what it changes,
	// decided by the mapping in effect.
	opts.Store.SetPrioritizer(currentMapper{b})
	b.scim, err = scim.NewHandler(scim.Options{
		Store:        opts.Store,
		Validator:    currentMapper{b},
		TokenHashes:  func() [][]byte { return b.cur.Load().tokens },
		BasePath:     cfg.SCIM.BasePath,
		MaxBodyBytes: cfg.SCIM.MaxBodyBytes,
		Limits:       cfg.SCIM.Limits,
		ExternalURL:  cfg.SCIM.ExternalURL,
		Schema:       func() *scim.SchemaConfig { return b.cur.Load().schema },
		Notify:       b.engine.Kick,
		Audit:        b.auditLater,
		TokenName:    func(h []byte) string { return b.cur.Load().scimTokenName(h) },
		Logger:       opts.Logger,
		Registerer:   opts.Registry,
		Now:          opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("bridge: scim handler: %w", err)
	}
	if cfg.Google != nil {
		baseDir := ""
		if opts.ConfigPath != "" {
			baseDir = filepath.Dir(opts.ConfigPath)
		}
		// Replicas sharing a database poll Google one at a time.
		var lock func(context.Context) (func(), bool, error)
		if l, ok := opts.Store.(locker); ok {
			lock = func(ctx context.Context) (func(), bool, error) { return l.TryLock(ctx, "google-poll") }
		}
		// New only reads the key file; the first poll happens in Run.
		b.google, err = google.New(context.Background(), google.Options{
			Lock:        lock,
			Config:      *cfg.Google,
			BaseDir:     baseDir,
			Store:       opts.Store,
			Notify:      b.engine.Kick,
			Audit:       b.audit,
			Logger:      opts.Logger,
			Registerer:  opts.Registry,
			Now:         opts.Now,
			HTTPClient:  opts.GoogleHTTPClient,
			CheckGroups: currentMapper{b}.CheckGroups,
		})
		if err != nil {
			return nil, fmt.Errorf("bridge: google source: %w", err)
		}
	}
	// After the SCIM handler: it may own metrics this registration shares.
	b.metrics = newMetrics(opts.Registry, opts.Version)
	registerStoreMetrics(opts.Registry, opts.Store)
	if b.console, err = b.newConsole(); err != nil {
		return nil, fmt.Errorf("bridge: console: %w", err)
	}
	b.admin = b.adminHandler()
	return b, nil
}

func newState(cfg *config.Config) (*state, error) {
	m, err := translate.NewMapper(cfg)
	if err != nil {
		return nil, fmt.Errorf("bridge: mapping: %w", err)
	}
	tokens, err := cfg.TokenHashes()
	if err != nil {
		return nil, fmt.Errorf("bridge: tokens: %w", err)
	}
	schema := &scim.SchemaConfig{
		CustomFields:      cfg.CustomFields,
		LicenseTypes:      m.LicenseTypes(),
		PermissionBundles: m.PermissionBundles(),
	}
	console, err := consoleTokens(cfg)
	if err != nil {
		return nil, fmt.Errorf("bridge: console tokens: %w", err)
	}
	names := make([]string, len(cfg.SCIM.Tokens))
	for i, t := range cfg.SCIM.Tokens {
		names[i] = t.Name
	}
	return &state{cfg: cfg, mapper: m, tokens: tokens, tokenNames: names, console: console, schema: schema}, nil
}

// Config returns the configuration in effect.
func (b *Bridge) Config() *config.Config { return b.cur.Load().cfg }

// Engine returns the bridge's sync engine.
func (b *Bridge) Engine() *bsync.Engine { return b.engine }

// SCIMHandler returns the SCIM API handler.
func (b *Bridge) SCIMHandler() http.Handler { return b.scim }

// AdminHandler returns the admin handler (/metrics, /healthz, /readyz,
// /admin/...).
func (b *Bridge) AdminHandler() http.Handler { return b.admin }

// Run serves the SCIM and admin listeners, drains the dirty set and applies
// configuration reloads until ctx is done, then shuts down gracefully.
func Run(ctx context.Context, opts Options) error {
	b, err := New(opts)
	if err != nil {
		return err
	}
	return b.Run(ctx)
}

// Run is the method form of the package-level Run.
func (b *Bridge) Run(ctx context.Context) error {
	cfg := b.Config()
	scimLn, err := listen(b.opts.SCIMListener, cfg.Listen.SCIM)
	if err != nil {
		return fmt.Errorf("bridge: scim listener: %w", err)
	}
	adminLn, err := listen(b.opts.AdminListener, cfg.Listen.Admin)
	if err != nil {
		scimLn.Close()
		return fmt.Errorf("bridge: admin listener: %w", err)
	}
	b.log.Info("listening",
		zap.String("scim", scimLn.Addr().String()+cfg.SCIM.BasePath),
		zap.String("admin", adminLn.Addr().String()),
		zap.String("version", b.opts.Version))
	if b.opts.Ready != nil {
		b.opts.Ready(scimLn.Addr(), adminLn.Addr())
	}

	g, gctx := errgroup.WithContext(ctx)
	serve := func(name string, ln net.Listener, h http.Handler) {
		// What a client can make the bridge hold before it is
		// authenticated: a bounded header block, read within
		// ReadHeaderTimeout, on one of a bounded number of connections
		// (further clients wait in the kernel's accept queue). The SCIM
		// handler never reads an unauthenticated body. A Config built by
		// hand rather than loaded may leave the limits zero: the defaults
		// then (0 connections would serve none).
		def := config.Default().Listen
		maxConns := cmp.Or(max(cfg.Listen.MaxConnections, 0), def.MaxConnections)
		maxHeader := cmp.Or(max(cfg.Listen.MaxHeaderBytes, 0), def.MaxHeaderBytes)
		ln = netutil.LimitListener(ln, maxConns)
		srv := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    maxHeader,
			ErrorLog:          zap.NewStdLog(b.log.Named(name)),
		}
		g.Go(func() error {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("bridge: %s server: %w", name, err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 10*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	serve("scim-http", scimLn, b.scim)
	serve("admin-http", adminLn, b.admin)
	g.Go(func() error {
		err := b.engine.Run(gctx)
		if err != nil && gctx.Err() == nil {
			return fmt.Errorf("bridge: sync engine: %w", err)
		}
		return nil
	})
	g.Go(func() error { b.watchConfig(gctx); return nil })
	if b.google != nil {
		g.Go(func() error { return b.google.Run(gctx) })
	}
	g.Go(func() error { b.observe(gctx); return nil })
	g.Go(func() error { b.housekeeping(gctx); return nil })
	g.Go(func() error { b.reconcileLoop(gctx, cfg.Sync.ReconcileInterval); return nil })
	err = g.Wait()
	b.log.Info("stopped")
	return err
}

func listen(ln net.Listener, addr string) (net.Listener, error) {
	if ln != nil {
		return ln, nil
	}
	return net.Listen("tcp", addr)
}

// RepairDrift reads what Gainsight holds for every linked user, marks the
// users whose Gainsight record no longer matches what the bridge manages
// (someone changed it in Gainsight), and drains the dirty set like
// Reconcile. It returns how many users drifted. It spends rate budget: one
// list call per 100 linked users in the services dialect.
func (b *Bridge) RepairDrift(ctx context.Context) (int, error) {
	n, err := b.engine.RepairDrift(ctx)
	if err != nil {
		return n, fmt.Errorf("repair drift: %w", err)
	}
	return n, b.drain(ctx)
}

// Reconcile marks every user dirty, purges the tombstones older than the
// retention, and drains the dirty set until it is empty or ctx ends,
// returning how many users were marked. Entries waiting on a backoff are
// waited for, so a reconcile that returns nil left nothing behind. Users
// that fail permanently end in the failed state, not dirty. It counts as
// the periodic reconcile's run.
func (b *Bridge) Reconcile(ctx context.Context) (int, error) {
	marked, ran, err := b.reconcileOnce(ctx, 0)
	if err != nil {
		return 0, fmt.Errorf("reconcile: %w", err)
	}
	if !ran {
		return 0, errors.New("reconcile: another replica is reconciling; try again later")
	}
	return marked, b.drain(ctx)
}

// drain runs the engine until the dirty set is empty, waiting out backoffs.
func (b *Bridge) drain(ctx context.Context) error {
	for {
		if _, err := b.engine.DrainOnce(ctx); err != nil {
			return fmt.Errorf("drain: %w", err)
		}
		n, _, err := b.opts.Store.DirtyStats(ctx)
		if err != nil {
			return fmt.Errorf("drain: %w", err)
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %d users still dirty: %w", n, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// currentMapper validates SCIM input with the mapping in effect, so a
// reload applies to the next request.
type currentMapper struct{ b *Bridge }

func (c currentMapper) ValidateUser(doc map[string]any) error {
	return c.b.cur.Load().mapper.ValidateUser(doc)
}

func (c currentMapper) CheckGroups(groups []store.GroupRef) error {
	return c.b.cur.Load().mapper.CheckGroups(groups)
}

// UserPriority implements store.Prioritizer with the mapping in effect.
func (c currentMapper) UserPriority(old, new store.User, groups []store.GroupRef) store.Priority {
	return c.b.cur.Load().mapper.UserPriority(old, new, groups)
}

// GroupPriority implements store.Prioritizer with the mapping in effect.
func (c currentMapper) GroupPriority(before, after []store.GroupRef) store.Priority {
	return c.b.cur.Load().mapper.GroupPriority(before, after)
}
