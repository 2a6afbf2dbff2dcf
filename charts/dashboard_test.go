package charts

import (
	"encoding/json"
	"strings"
	"testing"
)

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func TestDashboard(t *testing.T) {
	var d dashboard
	if err := json.Unmarshal(readRepoFile(t, "deploy/grafana/scim-bridge.json"), &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q title %q", d.UID, d.Title)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["job"] != "query" || vars["instance"] != "query" {
		t.Errorf("template variables = %v, want datasource, job, instance", vars)
	}

	var flat []panel
	for _, p := range d.Panels {
		flat = append(flat, p)
		flat = append(flat, p.Panels...)
	}
	ids := map[int]bool{}
	used := map[string]bool{}
	for _, p := range flat {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %d %q: missing title or bad gridPos %+v", p.ID, p.Title, p.GridPos)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the $datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") || strings.Count(tg.Expr, "{") != strings.Count(tg.Expr, "}") {
				t.Errorf("panel %q query %s: unbalanced brackets: %s", p.Title, tg.RefID, tg.Expr)
			}
			names := metricsIn(tg.Expr)
			if len(names) == 0 {
				t.Errorf("panel %q query %s selects no bridge metric: %s", p.Title, tg.RefID, tg.Expr)
			}
			for _, m := range names {
				fam := familyOf(m)
				if fam == "" {
					t.Errorf("panel %q uses %s, which the bridge does not export", p.Title, m)
				}
				used[fam] = true
			}
			if !strings.Contains(tg.Expr, `job=~"$job"`) {
				t.Errorf("panel %q query %s ignores the $job variable: %s", p.Title, tg.RefID, tg.Expr)
			}
		}
	}
	// What the dashboard must show: SCIM rate/errors/latency, backlog and its
	// age, Gainsight calls/errors/retries, budget, outcomes, conflicts.
	for _, m := range []string{
		"scim_bridge_scim_requests_total",
		"scim_bridge_scim_request_duration_seconds",
		"scim_bridge_sync_dirty_users",
		"scim_bridge_sync_oldest_dirty_seconds",
		"scim_bridge_upstream_requests_total",
		"scim_bridge_upstream_retries_total",
		"scim_bridge_upstream_budget_remaining",
		"scim_bridge_sync_outcomes_total",
		"scim_bridge_resolve_conflicts_total",
	} {
		if !used[m] {
			t.Errorf("dashboard has no panel on %s", m)
		}
	}
}
