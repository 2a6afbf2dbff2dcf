package charts

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestRequestLimitsReachTheConfig: the values' listener limits and SCIM
// request limits are the bridge's, beside the listen addresses the chart
// sets itself.
func TestRequestLimitsReachTheConfig(t *testing.T) {
	r := mustRender(t, "sb", []string{minimalValues}, map[string]any{
		"config.listen.maxConnections":           64,
		"config.listen.scim":                     "0.0.0.0:1",
		"config.scim.limits.maxFilterCandidates": 500,
	})
	var cfg struct {
		Listen map[string]any `json:"listen"`
		SCIM   struct {
			Limits map[string]any `json:"limits"`
		} `json:"scim"`
	}
	if err := yaml.Unmarshal([]byte(only[*corev1.ConfigMap](t, r.objs).Data["config.yaml"]), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen["maxConnections"] != float64(64) || cfg.Listen["maxHeaderBytes"] != float64(32768) || cfg.Listen["scim"] != "0.0.0.0:8080" {
		t.Errorf("listen = %v, want maxConnections 64, the default header limit and the chart's address", cfg.Listen)
	}
	if cfg.SCIM.Limits["maxFilterCandidates"] != float64(500) || cfg.SCIM.Limits["maxValuesPerAttribute"] != float64(100) {
		t.Errorf("scim.limits = %v", cfg.SCIM.Limits)
	}
}
