package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// openCommitTest opens a SQLite database with one table, t (k unique), and
// a Store over it whose writes are group-committed as configured.
func openCommitTest(t *testing.T, gc GroupCommit) *Store {
	return openCommitTestDialect(t, gc, func(*Dialect) {})
}

// openCommitTestDialect is openCommitTest with the dialect as set changes
// it.
func openCommitTestDialect(t *testing.T, gc GroupCommit, set func(*Dialect)) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "commit.db")
	w, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	if _, err := w.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	r, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	d := Dialect{
		Begin:         "BEGIN IMMEDIATE",
		PrepareWrites: true,
		IsUnique:      func(err error) bool { return strings.Contains(err.Error(), "UNIQUE") },
		IsRetryable:   func(error) bool { return false },
	}
	set(&d)
	s, err := New(Config{Reader: r, Writer: w, GroupCommit: gc, Dialect: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.c.close()
		_ = r.Close()
		_ = w.Close()
	})
	return s
}

// insertK is a write that inserts k.
func insertK(k int) func(context.Context, *wtx) error {
	return func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t (k) VALUES ($1)`, k)
		return err
	}
}

// stored reports whether k is committed, as a reader sees it.
func stored(t *testing.T, s *Store, k int) bool {
	t.Helper()
	var n int
	if err := s.r.db.QueryRow(`SELECT COUNT(*) FROM t WHERE k = $1`, k).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// holdLane submits a write that keeps the only lane busy until release is
// closed, and returns once it runs.
func holdLane(t *testing.T, s *Store) (release func(), done <-chan error) {
	t.Helper()
	running, rel, out := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		out <- s.write(context.Background(), func(ctx context.Context, tx *wtx) error {
			close(running)
			<-rel
			return nil
		})
	}()
	<-running
	return func() { close(rel) }, out
}

// TestFailureAnsweredAfterItsBatchCommits: a write that fails because of
// another write of its batch (a key the other took) is answered only once
// that write is committed, so what it was told is already true.
func TestFailureAnsweredAfterItsBatchCommits(t *testing.T) {
	s := openCommitTest(t, GroupCommit{Lanes: 1})
	release, held := holdLane(t, s)
	first, second := make(chan error, 1), make(chan error, 1)
	runs := 0
	go func() {
		first <- s.write(t.Context(), func(ctx context.Context, tx *wtx) error {
			if runs++; runs > 1 {
				// Run again beside the failing write: slowly, so an answer
				// given before the commit would be seen.
				time.Sleep(300 * time.Millisecond)
			}
			return insertK(1)(ctx, tx)
		})
	}()
	for len(s.c.queue) < 1 {
		time.Sleep(time.Millisecond)
	}
	go func() { second <- s.write(t.Context(), insertK(1)) }()
	for len(s.c.queue) < 2 {
		time.Sleep(time.Millisecond)
	}
	release()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("second insert of k=1: %v; want a unique violation", err)
	}
	if !stored(t, s, 1) {
		t.Fatal("the second write was refused before the first, which took its key, was committed")
	}
	if err := <-first; err != nil {
		t.Fatalf("first insert: %v", err)
	}
}

// TestUnwrittenFailureKeepsItsBatch: a write that refuses after reading
// only (unwritten: a group PATCH that changes nothing), or whose first
// changing statement a unique constraint refuses where that undoes the
// statement alone (SQLite), fails alone without the writes of its batch
// being rolled back and run again; it gets its own error, and they
// commit. Where a refused statement aborts the transaction (PostgreSQL),
// they run again.
func TestUnwrittenFailureKeepsItsBatch(t *testing.T) {
	errNothing := errors.New("nothing to change")
	refuse := func(ctx context.Context, tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
			return err
		}
		return &unwritten{fmt.Errorf("%d rows: %w", n, errNothing)}
	}
	cases := []struct {
		name      string
		keepsTx   bool
		refusing  func(s *Store) func(context.Context, *wtx) error
		want      error
		wantRuns0 int32
	}{
		{"refused after reads", false, func(*Store) func(context.Context, *wtx) error { return refuse }, errNothing, 1},
		{"unique violation, statement undone alone", true, duplicate, store.ErrConflict, 1},
		{"unique violation, transaction aborted", false, duplicate, store.ErrConflict, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := openCommitTestDialect(t, GroupCommit{Lanes: 1}, func(d *Dialect) { d.ConstraintKeepsTx = c.keepsTx })
			if err := s.write(t.Context(), insertK(9)); err != nil {
				t.Fatal(err)
			}
			release, held := holdLane(t, s)
			var runs [2]atomic.Int32
			counted := func(i, k int) func(context.Context, *wtx) error {
				return func(ctx context.Context, tx *wtx) error {
					runs[i].Add(1)
					return insertK(k)(ctx, tx)
				}
			}
			fns := []func(context.Context, *wtx) error{counted(0, 1), c.refusing(s), counted(1, 2)}
			out := make([]chan error, len(fns))
			for i, fn := range fns {
				out[i] = make(chan error, 1)
				go func() { out[i] <- s.write(t.Context(), fn) }()
				for len(s.c.queue) < i+1 {
					time.Sleep(time.Millisecond)
				}
			}
			commits, _ := s.GroupCommitStats()
			release()
			if err := <-held; err != nil {
				t.Fatal(err)
			}
			err := <-out[1]
			var uw *unwritten
			if !errors.Is(err, c.want) || errors.As(err, &uw) {
				t.Errorf("refused write: %v (%T); want its own error", err, err)
			}
			for i, k := range []int{0, 2} {
				if err := <-out[k]; err != nil {
					t.Errorf("write %d: %v", k, err)
				}
				if !stored(t, s, i+1) {
					t.Errorf("k=%d not stored", i+1)
				}
			}
			if n := runs[0].Load(); n != c.wantRuns0 {
				t.Errorf("the write before the refused one ran %d times; want %d", n, c.wantRuns0)
			}
			// The held write's commit, then the batch's.
			if after, _ := s.GroupCommitStats(); after-commits != 2 {
				t.Errorf("%d commits for the held write and the batch; want 2", after-commits)
			}
		})
	}
}

// duplicate is a write whose one statement inserts a key already stored
// (9), answered as the store answers a duplicate userName.
func duplicate(s *Store) func(context.Context, *wtx) error {
	return func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO t (k) VALUES (9)`); err != nil {
			return s.uniqueErr(err, "k 9")
		}
		return nil
	}
}

// TestQueuedWriteGivesUp: a caller whose context ends while its write
// waits behind a long transaction gets its error at once, and its write
// is never made.
func TestQueuedWriteGivesUp(t *testing.T) {
	s := openCommitTest(t, GroupCommit{Lanes: 1})
	release, held := holdLane(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	// Released in any case, so a store that ignores the caller fails
	// below rather than hanging.
	late := time.AfterFunc(3*time.Second, release)
	started := time.Now()
	err := s.write(ctx, insertK(7))
	waited := time.Since(started)
	if late.Stop() {
		release()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued write: %v; want context.DeadlineExceeded", err)
	}
	if waited > 2*time.Second {
		t.Errorf("the queued write returned after %v, when the lane was released", waited)
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := s.write(t.Context(), insertK(8)); err != nil {
		t.Fatal(err)
	}
	if stored(t, s, 7) || !stored(t, s, 8) {
		t.Error("the write given up on is stored, or the next one is not")
	}
}

// TestHungTransactionTimesOut: a transaction that outlives TxTimeout (a
// statement that never returns) fails its batch instead of holding the
// lane for ever; the writes behind it are made.
func TestHungTransactionTimesOut(t *testing.T) {
	for _, uninterruptible := range []bool{false, true} {
		t.Run(fmt.Sprintf("uninterruptible=%v", uninterruptible), func(t *testing.T) {
			testHungTransactionTimesOut(t, uninterruptible)
		})
	}
}

func testHungTransactionTimesOut(t *testing.T, uninterruptible bool) {
	s := openCommitTestDialect(t, GroupCommit{Lanes: 1, TxTimeout: 50 * time.Millisecond}, func(d *Dialect) { d.Uninterruptible = uninterruptible })
	hung := make(chan error, 1)
	go func() {
		hung <- s.write(context.Background(), func(ctx context.Context, tx *wtx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO t (k) VALUES (99)`); err != nil {
				return err
			}
			<-ctx.Done() // a statement that waits until its context ends
			return ctx.Err()
		})
	}()
	select {
	case err := <-hung:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("hung write: %v; want its transaction's deadline", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the hung transaction still holds the lane")
	}
	if err := s.write(t.Context(), insertK(1)); err != nil {
		t.Fatalf("write after the hung one: %v", err)
	}
	if stored(t, s, 99) || !stored(t, s, 1) {
		t.Error("the hung write is stored, or the next one is not")
	}
}

// TestUninterruptibleStatements: where the dialect says so, the statements
// of a write run without their context's cancellation, which SQLite's
// driver would watch with a goroutine per statement; elsewhere a
// cancelled context ends the statement.
func TestUninterruptibleStatements(t *testing.T) {
	for k, uninterruptible := range []bool{false, true} {
		s := openCommitTestDialect(t, GroupCommit{Lanes: 1}, func(d *Dialect) { d.Uninterruptible = uninterruptible })
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		err := s.write(t.Context(), func(_ context.Context, tx *wtx) error {
			_, err := tx.ExecContext(cancelled, `INSERT INTO t (k) VALUES ($1)`, k)
			return err
		})
		if uninterruptible && (err != nil || !stored(t, s, k)) {
			t.Errorf("uninterruptible: %v, stored %v; want the statement run", err, stored(t, s, k))
		}
		if !uninterruptible && !errors.Is(err, context.Canceled) {
			t.Errorf("interruptible: %v; want the statement cancelled", err)
		}
	}
}

// TestAbortedTransactionIsNotAcknowledged: when the database says the
// transaction was aborted (PostgreSQL, which would answer COMMIT with a
// silent rollback), its writes are not told they are stored.
func TestAbortedTransactionIsNotAcknowledged(t *testing.T) {
	var aborted atomic.Bool
	aborted.Store(true)
	s := openCommitTestDialect(t, GroupCommit{Lanes: 1}, func(d *Dialect) {
		d.TxFailed = func(*sql.Conn) (bool, error) { return aborted.Load(), nil }
	})
	err := s.write(t.Context(), insertK(5))
	if err == nil || !strings.Contains(err.Error(), "aborted") {
		t.Fatalf("write in an aborted transaction: %v; want an error saying so", err)
	}
	aborted.Store(false)
	if err := s.write(t.Context(), insertK(6)); err != nil {
		t.Fatal(err)
	}
	if stored(t, s, 5) || !stored(t, s, 6) {
		t.Error("the aborted write is stored, or the next one is not")
	}
}
