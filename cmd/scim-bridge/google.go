package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/source/google"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// cmdGoogleCheck verifies the Google source's credentials and scopes and
// prints what is in scope and what the next poll would change, writing
// nothing.
func cmdGoogleCheck(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("google-check", "google-check --config FILE [--timeout D]", e)
	path := fs.String("config", e.getenv("SCIM_BRIDGE_CONFIG"), "config file (env SCIM_BRIDGE_CONFIG)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: google-check --config FILE", errUsage)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if cfg.Google == nil {
		return fmt.Errorf("google-check: %s has no google section", *path)
	}
	logger, err := newLogger(cfg.Log.Level, e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := openStore(ctx, cfg, logger.Named("store"))
	if err != nil {
		return err
	}
	defer st.Close()
	src, err := google.New(ctx, google.Options{
		Config:     *cfg.Google,
		BaseDir:    filepath.Dir(*path),
		Store:      st,
		Logger:     logger,
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		return err
	}
	if err := src.Verify(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "credentials  ok: %s can list users, groups and members\n", cfg.Google.Subject)
	ch, err := src.Plan(ctx)
	if err != nil {
		return err
	}
	printGoogleChanges(e.stdout, ch)
	return nil
}

func printGoogleChanges(w io.Writer, ch google.Changes) {
	fmt.Fprintf(w, "in scope     %d users, %d groups\n", ch.UsersInScope, ch.GroupsInScope)
	fmt.Fprintf(w, "next poll    %d created, %d updated, %d deactivated, %d deprovisioned, %d groups changed, %d skipped\n",
		ch.Created, ch.Updated, ch.Deactivated, ch.Deprovisioned, ch.GroupsChanged, ch.Skipped)
	if len(ch.Details) == 0 {
		fmt.Fprintln(w, "             nothing to change")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "change\tresource\tname\tdetail")
	for _, d := range ch.Details {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Kind, d.Resource, d.Name, d.Detail)
	}
	_ = tw.Flush()
}
