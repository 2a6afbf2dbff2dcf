package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"time"

	"go.uber.org/zap"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options configures Open.
type Options struct {
	// Logger receives migration and retry messages; nil logs nothing.
	Logger *zap.Logger
	// Now is the clock for Created/Modified, dirty marks and sync updates;
	// time.Now when nil.
	Now func() time.Time
	// BusyTimeout is how long a statement waits for a lock held by another
	// process on the same file; 10s when zero.
	BusyTimeout time.Duration
}

// Store is the SQLite store. It implements store.Store, plus Take (a rate
// budget counter) and TryLock (run-once jobs within this process).
type Store struct {
	*sqlstore.Store

	locks store.ProcessLocks
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and applies
// pending schema migrations. All writes go through one connection
// (BEGIN IMMEDIATE), reads through a small pool that WAL lets run beside the
// writer. Concurrent writes are committed together, one transaction and
// one fsync for a batch (group commit, see sqlstore.GroupCommit), and
// every commit is synced to disk (synchronous=FULL): what was acknowledged
// survives a crash of the process and of the machine.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	log := opts.Logger.Named("store")
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Statement and savepoint journals in memory: every write of a batch
	// runs inside a savepoint (group commit), whose journal would
	// otherwise be a temporary file written page by page.
	q.Add("_pragma", "temp_store(2)")
	w, err := sql.Open("sqlite", path+"?"+q.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The single writer connection serialises migrations within this
	// process, BEGIN IMMEDIATE across processes.
	if err := sqlstore.MigrateDir(ctx, w, migrationFiles, "migrations", opts.Now, log, nil); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	q.Add("_pragma", "query_only(1)")
	q.Add("_pragma", "cache_size(-1024)")
	r, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readers := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	inner, err := sqlstore.New(sqlstore.Config{
		Reader:  r,
		Writer:  w,
		Dialect: dialect(),
		Now:     opts.Now,
		Logger:  log,
		// One lane: SQLite has one writer.
		GroupCommit: sqlstore.GroupCommit{Lanes: 1},
	})
	if err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return &Store{Store: inner}, nil
}

// dialect is SQLite's: one writer, so no row locks.
func dialect() sqlstore.Dialect {
	return sqlstore.Dialect{IsUnique: isUnique, IsRetryable: isRetryable, JSONText: jsonText, Begin: "BEGIN IMMEDIATE",
		PrepareWrites: true, Uninterruptible: true, GroupRefsJSON: groupRefsJSON, ConstraintKeepsTx: true}
}

// groupRefsJSON aggregates a user's groups with JSON1's json_group_array,
// which keeps the order of the rows it is given.
func groupRefsJSON(user string) string {
	return `(SELECT json_group_array(json_array(x.id, x.display_name, x.external_id)) FROM
(SELECT g.id, g.display_name, g.external_id FROM group_members m JOIN scim_groups g ON g.id = m.group_id
WHERE m.user_id = ` + user + ` ORDER BY g.seq) x)`
}

// jsonText reads a top-level key of a JSON text column (JSON1, built in).
func jsonText(column, key string) string {
	return "json_extract(" + column + ", '$." + key + "')"
}

func isUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isRetryable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// TryLock takes the named lock if it is free and returns the function that
// releases it. SQLite serves one process, so the lock is held in memory: it
// keeps two runs of one periodic job in this process from overlapping.
func (s *Store) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: lock %s: %w", name, err)
	}
	unlock, ok = s.locks.TryLock(name)
	return unlock, ok, nil
}
