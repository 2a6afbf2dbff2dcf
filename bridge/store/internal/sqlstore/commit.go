package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
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
// savepoint and fails alone, with its own error; the others commit. A
// caller whose write succeeded is answered once the batch has committed;
// one whose write failed after others of its batch ran, once they have
// committed (its failure may rest on them; it runs again when they do
// not). What a caller was told is stored survives a crash, and what it
// was told failed is not stored. A batch runs without savepoints until a
// write fails; a write that refuses before changing anything (unwritten)
// is not a failure that rolls it back.

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
	// TxTimeout bounds one transaction of a lane, from connecting to
	// COMMIT (default 1m): a connection that hangs (a half-open TCP
	// connection, a database that stopped answering) fails the batch,
	// whose writes run again on a new connection, instead of holding up
	// every write queued behind it.
	TxTimeout time.Duration
}

const (
	defaultMaxBatch  = 128
	defaultTxTimeout = time.Minute
)

// A job's state: queued until a lane starts it, or cancelled by its
// caller before that. A started job is answered with its outcome.
const (
	jobQueued int32 = iota
	jobStarted
	jobCancelled
)

// job is one write transaction's function, waiting for its batch.
type job struct {
	ctx      context.Context
	fn       func(ctx context.Context, tx *wtx) error
	err      error
	attempts int
	state    atomic.Int32
	done     chan struct{}
	// then, for a write no caller waits for, is told its outcome.
	then func(error)
}

// start marks j started unless its caller has given up on it (or its ctx
// has ended), and reports whether it may run. A job that runs again after
// a rollback stays started: nothing of it was stored, so it too stops
// here when its ctx has ended.
func (j *job) start() bool {
	if j.ctx.Err() != nil {
		j.state.CompareAndSwap(jobQueued, jobCancelled)
		return false
	}
	return j.state.CompareAndSwap(jobQueued, jobStarted) || j.state.Load() == jobStarted
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
	s         *Store
	queue     chan *job
	maxBatch  int
	linger    time.Duration
	txTimeout time.Duration
	// ctx is the context of the lanes' transactions (each bounded by
	// txTimeout): a write's own context only decides whether it starts,
	// never interrupts a statement of a transaction that others share.
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
	if c.TxTimeout <= 0 {
		c.TxTimeout = defaultTxTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	cm := &committer{
		s: s, queue: make(chan *job, c.Lanes*c.MaxBatch), maxBatch: c.MaxBatch, linger: c.Linger,
		txTimeout: c.TxTimeout, ctx: ctx, cancel: cancel,
	}
	for range c.Lanes {
		cm.lanes.Add(1)
		l := &lane{c: cm, ctx: ctx}
		go l.loop()
	}
	return cm
}

// submit runs fn in a batch and returns its outcome once the batch has
// committed. A write whose ctx ends while it waits to start is not run,
// and submit returns at once; once started, it is answered with its
// outcome, whatever ctx does.
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
	select {
	case <-j.done:
	case <-ctx.Done():
		if j.state.CompareAndSwap(jobQueued, jobCancelled) {
			return ctx.Err()
		}
		<-j.done // started: its outcome is on its way
	}
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
	// ctx is the context of the transaction being run (c.ctx between
	// transactions).
	ctx context.Context
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
	conn, err := l.c.s.w.Conn(l.ctx)
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
// not kept (see stmtCache and Dialect.PrepareWrites).
func (l *lane) stmt(ctx context.Context, query string) *sql.Stmt {
	if !l.c.s.d.PrepareWrites {
		return nil
	}
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

// stmtCtx is the context a statement of the lane's transaction runs
// with: ctx, without its cancellation where the dialect says
// (Dialect.Uninterruptible).
func (l *lane) stmtCtx(ctx context.Context) context.Context {
	if l.c.s.d.Uninterruptible {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// control runs a transaction control statement.
func (l *lane) control(stmt string) error {
	_, err := l.conn.ExecContext(l.stmtCtx(l.ctx), stmt)
	return err
}

// savepoint runs a savepoint statement, prepared where the dialect says.
func (l *lane) savepoint(stmt string) error {
	if st := l.stmt(l.ctx, stmt); st != nil {
		_, err := st.ExecContext(l.stmtCtx(l.ctx))
		return err
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
	return j.fn(l.ctx, &wtx{l: l})
}

// run runs batch as one transaction and answers each write, or returns it
// in retry when it must run again. The writes run first without
// savepoints: most batches hold no failing write, and a savepoint copies
// every page a write changes. When one fails, the transaction is rolled
// back and all of them run again, each inside a savepoint, so that a
// failure is undone alone. A failing write's error may come from the
// writes before it in the batch (a userName another write of the batch
// took), so it is answered only once the batch has committed; if the
// batch does not commit, it runs again.
func (l *lane) run(batch []*job, retry []*job) []*job {
	live := batch[:0]
	for _, j := range batch {
		if !j.start() {
			j.finish(j.ctx.Err()) // nothing of it is written
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
// writes are returned in rerun (all of them, in their order, unless the
// failure was one that runs again alone).
func (l *lane) exec(live []*job, savepoints bool, retry []*job) (rerun, _ []*job) {
	c := l.c
	ctx, cancel := context.WithTimeout(c.ctx, c.txTimeout)
	l.ctx = ctx
	defer func() {
		cancel()
		l.ctx = c.ctx
	}()
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
	txid := int64(-1)
	if c.s.d.TxID != "" {
		if err := l.conn.QueryRowContext(l.stmtCtx(ctx), c.s.d.TxID).Scan(&txid); err != nil {
			return nil, l.abandon(fmt.Errorf("transaction id: %w", err), nil, live, retry)
		}
	}
	if len(live) > 1 && c.s.d.BatchLockTimeout != "" {
		// A write of a batch that waits for a row lock holds up the others;
		// past this wait it runs again, alone.
		if err := l.control(c.s.d.BatchLockTimeout); err != nil {
			return nil, l.abandon(fmt.Errorf("lock timeout: %w", err), nil, live, retry)
		}
	}
	// ran holds the writes that ran in the transaction: those that
	// succeeded (ok) and, after them, those that failed, whose errors are
	// in failed, in the same order.
	ran := make([]*job, 0, len(live))
	ok := 0
	var failed []error
	for i, j := range live {
		if savepoints {
			if err := l.savepoint(`SAVEPOINT gc`); err != nil {
				return nil, l.abandon(fmt.Errorf("savepoint: %w", err), ran, live[i:], retry)
			}
		}
		err := l.call(j)
		var uw *unwritten
		clean := errors.As(err, &uw)
		if clean {
			err = uw.err
		}
		if err != nil && ctx.Err() != nil {
			// The transaction outlived TxTimeout: its connection is in
			// doubt, and the write failed for it, not for itself.
			return nil, l.abandon(fmt.Errorf("transaction: %w", ctx.Err()), ran, live[i:], retry)
		}
		if err == nil {
			if savepoints {
				if err := l.savepoint(`RELEASE SAVEPOINT gc`); err != nil {
					return nil, l.abandon(fmt.Errorf("release savepoint: %w", err), ran, live[i:], retry)
				}
			}
			ran = slices.Insert(ran, ok, j)
			ok++
			continue
		}
		if !savepoints {
			if clean && !c.retryable(err) {
				// The transaction is as it was before the write: the
				// others go on, and it is answered once they commit.
				ran = append(ran, j)
				failed = append(failed, err)
				continue
			}
			if rbErr := l.control(`ROLLBACK`); rbErr != nil {
				l.drop(true)
			}
			if c.retryable(err) {
				retry = l.again(j, err, retry)
				return append(ran, live[i+1:]...), retry
			}
			if i == 0 {
				// Nothing ran before it: its error came from the stored
				// state alone.
				j.finish(err)
				return live[1:], retry
			}
			return live, retry
		}
		rbErr := l.savepoint(`ROLLBACK TO SAVEPOINT gc`)
		if rbErr == nil {
			rbErr = l.savepoint(`RELEASE SAVEPOINT gc`)
		}
		if c.retryable(err) {
			retry = l.again(j, err, retry)
		} else {
			ran = append(ran, j)
			failed = append(failed, err)
		}
		if rbErr != nil {
			// The database rolled the whole transaction back (SQLite does
			// on I/O errors and a full disk), or the connection broke:
			// what ran before is not stored either, and runs again.
			return nil, l.abandon(fmt.Errorf("roll back to savepoint: %w", rbErr), ran, live[i+1:], retry)
		}
	}
	if ok == 0 {
		// Nothing to commit: each failure came from the stored state
		// alone.
		if err := l.control(`ROLLBACK`); err != nil {
			l.drop(true)
		}
		for k, j := range ran {
			j.finish(failed[k])
		}
		return nil, retry
	}
	if c.s.d.TxFailed != nil {
		aborted, err := c.s.d.TxFailed(l.conn)
		if err == nil && aborted {
			err = errors.New("the database aborted the transaction")
		}
		if err != nil {
			return nil, l.abandon(fmt.Errorf("before commit: %w", err), ran, nil, retry)
		}
	}
	if err := l.control(`COMMIT`); err != nil {
		// Whether a failed COMMIT stored anything is not known unless the
		// database says it may be retried, or, once the connection broke
		// without an answer, says what became of the transaction
		// (commitOutcome). Writes that may be stored are answered with
		// the error; the others run again, the refused writes too: their
		// errors may have come from the others.
		_ = l.control(`ROLLBACK`)
		l.drop(true)
		err = fmt.Errorf("commit: %w", err)
		if !c.retryable(err) && txid >= 0 && c.s.d.TxCommitted != nil {
			if committed, known := l.commitOutcome(txid, err); known && committed {
				l.acknowledge(ran, ok, failed)
				return nil, retry
			} else if known {
				err = &brokenBatch{err}
			}
		}
		for _, j := range ran[:ok] {
			retry = l.again(j, err, retry)
		}
		for _, j := range ran[ok:] {
			retry = l.again(j, &brokenBatch{err}, retry)
		}
		return nil, retry
	}
	l.acknowledge(ran, ok, failed)
	return nil, retry
}

// acknowledge answers the writes of a committed batch: ran[:ok] stored,
// the others with their errors, failed.
func (l *lane) acknowledge(ran []*job, ok int, failed []error) {
	l.c.batches.Add(1)
	l.c.writes.Add(int64(ok))
	for _, j := range ran[:ok] {
		j.finish(nil)
	}
	for k, j := range ran[ok:] {
		j.finish(failed[k])
	}
}

// commitOutcome asks the database, on a connection of its own, whether the
// transaction of id, whose COMMIT failed with cause, committed. While it
// cannot tell (the session of the broken connection may still be
// finishing it) it asks again, for at most the lane's TxTimeout. known is
// false when the answer did not come.
func (l *lane) commitOutcome(id int64, cause error) (committed, known bool) {
	c := l.c
	ctx, cancel := context.WithTimeout(c.ctx, c.txTimeout)
	defer cancel()
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		conn, err := c.s.w.Conn(ctx)
		if err == nil {
			committed, known, err = c.s.d.TxCommitted(ctx, conn, id)
			_ = conn.Close()
		}
		if err == nil && known {
			c.s.log.Warn("a COMMIT got no answer; the database says what became of it",
				zap.Bool("committed", committed), zap.NamedError("commit_error", cause))
			return committed, true
		}
		select {
		case <-ctx.Done():
			c.s.log.Error("a COMMIT got no answer, and the database did not say what became of it",
				zap.NamedError("commit_error", cause), zap.Error(err))
			return false, false
		case <-time.After(wait):
		}
	}
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

// unwritten is the error of a write that failed before it changed
// anything, leaving its transaction as it was: every statement it ran
// succeeded (it read, then its caller's function refused: a PATCH that
// changes nothing, a member that does not exist; or its update found the
// row at another version), or its one changing statement was refused by
// a constraint where the dialect undoes only that statement
// (ConstraintKeepsTx). The writes before it in its batch are not rolled
// back and run again, as they are after any other failure in a batch
// without savepoints. Like any failure it is answered once they commit,
// with the error it wraps.
type unwritten struct{ err error }

func (u *unwritten) Error() string { return u.err.Error() }
func (u *unwritten) Unwrap() error { return u.err }

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
	ctx = t.l.stmtCtx(ctx)
	if st := t.l.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.l.conn.ExecContext(ctx, query, args...)
}

func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = t.l.stmtCtx(ctx)
	if st := t.l.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.l.conn.QueryContext(ctx, query, args...)
}

func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = t.l.stmtCtx(ctx)
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
