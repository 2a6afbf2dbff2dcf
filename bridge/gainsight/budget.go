package gainsight

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
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

// budget is the client's rate budget: one per Client, shared by all of its
// calls. Windows are fixed and aligned to the clock (now.Truncate(length)).
type budget struct {
	clock   Clock
	counter Counter
	windows []budgetWindow // day first: see take
	gauge   func(window string, remaining float64)

	mu sync.Mutex
	// blockedUntil is set when Gainsight answered 429: nothing is sent
	// before then, whatever the counter says.
	blockedUntil time.Time
	// used counts this process's calls in the current window of each
	// name, for the remaining-budget gauge.
	used map[string]memoryWindow
}

type budgetWindow struct {
	name   string
	length time.Duration
	limit  int // 0 = unlimited
}

func newBudget(clock Clock, counter Counter, perHour, perDay int, hour, day time.Duration, gauge func(string, float64)) *budget {
	b := &budget{
		clock:   clock,
		counter: counter,
		// The day is taken before the hour: a call that holds a day slot
		// while waiting for the next hour keeps it (same day), whereas an
		// hour slot held while waiting for the next day would be lost.
		windows: []budgetWindow{{WindowDay, day, perDay}, {WindowHour, hour, perHour}},
		gauge:   gauge,
		used:    map[string]memoryWindow{},
	}
	for _, w := range b.windows {
		if w.limit <= 0 {
			gauge(w.name, -1)
		} else {
			gauge(w.name, float64(w.limit))
		}
	}
	return b
}

// nextSlot returns the earliest time, not before now, at which a call could
// be sent: now when no 429 pause is in force and every limited window has
// room, otherwise the end of the pause or the start of the window that
// frees a slot. It counts nothing. Windows in held (name → start of the
// window a slot is already held in) have room for the holder.
func (b *budget) nextSlot(ctx context.Context, now time.Time, held map[string]time.Time) (time.Time, error) {
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
		if used >= w.limit {
			b.report(w, w.limit)
			at = start.Add(w.length)
		}
	}
	return at, nil
}

// NextSlot tells when the next call could be sent (see nextSlot), so a
// caller can hold work back instead of taking it while the budget is spent.
func (t *transport) NextSlot(ctx context.Context, now time.Time) (time.Time, error) {
	return t.budget.nextSlot(ctx, now, nil)
}

// take blocks until one call may be sent, counting it in every limited
// window, or returns an error wrapping ErrBudgetWait and the context's
// error. It looks before it takes: a call that must wait for the next hour
// takes no day slot it would waste if its context ended while it waited.
func (b *budget) take(ctx context.Context) error {
	held := map[string]time.Time{} // window name → start of the window a slot is held in
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: %w", ErrBudgetWait, err)
		}
		now := b.clock.Now()
		next, err := b.nextSlot(ctx, now, held)
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
			ok, err := b.counter.Take(ctx, w.name, start, w.limit)
			if err != nil {
				return fmt.Errorf("gainsight: rate budget: %w", err)
			}
			if !ok {
				b.report(w, w.limit)
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

// block makes every call wait for the next hour window, after Gainsight
// answered that the tenant's limit is spent.
func (b *budget) block() time.Time {
	var length time.Duration
	for _, w := range b.windows {
		if w.name == WindowHour {
			length = w.length
		}
	}
	until := b.clock.Now().Truncate(length).Add(length)
	b.mu.Lock()
	if until.After(b.blockedUntil) {
		b.blockedUntil = until
	}
	b.mu.Unlock()
	b.gauge(WindowHour, 0)
	return until
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
	b.mu.Unlock()
	b.report(w, u.n)
}

// report sets the window's gauge from the calls used in it.
func (b *budget) report(w budgetWindow, used int) {
	b.gauge(w.name, float64(max(w.limit-used, 0)))
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
