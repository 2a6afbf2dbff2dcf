package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// Options configures New.
type Options struct {
	// Now is the clock for Created/Modified, dirty marks and link updates;
	// time.Now when nil.
	Now func() time.Time
}

// Store keeps everything in memory. Documents and records are stored as
// JSON, as the SQL backends store them, so what is read back has the same
// types (numbers as float64, lists as []any). It implements store.Store,
// plus Take and Used (a rate budget counter for this process) and TryLock.
// All methods are safe for concurrent use; functions passed to the update
// methods run under the store's lock and must not call the store.
type Store struct {
	now func() time.Time

	mu          sync.Mutex
	closed      bool
	seq         int64
	users       map[string]*userRow
	userByName  map[string]string // folded userName → id
	groups      map[string]*groupRow
	groupByName map[string]string          // folded displayName → id
	members     map[string]map[string]bool // group id → user ids
	memberOf    map[string]map[string]bool // user id → group ids
	links       map[string]*linkRow        // link id → link
	linkOfUser  map[string]string          // user id → link id
	linkOfGSID  map[string]string          // GSID → link id
	dirty       map[string]*dirtyRow
	jobs        map[string]time.Time
	budget      map[string]budgetWindow
	locks       store.ProcessLocks
	prioritizer store.Prioritizer
	snapshot    *snapshotRow
	// tombstones counts the links that are tombstones, so a create need
	// not look for one to take over when there is none.
	tombstones int
	reports    map[string]map[string]bool // manager id → ids of the users reporting to it
	audit      auditTrail                 // audit.go
	rollout    rolloutState               // rollout.go
}

var _ store.Store = (*Store)(nil)

type userRow struct {
	u   store.User // Doc nil: doc holds it
	doc []byte
	seq int64
}

type groupRow struct {
	g   store.Group // Doc and Members nil: doc and members hold them
	doc []byte
	seq int64
}

type linkRow struct {
	info   store.SyncInfo // Record nil: record holds it
	record []byte
}

type dirtyRow struct {
	generation int64
	attempts   int
	since, due time.Time
	owner      string
	leaseUntil time.Time
	priority   store.Priority
	// next is the highest priority of the marks made since the entry was
	// claimed: what is left once the claimed work is done.
	next   store.Priority
	raised time.Time // when the entry got its priority
}

type budgetWindow struct {
	start time.Time
	used  int
}

// New returns an empty store.
func New(opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{
		now:         opts.Now,
		users:       map[string]*userRow{},
		userByName:  map[string]string{},
		groups:      map[string]*groupRow{},
		groupByName: map[string]string{},
		members:     map[string]map[string]bool{},
		memberOf:    map[string]map[string]bool{},
		links:       map[string]*linkRow{},
		linkOfUser:  map[string]string{},
		linkOfGSID:  map[string]string{},
		dirty:       map[string]*dirtyRow{},
		jobs:        map[string]time.Time{},
		budget:      map[string]budgetWindow{},
		reports:     map[string]map[string]bool{},
		rollout:     newRolloutState(),
	}
}

// setManager moves user id from the reports of old to those of new.
func (s *Store) setManager(id, old, new string) {
	if old == new {
		return
	}
	if old != "" {
		delete(s.reports[old], id)
		if len(s.reports[old]) == 0 {
			delete(s.reports, old)
		}
	}
	if new != "" {
		if s.reports[new] == nil {
			s.reports[new] = map[string]bool{}
		}
		s.reports[new][id] = true
	}
}

var errClosed = errors.New("store: closed")

// lock takes the store's lock, or fails when the store is closed.
func (s *Store) lock() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	return nil
}

// clock returns now as the SQL backends store it: UTC, nanoseconds.
func (s *Store) clock() time.Time { return stamp(s.now()) }

func stamp(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.Unix(0, t.UnixNano()).UTC()
}

func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b, nil
}

func decodeMap(b []byte) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(b, &m) // written by encode
	return m
}

func invalid(attr string) error {
	return fmt.Errorf("%s holds a NUL character or is longer than %d bytes: %w", attr, store.MaxIndexedBytes, store.ErrInvalid)
}

func matchesNothing(q store.Query) bool {
	return q.Field != "" && (q.Value == "" || store.Unindexable(q.Value))
}

// page applies q's offset and limit to a result in order.
func page[T any](all []T, q store.Query) []T {
	if q.Offset > 0 {
		if q.Offset >= len(all) {
			return nil
		}
		all = all[q.Offset:]
	}
	if q.Limit > 0 && len(all) > q.Limit {
		all = all[:q.Limit]
	}
	if len(all) == 0 {
		return nil
	}
	return all
}

// markDirty adds ids to the dirty set or bumps their generation, due now
// with attempts reset; a lease in force is kept. A pending entry's
// priority is raised to p, never lowered.
func (s *Store) markDirty(now time.Time, p store.Priority, ids ...string) {
	p = p.Clamp()
	for _, id := range store.DistinctIDs(ids) {
		d := s.dirty[id]
		if d == nil {
			s.dirty[id] = &dirtyRow{generation: 1, since: now, due: now, priority: p, next: p, raised: now}
			continue
		}
		d.generation++
		d.attempts = 0
		d.due = now
		if p > d.priority {
			d.priority, d.raised = p, now
		}
		d.next = max(d.next, p)
	}
}

// setPending makes the live links of ids pending.
func (s *Store) setPending(now time.Time, ids ...string) {
	for _, id := range store.DistinctIDs(ids) {
		l := s.links[s.linkOfUser[id]]
		if l == nil || l.info.Tombstone {
			continue
		}
		l.info.State, l.info.Updated = store.StatePending, now
		l.info.Version++
	}
}

// MarkDirty implements store.Store.
func (s *Store) MarkDirty(ctx context.Context, userIDs ...string) error {
	return s.MarkDirtyAs(ctx, store.PriorityNormal, userIDs...)
}

// MarkDirtyAs implements store.Store.
func (s *Store) MarkDirtyAs(_ context.Context, p store.Priority, userIDs ...string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.markDirty(s.clock(), p, userIDs...)
	return nil
}

// ClaimDirty implements store.Store.
func (s *Store) ClaimDirty(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]store.Dirty, error) {
	return s.ClaimDirtyMin(ctx, owner, store.PriorityLow, limit, lease, now)
}

// ClaimDirtyMin implements store.Store.
func (s *Store) ClaimDirtyMin(_ context.Context, owner string, min store.Priority, limit int, lease time.Duration, now time.Time) ([]store.Dirty, error) {
	if limit <= 0 {
		return nil, nil
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	type due struct {
		id string
		d  *dirtyRow
	}
	var ds []due
	for id, d := range s.dirty {
		if d.priority >= min && !d.due.After(now) && !d.leaseUntil.After(now) {
			ds = append(ds, due{id, d})
		}
	}
	sort.Slice(ds, func(i, j int) bool {
		a, b := ds[i].d, ds[j].d
		switch {
		case a.priority != b.priority:
			return a.priority > b.priority
		case !a.raised.Equal(b.raised):
			return a.raised.Before(b.raised)
		}
		return ds[i].id < ds[j].id
	})
	if len(ds) > limit {
		ds = ds[:limit]
	}
	var out []store.Dirty
	for _, e := range ds {
		id, d := e.id, e.d
		d.owner, d.leaseUntil, d.next = owner, stamp(now.Add(lease)), 0
		out = append(out, store.Dirty{UserID: id, Generation: d.generation, Attempts: d.attempts, Since: d.since, Priority: d.priority})
	}
	return out, nil
}

// ExtendLease implements store.Store.
func (s *Store) ExtendLease(_ context.Context, owner string, userIDs []string, until time.Time) ([]string, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var lost []string
	for _, id := range store.DistinctIDs(userIDs) {
		d := s.dirty[id]
		if d == nil || d.owner != owner {
			lost = append(lost, id)
			continue
		}
		d.leaseUntil = stamp(until)
	}
	return lost, nil
}

// leased returns the entry of userID if owner holds its lease.
func (s *Store) leased(owner, userID string) (*dirtyRow, error) {
	d := s.dirty[userID]
	if d == nil || d.owner != owner {
		return nil, fmt.Errorf("store: dirty entry %s: %w", userID, store.ErrLeaseLost)
	}
	return d, nil
}

// CompleteDirty implements store.Store.
func (s *Store) CompleteDirty(_ context.Context, owner, userID string, gen int64) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	d, err := s.leased(owner, userID)
	if err != nil {
		return err
	}
	if d.generation == gen {
		delete(s.dirty, userID)
		return nil
	}
	d.owner, d.leaseUntil = "", time.Time{}
	// The claimed work is done: what is left is what was marked since.
	if d.next != d.priority {
		d.priority, d.raised = d.next.Clamp(), s.clock()
	}
	return nil
}

// RetryDirty implements store.Store.
func (s *Store) RetryDirty(_ context.Context, owner, userID string, gen int64, attempts int, notBefore time.Time) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	d, err := s.leased(owner, userID)
	if err != nil {
		return err
	}
	d.owner, d.leaseUntil = "", time.Time{}
	if d.generation != gen {
		// The claimed work is not done: the entry keeps its priority
		// (raised by the marks since, if higher).
		d.due, d.attempts = s.clock(), 0
		return nil
	}
	d.due, d.attempts = stamp(notBefore), attempts
	return nil
}

// DirtyStats implements store.Store.
func (s *Store) DirtyStats(context.Context) (int, time.Time, error) {
	if err := s.lock(); err != nil {
		return 0, time.Time{}, err
	}
	defer s.mu.Unlock()
	var oldest time.Time
	for _, d := range s.dirty {
		if oldest.IsZero() || d.since.Before(oldest) {
			oldest = d.since
		}
	}
	return len(s.dirty), oldest, nil
}

// ClaimJob implements store.Store.
func (s *Store) ClaimJob(_ context.Context, name string, every time.Duration, now time.Time) (bool, error) {
	if err := s.lock(); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	if last, ok := s.jobs[name]; ok && last.After(now.Add(-every)) {
		return false, nil
	}
	s.jobs[name] = stamp(now)
	return true, nil
}

// Take counts one call in the rate window (name, start) if fewer than limit
// calls were counted there, and reports whether it did (gainsight.Counter).
// limit <= 0 means unlimited: Take reports true without counting.
func (s *Store) Take(_ context.Context, window string, start time.Time, limit int) (bool, error) {
	if limit <= 0 {
		return true, nil
	}
	if err := s.lock(); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	w := s.budget[window]
	if !w.start.Equal(start) {
		if start.Before(w.start) {
			return false, nil // a window that is over
		}
		w = budgetWindow{start: start}
	}
	if w.used >= limit {
		return false, nil
	}
	w.used++
	s.budget[window] = w
	return true, nil
}

// Used returns how many calls Take counted in the rate window (name,
// start).
func (s *Store) Used(_ context.Context, window string, start time.Time) (int, error) {
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	if w := s.budget[window]; w.start.Equal(start) {
		return w.used, nil
	}
	return 0, nil
}

// TryLock takes the named lock if it is free and returns the function that
// releases it; the lock is this process's.
func (s *Store) TryLock(_ context.Context, name string) (unlock func(), ok bool, err error) {
	if err := s.lock(); err != nil {
		return nil, false, err
	}
	s.mu.Unlock()
	unlock, ok = s.locks.TryLock(name)
	return unlock, ok, nil
}

// Ping implements store.Store: it fails once the store is closed.
func (s *Store) Ping(context.Context) error {
	if err := s.lock(); err != nil {
		return err
	}
	s.mu.Unlock()
	return nil
}

// Close implements store.Store. Every later call fails, as on a database
// whose connection is gone.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func missingErr(missing []string) error {
	quoted := make([]string, len(missing))
	for i, id := range missing {
		quoted[i] = strconv.Quote(id)
	}
	return fmt.Errorf("members %s: %w", strings.Join(quoted, ", "), store.ErrNotFound)
}

func newID() string { return uuid.NewString() }
