package memory

import (
	"context"
	"fmt"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// FindUsers implements store.Finder.
func (s *Store) FindUsers(_ context.Context, f store.UserFilter) ([]store.User, int, error) {
	field, err := userField(f.Query)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find users: %w", err)
	}
	if matchesNothing(f.Query) || unstorableCondition(f.Group, f.GroupName, f.GSID) {
		return nil, 0, nil
	}
	if f.SyncState != "" && !store.ValidSyncState(f.SyncState) {
		return nil, 0, nil
	}
	if err := s.lock(); err != nil {
		return nil, 0, err
	}
	defer s.mu.Unlock()
	rows := s.usersBySeq(func(r *userRow) bool {
		if !field(r) || (f.Active != nil && r.u.Active != *f.Active) || (f.Group != "" && !s.memberOf[r.u.ID][f.Group]) {
			return false
		}
		if f.GroupName != "" && !s.inGroupNamed(r.u.ID, f.GroupName) {
			return false
		}
		if f.SyncState == "" && f.GSID == "" {
			return true
		}
		l := s.links[s.linkOfUser[r.u.ID]]
		if l == nil || l.info.Tombstone {
			return false
		}
		return (f.SyncState == "" || l.info.State == f.SyncState) && (f.GSID == "" || l.info.GSID == f.GSID)
	})
	var out []store.User
	for _, r := range page(rows, f.Query) {
		out = append(out, r.user())
	}
	return out, len(rows), nil
}

// unstorableCondition reports whether a condition names a value no stored
// value can hold.
func unstorableCondition(vs ...string) bool {
	for _, v := range vs {
		if v != "" && store.Unindexable(v) {
			return true
		}
	}
	return false
}

// inGroupNamed reports whether user id is a member of the group with
// displayName name; the caller holds the lock.
func (s *Store) inGroupNamed(id, name string) bool {
	gid, ok := s.groupByName[store.Fold(name)]
	return ok && s.memberOf[id][gid]
}

// FindGroups implements store.Finder.
func (s *Store) FindGroups(_ context.Context, f store.GroupFilter, withMembers bool) ([]store.Group, int, error) {
	field, err := groupField(f.Query)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find groups: %w", err)
	}
	if matchesNothing(f.Query) || unstorableCondition(f.Member) {
		return nil, 0, nil
	}
	if err := s.lock(); err != nil {
		return nil, 0, err
	}
	defer s.mu.Unlock()
	return s.listGroups(func(r *groupRow) bool {
		return field(r) && (f.Member == "" || s.members[r.g.ID][f.Member])
	}, f.Query, withMembers)
}

// GroupsOfUsers implements store.Finder.
func (s *Store) GroupsOfUsers(_ context.Context, ids []string) (map[string][]store.GroupRef, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make(map[string][]store.GroupRef, len(ids))
	for _, id := range ids {
		var gids []string
		for g := range s.memberOf[id] {
			gids = append(gids, g)
		}
		for _, g := range s.groupsBySeq(gids) {
			out[id] = append(out[id], s.ref(g))
		}
	}
	return out, nil
}

// SyncOfUsers implements store.Finder.
func (s *Store) SyncOfUsers(_ context.Context, ids []string) (map[string]store.SyncInfo, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make(map[string]store.SyncInfo, len(ids))
	for _, id := range ids {
		if l := s.links[s.linkOfUser[id]]; l != nil {
			out[id] = l.sync()
		}
	}
	return out, nil
}
