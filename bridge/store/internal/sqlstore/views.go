package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

var _ store.ViewFinder = (*Store)(nil)

// deepOffset is the offset from which a page is found in the index of
// creation order before any row is read: skipping rows in the table means
// reading their documents, skipping index entries a few bytes each.
const deepOffset = 100

// pageSQL selects the page q of the users matching where (whose
// arguments are args) with cols. A deep page finds its users' seq in an
// index first.
func pageSQL(cols, where string, q store.Query, args []any) (string, []any) {
	n := len(args)
	page := fmt.Sprintf(" ORDER BY seq LIMIT $%d OFFSET $%d", n+1, n+2)
	args = pageArgs(q, args)
	if q.Offset < deepOffset {
		return `SELECT ` + cols + ` FROM users` + where + page, args
	}
	return `SELECT ` + cols + ` FROM users WHERE seq IN (SELECT seq FROM users` + where + page + `) ORDER BY seq`, args
}

// pageArgs are the arguments of pageSQL: those of the conditions, then
// the limit and the offset.
func pageArgs(q store.Query, args []any) []any {
	limit := noLimit
	if q.Limit > 0 {
		limit = int64(q.Limit)
	}
	return append(append(make([]any, 0, len(args)+2), args...), limit, int64(max(q.Offset, 0)))
}

// viewCols are the columns of a user view, the users' aliased u and their
// links s.
const viewCols = `u.id, u.user_name, u.active, u.source, u.doc, u.version, u.created, u.modified,
s.link_id, s.user_name, s.gsid, s.active, s.unknown, s.state, s.last_error, s.tombstone, s.version, s.updated`

// viewSQL selects the views of the page q of the users matching where: the
// page first, then each user's link and, through groupsJSON, its groups.
func viewSQL(d Dialect, where string, q store.Query, args []any) (string, []any) {
	page, args := pageSQL(`seq, id, user_name, active, source, doc, version, created, modified`, where, q, args)
	return `SELECT ` + viewCols + `, ` + d.groupRefs("u.id") + ` FROM (` + page + `) u
LEFT JOIN sync_info s ON s.user_id = u.id ORDER BY u.seq`, args
}

// viewQuery is viewSQL, its text built once per shape (the conditions
// and whether the page is deep) and kept.
func (s *Store) viewQuery(where string, q store.Query, args []any) (string, []any) {
	key := where + "\x00" + strconv.Itoa(len(args)) + strconv.FormatBool(q.Offset >= deepOffset)
	if cached, ok := s.viewSQLs.Load(key); ok {
		return cached.(string), pageArgs(q, args)
	}
	query, args := viewSQL(s.d, where, q, args)
	s.viewSQLs.Store(key, query)
	return query, args
}

// groupRefs is the expression of the groups of user column user, as the
// JSON array of [id, displayName, externalId] triples, in creation order.
func (d Dialect) groupRefs(user string) string {
	if d.GroupRefsJSON != nil {
		return d.GroupRefsJSON(user)
	}
	return `'[]'`
}

// FindUserViews implements store.ViewFinder.
func (s *Store) FindUserViews(ctx context.Context, f store.UserFilter) ([]store.UserView, int, error) {
	if s.d.Uninterruptible && f.Field != "" {
		// A look-up by an indexed field (the identity providers' check
		// before every push) reads a handful of rows: cheaper run to
		// its end than watched for cancellation (Dialect.Uninterruptible).
		ctx = context.WithoutCancel(ctx)
	}
	c, err := userConds(f)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find user views: %w", err)
	}
	if c.nothing {
		return nil, 0, nil
	}
	query, args := s.viewQuery(c.where(), f.Query, c.args)
	out, err := s.views(ctx, query, args)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find user views: %w", err)
	}
	total, err := s.total(ctx, `SELECT COUNT(*) FROM users`+c.where(), c.args, f.Query, len(out))
	if err != nil {
		return nil, 0, fmt.Errorf("store: find user views: %w", err)
	}
	return out, total, nil
}

// total returns how many rows a list whose page q held n rows selects in
// all: known from the page when it is neither full nor past the end,
// counted by count (whose arguments are args) otherwise.
func (s *Store) total(ctx context.Context, count string, args []any, q store.Query, n int) (int, error) {
	offset := max(q.Offset, 0)
	if (n > 0 && (q.Limit <= 0 || n < q.Limit)) || (n == 0 && offset == 0) {
		return offset + n, nil
	}
	var total int
	if err := s.r.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return total, nil
}

func (s *Store) views(ctx context.Context, query string, args []any) ([]store.UserView, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.UserView
	for rows.Next() {
		var (
			v                                        store.UserView
			created, modified                        int64
			linkID, linkUser, gsid, state, lastError sql.NullString
			linkActive, unknown, tomb                sql.NullBool
			linkVersion, updated                     sql.NullInt64
			groups                                   []byte
		)
		if err := rows.Scan(&v.ID, &v.UserName, &v.Active, &v.Source, &v.Doc, &v.Version, &created, &modified,
			&linkID, &linkUser, &gsid, &linkActive, &unknown, &state, &lastError, &tomb, &linkVersion, &updated, &groups); err != nil {
			return nil, err
		}
		v.Created, v.Modified = tm(created), tm(modified)
		if linkID.Valid {
			v.HasSync = true
			v.Sync = store.SyncInfo{LinkID: linkID.String, UserID: v.ID, UserName: linkUser.String, GSID: gsid.String,
				Active: linkActive.Bool, Unknown: unknown.Bool, State: state.String, LastError: lastError.String,
				Tombstone: tomb.Bool, Version: linkVersion.Int64, Updated: tm(updated.Int64)}
		}
		if v.Groups, err = decodeGroupRefs(groups); err != nil {
			return nil, fmt.Errorf("groups of %s: %w", v.ID, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// decodeGroupRefs reads groupRefs' JSON array.
func decodeGroupRefs(b []byte) ([]store.GroupRef, error) {
	if len(b) == 0 || string(b) == "[]" {
		return nil, nil
	}
	var triples [][3]string
	if err := json.Unmarshal(b, &triples); err != nil {
		return nil, err
	}
	out := make([]store.GroupRef, len(triples))
	for i, t := range triples {
		out[i] = store.GroupRef{ID: t[0], DisplayName: t[1], ExternalID: t[2]}
	}
	return out, nil
}
