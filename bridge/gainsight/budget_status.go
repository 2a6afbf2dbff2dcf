package gainsight

import (
	"context"
	"fmt"
	"time"
)

// WindowStatus is the state of one rate budget window.
type WindowStatus struct {
	Name   string // WindowHour or WindowDay
	Start  time.Time
	Length time.Duration
	// Limit is what the window allows work that is not urgent: the limit
	// in force (the configured one, or a lower one learned from 429s)
	// less the share kept for urgent work; 0 = unlimited.
	Limit int
	Used  int // calls counted in the window (by every replica sharing the counter)
}

// Left returns how many calls the window still allows (-1: unlimited).
func (w WindowStatus) Left() int {
	if w.Limit <= 0 {
		return -1
	}
	return max(w.Limit-w.Used, 0)
}

// Ends returns when the window ends and the next starts afresh.
func (w WindowStatus) Ends() time.Time { return w.Start.Add(w.Length) }

// status returns the current window of each budget (hour, then day) at
// now, counting nothing.
func (b *budget) status(ctx context.Context, now time.Time) ([]WindowStatus, error) {
	out := make([]WindowStatus, 0, len(b.windows))
	for i := len(b.windows) - 1; i >= 0; i-- { // hour first
		w := b.windows[i]
		s := WindowStatus{Name: w.name, Start: now.Truncate(w.length), Length: w.length}
		if w.limit > 0 {
			s.Limit = b.limitFor(w, s.Start, false)
			used, err := b.counter.Used(ctx, w.name, s.Start)
			if err != nil {
				return nil, fmt.Errorf("gainsight: rate budget: %w", err)
			}
			s.Used = used
		}
		out = append(out, s)
	}
	return out, nil
}

// BudgetStatus returns the current hour and day windows of the rate
// budget, spending nothing.
func (s *services) BudgetStatus(ctx context.Context, now time.Time) ([]WindowStatus, error) {
	return s.t.budget.status(ctx, now)
}

// BudgetStatus returns the current hour and day windows of the rate
// budget, spending nothing.
func (u *usersV1) BudgetStatus(ctx context.Context, now time.Time) ([]WindowStatus, error) {
	return u.t.budget.status(ctx, now)
}
