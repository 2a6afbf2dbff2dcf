package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// snapshotRow is the stored tenant snapshot: its keys by hash.
type snapshotRow struct {
	info store.SnapshotInfo
	keys map[string][]store.SnapshotKey
}

// SetPrioritizer implements store.Store.
func (s *Store) SetPrioritizer(p store.Prioritizer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prioritizer = p
}

// userPriority is the priority of an update of a user from old to new.
func (s *Store) userPriority(old, new store.User) store.Priority {
	if s.prioritizer == nil {
		return store.DefaultUserPriority(old, new)
	}
	var refs []store.GroupRef
	for _, g := range s.groupsBySeq(keys(s.memberOf[old.ID])) {
		refs = append(refs, s.ref(g))
	}
	return s.prioritizer.UserPriority(old, new, refs).Clamp()
}

// groupPriorities returns the priority of each affected user's mark for a
// change of group groupID: after maps each user to its groups once the
// change applies; was (nil for a created group) is the group before the
// change.
func (s *Store) groupPriorities(after map[string][]store.GroupRef, groupID string, was *store.Group) map[string]store.Priority {
	out := make(map[string]store.Priority, len(after))
	for u, refs := range after {
		if s.prioritizer == nil {
			out[u] = store.PriorityNormal
			continue
		}
		out[u] = s.prioritizer.GroupPriority(before(u, refs, groupID, was), refs).Clamp()
	}
	return out
}

// before returns the groups user u was in before a change of group
// groupID, which was was (nil: the group is new), given the groups it is in
// after.
func before(u string, after []store.GroupRef, groupID string, was *store.Group) []store.GroupRef {
	out := without(after, groupID)
	if was == nil {
		return out
	}
	for _, m := range was.Members {
		if m == u {
			out = append(out, store.GroupRef{ID: was.ID, DisplayName: was.DisplayName, ExternalID: was.ExternalID})
			break
		}
	}
	return out
}

// without returns refs without the group id.
func without(refs []store.GroupRef, id string) []store.GroupRef {
	out := make([]store.GroupRef, 0, len(refs))
	for _, r := range refs {
		if r.ID != id {
			out = append(out, r)
		}
	}
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// markEach marks every user of prio with its own priority.
func (s *Store) markEach(now time.Time, prio map[string]store.Priority, users []string) {
	for _, u := range store.DistinctIDs(users) {
		p, ok := prio[u]
		if !ok {
			p = store.PriorityNormal
		}
		s.markDirty(now, p, u)
	}
}

// DirtyByPriority implements store.Store.
func (s *Store) DirtyByPriority(context.Context) ([]store.PriorityStats, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	by := map[store.Priority]*store.PriorityStats{}
	out := make([]store.PriorityStats, 0, 4)
	for _, p := range store.Priorities() {
		by[p] = &store.PriorityStats{Priority: p}
	}
	for _, d := range s.dirty {
		st := by[d.priority.Clamp()]
		st.Count++
		if st.Oldest.IsZero() || d.raised.Before(st.Oldest) {
			st.Oldest = d.raised
		}
	}
	for _, p := range store.Priorities() {
		out = append(out, *by[p])
	}
	return out, nil
}

// CountUnlinkedDirty implements store.Store.
func (s *Store) CountUnlinkedDirty(context.Context) (int, error) {
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := 0
	for id := range s.dirty {
		if l := s.links[s.linkOfUser[id]]; l != nil && !l.info.Tombstone && l.info.GSID == "" {
			n++
		}
	}
	return n, nil
}

// ReplaceSnapshot implements store.Store.
func (s *Store) ReplaceSnapshot(_ context.Context, snap store.Snapshot) error {
	row := &snapshotRow{
		info: store.SnapshotInfo{Taken: stamp(snap.Taken), Total: snap.Total, Salt: snap.Salt},
		keys: map[string][]store.SnapshotKey{},
	}
	type pair struct{ hash, gsid string }
	seen := map[pair]bool{}
	for _, k := range snap.Keys {
		if store.Unindexable(k.Hash, k.GSID) {
			return fmt.Errorf("store: replace snapshot: %w", invalid("snapshot key"))
		}
		if p := (pair{k.Hash, k.GSID}); !seen[p] {
			seen[p] = true
			row.keys[k.Hash] = append(row.keys[k.Hash], k)
			row.info.Keys++
		}
	}
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.snapshot = row
	return nil
}

// SnapshotInfo implements store.Store.
func (s *Store) SnapshotInfo(context.Context) (store.SnapshotInfo, error) {
	if err := s.lock(); err != nil {
		return store.SnapshotInfo{}, err
	}
	defer s.mu.Unlock()
	if s.snapshot == nil {
		return store.SnapshotInfo{}, fmt.Errorf("store: snapshot: %w", store.ErrNotFound)
	}
	return s.snapshot.info, nil
}

// SnapshotKeys implements store.Store.
func (s *Store) SnapshotKeys(_ context.Context, hashes []string) ([]store.SnapshotKey, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if s.snapshot == nil {
		return nil, nil
	}
	var out []store.SnapshotKey
	for _, h := range store.DistinctIDs(hashes) {
		out = append(out, s.snapshot.keys[h]...)
	}
	return out, nil
}
