package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// rolloutState holds shadow mode's plans and the guard's count and holds.
type rolloutState struct {
	plans map[string]store.PlannedUser // user id → plan
	holds map[string]store.Hold        // user id → hold
	// counted maps the users whose deactivation the guard counted to
	// when it did.
	counted map[string]time.Time
}

func newRolloutState() rolloutState {
	return rolloutState{plans: map[string]store.PlannedUser{}, holds: map[string]store.Hold{}, counted: map[string]time.Time{}}
}

func copyPlan(p store.PlannedUser) store.PlannedUser {
	p.Kinds = slices.Clone(p.Kinds)
	p.Change = slices.Clone(p.Change)
	return p
}

// RecordPlans implements store.Rollout.
func (s *Store) RecordPlans(_ context.Context, save []store.PlannedUser, drop []string) error {
	for _, p := range save {
		if p.UserID == "" || store.Unindexable(p.UserID, p.UserName) {
			return fmt.Errorf("store: record plans: %w", invalid("plan's user"))
		}
	}
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	for _, id := range drop {
		delete(s.rollout.plans, id)
	}
	for _, p := range save {
		p = copyPlan(p)
		p.Priority = p.Priority.Clamp()
		p.Planned = stamp(p.Planned)
		if p.Planned.IsZero() {
			p.Planned = s.clock()
		}
		s.rollout.plans[p.UserID] = p
	}
	return nil
}

// sortedPlans returns the plans that keep accepts, by userName then id.
func (s *Store) sortedPlans(keep func(store.PlannedUser) bool) []store.PlannedUser {
	var out []store.PlannedUser
	for _, p := range s.rollout.plans {
		if keep(p) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := store.Fold(out[i].UserName), store.Fold(out[j].UserName)
		if a != b {
			return a < b
		}
		return out[i].UserID < out[j].UserID
	})
	return out
}

// ListPlans implements store.Rollout.
func (s *Store) ListPlans(_ context.Context, q store.PlanQuery) ([]store.PlannedUser, int, error) {
	if err := s.lock(); err != nil {
		return nil, 0, err
	}
	defer s.mu.Unlock()
	all := s.sortedPlans(func(p store.PlannedUser) bool { return q.Kind == "" || slices.Contains(p.Kinds, q.Kind) })
	rows := page(all, store.Query{Offset: q.Offset, Limit: q.Limit})
	out := make([]store.PlannedUser, len(rows))
	for i, p := range rows {
		out[i] = copyPlan(p)
	}
	return out, len(all), nil
}

// PlanOf implements store.Rollout.
func (s *Store) PlanOf(_ context.Context, userID string) (store.PlannedUser, error) {
	if err := s.lock(); err != nil {
		return store.PlannedUser{}, err
	}
	defer s.mu.Unlock()
	p, ok := s.rollout.plans[userID]
	if !ok {
		return store.PlannedUser{}, fmt.Errorf("store: plan of %s: %w", userID, store.ErrNotFound)
	}
	return copyPlan(p), nil
}

// CountPlans implements store.Rollout.
func (s *Store) CountPlans(context.Context) (int, map[string]int, error) {
	if err := s.lock(); err != nil {
		return 0, nil, err
	}
	defer s.mu.Unlock()
	by := map[string]int{}
	for _, p := range s.rollout.plans {
		for _, k := range p.Kinds {
			by[k]++
		}
	}
	return len(s.rollout.plans), by, nil
}

// ReleasePlans implements store.Rollout.
func (s *Store) ReleasePlans(_ context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	now := s.clock()
	n := 0
	for _, p := range s.sortedPlans(func(store.PlannedUser) bool { return true }) {
		if n == limit {
			break
		}
		s.markDirty(now, p.Priority, p.UserID)
		delete(s.rollout.plans, p.UserID)
		n++
	}
	return n, nil
}

// activeManaged counts the links whose Gainsight user is active.
func (s *Store) activeManaged() int {
	n := 0
	for _, l := range s.links {
		if l.info.GSID != "" && l.info.Active {
			n++
		}
	}
	return n
}

// countedSince drops the guard's counts older than cutoff and returns how
// many are left.
func (s *Store) countedSince(cutoff time.Time) int {
	for id, at := range s.rollout.counted {
		if !at.After(cutoff) {
			delete(s.rollout.counted, id)
		}
	}
	return len(s.rollout.counted)
}

// ReserveDeactivations implements store.Rollout.
func (s *Store) ReserveDeactivations(_ context.Context, policy store.GuardPolicy, now time.Time, ds []store.Deactivation) (store.GuardResult, error) {
	for _, d := range ds {
		if d.UserID == "" || store.Unindexable(d.UserID, d.UserName, d.GSID) {
			return store.GuardResult{}, fmt.Errorf("store: reserve deactivations: %w", invalid("deactivation's user"))
		}
	}
	if err := s.lock(); err != nil {
		return store.GuardResult{}, err
	}
	defer s.mu.Unlock()
	now = stamp(now)
	res := store.GuardResult{Active: s.activeManaged()}
	res.Limit = policy.Limit(res.Active)
	res.Counted = s.countedSince(now.Add(-policy.Window))
	for _, d := range ds {
		if h, held := s.rollout.holds[d.UserID]; held {
			if h.ApprovedBy != "" {
				res.Granted = append(res.Granted, d.UserID)
			} else {
				res.Held = append(res.Held, h)
			}
			continue
		}
		if _, counted := s.rollout.counted[d.UserID]; counted {
			res.Granted = append(res.Granted, d.UserID)
			continue
		}
		if res.Limit < 0 || res.Counted < res.Limit {
			s.rollout.counted[d.UserID] = now
			res.Counted++
			res.Granted = append(res.Granted, d.UserID)
			continue
		}
		h := store.Hold{UserID: d.UserID, UserName: d.UserName, GSID: d.GSID, Held: now}
		s.rollout.holds[d.UserID] = h
		res.Held = append(res.Held, h)
	}
	return res, nil
}

func (s *Store) sortedHolds(keep func(store.Hold) bool) []store.Hold {
	var out []store.Hold
	for _, h := range s.rollout.holds {
		if keep(h) {
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Held.Equal(out[j].Held) {
			return out[i].Held.Before(out[j].Held)
		}
		return out[i].UserID < out[j].UserID
	})
	return out
}

// Holds implements store.Rollout.
func (s *Store) Holds(context.Context) ([]store.Hold, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return s.sortedHolds(func(store.Hold) bool { return true }), nil
}

// HoldsOf implements store.Rollout.
func (s *Store) HoldsOf(_ context.Context, ids []string) (map[string]store.Hold, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := map[string]store.Hold{}
	for _, id := range ids {
		if h, ok := s.rollout.holds[id]; ok {
			out[id] = h
		}
	}
	return out, nil
}

// DecideHolds implements store.Rollout.
func (s *Store) DecideHolds(_ context.Context, d store.HoldDecision) ([]store.Hold, error) {
	if d.By == "" {
		return nil, fmt.Errorf("store: decide holds: no one decided: %w", store.ErrInvalid)
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	at := stamp(d.At)
	if at.IsZero() {
		at = s.clock()
	}
	want := map[string]bool{}
	for _, id := range d.UserIDs {
		want[id] = true
	}
	var out []store.Hold
	for _, h := range s.sortedHolds(func(h store.Hold) bool { return d.All || want[h.UserID] }) {
		switch {
		case d.Approve && h.ApprovedBy == "":
			h.ApprovedBy, h.Approved, h.RejectedBy, h.Rejected = d.By, at, "", time.Time{}
			s.markDirty(at, store.PriorityUrgent, h.UserID)
		case !d.Approve && h.RejectedBy == "":
			h.RejectedBy, h.Rejected, h.ApprovedBy, h.Approved = d.By, at, "", time.Time{}
			s.markDirty(at, store.PriorityHigh, h.UserID)
		default:
			continue
		}
		s.rollout.holds[h.UserID] = h
		out = append(out, h)
	}
	return out, nil
}

// ReleaseHolds implements store.Rollout.
func (s *Store) ReleaseHolds(_ context.Context, ids ...string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.rollout.holds, id)
	}
	return nil
}

// GuardStats implements store.Rollout.
func (s *Store) GuardStats(_ context.Context, window time.Duration, now time.Time) (store.GuardStats, error) {
	if err := s.lock(); err != nil {
		return store.GuardStats{}, err
	}
	defer s.mu.Unlock()
	st := store.GuardStats{Held: len(s.rollout.holds), Active: s.activeManaged()}
	for _, h := range s.rollout.holds {
		if !h.Decided() {
			st.Awaiting++
		}
	}
	cutoff := stamp(now).Add(-window)
	for _, at := range s.rollout.counted {
		if at.After(cutoff) {
			st.Counted++
		}
	}
	return st, nil
}
