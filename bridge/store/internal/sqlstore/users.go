package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

const userCols = `id, user_name, external_id, emails, manager_id, active, source, doc, version, created, modified`

func scanUser(sc interface{ Scan(...any) error }) (store.User, error) {
	var (
		u                 store.User
		emails, doc       []byte // scanned as bytes: one copy of a document, not two
		created, modified int64
	)
	if err := sc.Scan(&u.ID, &u.UserName, &u.ExternalID, &emails, &u.ManagerID, &u.Active, &u.Source, &doc, &u.Version, &created, &modified); err != nil {
		return store.User{}, err
	}
	if err := json.Unmarshal(emails, &u.Emails); err != nil {
		return store.User{}, fmt.Errorf("decode emails of %s: %w", u.ID, err)
	}
	if err := json.Unmarshal(doc, &u.Doc); err != nil {
		return store.User{}, fmt.Errorf("decode doc of %s: %w", u.ID, err)
	}
	u.Created, u.Modified = tm(created), tm(modified)
	return u, nil
}

func (s *Store) getUser(ctx context.Context, q queryer, id string, lock string) (store.User, error) {
	if unstorable(id) {
		return store.User{}, fmt.Errorf("user %q: %w", id, store.ErrNotFound)
	}
	u, err := scanUser(q.QueryRowContext(ctx, sqlUserByID+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("user %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("user %s: %w", id, err)
	}
	return u, nil
}

// emailKeys returns the distinct lower-cased emails of u.
func emailKeys(emails []string) []string {
	lower := make([]string, 0, len(emails))
	for _, e := range emails {
		lower = append(lower, store.Fold(e))
	}
	return store.DistinctIDs(lower)
}

// checkUser refuses a user whose indexed strings cannot be stored.
func checkUser(u store.User) error {
	for _, f := range []struct{ attr, v string }{
		{"id", u.ID}, {"userName", u.UserName}, {"externalId", u.ExternalID},
		{"manager", u.ManagerID}, {"source", u.Source},
	} {
		if unstorable(f.v) {
			return invalid(f.attr)
		}
	}
	if unstorable(u.Emails...) {
		return invalid("emails")
	}
	return nil
}

func marshalUser(u store.User) (emails, doc string, err error) {
	if err := checkUser(u); err != nil {
		return "", "", err
	}
	list := u.Emails
	if list == nil {
		list = []string{}
	}
	e, err := json.Marshal(list)
	if err != nil {
		return "", "", fmt.Errorf("encode emails: %w", err)
	}
	d, err := json.Marshal(u.Doc)
	if err != nil {
		return "", "", fmt.Errorf("encode doc: %w", err)
	}
	return string(e), string(d), nil
}

// displayName is what a group shows for a member: the document's
// displayName when it is a string (NUL characters left out, which
// PostgreSQL text cannot hold).
func displayName(doc map[string]any) string {
	s, _ := doc["displayName"].(string)
	return strings.ReplaceAll(s, "\x00", "")
}

// memberName is the name u's memberships hold, which its groups show:
// its displayName, else its userName.
func memberName(u store.User) string {
	if n := displayName(u.Doc); n != "" {
		return n
	}
	return u.UserName
}

// writeEmails indexes the emails of u; with fresh, u is a new user, which
// has none indexed yet.
func (s *Store) writeEmails(ctx context.Context, tx *wtx, u store.User, fresh bool) error {
	if !fresh {
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_emails WHERE user_id = $1`, u.ID); err != nil {
			return fmt.Errorf("clear emails: %w", err)
		}
	}
	for _, e := range emailKeys(u.Emails) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_emails (user_id, email_lower) VALUES ($1, $2)`, u.ID, e); err != nil {
			return fmt.Errorf("index email: %w", err)
		}
	}
	return nil
}

// uniqueErr is the error of a write whose first changing statement failed
// with err: a conflict on what when a unique constraint refused it, which
// leaves the write unwritten where the dialect keeps the transaction. Its
// callers are each a write's first changing statement.
func (s *Store) uniqueErr(err error, what string) error {
	if !s.d.IsUnique(err) {
		return err
	}
	conflict := fmt.Errorf("%s: %w", what, store.ErrConflict)
	if s.d.ConstraintKeepsTx {
		return &unwritten{conflict}
	}
	return conflict
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	u, _, err := s.CreateUserLinked(ctx, u)
	return u, err
}

var _ store.LinkedCreator = (*Store)(nil)

// CreateUserLinked implements store.LinkedCreator.
func (s *Store) CreateUserLinked(ctx context.Context, u store.User) (store.User, store.SyncInfo, error) {
	if u.UserName == "" {
		return store.User{}, store.SyncInfo{}, errors.New("store: create user: empty userName")
	}
	if u.ID == "" {
		u.ID = newID()
	}
	if u.Source == "" {
		u.Source = store.SourceSCIM
	}
	now := tm(ts(s.now()))
	u.Version, u.Created, u.Modified = 1, now, now
	emails, doc, err := marshalUser(u)
	if err != nil {
		return store.User{}, store.SyncInfo{}, fmt.Errorf("store: create user: %w", err)
	}
	var link store.SyncInfo
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, sqlInsertUser,
			u.ID, u.UserName, store.Fold(u.UserName), u.ExternalID, emails, u.ManagerID, u.Active, u.Source, doc, u.Version, ts(u.Created), ts(u.Modified),
			displayName(u.Doc))
		if err != nil {
			return s.uniqueErr(err, fmt.Sprintf("userName %q", u.UserName))
		}
		if err := s.writeEmails(ctx, tx, u, true); err != nil {
			return err
		}
		var tookOver bool
		link, tookOver, err = s.attachSync(ctx, tx, u, now)
		if err != nil {
			return err
		}
		prio := store.PriorityNormal
		if tookOver && !u.Active {
			// It takes over a deleted user's Gainsight user, which may
			// still be active.
			prio = store.PriorityUrgent
		}
		return s.markDirty(ctx, tx, now, prio, u.ID)
	})
	if err != nil {
		return store.User{}, store.SyncInfo{}, fmt.Errorf("store: create user: %w", err)
	}
	return u, link, nil
}

// attachSync gives a new user its pending link, taking over the most
// recent tombstone of the same userName so the user keeps its Gainsight
// user: the link keeps its id and GSID and changes its user id. It returns
// the link as written and whether it took a tombstone's link over.
func (s *Store) attachSync(ctx context.Context, tx *wtx, u store.User, now time.Time) (store.SyncInfo, bool, error) {
	lower := store.Fold(u.UserName)
	// Most users are new: a fresh link, written as given.
	fresh := store.SyncInfo{LinkID: newID(), UserID: u.ID, UserName: u.UserName, State: store.StatePending, Version: 1, Updated: now}
	res, err := tx.ExecContext(ctx, sqlAttachNew, fresh.LinkID, u.ID, u.UserName, lower, fresh.State, ts(now))
	if err != nil {
		return store.SyncInfo{}, false, fmt.Errorf("create sync info: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return store.SyncInfo{}, false, fmt.Errorf("create sync info: %w", err)
	} else if n == 1 {
		return fresh, false, nil
	}
	for {
		// A link of the id (revived) or a tombstone of the userName
		// exists: the link as written is read back, unless it is the
		// tombstone's to take over.
		link, err := scanSync(tx.QueryRowContext(ctx, sqlAttachFresh, newID(), u.ID, u.UserName, lower, store.StatePending, ts(now)))
		if err == nil {
			return link, false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return store.SyncInfo{}, false, fmt.Errorf("create sync info: %w", err)
		}
		var old string
		err = tx.QueryRowContext(ctx, sqlTombstoneByName+s.d.LockRow, lower).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			continue // purged meanwhile: the link is fresh after all
		}
		if err != nil {
			return store.SyncInfo{}, false, fmt.Errorf("find tombstone: %w", err)
		}
		link, err = scanSync(tx.QueryRowContext(ctx, sqlTakeOverLink, u.ID, u.UserName, lower, store.StatePending, ts(now), old))
		if err != nil {
			return store.SyncInfo{}, false, fmt.Errorf("take over the link of a tombstone: %w", err)
		}
		return link, true, nil
	}
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := s.getUser(ctx, s.r, id, "")
	if err != nil {
		return store.User{}, fmt.Errorf("store: get %w", err)
	}
	return u, nil
}

// errStale means the user changed between the optimistic read of
// UpdateUser and its write.
var errStale = errors.New("sqlstore: user changed since it was read")

// UpdateUser implements store.Store. The user is first read and fn run
// outside the write's transaction, which is shared by a batch of writes
// (group commit) that fn's work — a PATCH applied and validated — would
// otherwise hold up; the result is written only if the user is still the
// version read. When it is not, fn runs again inside the transaction, on
// the user as it is then.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	if cur, err := s.getUser(ctx, s.r, id, ""); err == nil {
		was := memberName(cur) // before fn, which may change cur's document
		next, err := fn(cur)
		if err != nil {
			return store.User{}, err
		}
		emails, doc, err := s.nextUser(cur, &next)
		if err != nil {
			return store.User{}, fmt.Errorf("store: update user %s: %w", id, err)
		}
		err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
			return s.writeUpdate(ctx, tx, cur, was, next, emails, doc, errStale)
		})
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, errStale) {
			return store.User{}, fmt.Errorf("store: update user %s: %w", id, err)
		}
	}
	var (
		out   store.User
		fnErr error
	)
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		fnErr = nil // a run after a rollback starts afresh
		cur, err := s.getUser(ctx, tx, id, s.d.LockRow)
		if err != nil {
			return err
		}
		was := memberName(cur) // before fn, which may change cur's document
		next, err := fn(cur)
		if err != nil {
			fnErr = err
			return &unwritten{err}
		}
		emails, doc, err := s.nextUser(cur, &next)
		if err != nil {
			return err
		}
		if err := s.writeUpdate(ctx, tx, cur, was, next, emails, doc, errCASLost); err != nil {
			return err
		}
		out = next
		return nil
	})
	if fnErr != nil {
		return store.User{}, fnErr
	}
	if err != nil {
		return store.User{}, fmt.Errorf("store: update user %s: %w", id, err)
	}
	return out, nil
}

// nextUser completes next, fn's result for cur, into the user to store
// and encodes its emails and document.
func (s *Store) nextUser(cur store.User, next *store.User) (emails, doc string, err error) {
	if next.UserName == "" {
		return "", "", errors.New("empty userName")
	}
	now := tm(ts(s.now()))
	next.ID, next.Created, next.Version, next.Modified = cur.ID, cur.Created, cur.Version+1, now
	if next.Source == "" {
		next.Source = cur.Source
	}
	return marshalUser(*next)
}

// writeUpdate writes next over cur, if cur is still the stored version;
// otherwise it returns stale. was is cur's memberName, taken before the
// update's function could change cur's document in place.
func (s *Store) writeUpdate(ctx context.Context, tx *wtx, cur store.User, was string, next store.User, emails, doc string, stale error) error {
	id := cur.ID
	res, err := tx.ExecContext(ctx, sqlUpdateUser,
		next.UserName, store.Fold(next.UserName), next.ExternalID, emails, next.ManagerID,
		next.Active, next.Source, doc, next.Version, ts(next.Modified), id, cur.Version, displayName(next.Doc))
	if err != nil {
		return s.uniqueErr(err, fmt.Sprintf("userName %q", next.UserName))
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return &unwritten{stale}
	}
	if err := s.writeEmails(ctx, tx, next, false); err != nil {
		return err
	}
	if name := memberName(next); name != was {
		if _, err := tx.ExecContext(ctx, sqlRenameMember, id, name); err != nil {
			return fmt.Errorf("rename in groups: %w", err)
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE sync_info SET user_name = $2, user_name_lower = $3, state = $4, updated = $5,
version = version + 1 WHERE user_id = $1 AND tombstone = FALSE`, id, next.UserName, store.Fold(next.UserName), store.StatePending, ts(next.Modified))
	if err != nil {
		return fmt.Errorf("set pending: %w", err)
	}
	prio, err := s.userPriority(ctx, tx, cur, next)
	if err != nil {
		return err
	}
	return s.markDirty(ctx, tx, next.Modified, prio, id)
}

// DeleteUser implements store.Store.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		u, err := s.getUser(ctx, tx, id, s.d.LockRow)
		if err != nil {
			return err
		}
		now := s.now()
		// The groups lose a member: that is a change of the group too.
		if _, err := tx.ExecContext(ctx, sqlTouchGroupsOfUser, id, ts(now)); err != nil {
			return fmt.Errorf("touch groups: %w", err)
		}
		for _, q := range []string{
			`DELETE FROM group_members WHERE user_id = $1`,
			`DELETE FROM user_emails WHERE user_id = $1`,
			`DELETE FROM users WHERE id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("delete: %w", err)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sync_info (link_id, user_id, user_name, user_name_lower, gsid, record, active, unknown, state, last_error, tombstone, version, updated)
VALUES ($1, $2, $3, $4, '', 'null', FALSE, FALSE, $5, '', TRUE, 1, $6)
ON CONFLICT (user_id) DO UPDATE SET user_name = $3, user_name_lower = $4, state = $5, tombstone = TRUE,
version = sync_info.version + 1, updated = $6`,
			newID(), id, u.UserName, store.Fold(u.UserName), store.StatePending, ts(now))
		if err != nil {
			return fmt.Errorf("tombstone: %w", err)
		}
		return s.markDirty(ctx, tx, now, store.PriorityUrgent, id)
	})
	if err != nil {
		return fmt.Errorf("store: delete user %s: %w", id, err)
	}
	return nil
}

// matchesNothing reports whether a lookup of q cannot match anything: an
// empty value (no user has an empty userName or id, and an absent
// externalId or email is not "") or one no stored value can hold.
func matchesNothing(q store.Query) bool {
	return q.Field != "" && (q.Value == "" || unstorable(q.Value))
}

func userWhere(q store.Query) (string, []any, error) {
	switch q.Field {
	case "":
		return "", nil, nil
	case "id":
		return ` WHERE id = $1`, []any{q.Value}, nil
	case "userName":
		return ` WHERE user_name_lower = $1`, []any{store.Fold(q.Value)}, nil
	case "externalId":
		return ` WHERE external_id = $1`, []any{q.Value}, nil
	case "emails":
		return ` WHERE id IN (SELECT user_id FROM user_emails WHERE email_lower = $1)`, []any{store.Fold(q.Value)}, nil
	}
	return "", nil, fmt.Errorf("unsupported user query field %q", q.Field)
}

// ListUsers implements store.Store.
func (s *Store) ListUsers(ctx context.Context, q store.Query) ([]store.User, int, error) {
	where, args, err := userWhere(q)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list users: %w", err)
	}
	if matchesNothing(q) {
		return nil, 0, nil
	}
	out, total, err := s.listUsers(ctx, where, args, q)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list users: %w", err)
	}
	return out, total, nil
}

// listUsers returns the page q of the users matching where (whose
// arguments are args) and their number.
func (s *Store) listUsers(ctx context.Context, where string, args []any, q store.Query) ([]store.User, int, error) {
	count, list, listArgs := listSQL("users", userCols, where, q, args)
	var total int
	if err := s.r.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, list, listArgs...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// UsersByManager implements store.Store.
func (s *Store) UsersByManager(ctx context.Context, id string) ([]string, error) {
	// "" is what every user without a manager stores.
	if id == "" || unstorable(id) {
		return nil, nil
	}
	ids, err := s.strings(ctx, s.r, sqlUsersByManager, id)
	if err != nil {
		return nil, fmt.Errorf("store: users by manager %s: %w", id, err)
	}
	return ids, nil
}

// ListUserIDs implements store.Store.
func (s *Store) ListUserIDs(ctx context.Context, after string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	ids, err := s.strings(ctx, s.r, sqlUserIDsAfter, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list user ids: %w", err)
	}
	return ids, nil
}

func (s *Store) strings(ctx context.Context, q queryer, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
