package charts

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// TestGoMemLimitLeavesHeadroom checks that GOMEMLIMIT is 90% of the memory
// limit: the pure-Go SQLite allocates its page cache outside the Go heap,
// so a GOMEMLIMIT equal to the limit lets the container be OOM-killed
// before the Go collector works hard.
func TestGoMemLimitLeavesHeadroom(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]any
		want      []string // every GOMEMLIMIT entry of the container, in order
		wantErr   string
	}{
		{name: "default 256Mi", want: []string{"241591910"}},
		{name: "1Gi", overrides: map[string]any{"resources.limits.memory": "1Gi"}, want: []string{"966367641"}},
		{name: "decimal 512M", overrides: map[string]any{"resources.limits.memory": "512M"}, want: []string{"460800000"}},
		{name: "fraction 0.5Gi", overrides: map[string]any{"resources.limits.memory": "0.5Gi"}, want: []string{"483183820"}},
		{name: "bytes as a number", overrides: map[string]any{"resources.limits.memory": 268435456}, want: []string{"241591910"}},
		{name: "bytes as text", overrides: map[string]any{"resources.limits.memory": "1000"}, want: []string{"900"}},
		{name: "no memory limit", overrides: map[string]any{"resources.limits": nil}, want: nil},
		{name: "set by hand in extraEnv", overrides: map[string]any{"extraEnv": []any{map[string]any{"name": "GOMEMLIMIT", "value": "100MiB"}}}, want: []string{"100MiB"}},
		{name: "quantity the chart cannot read", overrides: map[string]any{"resources.limits.memory": "256Mb"}, wantErr: "resources.limits.memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := render(t, "sb", []string{minimalValues}, tt.overrides)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("render error = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			var got []string
			for _, e := range only[*appsv1.Deployment](t, r.objs).Spec.Template.Spec.Containers[0].Env {
				if e.Name != "GOMEMLIMIT" {
					continue
				}
				if e.ValueFrom != nil {
					t.Errorf("GOMEMLIMIT from %+v, want a literal 90%% of the limit", e.ValueFrom)
				}
				got = append(got, e.Value)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("GOMEMLIMIT = %q, want %q", got, tt.want)
			}
		})
	}
}
