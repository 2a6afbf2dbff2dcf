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

// DrainOnce processes every dirty entry that is due now, BatchSize users at
// a time, until none is left, and returns how many entries it processed.
// Entries put back for a later retry are not due again in the same pass.
// Store errors end the pass; Gainsight errors only affect the users
// concerned. While the rate budget has no call slot within half a lease,
// or Gainsight is failing as a whole, it claims nothing.
//
// Each batch is one pass: load (reads), plan (pure, plan.go), execute
// (writes), finish (outcomes). The batch's leases are extended while it
// runs, so no other worker takes its users while their calls are in
// flight.
func (e *Engine) DrainOnce(ctx context.Context) (int, error) {
	if e.opts.Planner() == nil {
		return 0, errors.New("sync: no planner configured")
	}
	total := 0
	var passErr error
	for ctx.Err() == nil {
		if until := e.paused(); e.opts.Now().Before(until) {
			e.log.Debug("gainsight is failing; draining paused", zap.Time("until", until))
			break
		}
		if e.budgetSpent(ctx) {
			break
		}
		claimed, err := e.opts.Store.ClaimDirty(ctx, e.opts.Owner, e.opts.BatchSize, e.opts.Lease, e.opts.Now())
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
		e.runBatch(ctx, claimed, e.opts.Planner())
	}
	if err := e.refreshGauges(context.WithoutCancel(ctx)); err != nil && passErr == nil {
		passErr = err
	}
	return total, passErr
}

// runBatch runs one pass over a claimed batch.
func (e *Engine) runBatch(ctx context.Context, claimed []store.Dirty, planner Planner) {
	ids := make([]string, len(claimed))
	for i, d := range claimed {
		ids[i] = d.UserID
	}
	k := e.keepLeases(ctx, ids)
	// A call does not wait for a rate budget slot after the lease the
	// batch was claimed for would have ended: its users wait for the next
	// slot without holding leases.
	bctx, cancel := context.WithTimeout(ctx, e.opts.BatchTimeout)
	bctx = gainsight.WithBudgetDeadline(bctx, e.opts.Now().Add(e.opts.Lease))
	subs, lk := e.load(bctx, claimed, planner)
	runs := e.execute(bctx, planBatch(subs, lk, e.opts.UserNameField))
	cancel()
	lost := k.stop(ctx)
	e.flushAudit(ctx, runs)
	e.finish(ctx, runs, lost)
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

// budgetSpent reports whether the rate budget has no call slot within half
// a lease, so nothing is claimed now.
func (e *Engine) budgetSpent(ctx context.Context) bool {
	if e.opts.Budget == nil {
		return false
	}
	now := e.opts.Now()
	next, err := e.opts.Budget.NextSlot(ctx, now)
	if err != nil {
		e.log.Warn("cannot read the rate budget; claiming anyway", zap.Error(err))
		return false
	}
	if !next.After(now.Add(e.opts.Lease / 2)) {
		return false
	}
	e.metrics.budgetWaits.Inc()
	e.mu.Lock()
	first := !e.budgetUntil.Equal(next)
	e.budgetUntil = next
	e.mu.Unlock()
	if first {
		e.log.Info("rate budget spent; nothing is claimed until the next call slot", zap.Time("next_slot", next))
	}
	return true
}

// nextSlot is when a user held back for want of budget is due again: the
// budget's next slot, or a poll interval from now.
func (e *Engine) nextSlot(ctx context.Context, now time.Time) time.Time {
	if e.opts.Budget != nil {
		if next, err := e.opts.Budget.NextSlot(ctx, now); err == nil && next.After(now) {
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
	for _, s := range []string{store.StatePending, store.StateSynced, store.StateFailed} {
		e.metrics.users.WithLabelValues(s).Set(float64(states[s]))
	}
	return nil
}
