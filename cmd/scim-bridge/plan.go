package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	bsync "github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/sync"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func cmdPlan(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("plan", "plan --config FILE [--json] [--only "+strings.Join(bridge.PlanKinds, "|")+"]", e)
	path := fs.String("config", e.getenv("SCIM_BRIDGE_CONFIG"), "config file (env SCIM_BRIDGE_CONFIG)")
	asJSON := fs.Bool("json", false, "print JSON, as the admin endpoint does")
	only := fs.String("only", "", "list only the users whose plan has this kind: "+strings.Join(bridge.PlanKinds, ", "))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: plan --config FILE", errUsage)
	}
	cfg, st, err := openExisting(ctx, *path, "plan")
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := bridge.Plan(ctx, st, cfg, bridge.PlanQuery{Only: *only}, time.Now())
	if errors.Is(err, bridge.ErrUnknownKind) {
		return fmt.Errorf("%w: --only: %w", errUsage, err)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printPlan(e.stdout, rep, *path)
	return nil
}

// openExisting loads the config at path and opens the store the bridge
// running with it uses, refusing a SQLite file that does not exist.
func openExisting(ctx context.Context, path, cmd string) (*config.Config, store.Store, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	if err := existingStore(cfg); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	st, err := openStore(ctx, cfg, zap.NewNop())
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

// printPlan prints a plan report: the mode and the guard, the counts, then
// each planned user with the fields that would change and where their new
// values come from, then the held users. configPath is shown in the
// commands it suggests.
func printPlan(w io.Writer, rep bridge.PlanReport, configPath string) {
	switch rep.Mode {
	case config.ModeShadow:
		fmt.Fprintln(w, "mode       shadow: every change is planned here and nothing is written to Gainsight")
	default:
		fmt.Fprintf(w, "mode       %s: changes are written to Gainsight", rep.Mode)
		if rep.Planned > 0 {
			fmt.Fprint(w, "; the plans below are synced on the bridge's next pass")
		}
		fmt.Fprintln(w)
	}
	g := rep.Guard
	if !g.Enabled {
		fmt.Fprintln(w, "guard      off: no deactivation is held")
	} else {
		var limits []string
		if g.MaxUsers > 0 {
			limits = append(limits, fmt.Sprintf("%d users", g.MaxUsers))
		}
		if g.MaxPercent > 0 {
			limits = append(limits, fmt.Sprintf("%d%% of the managed users active in Gainsight", g.MaxPercent))
		}
		limit := "no limit"
		if g.Limit >= 0 {
			limit = fmt.Sprintf("%d", g.Limit)
		}
		fmt.Fprintf(w, "guard      deactivations beyond %s per %s are held;\n           the limit is %s now (%d active users), %d counted in this window\n",
			strings.Join(limits, " or "), g.Window, limit, g.Active, g.Counted)
		if g.WouldHold > 0 {
			fmt.Fprintf(w, "           of the %d planned deactivations it would hold %d until approved\n", rep.Counts[string(bsync.KindDeactivate)], g.WouldHold)
		}
	}
	fmt.Fprintf(w, "planned    %d users\n", rep.Planned)
	for _, k := range bridge.PlanKinds {
		fmt.Fprintf(w, "           %-10s %7d\n", k, rep.Counts[k])
	}
	fmt.Fprintf(w, "held       %d users\n", rep.Held)

	if rep.Only != bridge.PlanHeld || len(rep.Users) > 0 {
		fmt.Fprintln(w)
		title := "planned users"
		if rep.Only != "" {
			title += " (" + rep.Only + ")"
		}
		fmt.Fprintln(w, title)
		if len(rep.Users) == 0 {
			fmt.Fprintln(w, "  none")
		}
		for _, u := range rep.Users {
			printPlanned(w, u)
		}
	}
	if rep.Only == "" || rep.Only == bridge.PlanHeld {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "held users")
		if len(rep.HeldUsers) == 0 {
			fmt.Fprintln(w, "  none")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  USER\tGSID\tHELD SINCE\tDECISION")
		for _, h := range rep.HeldUsers {
			decision := "awaiting"
			switch {
			case h.Approved != nil:
				decision = fmt.Sprintf("approved by %s at %s", h.ApprovedBy, h.Approved.UTC().Format(time.RFC3339))
			case h.Rejected != nil:
				decision = fmt.Sprintf("rejected by %s at %s", h.RejectedBy, h.Rejected.UTC().Format(time.RFC3339))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", h.UserName, dash(h.GSID), h.Held.UTC().Format(time.RFC3339), decision)
		}
		_ = tw.Flush()
		fmt.Fprintf(w, "approve:   scim-bridge guard approve --config %s --all   (or USER…)\n", configPath)
		fmt.Fprintf(w, "reject:    scim-bridge guard reject --config %s --all    (or USER…)\n", configPath)
	}
}

// printPlanned prints one user's plan: a line with the user and what
// would be done, then the fields.
func printPlanned(w io.Writer, u bridge.PlannedUser) {
	var what []string
	for _, k := range u.Kinds {
		s := string(k)
		switch {
		case k == bsync.KindAdopt && u.Match != "":
			s += fmt.Sprintf(" %s (matched on %s)", u.GSID, u.Match)
		case (k == bsync.KindDeactivate || k == bsync.KindReactivate) && u.GSID != "" && !hasKind(u.Kinds, bsync.KindAdopt):
			s += " " + u.GSID
		case k == bsync.KindHold:
			s = "held"
		}
		what = append(what, s)
	}
	name := u.UserName
	if u.Deleted {
		name += " (deleted)"
	}
	fmt.Fprintf(w, "  %s  %s\n", name, strings.Join(what, ", "))
	if u.Reason != "" {
		fmt.Fprintf(w, "      %s\n", u.Reason)
	}
	if len(u.Fields) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range u.Fields {
		old := historyValue(f.Old)
		if u.Unread {
			old = "?"
		}
		from := ""
		if len(f.Sources) > 0 {
			from = "from " + strings.Join(f.Sources, ", ")
		}
		fmt.Fprintf(tw, "      %s\t%s → %s\t%s\n", f.Field, old, historyValue(f.New), from)
	}
	_ = tw.Flush()
	if u.Unread {
		fmt.Fprintln(w, "      (matched in the tenant snapshot: Gainsight's values were not read, every field is sent)")
	}
}

func hasKind(kinds []bsync.Kind, k bsync.Kind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

func cmdGuard(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || (args[0] != "approve" && args[0] != "reject") {
		return fmt.Errorf("%w: guard approve|reject --config FILE [--all | USER…]", errUsage)
	}
	approve := args[0] == "approve"
	fs := newFlagSet("guard "+args[0], "guard "+args[0]+" --config FILE [--by NAME] [--all | USER…]", e)
	path := fs.String("config", e.getenv("SCIM_BRIDGE_CONFIG"), "config file (env SCIM_BRIDGE_CONFIG)")
	all := fs.Bool("all", false, "every held user")
	by := fs.String("by", defaultOperator(e), "who decides, as the audit trail records it")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *path == "" || *all == (fs.NArg() > 0) || strings.TrimSpace(*by) == "" {
		return fmt.Errorf("%w: guard %s --config FILE [--by NAME] [--all | USER…]: name the held users (SCIM id, userName or GSID), or --all", errUsage, args[0])
	}
	cfg, st, err := openExisting(ctx, *path, "guard")
	if err != nil {
		return err
	}
	defer st.Close()
	logger, err := newLogger(cfg.Log.Level, e)
	if err != nil {
		return err
	}
	audit := func(ctx context.Context, entries []store.AuditEntry) {
		if err := st.AppendAudit(ctx, entries); err != nil {
			logger.Warn("cannot record the decision in the audit trail", zap.Error(err))
		}
	}
	decided, err := bridge.DecideHolds(ctx, st, bridge.HoldRequest{Users: fs.Args(), All: *all, Approve: approve, By: *by,
		Source: store.AuditSourceAdmin, At: time.Now()}, audit, logger.Named("guard"))
	if err != nil {
		return err
	}
	if approve {
		fmt.Fprintf(e.stdout, "approved %d held deactivations as %s; the running bridge sends them on its next pass\n", len(decided), *by)
	} else {
		fmt.Fprintf(e.stdout, "rejected %d held deactivations as %s; the users are planned again from what their identity source says now, and those it still deactivates stay held\n", len(decided), *by)
	}
	for _, h := range decided {
		fmt.Fprintf(e.stdout, "  %s\t%s\n", h.UserName, dash(h.GSID))
	}
	return nil
}

// defaultOperator names the operator running a command: "cli:" and the
// login name.
func defaultOperator(e env) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if name := e.getenv("USER"); name != "" {
		return "cli:" + name
	}
	if h, err := os.Hostname(); err == nil {
		return "cli@" + h
	}
	return "cli"
}
