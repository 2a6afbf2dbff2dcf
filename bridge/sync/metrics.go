package sync

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// Outcomes of processing one dirty user.
const (
	outcomeSynced   = "synced"
	outcomeRetry    = "retry"
	outcomeFailed   = "failed"
	outcomeDeferred = "deferred"
	outcomePlanned  = "planned"
)

// Reasons of an outcome that are the engine's own; failures of Gainsight
// calls carry the client's reasons (gainsight.Reason*).
const (
	reasonOK             = "ok"
	reasonCreated        = "created"
	reasonAdopted        = "adopted"
	reasonUpdated        = "updated"
	reasonDeactivated    = "deactivated"
	reasonReactivated    = "reactivated"
	reasonUnchanged      = "unchanged"
	reasonManagerPending = "manager_pending"
	// reasonCarried: the user's call waits for the next pass, to fill it
	// (plan.go, carryOver).
	reasonCarried = "carried"
	// reasonBudget: a call was not sent because the rate budget had no
	// slot before the batch's lease would end. Not a failure: no attempt
	// is counted and no error recorded.
	reasonBudget = "budget"
	// reasonHeld: the mass-deactivation guard holds the user's
	// deactivation until an operator approves it.
	reasonHeld = "held"
	// reasonShadow: shadow mode planned the user and stored the plan.
	reasonShadow = "shadow"
)

// Batch operations, the operation label of the batch size histogram.
const (
	batchCreate = "create"
	batchUpdate = "update"
	batchStatus = "status"
	batchList   = "list"
)

// retryReasons are the reasons of a retried user: budget, and the client's
// reasons of a failure that may pass.
func retryReasons() []string {
	return []string{reasonBudget, gainsight.ReasonRateLimited, gainsight.ReasonServerError, gainsight.ReasonNetwork,
		gainsight.ReasonTimeout, gainsight.ReasonAuth, gainsight.ReasonOther}
}

// failedReasons are the client's reasons of a failure that will not pass
// until the user changes.
func failedReasons() []string {
	return []string{gainsight.ReasonValidation, gainsight.ReasonDuplicate, gainsight.ReasonAuth,
		gainsight.ReasonNotFound, gainsight.ReasonOther}
}

// retryReason maps an error's reason into retryReasons.
func retryReason(r string) string {
	switch r {
	case gainsight.ReasonRateLimited, gainsight.ReasonServerError, gainsight.ReasonNetwork,
		gainsight.ReasonTimeout, gainsight.ReasonAuth:
		return r
	}
	return gainsight.ReasonOther
}

// failedReason maps an error's reason into failedReasons.
func failedReason(r string) string {
	switch r {
	case gainsight.ReasonValidation, gainsight.ReasonDuplicate, gainsight.ReasonAuth, gainsight.ReasonNotFound:
		return r
	}
	return gainsight.ReasonOther
}

// outcomeReasons lists the label pairs that can occur, so they are exported
// as zero before the first event.
func outcomeReasons() map[string][]string {
	return map[string][]string{
		outcomeSynced:   {reasonOK, reasonCreated, reasonAdopted, reasonUpdated, reasonDeactivated, reasonReactivated, reasonUnchanged},
		outcomeRetry:    retryReasons(),
		outcomeFailed:   failedReasons(),
		outcomeDeferred: {reasonManagerPending, reasonCarried, reasonHeld},
		outcomePlanned:  {reasonShadow},
	}
}

type metrics struct {
	dirtyUsers     prometheus.Gauge
	oldestDirty    prometheus.Gauge
	batchSize      *prometheus.HistogramVec
	outcomes       *prometheus.CounterVec
	users          *prometheus.GaugeVec
	superAdminSkip prometheus.Counter
	leasesLost     prometheus.Counter
	budgetWaits    prometheus.Counter
	tombstones     prometheus.Counter
	pending        *prometheus.GaugeVec
	oldestUrgent   prometheus.Gauge
	preemptions    prometheus.Counter
	snapshots      prometheus.Counter
	snapshotAge    prometheus.Gauge
	tenantUsers    prometheus.Gauge
	mode           *prometheus.GaugeVec
	planned        *prometheus.GaugeVec
	guardHolds     prometheus.Counter
	guardAwaiting  prometheus.Gauge
	guardCounted   prometheus.Gauge
	guardLimit     prometheus.Gauge
}

// Modes, the label of the mode gauge.
const (
	modeLive   = "live"
	modeShadow = "shadow"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		dirtyUsers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "dirty_users",
			Help: "Users waiting to be synced to Gainsight.",
		}),
		oldestDirty: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "oldest_dirty_seconds",
			Help: "Age of the oldest entry of the dirty set; 0 when it is empty.",
		}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "batch_size",
			Help:    "Users per Gainsight call made by the sync engine, by operation.",
			Buckets: []float64{1, 2, 5, 10, 20, 30, 40, 50},
		}, []string{"operation"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "outcomes_total",
			Help: "Users processed by the sync engine, by outcome and reason.",
		}, []string{"outcome", "reason"}),
		users: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "users",
			Help: "Users by sync state (pending, synced, failed, held).",
		}, []string{"state"}),
		superAdminSkip: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "resolve", Name: "superadmin_unpushed_total",
			Help: "Users resolved as super admin whose super admin flag was not pushed (the REST API cannot set it).",
		}),
		leasesLost: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "leases_lost_total",
			Help: "Dirty users whose lease this engine lost before it finished them; what it did is recorded as of unknown outcome.",
		}),
		budgetWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "budget_waits_total",
			Help: "Times the engine did not claim work because the rate budget had no call slot before a lease would end.",
		}),
		tombstones: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "tombstones_purged_total",
			Help: "Tombstones removed after the retention period.",
		}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "pending_users",
			Help: "Users waiting to be synced to Gainsight, by priority (urgent: losing access; high: license, roles, reactivation; normal: creates; low: profile fields).",
		}, []string{"priority"}),
		oldestUrgent: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "oldest_urgent_seconds",
			Help: "How long the oldest urgent entry (a user who should lose access) has waited since it became urgent; 0 when none.",
		}),
		preemptions: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "preemptions_total",
			Help: "Times urgent users were passed between two calls of a pass that is not urgent.",
		}),
		snapshots: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "snapshots_total",
			Help: "Tenant snapshots taken (listings of Gainsight's join keys that replace per-batch adoption look-ups).",
		}),
		snapshotAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "snapshot_age_seconds",
			Help: "Age of the stored tenant snapshot; -1 when none was taken.",
		}),
		tenantUsers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "tenant_users",
			Help: "Gainsight users the last tenant listing returned (what the next listing costs); 0 until one was taken.",
		}),
		mode: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "mode",
			Help: "1 for the sync engine's mode in effect: live (writes to Gainsight) or shadow (plans, writes nothing).",
		}, []string{"mode"}),
		planned: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "planned_users",
			Help: "Users whose plan, stored by shadow mode and not yet synced live, has an operation of this kind.",
		}, []string{"kind"}),
		guardHolds: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "guard_holds_total",
			Help: "Deactivations the mass-deactivation guard held because they exceeded its threshold.",
		}),
		guardAwaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "guard_awaiting_users",
			Help: "Users whose deactivation the mass-deactivation guard holds and no operator approved or rejected (the store's).",
		}),
		guardCounted: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "guard_window_deactivations",
			Help: "Deactivations the mass-deactivation guard counted in its current window, across replicas.",
		}),
		guardLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "sync", Name: "guard_limit",
			Help: "Deactivations the mass-deactivation guard lets through per window now; -1 when it is off.",
		}),
	}
	for _, md := range []string{modeLive, modeShadow} {
		m.mode.WithLabelValues(md)
	}
	for _, k := range plannedKinds() {
		m.planned.WithLabelValues(string(k))
	}
	m.guardLimit.Set(-1)
	for _, p := range store.Priorities() {
		m.pending.WithLabelValues(p.String())
	}
	m.snapshotAge.Set(-1)
	for _, op := range []string{batchCreate, batchUpdate, batchStatus, batchList} {
		m.batchSize.WithLabelValues(op)
	}
	for outcome, reasons := range outcomeReasons() {
		for _, r := range reasons {
			m.outcomes.WithLabelValues(outcome, r)
		}
	}
	for _, s := range store.SyncStates() {
		m.users.WithLabelValues(s)
	}
	for _, c := range []prometheus.Collector{m.dirtyUsers, m.oldestDirty, m.batchSize, m.outcomes, m.users,
		m.superAdminSkip, m.leasesLost, m.budgetWaits, m.tombstones, m.pending, m.oldestUrgent, m.preemptions,
		m.snapshots, m.snapshotAge, m.tenantUsers, m.mode, m.planned, m.guardHolds, m.guardAwaiting, m.guardCounted,
		m.guardLimit} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
