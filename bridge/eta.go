package bridge

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
)

// etaInterval is how often the drain ETA gauge is refreshed.
const etaInterval = 30 * time.Second

// maxETAWindows bounds DrainETA's walk over future budget windows (about
// eleven years of hours).
const maxETAWindows = 100000

// DrainETA estimates how long the dirty queue of users takes to drain at
// the rate budget: the queue needs at least ⌈users ÷ batchSize⌉ calls (one
// batch call per user's change; a create, a status change and an update
// of one user are three), spent from what is left of the current hour and
// day windows and then from each new window as it opens. It returns 0 when
// what is left now covers them, and ok false when the budget cannot be
// read or the walk gives up (the answer is then too far out to matter).
// Windows are fixed and aligned to the clock, as the Gainsight client
// counts them.
func DrainETA(users, batchSize int, windows []gainsight.WindowStatus, now time.Time) (time.Duration, bool) {
	if users <= 0 {
		return 0, true
	}
	if batchSize <= 0 {
		batchSize = gainsight.MaxBatch
	}
	calls := (users + batchSize - 1) / batchSize
	ws := make([]gainsight.WindowStatus, 0, len(windows))
	for _, w := range windows {
		if w.Limit > 0 && w.Length > 0 {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return 0, true
	}
	at := now
	for range maxETAWindows {
		avail := -1
		for _, w := range ws {
			if l := w.Left(); avail < 0 || l < avail {
				avail = l
			}
		}
		if avail >= calls {
			return at.Sub(now), true
		}
		calls -= avail
		// Wait for the first window that is spent to end; every window
		// that has ended by then starts afresh.
		next := time.Time{}
		for i := range ws {
			ws[i].Used += avail
			if ws[i].Left() == 0 && (next.IsZero() || ws[i].Ends().After(next)) {
				next = ws[i].Ends()
			}
		}
		at = next
		for i := range ws {
			if !ws[i].Ends().After(at) {
				ws[i].Start, ws[i].Used = at.Truncate(ws[i].Length), 0
			}
		}
	}
	return 0, false
}

// budgetStatus is the Gainsight client's view of its rate budget.
type budgetStatus interface {
	BudgetStatus(ctx context.Context, now time.Time) ([]gainsight.WindowStatus, error)
}

// drainEstimate is the dirty queue and the time to drain it.
type drainEstimate struct {
	Depth    int
	Oldest   time.Time
	Windows  []gainsight.WindowStatus // nil when the upstream has no budget to report
	ETA      time.Duration
	ETAKnown bool
}

func (b *Bridge) estimateDrain(ctx context.Context) (drainEstimate, error) {
	var d drainEstimate
	var err error
	d.Depth, d.Oldest, err = b.opts.Store.DirtyStats(ctx)
	if err != nil {
		return d, err
	}
	now := b.opts.Now()
	if bs, ok := b.opts.Upstream.(budgetStatus); ok {
		if d.Windows, err = bs.BudgetStatus(ctx, now); err != nil {
			return d, err
		}
	}
	d.ETA, d.ETAKnown = DrainETA(d.Depth, b.Config().Gainsight.BatchSize, d.Windows, now)
	return d, nil
}

// refreshDrainETA sets scim_bridge_sync_drain_eta_seconds.
func (b *Bridge) refreshDrainETA(ctx context.Context) {
	d, err := b.estimateDrain(ctx)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("drain estimate", zap.Error(err))
		}
		return
	}
	if !d.ETAKnown {
		b.metrics.drainETA.Set(-1)
		return
	}
	b.metrics.drainETA.Set(d.ETA.Seconds())
}
