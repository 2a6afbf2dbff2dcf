package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Group commit: every write transaction of the store goes through a
// committer, whose lanes each take the writes waiting, run them one after
// the other in one database transaction, each inside a savepoint, and
// commit once for all of them. On SQLite that is one fsync for many
// requests instead of one each. A write that fails is rolled back to its
// savepoint and fails alone, with its own error; the others commit. Each
// caller is answered only once its write is committed (or has failed), so
// what a caller was told is stored survives a crash, and what it was told
// failed is not stored.

// GroupCommit configures how writes are batched.
type GroupCommit struct {
	// Lanes is how many batches are run and committed at once, each on a
	// connection of its own: 1 where the database has a single writer
	// (SQLite); several on PostgreSQL, whose writers wait only for the rows
	// they share.
	Lanes int
	// MaxBatch bounds the writes of one transaction (default 128).
	MaxBatch int
	// Linger is how long a lane that found fewer than MaxBatch writes
	// waiting waits for more before it begins; 0 takes what is waiting.
	// Writes arriving while a batch commits wait for the next one either
	// way, so under load batches form without it.
	Linger time.Duration
}

const defaultMaxBatch = 128

// job is one write transaction's function, waiting for its batch.
type job struct {
	ctx      context.Context
	fn       func(ctx context.Context, tx *wtx) error
	err      error
	attempts int
	done     chan struct{}
	// then, for a write no caller waits for, is told its outcome.
	then func(error)
}

func (j *job) finish(err error) {
	j.err = err
	close(j.done)
	if j.then != nil {
		j.then(err)
	}
}

// panicked carries a panic raised by a write's function back to its
// caller's goroutine, where it is raised again.
type panicked struct {
	value any
	stack []byte
}

func (p *panicked) Error() string { return fmt.Sprintf("panic in a store write: %v", p.value) }

// errStoreClosed answers writes that arrive after Close.
var errStoreClosed = errors.New("sqlstore: store closed")

// committer batches the store's write transactions.
type committer struct {
	s        *Store
	queue    chan *job
	maxBatch int
	linger   time.Duration
	// ctx is the context of the lanes' statements: a write's own context
	// only decides whether it starts, never interrupts a statement of a
	// transaction that others share.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.RWMutex // held for reading while a write is queued
	closed bool
	lanes  sync.WaitGroup

	batches atomic.Int64 // transactions committed
	writes  atomic.Int64 // writes committed
}

func newCommitter(s *Store, c GroupCommit) *committer {
	if c.Lanes <= 0 {
		c.Lanes = 1
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = defaultMaxBatch
	}
	ctx, cancel := context.WithCancel(context.Background())
	cm := &committer{
		s: s, queue: make(chan *job, c.Lanes*c.MaxBatch), maxBatch: c.MaxBatch, linger: c.Linger,
		ctx: ctx, cancel: cancel,
	}
	for range c.Lanes {
		cm.lanes.Add(1)
		l := &lane{c: cm}
		go l.loop()
	}
	return cm
}

// submit runs fn in a batch and returns its outcome once the batch has
// committed. A write whose ctx ends while it waits to start is not run;
// once started, it is answered with its outcome, whatever ctx does.
func (c *committer) submit(ctx context.Context, fn func(context.Context, *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &job{ctx: ctx, fn: fn, done: make(chan struct{})}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errStoreClosed
	}
	select {
	case c.queue <- j:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()
	<-j.done
	var p *panicked
	if errors.As(j.err, &p) {
		panic(fmt.Sprintf("%v\n\npanicked in a store write:\n%s", p.value, p.stack))
	}
	return j.err
}

// submitLater queues fn for a batch without waiting for it; then is told
// its outcome once the batch has committed (or failed), from the lane's
// goroutine. A full queue makes it wait for room.
func (c *committer) submitLater(fn func(context.Context, *wtx) error, then func(error)) {
	j := &job{ctx: context.Background(), fn: fn, done: make(chan struct{}), then: then}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		then(errStoreClosed)
		return
	}
	c.queue <- j
}

// close lets the lanes finish every queued write, then stops them.
func (c *committer) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.queue)
	c.mu.Unlock()
	c.lanes.Wait()
	c.cancel()
}

// retryable reports whether a write that failed with err may run again in
// a later transaction: nothing of it was committed.
func (c *committer) retryable(err error) bool {
	var b *brokenBatch
	return errors.As(err, &b) || errors.Is(err, errCASLost) || c.s.d.IsRetryable(err)
}

// lane runs batches on a connection of its own, with the statements it
// prepared on it.
type lane struct {
	c     *committer
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

// loop takes the waiting writes, runs them as one transaction, and again.
func (l *lane) loop() {
	c := l.c
	defer c.lanes.Done()
	defer l.drop(false)
	var retry []*job
	batch := make([]*job, 0, c.maxBatch)
	for {
		if len(retry) > 0 {
			// A write that must run again runs alone: what made it fail
			// (a lock another transaction held, a deadlock, a batch that
			// broke) holds up no other write, and alone it waits for
			// locks as long as it must.
			j := retry[0]
			retry = l.run([]*job{j}, retry[1:])
			continue
		}
		j, ok := <-c.queue
		if !ok {
			return
		}
		batch = l.gather(append(batch[:0], j))
		retry = l.run(batch, retry)
	}
}

// gather adds the writes already waiting to batch, up to maxBatch, and
// with a linger waits that long for more.
func (l *lane) gather(batch []*job) []*job {
	c := l.c
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for len(batch) < c.maxBatch {
		select {
		case j, ok := <-c.queue:
			if !ok {
				return batch
			}
			batch = append(batch, j)
			continue
		default:
		}
		if c.linger <= 0 {
			return batch
		}
		if timer == nil {
			timer = time.NewTimer(c.linger)
		}
		select {
		case j, ok := <-c.queue:
			if !ok {
				return batch
			}
			batch = append(batch, j)
		case <-timer.C:
			return batch
		}
	}
	return batch
}

// connect takes a connection for the lane if it has none.
func (l *lane) connect() error {
	if l.conn != nil {
		return nil
	}
	conn, err := l.c.s.w.Conn(l.c.ctx)
	if err != nil {
		return err
	}
	l.conn, l.stmts = conn, map[string]*sql.Stmt{}
	return nil
}

// drop gives the lane's connection up. A connection whose state is in
// doubt (broken) is discarded rather than returned to the pool: it may
// still be inside a transaction.
func (l *lane) drop(broken bool) {
	if l.conn == nil {
		return
	}
	for _, st := range l.stmts {
		_ = st.Close()
	}
	if broken {
		_ = l.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = l.conn.Close()
	l.conn, l.stmts = nil, nil
}

// stmt returns query prepared on the lane's connection, or nil when it is
// not kept (see stmtCache).
func (l *lane) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := l.stmts[query]; ok {
		return st
	}
	if strings.Count(query, "$") > maxCachedParams || len(l.stmts) >= maxCachedStmts {
		return nil
	}
	st, err := l.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil // run unprepared: the error, if it is one, shows there
	}
	l.stmts[query] = st
	return st
}

// control runs a transaction control statement.
func (l *lane) control(stmt string) error {
	_, err := l.conn.ExecContext(l.c.ctx, stmt)
	return err
}

// savepoint runs a savepoint statement, prepared where the dialect says.
func (l *lane) savepoint(stmt string) error {
	if l.c.s.d.PrepareSavepoints {
		if st := l.stmt(l.c.ctx, stmt); st != nil {
			_, err := st.ExecContext(l.c.ctx)
			return err
		}
	}
	return l.control(stmt)
}

// again queues j for the lane's next batch when it may run again, and
// otherwise answers it with err.
func (l *lane) again(j *job, err error, retry []*job) []*job {
	j.attempts++
	if l.c.retryable(err) && j.attempts < maxAttempts {
		l.c.s.log.Debug("retrying store write", zap.Int("attempt", j.attempts), zap.Error(err))
		return append(retry, j)
	}
	var b *brokenBatch
	if errors.As(err, &b) {
		err = b.err
	}
	j.finish(err)
	return retry
}

// call runs j's function, turning a panic into an error.
func (l *lane) call(j *job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicked{value: p, stack: debug.Stack()}
		}
	}()
	return j.fn(l.c.ctx, &wtx{l: l})
}

// run runs batch as one transaction and answers each write, or returns it
// in retry when it must run again. The writes run first without
// savepoints: most batches hold no failing write, and a savepoint copies
// every page a write changes. When one fails, the transaction is rolled
// back, the failing write is answered with its error, and the others run
// again, each inside a savepoint, so that any further failure is undone
// alone.
func (l *lane) run(batch []*job, retry []*job) []*job {
	live := batch[:0]
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.finish(err) // not started: nothing of it is written
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return retry
	}
	rerun, retry := l.exec(live, false, retry)
	if len(rerun) > 0 {
		_, retry = l.exec(rerun, true, retry)
	}
	return retry
}

// exec runs live in one transaction, with a savepoint around each write
// or without. Without, a failing write rolls everything back and the
// writes other than it are returned in rerun.
func (l *lane) exec(live []*job, savepoints bool, retry []*job) (rerun, _ []*job) {
	c := l.c
	if err := l.connect(); err != nil {
		return nil, l.abandon(fmt.Errorf("connect: %w", err), nil, live, retry)
	}
	if err := l.control(c.s.d.begin()); err != nil {
		if c.s.d.IsRetryable(err) {
			// Busy: another process writes. The connection is fine.
			for _, j := range live {
				retry = l.again(j, fmt.Errorf("begin: %w", err), retry)
			}
			return nil, retry
		}
		return nil, l.abandon(fmt.Errorf("begin: %w", err), nil, live, retry)
	}
	if len(live) > 1 && c.s.d.BatchLockTimeout != "" {
		// A write of a batch that waits for a row lock holds up the others;
		// past this wait it runs again, alone.
		if err := l.control(c.s.d.BatchLockTimeout); err != nil {
			return nil, l.abandon(fmt.Errorf("lock timeout: %w", err), nil, live, retry)
		}
	}
	ok := make([]*job, 0, len(live))
	for i, j := range live {
		if savepoints {
			if err := l.savepoint(`SAVEPOINT gc`); err != nil {
				return nil, l.abandon(fmt.Errorf("savepoint: %w", err), ok, live[i:], retry)
			}
		}
		err := l.call(j)
		if err == nil {
			if savepoints {
				if err := l.savepoint(`RELEASE SAVEPOINT gc`); err != nil {
					return nil, l.abandon(fmt.Errorf("release savepoint: %w", err), ok, live[i:], retry)
				}
			}
			ok = append(ok, j)
			continue
		}
		if !savepoints {
			if rbErr := l.control(`ROLLBACK`); rbErr != nil {
				l.drop(true)
			}
			retry = l.again(j, err, retry)
			return append(ok, live[i+1:]...), retry
		}
		rbErr := l.savepoint(`ROLLBACK TO SAVEPOINT gc`)
		if rbErr == nil {
			rbErr = l.savepoint(`RELEASE SAVEPOINT gc`)
		}
		retry = l.again(j, err, retry)
		if rbErr != nil {
			// The database rolled the whole transaction back (SQLite does
			// on I/O errors and a full disk), or the connection broke:
			// what ran before is not stored either, and runs again.
			return nil, l.abandon(fmt.Errorf("roll back to savepoint: %w", rbErr), ok, live[i+1:], retry)
		}
	}
	if len(ok) == 0 {
		if err := l.control(`ROLLBACK`); err != nil {
			l.drop(true)
		}
		return nil, retry
	}
	if err := l.control(`COMMIT`); err != nil {
		// Whether a failed COMMIT stored anything is not known unless the
		// database says it may be retried: only then do the writes run
		// again.
		_ = l.control(`ROLLBACK`)
		l.drop(true)
		err = fmt.Errorf("commit: %w", err)
		for _, j := range ok {
			retry = l.again(j, err, retry)
		}
		return nil, retry
	}
	c.batches.Add(1)
	c.writes.Add(int64(len(ok)))
	for _, j := range ok {
		j.finish(nil)
	}
	return nil, retry
}

// abandon rolls a batch's transaction back after it broke, and drops the
// connection: the writes that ran in it (done) and those that had not run
// yet (rest) run again in a new one, the error counting as an attempt of
// each.
func (l *lane) abandon(err error, done, rest []*job, retry []*job) []*job {
	if l.conn != nil {
		_ = l.control(`ROLLBACK`)
	}
	l.drop(true)
	for _, j := range done {
		retry = l.again(j, &brokenBatch{err}, retry)
	}
	for _, j := range rest {
		retry = l.again(j, &brokenBatch{err}, retry)
	}
	return retry
}

// brokenBatch is the error of a write whose batch was rolled back through
// no fault of its own: it may run again.
type brokenBatch struct{ err error }

func (b *brokenBatch) Error() string { return "batch rolled back: " + b.err.Error() }
func (b *brokenBatch) Unwrap() error { return b.err }

// GroupCommitStats implements store.GroupCommitter.
func (s *Store) GroupCommitStats() (commits, writes int64) {
	return s.c.batches.Load(), s.c.writes.Load()
}

// wtx is the transaction a write runs in: the lane's connection, inside
// the batch's transaction. Its statements are prepared once per
// connection and reused.
type wtx struct {
	l *lane
}

func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.l.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.l.conn.ExecContext(ctx, query, args...)
}

func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.l.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.l.conn.QueryContext(ctx, query, args...)
}

func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.l.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.l.conn.QueryRowContext(ctx, query, args...)
}

// reader runs the reads outside transactions, with prepared statements.
type reader struct {
	db    *sql.DB
	stmts *stmtCache
}

func (r *reader) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := r.stmts.get(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return r.db.ExecContext(ctx, query, args...)
}

func (r *reader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := r.stmts.get(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.db.QueryContext(ctx, query, args...)
}

func (r *reader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := r.stmts.get(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.db.QueryRowContext(ctx, query, args...)
}

// stmtCache prepares a statement the first time it runs and keeps it:
// database/sql then prepares it once on each connection and reuses it,
// instead of parsing and planning the SQL on every call (most of a short
// SQLite statement's cost). Statements with many parameters — IN lists of
// a page's ids, whose lengths vary — are not kept: there are many of them
// and each runs once per page.
type stmtCache struct {
	db *sql.DB
	m  sync.Map // query → *sql.Stmt
	n  atomic.Int32
}

const (
	// maxCachedParams: statements with more parameters are not kept.
	maxCachedParams = 16
	// maxCachedStmts bounds the statements kept per database handle.
	maxCachedStmts = 256
)

func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if v, ok := c.m.Load(query); ok {
		return v.(*sql.Stmt)
	}
	if strings.Count(query, "$") > maxCachedParams || c.n.Load() >= maxCachedStmts {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // run unprepared: the error, if it is one, shows there
	}
	if v, loaded := c.m.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return v.(*sql.Stmt)
	}
	c.n.Add(1)
	return st
}

// close closes the kept statements.
func (c *stmtCache) close() {
	c.m.Range(func(k, v any) bool {
		_ = v.(*sql.Stmt).Close()
		c.m.Delete(k)
		return true
	})
}
