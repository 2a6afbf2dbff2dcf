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

// The engine's unit tests run on the memory store backend (a real store:
// tombstones, link versions, lease owners) and on fakeUpstream, an
// in-memory Gainsight whose faults a test sets per record or per call.

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
	// urgent: the call may spend the budget's urgent share.
	urgent bool
}

func newFakeUpstream() *fakeUpstream {
	return &fakeUpstream{users: map[string]gainsight.Record{}, failCalls: map[string]int{}}
}

func (f *fakeUpstream) begin(ctx context.Context, op string, n int) error {
	f.calls = append(f.calls, call{op, n, gainsight.IsUrgent(ctx)})
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

func (f *fakeUpstream) Create(ctx context.Context, records []gainsight.Record) ([]gainsight.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, "create", len(records)); err != nil {
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

func (f *fakeUpstream) Update(ctx context.Context, records []gainsight.Record) ([]gainsight.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, "update", len(records)); err != nil {
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

func (f *fakeUpstream) SetStatus(ctx context.Context, gsids []string, active bool) ([]gainsight.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, "status", len(gsids)); err != nil {
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

func (f *fakeUpstream) Find(ctx context.Context, conds []gainsight.Condition) ([]gainsight.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, "list", 0); err != nil {
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
