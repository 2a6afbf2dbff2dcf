package bridge

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// locker is implemented by stores that can elect one replica for a job
// (PostgreSQL: an advisory lock; SQLite: a process-local mutex).
type locker interface {
	TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}

// reconcileLoop re-plans every user once per interval, so users that failed
// permanently are retried and nothing drifts from the configuration. The
// engine only sends what differs from what Gainsight confirmed, so a
// reconcile of users that did not change costs no Gainsight calls. With
// several replicas, one of them runs it.
func (b *Bridge) reconcileLoop(ctx context.Context, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, ran, err := b.markAllOnce(ctx, "reconcile")
		switch {
		case err != nil:
			if ctx.Err() == nil {
				b.log.Error("periodic reconcile", zap.Error(err))
			}
		case ran:
			b.log.Info("periodic reconcile: users marked dirty", zap.Int("users", n))
		default:
			b.log.Debug("periodic reconcile runs on another replica")
		}
	}
}

// markAllOnce marks every user dirty under the named lock. ran is false when
// another replica holds the lock.
func (b *Bridge) markAllOnce(ctx context.Context, job string) (n int, ran bool, err error) {
	if l, ok := b.opts.Store.(locker); ok {
		unlock, got, err := l.TryLock(ctx, job)
		if err != nil {
			return 0, false, err
		}
		if !got {
			return 0, false, nil
		}
		defer unlock()
	}
	ids, err := allUserIDs(ctx, b.opts.Store)
	if err != nil {
		return 0, true, err
	}
	if err := markDirtyChunked(ctx, b.opts.Store, ids); err != nil {
		return 0, true, err
	}
	b.engine.Kick()
	return len(ids), true, nil
}
