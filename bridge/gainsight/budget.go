package gainsight

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Budget window names, used as Counter window keys and metric labels.
const (
	WindowHour = "hour"
	WindowDay  = "day"
)

// Counter counts calls per fixed window. It is the shared part of the rate
// budget: the in-memory default serves one process; an implementation over
// a shared database lets several replicas spend one tenant budget.
type Counter interface {
	// Take counts one call in the window named window ("hour" or "day")
	// that starts at start and returns true, if that window has fewer than
	// limit calls counted; otherwise it counts nothing and returns false.
	// It must be safe for concurrent use.
	Take(ctx context.Context, window string, start time.Time, limit int) (bool, error)
	// Used returns how many calls were counted in the window named window
	// that starts at start (0 for a window never counted in), counting
	// nothing.
	Used(ctx context.Context, window string, start time.Time) (int, error)
}

// budgetDeadlineKey is the context key of WithBudgetDeadline.
type budgetDeadlineKey struct{}

// WithBudgetDeadline returns a context under which a call does not wait
// for a rate budget slot that comes after t: it fails at once with
// ErrBudgetWait, unsent and without taking a slot. A caller that holds
// work for a limited time (a lease) uses it, so the work is put back
// instead of held while the budget is spent. The context's own deadline
// still bounds the call itself.
func WithBudgetDeadline(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, budgetDeadlineKey{}, t)
}

// urgentKey is the context key of WithUrgent.
type urgentKey struct{}

// WithUrgent returns a context whose calls may spend the share of each
// rate budget window reserved for urgent work (Options.ReservedPerHour,
// ReservedPerDay): deactivations, which remove access and must not wait
// behind an import that spent the rest of the window.
func WithUrgent(ctx context.Context) context.Context {
	return context.WithValue(ctx, urgentKey{}, true)
}

// IsUrgent reports whether ctx carries WithUrgent.
func IsUrgent(ctx context.Context) bool {
	u, _ := ctx.Value(urgentKey{}).(bool)
	return u
}

// ErrBudgetWait marks a call that was never sent because its context
// ended while it waited for the rate budget (a spent window, or the pause
// after a 429), or because its next slot came after the context's budget
// deadline (WithBudgetDeadline). Nothing reached Gainsight, so the call
// may simply be made later; it is not a failure of Gainsight's. Test with
// errors.Is.
var ErrBudgetWait = errors.New("gainsight: not sent: waiting for the rate budget")

// NewMemoryCounter returns the in-memory Counter, which keeps only the
// current window of each name.
func NewMemoryCounter() Counter { return &memoryCounter{windows: map[string]memoryWindow{}} }

type memoryWindow struct {
	start time.Time
	n     int
}

type memoryCounter struct {
	mu      sync.Mutex
	windows map[string]memoryWindow
}

func (m *memoryCounter) Used(_ context.Context, window string, start time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w := m.windows[window]; w.start.Equal(start) {
		return w.n, nil
	}
	return 0, nil
}

func (m *memoryCounter) Take(_ context.Context, window string, start time.Time, limit int) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.windows[window]
	if !w.start.Equal(start) {
		if start.Before(w.start) {
			// A caller with a stale view of the clock: the window it asks
			// about is over, so nothing may be counted in it.
			return false, nil
		}
		w = memoryWindow{start: start}
	}
	if w.n >= limit {
		return false, nil
	}
	w.n++
	m.windows[window] = w
	return true, nil
}

// probeBase is the first wait after a 429; it doubles with every 429 in a
// row, and never waits past the end of the hour window.
const probeBase = 2 * time.Second

// budget is the client's rate budget: one per Client, shared by all of its
// calls. Windows are fixed and aligned to the clock (now.Truncate(length)).
//
// Each window keeps a reserve that only urgent calls (WithUrgent) may
// spend: other calls see the window smaller by it.
//
// A 429 means the window's quota is spent as far as Gainsight is
// concerned. Nothing is sent for a short, growing pause (probeBase, then
// doubling, bounded by the hour window's end) and then one call probes
// again, so a stray 429 from a proxy costs seconds, not the rest of the
// hour. When 429s keep coming until a window ends although the budget
// showed room, another user of the access key spends the tenant's quota:
// the budget learns a lower limit for the following windows (the calls
// Gainsight accepted in that window before the first 429), warns and
// exposes it, and raises it again by a tenth of the configured limit per
// window that passes without a 429.
type budget struct {
	clock   Clock
	counter Counter
	windows []budgetWindow // day first: see take
	gauges  budgetGauges
	log     *zap.Logger

	mu sync.Mutex
	// blockedUntil is set when Gainsight answered 429: nothing is sent
	// before then, whatever the counter says.
	blockedUntil time.Time
	// rejections counts the 429s since the last call Gainsight accepted.
	rejections int
	// used counts this process's calls in the current window of each
	// name, for the remaining-budget gauge.
	used map[string]memoryWindow
	// learn is what the budget learned of each limited window.
	learn map[string]*learning
}

// budgetGauges are the metrics the budget sets, per window name.
type budgetGauges struct {
	remaining func(window string, v float64)
	limit     func(window string, v float64)
	effective func(window string, v float64)
}

type budgetWindow struct {
	name    string
	length  time.Duration
	limit   int // 0 = unlimited
	reserve int // calls of the window only urgent calls may spend
}

// learning follows one window: the limit learned from 429s and what the
// window being observed showed.
type learning struct {
	learned int       // the limit in force when below the configured one; 0: none
	tracked time.Time // start of the window observed
	saw429  bool      // a 429 came in the observed window
	// pending is the number of calls Gainsight accepted in the observed
	// window before a 429 that no later accepted call contradicted; -1
	// when there is none.
	pending int
	// refused counts this process's calls refused with 429 in the
	// observed window (the counter counted them).
	refused int
}

func newBudget(clock Clock, counter Counter, windows []budgetWindow, gauges budgetGauges, log *zap.Logger) *budget {
	b := &budget{
		clock:   clock,
		counter: counter,
		windows: windows,
		gauges:  gauges,
		log:     log,
		used:    map[string]memoryWindow{},
		learn:   map[string]*learning{},
	}
	for _, w := range b.windows {
		b.learn[w.name] = &learning{pending: -1}
		if w.limit <= 0 {
			gauges.remaining(w.name, -1)
			gauges.limit(w.name, -1)
			gauges.effective(w.name, -1)
		} else {
			gauges.remaining(w.name, float64(w.limit))
			gauges.limit(w.name, float64(w.limit))
			gauges.effective(w.name, float64(w.limit))
		}
	}
	return b
}

// observeLocked moves the learning of w to the window that starts at
// start, first settling the window it observed: a 429 that nothing
// contradicted until that window ended lowers the limit; a window without
// a 429 raises a learned limit again. b.mu is held.
func (b *budget) observeLocked(w budgetWindow, start time.Time) {
	l := b.learn[w.name]
	if l.tracked.IsZero() {
		l.tracked = start
		return
	}
	if !start.After(l.tracked) {
		return
	}
	elapsed := int(start.Sub(l.tracked) / w.length)
	switch {
	case l.pending > 0 || l.pending == 0 && w.name != WindowHour:
		// Every call from a 429 to the window's end was refused although
		// the budget showed room. (An hour whose very first call was
		// refused says nothing of the hour: the day decides.)
		learned := max(1, l.pending)
		if learned < w.limit && (l.learned == 0 || learned < l.learned) {
			l.learned = learned
			b.log.Warn("gainsight refused calls while the rate budget had room: something else spends this access key's quota; "+
				"the budget now allows fewer calls per window", zap.String("window", w.name),
				zap.Int("configured_limit", w.limit), zap.Int("learned_limit", learned))
		}
	case l.learned > 0 && !l.saw429:
		l.learned += max(1, w.limit/10) * elapsed
		if l.learned >= w.limit {
			l.learned = 0
			b.log.Info("rate budget back to its configured limit", zap.String("window", w.name), zap.Int("limit", w.limit))
		}
	}
	l.tracked, l.saw429, l.pending, l.refused = start, false, -1, 0
	b.gauges.effective(w.name, float64(b.limitLocked(w)))
}

// limitLocked is the limit in force for w: the configured one, or the
// learned one when lower. b.mu is held.
func (b *budget) limitLocked(w budgetWindow) int {
	if l := b.learn[w.name]; l.learned > 0 && l.learned < w.limit {
		return l.learned
	}
	return w.limit
}

// limitFor returns the calls a caller may count in the window of w that
// starts at start: the limit in force, less the urgent reserve (scaled
// down with a learned limit) for calls that are not urgent.
func (b *budget) limitFor(w budgetWindow, start time.Time, urgent bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Only the clock settles windows: start may be a window to come.
	if cur := b.clock.Now().Truncate(w.length); cur.Before(start) {
		start = cur
	}
	b.observeLocked(w, start)
	limit := b.limitLocked(w)
	if urgent || w.reserve <= 0 {
		return limit
	}
	// The reserve shrinks with a learned limit, and always leaves other
	// work a call.
	reserve := (w.reserve*limit + w.limit - 1) / w.limit
	return max(1, limit-reserve)
}

// nextSlot returns the earliest time, not before now, at which a call
// (urgent or not) could be sent: now when no 429 pause is in force and
// every limited window has room, otherwise the end of the pause or the
// start of the window that frees a slot. It counts nothing. Windows in
// held (name → start of the window a slot is already held in) have room
// for the holder.
func (b *budget) nextSlot(ctx context.Context, now time.Time, held map[string]time.Time, urgent bool) (time.Time, error) {
	at := now
	b.mu.Lock()
	if b.blockedUntil.After(at) {
		at = b.blockedUntil
	}
	b.mu.Unlock()
	// Day first: once the day is spent, the hour windows before the next
	// day do not matter.
	for _, w := range b.windows {
		if w.limit <= 0 {
			continue
		}
		start := at.Truncate(w.length)
		if s, ok := held[w.name]; ok && s.Equal(start) {
			continue
		}
		used, err := b.counter.Used(ctx, w.name, start)
		if err != nil {
			return time.Time{}, fmt.Errorf("gainsight: rate budget: %w", err)
		}
		if used >= b.limitFor(w, start, urgent) {
			b.report(w, used)
			at = start.Add(w.length)
		}
	}
	return at, nil
}

// NextSlot tells when the next call could be sent (see nextSlot), so a
// caller can hold work back instead of taking it while the budget is
// spent. urgent asks about calls that may spend the urgent reserve.
func (t *transport) NextSlot(ctx context.Context, now time.Time, urgent bool) (time.Time, error) {
	return t.budget.nextSlot(ctx, now, nil, urgent)
}

// take blocks until one call may be sent, counting it in every limited
// window, or returns an error wrapping ErrBudgetWait and the context's
// error. It looks before it takes: a call that must wait for the next hour
// takes no day slot it would waste if its context ended while it waited.
// A call under WithUrgent may spend the windows' urgent reserve.
func (b *budget) take(ctx context.Context) error {
	urgent := IsUrgent(ctx)
	held := map[string]time.Time{} // window name → start of the window a slot is held in
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: %w", ErrBudgetWait, err)
		}
		now := b.clock.Now()
		next, err := b.nextSlot(ctx, now, held, urgent)
		if err != nil {
			return err
		}
		if next.After(now) {
			if limit, ok := ctx.Value(budgetDeadlineKey{}).(time.Time); ok && next.After(limit) {
				return fmt.Errorf("%w: the next call slot is at %s", ErrBudgetWait, next.Format(time.RFC3339))
			}
			if err := b.wait(ctx, next.Sub(now)); err != nil {
				return fmt.Errorf("%w: %w", ErrBudgetWait, err)
			}
			continue
		}
		// The windows have room; another process may still take the last
		// slot first, and then this call waits holding what it has.
		var waitUntil time.Time
		for _, w := range b.windows {
			if w.limit <= 0 {
				continue
			}
			start := now.Truncate(w.length)
			if s, ok := held[w.name]; ok && s.Equal(start) {
				continue
			}
			ok, err := b.counter.Take(ctx, w.name, start, b.limitFor(w, start, urgent))
			if err != nil {
				return fmt.Errorf("gainsight: rate budget: %w", err)
			}
			if !ok {
				b.report(w, b.limitFor(w, start, urgent))
				waitUntil = start.Add(w.length)
				break
			}
			held[w.name] = start
			b.count(w, start)
		}
		if waitUntil.IsZero() {
			return nil
		}
		if err := b.wait(ctx, waitUntil.Sub(now)); err != nil {
			return fmt.Errorf("%w: %w", ErrBudgetWait, err)
		}
	}
}

// hourLength is the length of the hour window (a day when there is none).
func (b *budget) hourLength() time.Duration {
	for _, w := range b.windows {
		if w.name == WindowHour {
			return w.length
		}
	}
	return 24 * time.Hour
}

// refused records that Gainsight answered 429 and returns the time before
// which nothing is sent: a pause of probeBase, doubling with every 429 in
// a row, never past the end of the hour window. Each window notes how
// many calls Gainsight accepted in it before the first 429, which it
// learns as its limit if no call is accepted until it ends.
func (b *budget) refused(ctx context.Context) time.Time {
	now := b.clock.Now()
	used := map[string]int{}
	for _, w := range b.windows {
		if w.limit > 0 {
			// A counter that cannot be read teaches nothing.
			if n, err := b.counter.Used(ctx, w.name, now.Truncate(w.length)); err == nil {
				used[w.name] = n
			} else {
				used[w.name] = -1
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rejections++
	pause := probeBase << min(b.rejections-1, 20)
	length := b.hourLength()
	until := now.Add(pause)
	if end := now.Truncate(length).Add(length); end.Before(until) {
		until = end
	}
	if until.After(b.blockedUntil) {
		b.blockedUntil = until
	}
	for _, w := range b.windows {
		if w.limit <= 0 {
			continue
		}
		b.observeLocked(w, now.Truncate(w.length))
		l := b.learn[w.name]
		l.saw429 = true
		l.refused++
		if n := used[w.name]; n >= 0 && l.pending < 0 {
			// The counter counted this call and every refused one.
			l.pending = max(0, n-l.refused)
		}
	}
	return b.blockedUntil
}

// accepted records that Gainsight accepted a call: 429s before it in the
// same windows were not the quota's end.
func (b *budget) accepted() {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rejections = 0
	for _, w := range b.windows {
		if w.limit <= 0 {
			continue
		}
		b.observeLocked(w, now.Truncate(w.length))
		b.learn[w.name].pending = -1
	}
}

// count records one call of this process in the window, for the gauge.
func (b *budget) count(w budgetWindow, start time.Time) {
	b.mu.Lock()
	u := b.used[w.name]
	if !u.start.Equal(start) {
		u = memoryWindow{start: start}
	}
	u.n++
	b.used[w.name] = u
	limit := b.limitLocked(w)
	b.mu.Unlock()
	b.gauges.remaining(w.name, float64(max(limit-u.n, 0)))
}

// report sets the window's remaining gauge from the calls used in it.
func (b *budget) report(w budgetWindow, used int) {
	b.mu.Lock()
	limit := b.limitLocked(w)
	b.mu.Unlock()
	b.gauges.remaining(w.name, float64(max(limit-used, 0)))
}

func (b *budget) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-b.clock.After(d):
		return nil
	}
}
