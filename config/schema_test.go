package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// schemaErrors checks v, as yaml.v3 decodes a document into any, against
// s: the subset of JSON Schema JSONSchema produces. A null is accepted
// anywhere, as the loader accepts it (and Helm drops null values).
func schemaErrors(s *Schema, v any, path string) []string {
	if v == nil {
		return nil
	}
	var kind string
	switch v.(type) {
	case map[string]any:
		kind = "object"
	case []any:
		kind = "array"
	case string:
		kind = "string"
	case bool:
		kind = "boolean"
	case int, int64, uint64:
		kind = "integer"
	case float64:
		kind = "number"
	default:
		return []string{fmt.Sprintf("%s: unexpected %T", path, v)}
	}
	if len(s.Type) > 0 && !slices.Contains(s.Type, kind) && !(kind == "integer" && slices.Contains(s.Type, "number")) {
		return []string{fmt.Sprintf("%s: %s, want %v", path, kind, s.Type)}
	}
	switch x := v.(type) {
	case string:
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(x) {
			return []string{fmt.Sprintf("%s: %q does not match %s", path, x, s.Pattern)}
		}
	case map[string]any:
		if s.Properties == nil {
			return nil
		}
		var errs []string
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			i := slices.IndexFunc(s.Properties, func(p Property) bool { return p.Name == k })
			if i < 0 {
				errs = append(errs, fmt.Sprintf("%s: unknown key", joinPath(path, k)))
				continue
			}
			errs = append(errs, schemaErrors(s.Properties[i].Schema, x[k], joinPath(path, k))...)
		}
		return errs
	case []any:
		var errs []string
		for i, e := range x {
			errs = append(errs, schemaErrors(s.Items, e, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	}
	return nil
}

// TestSchemaAgreesWithTheLoader runs every testdata file and the example
// through both the loader's decoding and the schema: a file whose keys and
// value shapes the loader refuses must fail the schema, and one it decodes
// must pass it.
func TestSchemaAgreesWithTheLoader(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "example.yaml")
	schema := JSONSchema()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg := Default()
			anyValue := func(string) (string, bool) { return "1", true }
			decodeErrs, decodeErr := decode(data, &cfg, anyValue)
			var doc any
			if err := yaml.Unmarshal(data, &doc); err != nil {
				// Not one plain YAML document (a repeated key, several
				// documents): no schema sees it, and the loader refuses it.
				if decodeErr == nil && len(decodeErrs) == 0 {
					t.Errorf("YAML decoding refuses the file (%v) but the loader accepts it", err)
				}
				return
			}
			if decodeErr != nil {
				t.Fatalf("the loader cannot parse a file YAML decodes: %v", decodeErr)
			}
			var shapeErrs []string
			for _, e := range decodeErrs {
				if !strings.Contains(e.Message, "variable reference") && !strings.Contains(e.Message, "one YAML document") {
					shapeErrs = append(shapeErrs, e.Error())
				}
			}
			// Enumerated settings decode as any string; Validate refuses
			// the values the schema refuses.
			var validateErrs ValidationErrors
			if len(shapeErrs) == 0 {
				_, err := parse(data, "testdata", anyValue)
				errors.As(err, &validateErrs)
			}
			var schemaErrs []string
			for _, e := range schemaErrors(schema, doc, "") {
				path, _, _ := strings.Cut(e, ": ")
				if len(shapeErrs) == 0 && slices.ContainsFunc(validateErrs, func(fe FieldError) bool { return fe.Path == path }) {
					continue
				}
				schemaErrs = append(schemaErrs, e)
			}
			if (len(shapeErrs) == 0) != (len(schemaErrs) == 0) {
				t.Errorf("loader: %q\nschema: %q", shapeErrs, schemaErrs)
			}
		})
	}
}

// TestSchemaRefusesWhatTheLoaderRefuses feeds single settings to both.
func TestSchemaRefusesWhatTheLoaderRefuses(t *testing.T) {
	tests := []struct {
		yaml    string
		loader  bool   // the loader decodes it
		schemaE string // the schema's one error, "" for none
	}{
		{"gainsight: {baseUrl: https://x.example}", false, "gainsight.baseUrl: unknown key"},
		{"groups: [{displayName: A, licence: Full}]", false, "groups[0].licence: unknown key"},
		{"google: {orgUnit: [/a]}", false, "google.orgUnit: unknown key"},
		{"sync: {reconcileInterval: 0}", false, "sync.reconcileInterval: integer"},
		{"sync: {reconcileInterval: 0s}", true, ""},
		{"sync: {reconcileInterval: '0'}", true, ""},
		{"sync: {lease: five minutes}", false, "sync.lease"},
		{"sync:\n  lease: ${LEASE}", true, ""},
		{"gainsight: {batchSize: 20}", true, ""},
		{"gainsight: {batchSize: many}", false, "gainsight.batchSize"},
		{"gainsight:\n  batchSize: ${N}", true, ""},
		{"gainsight:\n  batchSize: '${N}'", false, ""}, // quoted: the loader refuses, the schema cannot tell
		{"gainsight: {timeout: 30}", false, "gainsight.timeout"},
		{"log: {level: 3}", true, "log.level"}, // decoded, then refused by Validate
		{"groups: [{displayName: A, superAdmin: yes please}]", false, "groups[0].superAdmin"},
		{"groups: [{displayName: A, superAdmin: true, fields: {Region__gc: [US]}}]", true, ""},
		{"store: {type: mysql}", true, "store.type"},
		{"store: {sqlite: [a]}", false, "store.sqlite: array"},
		{"roles: Admin", false, "roles: string"},
	}
	schema := JSONSchema()
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			cfg := Default()
			env := func(name string) (string, bool) {
				if name == "N" {
					return "7", true
				}
				return "1m", true
			}
			errs, err := decode([]byte(tt.yaml), &cfg, env)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(errs) == 0; got != tt.loader {
				t.Errorf("loader decodes it: %v, want %v (%v)", got, tt.loader, errs)
			}
			var doc any
			if err := yaml.Unmarshal([]byte(tt.yaml), &doc); err != nil {
				t.Fatal(err)
			}
			serrs := schemaErrors(schema, doc, "")
			switch {
			case tt.schemaE == "" && len(serrs) > 0:
				t.Errorf("schema refuses it: %v", serrs)
			case tt.schemaE != "" && (len(serrs) != 1 || !strings.Contains(serrs[0], tt.schemaE)):
				t.Errorf("schema errors %q, want one containing %q", serrs, tt.schemaE)
			}
		})
	}
}

// TestSchemaEnumsMatchValidate keeps schemaEnums equal to the values
// Validate accepts: each listed value passes, and "" (unless listed) and an
// unknown value fail at the setting's path.
func TestSchemaEnumsMatchValidate(t *testing.T) {
	// A valid file with the setting as %s; the path is the setting's in
	// Validate's messages.
	docs := map[string]struct{ yaml, path string }{
		"gainsight.api":                  {"gainsight: {api: %q, defaultRole: User}", "gainsight.api"},
		"store.type":                     {"store: {type: %q, postgres: {dsn: 'postgres://u@h/db'}}", "store.type"},
		"mapping.userNameField":          {"mapping: {userNameField: %q}", "mapping.userNameField"},
		"customFields[].type":            {"customFields: [{name: X__gc, type: %q}]", "customFields[0].type"},
		"deprovision.onNoProfiledGroups": {"deprovision: {onNoProfiledGroups: %q}", "deprovision.onNoProfiledGroups"},
		"log.level":                      {"log: {level: %q}", "log.level"},
		"google.scope":                   {"google: {credentialsFile: k.json, subject: a@x.example, customer: c, scope: %q, orgUnits: [/a]}", "google.scope"},
		"sync.snapshot":                  {"sync: {snapshot: %q}", "sync.snapshot"},
		"sync.mode":                      {"sync: {mode: %q}", "sync.mode"},
	}
	var enumPaths, docPaths []string
	for p := range schemaEnums {
		enumPaths = append(enumPaths, p)
	}
	for p := range docs {
		docPaths = append(docPaths, p)
	}
	sort.Strings(enumPaths)
	sort.Strings(docPaths)
	if !slices.Equal(enumPaths, docPaths) {
		t.Fatalf("enumerated settings %v, tested %v: add a test document for each", enumPaths, docPaths)
	}
	base := "scim: {tokens: [{name: t, sha256: " + strings.Repeat("ab", 32) + "}]}\ngainsight: {baseURL: https://x.example, accessKey: k}\n"
	for path, d := range docs {
		for _, v := range append([]string{"", "bogus"}, schemaEnums[path]...) {
			t.Run(path+"="+v, func(t *testing.T) {
				doc := base + fmt.Sprintf(d.yaml, v) + "\n"
				// The base's sections come first; a second mapping key of
				// the same name would be a duplicate, so merge by decoding.
				var merged map[string]any
				var extra map[string]any
				if err := yaml.Unmarshal([]byte(base), &merged); err != nil {
					t.Fatal(err)
				}
				if err := yaml.Unmarshal([]byte(fmt.Sprintf(d.yaml, v)), &extra); err != nil {
					t.Fatal(err)
				}
				for k, ev := range extra {
					if bm, ok := merged[k].(map[string]any); ok {
						for kk, vv := range ev.(map[string]any) {
							bm[kk] = vv
						}
						continue
					}
					merged[k] = ev
				}
				raw, err := yaml.Marshal(merged)
				if err != nil {
					t.Fatal(err)
				}
				_, err = parse(raw, t.TempDir(), func(string) (string, bool) { return "", false })
				var verrs ValidationErrors
				errors.As(err, &verrs)
				refused := false
				for _, fe := range verrs {
					if fe.Path == d.path {
						refused = true
					}
				}
				if want := !slices.Contains(schemaEnums[path], v); refused != want {
					t.Errorf("Validate refuses %s=%q: %v, want %v\n%s\n%v", d.path, v, refused, want, doc, err)
				}
			})
		}
	}
}

// TestDurationPatternIsParseDuration compares the schema's duration pattern
// with time.ParseDuration.
func TestDurationPatternIsParseDuration(t *testing.T) {
	re := regexp.MustCompile(durationPattern)
	for _, s := range []string{
		"0", "-0", "+0", "0s", "1h", "90s", "1h30m", "1.5h", ".5s", "1.s", "300ms", "10us", "10µs", "10μs", "5ns",
		"-1m", "+2h", "", "s", "1", "10", "1d", "1 h", "h1", "1h-2m", "1.2.3s", "--1s", "1hh", "0x10s", "∞",
	} {
		_, err := time.ParseDuration(s)
		if got := re.MatchString(s); got != (err == nil) {
			t.Errorf("%q: pattern matches %v, ParseDuration error %v", s, got, err)
		}
	}
}
