package charts

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/charts/internal/manifests"
)

// buildKustomize builds a kustomization directory (relative to the
// repository root) and strictly decodes the result.
func buildKustomize(t *testing.T, dir string) []manifests.Object {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(repoRoot, dir))
	if err != nil {
		t.Fatal(err)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := manifests.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := dec.DecodeAll(out)
	if err != nil {
		t.Fatalf("decode kustomize output: %v\n%s", err, out)
	}
	return objs
}

func TestKustomizeBaseMatchesChartDefaults(t *testing.T) {
	base := buildKustomize(t, "deploy/kustomize/base")
	chart := mustRender(t, "scim-bridge", []string{minimalValues}, nil)

	hashSuffix := regexp.MustCompile(`-[a-z0-9]{10}$`)
	got := normaliseAll(t, base, func(name string) string { return hashSuffix.ReplaceAllString(name, "") })
	want := normaliseAll(t, chart.objs, func(name string) string { return name })

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kustomize base differs from the chart's defaults (-chart +kustomize):\n%s", diff)
	}

	// The base gets the same pod hardening and wiring checks as the chart.
	tc := chartCases[0]
	tc.secretName, tc.claimName = "scim-bridge", "scim-bridge"
	r := &rendering{objs: base}
	dep := only[*appsv1.Deployment](t, base)
	checkProbesAndPorts(t, dep)
	checkConfig(t, r, tc)
	for _, v := range dep.Spec.Template.Spec.Volumes {
		switch {
		case v.ConfigMap != nil && !hashSuffix.MatchString(v.ConfigMap.Name):
			t.Errorf("config volume %q does not use the generated ConfigMap", v.ConfigMap.Name)
		case v.Secret != nil && !hashSuffix.MatchString(v.Secret.SecretName):
			t.Errorf("secret volume %q does not use the generated Secret", v.Secret.SecretName)
		}
	}
}

// normaliseAll turns objects into comparable maps keyed by kind/name: it
// drops what only Helm sets (chart labels, checksum annotations, the
// namespace), maps generated names through rename and parses config.yaml.
func normaliseAll(t *testing.T, objs []manifests.Object, rename func(string) string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, o := range objs {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o.Obj)
		if err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{Object: u}
		obj.SetNamespace("")
		obj.SetName(rename(obj.GetName()))
		labels := obj.GetLabels()
		delete(labels, "helm.sh/chart")
		delete(labels, "app.kubernetes.io/managed-by")
		obj.SetLabels(labels)
		unstructured.RemoveNestedField(obj.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(obj.Object, "status")
		switch o.GVK.Kind {
		case "Deployment":
			// Checksum annotations are Helm's way of rolling pods; kustomize
			// rolls them through the generated names.
			unstructured.RemoveNestedField(obj.Object, "spec", "template", "metadata", "annotations")
			unstructured.RemoveNestedField(obj.Object, "spec", "template", "metadata", "creationTimestamp")
			vols, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "volumes")
			for _, v := range vols {
				vm := v.(map[string]any)
				if cm, ok := vm["configMap"].(map[string]any); ok {
					cm["name"] = rename(cm["name"].(string))
				}
				if s, ok := vm["secret"].(map[string]any); ok {
					s["secretName"] = rename(s["secretName"].(string))
				}
			}
			if err := unstructured.SetNestedSlice(obj.Object, vols, "spec", "template", "spec", "volumes"); err != nil {
				t.Fatal(err)
			}
		case "Secret":
			// The base's Secret is a template an overlay replaces: only
			// its keys compare.
			data, _, _ := unstructured.NestedMap(obj.Object, "data")
			for k := range data {
				data[k] = ""
			}
			obj.Object["data"] = data
		case "ConfigMap":
			raw, _, _ := unstructured.NestedString(obj.Object, "data", "config.yaml")
			var cfg any
			if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
				t.Fatalf("%s config.yaml: %v", obj.GetName(), err)
			}
			obj.Object["data"] = map[string]any{"config.yaml": cfg}
		}
		out[o.GVK.Kind+"/"+obj.GetName()] = obj.Object
	}
	return out
}
