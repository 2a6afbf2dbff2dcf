package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// Dialect is what differs between the databases. The statements themselves
// are shared: both accept $N placeholders, ON CONFLICT upserts, TRUE/FALSE
// literals and LIMIT/OFFSET.
type Dialect struct {
	// LockRow is appended to a SELECT of rows the transaction is about to
	// modify. PostgreSQL needs " FOR UPDATE" so that concurrent writers
	// queue on the row; SQLite has a single writer and needs nothing.
	LockRow string
	// SkipLocked is appended to the SELECT that picks dirty entries to
	// claim, so that concurrent claimers take different rows.
	SkipLocked string
	// JSONText returns the SQL expression of the text at top-level key of
	// the JSON document in column (NULL when absent).
	JSONText func(column, key string) string
	// IsUnique reports whether err is a unique-constraint violation.
	IsUnique func(error) bool
	// IsRetryable reports whether the transaction that failed with err may
	// simply be run again (serialization failure, deadlock, busy).
	IsRetryable func(error) bool
	// Begin starts a write transaction ("BEGIN" when empty). SQLite's is
	// BEGIN IMMEDIATE: the write lock is taken at once, so a transaction
	// never fails half-way for want of it.
	Begin string
	// GroupRefsJSON returns the expression of the groups of the user
	// whose id is the column user: a JSON array of [id, displayName,
	// externalId] triples in the groups' creation order, "[]" for none.
	GroupRefsJSON func(user string) string
	// BatchLockTimeout, when set, is run at the start of a transaction of
	// several writes to bound how long one of them waits for a row lock
	// (PostgreSQL's SET LOCAL lock_timeout); the wait then fails with an
	// error IsRetryable accepts, and the write runs again alone.
	BatchLockTimeout string
	// PrepareWrites keeps the statements of write transactions, savepoints
	// included, prepared on each lane's connection (SQLite, where parsing
	// them is most of their cost). Otherwise they are sent as they are:
	// PostgreSQL's driver keeps its own prepared statements, and a prepare
	// that failed inside a transaction would abort it.
	PrepareWrites bool
	// TxID, when set, is a query returning the id of the transaction it
	// runs in (PostgreSQL: SELECT txid_current()), run after BEGIN, so
	// that a batch whose COMMIT got no answer (its connection broke) can
	// be told committed or not through TxCommitted.
	TxID string
	// TxCommitted reports, on conn (not the transaction's), whether the
	// transaction of id committed; known is false while the database
	// cannot tell (PostgreSQL: still in progress, or too old).
	TxCommitted func(ctx context.Context, conn *sql.Conn, id int64) (committed, known bool, err error)
	// ConstraintKeepsTx says that a statement refused by a constraint is
	// undone alone and its transaction goes on (SQLite: its default
	// conflict resolution, ABORT, backs out the statement only), so a
	// write whose first changing statement is refused leaves its batch
	// as it was. Not so on PostgreSQL, where any error aborts the
	// transaction.
	ConstraintKeepsTx bool
	// TxFailed, when set, reports whether the lane's connection is inside
	// a transaction the database has aborted. It is asked before COMMIT:
	// PostgreSQL answers COMMIT of an aborted transaction by rolling it
	// back without an error, so the batch would be acknowledged and lost.
	TxFailed func(conn *sql.Conn) (bool, error)
	// Uninterruptible runs the statements of write transactions, and the
	// look-ups of FindUserViews by an indexed field, without their
	// context's cancellation and deadline (SQLite, whose driver watches a
	// cancellable context with a goroutine per statement, a tenth of what
	// a create allocates). GroupCommit.TxTimeout then does not stop a
	// statement under way: SQLite's statements are work on a local file,
	// and its waits for another process's lock end at busy_timeout. A
	// write's function still gets the transaction's context, deadline
	// included.
	Uninterruptible bool
}

func (d Dialect) begin() string {
	if d.Begin == "" {
		return "BEGIN"
	}
	return d.Begin
}

// Config wires a Store.
type Config struct {
	// Reader serves reads outside transactions; Writer runs every write
	// transaction. They may be the same pool.
	Reader  *sql.DB
	Writer  *sql.DB
	Dialect Dialect
	Now     func() time.Time
	Logger  *zap.Logger
	// GroupCommit batches the write transactions (commit.go). Every write
	// goes through it.
	GroupCommit GroupCommit
}

// Store implements store.Store over database/sql.
type Store struct {
	// r serves reads outside transactions; w's connections are the
	// committer's lanes'.
	r   *reader
	w   *sql.DB
	c   *committer
	d   Dialect
	now func() time.Time
	log *zap.Logger
	// viewSQLs keeps the text of user view queries by shape (views.go).
	viewSQLs sync.Map
	// prioritizer decides the priority of the marks writes make (nil: the
	// store's defaults).
	prioritizer atomic.Pointer[store.Prioritizer]
}

var _ store.Store = (*Store)(nil)

// New returns a Store over already migrated databases.
func New(c Config) (*Store, error) {
	if c.Reader == nil || c.Writer == nil {
		return nil, errors.New("sqlstore: Reader and Writer are required")
	}
	if c.Dialect.IsUnique == nil || c.Dialect.IsRetryable == nil {
		return nil, errors.New("sqlstore: Dialect.IsUnique and Dialect.IsRetryable are required")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	s := &Store{r: &reader{db: c.Reader, stmts: &stmtCache{db: c.Reader}}, w: c.Writer, d: c.Dialect, now: c.Now, log: c.Logger}
	s.c = newCommitter(s, c.GroupCommit)
	return s, nil
}

// maxAttempts bounds how often a write transaction is re-run after a
// retryable failure (deadlock, serialization failure, lost CAS).
const maxAttempts = 20

// errCASLost means a row changed between read and write; the transaction is
// re-run with a fresh read.
var errCASLost = errors.New("sqlstore: row changed concurrently")

type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// write runs fn in a write transaction, re-running it after retryable
// failures. fn runs in a batch with other writes (commit.go): it must use
// the ctx it is given for its statements, and may be called more than
// once, so it must set what it returns from scratch on each call.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	return s.c.submit(ctx, fn)
}

// newID mints the id of a user, group or link: a UUID of version 7, whose
// leading bits are its creation time, so the rows and index entries of
// new resources are appended in order instead of landing on random pages
// of every index keyed by id (fewer pages written per commit).
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Time is stored as Unix nanoseconds (BIGINT) on every backend: portable,
// exact, and free of time-zone conversions.
func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func tm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// placeholders returns "$from, $from+1, …" for n arguments.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$")
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// unstorable reports whether any of ss cannot be an indexed value
// (store.Unindexable). PostgreSQL text cannot hold NUL (and fails the whole
// statement on one), and its btree indexes refuse entries of a few
// kilobytes, so a lookup of such a value matches nothing without asking
// the database, and a write of one is store.ErrInvalid on every backend.
func unstorable(ss ...string) bool { return store.Unindexable(ss...) }

// invalid returns store.ErrInvalid naming the attribute whose value cannot
// be indexed.
func invalid(attr string) error {
	return fmt.Errorf("%s holds a NUL character or is longer than %d bytes: %w", attr, store.MaxIndexedBytes, store.ErrInvalid)
}

// chunkSize keeps IN lists well below every backend's parameter limit.
const chunkSize = 500

func chunks(ids []string) [][]string {
	var out [][]string
	for len(ids) > chunkSize {
		out = append(out, ids[:chunkSize])
		ids = ids[chunkSize:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}

func anys(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// markDirty adds ids to the dirty set or bumps their generation, making them
// due at now. Attempts restart because the user changed. A pending entry's
// priority is raised to p, never lowered; next_priority collects the marks
// made since the entry was claimed.
func (s *Store) markDirty(ctx context.Context, q queryer, now time.Time, p store.Priority, ids ...string) error {
	for _, id := range store.DistinctIDs(ids) {
		if _, err := q.ExecContext(ctx, sqlMarkDirty, id, ts(now), int(p.Clamp())); err != nil {
			return fmt.Errorf("mark %s dirty: %w", id, err)
		}
	}
	return nil
}

// markEach marks each of ids with its priority in prio (PriorityNormal
// when absent).
func (s *Store) markEach(ctx context.Context, q queryer, now time.Time, prio map[string]store.Priority, ids []string) error {
	for _, id := range store.DistinctIDs(ids) {
		p, ok := prio[id]
		if !ok {
			p = store.PriorityNormal
		}
		if err := s.markDirty(ctx, q, now, p, id); err != nil {
			return err
		}
	}
	return nil
}

// setPending marks the (live) sync state of ids pending.
func (s *Store) setPending(ctx context.Context, q queryer, now time.Time, ids ...string) error {
	for _, id := range store.DistinctIDs(ids) {
		_, err := q.ExecContext(ctx, `UPDATE sync_info SET state = $2, updated = $3, version = version + 1 WHERE user_id = $1 AND tombstone = FALSE`,
			id, store.StatePending, ts(now))
		if err != nil {
			return fmt.Errorf("set %s pending: %w", id, err)
		}
	}
	return nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if s.w != s.r.db {
		// The writer's connections are the lanes': a write that does
		// nothing shows that they work.
		err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
			_, err := tx.ExecContext(ctx, `SELECT 1`)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: ping writer: %w", err)
		}
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.c.close()
	s.r.stmts.close()
	err := s.r.db.Close()
	if s.w != s.r.db {
		err = errors.Join(err, s.w.Close())
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Take counts one call in the rate window (name, start) if fewer than limit
// calls were counted there, and reports whether it did. Every process
// sharing the database shares the count. Windows of the same name that
// started before start are forgotten. limit <= 0 means unlimited: Take
// reports true without counting.
func (s *Store) Take(ctx context.Context, window string, start time.Time, limit int) (bool, error) {
	if limit <= 0 {
		return true, nil
	}
	var ok bool
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM budget WHERE window_name = $1 AND window_start < $2`, window, ts(start)); err != nil {
			return fmt.Errorf("expire windows: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO budget (window_name, window_start, used) VALUES ($1, $2, 0)
ON CONFLICT (window_name, window_start) DO NOTHING`, window, ts(start)); err != nil {
			return fmt.Errorf("open window: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE budget SET used = used + 1 WHERE window_name = $1 AND window_start = $2 AND used < $3`,
			window, ts(start), limit)
		if err != nil {
			return fmt.Errorf("count call: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("count call: %w", err)
		}
		ok = n == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: take budget %s: %w", window, err)
	}
	return ok, nil
}

// Used returns how many calls Take counted in the rate window (name,
// start), without counting one: what the budget asks before it commits a
// call.
func (s *Store) Used(ctx context.Context, window string, start time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(used), 0) FROM budget WHERE window_name = $1 AND window_start = $2`,
		window, ts(start)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: budget used %s: %w", window, err)
	}
	return n, nil
}
