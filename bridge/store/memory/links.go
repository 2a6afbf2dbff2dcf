package memory

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// sync returns a copy of the stored link with its record.
func (l *linkRow) sync() store.SyncInfo {
	i := l.info
	i.Record = decodeMap(l.record)
	return i
}

// GetSync implements store.Store.
func (s *Store) GetSync(_ context.Context, userID string) (store.SyncInfo, error) {
	if err := s.lock(); err != nil {
		return store.SyncInfo{}, err
	}
	defer s.mu.Unlock()
	l := s.links[s.linkOfUser[userID]]
	if l == nil {
		return store.SyncInfo{}, fmt.Errorf("store: sync info of %q: %w", userID, store.ErrNotFound)
	}
	return l.sync(), nil
}

// SyncByGSID implements store.Store.
func (s *Store) SyncByGSID(_ context.Context, gsid string) (store.SyncInfo, error) {
	if err := s.lock(); err != nil {
		return store.SyncInfo{}, err
	}
	defer s.mu.Unlock()
	l := s.links[s.linkOfGSID[gsid]]
	if gsid == "" || l == nil {
		return store.SyncInfo{}, fmt.Errorf("store: sync info of GSID %q: %w", gsid, store.ErrNotFound)
	}
	return l.sync(), nil
}

// UpdateSync implements store.Store.
func (s *Store) UpdateSync(_ context.Context, linkID string, fn func(store.SyncInfo) (store.SyncInfo, error)) (store.SyncInfo, error) {
	if err := s.lock(); err != nil {
		return store.SyncInfo{}, err
	}
	defer s.mu.Unlock()
	l := s.links[linkID]
	if l == nil {
		return store.SyncInfo{}, fmt.Errorf("store: update link %q: %w", linkID, store.ErrNotFound)
	}
	cur := l.sync()
	next, err := fn(l.sync())
	if err != nil {
		return store.SyncInfo{}, err
	}
	next.LinkID, next.UserID, next.UserName, next.Tombstone = cur.LinkID, cur.UserID, cur.UserName, cur.Tombstone
	next.Version = cur.Version + 1
	if next.Updated.IsZero() {
		next.Updated = s.now()
	}
	next.Updated = stamp(next.Updated)
	if next.State == "" {
		next.State = store.StatePending
	}
	if store.Unindexable(next.GSID, next.State, next.LastError) {
		return store.SyncInfo{}, fmt.Errorf("store: update link %s: %w", linkID, invalid("sync info"))
	}
	if other, taken := s.linkOfGSID[next.GSID]; next.GSID != "" && taken && other != linkID {
		return store.SyncInfo{}, fmt.Errorf("store: update link %s: GSID %q is linked to another user: %w", linkID, next.GSID, store.ErrConflict)
	}
	record, err := encode(next.Record)
	if err != nil {
		return store.SyncInfo{}, fmt.Errorf("store: update link %s: %w", linkID, err)
	}
	if cur.GSID != "" {
		delete(s.linkOfGSID, cur.GSID)
	}
	if next.GSID != "" {
		s.linkOfGSID[next.GSID] = linkID
	}
	next.Record = nil
	l.info, l.record = next, record
	return l.sync(), nil
}

// ListLinks implements store.Store.
func (s *Store) ListLinks(_ context.Context, after string, limit int) ([]store.SyncInfo, error) {
	if limit <= 0 {
		return nil, nil
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var ids []string
	for id, l := range s.links {
		if id > after && l.info.GSID != "" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]store.SyncInfo, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.links[id].sync())
	}
	return out, nil
}

// PurgeTombstones implements store.Store.
func (s *Store) PurgeTombstones(_ context.Context, before time.Time) (int, error) {
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := 0
	for id, l := range s.links {
		i := l.info
		settled := !i.Unknown && (i.GSID == "" || !i.Active)
		if !i.Tombstone || !i.Updated.Before(before) || !settled || s.dirty[i.UserID] != nil {
			continue
		}
		delete(s.links, id)
		delete(s.linkOfUser, i.UserID)
		if i.GSID != "" {
			delete(s.linkOfGSID, i.GSID)
		}
		s.tombstones--
		n++
	}
	return n, nil
}

// CountSyncStates implements store.Store.
func (s *Store) CountSyncStates(context.Context) (map[string]int, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, st := range store.SyncStates() {
		out[st] = 0
	}
	for _, l := range s.links {
		if !l.info.Tombstone {
			out[l.info.State]++
		}
	}
	return out, nil
}
