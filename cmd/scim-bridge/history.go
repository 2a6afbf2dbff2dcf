package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func cmdHistory(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("history", "history --config FILE [--since D|TIME] [--limit N] [--json] USER", e)
	path := fs.String("config", e.getenv("SCIM_BRIDGE_CONFIG"), "config file (env SCIM_BRIDGE_CONFIG)")
	since := fs.String("since", "", "only entries since then: a duration back from now (24h) or a time (2025-03-04 or RFC 3339)")
	limit := fs.Int("limit", 200, "print at most this many entries, newest first")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() != 1 {
		return fmt.Errorf("%w: history --config FILE USER", errUsage)
	}
	if *limit <= 0 {
		return fmt.Errorf("%w: --limit must be positive", errUsage)
	}
	q := store.AuditQuery{Limit: *limit}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			return fmt.Errorf("%w: --since: %w", errUsage, err)
		}
		q.Since = t
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if err := existingStore(cfg); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	st, err := openStore(ctx, cfg, zap.NewNop())
	if err != nil {
		return err
	}
	defer st.Close()
	entries, err := bridge.History(ctx, st, fs.Arg(0), q)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("history: no user %q in %s: %w", fs.Arg(0), storeName(cfg), err)
	}
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if *asJSON {
		if entries == nil {
			entries = []store.AuditEntry{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	}
	if len(entries) == 0 {
		fmt.Fprintf(e.stdout, "no audit entries for %s\n", fs.Arg(0))
		return nil
	}
	printHistory(e.stdout, entries)
	return nil
}

// parseSince reads --since: a duration back from now, a date or an RFC
// 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q is negative", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (24h) nor a time (2025-03-04, 2025-03-04T14:00:00Z)", s)
}

// printHistory prints entries, newest first, one line each, with the
// changes indented below.
func printHistory(w io.Writer, entries []store.AuditEntry) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tOPERATION\tBY\tRESULT\tGSID\tREQUEST")
	for _, e := range entries {
		by := e.Source
		if e.Actor != "" {
			by += ": " + e.Actor
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Op, by, e.Result, dash(e.GSID), dash(e.RequestID))
		if e.Detail != "" {
			fmt.Fprintf(tw, "  %s\t\t\t\t\t\n", e.Detail)
		}
		if e.Error != "" {
			fmt.Fprintf(tw, "  error: %s\t\t\t\t\t\n", e.Error)
		}
		for _, c := range e.Changes {
			if c.Masked {
				fmt.Fprintf(tw, "  %s: changed\t\t\t\t\t\n", c.Field)
				continue
			}
			fmt.Fprintf(tw, "  %s: %s → %s\t\t\t\t\t\n", c.Field, historyValue(c.Old), historyValue(c.New))
		}
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func historyValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case string:
		return fmt.Sprintf("%q", v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}
