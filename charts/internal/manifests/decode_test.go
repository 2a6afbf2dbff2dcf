package manifests

import (
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestDecodeAll(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantKinds []string
		wantErr   string
	}{
		{
			name: "several kinds and empty documents",
			in: `# Source: a
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  a: b
---
# only a comment
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
        - name: c
          image: i
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: sm
spec:
  selector: {}
  endpoints:
    - port: admin
`,
			wantKinds: []string{"ConfigMap", "Deployment", "ServiceMonitor"},
		},
		{
			name: "unknown field",
			in: `apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
datta:
  a: b
`,
			wantErr: `unknown field "datta"`,
		},
		{
			name: "unknown nested field",
			in: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
        - name: c
          livenesProbe: {}
`,
			wantErr: `livenesProbe`,
		},
		{
			name: "duplicate field",
			in: `apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
  name: cm2
`,
			wantErr: `already set`,
		},
		{
			name: "unknown kind",
			in: `apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
`,
			wantErr: `Widget`,
		},
		{
			name: "missing name",
			in: `apiVersion: v1
kind: ConfigMap
metadata: {}
`,
			wantErr: `metadata.name is empty`,
		},
	}
	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := d.DecodeAll([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DecodeAll() error = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeAll() error = %v", err)
			}
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.GVK.Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(tt.wantKinds, ",") {
				t.Fatalf("kinds = %v, want %v", kinds, tt.wantKinds)
			}
		})
	}
}

func TestDecodeAllTypes(t *testing.T) {
	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := d.DecodeAll([]byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: r}
spec:
  groups:
    - name: g
      rules:
        - alert: A
          expr: up == 0
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := objs[0].Obj.(*corev1.ConfigMap); !ok {
		t.Errorf("objs[0] is %T", objs[0].Obj)
	}
	if _, ok := objs[1].Obj.(*appsv1.Deployment); !ok {
		t.Errorf("objs[1] is %T", objs[1].Obj)
	}
	pr, ok := objs[2].Obj.(*monitoringv1.PrometheusRule)
	if !ok {
		t.Fatalf("objs[2] is %T", objs[2].Obj)
	}
	if got := pr.Spec.Groups[0].Rules[0].Expr.String(); got != "up == 0" {
		t.Errorf("expr = %q", got)
	}
}
