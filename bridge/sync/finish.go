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

// bookkeepingTimeout bounds the store writes that record a pass's results;
// they run even when the pass's context was cancelled, so a user created in
// Gainsight just before shutdown keeps its GSID.
const bookkeepingTimeout = 30 * time.Second

// outcome classifies the pass's result for a user.
func (r *run) outcome() (string, string) {
	c := r.c
	switch {
	case c.has(KindHold):
		return outcomeDeferred, reasonHeld
	case c.failErr != nil && r.deactivateErr != nil && budgetOnly(r.deactivateErr):
		// Failed for good otherwise, but the user still has to be
		// deactivated: retried for that.
		return outcomeRetry, reasonBudget
	case c.failErr != nil && r.deactivateErr != nil:
		return outcomeRetry, retryReason(gainsight.ReasonOf(r.deactivateErr))
	case c.failErr != nil:
		return outcomeFailed, c.failReason
	case c.retryErr != nil && budgetOnly(c.retryErr), c.retryErr == nil && r.budget:
		return outcomeRetry, reasonBudget
	case c.retryErr != nil:
		return outcomeRetry, retryReason(gainsight.ReasonOf(c.retryErr))
	case c.has(KindDeferManager):
		return outcomeDeferred, reasonManagerPending
	case c.has(KindCarry):
		return outcomeDeferred, reasonCarried
	case r.did(KindCreate):
		return outcomeSynced, reasonCreated
	case r.linked && !c.sub.Deleted:
		return outcomeSynced, reasonAdopted
	case r.did(KindReactivate):
		return outcomeSynced, reasonReactivated
	case r.did(KindDeactivate):
		return outcomeSynced, reasonDeactivated
	case r.did(KindUpdate):
		return outcomeSynced, reasonUpdated
	case c.sub.Deleted && r.gsid == "":
		return outcomeSynced, reasonOK
	}
	return outcomeSynced, reasonUnchanged
}

// finish records each user's outcome: its link, then its dirty entry.
// parent is the pass's context, whose end means shutdown; lost holds the
// users whose lease this engine lost while the batch ran. The users'
// records are independent of one another (each write of a link is a
// compare-and-swap, each dirty entry is completed only at the generation
// the pass claimed) and are written concurrently, so that the store
// commits a batch's records together (group commit) instead of one
// transaction, and one disk flush, per write.
func (e *Engine) finish(parent context.Context, runs []*run, lost map[string]bool) {
	var wg stdsync.WaitGroup
	for _, r := range runs {
		wg.Go(func() { e.finishUser(parent, r, lost[r.c.UserID]) })
	}
	wg.Wait()
}

func (e *Engine) finishUser(parent context.Context, r *run, leaseLost bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), bookkeepingTimeout)
	defer cancel()
	c := r.c
	now := e.opts.Now()
	log := e.log.With(zap.String("user_id", c.UserID))
	outcome, reason := r.outcome()
	shutdown := parent.Err() != nil && outcome == outcomeRetry

	state, lastErr, keepErr := store.StateSynced, "", false
	switch {
	case outcome == outcomeRetry && c.failErr != nil:
		state, lastErr = store.StatePending, maskEmails(c.failErr.Error())
		if reason != reasonBudget {
			lastErr += "; the deactivation is retried: " + maskEmails(r.deactivateErr.Error())
		}
	case outcome == outcomeFailed:
		state, lastErr = store.StateFailed, maskEmails(c.failErr.Error())
	case reason == reasonBudget:
		state, keepErr = store.StatePending, true
	case outcome == outcomeRetry:
		state, lastErr = store.StatePending, maskEmails(c.retryErr.Error())
	case reason == reasonCarried:
		state, keepErr = store.StatePending, true
	case reason == reasonHeld:
		state, lastErr = store.StateHeld, c.Reason
	case outcome == outcomeDeferred:
		state, lastErr = store.StatePending, c.Reason
	}
	if err := e.saveLink(ctx, r, state, lastErr, keepErr, leaseLost); err != nil {
		log.Warn("cannot record the sync outcome; the user is synced again when its lease expires", zap.Error(err))
		return
	}
	if r.linked && !c.sub.Deleted {
		e.markReports(ctx, c.UserID, log)
	}
	if c.unhold || c.approved && r.did(KindDeactivate) {
		// The approved deactivation was sent, or the user no longer
		// needs one: it is no longer held.
		if err := e.opts.Store.ReleaseHolds(ctx, c.UserID); err != nil {
			log.Warn("cannot release the user's hold; it is released on its next pass", zap.Error(err))
		}
	}
	if leaseLost {
		e.lostLease(ctx, r, log)
		return
	}

	var err error
	switch {
	case shutdown:
		err = e.opts.Store.RetryDirty(ctx, e.opts.Owner, c.UserID, c.sub.Dirty.Generation, c.sub.Dirty.Attempts, now)
	case outcome == outcomeSynced || outcome == outcomeFailed || reason == reasonHeld:
		// A held user waits for an operator's decision, which marks it
		// dirty again, or for a change from its identity source.
		err = e.opts.Store.CompleteDirty(ctx, e.opts.Owner, c.UserID, c.sub.Dirty.Generation)
	case reason == reasonBudget:
		// Not an attempt: the call was never made.
		err = e.opts.Store.RetryDirty(ctx, e.opts.Owner, c.UserID, c.sub.Dirty.Generation, c.sub.Dirty.Attempts,
			e.nextSlot(ctx, now, c.sub.Dirty.Priority >= store.PriorityUrgent))
	case reason == reasonCarried:
		// Not an attempt: it waits for the next pass's call, in its place.
		err = e.opts.Store.RetryDirty(ctx, e.opts.Owner, c.UserID, c.sub.Dirty.Generation, c.sub.Dirty.Attempts, now)
	default:
		attempts := c.sub.Dirty.Attempts + 1
		next := now.Add(e.backoff(attempts))
		err = e.opts.Store.RetryDirty(ctx, e.opts.Owner, c.UserID, c.sub.Dirty.Generation, attempts, next)
		if outcome == outcomeRetry {
			log.Info("user sync will be retried", zap.String("reason", reason), zap.Int("attempts", attempts),
				zap.Time("next_attempt", next), zap.String("error", lastErr))
		} else {
			log.Debug("user deferred until its manager is linked", zap.String("manager_id", c.sub.ManagerID))
		}
	}
	switch {
	case errors.Is(err, store.ErrLeaseLost):
		e.lostLease(ctx, r, log)
		return
	case err != nil:
		log.Warn("cannot update the dirty entry; it is retried when its lease expires", zap.Error(err))
	}
	if shutdown {
		return
	}
	if outcome == outcomeFailed {
		log.Warn("user sync failed; it is retried after the user changes", zap.String("reason", reason),
			zap.Error(maskedError(c.failErr)))
	}
	e.metrics.outcomes.WithLabelValues(outcome, reason).Inc()
}

// saveLink records what the pass learned and did on the user's link, with
// a compare-and-swap (the store re-runs the function on a newer link).
//
// The link may have moved to another user meanwhile: the user was deleted
// and its userName created again, which takes the tombstone's link over.
// What this pass did to the Gainsight user is still a fact about that
// link's Gainsight user, so it is recorded all the same, and the new
// owner, whose own pass may have planned against the old state, is marked
// dirty to plan again. Only the state and last error are the user's and
// are left to the new owner. That one invariant replaces the former
// hand-over and keep-orphan compensations.
func (e *Engine) saveLink(ctx context.Context, r *run, state, lastErr string, keepErr, leaseLost bool) error {
	link := r.c.sub.Link
	if link == nil {
		return nil
	}
	movedTo := ""
	_, err := e.opts.Store.UpdateSync(ctx, link.LinkID, func(old store.SyncInfo) (store.SyncInfo, error) {
		movedTo = ""
		if old.UserID != r.c.UserID {
			movedTo = old.UserID
		}
		same := r.gsid != "" && (old.GSID == r.gsid || old.GSID == "" || old.GSID == r.c.vanished)
		switch {
		case same && r.known:
			old.GSID, old.Record, old.Active = r.gsid, cloneRecord(r.record), r.active
		case same:
			old.GSID = r.gsid
			old.Record = applyChanges(old.Record, r.deltas)
			if r.statusSet {
				old.Active = r.active
				old.Record = withStatus(old.Record, r.active)
			}
		case r.gsid == "" && r.c.vanished != "" && old.GSID == r.c.vanished:
			old.GSID, old.Record, old.Active = "", nil, false
		}
		switch {
		case r.unknown || leaseLost:
			old.Unknown = true
		case r.known && old.Version == r.seen:
			old.Unknown = false
		}
		if movedTo == "" && !leaseLost {
			old.State = state
			if !keepErr {
				old.LastError = lastErr
			}
		}
		old.Updated = e.opts.Now()
		return old, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // the link is gone: the user and its tombstone were removed
	}
	if err != nil {
		return fmt.Errorf("record the link: %w", err)
	}
	if movedTo != "" {
		if err := e.requeue(ctx, store.PriorityNormal, movedTo); err != nil {
			return fmt.Errorf("mark user %s, who took the link over, dirty: %w", movedTo, err)
		}
	}
	return nil
}

// lostLease handles a user whose lease another worker took: what this pass
// did is recorded as of unknown outcome (the link's Unknown flag, set by
// saveLink or here) and the user is marked dirty, so whoever holds it now
// re-reads Gainsight instead of trusting a state this pass may have
// changed under it. Nothing of the other worker's claim is touched.
func (e *Engine) lostLease(ctx context.Context, r *run, log *zap.Logger) {
	e.metrics.leasesLost.Inc()
	log.Warn("lease lost to another worker; this pass's writes are recorded as of unknown outcome")
	if link := r.c.sub.Link; link != nil {
		_, err := e.opts.Store.UpdateSync(ctx, link.LinkID, func(old store.SyncInfo) (store.SyncInfo, error) {
			old.Unknown = true
			return old, nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			log.Warn("cannot flag the link's state unknown", zap.Error(err))
		}
	}
	if err := e.requeue(ctx, r.c.sub.Dirty.Priority.Clamp(), r.c.UserID); err != nil {
		log.Warn("cannot mark the user dirty after a lost lease", zap.Error(err))
	}
}

// markReports marks the users who report to a newly linked user dirty,
// so they get its GSID as their Manager.
func (e *Engine) markReports(ctx context.Context, id string, log *zap.Logger) {
	reports, err := e.opts.Store.UsersByManager(ctx, id)
	if err != nil {
		log.Warn("cannot look up reports of a newly linked user", zap.Error(err))
		return
	}
	if len(reports) > 0 {
		// Their Manager field changes: profile work.
		if err := e.requeue(ctx, store.PriorityLow, reports...); err != nil {
			log.Warn("cannot mark reports of a newly linked user dirty", zap.Error(err))
		}
	}
}

// requeue marks users dirty from within a pass (the reports of a newly
// linked manager, the new owner of a link, a user whose lease was lost),
// so that the pass goes on to them rather than ending (DrainOnce).
func (e *Engine) requeue(ctx context.Context, prio store.Priority, ids ...string) error {
	if err := e.opts.Store.MarkDirtyAs(ctx, prio, ids...); err != nil {
		return err
	}
	e.requeued.Store(true)
	return nil
}
