package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	bsync "github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/sync"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// A safe rollout: shadow mode's plan and the mass-deactivation guard's
// holds, as `scim-bridge plan` and `scim-bridge guard`, the admin API and
// the console show and decide them. The engine's side is in bridge/sync
// (shadow.go, guard.go); the state is the store's (store.Rollout).

// rolloutOf is the engine's view of cfg's sync.mode and sync.guard.
func rolloutOf(cfg *config.Config) bsync.Rollout {
	ro := bsync.Rollout{Shadow: cfg.Sync.Mode == config.ModeShadow}
	if g := cfg.Sync.Guard; g.Enabled {
		ro.Guard = &store.GuardPolicy{Window: g.Window, MaxUsers: g.MaxUsers, MaxPercent: g.MaxPercent}
	}
	return ro
}

// PlanKinds are the kinds `plan --only` selects, in the order the plan
// lists its counts: the engine's kinds, and held for the users the guard
// holds.
var PlanKinds = []string{
	string(bsync.KindAdopt), string(bsync.KindCreate), string(bsync.KindUpdate), string(bsync.KindDeactivate),
	string(bsync.KindReactivate), string(bsync.KindFailed), PlanHeld,
}

// PlanHeld selects the held users in a plan: those the guard holds now,
// and the stored plans that would stay held.
const PlanHeld = "held"

// PlanReport is the plan shadow mode stored and the users the guard
// holds: what `scim-bridge plan` prints and GET /admin/plan returns.
type PlanReport struct {
	// Mode is the sync engine's mode in the configuration read.
	Mode  string      `json:"mode"`
	Guard GuardReport `json:"guard"`
	// Planned is how many users have a stored plan, Counts how many
	// plans have each kind (every kind of PlanKinds present) and Held how
	// many users the guard holds now.
	Planned int            `json:"planned"`
	Counts  map[string]int `json:"counts"`
	Held    int            `json:"held"`
	// Only is the kind the lists were restricted to ("" for all).
	Only string `json:"only,omitempty"`
	// Users are the stored plans, by userName; HeldUsers the users the
	// guard holds, oldest first.
	Users     []PlannedUser `json:"users"`
	HeldUsers []HeldUser    `json:"heldUsers"`
}

// GuardReport is the guard's configuration and state.
type GuardReport struct {
	Enabled    bool   `json:"enabled"`
	MaxUsers   int    `json:"maxUsers"`
	MaxPercent int    `json:"maxPercent"`
	Window     string `json:"window"`
	// Active is the managed users active in Gainsight, Limit the
	// deactivations let through per window for them (-1: no limit),
	// Counted those counted in the window ending now.
	Active  int `json:"activeUsers"`
	Limit   int `json:"limit"`
	Counted int `json:"counted"`
	// WouldHold is how many of the planned deactivations the guard would
	// hold if they all went out now.
	WouldHold int `json:"wouldHold"`
}

// PlannedUser is one user's stored plan.
type PlannedUser struct {
	bsync.Planned
	PlannedAt time.Time `json:"plannedAt"`
}

// HeldUser is one user the guard holds.
type HeldUser struct {
	UserID     string     `json:"userId"`
	UserName   string     `json:"userName"`
	GSID       string     `json:"gsid,omitempty"`
	Held       time.Time  `json:"heldSince"`
	ApprovedBy string     `json:"approvedBy,omitempty"`
	Approved   *time.Time `json:"approvedAt,omitempty"`
	RejectedBy string     `json:"rejectedBy,omitempty"`
	Rejected   *time.Time `json:"rejectedAt,omitempty"`
}

func heldUser(h store.Hold) HeldUser {
	u := HeldUser{UserID: h.UserID, UserName: h.UserName, GSID: h.GSID, Held: h.Held, ApprovedBy: h.ApprovedBy, RejectedBy: h.RejectedBy}
	if !h.Approved.IsZero() {
		t := h.Approved
		u.Approved = &t
	}
	if !h.Rejected.IsZero() {
		t := h.Rejected
		u.Rejected = &t
	}
	return u
}

// PlanQuery selects what a plan report lists.
type PlanQuery struct {
	// Only is one of PlanKinds, or "" for everything.
	Only string
	// Offset and Limit page the stored plans (Limit 0: all of them).
	Offset, Limit int
}

// ErrUnknownKind is returned for a PlanQuery.Only not in PlanKinds.
var ErrUnknownKind = errors.New("unknown kind")

// Plan reports the plan st holds under cfg, at now.
func Plan(ctx context.Context, st store.Store, cfg *config.Config, q PlanQuery, now time.Time) (PlanReport, error) {
	if q.Only != "" && !slices.Contains(PlanKinds, q.Only) {
		return PlanReport{}, fmt.Errorf("plan: %w %q: one of %s", ErrUnknownKind, q.Only, strings.Join(PlanKinds, ", "))
	}
	g := cfg.Sync.Guard
	r := PlanReport{Mode: cfg.Sync.Mode, Only: q.Only, Counts: map[string]int{}, Users: []PlannedUser{}, HeldUsers: []HeldUser{},
		Guard: GuardReport{Enabled: g.Enabled, MaxUsers: g.MaxUsers, MaxPercent: g.MaxPercent, Window: g.Window.String(), Limit: -1}}
	total, byKind, err := st.CountPlans(ctx)
	if err != nil {
		return PlanReport{}, fmt.Errorf("plan: %w", err)
	}
	r.Planned = total
	for _, k := range PlanKinds {
		r.Counts[k] = byKind[planKind(k)]
	}
	gs, err := st.GuardStats(ctx, g.Window, now)
	if err != nil {
		return PlanReport{}, fmt.Errorf("plan: %w", err)
	}
	r.Held, r.Guard.Active, r.Guard.Counted = gs.Held, gs.Active, gs.Counted
	if ro := rolloutOf(cfg); ro.Guard != nil {
		r.Guard.Limit = ro.Guard.Limit(gs.Active)
		if r.Guard.Limit >= 0 {
			r.Guard.WouldHold = max(0, r.Counts[string(bsync.KindDeactivate)]-max(0, r.Guard.Limit-gs.Counted))
		}
	}
	plans, _, err := st.ListPlans(ctx, store.PlanQuery{Kind: planKind(q.Only), Offset: q.Offset, Limit: q.Limit})
	if err != nil {
		return PlanReport{}, fmt.Errorf("plan: %w", err)
	}
	for _, p := range plans {
		d, err := bsync.DecodePlanned(p)
		if err != nil {
			return PlanReport{}, fmt.Errorf("plan: %w", err)
		}
		r.Users = append(r.Users, PlannedUser{Planned: d, PlannedAt: p.Planned})
	}
	if q.Only == "" || q.Only == PlanHeld {
		holds, err := st.Holds(ctx)
		if err != nil {
			return PlanReport{}, fmt.Errorf("plan: %w", err)
		}
		for _, h := range holds {
			r.HeldUsers = append(r.HeldUsers, heldUser(h))
		}
	}
	return r, nil
}

// planKind is the engine's kind a PlanKinds entry selects in stored plans.
func planKind(k string) string {
	if k == PlanHeld {
		return string(bsync.KindHold)
	}
	return k
}

// HoldRequest is an operator's decision on held users.
type HoldRequest struct {
	// Users are held users by SCIM id, userName or GSID; All decides on
	// every held user instead.
	Users []string
	All   bool
	// Approve lets the deactivations through; otherwise they are
	// rejected: planned again from what the identity source says now.
	Approve bool
	// By names who decided (a token's name, an operator); Source is
	// where (store.AuditSourceAdmin, store.AuditSourceConsole).
	By     string
	Source string
	At     time.Time
}

// ErrNotHeld is returned when a user named in a HoldRequest is not held.
var ErrNotHeld = errors.New("not held")

// DecideHolds applies an operator's decision to held users in st and
// records it in the audit trail through audit (and in log): who decided,
// and when. A user named but not held fails the whole request, with
// nothing decided. It returns the holds the decision changed: a user
// approved twice is released once.
func DecideHolds(ctx context.Context, st store.Store, req HoldRequest, audit func(context.Context, []store.AuditEntry), log *zap.Logger) ([]store.Hold, error) {
	if req.By == "" {
		return nil, errors.New("guard: who decides is required")
	}
	if req.All == (len(req.Users) > 0) {
		return nil, errors.New("guard: name the held users, or all of them")
	}
	d := store.HoldDecision{All: req.All, Approve: req.Approve, By: req.By, At: req.At}
	if !req.All {
		holds, err := st.Holds(ctx)
		if err != nil {
			return nil, fmt.Errorf("guard: %w", err)
		}
		var missing []string
		for _, key := range req.Users {
			id := ""
			for _, h := range holds {
				if h.UserID == key || h.GSID != "" && h.GSID == key || store.Fold(h.UserName) == store.Fold(key) {
					id = h.UserID
					break
				}
			}
			if id == "" {
				missing = append(missing, key)
				continue
			}
			d.UserIDs = append(d.UserIDs, id)
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("guard: %w: %s (nothing was decided)", ErrNotHeld, strings.Join(missing, ", "))
		}
	}
	decided, err := st.DecideHolds(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	op, verb := store.AuditReject, "rejected"
	if req.Approve {
		op, verb = store.AuditApprove, "approved"
	}
	source := req.Source
	if source == "" {
		source = store.AuditSourceAdmin
	}
	entries := make([]store.AuditEntry, 0, len(decided))
	for _, h := range decided {
		detail := "deactivation approved: it is sent next"
		if !req.Approve {
			detail = "deactivation rejected: the user is planned again from what its identity source says now, and stays held while that still deactivates it"
		}
		entries = append(entries, store.AuditEntry{Time: h.Approved, UserID: h.UserID, UserName: h.UserName, Op: op,
			Source: source, Actor: req.By, GSID: h.GSID, Result: store.AuditOK, Detail: detail})
		if !req.Approve {
			entries[len(entries)-1].Time = h.Rejected
		}
	}
	if audit != nil && len(entries) > 0 {
		audit(ctx, entries)
	}
	if log != nil {
		log.Info("mass-deactivation guard: held deactivations "+verb, zap.String("by", req.By), zap.String("source", source),
			zap.Int("users", len(decided)), zap.Bool("all", req.All))
	}
	return decided, nil
}

// decideHolds is DecideHolds on the bridge's store, audit trail and log;
// the engine is kicked so approved users go out at once.
func (b *Bridge) decideHolds(ctx context.Context, req HoldRequest) ([]store.Hold, error) {
	if req.At.IsZero() {
		req.At = b.opts.Now()
	}
	decided, err := DecideHolds(ctx, b.opts.Store, req, b.audit, b.log.Named("guard"))
	if err == nil && len(decided) > 0 {
		b.engine.Kick()
	}
	return decided, err
}
