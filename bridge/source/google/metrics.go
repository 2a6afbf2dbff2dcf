package google

import "github.com/prometheus/client_golang/prometheus"

// Error reasons (the reason label of scim_bridge_google_errors_total).
const (
	ReasonAuth        = "auth"
	ReasonRateLimited = "rate_limited"
	ReasonServerError = "server_error"
	ReasonNetwork     = "network"
	ReasonOther       = "other"
)

// Change kinds (the kind label of scim_bridge_google_changes_total and
// Change.Kind).
const (
	KindCreated       = "created"
	KindUpdated       = "updated"
	KindDeactivated   = "deactivated"
	KindDeprovisioned = "deprovisioned"
	KindGroupChanged  = "group_changed"
)

type metrics struct {
	pollDuration  prometheus.Histogram
	usersInScope  prometheus.Gauge
	groupsInScope prometheus.Gauge
	changes       *prometheus.CounterVec
	errors        *prometheus.CounterVec
	lastSuccess   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		pollDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "scim_bridge", Subsystem: "google", Name: "poll_duration_seconds",
			Help:    "Duration of one poll of the Google Directory API, writes included.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}),
		usersInScope: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "google", Name: "users_in_scope",
			Help: "Google users in scope at the last successful poll.",
		}),
		groupsInScope: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "google", Name: "groups_in_scope",
			Help: "Google groups pushed at the last successful poll.",
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "google", Name: "changes_total",
			Help: "Changes the Google source wrote to the store, by kind.",
		}, []string{"kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "google", Name: "errors_total",
			Help: "Failed polls of the Google Directory API, by reason.",
		}, []string{"reason"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "google", Name: "last_success_timestamp_seconds",
			Help: "Unix time of the last successful poll of the Google Directory API.",
		}),
	}
	for _, k := range []string{KindCreated, KindUpdated, KindDeactivated, KindDeprovisioned, KindGroupChanged} {
		m.changes.WithLabelValues(k)
	}
	for _, r := range []string{ReasonAuth, ReasonRateLimited, ReasonServerError, ReasonNetwork, ReasonOther} {
		m.errors.WithLabelValues(r)
	}
	reg.MustRegister(m.pollDuration, m.usersInScope, m.groupsInScope, m.changes, m.errors, m.lastSuccess)
	return m
}
