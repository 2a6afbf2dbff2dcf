package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

const syncCols = `user_id, user_name, gsid, record, active, state, last_error, tombstone, updated`

func scanSync(sc interface{ Scan(...any) error }) (store.SyncInfo, error) {
	var (
		i       store.SyncInfo
		record  string
		updated int64
	)
	if err := sc.Scan(&i.UserID, &i.UserName, &i.GSID, &record, &i.Active, &i.State, &i.LastError, &i.Tombstone, &updated); err != nil {
		return store.SyncInfo{}, err
	}
	if err := json.Unmarshal([]byte(record), &i.Record); err != nil {
		return store.SyncInfo{}, fmt.Errorf("decode record of %s: %w", i.UserID, err)
	}
	i.Updated = tm(updated)
	return i, nil
}

// GetSync implements store.Store.
func (s *Store) GetSync(ctx context.Context, userID string) (store.SyncInfo, error) {
	if unstorable(userID) {
		return store.SyncInfo{}, fmt.Errorf("store: sync info of %q: %w", userID, store.ErrNotFound)
	}
	i, err := scanSync(s.r.QueryRowContext(ctx, sqlSyncByUser, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.SyncInfo{}, fmt.Errorf("store: sync info of %s: %w", userID, store.ErrNotFound)
	}
	if err != nil {
		return store.SyncInfo{}, fmt.Errorf("store: sync info of %s: %w", userID, err)
	}
	return i, nil
}

// SyncByGSID implements store.Store. A GSID is linked to at most one user
// (a unique index).
func (s *Store) SyncByGSID(ctx context.Context, gsid string) (store.SyncInfo, error) {
	if gsid == "" || unstorable(gsid) {
		return store.SyncInfo{}, fmt.Errorf("store: sync info of GSID %q: %w", gsid, store.ErrNotFound)
	}
	i, err := scanSync(s.r.QueryRowContext(ctx, sqlSyncByGSID, gsid))
	if errors.Is(err, sql.ErrNoRows) {
		return store.SyncInfo{}, fmt.Errorf("store: sync info of GSID %s: %w", gsid, store.ErrNotFound)
	}
	if err != nil {
		return store.SyncInfo{}, fmt.Errorf("store: sync info of GSID %s: %w", gsid, err)
	}
	return i, nil
}

// PutSync implements store.Store. A zero Updated is stored as now; an empty
// State as pending.
func (s *Store) PutSync(ctx context.Context, info store.SyncInfo) error {
	if info.UserID == "" {
		return errors.New("store: put sync info: empty user id")
	}
	if info.Updated.IsZero() {
		info.Updated = s.now()
	}
	if info.State == "" {
		info.State = store.StatePending
	}
	if unstorable(info.UserID, info.UserName, info.GSID, info.State, info.LastError) {
		return fmt.Errorf("store: put sync info of %q: %w", info.UserID, invalid("sync info"))
	}
	record, err := json.Marshal(info.Record)
	if err != nil {
		return fmt.Errorf("store: put sync info of %s: encode record: %w", info.UserID, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sync_info (user_id, user_name, user_name_lower, gsid, record, active, state, last_error, tombstone, updated)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (user_id) DO UPDATE SET user_name = $2, user_name_lower = $3, gsid = $4, record = $5, active = $6,
state = $7, last_error = $8, tombstone = $9, updated = $10`,
			info.UserID, info.UserName, store.Fold(info.UserName), info.GSID, string(record), info.Active,
			info.State, info.LastError, info.Tombstone, ts(info.Updated))
		if err != nil {
			return s.uniqueErr(err, fmt.Sprintf("GSID %q is linked to another user", info.GSID))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: put sync info of %s: %w", info.UserID, err)
	}
	return nil
}

// CountSyncStates implements store.Store. The three states are always
// present, zero when no user is in them.
func (s *Store) CountSyncStates(ctx context.Context) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT state, COUNT(*) FROM sync_info WHERE tombstone = FALSE GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("store: count sync states: %w", err)
	}
	defer rows.Close()
	out := map[string]int{store.StatePending: 0, store.StateSynced: 0, store.StateFailed: 0}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("store: count sync states: %w", err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: count sync states: %w", err)
	}
	return out, nil
}

// MarkDirty implements store.Store.
func (s *Store) MarkDirty(ctx context.Context, userIDs ...string) error {
	if len(uniq(userIDs)) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		return s.markDirty(ctx, tx, s.now(), userIDs...)
	})
	if err != nil {
		return fmt.Errorf("store: mark dirty: %w", err)
	}
	return nil
}

// ClaimDirty implements store.Store. Entries are returned oldest first.
func (s *Store) ClaimDirty(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]store.Dirty, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []store.Dirty
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, sqlClaimDirty+s.d.SkipLocked, ts(now), limit)
		if err != nil {
			return fmt.Errorf("select: %w", err)
		}
		for rows.Next() {
			var d store.Dirty
			var since int64
			if err := rows.Scan(&d.UserID, &d.Generation, &d.Attempts, &since); err != nil {
				rows.Close()
				return fmt.Errorf("select: %w", err)
			}
			d.Since = tm(since)
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
		if _, err := tx.ExecContext(ctx, `UPDATE dirty SET lease_owner = $1, lease_until = $2 WHERE user_id IN (`+placeholders(3, len(ids))+`)`, args...); err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim dirty: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out, nil
}

// CompleteDirty implements store.Store.
func (s *Store) CompleteDirty(ctx context.Context, userID string, gen int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dirty WHERE user_id = $1 AND generation = $2`, userID, gen)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE dirty SET lease_owner = '', lease_until = 0 WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: complete dirty %s: %w", userID, err)
	}
	return nil
}

// RetryDirty implements store.Store.
func (s *Store) RetryDirty(ctx context.Context, userID string, gen int64, attempts int, notBefore time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE dirty SET lease_owner = '', lease_until = 0, due = $3, attempts = $4
WHERE user_id = $1 AND generation = $2`, userID, gen, ts(notBefore), attempts)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE dirty SET lease_owner = '', lease_until = 0, due = $2, attempts = 0 WHERE user_id = $1`,
			userID, ts(s.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: retry dirty %s: %w", userID, err)
	}
	return nil
}

// DirtyStats implements store.Store.
func (s *Store) DirtyStats(ctx context.Context) (int, time.Time, error) {
	var (
		n      int
		oldest int64
	)
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MIN(since), 0) FROM dirty`).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, fmt.Errorf("store: dirty stats: %w", err)
	}
	return n, tm(oldest), nil
}
