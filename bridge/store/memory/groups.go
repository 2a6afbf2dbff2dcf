package memory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// checkGroup refuses a group whose indexed strings cannot be stored.
func checkGroup(g store.Group) error {
	for _, f := range []struct{ attr, v string }{
		{"id", g.ID}, {"displayName", g.DisplayName}, {"externalId", g.ExternalID}, {"source", g.Source},
	} {
		if store.Unindexable(f.v) {
			return invalid(f.attr)
		}
	}
	return nil
}

// group returns a copy of the stored group, members included when with,
// and their display names when names.
func (s *Store) group(r *groupRow, with, names bool) store.Group {
	g := r.g
	g.Doc = decodeMap(r.doc)
	if with {
		for u := range s.members[g.ID] {
			g.Members = append(g.Members, u)
		}
		sort.Strings(g.Members)
	}
	if with && names {
		g.MemberNames = make(map[string]string, len(g.Members))
		for _, u := range g.Members {
			g.MemberNames[u] = s.displayName(u)
		}
	}
	return g
}

// displayName is a user's displayName, or its userName when it has none.
func (s *Store) displayName(id string) string {
	r := s.users[id]
	if r == nil {
		return ""
	}
	if name, _ := decodeMap(r.doc)["displayName"].(string); name != "" {
		return name
	}
	return r.u.UserName
}

func (s *Store) ref(id string) store.GroupRef {
	g := s.groups[id].g
	return store.GroupRef{ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID}
}

// missing returns those of ids that are not users.
func (s *Store) missing(ids []string) []string {
	var out []string
	for _, id := range store.DistinctIDs(ids) {
		if _, ok := s.users[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// groupsBySeq sorts group ids in creation order.
func (s *Store) groupsBySeq(ids []string) []string {
	sort.Slice(ids, func(i, j int) bool { return s.groups[ids[i]].seq < s.groups[ids[j]].seq })
	return ids
}

// affected builds the GroupCheck map: every user in users mapped to all
// the groups it will be in once after (zero for a deletion of groupID)
// applies.
func (s *Store) affected(users []string, groupID string, after store.Group) map[string][]store.GroupRef {
	in := make(map[string]bool, len(after.Members))
	for _, m := range after.Members {
		in[m] = true
	}
	out := make(map[string][]store.GroupRef, len(users))
	for _, u := range store.DistinctIDs(users) {
		var others []string
		for g := range s.memberOf[u] {
			if g != groupID {
				others = append(others, g)
			}
		}
		refs := []store.GroupRef{}
		for _, g := range s.groupsBySeq(others) {
			refs = append(refs, s.ref(g))
		}
		if in[u] {
			refs = append(refs, store.GroupRef{ID: after.ID, DisplayName: after.DisplayName, ExternalID: after.ExternalID})
		}
		out[u] = refs
	}
	return out
}

func (s *Store) setMembers(groupID string, add, remove []string) {
	for _, u := range remove {
		delete(s.members[groupID], u)
		delete(s.memberOf[u], groupID)
	}
	for _, u := range add {
		if s.members[groupID] == nil {
			s.members[groupID] = map[string]bool{}
		}
		if s.memberOf[u] == nil {
			s.memberOf[u] = map[string]bool{}
		}
		s.members[groupID][u] = true
		s.memberOf[u][groupID] = true
	}
}

// CreateGroup implements store.Store.
func (s *Store) CreateGroup(_ context.Context, g store.Group, check store.GroupCheck) (store.Group, error) {
	if g.DisplayName == "" {
		return store.Group{}, errors.New("store: create group: empty displayName")
	}
	if g.ID == "" {
		g.ID = newID()
	}
	if g.Source == "" {
		g.Source = store.SourceSCIM
	}
	g.Members = store.DistinctIDs(g.Members)
	if err := checkGroup(g); err != nil {
		return store.Group{}, fmt.Errorf("store: create group: %w", err)
	}
	doc, err := encode(g.Doc)
	if err != nil {
		return store.Group{}, fmt.Errorf("store: create group: %w", err)
	}
	if err := s.lock(); err != nil {
		return store.Group{}, err
	}
	defer s.mu.Unlock()
	if missing := s.missing(g.Members); len(missing) > 0 {
		return store.Group{}, fmt.Errorf("store: create group: %w", missingErr(missing))
	}
	key := store.Fold(g.DisplayName)
	if _, taken := s.groupByName[key]; taken {
		return store.Group{}, fmt.Errorf("store: create group: displayName %q: %w", g.DisplayName, store.ErrConflict)
	}
	if _, taken := s.groups[g.ID]; taken {
		return store.Group{}, fmt.Errorf("store: create group: id %q: %w", g.ID, store.ErrConflict)
	}
	now := s.clock()
	g.Version, g.Created, g.Modified = 1, now, now
	aff := s.affected(g.Members, g.ID, g)
	if check != nil {
		if err := check(g, aff); err != nil {
			return store.Group{}, err
		}
	}
	prio := s.groupPriorities(aff, g.ID, nil)
	s.seq++
	stored := g
	stored.Doc, stored.Members = nil, nil
	s.groups[g.ID] = &groupRow{g: stored, doc: doc, seq: s.seq}
	s.groupByName[key] = g.ID
	s.setMembers(g.ID, g.Members, nil)
	s.setPending(now, g.Members...)
	s.markEach(now, prio, g.Members)
	g.Doc = decodeMap(doc)
	return g, nil
}

// GetGroup implements store.Store.
func (s *Store) GetGroup(_ context.Context, id string) (store.Group, error) {
	if err := s.lock(); err != nil {
		return store.Group{}, err
	}
	defer s.mu.Unlock()
	r, ok := s.groups[id]
	if !ok {
		return store.Group{}, fmt.Errorf("store: get group %q: %w", id, store.ErrNotFound)
	}
	return s.group(r, true, true), nil
}

// UpdateGroup implements store.Store. A change of displayName or externalId
// can change how every member resolves, so then every member counts as
// affected and is marked dirty.
func (s *Store) UpdateGroup(_ context.Context, id string, fn func(store.Group) (store.Group, error), check store.GroupCheck) (store.Group, error) {
	if err := s.lock(); err != nil {
		return store.Group{}, err
	}
	defer s.mu.Unlock()
	r, ok := s.groups[id]
	if !ok {
		return store.Group{}, fmt.Errorf("store: update group %q: %w", id, store.ErrNotFound)
	}
	cur := s.group(r, true, false)
	next, err := fn(s.group(r, true, false))
	if err != nil {
		return store.Group{}, err
	}
	if next.DisplayName == "" {
		return store.Group{}, fmt.Errorf("store: update group %s: empty displayName", id)
	}
	now := s.clock()
	next.ID, next.Created, next.Version, next.Modified = cur.ID, cur.Created, cur.Version+1, now
	if next.Source == "" {
		next.Source = cur.Source
	}
	next.Members = store.DistinctIDs(next.Members)
	if err := checkGroup(next); err != nil {
		return store.Group{}, fmt.Errorf("store: update group %s: %w", id, err)
	}
	added, removed := store.Without(next.Members, cur.Members), store.Without(cur.Members, next.Members)
	if missing := s.missing(added); len(missing) > 0 {
		return store.Group{}, fmt.Errorf("store: update group %s: %w", id, missingErr(missing))
	}
	doc, err := encode(next.Doc)
	if err != nil {
		return store.Group{}, fmt.Errorf("store: update group %s: %w", id, err)
	}
	oldKey, newKey := store.Fold(cur.DisplayName), store.Fold(next.DisplayName)
	if other, taken := s.groupByName[newKey]; taken && other != id {
		return store.Group{}, fmt.Errorf("store: update group %s: displayName %q: %w", id, next.DisplayName, store.ErrConflict)
	}
	users := append(append([]string{}, added...), removed...)
	if !strings.EqualFold(cur.DisplayName, next.DisplayName) || cur.ExternalID != next.ExternalID {
		users = append(users, next.Members...)
	}
	aff := s.affected(users, id, next)
	if check != nil {
		if err := check(next, aff); err != nil {
			return store.Group{}, err
		}
	}
	prio := s.groupPriorities(aff, id, &cur)
	delete(s.groupByName, oldKey)
	s.groupByName[newKey] = id
	stored := next
	stored.Doc, stored.Members = nil, nil
	r.g, r.doc = stored, doc
	s.setMembers(id, added, removed)
	s.setPending(now, users...)
	s.markEach(now, prio, users)
	next.Doc = decodeMap(doc)
	return next, nil
}

// DeleteGroup implements store.Store.
func (s *Store) DeleteGroup(_ context.Context, id string, check store.GroupCheck) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	r, ok := s.groups[id]
	if !ok {
		return fmt.Errorf("store: delete group %q: %w", id, store.ErrNotFound)
	}
	cur := s.group(r, true, false)
	aff := s.affected(cur.Members, id, store.Group{})
	if check != nil {
		if err := check(store.Group{}, aff); err != nil {
			return err
		}
	}
	prio := s.groupPriorities(aff, id, &cur)
	s.setMembers(id, nil, cur.Members)
	delete(s.members, id)
	delete(s.groups, id)
	delete(s.groupByName, store.Fold(cur.DisplayName))
	now := s.clock()
	s.setPending(now, cur.Members...)
	s.markEach(now, prio, cur.Members)
	return nil
}

// ListGroups implements store.Store.
func (s *Store) ListGroups(_ context.Context, q store.Query, withMembers bool) ([]store.Group, int, error) {
	keep, err := groupField(q)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list groups: %w", err)
	}
	if matchesNothing(q) {
		return nil, 0, nil
	}
	if err := s.lock(); err != nil {
		return nil, 0, err
	}
	defer s.mu.Unlock()
	return s.listGroups(keep, q, withMembers)
}

// groupField selects the groups whose q.Field equals q.Value (all for no
// field).
func groupField(q store.Query) (func(*groupRow) bool, error) {
	switch q.Field {
	case "":
		return func(*groupRow) bool { return true }, nil
	case "id":
		return func(r *groupRow) bool { return r.g.ID == q.Value }, nil
	case "displayName":
		return func(r *groupRow) bool { return store.Fold(r.g.DisplayName) == store.Fold(q.Value) }, nil
	case "externalId":
		return func(r *groupRow) bool { return r.g.ExternalID == q.Value }, nil
	}
	return nil, fmt.Errorf("unsupported group query field %q", q.Field)
}

// listGroups returns the page q of the groups matching keep and their
// number; the caller holds the lock.
func (s *Store) listGroups(keep func(*groupRow) bool, q store.Query, withMembers bool) ([]store.Group, int, error) {
	var rows []*groupRow
	for _, r := range s.groups {
		if keep(r) {
			rows = append(rows, r)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].seq < rows[j].seq })
	var out []store.Group
	for _, r := range page(rows, q) {
		out = append(out, s.group(r, withMembers, true))
	}
	return out, len(rows), nil
}

// GroupsOfUser implements store.Store.
func (s *Store) GroupsOfUser(_ context.Context, id string) ([]store.GroupRef, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var ids []string
	for g := range s.memberOf[id] {
		ids = append(ids, g)
	}
	var out []store.GroupRef
	for _, g := range s.groupsBySeq(ids) {
		out = append(out, s.ref(g))
	}
	return out, nil
}
