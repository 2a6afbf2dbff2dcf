package sync

import (
	"context"
	"fmt"
	"sort"
	"strings"
	stdsync "sync"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
)

// memStore is an in-memory store with the dirty-set semantics of
// store.Store. Group methods the engine does not use come from the embedded
// nil interface and panic if called.
type memStore struct {
	store.Store
	mu     stdsync.Mutex
	users  map[string]store.User
	groups map[string][]store.GroupRef
	syncs  map[string]store.SyncInfo
	dirty  map[string]*dirtyEntry
	gen    int64
	now    func() time.Time
}

type dirtyEntry struct {
	gen        int64
	attempts   int
	since, due time.Time
	leaseUntil time.Time
}

func newMemStore(now func() time.Time) *memStore {
	return &memStore{users: map[string]store.User{}, groups: map[string][]store.GroupRef{},
		syncs: map[string]store.SyncInfo{}, dirty: map[string]*dirtyEntry{}, now: now}
}

func (s *memStore) markLocked(ids ...string) {
	for _, id := range ids {
		s.gen++
		e := s.dirty[id]
		if e == nil {
			e = &dirtyEntry{since: s.now()}
			s.dirty[id] = e
		}
		e.gen, e.due, e.attempts = s.gen, s.now(), 0
	}
}

func (s *memStore) CreateUser(_ context.Context, u store.User) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.users {
		if strings.EqualFold(o.UserName, u.UserName) {
			return store.User{}, store.ErrConflict
		}
	}
	u.Version = 1
	s.users[u.ID] = u
	info := store.SyncInfo{UserID: u.ID, UserName: u.UserName, State: store.StatePending}
	for id, t := range s.syncs {
		if t.Tombstone && strings.EqualFold(t.UserName, u.UserName) {
			delete(s.syncs, id)
			info = t
			info.UserID, info.Tombstone, info.State = u.ID, false, store.StatePending
			break
		}
	}
	s.syncs[u.ID] = info
	s.markLocked(u.ID)
	return u, nil
}

func (s *memStore) GetUser(_ context.Context, id string) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return u, nil
}

func (s *memStore) UpdateUser(_ context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	u, err := fn(u)
	if err != nil {
		return store.User{}, err
	}
	u.Version++
	s.users[id] = u
	if info, ok := s.syncs[id]; ok {
		info.State = store.StatePending
		s.syncs[id] = info
	}
	s.markLocked(id)
	return u, nil
}

func (s *memStore) DeleteUser(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[id]; !ok {
		return store.ErrNotFound
	}
	delete(s.users, id)
	delete(s.groups, id)
	if info, ok := s.syncs[id]; ok {
		info.Tombstone = true
		s.syncs[id] = info
	}
	s.markLocked(id)
	return nil
}

// ListUsers supports listing every user and the userName query, ordered
// by id.
func (s *memStore) ListUsers(_ context.Context, q store.Query) ([]store.User, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.Field != "" && q.Field != "userName" {
		return nil, 0, fmt.Errorf("memStore: query on %q not supported", q.Field)
	}
	var out []store.User
	for _, u := range s.users {
		if q.Field == "" || strings.EqualFold(u.UserName, q.Value) {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	total := len(out)
	out = out[min(q.Offset, len(out)):]
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, total, nil
}

func (s *memStore) UsersByManager(_ context.Context, id string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, u := range s.users {
		if u.ManagerID == id {
			out = append(out, u.ID)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (s *memStore) GroupsOfUser(_ context.Context, id string) ([]store.GroupRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.groups[id], nil
}

func (s *memStore) GetSync(_ context.Context, id string) (store.SyncInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.syncs[id]
	if !ok {
		return store.SyncInfo{}, store.ErrNotFound
	}
	info.Record = cloneRecord(info.Record)
	return info, nil
}

func (s *memStore) SyncByGSID(_ context.Context, gsid string) (store.SyncInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, info := range s.syncs {
		if info.GSID == gsid {
			return info, nil
		}
	}
	return store.SyncInfo{}, store.ErrNotFound
}

func (s *memStore) PutSync(_ context.Context, info store.SyncInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if info.GSID != "" {
		for id, o := range s.syncs {
			if id != info.UserID && o.GSID == info.GSID {
				return fmt.Errorf("gsid %s already linked to %s: %w", info.GSID, id, store.ErrConflict)
			}
		}
	}
	info.Record = cloneRecord(info.Record)
	s.syncs[info.UserID] = info
	return nil
}

func (s *memStore) CountSyncStates(context.Context) (map[string]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, info := range s.syncs {
		if !info.Tombstone {
			out[info.State]++
		}
	}
	return out, nil
}

func (s *memStore) MarkDirty(_ context.Context, ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.markLocked(ids...)
	return nil
}

func (s *memStore) ClaimDirty(_ context.Context, _ string, limit int, lease time.Duration, now time.Time) ([]store.Dirty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, e := range s.dirty {
		if !e.due.After(now) && !e.leaseUntil.After(now) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := s.dirty[ids[i]], s.dirty[ids[j]]
		if !a.since.Equal(b.since) {
			return a.since.Before(b.since)
		}
		return ids[i] < ids[j]
	})
	if len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]store.Dirty, 0, len(ids))
	for _, id := range ids {
		e := s.dirty[id]
		e.leaseUntil = now.Add(lease)
		out = append(out, store.Dirty{UserID: id, Generation: e.gen, Attempts: e.attempts, Since: e.since})
	}
	return out, nil
}

func (s *memStore) CompleteDirty(_ context.Context, id string, gen int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.dirty[id]
	if e == nil {
		return nil
	}
	if e.gen == gen {
		delete(s.dirty, id)
		return nil
	}
	e.leaseUntil = time.Time{}
	return nil
}

func (s *memStore) RetryDirty(_ context.Context, id string, gen int64, attempts int, notBefore time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.dirty[id]
	if e == nil {
		return nil
	}
	e.leaseUntil = time.Time{}
	if e.gen != gen {
		e.due, e.attempts = s.now(), 0
		return nil
	}
	e.due, e.attempts = notBefore, attempts
	return nil
}

func (s *memStore) DirtyStats(context.Context) (int, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest time.Time
	for _, e := range s.dirty {
		if oldest.IsZero() || e.since.Before(oldest) {
			oldest = e.since
		}
	}
	return len(s.dirty), oldest, nil
}

// fakePlanner maps a user the way the default mapping does, from a few Doc
// keys: "license", "title", "timezone", "givenName", "familyName",
// "superAdmin", "conflict" (an error text).
type fakePlanner struct{}

func (fakePlanner) Plan(u store.User, groups []store.GroupRef) (translate.Plan, error) {
	if c, ok := u.Doc["conflict"].(string); ok {
		return translate.Plan{}, fmt.Errorf("conflict: %s", c)
	}
	email := u.UserName
	if len(u.Emails) > 0 {
		email = u.Emails[0]
	}
	rec := gainsight.Record{"SFDCUserName": u.UserName, "Email": email, "Name": u.UserName, "LicenseType": "Full"}
	if l, ok := u.Doc["license"].(string); ok {
		rec["LicenseType"] = l
	}
	if t, ok := u.Doc["title"].(string); ok {
		rec["Title"] = t
	}
	if tz, ok := u.Doc["timezone"].(string); ok {
		rec["Timezone"] = tz
	}
	if n, ok := u.Doc["givenName"].(string); ok {
		rec["FirstName"] = n
	}
	if n, ok := u.Doc["familyName"].(string); ok {
		rec["LastName"] = n
	}
	var bundles []string
	for _, g := range groups {
		bundles = append(bundles, g.DisplayName)
	}
	if len(bundles) > 0 {
		rec["permissionBundles"] = bundles
	}
	sa, _ := u.Doc["superAdmin"].(bool)
	return translate.Plan{Record: rec, Active: u.Active, ManagerID: u.ManagerID, SuperAdmin: sa}, nil
}

// fakeUpstream is an in-memory Gainsight: a user table with unique
// SFDCUserName and Email, a call log, per-record failures and lost
// responses.
type fakeUpstream struct {
	mu     stdsync.Mutex
	users  map[string]gainsight.Record
	nextID int
	calls  []call
	// failRecord, when set, fails one record of a write call with the
	// returned error (nil = process normally).
	failRecord func(op string, rec gainsight.Record) error
	// failCalls fails the next n calls of an operation with callErr before
	// doing anything.
	failCalls map[string]int
	callErr   error
	// loseCreates makes the next n create calls succeed but lose their
	// response.
	loseCreates int
	// before, when set, runs at the start of every call with its
	// operation, so a test can change the store while a pass is in flight.
	// It must not call the upstream.
	before func(op string)
}

type call struct {
	op   string
	size int
}

func newFakeUpstream() *fakeUpstream {
	return &fakeUpstream{users: map[string]gainsight.Record{}, failCalls: map[string]int{}}
}

func (f *fakeUpstream) begin(op string, n int) error {
	f.calls = append(f.calls, call{op, n})
	if f.before != nil {
		f.before(op)
	}
	if f.failCalls[op] > 0 {
		f.failCalls[op]--
		return f.callErr
	}
	return nil
}

func (f *fakeUpstream) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c.op == op {
			n++
		}
	}
	return n
}

func (f *fakeUpstream) byName(name string) gainsight.Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if strings.EqualFold(stringField(u, "SFDCUserName"), name) {
			return cloneRecord(u)
		}
	}
	return nil
}

func (f *fakeUpstream) seed(rec gainsight.Record) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	gsid := fmt.Sprintf("gs-%04d", f.nextID)
	rec = cloneRecord(rec)
	rec["Gsid"] = gsid
	if _, ok := rec["IsActiveUser"]; !ok {
		rec["IsActiveUser"] = true
	}
	f.users[gsid] = rec
	return gsid
}

func (f *fakeUpstream) Create(_ context.Context, records []gainsight.Record) ([]gainsight.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("create", len(records)); err != nil {
		return nil, err
	}
	out := make([]gainsight.Result, len(records))
	for i, rec := range records {
		if f.failRecord != nil {
			if err := f.failRecord("create", rec); err != nil {
				out[i].Err = err
				continue
			}
		}
		dup := false
		for _, u := range f.users {
			if strings.EqualFold(stringField(u, "SFDCUserName"), stringField(rec, "SFDCUserName")) ||
				strings.EqualFold(stringField(u, "Email"), stringField(rec, "Email")) {
				dup = true
			}
		}
		if dup {
			out[i].Err = &gainsight.Error{Op: "create", Code: gainsight.CodeDuplicate, Message: "duplicate user"}
			continue
		}
		f.nextID++
		gsid := fmt.Sprintf("gs-%04d", f.nextID)
		u := cloneRecord(rec)
		u["Gsid"], u["IsActiveUser"] = gsid, true
		f.users[gsid] = u
		out[i] = gainsight.Result{GSID: gsid, Record: cloneRecord(u)}
	}
	if f.loseCreates > 0 {
		f.loseCreates--
		return nil, &gainsight.Error{Op: "create", Err: fmt.Errorf("connection reset")}
	}
	return out, nil
}

func (f *fakeUpstream) Update(_ context.Context, records []gainsight.Record) ([]gainsight.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("update", len(records)); err != nil {
		return nil, err
	}
	out := make([]gainsight.Result, len(records))
	for i, rec := range records {
		if f.failRecord != nil {
			if err := f.failRecord("update", rec); err != nil {
				out[i].Err = err
				continue
			}
		}
		u, ok := f.users[rec.GSID()]
		if !ok {
			out[i].Err = &gainsight.Error{Op: "update", Message: "user not found"}
			continue
		}
		for k, v := range rec {
			if v == nil {
				delete(u, k)
			} else {
				u[k] = v
			}
		}
		out[i] = gainsight.Result{GSID: rec.GSID(), Record: cloneRecord(u)}
	}
	return out, nil
}

func (f *fakeUpstream) SetStatus(_ context.Context, gsids []string, active bool) ([]gainsight.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("status", len(gsids)); err != nil {
		return nil, err
	}
	out := make([]gainsight.Result, len(gsids))
	for i, g := range gsids {
		u, ok := f.users[g]
		if !ok {
			out[i].Err = &gainsight.Error{Op: "status", Message: "user not found"}
			continue
		}
		if f.failRecord != nil {
			if err := f.failRecord("status", u); err != nil {
				out[i].Err = err
				continue
			}
		}
		u["IsActiveUser"] = active
		if !active {
			delete(u, "LicenseType")
		}
		out[i] = gainsight.Result{GSID: g}
	}
	return out, nil
}

func (f *fakeUpstream) Find(_ context.Context, conds []gainsight.Condition) ([]gainsight.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("list", 0); err != nil {
		return nil, err
	}
	var out []gainsight.Record
	for _, u := range f.users {
		for _, c := range conds {
			hit := false
			for _, v := range c.Values {
				if strings.EqualFold(stringField(u, c.Name), v) {
					hit = true
				}
			}
			if hit {
				out = append(out, cloneRecord(u))
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GSID() < out[j].GSID() })
	return out, nil
}

// clock is a manually advanced clock.
type clock struct {
	mu  stdsync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
