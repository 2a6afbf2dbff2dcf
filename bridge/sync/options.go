package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// Defaults of Options, applied by New to zero fields.
const (
	DefaultBatchWindow   = 2 * time.Second
	DefaultMinBackoff    = 30 * time.Second
	DefaultMaxBackoff    = time.Hour
	DefaultLease         = 5 * time.Minute
	DefaultBatchTimeout  = 10 * time.Minute
	DefaultPollInterval  = 5 * time.Second
	DefaultGaugeInterval = 5 * time.Second
	DefaultUserNameField = "SFDCUserName"
	// DefaultSnapshotMaxAge is how long a tenant snapshot is used: a day,
	// the default reconcile interval.
	DefaultSnapshotMaxAge = 24 * time.Hour
)

// Tenant snapshot policies (Options.Snapshot).
const (
	// SnapshotAuto takes a snapshot when pending unlinked users would need
	// more look-up calls than a listing of the tenant costs.
	SnapshotAuto = "auto"
	// SnapshotAlways takes one whenever unlinked users are pending and no
	// snapshot is fresh.
	SnapshotAlways = "always"
	// SnapshotOff never takes one: every batch of unlinked users is looked
	// up.
	SnapshotOff = "off"
)

// claimBatches is how many calls' worth of users one claim takes: enough
// that a call left part-empty can wait for the next pass (plan.go,
// carryOver) without the next claim being all such users.
const claimBatches = 2

// Options configures an Engine. Store, Upstream, Planner, Logger and
// Registerer are required.
type Options struct {
	Store    store.Store
	Upstream Upstream
	// Planner returns the current planner; it is called once per pass, so a
	// config reload that swaps the planner takes effect on the next pass.
	Planner    func() Planner
	Logger     *zap.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time // default time.Now
	Owner      string           // lease owner (hostname or replica id); default the hostname
	BatchSize  int              // users per Gainsight call, 1..50; default 50
	// BatchWindow is how long Run waits after a Kick before draining, so a
	// burst of SCIM writes fills one batch.
	BatchWindow time.Duration
	// MinBackoff and MaxBackoff bound the per-user retry delay
	// MinBackoff·2^attempts (with jitter).
	MinBackoff, MaxBackoff time.Duration
	// Lease is how long a claimed dirty entry stays with this engine; if the
	// process dies the entry becomes claimable again after it. While a
	// batch runs its leases are extended every third of a lease.
	Lease time.Duration
	// BatchTimeout bounds one batch's Gainsight calls, retries included;
	// default twice the Lease, at least DefaultBatchTimeout. (A call does
	// not wait for a rate budget slot after the batch's lease would have
	// ended: its users are put back for the next slot.)
	BatchTimeout time.Duration
	// PollInterval is how often Run looks for entries that became due
	// (retries, expired leases) without a Kick.
	PollInterval time.Duration
	// GaugeInterval is how often Run reads the backlog gauges (dirty
	// users, oldest dirty entry, users per sync state) from the store, on
	// its own and from its start, so they are true while a long pass runs
	// and before a restarted engine's first pass ends.
	GaugeInterval time.Duration
	// UserNameField is the Gainsight field userName is joined on.
	UserNameField string
	// Budget, when set (or when Upstream implements it), is asked before
	// every claim: while it has no call slot within half a lease, nothing
	// is claimed, so no lease is held, no attempt counted and no error
	// recorded for calls that could not be made.
	Budget Budget
	// Audit, when set, receives the audit trail of the Gainsight writes
	// (audit.go), once per batch; it must not fail the pass.
	Audit func(ctx context.Context, entries []store.AuditEntry)
	// TombstoneRetention is how long a deleted user's link is kept once
	// its Gainsight user is confirmed inactive (or was never created);
	// PurgeTombstones removes older ones. 0 keeps them for ever.
	TombstoneRetention time.Duration
	// Snapshot is the tenant snapshot policy: SnapshotAuto (default),
	// SnapshotAlways or SnapshotOff. Snapshots need an Upstream that is a
	// Lister.
	Snapshot string
	// SnapshotMaxAge is how long a snapshot is used to plan adoptions;
	// default DefaultSnapshotMaxAge.
	SnapshotMaxAge time.Duration
	// Rollout returns the mode and guard in effect; it is called once per
	// batch. nil: live, without the guard.
	Rollout func() Rollout
}

func (o *Options) validate() error {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("Store is nil"))
	}
	if o.Upstream == nil {
		errs = append(errs, errors.New("Upstream is nil"))
	}
	if o.Planner == nil {
		errs = append(errs, errors.New("Planner is nil"))
	}
	if o.Logger == nil {
		errs = append(errs, errors.New("Logger is nil"))
	}
	if o.Registerer == nil {
		errs = append(errs, errors.New("Registerer is nil"))
	}
	if o.BatchSize < 0 || o.BatchSize > gainsight.MaxBatch {
		errs = append(errs, fmt.Errorf("BatchSize %d is not in 1..%d", o.BatchSize, gainsight.MaxBatch))
	}
	for name, d := range map[string]time.Duration{
		"BatchWindow": o.BatchWindow, "MinBackoff": o.MinBackoff, "MaxBackoff": o.MaxBackoff,
		"Lease": o.Lease, "PollInterval": o.PollInterval, "TombstoneRetention": o.TombstoneRetention,
		"GaugeInterval": o.GaugeInterval,
		"BatchTimeout":  o.BatchTimeout,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %s is negative", name, d))
		}
	}
	switch o.Snapshot {
	case "", SnapshotAuto, SnapshotAlways, SnapshotOff:
	default:
		errs = append(errs, fmt.Errorf("Snapshot %q is not one of %s, %s, %s", o.Snapshot, SnapshotAuto, SnapshotAlways, SnapshotOff))
	}
	if o.SnapshotMaxAge < 0 {
		errs = append(errs, fmt.Errorf("SnapshotMaxAge %s is negative", o.SnapshotMaxAge))
	}
	if o.MinBackoff > 0 && o.MaxBackoff > 0 && o.MaxBackoff < o.MinBackoff {
		errs = append(errs, fmt.Errorf("MaxBackoff %s is below MinBackoff %s", o.MaxBackoff, o.MinBackoff))
	}
	return errors.Join(errs...)
}

func (o *Options) applyDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Owner == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			o.Owner = h
		} else {
			o.Owner = "scim-bridge"
		}
	}
	if o.BatchSize == 0 {
		o.BatchSize = gainsight.MaxBatch
	}
	if o.BatchWindow == 0 {
		o.BatchWindow = DefaultBatchWindow
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.Lease == 0 {
		o.Lease = DefaultLease
	}
	if o.BatchTimeout == 0 {
		o.BatchTimeout = max(2*o.Lease, DefaultBatchTimeout)
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.GaugeInterval == 0 {
		o.GaugeInterval = DefaultGaugeInterval
	}
	if o.UserNameField == "" {
		o.UserNameField = DefaultUserNameField
	}
	if o.Budget == nil {
		if b, ok := o.Upstream.(Budget); ok {
			o.Budget = b
		}
	}
	if o.Snapshot == "" {
		o.Snapshot = SnapshotAuto
	}
	if o.SnapshotMaxAge == 0 {
		o.SnapshotMaxAge = DefaultSnapshotMaxAge
	}
}
