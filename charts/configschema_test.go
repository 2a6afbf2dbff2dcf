package charts

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// configSchema compiles properties.config of the chart's values schema: the
// config file's schema, generated from the bridge's config structs (`make
// schema`; the main module's tests fail while it is stale).
func configSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(readRepoFile(t, filepath.Join("charts", chartDir, "values.schema.json"))))
	if err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("values.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("values.schema.json#/properties/config")
	if err != nil {
		t.Fatalf("compile the config schema: %v", err)
	}
	return s
}

// checkAgainstConfigSchema returns the schema's complaint about tree (a
// decoded config file), nil when it fits.
func checkAgainstConfigSchema(t *testing.T, tree any) []error {
	t.Helper()
	raw, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := configSchema(t).Validate(v); err != nil {
		return []error{err}
	}
	return nil
}

func TestConfigSchemaCheck(t *testing.T) {
	tests := []struct {
		name    string
		tree    any
		wantErr string
	}{
		{"valid", map[string]any{
			"store":  map[string]any{"type": "sqlite", "sqlite": map[string]any{"path": "/x"}},
			"groups": []any{map[string]any{"name": "a", "superAdmin": true, "fields": map[string]any{"Region__gc": "EMEA"}}},
			"google": map[string]any{"orgUnits": []any{"/eng"}, "interval": "10m"},
			"sync":   map[string]any{"reconcileInterval": "0s"},
		}, ""},
		{"unknown top-level key", map[string]any{"stor": map[string]any{}}, "stor"},
		{"unknown nested key", map[string]any{"store": map[string]any{"sqlite": map[string]any{"file": "x"}}}, "/store/sqlite"},
		{"unknown key in list element", map[string]any{"groups": []any{map[string]any{"license": "Full"}}}, "/groups/0"},
		{"mapping for scalar", map[string]any{"log": map[string]any{"level": map[string]any{"x": 1}}}, "/log/level"},
		{"scalar for mapping", map[string]any{"store": "sqlite"}, "/store"},
		{"duration that is not one", map[string]any{"sync": map[string]any{"lease": "five minutes"}}, "/sync/lease"},
		{"number for a duration", map[string]any{"sync": map[string]any{"lease": 300}}, "/sync/lease"},
		{"unknown store type", map[string]any{"store": map[string]any{"type": "mysql"}}, "/store/type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := checkAgainstConfigSchema(t, tt.tree)
			if tt.wantErr == "" {
				if len(errs) > 0 {
					t.Fatalf("refused: %v", errors.Join(errs...))
				}
				return
			}
			if len(errs) == 0 || !strings.Contains(errs[0].Error(), tt.wantErr) {
				t.Fatalf("errors = %v, want one about %s", errs, tt.wantErr)
			}
		})
	}
}
