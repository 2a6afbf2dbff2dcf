package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/conformance"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/sqlite"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func newStore(t *testing.T) *sqlite.Store {
	s := open(t, filepath.Join(t.TempDir(), "bridge.db"))
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	conformance.RunTests(t, func(t *testing.T) store.Store { return newStore(t) })
}
func TestGroupCommitConformance(t *testing.T) {
	conformance.RunGroupCommitTests(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "bridge.db")
	s := open(t, path)
	u, err := s.CreateUser(ctx, store.User{UserName: "kept@example.com", Emails: []string{"kept@example.com"}, Doc: map[string]any{"a": "b"}})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	g, err := s.CreateGroup(ctx, store.Group{DisplayName: "G", Members: []string{u.ID}}, nil)
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	info, err := s.GetSync(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetSync: %v", err)
	}
	if _, err := s.UpdateSync(ctx, info.LinkID, func(i store.SyncInfo) (store.SyncInfo, error) {
		i.GSID, i.State = "GS-1", store.StateSynced
		return i, nil
	}); err != nil {
		t.Fatalf("UpdateSync: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Opening again (and again: migrations are applied once) finds everything.
	for i := range 2 {
		s = open(t, path)
		got, err := s.GetUser(ctx, u.ID)
		if err != nil || got.Version != 1 || got.Doc["a"] != "b" {
			t.Fatalf("reopen %d: GetUser = %+v, %v", i, got, err)
		}
		if users, _, err := s.ListUsers(ctx, store.Query{Field: "emails", Value: "KEPT@example.com"}); err != nil || len(users) != 1 {
			t.Fatalf("reopen %d: email lookup = %v, %v", i, users, err)
		}
		if gg, err := s.GetGroup(ctx, g.ID); err != nil || len(gg.Members) != 1 {
			t.Fatalf("reopen %d: GetGroup = %+v, %v", i, gg, err)
		}
		if info, err := s.GetSync(ctx, u.ID); err != nil || info.GSID != "GS-1" {
			t.Fatalf("reopen %d: GetSync = %+v, %v", i, info, err)
		}
		// The dirty entry written with the user survives: the engine
		// finishes the work after a crash.
		// Each round claims after the previous round's lease ran out.
		ds, err := s.ClaimDirty(ctx, "after-restart", 10, time.Minute, time.Now().Add(time.Duration(i+1)*time.Hour))
		if err != nil || len(ds) != 1 || ds[0].UserID != u.ID {
			t.Fatalf("reopen %d: ClaimDirty = %+v, %v; want the user", i, ds, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name, path string
	}{
		{"empty", ""},
		{"missing directory", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), tc.path, sqlite.Options{})
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q) succeeded; want an error", tc.path)
			}
		})
	}
}

func TestTake(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	hour := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		window string
		start  time.Time
		limit  int
		want   bool
	}{
		{"hour", hour, 2, true},
		{"hour", hour, 2, true},
		{"hour", hour, 2, false},
		{"hour", hour, 3, true}, // a raised limit lets one more through
		{"day", hour, 1, true},  // windows are counted apart
		{"day", hour, 1, false},
		{"hour", hour.Add(time.Hour), 2, true}, // a new window starts at zero
		{"hour", hour.Add(time.Hour), 2, true},
		{"hour", hour.Add(time.Hour), 2, false},
		{"hour", hour, 0, true}, // no limit
	}
	for i, st := range steps {
		got, err := s.Take(ctx, st.window, st.start, st.limit)
		if err != nil || got != st.want {
			t.Fatalf("step %d Take(%s, %v, %d) = %v, %v; want %v", i, st.window, st.start, st.limit, got, err, st.want)
		}
	}
}

func TestTakeConcurrent(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "bridge.db")
	// Two stores on one file stand for two processes sharing the budget.
	a, b := open(t, path), open(t, path)
	defer a.Close()
	defer b.Close()
	start := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	const limit = 25
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		taken int
	)
	for i := range 10 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				ok, err := s.Take(ctx, "hour", start, limit)
				if err != nil {
					t.Errorf("Take: %v", err)
					return
				}
				if ok {
					mu.Lock()
					taken++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if taken != limit {
		t.Fatalf("taken = %d; want exactly %d", taken, limit)
	}
}

func TestTryLock(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	unlock, ok, err := s.TryLock(ctx, "reconcile")
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v; want it taken", ok, err)
	}
	if _, ok, err := s.TryLock(ctx, "reconcile"); err != nil || ok {
		t.Fatalf("second TryLock = %v, %v; want busy", ok, err)
	}
	other, ok, err := s.TryLock(ctx, "fanout")
	if err != nil || !ok {
		t.Fatalf("TryLock(other name) = %v, %v; want it taken", ok, err)
	}
	other()
	unlock()
	unlock() // idempotent
	again, ok, err := s.TryLock(ctx, "reconcile")
	if err != nil || !ok {
		t.Fatalf("TryLock after unlock = %v, %v; want it taken", ok, err)
	}
	again()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.TryLock(cancelled, "x"); err == nil {
		t.Fatalf("TryLock with a cancelled context: no error")
	}
}

const benchUsers = 10000

func seed(b *testing.B, s store.Store, n int) {
	b.Helper()
	for i := range n {
		name := fmt.Sprintf("seed-%05d@example.com", i)
		if _, err := s.CreateUser(context.Background(), store.User{UserName: name, Emails: []string{name},
			Doc: map[string]any{"userName": name, "name": map[string]any{"givenName": "Seed", "familyName": fmt.Sprint(i)}}}); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
}

func benchStore(b *testing.B) *sqlite.Store {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	b.Cleanup(func() { _ = s.Close() })
	seed(b, s, benchUsers)
	return s
}

// BenchmarkCreateUser creates users into a store that already holds 10,000.
func BenchmarkCreateUser(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("bench-%d@example.com", i)
		if _, err := s.CreateUser(ctx, store.User{UserName: name, Emails: []string{name}, Doc: map[string]any{"userName": name}}); err != nil {
			b.Fatalf("CreateUser: %v", err)
		}
	}
}

// BenchmarkLookupUserName looks users up by userName among 10,000.
func BenchmarkLookupUserName(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("SEED-%05d@example.com", i%benchUsers)
		users, total, err := s.ListUsers(ctx, store.Query{Field: "userName", Value: name})
		if err != nil || total != 1 || len(users) != 1 {
			b.Fatalf("ListUsers(%s) = %d, %v", name, total, err)
		}
	}
}
