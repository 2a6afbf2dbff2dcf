package bridge

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// locker is implemented by stores that can elect one replica for a job
// (PostgreSQL: an advisory lock; SQLite: a process-local mutex).
type locker interface {
	TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}

// jobReconcile names the periodic reconcile, in the store's job table and
// as a lock.
const jobReconcile = "reconcile"

// reconcileLoop re-plans every user once per interval, so users that failed
// permanently are retried and nothing drifts from the configuration, and
// purges the tombstones older than the retention. The engine only sends
// what differs from what Gainsight confirmed, so a reconcile of users that
// did not change costs no Gainsight calls. The store records when it last
// ran, so replicas run it once per interval between them, whichever comes
// first; each replica looks a few times per interval.
func (b *Bridge) reconcileLoop(ctx context.Context, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(min(max(every/12, time.Second), 5*time.Minute))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, ran, err := b.reconcileOnce(ctx, every)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				b.log.Error("periodic reconcile", zap.Error(err))
			}
		case ran:
			b.log.Info("periodic reconcile: users marked dirty", zap.Int("users", n))
		default:
			b.log.Debug("periodic reconcile: not due, or running on another replica")
		}
	}
}

// reconcileOnce marks every user dirty and purges old tombstones, unless
// the reconcile ran within every (0: run now) or another replica runs it
// at this moment; ran says whether it did.
func (b *Bridge) reconcileOnce(ctx context.Context, every time.Duration) (n int, ran bool, err error) {
	if l, ok := b.opts.Store.(locker); ok {
		unlock, got, err := l.TryLock(ctx, jobReconcile)
		if err != nil {
			return 0, false, err
		}
		if !got {
			return 0, false, nil
		}
		defer unlock()
	}
	due, err := b.opts.Store.ClaimJob(ctx, jobReconcile, every, b.opts.Now())
	if err != nil || !due {
		return 0, false, err
	}
	ids, err := allUserIDs(ctx, b.opts.Store)
	if err != nil {
		return 0, true, err
	}
	// A reconcile does not know what changed: normal.
	if err := markDirtyChunked(ctx, b.opts.Store, store.PriorityNormal, ids); err != nil {
		return 0, true, err
	}
	b.engine.Kick()
	if _, err := b.engine.PurgeTombstones(ctx); err != nil {
		return len(ids), true, err
	}
	return len(ids), true, nil
}

// allUserIDs lists every user id, a page at a time, without loading the
// users.
func allUserIDs(ctx context.Context, st store.Store) ([]string, error) {
	const page = 1000
	var ids []string
	after := ""
	for {
		got, err := st.ListUserIDs(ctx, after, page)
		if err != nil {
			return nil, fmt.Errorf("list user ids: %w", err)
		}
		ids = append(ids, got...)
		if len(got) < page {
			return ids, nil
		}
		after = got[len(got)-1]
	}
}
