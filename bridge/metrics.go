package bridge

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

type metrics struct {
	reloads      *prometheus.CounterVec
	lastReload   prometheus.Gauge
	lastReloadOK prometheus.Gauge
	fanout       prometheus.Histogram
	profileUsers *prometheus.GaugeVec
	// audit.go, eta.go
	auditEntries *prometheus.CounterVec
	auditPruned  prometheus.Counter
	drainETA     prometheus.Gauge
}

// newMetrics registers the bridge-level metrics. The fan-out histogram is
// shared with the SCIM handler, which observes group writes; whichever
// registers first owns it.
func newMetrics(reg prometheus.Registerer, version string) *metrics {
	m := &metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "config", Name: "reloads_total",
			Help: "Configuration reloads by result.",
		}, []string{"result"}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "config", Name: "last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful configuration load.",
		}),
		lastReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "config", Name: "last_reload_successful",
			Help: "1 when the last configuration load succeeded, 0 when the file in place was refused and the previous configuration still runs.",
		}),
		profileUsers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "scim_bridge", Subsystem: "resolve", Name: "profile_users",
			Help: "Members of the pushed groups each group profile matches.",
		}, []string{"profile"}),
	}
	m.fanout = register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "scim_bridge", Subsystem: "resolve", Name: "fanout_users",
		Help:    "Users marked dirty by one group change.",
		Buckets: []float64{0, 1, 5, 10, 50, 100, 500, 1000, 5000, 10000},
	}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "scim_bridge", Name: "build_info",
		Help: "Build information; always 1.",
	}, []string{"version", "goversion"})
	m.auditEntries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "scim_bridge", Subsystem: "audit", Name: "entries_total",
		Help: "Audit trail entries, by result: written, or failed (not recorded).",
	}, []string{"result"})
	m.auditPruned = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "scim_bridge", Subsystem: "audit", Name: "pruned_entries_total",
		Help: "Audit trail entries removed past audit.retention or audit.maxRows.",
	})
	m.drainETA = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "scim_bridge", Subsystem: "sync", Name: "drain_eta_seconds",
		Help: "Estimated time until the dirty queue is drained at the rate budget left (0: now; -1: too far to estimate).",
	})
	reg.MustRegister(m.reloads, m.lastReload, m.lastReloadOK, m.profileUsers, buildInfo, m.auditEntries, m.auditPruned, m.drainETA)
	for _, r := range []string{"written", "failed"} {
		m.auditEntries.WithLabelValues(r)
	}
	for _, r := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(r)
	}
	m.lastReload.SetToCurrentTime()
	m.lastReloadOK.Set(1) // the bridge starts only with a valid configuration
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	return m
}

// registerStoreMetrics exports the group commit counts of a store that
// has them: writes per commit is how much group commit saves.
func registerStoreMetrics(reg prometheus.Registerer, st store.Store) {
	gc, ok := st.(store.GroupCommitter)
	if !ok {
		return
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "store", Name: "commits_total",
			Help: "Write transactions the store committed; each holds the writes that were waiting (group commit).",
		}, func() float64 { c, _ := gc.GroupCommitStats(); return float64(c) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "scim_bridge", Subsystem: "store", Name: "committed_writes_total",
			Help: "Writes (SCIM requests, sync engine updates, audit appends) the store committed.",
		}, func() float64 { _, w := gc.GroupCommitStats(); return float64(w) }),
	)
}

// register registers c, or returns the collector already registered under
// the same description.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a programming error: two metrics with one name and different shapes
	}
	return c
}

// observe refreshes gauges that are cheaper to compute periodically than to
// track on every write.
func (b *Bridge) observe(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		b.countProfileUsers(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *Bridge) countProfileUsers(ctx context.Context) {
	cfg := b.Config()
	b.metrics.profileUsers.Reset()
	for _, p := range cfg.Groups {
		seen := map[string]bool{}
		for _, k := range keysOf(p) {
			groups, _, err := b.opts.Store.ListGroups(ctx, store.Query{Field: k.field, Value: k.value}, true)
			if err != nil {
				if ctx.Err() == nil {
					b.log.Warn("count profile members", zap.String("profile", profileName(p.Name, p.DisplayName)), zap.Error(err))
				}
				return
			}
			for _, g := range groups {
				for _, id := range g.Members {
					seen[id] = true
				}
			}
		}
		b.metrics.profileUsers.WithLabelValues(profileName(p.Name, p.DisplayName)).Set(float64(len(seen)))
	}
}

func profileName(name, displayName string) string {
	if name != "" {
		return name
	}
	return strings.ToLower(displayName)
}
