package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// Writes that run at the same time: a store may commit them together
// (group commit), but each is answered for itself.

// RunGroupCommitTests runs the contract of a store that commits concurrent
// writes together (store.GroupCommitter) against stores made by newStore:
// concurrent writes share transactions, and a write whose context is done
// before its transaction begins is not made.
func RunGroupCommitTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"WritesShareCommits", testWritesShareCommits},
		{"CancelledWriteChangesNothing", testCancelledWriteChangesNothing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if _, ok := s.(store.GroupCommitter); !ok {
				t.Fatalf("%T does not implement store.GroupCommitter", s)
			}
			tc.run(t, s)
		})
	}
}

// testWritesShareCommits: 64 creates started at once are committed in far
// fewer transactions than 64, and every one is stored.
func testWritesShareCommits(t *testing.T, s store.Store) {
	ctx := t.Context()
	gc := s.(store.GroupCommitter)
	commits0, writes0 := gc.GroupCommitStats()
	const n = 64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := s.CreateUser(ctx, newUser(fmt.Sprintf("batched-%02d@example.com", i))); err != nil {
				t.Errorf("create: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	commits, writes := gc.GroupCommitStats()
	commits, writes = commits-commits0, writes-writes0
	if writes != n {
		t.Errorf("%d writes committed, want %d", writes, n)
	}
	if commits > n/4 {
		t.Errorf("%d writes took %d commits; want them to share commits", writes, commits)
	}
	if _, total, err := s.ListUsers(ctx, store.Query{}); err != nil || total != n {
		t.Errorf("%d users stored, %v; want %d", total, err, n)
	}
	t.Logf("%d writes in %d commits", writes, commits)
}

// testConcurrentWritesFailAlone starts, at once, creates that succeed,
// creates of a taken userName, creates of a value that cannot be stored,
// creates racing each other for one new userName, and updates whose
// function fails, and checks that each gets its own answer and that
// exactly the successful ones are stored.
func testConcurrentWritesFailAlone(t *testing.T, s store.Store) {
	ctx := t.Context()
	taken := createUser(t, s, newUser("taken@example.com"))
	errStop := errors.New("refused by the caller")
	type result struct {
		kind string
		name string
		u    store.User
		err  error
	}
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make(chan result, 64)
	)
	run := func(kind, name string, f func() (store.User, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			u, err := f()
			results <- result{kind, name, u, err}
		}()
	}
	for i := range 16 {
		name := fmt.Sprintf("fresh-%02d@example.com", i)
		run("fresh", name, func() (store.User, error) { return s.CreateUser(ctx, newUser(name)) })
	}
	for i := range 8 {
		name := strings.ToUpper("taken@example.com")
		if i%2 == 0 {
			name = "taken@example.com"
		}
		run("taken", name, func() (store.User, error) { return s.CreateUser(ctx, newUser(name)) })
	}
	for i := range 8 {
		name := fmt.Sprintf("bad-%02d\x00@example.com", i)
		run("invalid", name, func() (store.User, error) { return s.CreateUser(ctx, newUser(name)) })
	}
	for range 8 {
		run("race", "race@example.com", func() (store.User, error) { return s.CreateUser(ctx, newUser("race@example.com")) })
	}
	for range 8 {
		run("refused", "", func() (store.User, error) {
			return s.UpdateUser(ctx, taken.ID, func(u store.User) (store.User, error) {
				u.Doc["title"] = "never"
				return u, errStop
			})
		})
	}
	close(start)
	wg.Wait()
	close(results)
	raceWon := 0
	want := map[string]string{"taken@example.com": taken.ID}
	for r := range results {
		switch r.kind {
		case "fresh":
			if r.err != nil {
				t.Errorf("create %s: %v", r.name, r.err)
			}
			want[r.name] = r.u.ID
		case "taken":
			if !errors.Is(r.err, store.ErrConflict) {
				t.Errorf("create of the taken %s: %v; want ErrConflict", r.name, r.err)
			}
		case "invalid":
			if !errors.Is(r.err, store.ErrInvalid) {
				t.Errorf("create of %q: %v; want ErrInvalid", r.name, r.err)
			}
		case "race":
			switch {
			case r.err == nil:
				raceWon++
				want[r.name] = r.u.ID
			case !errors.Is(r.err, store.ErrConflict):
				t.Errorf("racing create: %v; want success or ErrConflict", r.err)
			}
		case "refused":
			if r.err != errStop { //nolint:errorlint // must be returned unchanged
				t.Errorf("update refused by its function: %v; want the function's error", r.err)
			}
		}
	}
	if raceWon != 1 {
		t.Errorf("%d of the racing creates won; want exactly one", raceWon)
	}
	users, total, err := s.ListUsers(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range users {
		got[u.UserName] = u.ID
	}
	if total != len(want) || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored users %v (total %d), want %v", got, total, want)
	}
	if u, _ := s.GetUser(ctx, taken.ID); u.Version != 1 || u.Doc["title"] != nil {
		t.Errorf("the user whose updates were refused: %+v; want unchanged", u)
	}
	for name, id := range want {
		if _, err := s.GetSync(ctx, id); err != nil {
			t.Errorf("link of %s: %v", name, err)
		}
	}
}

// testWriteFunctionPanics: a panic in an update's function reaches the
// caller, changes nothing, and the store goes on writing.
func testWriteFunctionPanics(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("panic@example.com"))
	var others sync.WaitGroup
	for i := range 4 {
		others.Add(1)
		go func() {
			defer others.Done()
			if _, err := s.CreateUser(ctx, newUser(fmt.Sprintf("beside-%d@example.com", i))); err != nil {
				t.Errorf("create beside the panic: %v", err)
			}
		}()
	}
	func() {
		defer func() {
			if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "boom") {
				t.Errorf("recovered %v; want the function's panic", p)
			}
		}()
		_, _ = s.UpdateUser(ctx, u.ID, func(cur store.User) (store.User, error) { panic("boom") })
	}()
	others.Wait()
	if got, _ := s.GetUser(ctx, u.ID); got.Version != 1 {
		t.Errorf("user after the panic: version %d, want 1", got.Version)
	}
	if _, err := s.UpdateUser(ctx, u.ID, func(cur store.User) (store.User, error) {
		cur.Doc["title"] = "after"
		return cur, nil
	}); err != nil {
		t.Fatalf("update after the panic: %v", err)
	}
	if _, n, _ := s.ListUsers(ctx, store.Query{}); n != 5 {
		t.Errorf("%d users, want 5", n)
	}
}

// testCancelledWriteChangesNothing: a write whose context is done before
// it runs fails with the context's error and stores nothing.
func testCancelledWriteChangesNothing(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.CreateUser(ctx, newUser("late@example.com")); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateUser with a done context: %v; want context.Canceled", err)
	}
	if _, n, _ := s.ListUsers(t.Context(), store.Query{Field: "userName", Value: "late@example.com"}); n != 0 {
		t.Fatalf("the cancelled create is stored")
	}
}

// RunAuditQueuerTests runs the store.AuditQueuer contract against stores
// made by newStore, which must implement it: queued entries are written
// as AppendAudit writes them, at the time they were queued, and their
// outcome reaches then; an entry that cannot be stored is refused alone.
func RunAuditQueuerTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	q, ok := s.(store.AuditQueuer)
	if !ok {
		t.Fatalf("%T does not implement store.AuditQueuer", s)
	}
	ctx := t.Context()
	outcomes := make(chan error, 16)
	then := func(err error) { outcomes <- err }
	before := time.Now()
	for i := range 10 {
		q.QueueAudit([]store.AuditEntry{{UserID: fmt.Sprintf("u-%d", i), UserName: fmt.Sprintf("q%d@example.com", i),
			Op: store.AuditUserCreated, Source: store.AuditSourceSCIM, Result: store.AuditOK}}, then)
	}
	q.QueueAudit([]store.AuditEntry{{UserID: "bad\x00id", Op: store.AuditUserCreated}}, then)
	queued := time.Now()
	var failed int
	for range 11 {
		select {
		case err := <-outcomes:
			switch {
			case err == nil:
			case errors.Is(err, store.ErrInvalid):
				failed++
			default:
				t.Errorf("queued entry: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a queued entry's outcome never came")
		}
	}
	if failed != 1 {
		t.Errorf("%d queued entries refused, want the one that cannot be stored", failed)
	}
	es, err := s.ListAudit(ctx, store.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 10 {
		t.Fatalf("%d entries written, want 10: %+v", len(es), es)
	}
	for _, e := range es {
		if e.Time.Before(before.Add(-time.Second)) || e.Time.After(queued.Add(time.Second)) {
			t.Errorf("entry %s at %v; want the time it was queued (%v..%v)", e.UserID, e.Time, before, queued)
		}
	}
}
