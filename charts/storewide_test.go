package charts

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// storeWide are the gauges that count the whole store: every replica
// exports the same value, so summing them over replicas multiplies it.
var storeWide = []string{
	"scim_bridge_sync_dirty_users",
	"scim_bridge_sync_oldest_dirty_seconds",
	"scim_bridge_sync_users",
	"scim_bridge_resolve_profile_users",
	"scim_bridge_sync_pending_users",
	"scim_bridge_sync_oldest_urgent_seconds",
	"scim_bridge_sync_snapshot_age_seconds",
	"scim_bridge_sync_tenant_users",
}

var aggregation = regexp.MustCompile(`\b(sum|min|max|avg|count|group|stddev|stdvar|topk|bottomk|quantile|count_values)\s*(\b(by|without)\s*\([^()]*\)\s*)?$`)

// enclosingAggregation returns the aggregation operator nearest around
// position i of a PromQL expression ("" when there is none): functions such
// as delta() are looked through.
func enclosingAggregation(expr string, i int) string {
	depth := 0
	for j := i - 1; j >= 0; j-- {
		switch expr[j] {
		case ')':
			depth++
		case '(':
			if depth > 0 {
				depth--
				continue
			}
			if m := aggregation.FindStringSubmatch(expr[:j]); m != nil {
				return m[1]
			}
		}
	}
	return ""
}

// storeWideMisuse returns, for each store-wide gauge in expr not aggregated
// with max or min, a description of the misuse.
func storeWideMisuse(expr string) []string {
	var out []string
	for _, m := range storeWide {
		re := regexp.MustCompile(`\b` + m + `\b`)
		for _, loc := range re.FindAllStringIndex(expr, -1) {
			switch agg := enclosingAggregation(expr, loc[0]); agg {
			case "max", "min":
			case "":
				out = append(out, m+" is not aggregated: one series per replica")
			default:
				out = append(out, m+" is aggregated with "+agg+", want max (or min)")
			}
		}
	}
	return out
}

func TestStoreWideMisuse(t *testing.T) {
	tests := []struct {
		expr string
		bad  bool
	}{
		{`max(scim_bridge_sync_dirty_users{job="a"})`, false},
		{`max by (namespace, job) (scim_bridge_sync_dirty_users) > 0 and min by (namespace, job) (delta(scim_bridge_sync_dirty_users[1h])) >= 0`, false},
		{`max by (state) (scim_bridge_sync_users{job=~"$job"})`, false},
		{`sum(scim_bridge_sync_dirty_users)`, true},
		{`sum by (instance) (scim_bridge_sync_dirty_users)`, true},
		{`scim_bridge_sync_users{state="failed"} > 0`, true},
		{`sum(delta(scim_bridge_sync_oldest_dirty_seconds[1h]))`, true},
		{`sum(rate(scim_bridge_scim_requests_total[5m]))`, false},
	}
	for _, tt := range tests {
		if got := len(storeWideMisuse(tt.expr)) > 0; got != tt.bad {
			t.Errorf("%s: misuse %v, want %v", tt.expr, got, tt.bad)
		}
	}
}

// TestStoreWideGaugesUseMax checks the dashboard and the alert rules: a
// store-wide gauge is read with max (or min) across replicas, so three
// replicas show the backlog once and fire one alert.
func TestStoreWideGaugesUseMax(t *testing.T) {
	var d dashboard
	if err := json.Unmarshal(readRepoFile(t, "deploy/grafana/scim-bridge.json"), &d); err != nil {
		t.Fatal(err)
	}
	var flat []panel
	for _, p := range d.Panels {
		flat = append(flat, p)
		flat = append(flat, p.Panels...)
	}
	for _, p := range flat {
		for _, tg := range p.Targets {
			for _, msg := range storeWideMisuse(tg.Expr) {
				t.Errorf("dashboard panel %q: %s: %s", p.Title, msg, tg.Expr)
			}
		}
	}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			for _, msg := range storeWideMisuse(r.Expr) {
				t.Errorf("alert %s: %s: %s", r.Alert, msg, strings.TrimSpace(r.Expr))
			}
		}
	}
}
