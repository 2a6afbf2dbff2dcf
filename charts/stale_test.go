package charts

import (
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// TestGoogleStaleAlertFollowsThreshold checks the chart's
// ScimBridgeGoogleSyncStale threshold: prometheusRule.googleStaleAfter
// when set, otherwise an hour or three poll intervals, whichever is longer,
// so a long config.google.interval does not fire the alert between polls.
// Every other rule stays as in deploy/prometheus/rules.yaml.
func TestGoogleStaleAlertFollowsThreshold(t *testing.T) {
	withGoogle := func(extra map[string]any) map[string]any {
		out := map[string]any{"config.google": googleSection(), "google.existingSecret": "google-sa"}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name      string
		overrides map[string]any
		want      string // the threshold in seconds
		wantErr   string
	}{
		{name: "defaults", want: "3600"},
		{name: "google with the default interval", overrides: withGoogle(nil), want: "3600"},
		{name: "google polling every 2h", overrides: withGoogle(map[string]any{"config.google.interval": "2h"}), want: "21600"},
		{name: "google polling every 1h30m", overrides: withGoogle(map[string]any{"config.google.interval": "1h30m"}), want: "16200"},
		{name: "google polling every 90s", overrides: withGoogle(map[string]any{"config.google.interval": "90s"}), want: "3600"},
		{name: "set to 3h", overrides: map[string]any{"prometheusRule.googleStaleAfter": "3h"}, want: "10800"},
		{name: "set to 1d", overrides: map[string]any{"prometheusRule.googleStaleAfter": "1d"}, want: "86400"},
		{name: "set to 1h30m", overrides: map[string]any{"prometheusRule.googleStaleAfter": "1h30m"}, want: "5400"},
		{name: "set above a 2h interval", overrides: withGoogle(map[string]any{"config.google.interval": "2h", "prometheusRule.googleStaleAfter": "5h"}), want: "18000"},
		{name: "set below the interval", overrides: withGoogle(map[string]any{"config.google.interval": "2h", "prometheusRule.googleStaleAfter": "1h"}), wantErr: "must be longer than config.google.interval"},
		{name: "not a duration", overrides: map[string]any{"prometheusRule.googleStaleAfter": "soon"}, wantErr: "googleStaleAfter"},
	}
	deployRules := readRepoFile(t, "deploy/prometheus/rules.yaml")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := render(t, "sb", []string{"ci/monitoring-values.yaml"}, tt.overrides)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("render error = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			got := only[*monitoringv1.PrometheusRule](t, r.objs).Spec
			var want monitoringv1.PrometheusRuleSpec
			if err := sigsyaml.UnmarshalStrict(deployRules, &want); err != nil {
				t.Fatal(err)
			}
			found := false
			for gi := range want.Groups {
				for ri, rule := range want.Groups[gi].Rules {
					if rule.Alert != "ScimBridgeGoogleSyncStale" {
						continue
					}
					found = true
					expr := rule.Expr.String()
					if !strings.HasSuffix(expr, " > 3600") {
						t.Fatalf("deploy rule expr %q does not end in the default threshold", expr)
					}
					want.Groups[gi].Rules[ri].Expr.StrVal = strings.TrimSuffix(expr, "3600") + tt.want
				}
			}
			if !found {
				t.Fatal("deploy/prometheus/rules.yaml has no ScimBridgeGoogleSyncStale")
			}
			gotYAML, _ := sigsyaml.Marshal(got)
			wantYAML, _ := sigsyaml.Marshal(want)
			if string(gotYAML) != string(wantYAML) {
				t.Errorf("PrometheusRule spec:\n%s\nwant:\n%s", gotYAML, wantYAML)
			}
		})
	}
}

// TestDownAlertFindsTheScrapeJob checks that ScimBridgeDown selects the
// ServiceMonitor's job (the Service name) also when the release's full name
// lacks "scim-bridge"; otherwise absent() fires the critical alert forever.
func TestDownAlertFindsTheScrapeJob(t *testing.T) {
	const deployJob = `job=~".*scim-bridge.*"`
	tests := []struct {
		name      string
		release   string
		overrides map[string]any
		wantJob   string
	}{
		{"full name with scim-bridge", "sb", nil, deployJob},
		{"release named scim-bridge", "scim-bridge", nil, deployJob},
		{"fullnameOverride", "sb", map[string]any{"fullnameOverride": "idm-bridge"}, `job=~".*scim-bridge.*|idm-bridge"`},
		{"nameOverride", "gs", map[string]any{"nameOverride": "sync"}, `job=~".*scim-bridge.*|gs-sync"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRender(t, tt.release, []string{"ci/monitoring-values.yaml"}, tt.overrides)
			svc := only[*corev1.Service](t, r.objs)
			if tt.wantJob != deployJob && !strings.Contains(tt.wantJob, "|"+svc.Name+`"`) {
				t.Fatalf("test wants job %s, Service is %s", tt.wantJob, svc.Name)
			}
			for _, g := range only[*monitoringv1.PrometheusRule](t, r.objs).Spec.Groups {
				for _, rule := range g.Rules {
					expr := rule.Expr.String()
					if !strings.Contains(expr, "job=") {
						continue
					}
					if n := strings.Count(expr, "job="); strings.Count(expr, tt.wantJob) != n {
						t.Errorf("%s: expr %q, want every job matcher to be %s", rule.Alert, expr, tt.wantJob)
					}
				}
			}
		})
	}
}
