package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// auditTrail is the memory store's audit trail, in append order. Changes
// are kept as JSON, as the SQL backends keep them, so what is read back
// has the same types.
type auditTrail struct {
	seq     int64
	entries []auditRow
}

type auditRow struct {
	e       store.AuditEntry // Changes nil: changes holds them
	changes []byte
	lower   string // folded userName
}

// AppendAudit implements store.AuditLog.
func (s *Store) AppendAudit(_ context.Context, entries []store.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	rows := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		if store.Unindexable(e.UserID, e.UserName) {
			return fmt.Errorf("store: append audit: %w", invalid("the user id or userName"))
		}
		b, err := encode(e.Changes)
		if err != nil {
			return fmt.Errorf("store: append audit: %w", err)
		}
		e.Changes = nil
		rows = append(rows, auditRow{e: e, changes: b, lower: store.Fold(e.UserName)})
	}
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	now := s.clock()
	for _, r := range rows {
		if u, ok := s.users[r.e.UserID]; ok && r.e.UserName == "" {
			// Recorded under the userName, as a membership change is.
			r.e.UserName, r.lower = u.u.UserName, store.Fold(u.u.UserName)
		}
		s.audit.seq++
		r.e.ID = s.audit.seq
		if r.e.Time.IsZero() {
			r.e.Time = now
		} else {
			r.e.Time = stamp(r.e.Time)
		}
		s.audit.entries = append(s.audit.entries, r)
	}
	return nil
}

// newer reports whether a comes before b in the newest-first order.
func newer(a, b store.AuditEntry) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	return a.ID > b.ID
}

// ListAudit implements store.AuditLog.
func (s *Store) ListAudit(_ context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	lower := store.Fold(q.UserName)
	cursor := store.AuditEntry{Time: stamp(q.BeforeTime), ID: q.BeforeID}
	var out []store.AuditEntry
	for _, r := range s.audit.entries {
		e := r.e
		switch {
		case q.UserID != "" && e.UserID != q.UserID,
			q.UserID == "" && q.UserName != "" && r.lower != lower,
			!q.Since.IsZero() && e.Time.Before(q.Since),
			!q.Until.IsZero() && !e.Time.Before(q.Until),
			q.BeforeID != 0 && !newer(cursor, e):
			continue
		}
		if len(r.changes) > 0 && string(r.changes) != "null" {
			if err := json.Unmarshal(r.changes, &e.Changes); err != nil {
				return nil, fmt.Errorf("store: list audit: %w", err)
			}
			if len(e.Changes) == 0 {
				e.Changes = nil
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return newer(out[i], out[j]) })
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultAuditLimit
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// PruneAudit implements store.AuditLog.
func (s *Store) PruneAudit(_ context.Context, before time.Time, keep, limit int) (int, error) {
	if limit <= 0 || (before.IsZero() && keep <= 0) {
		return 0, nil
	}
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	order := make([]int, len(s.audit.entries)) // oldest first
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return newer(s.audit.entries[order[j]].e, s.audit.entries[order[i]].e) })
	drop := map[int]bool{}
	excess := len(order) - keep
	for n, i := range order {
		if len(drop) == limit {
			break
		}
		old := !before.IsZero() && s.audit.entries[i].e.Time.Before(before)
		if old || (keep > 0 && n < excess) {
			drop[i] = true
		}
	}
	kept := s.audit.entries[:0]
	for i, r := range s.audit.entries {
		if !drop[i] {
			kept = append(kept, r)
		}
	}
	s.audit.entries = kept
	return len(drop), nil
}

// SearchUsers implements store.UserSearcher.
func (s *Store) SearchUsers(_ context.Context, q store.UserSearch) ([]store.UserSummary, int, error) {
	if err := s.lock(); err != nil {
		return nil, 0, err
	}
	defer s.mu.Unlock()
	text := strings.TrimSpace(q.Text)
	if store.Unindexable(text) {
		return nil, 0, nil
	}
	folded := store.Fold(text)
	states := map[string]bool{}
	for _, st := range q.States {
		states[st] = true
	}
	var all []store.UserSummary
	for _, r := range s.users {
		u := r.u
		sum := store.UserSummary{ID: u.ID, UserName: u.UserName, Active: u.Active, Source: u.Source}
		if id, ok := s.linkOfUser[u.ID]; ok {
			l := s.links[id].info
			sum.State, sum.GSID, sum.LastError, sum.Updated = l.State, l.GSID, l.LastError, l.Updated
		}
		if text != "" && !strings.HasPrefix(store.Fold(u.UserName), folded) && u.ID != text &&
			(sum.GSID == "" || sum.GSID != text) && !hasEmail(u.Emails, folded) {
			continue
		}
		if len(states) > 0 && !states[sum.State] {
			continue
		}
		all = append(all, sum)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := store.Fold(all[i].UserName), store.Fold(all[j].UserName)
		if a != b {
			return a < b
		}
		return all[i].ID < all[j].ID
	})
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	return page(all, store.Query{Offset: q.Offset, Limit: limit}), len(all), nil
}

func hasEmail(emails []string, folded string) bool {
	for _, e := range emails {
		if store.Fold(e) == folded {
			return true
		}
	}
	return false
}
