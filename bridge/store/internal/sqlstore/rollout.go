package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// Shadow mode's plans and the mass-deactivation guard (store.Rollout), in
// tables of their own (migration 0008_rollout).

const planCols = `user_id, user_name, priority, planned, doc`

// scanPlans reads plan rows; their kinds are read by kindsOf.
func scanPlans(rows *sql.Rows) ([]store.PlannedUser, error) {
	defer rows.Close()
	var out []store.PlannedUser
	for rows.Next() {
		var (
			p       store.PlannedUser
			prio    int
			planned int64
			doc     string
		)
		if err := rows.Scan(&p.UserID, &p.UserName, &prio, &planned, &doc); err != nil {
			return nil, err
		}
		p.Priority, p.Planned, p.Change = store.Priority(prio), tm(planned), []byte(doc)
		out = append(out, p)
	}
	return out, rows.Err()
}

// withKinds fills in the kinds of plans.
func (s *Store) withKinds(ctx context.Context, plans []store.PlannedUser) error {
	if len(plans) == 0 {
		return nil
	}
	idx := make(map[string]int, len(plans))
	ids := make([]string, len(plans))
	for i, p := range plans {
		idx[p.UserID], ids[i] = i, p.UserID
	}
	for _, c := range chunks(ids) {
		rows, err := s.r.QueryContext(ctx, `SELECT user_id, kind FROM plan_kinds WHERE user_id IN (`+placeholders(1, len(c))+`) ORDER BY user_id, kind`, anys(c)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, kind string
			if err := rows.Scan(&id, &kind); err != nil {
				rows.Close()
				return err
			}
			i := idx[id]
			plans[i].Kinds = append(plans[i].Kinds, kind)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// dropPlans removes the plans of ids, kinds first.
func dropPlans(ctx context.Context, tx *wtx, ids []string) error {
	for _, c := range chunks(ids) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM plan_kinds WHERE user_id IN (`+placeholders(1, len(c))+`)`, anys(c)...); err != nil {
			return fmt.Errorf("drop kinds: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM plans WHERE user_id IN (`+placeholders(1, len(c))+`)`, anys(c)...); err != nil {
			return fmt.Errorf("drop plans: %w", err)
		}
	}
	return nil
}

// RecordPlans implements store.Rollout.
func (s *Store) RecordPlans(ctx context.Context, save []store.PlannedUser, drop []string) error {
	for _, p := range save {
		if p.UserID == "" || unstorable(p.UserID, p.UserName) {
			return fmt.Errorf("store: record plans: %w", invalid("plan's user"))
		}
	}
	if len(save) == 0 && len(drop) == 0 {
		return nil
	}
	now := s.now()
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		ids := append([]string(nil), drop...)
		for _, p := range save {
			ids = append(ids, p.UserID)
		}
		if err := dropPlans(ctx, tx, store.DistinctIDs(ids)); err != nil {
			return err
		}
		for _, p := range save {
			planned := p.Planned
			if planned.IsZero() {
				planned = now
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO plans (user_id, user_name, user_name_lower, priority, planned, doc)
VALUES ($1, $2, $3, $4, $5, $6)`, p.UserID, p.UserName, store.Fold(p.UserName), int(p.Priority.Clamp()), ts(planned), string(p.Change)); err != nil {
				return fmt.Errorf("write plan of %s: %w", p.UserID, err)
			}
			for _, k := range store.DistinctIDs(p.Kinds) {
				if _, err := tx.ExecContext(ctx, `INSERT INTO plan_kinds (user_id, kind) VALUES ($1, $2)`, p.UserID, k); err != nil {
					return fmt.Errorf("write kinds of %s: %w", p.UserID, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record plans: %w", err)
	}
	return nil
}

// ListPlans implements store.Rollout.
func (s *Store) ListPlans(ctx context.Context, q store.PlanQuery) ([]store.PlannedUser, int, error) {
	where, args := "", []any{}
	if q.Kind != "" {
		where, args = ` WHERE user_id IN (SELECT user_id FROM plan_kinds WHERE kind = $1)`, []any{q.Kind}
	}
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM plans`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: list plans: %w", err)
	}
	limit := noLimit
	if q.Limit > 0 {
		limit = int64(q.Limit)
	}
	n := len(args)
	rows, err := s.r.QueryContext(ctx, `SELECT `+planCols+` FROM plans`+where+
		fmt.Sprintf(` ORDER BY user_name_lower, user_id LIMIT $%d OFFSET $%d`, n+1, n+2), append(args, limit, int64(max(q.Offset, 0)))...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list plans: %w", err)
	}
	plans, err := scanPlans(rows)
	if err == nil {
		err = s.withKinds(ctx, plans)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: list plans: %w", err)
	}
	return plans, total, nil
}

// PlanOf implements store.Rollout.
func (s *Store) PlanOf(ctx context.Context, userID string) (store.PlannedUser, error) {
	if unstorable(userID) {
		return store.PlannedUser{}, fmt.Errorf("store: plan of %q: %w", userID, store.ErrNotFound)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+planCols+` FROM plans WHERE user_id = $1`, userID)
	if err != nil {
		return store.PlannedUser{}, fmt.Errorf("store: plan of %s: %w", userID, err)
	}
	plans, err := scanPlans(rows)
	if err == nil {
		err = s.withKinds(ctx, plans)
	}
	switch {
	case err != nil:
		return store.PlannedUser{}, fmt.Errorf("store: plan of %s: %w", userID, err)
	case len(plans) == 0:
		return store.PlannedUser{}, fmt.Errorf("store: plan of %s: %w", userID, store.ErrNotFound)
	}
	return plans[0], nil
}

// CountPlans implements store.Rollout.
func (s *Store) CountPlans(ctx context.Context) (int, map[string]int, error) {
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM plans`).Scan(&total); err != nil {
		return 0, nil, fmt.Errorf("store: count plans: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT kind, COUNT(*) FROM plan_kinds GROUP BY kind`)
	if err != nil {
		return 0, nil, fmt.Errorf("store: count plans: %w", err)
	}
	defer rows.Close()
	by := map[string]int{}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			return 0, nil, fmt.Errorf("store: count plans: %w", err)
		}
		by[kind] = n
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("store: count plans: %w", err)
	}
	return total, by, nil
}

// ReleasePlans implements store.Rollout. Concurrent releases skip each
// other's rows, so each plan is released once.
func (s *Store) ReleasePlans(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	n := 0
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		n = 0
		rows, err := tx.QueryContext(ctx, `SELECT user_id, priority FROM plans ORDER BY user_name_lower, user_id LIMIT $1`+s.d.SkipLocked, limit)
		if err != nil {
			return fmt.Errorf("select: %w", err)
		}
		prio := map[string]store.Priority{}
		var ids []string
		for rows.Next() {
			var id string
			var p int
			if err := rows.Scan(&id, &p); err != nil {
				rows.Close()
				return fmt.Errorf("select: %w", err)
			}
			prio[id] = store.Priority(p)
			ids = append(ids, id)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("select: %w", err)
		}
		now := s.now()
		if err := s.markEach(ctx, tx, now, prio, ids); err != nil {
			return err
		}
		if err := dropPlans(ctx, tx, ids); err != nil {
			return err
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: release plans: %w", err)
	}
	return n, nil
}

const (
	holdCols = `user_id, user_name, gsid, held, approved_by, approved, rejected_by, rejected`
	// sqlActiveManaged counts the links whose Gainsight user is active:
	// the users a share of the guard is of.
	sqlActiveManaged = `SELECT COUNT(*) FROM sync_info WHERE gsid <> '' AND active = TRUE`
)

func scanHolds(rows *sql.Rows) ([]store.Hold, error) {
	defer rows.Close()
	var out []store.Hold
	for rows.Next() {
		var (
			h                        store.Hold
			held, approved, rejected int64
		)
		if err := rows.Scan(&h.UserID, &h.UserName, &h.GSID, &held, &h.ApprovedBy, &approved, &h.RejectedBy, &rejected); err != nil {
			return nil, err
		}
		h.Held, h.Approved, h.Rejected = tm(held), tm(approved), tm(rejected)
		out = append(out, h)
	}
	return out, rows.Err()
}

// holdsIn reads the holds of ids through q.
func (s *Store) holdsIn(ctx context.Context, q queryer, ids []string) (map[string]store.Hold, error) {
	out := map[string]store.Hold{}
	for _, c := range chunks(store.DistinctIDs(ids)) {
		rows, err := q.QueryContext(ctx, `SELECT `+holdCols+` FROM guard_holds WHERE user_id IN (`+placeholders(1, len(c))+`)`, anys(c)...)
		if err != nil {
			return nil, err
		}
		hs, err := scanHolds(rows)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			out[h.UserID] = h
		}
	}
	return out, nil
}

// ReserveDeactivations implements store.Rollout. The lock on guard_lock's
// row serialises reservations across replicas (SQLite has one writer
// anyway), so each reads the count the previous one left.
func (s *Store) ReserveDeactivations(ctx context.Context, policy store.GuardPolicy, now time.Time, ds []store.Deactivation) (store.GuardResult, error) {
	var ids []string
	for _, d := range ds {
		if d.UserID == "" || unstorable(d.UserID, d.UserName, d.GSID) {
			return store.GuardResult{}, fmt.Errorf("store: reserve deactivations: %w", invalid("deactivation's user"))
		}
		ids = append(ids, d.UserID)
	}
	var res store.GuardResult
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res = store.GuardResult{}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT id FROM guard_lock WHERE id = 1`+s.d.LockRow).Scan(&one); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM guard_counted WHERE at <= $1`, ts(now.Add(-policy.Window))); err != nil {
			return fmt.Errorf("expire counts: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM guard_counted`).Scan(&res.Counted); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if err := tx.QueryRowContext(ctx, sqlActiveManaged).Scan(&res.Active); err != nil {
			return fmt.Errorf("count active users: %w", err)
		}
		res.Limit = policy.Limit(res.Active)
		holds, err := s.holdsIn(ctx, tx, ids)
		if err != nil {
			return fmt.Errorf("read holds: %w", err)
		}
		counted := map[string]bool{}
		for _, c := range chunks(store.DistinctIDs(ids)) {
			got, err := s.strings(ctx, tx, `SELECT user_id FROM guard_counted WHERE user_id IN (`+placeholders(1, len(c))+`)`, anys(c)...)
			if err != nil {
				return fmt.Errorf("read counts: %w", err)
			}
			for _, id := range got {
				counted[id] = true
			}
		}
		for _, d := range ds {
			if h, held := holds[d.UserID]; held {
				if h.ApprovedBy != "" {
					res.Granted = append(res.Granted, d.UserID)
				} else {
					res.Held = append(res.Held, h)
				}
				continue
			}
			if counted[d.UserID] {
				res.Granted = append(res.Granted, d.UserID)
				continue
			}
			if res.Limit < 0 || res.Counted < res.Limit {
				if _, err := tx.ExecContext(ctx, `INSERT INTO guard_counted (user_id, at) VALUES ($1, $2)`, d.UserID, ts(now)); err != nil {
					return fmt.Errorf("count %s: %w", d.UserID, err)
				}
				counted[d.UserID] = true
				res.Counted++
				res.Granted = append(res.Granted, d.UserID)
				continue
			}
			h := store.Hold{UserID: d.UserID, UserName: d.UserName, GSID: d.GSID, Held: tm(ts(now))}
			if _, err := tx.ExecContext(ctx, `INSERT INTO guard_holds (user_id, user_name, gsid, held) VALUES ($1, $2, $3, $4)`,
				h.UserID, h.UserName, h.GSID, ts(now)); err != nil {
				return fmt.Errorf("hold %s: %w", d.UserID, err)
			}
			holds[d.UserID] = h
			res.Held = append(res.Held, h)
		}
		return nil
	})
	if err != nil {
		return store.GuardResult{}, fmt.Errorf("store: reserve deactivations: %w", err)
	}
	return res, nil
}

// Holds implements store.Rollout.
func (s *Store) Holds(ctx context.Context) ([]store.Hold, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+holdCols+` FROM guard_holds ORDER BY held, user_id`)
	if err != nil {
		return nil, fmt.Errorf("store: holds: %w", err)
	}
	hs, err := scanHolds(rows)
	if err != nil {
		return nil, fmt.Errorf("store: holds: %w", err)
	}
	return hs, nil
}

// HoldsOf implements store.Rollout.
func (s *Store) HoldsOf(ctx context.Context, ids []string) (map[string]store.Hold, error) {
	var storable []string
	for _, id := range ids {
		if !unstorable(id) {
			storable = append(storable, id)
		}
	}
	out, err := s.holdsIn(ctx, s.r, storable)
	if err != nil {
		return nil, fmt.Errorf("store: holds: %w", err)
	}
	return out, nil
}

// DecideHolds implements store.Rollout. The UPDATE's own condition (not
// approved yet, not rejected yet) is what makes concurrent decisions
// apply once: a second approver's UPDATE finds the rows approved.
func (s *Store) DecideHolds(ctx context.Context, d store.HoldDecision) ([]store.Hold, error) {
	if d.By == "" {
		return nil, fmt.Errorf("store: decide holds: no one decided: %w", store.ErrInvalid)
	}
	at := d.At
	if at.IsZero() {
		at = s.now()
	}
	set, cond, prio := `approved_by = $1, approved = $2, rejected_by = '', rejected = 0`, `approved_by = ''`, store.PriorityUrgent
	if !d.Approve {
		set, cond, prio = `rejected_by = $1, rejected = $2, approved_by = '', approved = 0`, `rejected_by = ''`, store.PriorityHigh
	}
	update := `UPDATE guard_holds SET ` + set + ` WHERE ` + cond
	var out []store.Hold
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		out = out[:0]
		run := func(where string, args ...any) error {
			rows, err := tx.QueryContext(ctx, update+where+` RETURNING `+holdCols, append([]any{d.By, ts(at)}, args...)...)
			if err != nil {
				return err
			}
			hs, err := scanHolds(rows)
			out = append(out, hs...)
			return err
		}
		if d.All {
			if err := run(""); err != nil {
				return err
			}
		} else {
			for _, c := range chunks(store.DistinctIDs(d.UserIDs)) {
				if err := run(` AND user_id IN (`+placeholders(3, len(c))+`)`, anys(c)...); err != nil {
					return err
				}
			}
		}
		ids := make([]string, len(out))
		for i, h := range out {
			ids[i] = h.UserID
		}
		return s.markDirty(ctx, tx, at, prio, ids...)
	})
	if err != nil {
		return nil, fmt.Errorf("store: decide holds: %w", err)
	}
	sortHolds(out)
	return out, nil
}

// sortHolds orders holds as Holds does.
func sortHolds(hs []store.Hold) {
	sort.Slice(hs, func(i, j int) bool {
		if !hs[i].Held.Equal(hs[j].Held) {
			return hs[i].Held.Before(hs[j].Held)
		}
		return hs[i].UserID < hs[j].UserID
	})
}

// ReleaseHolds implements store.Rollout.
func (s *Store) ReleaseHolds(ctx context.Context, ids ...string) error {
	ids = store.DistinctIDs(ids)
	if len(ids) == 0 {
		return nil
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		for _, c := range chunks(ids) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM guard_holds WHERE user_id IN (`+placeholders(1, len(c))+`)`, anys(c)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: release holds: %w", err)
	}
	return nil
}

// GuardStats implements store.Rollout.
func (s *Store) GuardStats(ctx context.Context, window time.Duration, now time.Time) (store.GuardStats, error) {
	var st store.GuardStats
	err := errors.Join(
		s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM guard_holds`).Scan(&st.Held),
		s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM guard_holds WHERE approved_by = '' AND rejected_by = ''`).Scan(&st.Awaiting),
		s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM guard_counted WHERE at > $1`, ts(now.Add(-window))).Scan(&st.Counted),
		s.r.QueryRowContext(ctx, sqlActiveManaged).Scan(&st.Active),
	)
	if err != nil {
		return store.GuardStats{}, fmt.Errorf("store: guard stats: %w", err)
	}
	return st, nil
}
