package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/conformance"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres/pgtest"
)

func testDSN(t testing.TB) string { return pgtest.DSN(t) }

func withParams(t testing.TB, dsn string, params map[string]string) string {
	return pgtest.WithParams(t, dsn, params)
}

func freshSchema(t testing.TB) string { return pgtest.FreshSchema(t) }

func open(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{Logger: zaptest.NewLogger(t), MaxConns: 8})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	testDSN(t)
	conformance.RunTests(t, func(t *testing.T) store.Store { return open(t, freshSchema(t)) })
}
func TestGroupCommitConformance(t *testing.T) {
	conformance.RunGroupCommitTests(t, func(t *testing.T) store.Store { return open(t, freshSchema(t)) })
}

func TestOpenConcurrentMigrations(t *testing.T) {
	dsn := freshSchema(t)
	// Replicas starting at once: the advisory lock lets one migrate, the
	// others find the schema current.
	const replicas = 4
	stores := make([]*postgres.Store, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(t.Context(), dsn, postgres.Options{Logger: zaptest.NewLogger(t)})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	// Each replica sees what another wrote.
	u, err := stores[0].CreateUser(t.Context(), store.User{UserName: "shared@example.com"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	for i, s := range stores {
		if _, err := s.GetUser(t.Context(), u.ID); err != nil {
			t.Fatalf("replica %d GetUser: %v", i, err)
		}
		if _, err := s.CreateUser(t.Context(), store.User{UserName: "SHARED@example.com"}); err == nil {
			t.Fatalf("replica %d created a duplicate userName", i)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dsn := testDSN(t)
	tests := []struct {
		name, dsn string
	}{
		{"empty", ""},
		{"garbage", "postgres://%zz"},
		{"unreachable", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"},
		{"missing database", withParams(t, dsn, map[string]string{"dbname": "scim_bridge_no_such_db"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := postgres.Open(t.Context(), tc.dsn, postgres.Options{})
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open succeeded; want an error")
			}
			if strings.Contains(err.Error(), "%zz") {
				t.Fatalf("error quotes the DSN: %v", err)
			}
		})
	}
}

func TestReplicasClaimDisjoint(t *testing.T) {
	dsn := freshSchema(t)
	replicas := []*postgres.Store{open(t, dsn), open(t, dsn), open(t, dsn)}
	ctx := t.Context()
	const users = 300
	ids := make([]string, users)
	for i := range ids {
		ids[i] = fmt.Sprintf("u-%04d", i)
	}
	if err := replicas[0].MarkDirty(ctx, ids...); err != nil {
		t.Fatalf("MarkDirty: %v", err)
	}
	now := time.Now().Add(time.Second)
	// Three workers a replica.
	conformance.ClaimConcurrently(t, users, 3*len(replicas), func(w int, owner string) ([]store.Dirty, error) {
		return replicas[w/3].ClaimDirty(ctx, owner, 7, time.Hour, now)
	}, nil)
}

func TestTake(t *testing.T) {
	dsn := freshSchema(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx := t.Context()
	hour := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		s      *postgres.Store
		window string
		start  time.Time
		limit  int
		want   bool
	}{
		{a, "hour", hour, 2, true},
		{b, "hour", hour, 2, true}, // the second replica counts in the same window
		{a, "hour", hour, 2, false},
		{b, "hour", hour, 2, false},
		{b, "day", hour, 1, true},
		{a, "day", hour, 1, false},
		{a, "hour", hour.Add(time.Hour), 2, true},
		{b, "hour", hour, 0, true},
	}
	for i, st := range steps {
		got, err := st.s.Take(ctx, st.window, st.start, st.limit)
		if err != nil || got != st.want {
			t.Fatalf("step %d Take(%s, %v, %d) = %v, %v; want %v", i, st.window, st.start, st.limit, got, err, st.want)
		}
	}

	// Many callers on three replicas never exceed the limit together.
	replicas := []*postgres.Store{a, b, open(t, dsn)}
	start := hour.Add(5 * time.Hour)
	const limit = 40
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		taken int
	)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := replicas[i%len(replicas)]
			for range 8 {
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
	dsn := freshSchema(t)
	ctx := t.Context()
	a, b := open(t, dsn), open(t, dsn)
	unlock, ok, err := a.TryLock(ctx, "reconcile")
	if err != nil || !ok {
		t.Fatalf("a.TryLock = %v, %v; want it taken", ok, err)
	}
	for _, s := range []*postgres.Store{a, b} {
		if _, ok, err := s.TryLock(ctx, "reconcile"); err != nil || ok {
			t.Fatalf("TryLock while held = %v, %v; want busy", ok, err)
		}
	}
	other, ok, err := b.TryLock(ctx, "fanout")
	if err != nil || !ok {
		t.Fatalf("b.TryLock(other name) = %v, %v; want it taken", ok, err)
	}
	other()
	unlock()
	unlock() // idempotent
	if _, ok, err := b.TryLock(ctx, "reconcile"); err != nil || !ok {
		t.Fatalf("b.TryLock after unlock = %v, %v; want it taken", ok, err)
	}
	// b never unlocks: a replica that goes away releases its locks with its
	// connections.
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		u, ok, err := a.TryLock(ctx, "reconcile")
		if err != nil {
			t.Fatalf("a.TryLock: %v", err)
		}
		if ok {
			u()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lock of a closed store was never released")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRecoversAfterConnectionLoss(t *testing.T) {
	dsn := freshSchema(t)
	app := "scim_bridge_test_" + fmt.Sprint(time.Now().UnixNano())
	s := open(t, withParams(t, dsn, map[string]string{"application_name": app}))
	ctx := t.Context()
	u, err := s.CreateUser(ctx, store.User{UserName: "before@example.com"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	admin, err := sql.Open("pgx", testDSN(t))
	if err != nil {
		t.Fatalf("open admin: %v", err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	// The store redials by itself; nothing acknowledged is lost.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.GetUser(ctx, u.ID)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after recovery: %v", err)
	}
	if _, err := s.CreateUser(ctx, store.User{UserName: "after@example.com"}); err != nil {
		t.Fatalf("CreateUser after recovery: %v", err)
	}
}

const benchUsers = 10000

func benchStore(b *testing.B) *postgres.Store {
	s := open(b, freshSchema(b))
	for i := range benchUsers {
		name := fmt.Sprintf("seed-%05d@example.com", i)
		if _, err := s.CreateUser(context.Background(), store.User{UserName: name, Emails: []string{name},
			Doc: map[string]any{"userName": name}}); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	return s
}

// BenchmarkCreateUser creates users into a store that already holds 10,000.
func BenchmarkCreateUser(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
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
