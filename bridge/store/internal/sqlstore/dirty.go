package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// MarkDirty implements store.Store.
func (s *Store) MarkDirty(ctx context.Context, userIDs ...string) error {
	return s.MarkDirtyAs(ctx, store.PriorityNormal, userIDs...)
}

// MarkDirtyAs implements store.Store.
func (s *Store) MarkDirtyAs(ctx context.Context, p store.Priority, userIDs ...string) error {
	if len(store.DistinctIDs(userIDs)) == 0 {
		return nil
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		return s.markDirty(ctx, tx, s.now(), p, userIDs...)
	})
	if err != nil {
		return fmt.Errorf("store: mark dirty: %w", err)
	}
	return nil
}

// ClaimDirty implements store.Store.
func (s *Store) ClaimDirty(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]store.Dirty, error) {
	return s.ClaimDirtyMin(ctx, owner, store.PriorityLow, limit, lease, now)
}

// ClaimDirtyMin implements store.Store. Entries are returned highest
// priority first, oldest first within one.
func (s *Store) ClaimDirtyMin(ctx context.Context, owner string, min store.Priority, limit int, lease time.Duration, now time.Time) ([]store.Dirty, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []store.Dirty
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, sqlClaimDirty+s.d.SkipLocked, ts(now), limit, int(min))
		if err != nil {
			return fmt.Errorf("select: %w", err)
		}
		for rows.Next() {
			var d store.Dirty
			var since int64
			var prio int
			if err := rows.Scan(&d.UserID, &d.Generation, &d.Attempts, &since, &prio); err != nil {
				rows.Close()
				return fmt.Errorf("select: %w", err)
			}
			d.Since, d.Priority = tm(since), store.Priority(prio)
			out = append(out, d)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("select: %w", err)
		}
		if len(out) == 0 {
			return nil
		}
		ids := make([]string, len(out))
		for i, d := range out {
			ids[i] = d.UserID
		}
		args := append([]any{owner, ts(now.Add(lease))}, anys(ids)...)
		if _, err := tx.ExecContext(ctx, `UPDATE dirty SET lease_owner = $1, lease_until = $2, next_priority = 0 WHERE user_id IN (`+
			placeholders(3, len(ids))+`)`, args...); err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim dirty: %w", err)
	}
	return out, nil
}

// ExtendLease implements store.Store.
func (s *Store) ExtendLease(ctx context.Context, owner string, userIDs []string, until time.Time) ([]string, error) {
	ids := store.DistinctIDs(userIDs)
	if len(ids) == 0 {
		return nil, nil
	}
	held := map[string]bool{}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		clear(held)
		for _, c := range chunks(ids) {
			args := append([]any{owner, ts(until)}, anys(c)...)
			got, err := s.strings(ctx, tx, `UPDATE dirty SET lease_until = $2 WHERE lease_owner = $1 AND user_id IN (`+
				placeholders(3, len(c))+`) RETURNING user_id`, args...)
			if err != nil {
				return err
			}
			for _, id := range got {
				held[id] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: extend leases: %w", err)
	}
	var lost []string
	for _, id := range ids {
		if !held[id] {
			lost = append(lost, id)
		}
	}
	return lost, nil
}

// CompleteDirty implements store.Store.
func (s *Store) CompleteDirty(ctx context.Context, owner, userID string, gen int64) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dirty WHERE user_id = $1 AND generation = $2 AND lease_owner = $3`, userID, gen, owner)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		// The user changed meanwhile; the claimed work is done, so what is
		// left has the priority of the marks made since the claim.
		res, err = tx.ExecContext(ctx, `UPDATE dirty SET lease_owner = '', lease_until = 0,
raised = CASE WHEN next_priority > 0 AND next_priority <> priority THEN $3 ELSE raised END,
priority = CASE WHEN next_priority > 0 THEN next_priority ELSE priority END
WHERE user_id = $1 AND lease_owner = $2`, userID, owner, ts(s.now()))
		return leaseHeld(res, err)
	})
	if err != nil {
		return fmt.Errorf("store: complete dirty %s: %w", userID, err)
	}
	return nil
}

// RetryDirty implements store.Store.
func (s *Store) RetryDirty(ctx context.Context, owner, userID string, gen int64, attempts int, notBefore time.Time) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE dirty SET lease_owner = '', lease_until = 0, due = $3, attempts = $4
WHERE user_id = $1 AND generation = $2 AND lease_owner = $5`, userID, gen, ts(notBefore), attempts, owner)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		res, err = tx.ExecContext(ctx, `UPDATE dirty SET lease_owner = '', lease_until = 0, due = $2, attempts = 0
WHERE user_id = $1 AND lease_owner = $3`, userID, ts(s.now()), owner)
		return leaseHeld(res, err)
	})
	if err != nil {
		return fmt.Errorf("store: retry dirty %s: %w", userID, err)
	}
	return nil
}

// leaseHeld turns an UPDATE of a leased entry that changed nothing into
// store.ErrLeaseLost.
func leaseHeld(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return store.ErrLeaseLost
	}
	return nil
}

// DirtyStats implements store.Store.
func (s *Store) DirtyStats(ctx context.Context) (int, time.Time, error) {
	var (
		n      int
		oldest int64
	)
	if err := s.r.QueryRowContext(ctx, sqlDirtyStats).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, fmt.Errorf("store: dirty stats: %w", err)
	}
	return n, tm(oldest), nil
}

// ClaimJob implements store.Store.
func (s *Store) ClaimJob(ctx context.Context, name string, every time.Duration, now time.Time) (bool, error) {
	var ok bool
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs (name, last_run) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET last_run = $2 WHERE jobs.last_run <= $3`, name, ts(now), ts(now.Add(-every)))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: claim job %s: %w", name, err)
	}
	return ok, nil
}
