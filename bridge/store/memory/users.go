package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// checkUser refuses a user whose indexed strings cannot be stored.
func checkUser(u store.User) error {
	for _, f := range []struct{ attr, v string }{
		{"id", u.ID}, {"userName", u.UserName}, {"externalId", u.ExternalID},
		{"manager", u.ManagerID}, {"source", u.Source},
	} {
		if store.Unindexable(f.v) {
			return invalid(f.attr)
		}
	}
	if store.Unindexable(u.Emails...) {
		return invalid("emails")
	}
	return nil
}

// user returns a copy of the stored user with its document.
func (r *userRow) user() store.User {
	u := r.u
	u.Emails = slices.Clone(r.u.Emails)
	u.Doc = decodeMap(r.doc)
	return u
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(_ context.Context, u store.User) (store.User, error) {
	if u.UserName == "" {
		return store.User{}, errors.New("store: create user: empty userName")
	}
	if u.ID == "" {
		u.ID = newID()
	}
	if u.Source == "" {
		u.Source = store.SourceSCIM
	}
	if err := checkUser(u); err != nil {
		return store.User{}, fmt.Errorf("store: create user: %w", err)
	}
	doc, err := encode(u.Doc)
	if err != nil {
		return store.User{}, fmt.Errorf("store: create user: %w", err)
	}
	if err := s.lock(); err != nil {
		return store.User{}, err
	}
	defer s.mu.Unlock()
	key := store.Fold(u.UserName)
	if _, taken := s.userByName[key]; taken {
		return store.User{}, fmt.Errorf("store: create user: userName %q: %w", u.UserName, store.ErrConflict)
	}
	if _, taken := s.users[u.ID]; taken {
		return store.User{}, fmt.Errorf("store: create user: id %q: %w", u.ID, store.ErrConflict)
	}
	now := s.clock()
	u.Version, u.Created, u.Modified = 1, now, now
	u.Emails = slices.Clone(u.Emails)
	s.seq++
	stored := u
	stored.Doc = nil
	s.users[u.ID] = &userRow{u: stored, doc: doc, seq: s.seq}
	s.userByName[key] = u.ID
	s.setManager(u.ID, "", u.ManagerID)
	prio := store.PriorityNormal
	if s.attachLink(u, now) && !u.Active {
		// It takes over a deleted user's Gainsight user, which may still
		// be active.
		prio = store.PriorityUrgent
	}
	s.markDirty(now, prio, u.ID)
	u.Doc = decodeMap(doc)
	return u, nil
}

// attachLink gives a new user its pending link, taking over the most
// recent tombstone of the same userName (same link id and GSID); it
// reports whether it took a tombstone's link over.
func (s *Store) attachLink(u store.User, now time.Time) bool {
	key := store.Fold(u.UserName)
	var best *linkRow
	for _, l := range s.links {
		if s.tombstones == 0 {
			break // nothing to take over: no need to look
		}
		if !l.info.Tombstone || store.Fold(l.info.UserName) != key {
			continue
		}
		if best == nil || l.info.Updated.After(best.info.Updated) ||
			l.info.Updated.Equal(best.info.Updated) && l.info.UserID < best.info.UserID {
			best = l
		}
	}
	if best == nil {
		if id, ok := s.linkOfUser[u.ID]; ok {
			best = s.links[id] // a link left by a deleted user of the same id
		}
	}
	if best == nil {
		id := newID()
		s.links[id] = &linkRow{
			info:   store.SyncInfo{LinkID: id, UserID: u.ID, UserName: u.UserName, State: store.StatePending, Version: 1, Updated: now},
			record: []byte("null"),
		}
		s.linkOfUser[u.ID] = id
		return false
	}
	if best.info.Tombstone {
		s.tombstones--
	}
	delete(s.linkOfUser, best.info.UserID)
	best.info.UserID, best.info.UserName = u.ID, u.UserName
	best.info.State, best.info.Tombstone, best.info.Updated = store.StatePending, false, now
	best.info.Version++
	s.linkOfUser[u.ID] = best.info.LinkID
	return true
}

// GetUser implements store.Store.
func (s *Store) GetUser(_ context.Context, id string) (store.User, error) {
	if err := s.lock(); err != nil {
		return store.User{}, err
	}
	defer s.mu.Unlock()
	r, ok := s.users[id]
	if !ok {
		return store.User{}, fmt.Errorf("store: get user %q: %w", id, store.ErrNotFound)
	}
	return r.user(), nil
}

// UpdateUser implements store.Store.
func (s *Store) UpdateUser(_ context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	if err := s.lock(); err != nil {
		return store.User{}, err
	}
	defer s.mu.Unlock()
	r, ok := s.users[id]
	if !ok {
		return store.User{}, fmt.Errorf("store: update user %q: %w", id, store.ErrNotFound)
	}
	cur := r.user()
	next, err := fn(r.user())
	if err != nil {
		return store.User{}, err
	}
	if next.UserName == "" {
		return store.User{}, fmt.Errorf("store: update user %s: empty userName", id)
	}
	now := s.clock()
	next.ID, next.Created, next.Version, next.Modified = cur.ID, cur.Created, cur.Version+1, now
	if next.Source == "" {
		next.Source = cur.Source
	}
	if err := checkUser(next); err != nil {
		return store.User{}, fmt.Errorf("store: update user %s: %w", id, err)
	}
	doc, err := encode(next.Doc)
	if err != nil {
		return store.User{}, fmt.Errorf("store: update user %s: %w", id, err)
	}
	oldKey, newKey := store.Fold(cur.UserName), store.Fold(next.UserName)
	if other, taken := s.userByName[newKey]; taken && other != id {
		return store.User{}, fmt.Errorf("store: update user %s: userName %q: %w", id, next.UserName, store.ErrConflict)
	}
	delete(s.userByName, oldKey)
	s.userByName[newKey] = id
	s.setManager(id, cur.ManagerID, next.ManagerID)
	next.Emails = slices.Clone(next.Emails)
	stored := next
	stored.Doc = nil
	r.u, r.doc = stored, doc
	prio := s.userPriority(cur, next)
	if l := s.links[s.linkOfUser[id]]; l != nil && !l.info.Tombstone {
		l.info.UserName, l.info.State, l.info.Updated = next.UserName, store.StatePending, now
		l.info.Version++
	}
	s.markDirty(now, prio, id)
	return r.user(), nil
}

// DeleteUser implements store.Store.
func (s *Store) DeleteUser(_ context.Context, id string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	r, ok := s.users[id]
	if !ok {
		return fmt.Errorf("store: delete user %q: %w", id, store.ErrNotFound)
	}
	now := s.clock()
	for g := range s.memberOf[id] {
		// The group loses a member: that is a change of the group too.
		gr := s.groups[g]
		gr.g.Version++
		gr.g.Modified = now
		delete(s.members[g], id)
	}
	delete(s.memberOf, id)
	delete(s.users, id)
	delete(s.userByName, store.Fold(r.u.UserName))
	s.setManager(id, r.u.ManagerID, "")
	s.tombstones++
	if l := s.links[s.linkOfUser[id]]; l != nil {
		l.info.UserName, l.info.State, l.info.Tombstone, l.info.Updated = r.u.UserName, store.StatePending, true, now
		l.info.Version++
	} else {
		lid := newID()
		s.links[lid] = &linkRow{
			info: store.SyncInfo{LinkID: lid, UserID: id, UserName: r.u.UserName, State: store.StatePending,
				Tombstone: true, Version: 1, Updated: now},
			record: []byte("null"),
		}
		s.linkOfUser[id] = lid
	}
	s.markDirty(now, store.PriorityUrgent, id)
	return nil
}

// userField selects the users whose q.Field equals q.Value (all for no
// field).
func userField(q store.Query) (func(*userRow) bool, error) {
	switch q.Field {
	case "":
		return func(*userRow) bool { return true }, nil
	case "id":
		return func(r *userRow) bool { return r.u.ID == q.Value }, nil
	case "userName":
		return func(r *userRow) bool { return store.Fold(r.u.UserName) == store.Fold(q.Value) }, nil
	case "externalId":
		return func(r *userRow) bool { return r.u.ExternalID == q.Value }, nil
	case "emails":
		return func(r *userRow) bool {
			return slices.ContainsFunc(r.u.Emails, func(e string) bool { return store.Fold(e) == store.Fold(q.Value) })
		}, nil
	}
	return nil, fmt.Errorf("unsupported user query field %q", q.Field)
}

// usersBySeq returns the users matching keep, in creation order.
func (s *Store) usersBySeq(keep func(*userRow) bool) []*userRow {
	var rows []*userRow
	for _, r := range s.users {
		if keep(r) {
			rows = append(rows, r)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].seq < rows[j].seq })
	return rows
}

// ListUsers implements store.Store.
func (s *Store) ListUsers(_ context.Context, q store.Query) ([]store.User, int, error) {
	keep, err := userField(q)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list users: %w", err)
	}
	if matchesNothing(q) {
		return nil, 0, nil
	}
	if err := s.lock(); err != nil {
		return nil, 0, err
	}
	defer s.mu.Unlock()
	rows := s.usersBySeq(keep)
	var out []store.User
	for _, r := range page(rows, q) {
		out = append(out, r.user())
	}
	return out, len(rows), nil
}

// UsersByManager implements store.Store.
func (s *Store) UsersByManager(_ context.Context, id string) ([]string, error) {
	if id == "" || store.Unindexable(id) {
		return nil, nil
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	rows := make([]*userRow, 0, len(s.reports[id]))
	for u := range s.reports[id] {
		rows = append(rows, s.users[u])
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].seq < rows[j].seq })
	var out []string
	for _, r := range rows {
		out = append(out, r.u.ID)
	}
	return out, nil
}

// ListUserIDs implements store.Store.
func (s *Store) ListUserIDs(_ context.Context, after string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var ids []string
	for id := range s.users {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return ids, nil
}
