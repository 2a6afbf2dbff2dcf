package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

const groupCols = `id, display_name, external_id, source, doc, version, created, modified`

func scanGroup(sc interface{ Scan(...any) error }) (store.Group, error) {
	var (
		g                 store.Group
		doc               string
		created, modified int64
	)
	if err := sc.Scan(&g.ID, &g.DisplayName, &g.ExternalID, &g.Source, &doc, &g.Version, &created, &modified); err != nil {
		return store.Group{}, err
	}
	if err := json.Unmarshal([]byte(doc), &g.Doc); err != nil {
		return store.Group{}, fmt.Errorf("decode doc of group %s: %w", g.ID, err)
	}
	g.Created, g.Modified = tm(created), tm(modified)
	return g, nil
}

// getGroup reads a group and its members; with names (outside write
// transactions, which do not need them) also its MemberNames.
func (s *Store) getGroup(ctx context.Context, q queryer, id string, lock string, names bool) (store.Group, error) {
	if unstorable(id) {
		return store.Group{}, fmt.Errorf("group %q: %w", id, store.ErrNotFound)
	}
	g, err := scanGroup(q.QueryRowContext(ctx, sqlGroupByID+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Group{}, fmt.Errorf("group %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Group{}, fmt.Errorf("group %s: %w", id, err)
	}
	members, memberNames, err := s.members(ctx, q, names, id)
	if err != nil {
		return store.Group{}, err
	}
	g.Members = members[id]
	if names {
		g.MemberNames = memberNames
	}
	return g, nil
}

// members returns the member ids of each of groupIDs and, with names, the
// display names of all those members, read by the same query.
func (s *Store) members(ctx context.Context, q queryer, names bool, groupIDs ...string) (map[string][]string, map[string]string, error) {
	out := make(map[string][]string, len(groupIDs))
	var nameOf map[string]string
	if names {
		nameOf = map[string]string{}
	}
	for _, c := range chunks(store.DistinctIDs(groupIDs)) {
		query := membersSQL(len(c))
		if names {
			query = membersWithNamesSQL(len(c))
		}
		rows, err := q.QueryContext(ctx, query, anys(c)...)
		if err != nil {
			return nil, nil, fmt.Errorf("load members: %w", err)
		}
		for rows.Next() {
			var g, u, name string
			dest := []any{&g, &u}
			if names {
				dest = append(dest, &name)
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("load members: %w", err)
			}
			out[g] = append(out[g], u)
			if names {
				nameOf[u] = name
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("load members: %w", err)
		}
	}
	return out, nameOf, nil
}

// missingUsers returns those of ids that are not users.
func (s *Store) missingUsers(ctx context.Context, q queryer, ids []string) ([]string, error) {
	found := make(map[string]bool, len(ids))
	var storable []string
	for _, id := range ids {
		if !unstorable(id) {
			storable = append(storable, id)
		}
	}
	for _, c := range chunks(store.DistinctIDs(storable)) {
		got, err := s.strings(ctx, q, `SELECT id FROM users WHERE id IN (`+placeholders(1, len(c))+`)`, anys(c)...)
		if err != nil {
			return nil, fmt.Errorf("check members: %w", err)
		}
		for _, id := range got {
			found[id] = true
		}
	}
	var missing []string
	for _, id := range store.DistinctIDs(ids) {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

func missingErr(missing []string) error {
	quoted := make([]string, len(missing))
	for i, id := range missing {
		quoted[i] = strconv.Quote(id)
	}
	return fmt.Errorf("members %s: %w", strings.Join(quoted, ", "), store.ErrNotFound)
}

// checkGroup refuses a group whose indexed strings cannot be stored.
// Members are checked against the users instead: an id with a NUL
// character is simply not a user.
func checkGroup(g store.Group) error {
	for _, f := range []struct{ attr, v string }{
		{"id", g.ID}, {"displayName", g.DisplayName}, {"externalId", g.ExternalID}, {"source", g.Source},
	} {
		if unstorable(f.v) {
			return invalid(f.attr)
		}
	}
	return nil
}

// groupsOf returns, for each of users, the groups it is in now other than
// except.
func (s *Store) groupsOf(ctx context.Context, q queryer, users []string, except string) (map[string][]store.GroupRef, error) {
	out := make(map[string][]store.GroupRef, len(users))
	for _, c := range chunks(store.DistinctIDs(users)) {
		rows, err := q.QueryContext(ctx, groupsOfSQL(len(c)), append([]any{except}, anys(c)...)...)
		if err != nil {
			return nil, fmt.Errorf("load groups of users: %w", err)
		}
		for rows.Next() {
			var u string
			var r store.GroupRef
			if err := rows.Scan(&u, &r.ID, &r.DisplayName, &r.ExternalID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("load groups of users: %w", err)
			}
			out[u] = append(out[u], r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("load groups of users: %w", err)
		}
	}
	return out, nil
}

// lockUsers locks the rows of users, in id order, for the rest of the
// transaction (PostgreSQL; SQLite's single writer needs nothing). A group
// write locks the users whose memberships it changes before it reads their
// other groups for the check: two writes that affect one user then run one
// after the other, and the second sees the first's memberships, so two
// groups whose profiles conflict can never both gain the user. At READ
// COMMITTED the group row's lock alone would let both read the user's
// memberships before either commits.
func (s *Store) lockUsers(ctx context.Context, tx *wtx, users []string) error {
	if s.d.LockRow == "" {
		return nil
	}
	for _, c := range chunks(store.DistinctIDs(users)) {
		if _, err := s.strings(ctx, tx, lockUsersSQL(len(c))+s.d.LockRow, anys(c)...); err != nil {
			return fmt.Errorf("lock users: %w", err)
		}
	}
	return nil
}

// affected builds the GroupCheck map: every user in users mapped to all the
// groups it will be in once after (zero for a deletion of groupID) applies.
func (s *Store) affected(ctx context.Context, q queryer, users []string, groupID string, after store.Group) (map[string][]store.GroupRef, error) {
	others, err := s.groupsOf(ctx, q, users, groupID)
	if err != nil {
		return nil, err
	}
	in := make(map[string]bool, len(after.Members))
	for _, m := range after.Members {
		in[m] = true
	}
	out := make(map[string][]store.GroupRef, len(users))
	for _, u := range store.DistinctIDs(users) {
		refs := append([]store.GroupRef{}, others[u]...)
		if in[u] {
			refs = append(refs, store.GroupRef{ID: after.ID, DisplayName: after.DisplayName, ExternalID: after.ExternalID})
		}
		out[u] = refs
	}
	return out, nil
}

// addMembers adds users, which exist, to the group, each with its name
// (memberName), as the group's answer shows it.
func (s *Store) addMembers(ctx context.Context, tx *wtx, groupID string, users []string) error {
	for _, u := range store.DistinctIDs(users) {
		if _, err := tx.ExecContext(ctx, sqlAddMember, groupID, u); err != nil {
			return fmt.Errorf("add member %s: %w", u, err)
		}
	}
	return nil
}

func (s *Store) removeMembers(ctx context.Context, tx *wtx, groupID string, users []string) error {
	for _, u := range store.DistinctIDs(users) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, groupID, u); err != nil {
			return fmt.Errorf("remove member %s: %w", u, err)
		}
	}
	return nil
}

// touchUsers marks users dirty, each with its priority in prio, and
// pending.
func (s *Store) touchUsers(ctx context.Context, tx *wtx, now time.Time, prio map[string]store.Priority, users []string) error {
	if err := s.setPending(ctx, tx, now, users...); err != nil {
		return err
	}
	return s.markEach(ctx, tx, now, prio, users)
}

// prioritized reports whether group writes must work out each affected
// user's groups for the Prioritizer even without a check.
func (s *Store) prioritized() bool { return s.getPrioritizer() != nil }

// CreateGroup implements store.Store.
func (s *Store) CreateGroup(ctx context.Context, g store.Group, check store.GroupCheck) (store.Group, error) {
	if g.DisplayName == "" {
		return store.Group{}, errors.New("store: create group: empty displayName")
	}
	if g.ID == "" {
		g.ID = newID()
	}
	if g.Source == "" {
		g.Source = store.SourceSCIM
	}
	now := tm(ts(s.now()))
	g.Version, g.Created, g.Modified = 1, now, now
	g.Members = store.DistinctIDs(g.Members)
	if err := checkGroup(g); err != nil {
		return store.Group{}, fmt.Errorf("store: create group: %w", err)
	}
	doc, err := json.Marshal(g.Doc)
	if err != nil {
		return store.Group{}, fmt.Errorf("store: create group: encode doc: %w", err)
	}
	var checkErr error
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
		checkErr = nil // a run after a rollback starts afresh
		missing, err := s.missingUsers(ctx, tx, g.Members)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return &unwritten{missingErr(missing)}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO scim_groups (id, display_name, display_name_lower, external_id, source, doc, version, created, modified)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			g.ID, g.DisplayName, store.Fold(g.DisplayName), g.ExternalID, g.Source, string(doc), g.Version, ts(now), ts(now))
		if err != nil {
			return s.uniqueErr(err, fmt.Sprintf("displayName %q", g.DisplayName))
		}
		var prio map[string]store.Priority
		if check != nil || s.prioritized() {
			if err := s.lockUsers(ctx, tx, g.Members); err != nil {
				return err
			}
			aff, err := s.affected(ctx, tx, g.Members, g.ID, g)
			if err != nil {
				return err
			}
			if check != nil {
				if err := check(g, aff); err != nil {
					checkErr = err
					return err
				}
			}
			prio = s.groupPriorities(aff, g.ID, nil)
		}
		if err := s.addMembers(ctx, tx, g.ID, g.Members); err != nil {
			return err
		}
		return s.touchUsers(ctx, tx, now, prio, g.Members)
	})
	if checkErr != nil {
		return store.Group{}, checkErr
	}
	if err != nil {
		return store.Group{}, fmt.Errorf("store: create group: %w", err)
	}
	return g, nil
}

// GetGroup implements store.Store.
func (s *Store) GetGroup(ctx context.Context, id string) (store.Group, error) {
	g, err := s.getGroup(ctx, s.r, id, "", true)
	if err != nil {
		return store.Group{}, fmt.Errorf("store: get %w", err)
	}
	return g, nil
}

// UpdateGroup implements store.Store. A change of displayName or externalId
// can change how every member resolves, so then every member counts as
// affected and is marked dirty, not only added and removed ones.
func (s *Store) UpdateGroup(ctx context.Context, id string, fn func(store.Group) (store.Group, error), check store.GroupCheck) (store.Group, error) {
	var (
		out          store.Group
		fnErr, chErr error
	)
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		fnErr, chErr = nil, nil // a run after a rollback starts afresh
		cur, err := s.getGroup(ctx, tx, id, s.d.LockRow, false)
		if err != nil {
			return err
		}
		arg := cur
		arg.Members = append([]string(nil), cur.Members...)
		next, err := fn(arg)
		if err != nil {
			fnErr = err
			return &unwritten{err}
		}
		if next.DisplayName == "" {
			return errors.New("empty displayName")
		}
		now := tm(ts(s.now()))
		next.ID, next.Created, next.Version, next.Modified = cur.ID, cur.Created, cur.Version+1, now
		if next.Source == "" {
			next.Source = cur.Source
		}
		next.Members = store.DistinctIDs(next.Members)
		if err := checkGroup(next); err != nil {
			return err
		}
		added, removed := store.Without(next.Members, cur.Members), store.Without(cur.Members, next.Members)
		missing, err := s.missingUsers(ctx, tx, added)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return &unwritten{missingErr(missing)}
		}
		doc, err := json.Marshal(next.Doc)
		if err != nil {
			return fmt.Errorf("encode doc: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE scim_groups SET display_name = $1, display_name_lower = $2, external_id = $3, source = $4, doc = $5,
version = $6, modified = $7 WHERE id = $8 AND version = $9`,
			next.DisplayName, store.Fold(next.DisplayName), next.ExternalID, next.Source, string(doc), next.Version, ts(now), id, cur.Version)
		if err != nil {
			return s.uniqueErr(err, fmt.Sprintf("displayName %q", next.DisplayName))
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errCASLost
		}
		users := append(append([]string{}, added...), removed...)
		if !strings.EqualFold(cur.DisplayName, next.DisplayName) || cur.ExternalID != next.ExternalID {
			users = append(users, next.Members...)
		}
		var prio map[string]store.Priority
		if check != nil || s.prioritized() {
			if err := s.lockUsers(ctx, tx, users); err != nil {
				return err
			}
			aff, err := s.affected(ctx, tx, users, id, next)
			if err != nil {
				return err
			}
			if check != nil {
				if err := check(next, aff); err != nil {
					chErr = err
					return err
				}
			}
			prio = s.groupPriorities(aff, id, &cur)
		}
		if err := s.removeMembers(ctx, tx, id, removed); err != nil {
			return err
		}
		if err := s.addMembers(ctx, tx, id, added); err != nil {
			return err
		}
		if err := s.touchUsers(ctx, tx, now, prio, users); err != nil {
			return err
		}
		out = next
		return nil
	})
	if fnErr != nil {
		return store.Group{}, fnErr
	}
	if chErr != nil {
		return store.Group{}, chErr
	}
	if err != nil {
		return store.Group{}, fmt.Errorf("store: update group %s: %w", id, err)
	}
	return out, nil
}

// DeleteGroup implements store.Store.
func (s *Store) DeleteGroup(ctx context.Context, id string, check store.GroupCheck) error {
	var chErr error
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		chErr = nil // a run after a rollback starts afresh
		cur, err := s.getGroup(ctx, tx, id, s.d.LockRow, false)
		if err != nil {
			return err
		}
		var prio map[string]store.Priority
		if check != nil || s.prioritized() {
			aff, err := s.affected(ctx, tx, cur.Members, id, store.Group{})
			if err != nil {
				return err
			}
			if check != nil {
				if err := check(store.Group{}, aff); err != nil {
					chErr = err
					return err
				}
			}
			prio = s.groupPriorities(aff, id, &cur)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = $1`, id); err != nil {
			return fmt.Errorf("delete members: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM scim_groups WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		return s.touchUsers(ctx, tx, s.now(), prio, cur.Members)
	})
	if chErr != nil {
		return chErr
	}
	if err != nil {
		return fmt.Errorf("store: delete group %s: %w", id, err)
	}
	return nil
}

func groupWhere(q store.Query) (string, []any, error) {
	switch q.Field {
	case "":
		return "", nil, nil
	case "id":
		return ` WHERE id = $1`, []any{q.Value}, nil
	case "displayName":
		return ` WHERE display_name_lower = $1`, []any{store.Fold(q.Value)}, nil
	case "externalId":
		return ` WHERE external_id = $1`, []any{q.Value}, nil
	}
	return "", nil, fmt.Errorf("unsupported group query field %q", q.Field)
}

// ListGroups implements store.Store.
func (s *Store) ListGroups(ctx context.Context, q store.Query, withMembers bool) ([]store.Group, int, error) {
	where, args, err := groupWhere(q)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list groups: %w", err)
	}
	if matchesNothing(q) {
		return nil, 0, nil
	}
	out, total, err := s.listGroups(ctx, where, args, q, withMembers)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list groups: %w", err)
	}
	return out, total, nil
}

// listGroups returns the page q of the groups matching where (whose
// arguments are args) and their number, with their members and member
// names when withMembers is set.
func (s *Store) listGroups(ctx context.Context, where string, args []any, q store.Query, withMembers bool) ([]store.Group, int, error) {
	count, list, listArgs := listSQL("scim_groups", groupCols, where, q, args)
	var total int
	if err := s.r.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, list, listArgs...)
	if err != nil {
		return nil, 0, err
	}
	var out []store.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			rows.Close()
			return nil, 0, err
		}
		out = append(out, g)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, 0, err
	}
	if withMembers && len(out) > 0 {
		ids := make([]string, len(out))
		for i, g := range out {
			ids[i] = g.ID
		}
		m, names, err := s.members(ctx, s.r, true, ids...)
		if err != nil {
			return nil, 0, err
		}
		for i := range out {
			out[i].Members = m[out[i].ID]
			out[i].MemberNames = make(map[string]string, len(out[i].Members))
			for _, id := range out[i].Members {
				out[i].MemberNames[id] = names[id]
			}
		}
	}
	return out, total, nil
}

// GroupsOfUser implements store.Store.
func (s *Store) GroupsOfUser(ctx context.Context, id string) ([]store.GroupRef, error) {
	if unstorable(id) {
		return nil, nil
	}
	m, err := s.groupsOf(ctx, s.r, []string{id}, "")
	if err != nil {
		return nil, fmt.Errorf("store: groups of user %s: %w", id, err)
	}
	return m[id], nil
}
