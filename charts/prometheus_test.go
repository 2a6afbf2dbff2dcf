package charts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		AlertRuleTests []struct {
			AlertName string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	var rf ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(readRepoFile(t, "deploy/prometheus/rules.yaml"))))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("rules.yaml: %v", err)
	}
	return rf
}

// runbookAnchors returns the GitHub anchors of RUNBOOK.md's headings.
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(string(readRepoFile(t, "deploy/RUNBOOK.md")), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		anchors[strings.ReplaceAll(drop.ReplaceAllString(h, ""), " ", "-")] = true
	}
	return anchors
}

func TestAlertRulesAreComplete(t *testing.T) {
	rf := loadRules(t)
	anchors := runbookAnchors(t)
	wantAlerts := []string{
		"ScimBridgeDown",
		"ScimBridgeSyncBacklogStuck",
		"ScimBridgeOldestDirtyUserTooOld",
		"ScimBridgeGainsightAuthFailures",
		"ScimBridgeGainsightBudgetExhausted",
		"ScimBridgeScimHighErrorRate",
		"ScimBridgeGoogleSyncStale",
		"ScimBridgeUsersFailed",
		"ScimBridgeConfigReloadFailing",
		"ScimBridgeOffboardingDelayed",
		"ScimBridgeGainsightQuotaShared",
		"ScimBridgeDeactivationsHeld",
	}
	var got []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			got = append(got, r.Alert)
			t.Run(r.Alert, func(t *testing.T) {
				for _, key := range []string{"summary", "description", "runbook_url"} {
					if strings.TrimSpace(r.Annotations[key]) == "" {
						t.Errorf("annotation %s missing", key)
					}
				}
				anchor := "runbook-" + strings.ToLower(r.Alert)
				if !strings.HasSuffix(r.Annotations["runbook_url"], "deploy/RUNBOOK.md#"+anchor) {
					t.Errorf("runbook_url = %q, want …deploy/RUNBOOK.md#%s", r.Annotations["runbook_url"], anchor)
				}
				if !anchors[anchor] {
					t.Errorf("deploy/RUNBOOK.md has no section %q", anchor)
				}
				if s := r.Labels["severity"]; s != "warning" && s != "critical" {
					t.Errorf("severity = %q", s)
				}
				for _, m := range metricsIn(r.Expr) {
					if familyOf(m) == "" {
						t.Errorf("expr uses %s, which the bridge does not export", m)
					}
				}
			})
		}
	}
	slices.Sort(got)
	slices.Sort(wantAlerts)
	if !slices.Equal(got, wantAlerts) {
		t.Errorf("alerts = %v, want %v", got, wantAlerts)
	}
}

func TestEveryAlertHasFiringAndSilentUnitTests(t *testing.T) {
	var tf ruleTestFile
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/prometheus/rules_test.yaml"), &tf); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tf.RuleFiles, []string{"rules.yaml"}) {
		t.Errorf("rule_files = %v, want [rules.yaml]", tf.RuleFiles)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTests {
			if len(a.ExpAlerts) > 0 {
				fires[a.AlertName] = true
			} else {
				silent[a.AlertName] = true
			}
		}
	}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && (!fires[r.Alert] || !silent[r.Alert]) {
				t.Errorf("%s: firing test %v, silent test %v; want both", r.Alert, fires[r.Alert], silent[r.Alert])
			}
		}
	}
}

// promtool returns the promtool binary, skipping the test when it is not
// installed unless CI or SCIM_BRIDGE_REQUIRE_PROMTOOL=1 demands it.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" || os.Getenv("SCIM_BRIDGE_REQUIRE_PROMTOOL") == "1" {
		t.Fatalf("promtool is required (CI or SCIM_BRIDGE_REQUIRE_PROMTOOL=1) but not on PATH: %v", err)
	}
	t.Skip("promtool not on PATH: install the Debian package prometheus to run the alert rule tests")
	return ""
}

func TestPromtool(t *testing.T) {
	bin := promtool(t)
	dir := filepath.Join(repoRoot, "deploy", "prometheus")
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "rules.yaml"), []byte(`groups:
  - name: broken
    rules:
      - alert: Broken
        expr: sum(rate(scim_bridge_scim_requests_total[5m]) > 
`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string
		args    []string
		wantOK  bool
		wantOut string
	}{
		{"check rules", dir, []string{"check", "rules", "rules.yaml"}, true, "SUCCESS: 12 rules found"},
		{"unit tests", dir, []string{"test", "rules", "rules_test.yaml"}, true, "SUCCESS"},
		{"broken rules are caught", broken, []string{"check", "rules", "rules.yaml"}, false, "FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			cmd.Dir = tt.dir
			out, err := cmd.CombinedOutput()
			if ok := err == nil; ok != tt.wantOK {
				t.Fatalf("promtool %s: err = %v, want success %v\n%s", strings.Join(tt.args, " "), err, tt.wantOK, out)
			}
			if !strings.Contains(string(out), tt.wantOut) {
				t.Errorf("promtool output lacks %q:\n%s", tt.wantOut, out)
			}
		})
	}
}

func TestMetricFamilyOf(t *testing.T) {
	tests := []struct{ series, want string }{
		{"scim_bridge_sync_dirty_users", "scim_bridge_sync_dirty_users"},
		{"scim_bridge_scim_request_duration_seconds_bucket", "scim_bridge_scim_request_duration_seconds"},
		{"scim_bridge_scim_request_duration_seconds", ""},
		{"scim_bridge_sync_dirty_users_bucket", ""},
		{"scim_bridge_sync_dirty_user", ""},
		{"up", "up"},
	}
	for _, tt := range tests {
		t.Run(tt.series, func(t *testing.T) {
			if got := familyOf(tt.series); got != tt.want {
				t.Errorf("familyOf(%q) = %q, want %q", tt.series, got, tt.want)
			}
		})
	}
	if got := fmt.Sprint(metricsIn(`sum(rate(scim_bridge_scim_requests_total{code="500"}[5m])) / up`)); got != "[scim_bridge_scim_requests_total up]" {
		t.Errorf("metricsIn = %s", got)
	}
}
