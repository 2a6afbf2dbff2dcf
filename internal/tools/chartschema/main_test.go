package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

const chartSchema = "../../../charts/scim-bridge/values.schema.json"

// TestValuesSchemaIsCurrent fails when a config key was added, removed or
// changed without regenerating the chart's schema.
func TestValuesSchemaIsCurrent(t *testing.T) {
	committed, err := os.ReadFile(chartSchema)
	if err != nil {
		t.Fatal(err)
	}
	want, err := splice(committed, config.JSONSchema())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, want) {
		t.Fatalf("charts/scim-bridge/values.schema.json does not describe the config structs: run `make schema` and commit the result")
	}
}

func TestSpliceKeepsTheRest(t *testing.T) {
	doc := []byte(`{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "properties": {
    "before": {"type": "string"},
    "config": {"type": "object", "properties": {"stale": {}}},
    "after": {
      "type": "integer"
    }
  },
  "config": "a top-level key of that name is not the property"
}
`)
	out, err := splice(doc, &config.Schema{Type: []string{"object"}, Properties: []config.Property{{Name: "fresh", Schema: &config.Schema{Type: []string{"string"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "properties": {
    "before": {"type": "string"},
    "config": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "fresh": {
          "type": "string"
        }
      }
    },
    "after": {
      "type": "integer"
    }
  },
  "config": "a top-level key of that name is not the property"
}
`
	if string(out) != want {
		t.Errorf("splice:\n%s\nwant:\n%s", out, want)
	}
	if _, err := splice([]byte(`{"properties": {"image": {}}}`), config.JSONSchema()); err == nil || !strings.Contains(err.Error(), "properties.config") {
		t.Errorf("splice without a config property: %v", err)
	}
}

func TestRunRewritesAStaleFile(t *testing.T) {
	committed, err := os.ReadFile(chartSchema)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(committed, &doc); err != nil {
		t.Fatal(err)
	}
	doc["properties"].(map[string]any)["config"] = map[string]any{"type": "object"}
	stale, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "values.schema.json")
	if err := os.WriteFile(path, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"-schema", path}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rewritten map[string]any
	if err := json.Unmarshal(got, &rewritten); err != nil {
		t.Fatal(err)
	}
	cfg := rewritten["properties"].(map[string]any)["config"].(map[string]any)
	if _, ok := cfg["properties"].(map[string]any)["gainsight"]; !ok {
		t.Errorf("config schema not written: %v", cfg)
	}
}
