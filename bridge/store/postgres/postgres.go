package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"go.uber.org/zap"

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
	// time.Now when nil. Replicas sharing a database should have synchronised
	// clocks: leases and due times compare their clocks.
	Now func() time.Time
	// MaxConns caps the connection pool; 10 when zero.
	MaxConns int
	// StatementTimeout is set as the session's statement_timeout; 10s when
	// zero, none when negative.
	StatementTimeout time.Duration
}

// Store is the PostgreSQL store. It implements store.Store, plus Take (a
// rate budget counter shared by every replica) and TryLock (run-once jobs
// across replicas).
type Store struct {
	*sqlstore.Store
	db *sql.DB

	mu   sync.Mutex
	held map[int64]func() // locks taken by TryLock, by key, released by Close
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string; search_path and other run-time parameters may be set in
// it) and applies pending schema migrations, one replica at a time.
//
// The store uses database/sql over pgx's stdlib driver rather than pgxpool
// so that it shares its statements, and so its behaviour, with the SQLite
// backend; pgx still speaks the protocol and caches prepared statements.
// database/sql redials by itself, so the store recovers when the database
// comes back after an outage.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if dsn == "" {
		return nil, errors.New("postgres: empty DSN")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 10
	}
	if opts.StatementTimeout == 0 {
		opts.StatementTimeout = 10 * time.Second
	}
	log := opts.Logger.Named("store")
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN, password included.
		return nil, errors.New("postgres: invalid DSN")
	}
	if opts.StatementTimeout > 0 {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	}
	db := stdlib.OpenDB(*cfg)
	lanes := writeLanes(opts.MaxConns)
	// The lanes keep their connections; reads need at least one more.
	conns := max(opts.MaxConns, lanes+1)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, db, opts.Now, log); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	inner, err := sqlstore.New(sqlstore.Config{
		Reader:      db,
		Writer:      db,
		Dialect:     dialect(),
		Now:         opts.Now,
		Logger:      log,
		GroupCommit: sqlstore.GroupCommit{Lanes: lanes},
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Store{Store: inner, db: db, held: map[int64]func(){}}, nil
}

// writeLanes is how many batches of writes are committed at once (see
// sqlstore.GroupCommit) from a pool of maxConns connections: a third of
// them, between 1 and 4. Each lane keeps one connection; writers on
// PostgreSQL wait only for the rows they share, so several lanes commit
// side by side, and batches of many writes each keep the round trips and
// commits per request few.
func writeLanes(maxConns int) int {
	return min(max(maxConns/3, 1), 4)
}

// lockKey maps a lock name to an advisory lock key. Names are prefixed so
// the bridge's keys do not collide with another application's on the same
// database by accident.
func lockKey(name string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("scim-bridge:" + name))
	return int64(h.Sum64())
}

var migrationLock = lockKey("schema-migrations")

// dialect is PostgreSQL's: concurrent writers queue on the rows they
// change, and concurrent claimers skip each other's rows.
func dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		LockRow: " FOR UPDATE",
		// Lanes commit side by side: a write waiting for a row another
		// lane's batch holds gives up after this and runs alone, so two
		// batches that wait for each other resolve at once rather than
		// after PostgreSQL's deadlock_timeout.
		BatchLockTimeout: "SET LOCAL lock_timeout = '50ms'",
		SkipLocked:       " FOR UPDATE SKIP LOCKED",
		IsUnique:         isUnique,
		IsRetryable:      isRetryable,
		JSONText:         jsonText,
		TxFailed:         txFailed,
		TxID:             `SELECT txid_current()`,
		TxCommitted:      txCommitted,
		GroupRefsJSON: func(user string) string {
			return `(SELECT COALESCE(json_agg(json_build_array(g.id, g.display_name, g.external_id) ORDER BY g.seq), '[]')::text
FROM group_members m JOIN scim_groups g ON g.id = m.group_id WHERE m.user_id = ` + user + `)`
		},
	}
}

// txCommitted asks PostgreSQL what became of the transaction of id
// (txid_current()): known is false while it is in progress (the session
// whose connection broke may still be finishing it) or too old to tell.
func txCommitted(ctx context.Context, conn *sql.Conn, id int64) (committed, known bool, err error) {
	var status sql.NullString
	if err := conn.QueryRowContext(ctx, `SELECT txid_status($1)`, id).Scan(&status); err != nil {
		return false, false, fmt.Errorf("postgres: transaction status: %w", err)
	}
	switch status.String {
	case "committed":
		return true, true, nil
	case "aborted":
		return false, true, nil
	}
	return false, false, nil
}

// txFailed reports whether conn is inside a transaction PostgreSQL has
// aborted (an error was raised and not rolled back to a savepoint).
func txFailed(conn *sql.Conn) (bool, error) {
	var failed bool
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres: driver connection is %T, not pgx's", dc)
		}
		failed = c.Conn().PgConn().TxStatus() == 'E'
		return nil
	})
	return failed, err
}

// jsonText reads a top-level key of a JSON document stored as text.
func jsonText(column, key string) string {
	return "(" + column + "::jsonb ->> '" + key + "')"
}

// migrate applies the migrations under a session advisory lock, so replicas
// starting together migrate one after the other.
func migrate(ctx context.Context, db *sql.DB, now func() time.Time, log *zap.Logger) error {
	return sqlstore.MigrateDir(ctx, db, migrationFiles, "migrations", now, log, func(ctx context.Context, conn *sql.Conn) (func(), error) {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
			return nil, fmt.Errorf("take migration lock: %w", err)
		}
		return func() {
			// A fresh context: the lock must go even when ctx is done.
			// Closing the session would release it too.
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, migrationLock); err != nil {
				log.Warn("releasing the migration lock failed", zap.Error(err))
			}
		}, nil
	})
}

func isUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// isRetryable: serialization failures, deadlocks and a lock wait past
// lock_timeout mean "run the transaction again".
func isRetryable(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && (e.Code == "40001" || e.Code == "40P01" || e.Code == "55P03")
}

// TryLock takes the named session advisory lock if no session holds it and
// returns the function that releases it. The lock is held by a dedicated
// connection, so it is released as well when this process dies or loses its
// connection: another replica then takes over the job.
func (s *Store) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	key := lockKey(name)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: lock %s: %w", name, err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		_ = conn.Close()
		return nil, false, fmt.Errorf("postgres: lock %s: %w", name, err)
	}
	if !ok {
		_ = conn.Close()
		return nil, false, nil
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.held, key)
			s.mu.Unlock()
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
				// Dropping the connection releases the lock instead.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			_ = conn.Close()
		})
	}
	s.mu.Lock()
	s.held[key] = release
	s.mu.Unlock()
	return release, true, nil
}

// Close releases the locks still held through TryLock, then the pool.
func (s *Store) Close() error {
	s.mu.Lock()
	held := make([]func(), 0, len(s.held))
	for _, release := range s.held {
		held = append(held, release)
	}
	s.mu.Unlock()
	for _, release := range held {
		release()
	}
	return s.Store.Close()
}
