package sync

import (
	"context"
	"errors"
	"fmt"
	stdsync "sync"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// DrainOnce processes every dirty entry that is due now, highest priority
// first, until none is left, and returns how many entries it processed.
// Entries put back for a later retry are not due again in the same pass,
// and a claim that finds fewer entries than it could take ends the pass.
// Store errors end the pass; Gainsight errors only affect the users
// concerned. While the rate budget has no call slot within half a lease,
// or Gainsight is failing as a whole, it claims nothing; while only the
// budget's urgent share is left, it claims only urgent entries.
//
// Each batch is one pass: load (reads), plan (pure, plan.go), execute
// (writes), finish (outcomes). The batch's leases are extended while it
// runs, so no other worker takes its users while their calls are in
// flight. Before each call of a pass that is not urgent, urgent entries
// that became due are claimed and passed first (preempt), so a
// deactivation waits for at most the call in flight.
func (e *Engine) DrainOnce(ctx context.Context) (int, error) {
	if e.opts.Planner() == nil {
		return 0, errors.New("sync: no planner configured")
	}
	total := 0
	var passErr error
	if !e.rollout().Shadow {
		// What shadow mode planned is synced now: whether the mode
		// changed by a reload, a restart or on another replica.
		if err := e.releasePlans(ctx); err != nil {
			return 0, err
		}
	}
	e.prepareSnapshot(ctx)
	e.requeued.Store(false)
	for ctx.Err() == nil {
		if until := e.paused(); e.opts.Now().Before(until) {
			e.log.Debug("gainsight is failing; draining paused", zap.Time("until", until))
			break
		}
		min, ok := e.claimable(ctx)
		if !ok {
			break
		}
		if e.listingUnderWay() && min < store.PriorityHigh {
			// The normal work is mostly the unlinked users the listing
			// will serve: it waits for it instead of spending look-ups.
			min = store.PriorityHigh
		}
		limit := e.opts.BatchSize * claimBatches
		if min >= store.PriorityUrgent {
			limit = e.opts.BatchSize
		}
		claimed, err := e.opts.Store.ClaimDirtyMin(ctx, e.opts.Owner, min, limit, e.opts.Lease, e.opts.Now())
		if err != nil {
			passErr = fmt.Errorf("sync: claim dirty users: %w", err)
			break
		}
		if len(claimed) == 0 {
			break
		}
		total += len(claimed)
		// The planner is taken per batch: a config reload swaps it before
		// it marks the users it affects, so they are planned anew.
		e.runBatch(ctx, claimed, len(claimed) == limit, e.opts.Planner())
		if len(claimed) < limit && !e.requeued.Swap(false) {
			// Everything due when the claim ran is taken. Users marked
			// dirty since by the identity source come with a kick and
			// wait for the batch window (Run): an import that starts
			// during a pass is sent in full calls, not chased in
			// part-empty ones. Users the pass marked itself (requeue)
			// are passed at once.
			break
		}
	}
	if err := e.refreshGauges(context.WithoutCancel(ctx)); err != nil && passErr == nil {
		passErr = err
	}
	return total, passErr
}

// splitUrgent puts the urgent entries of a claim in a part of their own,
// first: a deactivation then goes out in the first call that can carry
// it, never behind another user's look-up or create.
func splitUrgent(claimed []store.Dirty) [][]store.Dirty {
	var urgent, rest []store.Dirty
	for _, d := range claimed {
		if d.Priority >= store.PriorityUrgent {
			urgent = append(urgent, d)
		} else {
			rest = append(rest, d)
		}
	}
	var parts [][]store.Dirty
	for _, p := range [][]store.Dirty{urgent, rest} {
		if len(p) > 0 {
			parts = append(parts, p)
		}
	}
	return parts
}

// preemptKey marks the context of an urgent pass, which is not preempted.
type preemptKey struct{}

// runBatch runs the passes over a claimed batch: its urgent entries first,
// then the rest. full says the claim took as many entries as it could, so
// more are waiting: a call the pass would send part-empty may then be
// carried to the next pass (plan.go, carryOver).
func (e *Engine) runBatch(ctx context.Context, claimed []store.Dirty, full bool, planner Planner) {
	ids := make([]string, len(claimed))
	for i, d := range claimed {
		ids[i] = d.UserID
	}
	k := e.keepLeases(ctx, ids)
	parts := splitUrgent(claimed)
	for i, part := range parts {
		// A call does not wait for a rate budget slot after the lease the
		// batch was claimed for would have ended: its users wait for the
		// next slot without holding leases.
		bctx, cancel := context.WithTimeout(ctx, e.opts.BatchTimeout)
		bctx = gainsight.WithBudgetDeadline(bctx, e.opts.Now().Add(e.opts.Lease))
		urgent := part[0].Priority >= store.PriorityUrgent
		var before func()
		if !urgent && ctx.Value(preemptKey{}) == nil {
			before = func() { e.preempt(ctx) }
		}
		// The mode is read once per part: a reload to live applies to
		// the next one.
		ro := e.rollout()
		subs, lk := e.load(bctx, part, planner, before, ro.Shadow)
		bp := planBatch(subs, lk, e.opts.UserNameField)
		counted := bp.guard()
		if ro.Shadow {
			cancel()
			e.shadowFinish(ctx, bp, k.after(ctx, i == len(parts)-1))
			continue
		}
		e.reserveDeactivations(bctx, bp, counted, ro.Guard)
		if full && !urgent {
			bp.carryOver(e.opts.BatchSize, lk.Called)
		}
		runs := e.execute(bctx, bp, before)
		cancel()
		lost := k.after(ctx, i == len(parts)-1)
		e.flushAudit(ctx, runs)
		e.finish(ctx, runs, lost)
	}
}

// preempt claims the urgent entries that are due and passes them, before
// a call of a pass that is not urgent: a deactivation marked while an
// import drains goes out after the call in flight, not after the import.
// The planner is taken after each claim, never from the pass preempted: a
// config reload swaps the planner before it marks the users it affects,
// so a user claimed here may carry the reload's mark.
func (e *Engine) preempt(ctx context.Context) {
	ctx = context.WithValue(ctx, preemptKey{}, true)
	for ctx.Err() == nil {
		if until := e.paused(); e.opts.Now().Before(until) {
			return
		}
		claimed, err := e.opts.Store.ClaimDirtyMin(ctx, e.opts.Owner, store.PriorityUrgent, e.opts.BatchSize, e.opts.Lease, e.opts.Now())
		if err != nil {
			e.log.Warn("cannot claim urgent users between calls", zap.Error(err))
			return
		}
		if len(claimed) == 0 {
			return
		}
		e.metrics.preemptions.Inc()
		e.log.Info("urgent users passed before the next call of a pass", zap.Int("users", len(claimed)))
		e.runBatch(ctx, claimed, false, e.opts.Planner())
	}
}

// leaseKeeper extends a batch's leases while the batch runs.
type leaseKeeper struct {
	e    *Engine
	ids  []string
	quit chan struct{}
	done chan struct{}
	mu   stdsync.Mutex
	lost map[string]bool
}

// keepLeases extends the leases of ids every third of a lease until stop.
func (e *Engine) keepLeases(ctx context.Context, ids []string) *leaseKeeper {
	k := &leaseKeeper{e: e, ids: ids, quit: make(chan struct{}), done: make(chan struct{}), lost: map[string]bool{}}
	go func() {
		defer close(k.done)
		t := time.NewTicker(max(e.opts.Lease/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-k.quit:
				return
			case <-t.C:
				k.extend(ctx)
			}
		}
	}()
	return k
}

// extend moves the leases still held to a lease from now and notes the
// lost ones.
func (k *leaseKeeper) extend(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	lost, err := k.e.opts.Store.ExtendLease(ctx, k.e.opts.Owner, k.ids, k.e.opts.Now().Add(k.e.opts.Lease))
	if err != nil {
		k.e.log.Warn("cannot extend the batch's leases", zap.Error(err))
		return
	}
	k.mu.Lock()
	for _, id := range lost {
		k.lost[id] = true
	}
	k.mu.Unlock()
}

// check extends the leases still held now and returns the users whose
// lease was lost so far.
func (k *leaseKeeper) check(ctx context.Context) map[string]bool {
	k.extend(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[string]bool, len(k.lost))
	for id := range k.lost {
		out[id] = true
	}
	return out
}

// after returns the users whose lease was lost when a part of the batch
// is done: through stop after the last part, check after the others.
func (k *leaseKeeper) after(ctx context.Context, last bool) map[string]bool {
	if last {
		return k.stop(ctx)
	}
	return k.check(ctx)
}

// stop ends the extensions, extends once more so the outcomes are
// recorded under a fresh lease, and returns the users whose lease was
// lost.
func (k *leaseKeeper) stop(ctx context.Context) map[string]bool {
	close(k.quit)
	<-k.done
	k.extend(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lost
}

// claimable reports whether work may be claimed now and the lowest
// priority worth claiming: any while the budget has a call slot within
// half a lease, urgent only while just its urgent share has one, none
// otherwise (logged once per wait).
func (e *Engine) claimable(ctx context.Context) (store.Priority, bool) {
	min, next, ok := e.budgetRoom(ctx)
	if ok {
		return min, true
	}
	e.metrics.budgetWaits.Inc()
	e.mu.Lock()
	first := !e.budgetUntil.Equal(next)
	e.budgetUntil = next
	e.mu.Unlock()
	if first {
		e.log.Info("rate budget spent; nothing is claimed until the next call slot", zap.Time("next_slot", next))
	}
	return 0, false
}

// budgetRoom is claimable without its log and metric: the lowest priority
// the budget has a slot for within half a lease, or the next slot when it
// has none.
func (e *Engine) budgetRoom(ctx context.Context) (store.Priority, time.Time, bool) {
	if e.opts.Budget == nil {
		return store.PriorityLow, time.Time{}, true
	}
	now := e.opts.Now()
	horizon := now.Add(e.opts.Lease / 2)
	var next time.Time
	for _, urgent := range []bool{false, true} {
		at, err := e.opts.Budget.NextSlot(ctx, now, urgent)
		if err != nil {
			e.log.Warn("cannot read the rate budget; claiming anyway", zap.Error(err))
			return store.PriorityLow, time.Time{}, true
		}
		if !at.After(horizon) {
			if urgent {
				return store.PriorityUrgent, time.Time{}, true
			}
			return store.PriorityLow, time.Time{}, true
		}
		next = at
	}
	return 0, next, false
}

// nextSlot is when a user held back for want of budget is due again: the
// budget's next slot (for urgent work when the user is urgent), or a poll
// interval from now.
func (e *Engine) nextSlot(ctx context.Context, now time.Time, urgent bool) time.Time {
	if e.opts.Budget != nil {
		if next, err := e.opts.Budget.NextSlot(ctx, now, urgent); err == nil && next.After(now) {
			return next
		}
	}
	return now.Add(e.opts.PollInterval)
}

// refreshGauges updates the dirty-set and sync-state gauges from the store.
func (e *Engine) refreshGauges(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	count, oldest, err := e.opts.Store.DirtyStats(ctx)
	if err != nil {
		return fmt.Errorf("sync: dirty stats: %w", err)
	}
	e.metrics.dirtyUsers.Set(float64(count))
	age := 0.0
	if count > 0 && !oldest.IsZero() {
		age = max(0, e.opts.Now().Sub(oldest).Seconds())
	}
	e.metrics.oldestDirty.Set(age)
	states, err := e.opts.Store.CountSyncStates(ctx)
	if err != nil {
		return fmt.Errorf("sync: count sync states: %w", err)
	}
	for _, s := range store.SyncStates() {
		e.metrics.users.WithLabelValues(s).Set(float64(states[s]))
	}
	byPrio, err := e.opts.Store.DirtyByPriority(ctx)
	if err != nil {
		return fmt.Errorf("sync: dirty users by priority: %w", err)
	}
	for _, st := range byPrio {
		e.metrics.pending.WithLabelValues(st.Priority.String()).Set(float64(st.Count))
		if st.Priority == store.PriorityUrgent {
			age := 0.0
			if st.Count > 0 && !st.Oldest.IsZero() {
				age = max(0, e.opts.Now().Sub(st.Oldest).Seconds())
			}
			e.metrics.oldestUrgent.Set(age)
		}
	}
	e.refreshSnapshotGauges(ctx)
	return e.refreshRolloutGauges(ctx)
}

// refreshRolloutGauges updates the mode, the plans shadow mode stored and
// the guard's gauges.
func (e *Engine) refreshRolloutGauges(ctx context.Context) error {
	ro := e.rollout()
	live, shadow := 1.0, 0.0
	if ro.Shadow {
		live, shadow = 0, 1
	}
	e.metrics.mode.WithLabelValues(modeLive).Set(live)
	e.metrics.mode.WithLabelValues(modeShadow).Set(shadow)
	_, byKind, err := e.opts.Store.CountPlans(ctx)
	if err != nil {
		return fmt.Errorf("sync: count plans: %w", err)
	}
	for _, k := range plannedKinds() {
		e.metrics.planned.WithLabelValues(string(k)).Set(float64(byKind[string(k)]))
	}
	window := time.Hour
	if ro.Guard != nil {
		window = ro.Guard.Window
	}
	st, err := e.opts.Store.GuardStats(ctx, window, e.opts.Now())
	if err != nil {
		return fmt.Errorf("sync: guard stats: %w", err)
	}
	e.metrics.guardAwaiting.Set(float64(st.Awaiting))
	e.metrics.guardCounted.Set(float64(st.Counted))
	limit := -1
	if ro.Guard != nil {
		limit = ro.Guard.Limit(st.Active)
	}
	e.metrics.guardLimit.Set(float64(limit))
	return nil
}
