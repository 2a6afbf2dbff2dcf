package sync

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// Outcomes of processing one dirty user.
const (
	outcomeSynced   = "synced"
	outcomeRetry    = "retry"
	outcomeFailed   = "failed"
	outcomeDeferred = "deferred"
)

// Reasons of an outcome, the closed set used as the reason label.
const (
	reasonOK             = "ok"
	reasonCreated        = "created"
	reasonAdopted        = "adopted"
	reasonUpdated        = "updated"
	reasonDeactivated    = "deactivated"
	reasonReactivated    = "reactivated"
	reasonUnchanged      = "unchanged"
	reasonManagerPending = "manager_pending"
	reasonRateLimited    = "rate_limited"
	reasonServerError    = "server_error"
	reasonNetwork        = "network"
	reasonTimeout        = "timeout"
	reasonValidation     = "validation"
	reasonDuplicate      = "duplicate"
	reasonAuth           = "auth"
	reasonNotFound       = "not_found"
	reasonOther          = "other"
)

// Batch operations, the operation label of the batch size histogram.
const (
	batchCreate = "create"
	batchUpdate = "update"
	batchStatus = "status"
	batchList   = "list"
)

// outcomeReasons lists the label pairs that can occur, so they are exported
// as zero before the first event.
func outcomeReasons() map[string][]string {
	return map[string][]string{
		outcomeSynced:   {reasonOK, reasonCreated, reasonAdopted, reasonUpdated, reasonDeactivated, reasonReactivated, reasonUnchanged},
		outcomeRetry:    {reasonRateLimited, reasonServerError, reasonNetwork, reasonTimeout, reasonOther},
		outcomeFailed:   {reasonValidation, reasonDuplicate, reasonAuth, reasonNotFound, reasonOther},
		outcomeDeferred: {reasonManagerPending},
	}
}

type metrics struct {
	dirtyUsers     prometheus.Gauge
	oldestDirty    prometheus.Gauge
	batchSize      *prometheus.HistogramVec
	outcomes       *prometheus.CounterVec
	users          *prometheus.GaugeVec
	superAdminSkip prometheus.Counter
}

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
			Help: "Users by sync state (pending, synced, failed).",
		}, []string{"state"}),
		superAdminSkip: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "resolve", Name: "superadmin_unpushed_total",
			Help: "Users resolved as super admin whose super admin flag was not pushed (the REST API cannot set it).",
		}),
	}
	for _, op := range []string{batchCreate, batchUpdate, batchStatus, batchList} {
		m.batchSize.WithLabelValues(op)
	}
	for outcome, reasons := range outcomeReasons() {
		for _, r := range reasons {
			m.outcomes.WithLabelValues(outcome, r)
		}
	}
	for _, s := range []string{store.StatePending, store.StateSynced, store.StateFailed} {
		m.users.WithLabelValues(s)
	}
	for _, c := range []prometheus.Collector{m.dirtyUsers, m.oldestDirty, m.batchSize, m.outcomes, m.users, m.superAdminSkip} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
