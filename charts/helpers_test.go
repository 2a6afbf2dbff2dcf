package charts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/charts/internal/manifests"
)

const (
	chartDir  = "scim-bridge"
	namespace = "idm"
	repoRoot  = ".."
)

// rendering is the outcome of a client-only dry-run install.
type rendering struct {
	objs  []manifests.Object
	notes string
}

// loadChart loads the chart from disk.
func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

// readValues merges value files (paths relative to the chart) and then the
// overrides, later ones winning, like `helm install -f a -f b --set …`.
func readValues(t *testing.T, files []string, overrides map[string]any) map[string]any {
	t.Helper()
	vals := map[string]any{}
	for _, f := range files {
		v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, f))
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		vals = mergeMaps(vals, v.AsMap())
	}
	for path, value := range overrides {
		vals = mergeMaps(vals, nested(path, value))
	}
	return vals
}

// render installs the chart client-only (schema validation included) and
// strictly decodes every rendered object.
func render(t *testing.T, release string, files []string, overrides map[string]any) (*rendering, error) {
	t.Helper()
	vals := readValues(t, files, overrides)
	inst := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	inst.DryRun = true
	inst.DryRunOption = "client"
	inst.ClientOnly = true
	inst.Replace = true
	inst.ReleaseName = release
	inst.Namespace = namespace
	inst.KubeVersion = &chartutil.KubeVersion{Version: "v1.33.0", Major: "1", Minor: "33"}
	inst.APIVersions = chartutil.VersionSet{"monitoring.coreos.com/v1"}
	rel, err := inst.RunWithContext(context.Background(), loadChart(t), vals)
	if err != nil {
		return nil, err
	}
	dec, err := manifests.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := dec.DecodeAll([]byte(rel.Manifest))
	if err != nil {
		t.Fatalf("decode rendered manifests: %v\n%s", err, rel.Manifest)
	}
	for _, h := range rel.Hooks {
		t.Fatalf("unexpected hook %s", h.Path)
	}
	return &rendering{objs: objs, notes: rel.Info.Notes}, nil
}

// mustRender is render that fails the test on error.
func mustRender(t *testing.T, release string, files []string, overrides map[string]any) *rendering {
	t.Helper()
	r, err := render(t, release, files, overrides)
	if err != nil {
		t.Fatalf("render %v %v: %v", files, overrides, err)
	}
	return r
}

// kinds lists the rendered kinds, sorted.
func (r *rendering) kinds() []string {
	var k []string
	for _, o := range r.objs {
		k = append(k, o.GVK.Kind)
	}
	sort.Strings(k)
	return k
}

// all returns every rendered object of type T.
func all[T runtime.Object](objs []manifests.Object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.Obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// only returns the single rendered object of type T.
func only[T runtime.Object](t *testing.T, objs []manifests.Object) T {
	t.Helper()
	got := all[T](objs)
	if len(got) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, got %d", zero, len(got))
	}
	return got[0]
}

// nested turns "a.b.c" = v into {"a": {"b": {"c": v}}}.
func nested(path string, v any) map[string]any {
	parts := strings.Split(path, ".")
	m := map[string]any{parts[len(parts)-1]: v}
	for i := len(parts) - 2; i >= 0; i-- {
		m = map[string]any{parts[i]: m}
	}
	return m
}

// mergeMaps merges b into a copy of a, recursing into maps.
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// readRepoFile reads a file relative to the repository root.
func readRepoFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}

// yamlUnmarshal decodes YAML text into v.
func yamlUnmarshal(s string, v any) error {
	return yaml.Unmarshal([]byte(s), v)
}
