package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

const syncCols = `link_id, user_id, user_name, gsid, record, active, unknown, state, last_error, tombstone, version, updated`

func scanSync(sc interface{ Scan(...any) error }) (store.SyncInfo, error) {
	var (
		i       store.SyncInfo
		record  string
		updated int64
	)
	if err := sc.Scan(&i.LinkID, &i.UserID, &i.UserName, &i.GSID, &record, &i.Active, &i.Unknown, &i.State, &i.LastError,
		&i.Tombstone, &i.Version, &updated); err != nil {
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

// UpdateSync implements store.Store. The row is read locked (PostgreSQL) or
// under the single writer (SQLite), and written only if its version is
// still the one read.
func (s *Store) UpdateSync(ctx context.Context, linkID string, fn func(store.SyncInfo) (store.SyncInfo, error)) (store.SyncInfo, error) {
	if unstorable(linkID) {
		return store.SyncInfo{}, fmt.Errorf("store: update link %q: %w", linkID, store.ErrNotFound)
	}
	var (
		out   store.SyncInfo
		fnErr error
	)
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		fnErr = nil // a run after a rollback starts afresh
		cur, err := scanSync(tx.QueryRowContext(ctx, sqlSyncByLink+s.d.LockRow, linkID))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		arg := cur
		arg.Record = maps.Clone(cur.Record)
		next, err := fn(arg)
		if err != nil {
			fnErr = err
			return &unwritten{err}
		}
		next.LinkID, next.UserID, next.UserName, next.Tombstone = cur.LinkID, cur.UserID, cur.UserName, cur.Tombstone
		next.Version = cur.Version + 1
		if next.Updated.IsZero() {
			next.Updated = s.now()
		}
		next.Updated = tm(ts(next.Updated))
		if next.State == "" {
			next.State = store.StatePending
		}
		if unstorable(next.GSID, next.State, next.LastError) {
			return invalid("sync info")
		}
		record, err := json.Marshal(next.Record)
		if err != nil {
			return fmt.Errorf("encode record: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE sync_info SET gsid = $1, record = $2, active = $3, unknown = $4, state = $5,
last_error = $6, version = $7, updated = $8 WHERE link_id = $9 AND version = $10`,
			next.GSID, string(record), next.Active, next.Unknown, next.State, next.LastError, next.Version,
			ts(next.Updated), linkID, cur.Version)
		if err != nil {
			return s.uniqueErr(err, fmt.Sprintf("GSID %q is linked to another user", next.GSID))
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errCASLost
		}
		// What is stored, as GetSync would return it.
		if err := json.Unmarshal(record, &next.Record); err != nil {
			return fmt.Errorf("decode record: %w", err)
		}
		out = next
		return nil
	})
	if fnErr != nil {
		return store.SyncInfo{}, fnErr
	}
	if err != nil {
		return store.SyncInfo{}, fmt.Errorf("store: update link %s: %w", linkID, err)
	}
	return out, nil
}

// ListLinks implements store.Store.
func (s *Store) ListLinks(ctx context.Context, after string, limit int) ([]store.SyncInfo, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, sqlLinksAfter, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list links: %w", err)
	}
	defer rows.Close()
	var out []store.SyncInfo
	for rows.Next() {
		i, err := scanSync(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list links: %w", err)
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list links: %w", err)
	}
	return out, nil
}

// PurgeTombstones implements store.Store.
func (s *Store) PurgeTombstones(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, sqlPurgeTombstones, ts(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge tombstones: %w", err)
	}
	return int(n), nil
}

// CountSyncStates implements store.Store. Every state is present, zero
// when no user is in it.
func (s *Store) CountSyncStates(ctx context.Context) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, sqlCountSyncStates)
	if err != nil {
		return nil, fmt.Errorf("store: count sync states: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for _, st := range store.SyncStates() {
		out[st] = 0
	}
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
