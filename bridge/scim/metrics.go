package scim

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	conflicts prometheus.Counter
	fanout    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "scim", Name: "requests_total",
			Help: "SCIM requests by route template, method and HTTP status.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "scim_bridge", Subsystem: "scim", Name: "request_duration_seconds",
			Help:    "SCIM request latency by route template and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "resolve", Name: "conflicts_total",
			Help: "SCIM requests rejected because they would create a group resolution conflict.",
		}),
		fanout: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "scim_bridge", Subsystem: "resolve", Name: "fanout_users",
			Help:    "Users marked dirty by one group change.",
			Buckets: []float64{0, 1, 5, 10, 50, 100, 500, 1000, 5000, 10000},
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.conflicts, m.fanout} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("scim: register metrics: %w", err)
		}
	}
	return m, nil
}
