package gainsight

import (
	"context"
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
}

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

// take blocks until one call may be sent, counting it in every limited
// window, or returns the context's error.
func (b *budget) take(ctx context.Context) error {
	held := map[string]time.Time{} // window name → start of the window a slot is held in
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := b.clock.Now()
		b.mu.Lock()
		blocked := b.blockedUntil
		b.mu.Unlock()
		if now.Before(blocked) {
			if err := b.wait(ctx, blocked.Sub(now)); err != nil {
				return err
			}
			continue
		}
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
			return err
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
