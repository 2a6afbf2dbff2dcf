package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/console"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// The console (package console) shows the bridge through this adapter.

// consoleStates are the sync states the console's users page filters by.
var consoleStates = store.SyncStates()

// recentFailures is how many of the latest audit entries the overview
// looks through for failed writes, and failuresShown how many it shows.
const (
	recentFailures = 500
	failuresShown  = 10
)

func (b *Bridge) newConsole() (*console.Console, error) {
	return console.New(console.Options{
		Backend:  consoleBackend{b},
		Settings: b.consoleSettings,
		Logger:   b.log,
		Now:      b.opts.Now,
	})
}

func (b *Bridge) consoleSettings() console.Settings {
	st := b.cur.Load()
	cfg := st.cfg
	return console.Settings{
		Enabled:      cfg.Console.Enabled,
		Tokens:       st.console.hashes,
		Names:        st.console.names,
		ForwardAuth:  cfg.Console.ForwardAuth,
		SessionTTL:   cfg.Console.SessionTTL,
		SessionKey:   string(cfg.Console.SessionKey),
		Personal:     func(f string) bool { return personal(cfg, f) },
		ShowPersonal: cfg.Audit.RecordPersonalData,
		States:       consoleStates,
	}
}

type consoleBackend struct{ b *Bridge }

func (c consoleBackend) Overview(ctx context.Context) (console.Overview, error) {
	b := c.b
	o := console.Overview{Now: b.opts.Now()}
	counts, err := b.opts.Store.CountSyncStates(ctx)
	if err != nil {
		return o, fmt.Errorf("overview: %w", err)
	}
	for _, s := range consoleStates {
		o.States = append(o.States, console.StateCount{State: s, Users: counts[s]})
	}
	var others []string
	for s := range counts {
		if !slices.Contains(consoleStates, s) {
			others = append(others, s)
		}
	}
	sort.Strings(others)
	for _, s := range others {
		o.States = append(o.States, console.StateCount{State: s, Users: counts[s]})
	}
	d, err := b.estimateDrain(ctx)
	if err != nil {
		return o, fmt.Errorf("overview: %w", err)
	}
	o.QueueDepth, o.Oldest, o.Windows, o.ETA, o.ETAKnown = d.Depth, d.Oldest, d.Windows, d.ETA, d.ETAKnown
	recent, err := b.opts.Store.ListAudit(ctx, store.AuditQuery{Limit: recentFailures})
	if err != nil {
		return o, fmt.Errorf("overview: %w", err)
	}
	o.Failures, o.Reasons = failures(recent)
	if b.google != nil {
		s := b.google.Status()
		o.Google = &console.GoogleStatus{LastPoll: s.LastPoll, LastSuccess: s.LastSuccess, LastError: s.LastError,
			UsersInScope: s.UsersInScope, GroupsInScope: s.GroupsInScope}
	}
	return o, nil
}

func (c consoleBackend) SearchUsers(ctx context.Context, q store.UserSearch) ([]store.UserSummary, int, error) {
	return c.b.opts.Store.SearchUsers(ctx, q)
}

func (c consoleBackend) User(ctx context.Context, key string) (console.UserView, error) {
	ex, err := c.b.Explain(ctx, key)
	if err != nil {
		return console.UserView{}, err
	}
	v := console.UserView{
		ID: ex.UserID, UserName: ex.UserName, Deleted: ex.Deleted, State: ex.SyncState, GSID: ex.GSID,
		LastError: ex.LastError, ActiveInGainsight: ex.Active, Effective: ex.Effective, Conflict: ex.Conflict,
		LastPushed: ex.LastPushed,
	}
	if ex.Updated != nil {
		v.Updated = *ex.Updated
	}
	if ex.Held != nil {
		h := heldView(*ex.Held)
		v.Held = &h
	}
	return v, nil
}

func heldView(h HeldUser) console.HeldView {
	v := console.HeldView{UserID: h.UserID, UserName: h.UserName, GSID: h.GSID, Held: h.Held, ApprovedBy: h.ApprovedBy, RejectedBy: h.RejectedBy}
	if h.Approved != nil {
		v.Approved = *h.Approved
	}
	if h.Rejected != nil {
		v.Rejected = *h.Rejected
	}
	return v
}

// Plan is the plan page's data: Plan's report, as the console shows it.
func (c consoleBackend) Plan(ctx context.Context, only string, offset, limit int) (console.PlanView, error) {
	b := c.b
	cfg := b.Config()
	rep, err := Plan(ctx, b.opts.Store, cfg, PlanQuery{Only: only, Offset: offset, Limit: limit}, b.opts.Now())
	if errors.Is(err, ErrUnknownKind) {
		rep, err = Plan(ctx, b.opts.Store, cfg, PlanQuery{Offset: offset, Limit: limit}, b.opts.Now())
	}
	if err != nil {
		return console.PlanView{}, err
	}
	v := console.PlanView{Shadow: rep.Mode == config.ModeShadow, Planned: rep.Planned, Total: rep.Planned,
		WouldHold: rep.Guard.WouldHold, Guard: guardText(rep.Guard)}
	for _, k := range PlanKinds {
		v.Counts = append(v.Counts, console.KindCount{Kind: k, Users: rep.Counts[k]})
	}
	if rep.Only != "" {
		v.Total = rep.Counts[rep.Only]
	}
	for _, u := range rep.Users {
		pv := console.PlannedView{UserID: u.UserID, UserName: u.UserName, Deleted: u.Deleted, GSID: u.GSID, Match: u.Match,
			Reason: u.Reason, Planned: u.PlannedAt}
		for _, k := range u.Kinds {
			pv.Kinds = append(pv.Kinds, string(k))
		}
		for _, f := range u.Fields {
			pv.Fields = append(pv.Fields, console.PlannedFieldView{Field: f.Field, Old: f.Old, New: f.New, Sources: f.Sources})
		}
		v.Users = append(v.Users, pv)
	}
	for _, h := range rep.HeldUsers {
		v.Held = append(v.Held, heldView(h))
	}
	return v, nil
}

// guardText describes the guard in a sentence's words ("" when it is off).
func guardText(g GuardReport) string {
	if !g.Enabled {
		return ""
	}
	var limits []string
	if g.MaxUsers > 0 {
		limits = append(limits, fmt.Sprintf("%d users", g.MaxUsers))
	}
	if g.MaxPercent > 0 {
		limits = append(limits, fmt.Sprintf("%d%% of the %d managed users active in Gainsight", g.MaxPercent, g.Active))
	}
	limit := "no limit"
	if g.Limit >= 0 {
		limit = fmt.Sprintf("%d", g.Limit)
	}
	return fmt.Sprintf("deactivations beyond %s per %s are held (the limit is %s now; %d counted in this window)",
		strings.Join(limits, " or "), g.Window, limit, g.Counted)
}

// Decide approves or rejects held deactivations from the console.
func (c consoleBackend) Decide(ctx context.Context, userIDs []string, all, approve bool, actor string) (int, error) {
	decided, err := c.b.decideHolds(ctx, HoldRequest{Users: userIDs, All: all, Approve: approve, By: actor, Source: store.AuditSourceConsole})
	return len(decided), err
}

func (c consoleBackend) History(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	return c.b.opts.Store.ListAudit(ctx, q)
}

func (c consoleBackend) Groups(ctx context.Context) ([]console.GroupView, error) {
	cfg := c.b.Config()
	var out []console.GroupView
	for _, p := range cfg.Groups {
		v := console.GroupView{Profile: profileName(p.Name, p.DisplayName), LicenseType: p.LicenseType, Roles: p.Roles,
			SuperAdmin: p.SuperAdmin, Fields: p.Fields}
		switch {
		case p.DisplayName != "" && p.ExternalID != "":
			v.Matcher = fmt.Sprintf("displayName %q or externalId %q", p.DisplayName, p.ExternalID)
		case p.DisplayName != "":
			v.Matcher = fmt.Sprintf("displayName %q", p.DisplayName)
		default:
			v.Matcher = fmt.Sprintf("externalId %q", p.ExternalID)
		}
		members := map[string]bool{}
		seen := map[string]bool{}
		for _, k := range keysOf(p) {
			groups, _, err := c.b.opts.Store.ListGroups(ctx, store.Query{Field: k.field, Value: k.value}, true)
			if err != nil {
				return nil, fmt.Errorf("groups: %w", err)
			}
			for _, g := range groups {
				if seen[g.ID] {
					continue
				}
				seen[g.ID] = true
				v.Groups = append(v.Groups, console.GroupCount{ID: g.ID, DisplayName: g.DisplayName, Members: len(g.Members)})
				for _, m := range g.Members {
					members[m] = true
				}
			}
		}
		v.Members = len(members)
		out = append(out, v)
	}
	return out, nil
}

// Retry marks the user dirty, so the engine plans it again now, and
// records who asked.
func (c consoleBackend) Retry(ctx context.Context, userID, actor string) error {
	b := c.b
	info, err := b.opts.Store.GetSync(ctx, userID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("retry %s: %w", userID, err)
	}
	if err := b.opts.Store.MarkDirty(ctx, userID); err != nil {
		return fmt.Errorf("retry %s: %w", userID, err)
	}
	b.audit(ctx, []store.AuditEntry{{UserID: userID, UserName: info.UserName, Op: store.AuditRetry,
		Source: store.AuditSourceConsole, Actor: actor, GSID: info.GSID, Result: store.AuditOK,
		Detail: "queued from the console (state was " + info.State + ")"}})
	b.engine.Kick()
	return nil
}

// failures picks, from audit entries newest first, the latest failed (or
// unknown) Gainsight writes to show, and counts all of them by reason.
func failures(recent []store.AuditEntry) ([]store.AuditEntry, []console.ReasonCount) {
	var shown []store.AuditEntry
	byReason := map[string]*console.ReasonCount{}
	for _, e := range recent {
		if e.Source != store.AuditSourceSync || e.Result != store.AuditFailed && e.Result != store.AuditUnknown {
			continue
		}
		if len(shown) < failuresShown {
			shown = append(shown, e)
		}
		reason := e.Detail
		if reason == "" {
			reason = e.Result
		}
		rc := byReason[reason]
		if rc == nil {
			rc = &console.ReasonCount{Reason: reason, Last: e.Time}
			byReason[reason] = rc
		}
		rc.Writes++
	}
	reasons := make([]console.ReasonCount, 0, len(byReason))
	for _, rc := range byReason {
		reasons = append(reasons, *rc)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if reasons[i].Writes != reasons[j].Writes {
			return reasons[i].Writes > reasons[j].Writes
		}
		return reasons[i].Reason < reasons[j].Reason
	})
	return shown, reasons
}
