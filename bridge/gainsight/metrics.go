package gainsight

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Operations, used as metric labels and in logs and errors.
const (
	OpCreate   = "create"
	OpUpdate   = "update"
	OpStatus   = "status"
	OpList     = "list"
	OpV1Get    = "v1_get"
	OpV1List   = "v1_list"
	OpV1Create = "v1_create"
	OpV1Update = "v1_update"
	OpV1Delete = "v1_delete"
)

func operations() []string {
	return []string{OpCreate, OpUpdate, OpStatus, OpList, OpV1Get, OpV1List, OpV1Create, OpV1Update, OpV1Delete}
}

type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	retries   *prometheus.CounterVec
	budget    *prometheus.GaugeVec
	limit     *prometheus.GaugeVec
	effective *prometheus.GaugeVec
	records   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "upstream", Name: "requests_total",
			Help: "Calls sent to Gainsight, by operation and HTTP status (or network/timeout when no response arrived).",
		}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "scim_bridge", Subsystem: "upstream", Name: "request_duration_seconds",
			Help:    "Duration of one call to Gainsight, by operation.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"operation"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "upstream", Name: "retries_total",
			Help: "Calls to Gainsight retried, by operation and reason.",
		}, []string{"operation", "reason"}),
		budget: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "upstream", Name: "budget_remaining",
			Help: "Calls left in the current rate budget window (hour, day); -1 when unlimited.",
		}, []string{"window"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "upstream", Name: "budget_limit",
			Help: "Configured calls per rate budget window (hour, day); -1 when unlimited.",
		}, []string{"window"}),
		effective: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "upstream", Name: "budget_effective_limit",
			Help: "Calls per rate budget window (hour, day) in force: the configured limit, or a lower one learned from 429s that came while the budget had room (something else spends the access key's quota); -1 when unlimited.",
		}, []string{"window"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "upstream", Name: "records_total",
			Help: "Records (users or GSIDs) of calls to Gainsight, by operation and per-record result.",
		}, []string{"operation", "result"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.retries, m.budget, m.limit, m.effective, m.records} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, op := range operations() {
		m.duration.WithLabelValues(op)
		for _, r := range []string{ReasonRateLimited, ReasonServerError, ReasonNetwork, ReasonTimeout} {
			m.retries.WithLabelValues(op, r)
		}
		for _, r := range []string{"ok", "error"} {
			m.records.WithLabelValues(op, r)
		}
	}
	return m, nil
}
