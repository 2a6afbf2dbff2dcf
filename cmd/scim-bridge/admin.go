package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

func cmdExplain(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("explain", e)
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
	st, err := openStore(ctx, cfg, zap.NewNop())
	if err != nil {
		return err
	}
	defer st.Close()
	ex, err := bridge.Explain(ctx, st, mapper, fs.Arg(0))
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
	if len(ex.LastPushed) > 0 {
		b, _ := json.MarshalIndent(ex.LastPushed, "           ", "  ")
		fmt.Fprintf(w, "pushed     %s\n", b)
	}
}

func cmdReconcile(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("reconcile", e)
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
		fmt.Fprintf(e.stdout, "%d users had drifted in Gainsight and were repaired\n", n)
	}
	n, err := b.Reconcile(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "reconciled %d users\n", n)
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
