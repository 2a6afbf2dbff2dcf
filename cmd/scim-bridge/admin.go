package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

func cmdExplain(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("explain", "explain --config FILE [--json] USER", e)
	path := fs.String("config", e.getenv("SCIM_BRIDGE_CONFIG"), "config file (env SCIM_BRIDGE_CONFIG)")
	asJSON := fs.Bool("json", false, "print JSON, as the admin endpoint does")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() != 1 {
		return fmt.Errorf("%w: explain --config FILE USER", errUsage)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	mapper, err := translate.NewMapper(cfg)
	if err != nil {
		return err
	}
	if err := existingStore(cfg); err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	st, err := openStore(ctx, cfg, zap.NewNop())
	if err != nil {
		return err
	}
	defer st.Close()
	ex, err := bridge.Explain(ctx, st, mapper, fs.Arg(0))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("explain: no user %q (looked up as SCIM id, userName and GSID) in %s: %w", fs.Arg(0), storeName(cfg), store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ex)
	}
	printExplanation(e.stdout, ex)
	return nil
}

// existingStore refuses a SQLite store file that does not exist yet:
// opening it would create an empty store, and a command reading the
// bridge's state would then report nothing instead of the real mistake, a
// config or working directory other than the bridge's.
func existingStore(cfg *config.Config) error {
	if cfg.Store.Type != "" && cfg.Store.Type != "sqlite" {
		return nil
	}
	path := cfg.Store.SQLite.Path
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			return fmt.Errorf("no SQLite store at %s (store.sqlite.path %q; a relative path is taken from the current directory): run this where the bridge runs, with its config", absPath(path), path)
		}
		return fmt.Errorf("SQLite store: %w", err)
	}
	return nil
}

// storeName says which store a command looked in, for messages.
func storeName(cfg *config.Config) string {
	if cfg.Store.Type == "postgres" {
		return "the PostgreSQL store"
	}
	return "the SQLite store " + absPath(cfg.Store.SQLite.Path)
}

func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func printExplanation(w io.Writer, ex bridge.Explanation) {
	fmt.Fprintf(w, "user       %s (%s)\n", ex.UserName, ex.UserID)
	if ex.Deleted {
		fmt.Fprintln(w, "           deleted in SCIM; kept as a tombstone")
	}
	if ex.Effective != nil {
		writeEffective(w, *ex.Effective)
	}
	if ex.Conflict != "" {
		fmt.Fprintf(w, "conflict   %s\n", ex.Conflict)
	}
	state := ex.SyncState
	if state == "" {
		state = "unknown"
	}
	fmt.Fprintf(w, "sync       %s", state)
	if ex.GSID != "" {
		fmt.Fprintf(w, ", gsid %s", ex.GSID)
	}
	if ex.Active != nil {
		fmt.Fprintf(w, ", active in Gainsight: %t", *ex.Active)
	}
	if ex.Updated != nil {
		fmt.Fprintf(w, ", at %s", ex.Updated.Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if ex.LastError != "" {
		fmt.Fprintf(w, "last error %s\n", ex.LastError)
	}
	if h := ex.Held; h != nil {
		decision := "awaiting a decision (scim-bridge guard approve|reject)"
		switch {
		case h.Approved != nil:
			decision = fmt.Sprintf("approved by %s at %s", h.ApprovedBy, h.Approved.UTC().Format(time.RFC3339))
		case h.Rejected != nil:
			decision = fmt.Sprintf("rejected by %s at %s", h.RejectedBy, h.Rejected.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(w, "held       deactivation held by the mass-deactivation guard since %s, %s\n", h.Held.UTC().Format(time.RFC3339), decision)
	}
	if p := ex.Planned; p != nil {
		fmt.Fprintf(w, "planned    in shadow mode at %s:\n", p.PlannedAt.UTC().Format(time.RFC3339))
		printPlanned(w, *p)
	}
	if len(ex.LastPushed) > 0 {
		b, _ := json.MarshalIndent(ex.LastPushed, "           ", "  ")
		fmt.Fprintf(w, "pushed     %s\n", b)
	}
}

func cmdReconcile(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("reconcile", "reconcile --config FILE [--drift] [--timeout D]", e)
	path := fs.String("config", e.getenv("SCIM_BRIDGE_CONFIG"), "config file (env SCIM_BRIDGE_CONFIG)")
	timeout := fs.Duration("timeout", time.Hour, "give up after this long")
	drift := fs.Bool("drift", false, "also read every linked user back from Gainsight and repair changes made there (one list call per 100 users)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: reconcile --config FILE", errUsage)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if err := existingStore(cfg); err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	logger, err := newLogger(cfg.Log.Level, e)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	up, err := newUpstream(cfg, st, logger, reg)
	if err != nil {
		return err
	}
	b, err := bridge.New(bridge.Options{Config: cfg, Logger: logger, Registry: reg, Store: st, Upstream: up, Version: version})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *drift {
		n, err := b.RepairDrift(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "drifted in Gainsight and repaired: %d users\n", n)
	}
	n, err := b.Reconcile(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "reconciled: %d users\n", n)
	return nil
}

func writeEffective(w io.Writer, ex translate.Explanation) {
	if len(ex.Groups) == 0 {
		fmt.Fprintln(w, "groups     (none)")
	}
	for i, g := range ex.Groups {
		label := "groups    "
		if i > 0 {
			label = "          "
		}
		profile := "no profile"
		if g.Profiled {
			profile = "profile " + g.Profile
		}
		fmt.Fprintf(w, "%s %s (%s)\n", label, g.DisplayName, profile)
	}
	status := "active"
	if !ex.Active {
		status = "inactive: " + ex.InactiveReason
	}
	fmt.Fprintf(w, "status     %s\n", status)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "attribute\tvalue\tfrom")
	for _, a := range ex.Attributes {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Name, formatValue(a.Value), strings.Join(a.Sources, ", "))
	}
	_ = tw.Flush()
	if ex.SuperAdmin {
		fmt.Fprintln(w, "note       super admin is resolved but not pushed: Gainsight's API cannot set it")
	}
}

func formatValue(v any) string {
	switch x := v.(type) {
	case []string:
		return strings.Join(x, ", ")
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}
