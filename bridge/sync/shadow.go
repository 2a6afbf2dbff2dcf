package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// Shadow mode. A pass loads and plans as in live mode — the look-ups for
// adoption included, spent from the rate budget — and then, instead of
// executing, stores each user's plan (store.Rollout's RecordPlans) and
// completes the dirty entry: nothing is written to Gainsight, and the
// user's link is left as it was. A user changed while in shadow mode is
// planned again and its plan replaced. When the engine runs live again
// (a reload, a restart, another replica), DrainOnce releases the stored
// plans to the dirty set, each with the priority it was planned with,
// and the normal engine syncs them from the state they are in then: what
// was planned is done once, and nothing is lost between the two modes.

// Planned is the plan shadow mode stores for one user, as `scim-bridge
// plan` and the admin API show it.
type Planned struct {
	UserID   string `json:"userId"`
	UserName string `json:"userName"`
	// Deleted: the SCIM user was deleted; its link is a tombstone.
	Deleted bool   `json:"deleted,omitempty"`
	GSID    string `json:"gsid,omitempty"`
	Kinds   []Kind `json:"kinds"`
	// Match is the join key an adoption matched on. Unread: the
	// adoption matched in the tenant snapshot, so Gainsight's values were
	// not read (Old is unknown) and every field is sent.
	Match  string         `json:"match,omitempty"`
	Unread bool           `json:"unread,omitempty"`
	Fields []PlannedField `json:"fields,omitempty"`
	Reason string         `json:"reason,omitempty"`
}

// PlannedField is one field a plan would send: what Gainsight was last
// confirmed (or found) to hold, what would be sent, and what produced the
// new value (the groups, "user" or "default", as explain says).
type PlannedField struct {
	Field   string   `json:"field"`
	Old     any      `json:"old"`
	New     any      `json:"new"`
	Sources []string `json:"sources,omitempty"`
}

// plannedKinds are the kinds a stored plan can have.
func plannedKinds() []Kind {
	return []Kind{KindAdopt, KindCreate, KindUpdate, KindDeactivate, KindReactivate, KindDeferManager, KindFailed, KindHold}
}

// planned describes c as shadow mode stores it.
func planned(c *Change) Planned {
	s := c.sub
	p := Planned{UserID: c.UserID, UserName: s.UserName, Deleted: s.Deleted, GSID: c.GSID, Kinds: c.Kinds, Match: c.Match,
		Unread: c.partial, Reason: c.Reason}
	if p.GSID == "" && s.Link != nil {
		p.GSID = s.Link.GSID
	}
	for _, f := range c.Fields {
		p.Fields = append(p.Fields, PlannedField{Field: f.Field, Old: f.Old, New: f.New, Sources: s.Sources[f.Field]})
	}
	return p
}

// shadowFinish stores the plans of a batch planned in shadow mode and
// completes the users' dirty entries; users that could not be planned (a
// store read or a look-up failed, no rate budget for the look-up) are
// retried, and keep whatever plan they had.
func (e *Engine) shadowFinish(parent context.Context, bp *batchPlan, lost map[string]bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), bookkeepingTimeout)
	defer cancel()
	now := e.opts.Now()
	var save []store.PlannedUser
	var drop []string
	for _, c := range bp.Changes {
		if c.retryErr != nil || lost[c.UserID] {
			continue
		}
		if len(c.Kinds) == 0 {
			drop = append(drop, c.UserID) // nothing to do: an older plan is stale
			continue
		}
		doc, err := json.Marshal(planned(c))
		if err != nil {
			e.log.Error("cannot encode a user's plan", zap.String("user_id", c.UserID), zap.Error(err))
			continue
		}
		kinds := make([]string, len(c.Kinds))
		for i, k := range c.Kinds {
			kinds[i] = string(k)
		}
		save = append(save, store.PlannedUser{UserID: c.UserID, UserName: c.sub.UserName, Kinds: kinds,
			Priority: c.sub.Dirty.Priority.Clamp(), Planned: now, Change: doc})
	}
	if err := e.opts.Store.RecordPlans(ctx, save, drop); err != nil {
		// The entries stay leased and are planned again when the lease
		// expires: nothing is lost.
		e.log.Warn("cannot store the batch's plans; they are planned again when their leases expire", zap.Error(err))
		return
	}
	for _, c := range bp.Changes {
		if lost[c.UserID] {
			continue
		}
		d := c.sub.Dirty
		var err error
		switch {
		case c.retryErr != nil && budgetOnly(c.retryErr):
			err = e.opts.Store.RetryDirty(ctx, e.opts.Owner, c.UserID, d.Generation, d.Attempts,
				e.nextSlot(ctx, now, d.Priority >= store.PriorityUrgent))
		case c.retryErr != nil:
			attempts := d.Attempts + 1
			err = e.opts.Store.RetryDirty(ctx, e.opts.Owner, c.UserID, d.Generation, attempts, now.Add(e.backoff(attempts)))
			e.log.Info("user could not be planned; retried", zap.String("user_id", c.UserID), zap.Int("attempts", attempts),
				zap.String("error", c.Reason))
		default:
			err = e.opts.Store.CompleteDirty(ctx, e.opts.Owner, c.UserID, d.Generation)
			e.metrics.outcomes.WithLabelValues(outcomePlanned, reasonShadow).Inc()
		}
		if err != nil && !errors.Is(err, store.ErrLeaseLost) {
			e.log.Warn("cannot update the dirty entry; it is planned again when its lease expires", zap.String("user_id", c.UserID), zap.Error(err))
		}
	}
	e.log.Info("shadow mode: batch planned, nothing sent", zap.Int("users", len(bp.Changes)), zap.Int("plans", len(save)))
}

// releasePlanChunk is how many stored plans one release marks dirty.
const releasePlanChunk = 500

// releasePlans releases every plan shadow mode stored to the dirty set.
func (e *Engine) releasePlans(ctx context.Context) error {
	total := 0
	for {
		n, err := e.opts.Store.ReleasePlans(ctx, releasePlanChunk)
		if err != nil {
			return fmt.Errorf("sync: release the plans of shadow mode: %w", err)
		}
		total += n
		if n < releasePlanChunk {
			break
		}
	}
	if total > 0 {
		e.log.Info("live mode: the users shadow mode planned are synced now", zap.Int("users", total))
	}
	return nil
}

// DecodePlanned decodes a plan that shadow mode stored.
func DecodePlanned(p store.PlannedUser) (Planned, error) {
	var out Planned
	if err := json.Unmarshal(p.Change, &out); err != nil {
		return Planned{}, fmt.Errorf("decode the plan of %s: %w", p.UserID, err)
	}
	return out, nil
}
