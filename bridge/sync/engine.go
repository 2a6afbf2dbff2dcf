package sync

import (
	"context"
	"fmt"
	"math/rand/v2"
	stdsync "sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
)

// Upstream is the part of gainsight.Client the engine uses; the Gainsight
// client satisfies it. Batch methods get at most Options.BatchSize items and
// return one Result per item in input order, or a call-level error.
type Upstream interface {
	// Create creates users. Not idempotent: after a lost response the
	// engine looks the users up (adoption) before creating again.
	Create(ctx context.Context, records []gainsight.Record) ([]gainsight.Result, error)
	// Update changes the fields present in each record, keyed by Gsid;
	// permissionBundles overwrite. Idempotent.
	Update(ctx context.Context, records []gainsight.Record) ([]gainsight.Result, error)
	// SetStatus activates or deactivates users by GSID. Idempotent.
	SetStatus(ctx context.Context, gsids []string, active bool) ([]gainsight.Result, error)
	// Find returns every user matching any of the conditions. Read-only.
	Find(ctx context.Context, conds []gainsight.Condition) ([]gainsight.Record, error)
}

// Budget is the part of the Gainsight client's rate budget the engine
// asks before it claims work; the client satisfies it. An Upstream that
// implements it is used as the Budget when Options.Budget is nil.
type Budget interface {
	// NextSlot returns the earliest time, not before now, at which a call
	// could be sent, without spending one. urgent asks about calls that
	// may spend the share of the budget reserved for urgent work
	// (gainsight.WithUrgent): deactivations.
	NextSlot(ctx context.Context, now time.Time, urgent bool) (time.Time, error)
}

// Lister is an Upstream that can list the whole tenant a page at a time;
// the Gainsight client satisfies it in both dialects. With one the engine
// takes tenant snapshots (snapshot.go).
type Lister interface {
	// ListPage returns page number page (from 0) of a listing of every
	// user, with only fields (and Gsid), and the tenant's total (-1 when
	// unknown). A page shorter than ListPageSize is the last. Read-only.
	ListPage(ctx context.Context, fields []string, page int) ([]gainsight.Record, int, error)
	// ListPageSize is the number of users of a full page.
	ListPageSize() int
	// ListCost is the number of calls a listing of a tenant of total
	// users makes.
	ListCost(total int) int
	// FindCost is the number of calls one Find by user names or emails
	// makes in a tenant of total users.
	FindCost(total int) int
}

// Planner computes the Gainsight state a user should have from the user and
// its groups; translate.Mapper satisfies it. An error (a resolution
// conflict, an unmappable value) fails the user until it changes; the
// user's status still follows its SCIM active flag, so a user the IdP
// disabled is deactivated all the same.
type Planner interface {
	Plan(u store.User, groups []store.GroupRef) (translate.Plan, error)
}

// Explainer is a Planner that says where each value of a user's desired
// record comes from; translate.Mapper satisfies it. Shadow mode stores
// the sources with each planned field.
type Explainer interface {
	Explain(u store.User, groups []store.GroupRef) (translate.Explanation, error)
}

// Rollout is the part of the configuration that decides whether and how
// far the engine may write: read once per batch, so a reload applies on
// the next pass.
type Rollout struct {
	// Shadow: the engine plans every claimed user and stores the plan
	// (store.Rollout), and sends no write to Gainsight. Look-ups for
	// adoption are still made, from the rate budget. Back in live mode
	// the stored plans are released to the dirty set and synced.
	Shadow bool
	// Guard, when not nil, is the mass-deactivation guard's threshold:
	// deactivations beyond it are held until an operator approves them.
	Guard *store.GuardPolicy
}

// Engine drains the dirty set into Gainsight. Run, Kick and DrainOnce are
// safe for concurrent use; concurrent drains never process one user twice
// because entries are leased.
type Engine struct {
	opts    Options
	log     *zap.Logger
	metrics *metrics
	kick    chan struct{}

	mu             stdsync.Mutex
	superAdminSeen map[string]bool // users already reported as unpushed super admins
	// upstreamFailures counts consecutive Gainsight calls that failed as a
	// whole for a reason not of the records' own (server, network,
	// timeout, rate limit, auth); while now is before pausedUntil no new
	// batch is claimed, so an unavailable Gainsight costs a few calls an
	// hour instead of one per batch of the backlog.
	upstreamFailures int
	pausedUntil      time.Time
	// budgetUntil is the next call slot while the budget holds claims
	// back, to log the wait once.
	budgetUntil time.Time
	// tenantSize is the number of Gainsight users the last listing
	// reported (-1: unknown), which prices the next one.
	tenantSize int
	// snap is the snapshot the passes plan adoptions from (nil: none
	// fresh); listing is the listing under way that will replace it.
	snap    *snapshotView
	listing *listing
	// requeued is set when a pass marks users dirty itself (requeue).
	requeued atomic.Bool
}

// New validates opts, applies defaults and registers the engine's metrics.
func New(opts Options) (*Engine, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("sync: invalid options: %w", err)
	}
	opts.applyDefaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("sync: register metrics: %w", err)
	}
	return &Engine{
		opts:           opts,
		log:            opts.Logger.Named("sync"),
		metrics:        m,
		kick:           make(chan struct{}, 1),
		superAdminSeen: map[string]bool{},
		tenantSize:     -1,
	}, nil
}

// Kick asks Run to drain soon (after BatchWindow). It never blocks; kicks
// that arrive while one is pending are merged.
func (e *Engine) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Run drains the dirty set at start, after every Kick (once BatchWindow has
// passed) and every PollInterval, until ctx is done, and refreshes the
// backlog gauges every GaugeInterval meanwhile. It returns nil when ctx
// ends; errors of a pass are logged and the pass is tried again later.
func (e *Engine) Run(ctx context.Context) error {
	gauges := make(chan struct{})
	go func() {
		defer close(gauges)
		e.watchGauges(ctx)
	}()
	defer func() { <-gauges }()
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.kick:
			window := time.NewTimer(e.opts.BatchWindow)
			select {
			case <-ctx.Done():
				window.Stop()
				return nil
			case <-window.C:
			}
		case <-poll.C:
		}
		if _, err := e.DrainOnce(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("sync pass failed", zap.Error(err))
		}
		poll.Reset(e.opts.PollInterval)
	}
}

// watchGauges refreshes the backlog gauges at once and every
// GaugeInterval until ctx ends. A failed read is logged when reads start
// failing, not on every tick.
func (e *Engine) watchGauges(ctx context.Context) {
	tick := time.NewTicker(e.opts.GaugeInterval)
	defer tick.Stop()
	failing := false
	for {
		err := e.refreshGauges(ctx)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			e.log.Warn("backlog gauges not refreshed", zap.Error(err))
			failing = true
		case err == nil:
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// backoff is the delay before retry number attempts (1-based): MinBackoff·
// 2^(attempts-1) capped at MaxBackoff, with the upper half jittered so
// users that failed together do not retry together.
func (e *Engine) backoff(attempts int) time.Duration {
	d := e.opts.MinBackoff
	for i := 1; i < attempts && d < e.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, e.opts.MaxBackoff)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// paused returns the time before which no batch is claimed.
func (e *Engine) paused() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pausedUntil
}

// noteCall records the outcome of a Gainsight call (nil: it was answered).
// A call that failed as a whole for an upstream-wide reason pauses
// draining for the backoff of the consecutive failures; per-record errors
// and cancellations do not count. Neither does a 429: the budget pauses
// for it already, briefly and then probing (NextSlot reports the pause, so
// nothing is claimed meanwhile), and a pause of the drain on top would
// stop syncing for up to MaxBackoff over one stray 429.
func (e *Engine) noteCall(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil {
		e.upstreamFailures, e.pausedUntil = 0, time.Time{}
		return
	}
	switch gainsight.ReasonOf(err) {
	case gainsight.ReasonServerError, gainsight.ReasonNetwork, gainsight.ReasonTimeout, gainsight.ReasonAuth:
	default:
		return
	}
	e.upstreamFailures++
	until := e.opts.Now().Add(e.backoff(e.upstreamFailures))
	if until.After(e.pausedUntil) {
		e.pausedUntil = until
	}
	e.log.Warn("gainsight call failed; pausing the drain", zap.Int("consecutive_failures", e.upstreamFailures),
		zap.Time("until", e.pausedUntil))
}

// noteSuperAdmin reports once per user (per process) that its super admin
// flag is not pushed.
func (e *Engine) noteSuperAdmin(userID string) {
	e.mu.Lock()
	seen := e.superAdminSeen[userID]
	e.superAdminSeen[userID] = true
	e.mu.Unlock()
	if seen {
		return
	}
	e.metrics.superAdminSkip.Inc()
	e.log.Info("super admin is not pushed: the Gainsight REST API cannot set it; set it in Gainsight", zap.String("user_id", userID))
}
