package config

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// configKeys returns every key path of a configuration type, as
// "gainsight.budget.perHour" and "groups[].roles"; maps end the path.
func configKeys(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		configKeys(t.Elem(), prefix+"[]", out)
	case reflect.Struct:
		if t.PkgPath() != reflect.TypeFor[Config]().PkgPath() {
			return // time.Duration and the like are scalars
		}
		for i := 0; i < t.NumField(); i++ {
			key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if key == "" || key == "-" {
				continue
			}
			p := joinPath(prefix, key)
			out[p] = true
			configKeys(t.Field(i).Type, p, out)
		}
	}
}

// nodeKeys returns every key path written in a YAML mapping.
func nodeKeys(n *yaml.Node, prefix string, out map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			nodeKeys(c, prefix, out)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			nodeKeys(c, prefix+"[]", out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := joinPath(prefix, n.Content[i].Value)
			out[p] = true
			if !strings.HasSuffix(p, ".fields") || !strings.HasPrefix(p, "groups[]") {
				nodeKeys(n.Content[i+1], p, out)
			}
		}
	}
}

// uncommentGoogle returns example.yaml with its commented-out google
// section enabled.
func uncommentGoogle(t *testing.T, data []byte) []byte {
	t.Helper()
	lines := strings.Split(string(data), "\n")
	start := -1
	for i, l := range lines {
		if l == "# google:" {
			start = i
		}
	}
	if start < 0 {
		t.Fatal(`example.yaml has no commented-out "# google:" section`)
	}
	for i := start; i < len(lines) && strings.HasPrefix(lines[i], "# "); i++ {
		lines[i] = strings.TrimPrefix(lines[i], "# ")
	}
	return []byte(strings.Join(lines, "\n"))
}

// TestExampleShowsEveryKey keeps the promise at the top of example.yaml:
// every configuration key is shown (the optional google section commented
// out), and that section, enabled, is a valid configuration too.
func TestExampleShowsEveryKey(t *testing.T) {
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data = uncommentGoogle(t, data)
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatalf("example.yaml with google enabled: %v", err)
	}
	shown := map[string]bool{}
	nodeKeys(&root, "", shown)
	want := map[string]bool{}
	configKeys(reflect.TypeFor[Config](), "", want)

	var missing []string
	for k := range want {
		// A secret is set inline or from a file, not both: the …File
		// alternative is named in the comment beside the inline key.
		if !shown[k] && !(strings.HasSuffix(k, "File") && commentNames(data, k)) {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("example.yaml does not show %s", strings.Join(missing, ", "))
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "google-sa.json"), "{}")
	if _, err := parse(data, dir, envMap(map[string]string{"SCIM_BRIDGE_GAINSIGHT_ACCESS_KEY": "k"})); err != nil {
		t.Errorf("example.yaml with google enabled: %v", err)
	}
}

// commentNames reports whether a comment in data names the last key of
// path (as "Or accessKeyFile" does).
func commentNames(data []byte, path string) bool {
	key := path[strings.LastIndexByte(path, '.')+1:]
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "#"); i >= 0 && strings.Contains(line[i:], key) {
			return true
		}
	}
	return false
}
