package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// params collects the arguments of a statement built piece by piece.
type params []any

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

const auditCols = `id, at, user_id, user_name, op, source, actor, replica, request_id, gsid, result, error, detail, changes`

// AppendAudit implements store.AuditLog.
func (s *Store) AppendAudit(ctx context.Context, entries []store.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	for _, e := range entries {
		if unstorable(e.UserID, e.UserName) {
			return fmt.Errorf("store: append audit: %w", invalid("the user id or userName"))
		}
	}
	rows, err := s.auditRows(entries)
	if err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error { return insertAudit(ctx, tx, rows) })
	if err != nil {
		return fmt.Errorf("store: append %d audit entries: %w", len(entries), err)
	}
	return nil
}

var _ store.AuditQueuer = (*Store)(nil)

// QueueAudit implements store.AuditQueuer.
func (s *Store) QueueAudit(entries []store.AuditEntry, then func(error)) {
	if then == nil {
		then = func(error) {}
	}
	if len(entries) == 0 {
		then(nil)
		return
	}
	for _, e := range entries {
		if unstorable(e.UserID, e.UserName) {
			then(fmt.Errorf("store: queue audit: %w", invalid("the user id or userName")))
			return
		}
	}
	rows, err := s.auditRows(entries)
	if err != nil {
		then(fmt.Errorf("store: queue audit: %w", err))
		return
	}
	s.c.submitLater(func(ctx context.Context, tx *wtx) error { return insertAudit(ctx, tx, rows) }, func(err error) {
		if err != nil {
			err = fmt.Errorf("store: append %d audit entries: %w", len(entries), err)
		}
		then(err)
	})
}

// auditRows are the statement arguments of entries. They are built before
// the write: its transaction is shared by a batch of writes (group
// commit), whose time it should not spend encoding.
func (s *Store) auditRows(entries []store.AuditEntry) ([][]any, error) {
	now := s.now()
	rows := make([][]any, len(entries))
	for i, e := range entries {
		at := e.Time
		if at.IsZero() {
			at = now
		}
		changes := e.Changes
		if changes == nil {
			changes = []store.AuditChange{}
		}
		b, err := json.Marshal(changes)
		if err != nil {
			return nil, fmt.Errorf("encode changes: %w", err)
		}
		rows[i] = []any{ts(at), e.UserID, e.UserName, store.Fold(e.UserName), string(e.Op), e.Source, e.Actor, e.Replica,
			e.RequestID, e.GSID, e.Result, e.Error, e.Detail, string(b)}
	}
	return rows, nil
}

// insertAudit writes rows (auditRows). An entry naming its user by id
// alone (a group's membership change) is recorded under the user's
// userName, so a search by userName finds it.
func insertAudit(ctx context.Context, tx *wtx, rows [][]any) error {
	for _, row := range rows {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit (at, user_id, user_name, user_name_lower, op, source, actor, replica, request_id, gsid, result, error, detail, changes)
VALUES ($1, $2, COALESCE(NULLIF($3, ''), (SELECT user_name FROM users WHERE id = $2), ''),
COALESCE(NULLIF($4, ''), (SELECT user_name_lower FROM users WHERE id = $2), ''), $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, row...); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
	}
	return nil
}

// auditListSQL is the query of ListAudit; ok is false when q matches
// nothing the store can hold.
func auditListSQL(q store.AuditQuery) (query string, args []any, ok bool) {
	var (
		where []string
		ps    params
	)
	arg := ps.add
	switch {
	case q.UserID != "":
		if unstorable(q.UserID) {
			return "", nil, false
		}
		where = append(where, "user_id = "+arg(q.UserID))
	case q.UserName != "":
		if unstorable(q.UserName) {
			return "", nil, false
		}
		where = append(where, "user_name_lower = "+arg(store.Fold(q.UserName)))
	}
	if !q.Since.IsZero() {
		where = append(where, "at >= "+arg(ts(q.Since)))
	}
	if !q.Until.IsZero() {
		where = append(where, "at < "+arg(ts(q.Until)))
	}
	if q.BeforeID != 0 {
		t, id := arg(ts(q.BeforeTime)), arg(q.BeforeID)
		where = append(where, "(at < "+t+" OR (at = "+t+" AND id < "+id+"))")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultAuditLimit
	}
	query = `SELECT ` + auditCols + ` FROM audit`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY at DESC, id DESC LIMIT ` + arg(limit)
	return query, ps, true
}

// ListAudit implements store.AuditLog.
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	query, args, ok := auditListSQL(q)
	if !ok {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var (
			e       store.AuditEntry
			at      int64
			op      string
			changes string
		)
		if err := rows.Scan(&e.ID, &at, &e.UserID, &e.UserName, &op, &e.Source, &e.Actor, &e.Replica, &e.RequestID,
			&e.GSID, &e.Result, &e.Error, &e.Detail, &changes); err != nil {
			return nil, fmt.Errorf("store: list audit: %w", err)
		}
		e.Time, e.Op = tm(at), store.AuditOp(op)
		if err := json.Unmarshal([]byte(changes), &e.Changes); err != nil {
			return nil, fmt.Errorf("store: list audit: decode changes of entry %d: %w", e.ID, err)
		}
		if len(e.Changes) == 0 {
			e.Changes = nil
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	return out, nil
}

// PruneAudit implements store.AuditLog. Each call is one short
// transaction over at most limit rows, found through the (at, id) index.
func (s *Store) PruneAudit(ctx context.Context, before time.Time, keep, limit int) (int, error) {
	if limit <= 0 || (before.IsZero() && keep <= 0) {
		return 0, nil
	}
	removed := 0
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		removed = 0
		// The newest entry that is not kept by count: it and everything
		// older go.
		var cutAt, cutID int64
		hasCut := false
		if keep > 0 {
			err := tx.QueryRowContext(ctx, `SELECT at, id FROM audit ORDER BY at DESC, id DESC LIMIT 1 OFFSET $1`, keep).Scan(&cutAt, &cutID)
			switch {
			case err == sql.ErrNoRows:
			case err != nil:
				return fmt.Errorf("find the oldest kept entry: %w", err)
			default:
				hasCut = true
			}
		}
		var cond []string
		var args []any
		if !before.IsZero() {
			args = append(args, ts(before))
			cond = append(cond, "at < $1")
		}
		if hasCut {
			n := len(args)
			args = append(args, cutAt, cutID)
			cond = append(cond, fmt.Sprintf("(at < $%d OR (at = $%d AND id <= $%d))", n+1, n+1, n+2))
		}
		if len(cond) == 0 {
			return nil
		}
		args = append(args, limit)
		res, err := tx.ExecContext(ctx, `DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE `+strings.Join(cond, " OR ")+
			` ORDER BY at, id LIMIT $`+strconv.Itoa(len(args))+`)`, args...)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		removed = int(n)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune audit: %w", err)
	}
	return removed, nil
}

// SearchUsers implements store.UserSearcher.
func (s *Store) SearchUsers(ctx context.Context, q store.UserSearch) ([]store.UserSummary, int, error) {
	var (
		where []string
		args  params
	)
	arg := args.add
	if text := strings.TrimSpace(q.Text); text != "" {
		if unstorable(text) {
			return nil, 0, nil
		}
		folded := store.Fold(text)
		t := arg(text)
		where = append(where, "(substr(u.user_name_lower, 1, "+arg(utf8.RuneCountInString(folded))+") = "+arg(folded)+
			" OR u.id = "+t+" OR s.gsid = "+t+
			" OR u.id IN (SELECT user_id FROM user_emails WHERE email_lower = "+arg(folded)+"))")
	}
	if len(q.States) > 0 {
		ph := make([]string, len(q.States))
		for i, st := range q.States {
			ph[i] = arg(st)
		}
		where = append(where, "s.state IN ("+strings.Join(ph, ", ")+")")
	}
	from := ` FROM users u LEFT JOIN sync_info s ON s.user_id = u.id`
	if len(where) > 0 {
		from += ` WHERE ` + strings.Join(where, " AND ")
	}
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*)`+from, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: search users: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	list := `SELECT u.id, u.user_name, u.active, u.source, COALESCE(s.state, ''), COALESCE(s.gsid, ''), COALESCE(s.last_error, ''), COALESCE(s.updated, 0)` +
		from + ` ORDER BY u.user_name_lower, u.id LIMIT ` + arg(limit) + ` OFFSET ` + arg(max(q.Offset, 0))
	rows, err := s.r.QueryContext(ctx, list, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: search users: %w", err)
	}
	defer rows.Close()
	var out []store.UserSummary
	for rows.Next() {
		var (
			u       store.UserSummary
			updated int64
		)
		if err := rows.Scan(&u.ID, &u.UserName, &u.Active, &u.Source, &u.State, &u.GSID, &u.LastError, &updated); err != nil {
			return nil, 0, fmt.Errorf("store: search users: %w", err)
		}
		u.Updated = tm(updated)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: search users: %w", err)
	}
	return out, total, nil
}
