package scim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// memStore is an in-memory Store for tests of this package, following the
// store.Store contract for the methods the SCIM front end uses.
type memStore struct {
	mu     sync.Mutex
	now    func() time.Time
	seq    int
	users  map[string]store.User
	order  map[string]int
	groups map[string]store.Group
	syncs  map[string]store.SyncInfo
	dirty  map[string]int
}

func newMemStore(now func() time.Time) *memStore {
	return &memStore{now: now, users: map[string]store.User{}, order: map[string]int{}, groups: map[string]store.Group{}, syncs: map[string]store.SyncInfo{}, dirty: map[string]int{}}
}

func (s *memStore) userNameTaken(name, except string) bool {
	for id, u := range s.users {
		if id != except && strings.EqualFold(u.UserName, name) {
			return true
		}
	}
	return false
}

func (s *memStore) CreateUser(_ context.Context, u store.User) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userNameTaken(u.UserName, "") {
		return store.User{}, store.ErrConflict
	}
	u.Version, u.Created, u.Modified = 1, s.now(), s.now()
	s.seq++
	s.order[u.ID] = s.seq
	s.users[u.ID] = u
	s.syncs[u.ID] = store.SyncInfo{UserID: u.ID, UserName: u.UserName, State: store.StatePending}
	s.dirty[u.ID]++
	return u, nil
}

func (s *memStore) GetUser(_ context.Context, id string) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return store.User{}, fmt.Errorf("user %s: %w", id, store.ErrNotFound)
	}
	return u, nil
}

func (s *memStore) UpdateUser(_ context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[id]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	n, err := fn(old)
	if err != nil {
		return store.User{}, err
	}
	if s.userNameTaken(n.UserName, id) {
		return store.User{}, store.ErrConflict
	}
	n.ID, n.Version, n.Created, n.Modified = id, old.Version+1, old.Created, s.now()
	s.users[id] = n
	s.dirty[id]++
	return n, nil
}

func (s *memStore) DeleteUser(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[id]; !ok {
		return store.ErrNotFound
	}
	delete(s.users, id)
	for gid, g := range s.groups {
		g.Members = without(g.Members, id)
		s.groups[gid] = g
	}
	info := s.syncs[id]
	info.Tombstone = true
	s.syncs[id] = info
	s.dirty[id]++
	return nil
}

func without(list []string, id string) []string {
	out := []string{}
	for _, x := range list {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

func (s *memStore) sortedUsers() []store.User {
	all := make([]store.User, 0, len(s.users))
	for _, u := range s.users {
		all = append(all, u)
	}
	sort.Slice(all, func(i, j int) bool { return s.order[all[i].ID] < s.order[all[j].ID] })
	return all
}

func (s *memStore) ListUsers(_ context.Context, q store.Query) ([]store.User, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []store.User
	for _, u := range s.sortedUsers() {
		ok := false
		switch q.Field {
		case "":
			ok = true
		case "id":
			ok = u.ID == q.Value
		case "userName":
			ok = strings.EqualFold(u.UserName, q.Value)
		case "externalId":
			ok = u.ExternalID == q.Value
		case "emails":
			for _, e := range u.Emails {
				ok = ok || strings.EqualFold(e, q.Value)
			}
		default:
			return nil, 0, fmt.Errorf("unknown field %q", q.Field)
		}
		if ok {
			match = append(match, u)
		}
	}
	return window(match, q), len(match), nil
}

func window[T any](all []T, q store.Query) []T {
	if q.Offset >= len(all) {
		return nil
	}
	all = all[q.Offset:]
	if q.Limit > 0 && q.Limit < len(all) {
		all = all[:q.Limit]
	}
	return all
}

func (s *memStore) refs(userID string, override store.Group, deleted string) []store.GroupRef {
	var out []store.GroupRef
	ids := make([]string, 0, len(s.groups))
	for id := range s.groups {
		ids = append(ids, id)
	}
	if _, ok := s.groups[override.ID]; !ok && override.ID != "" {
		ids = append(ids, override.ID)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if id == deleted {
			continue
		}
		g := s.groups[id]
		if id == override.ID {
			g = override
		}
		for _, m := range g.Members {
			if m == userID {
				out = append(out, store.GroupRef{ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID})
			}
		}
	}
	return out
}

func (s *memStore) groupNameTaken(name, except string) bool {
	for id, g := range s.groups {
		if id != except && strings.EqualFold(g.DisplayName, name) {
			return true
		}
	}
	return false
}

func (s *memStore) CreateGroup(_ context.Context, g store.Group, check store.GroupCheck) (store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groupNameTaken(g.DisplayName, "") {
		return store.Group{}, store.ErrConflict
	}
	var missing []string
	for _, m := range g.Members {
		if _, ok := s.users[m]; !ok {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return store.Group{}, fmt.Errorf("members %v: %w", missing, store.ErrNotFound)
	}
	g.Version, g.Created, g.Modified = 1, s.now(), s.now()
	affected := map[string][]store.GroupRef{}
	for _, m := range g.Members {
		affected[m] = s.refs(m, g, "")
	}
	if err := check(g, affected); err != nil {
		return store.Group{}, err
	}
	s.seq++
	s.order[g.ID] = s.seq
	s.groups[g.ID] = g
	for m := range affected {
		s.dirty[m]++
	}
	return g, nil
}

func (s *memStore) GetGroup(_ context.Context, id string) (store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[id]
	if !ok {
		return store.Group{}, store.ErrNotFound
	}
	return g, nil
}

func (s *memStore) UpdateGroup(_ context.Context, id string, fn func(store.Group) (store.Group, error), check store.GroupCheck) (store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.groups[id]
	if !ok {
		return store.Group{}, store.ErrNotFound
	}
	n, err := fn(old)
	if err != nil {
		return store.Group{}, err
	}
	if s.groupNameTaken(n.DisplayName, id) {
		return store.Group{}, store.ErrConflict
	}
	n.ID, n.Version, n.Created, n.Modified = id, old.Version+1, old.Created, s.now()
	changed := map[string]bool{}
	for _, m := range old.Members {
		changed[m] = true
	}
	for _, m := range n.Members {
		if _, ok := s.users[m]; !ok {
			return store.Group{}, fmt.Errorf("member %s: %w", m, store.ErrNotFound)
		}
		if changed[m] {
			delete(changed, m)
		} else {
			changed[m] = true
		}
	}
	affected := map[string][]store.GroupRef{}
	for m := range changed {
		affected[m] = s.refs(m, n, "")
	}
	if err := check(n, affected); err != nil {
		return store.Group{}, err
	}
	s.groups[id] = n
	for m := range affected {
		s.dirty[m]++
	}
	return n, nil
}

func (s *memStore) DeleteGroup(_ context.Context, id string, check store.GroupCheck) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.groups[id]
	if !ok {
		return store.ErrNotFound
	}
	affected := map[string][]store.GroupRef{}
	for _, m := range old.Members {
		affected[m] = s.refs(m, store.Group{}, id)
	}
	if err := check(store.Group{}, affected); err != nil {
		return err
	}
	delete(s.groups, id)
	return nil
}

func (s *memStore) ListGroups(_ context.Context, q store.Query, withMembers bool) ([]store.Group, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]store.Group, 0, len(s.groups))
	for _, g := range s.groups {
		ok := false
		switch q.Field {
		case "":
			ok = true
		case "id":
			ok = g.ID == q.Value
		case "displayName":
			ok = strings.EqualFold(g.DisplayName, q.Value)
		case "externalId":
			ok = g.ExternalID == q.Value
		default:
			return nil, 0, fmt.Errorf("unknown field %q", q.Field)
		}
		if ok {
			if !withMembers {
				g.Members = nil
			}
			all = append(all, g)
		}
	}
	sort.Slice(all, func(i, j int) bool { return s.order[all[i].ID] < s.order[all[j].ID] })
	return window(all, q), len(all), nil
}

func (s *memStore) GroupsOfUser(_ context.Context, id string) ([]store.GroupRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refs(id, store.Group{}, ""), nil
}

func (s *memStore) GetSync(_ context.Context, id string) (store.SyncInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.syncs[id]
	if !ok {
		return store.SyncInfo{}, store.ErrNotFound
	}
	return info, nil
}

func (s *memStore) putSync(info store.SyncInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs[info.UserID] = info
}
