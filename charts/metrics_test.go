package charts

import (
	"regexp"
	"sort"
	"strings"
)

// bridgeMetrics are the metric families the bridge exports (the names its
// packages register), by type. The dashboard and the alert rules may use
// only these, plus Prometheus' own `up`.
var bridgeMetrics = map[string]string{
	"scim_bridge_build_info":                                   "gauge",
	"scim_bridge_scim_requests_total":                          "counter",
	"scim_bridge_scim_request_duration_seconds":                "histogram",
	"scim_bridge_upstream_requests_total":                      "counter",
	"scim_bridge_upstream_request_duration_seconds":            "histogram",
	"scim_bridge_upstream_retries_total":                       "counter",
	"scim_bridge_upstream_budget_remaining":                    "gauge",
	"scim_bridge_upstream_budget_limit":                        "gauge",
	"scim_bridge_upstream_budget_effective_limit":              "gauge",
	"scim_bridge_upstream_records_total":                       "counter",
	"scim_bridge_sync_dirty_users":                             "gauge",
	"scim_bridge_sync_oldest_dirty_seconds":                    "gauge",
	"scim_bridge_sync_batch_size":                              "histogram",
	"scim_bridge_sync_outcomes_total":                          "counter",
	"scim_bridge_sync_users":                                   "gauge",
	"scim_bridge_sync_pending_users":                           "gauge",
	"scim_bridge_sync_oldest_urgent_seconds":                   "gauge",
	"scim_bridge_sync_preemptions_total":                       "counter",
	"scim_bridge_sync_snapshots_total":                         "counter",
	"scim_bridge_sync_snapshot_age_seconds":                    "gauge",
	"scim_bridge_sync_tenant_users":                            "gauge",
	"scim_bridge_sync_mode":                                    "gauge",
	"scim_bridge_sync_planned_users":                           "gauge",
	"scim_bridge_sync_guard_holds_total":                       "counter",
	"scim_bridge_sync_guard_awaiting_users":                    "gauge",
	"scim_bridge_sync_guard_window_deactivations":              "gauge",
	"scim_bridge_sync_guard_limit":                             "gauge",
	"scim_bridge_resolve_conflicts_total":                      "counter",
	"scim_bridge_resolve_fanout_users":                         "histogram",
	"scim_bridge_resolve_profile_users":                        "gauge",
	"scim_bridge_resolve_superadmin_unpushed_total":            "counter",
	"scim_bridge_config_reloads_total":                         "counter",
	"scim_bridge_config_last_reload_success_timestamp_seconds": "gauge",
	"scim_bridge_config_last_reload_successful":                "gauge",
	"scim_bridge_google_last_success_timestamp_seconds":        "gauge",
	"scim_bridge_sync_drain_eta_seconds":                       "gauge",
	"scim_bridge_audit_entries_total":                          "counter",
	"scim_bridge_audit_pruned_entries_total":                   "counter",
}

var seriesName = regexp.MustCompile(`\b(scim_bridge_[a-z0-9_]+|up)\b`)

// metricsIn returns the sorted, distinct series names a PromQL expression
// selects.
func metricsIn(expr string) []string {
	seen := map[string]bool{}
	for _, m := range seriesName.FindAllString(expr, -1) {
		seen[m] = true
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// familyOf maps a series name to the family the bridge exports, or "" if it
// exports none: histogram series carry _bucket, _sum and _count suffixes and
// only histograms may be used with them.
func familyOf(series string) string {
	if series == "up" {
		return series
	}
	if _, ok := bridgeMetrics[series]; ok {
		if bridgeMetrics[series] == "histogram" {
			return "" // a histogram has no series of its bare name
		}
		return series
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base := strings.TrimSuffix(series, suffix)
		if base != series && bridgeMetrics[base] == "histogram" {
			return base
		}
	}
	return ""
}
