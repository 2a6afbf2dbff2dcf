package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// SetPrioritizer implements store.Store.
func (s *Store) SetPrioritizer(p store.Prioritizer) {
	if p == nil {
		s.prioritizer.Store(nil)
		return
	}
	s.prioritizer.Store(&p)
}

func (s *Store) getPrioritizer() store.Prioritizer {
	if p := s.prioritizer.Load(); p != nil {
		return *p
	}
	return nil
}

// userPriority is the priority of an update of a user from old to new,
// inside the update's transaction.
func (s *Store) userPriority(ctx context.Context, q queryer, old, new store.User) (store.Priority, error) {
	pr := s.getPrioritizer()
	if pr == nil {
		return store.DefaultUserPriority(old, new), nil
	}
	groups, err := s.groupsOf(ctx, q, []string{old.ID}, "")
	if err != nil {
		return 0, err
	}
	return pr.UserPriority(old, new, groups[old.ID]).Clamp(), nil
}

// groupPriorities returns the priority of each affected user's mark for a
// change of group groupID: after maps each user to its groups once the
// change applies; was (nil for a created group) is the group before the
// change, members included.
func (s *Store) groupPriorities(after map[string][]store.GroupRef, groupID string, was *store.Group) map[string]store.Priority {
	pr := s.getPrioritizer()
	out := make(map[string]store.Priority, len(after))
	var members map[string]bool
	if was != nil {
		members = make(map[string]bool, len(was.Members))
		for _, m := range was.Members {
			members[m] = true
		}
	}
	for u, refs := range after {
		if pr == nil {
			out[u] = store.PriorityNormal
			continue
		}
		before := make([]store.GroupRef, 0, len(refs)+1)
		for _, r := range refs {
			if r.ID != groupID {
				before = append(before, r)
			}
		}
		if members[u] {
			before = append(before, store.GroupRef{ID: was.ID, DisplayName: was.DisplayName, ExternalID: was.ExternalID})
		}
		out[u] = pr.GroupPriority(before, refs).Clamp()
	}
	return out
}

// DirtyByPriority implements store.Store.
func (s *Store) DirtyByPriority(ctx context.Context) ([]store.PriorityStats, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT priority, COUNT(*), MIN(raised) FROM dirty GROUP BY priority`)
	if err != nil {
		return nil, fmt.Errorf("store: dirty by priority: %w", err)
	}
	defer rows.Close()
	by := map[store.Priority]store.PriorityStats{}
	for rows.Next() {
		var p, n int
		var oldest int64
		if err := rows.Scan(&p, &n, &oldest); err != nil {
			return nil, fmt.Errorf("store: dirty by priority: %w", err)
		}
		st := by[store.Priority(p).Clamp()]
		st.Count += n
		if o := tm(oldest); st.Oldest.IsZero() || o.Before(st.Oldest) {
			st.Oldest = o
		}
		by[store.Priority(p).Clamp()] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: dirty by priority: %w", err)
	}
	out := make([]store.PriorityStats, 0, 4)
	for _, p := range store.Priorities() {
		st := by[p]
		st.Priority = p
		out = append(out, st)
	}
	return out, nil
}

// CountUnlinkedDirty implements store.Store.
func (s *Store) CountUnlinkedDirty(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, sqlUnlinkedDirty).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count unlinked dirty users: %w", err)
	}
	return n, nil
}

// snapshotRows is how many keys one INSERT carries.
const snapshotRows = 300

// ReplaceSnapshot implements store.Store.
func (s *Store) ReplaceSnapshot(ctx context.Context, snap store.Snapshot) error {
	for _, k := range snap.Keys {
		if unstorable(k.Hash, k.GSID) {
			return fmt.Errorf("store: replace snapshot: %w", invalid("snapshot key"))
		}
	}
	// One key hash may name several Gainsight users (Gainsight keeps
	// names unique, but a listing is not atomic); a pair is stored once.
	type pair struct{ hash, gsid string }
	seen := make(map[pair]bool, len(snap.Keys))
	keys := make([]store.SnapshotKey, 0, len(snap.Keys))
	for _, k := range snap.Keys {
		if p := (pair{k.Hash, k.GSID}); !seen[p] {
			seen[p] = true
			keys = append(keys, k)
		}
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM snapshot_keys`); err != nil {
			return fmt.Errorf("clear keys: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM snapshot`); err != nil {
			return fmt.Errorf("clear snapshot: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO snapshot (id, taken, total, salt, key_count) VALUES (1, $1, $2, $3, $4)`,
			ts(snap.Taken), snap.Total, snap.Salt, len(keys)); err != nil {
			return fmt.Errorf("write snapshot: %w", err)
		}
		for rest := keys; len(rest) > 0; {
			n := min(snapshotRows, len(rest))
			var b strings.Builder
			args := make([]any, 0, 3*n)
			for i, k := range rest[:n] {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "($%d, $%d, $%d)", 3*i+1, 3*i+2, 3*i+3)
				args = append(args, k.Hash, k.GSID, k.Active)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO snapshot_keys (key_hash, gsid, active) VALUES `+b.String(), args...); err != nil {
				return fmt.Errorf("write keys: %w", err)
			}
			rest = rest[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: replace snapshot: %w", err)
	}
	return nil
}

// SnapshotInfo implements store.Store.
func (s *Store) SnapshotInfo(ctx context.Context) (store.SnapshotInfo, error) {
	var info store.SnapshotInfo
	var taken int64
	err := s.r.QueryRowContext(ctx, `SELECT taken, total, salt, key_count FROM snapshot WHERE id = 1`).Scan(&taken, &info.Total, &info.Salt, &info.Keys)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.SnapshotInfo{}, fmt.Errorf("store: snapshot: %w", store.ErrNotFound)
	case err != nil:
		return store.SnapshotInfo{}, fmt.Errorf("store: snapshot: %w", err)
	}
	info.Taken = tm(taken)
	return info, nil
}

// SnapshotKeys implements store.Store.
func (s *Store) SnapshotKeys(ctx context.Context, hashes []string) ([]store.SnapshotKey, error) {
	var storable []string
	for _, h := range hashes {
		if !unstorable(h) {
			storable = append(storable, h)
		}
	}
	var out []store.SnapshotKey
	for _, c := range chunks(store.DistinctIDs(storable)) {
		rows, err := s.r.QueryContext(ctx, fmt.Sprintf(sqlSnapshotKeys, placeholders(1, len(c))), anys(c)...)
		if err != nil {
			return nil, fmt.Errorf("store: snapshot keys: %w", err)
		}
		for rows.Next() {
			var k store.SnapshotKey
			if err := rows.Scan(&k.Hash, &k.GSID, &k.Active); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: snapshot keys: %w", err)
			}
			out = append(out, k)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: snapshot keys: %w", err)
		}
	}
	return out, nil
}
