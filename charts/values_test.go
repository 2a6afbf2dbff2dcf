package charts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/chartutil"
)

// TestValuesAreDocumented checks that every value in values.yaml carries a
// `# --` comment, on itself or on an enclosing key.
func TestValuesAreDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	var undocumented []string
	var walk func(n *yaml.Node, path string, documented bool)
	walk = func(n *yaml.Node, path string, documented bool) {
		if n.Kind != yaml.MappingNode {
			if !documented {
				undocumented = append(undocumented, path)
			}
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			doc := documented || strings.Contains(key.HeadComment, "# --")
			walk(val, strings.TrimPrefix(path+"."+key.Value, "."), doc)
		}
	}
	walk(root.Content[0], "", false)
	if len(undocumented) > 0 {
		t.Errorf("values without a `# --` comment: %v", undocumented)
	}
}

func TestValuesSchema(t *testing.T) {
	c := loadChart(t)
	tests := []struct {
		name      string
		overrides map[string]any
		wantErr   string
	}{
		{"defaults", nil, ""},
		{"postgres", map[string]any{"config.store.type": "postgres", "replicaCount": 3}, ""},
		{"bad pull policy", map[string]any{"image.pullPolicy": "Sometimes"}, "pullPolicy"},
		{"bad service type", map[string]any{"service.type": "External"}, "type"},
		{"bad volume size", map[string]any{"persistence.size": "lots"}, "size"},
		{"unknown persistence key", map[string]any{"persistence.sizee": "1Gi"}, "sizee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals, err := chartutil.CoalesceValues(c, readValues(t, nil, tt.overrides))
			if err != nil {
				t.Fatal(err)
			}
			err = chartutil.ValidateAgainstSchema(c, vals)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateAgainstSchema() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateAgainstSchema() = %v, want error mentioning %q", err, tt.wantErr)
			}
		})
	}
}
