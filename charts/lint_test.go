package charts

import (
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint/support"
)

// TestHelmLint runs `helm lint --strict` for the defaults and each CI
// values file; anything above an informational message fails.
func TestHelmLint(t *testing.T) {
	for _, tc := range chartCases {
		name := tc.file
		var files []string
		if name == "" {
			name = "defaults"
		} else {
			files = []string{tc.file}
		}
		t.Run(name, func(t *testing.T) {
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = namespace
			lint.KubeVersion = &chartutil.KubeVersion{Version: "v1.33.0", Major: "1", Minor: "33"}
			res := lint.Run([]string{chartDir}, readValues(t, files, nil))
			for _, m := range res.Messages {
				if m.Severity > support.InfoSev {
					t.Errorf("lint: %s", m)
				} else {
					t.Logf("lint: %s", m)
				}
			}
			for _, err := range res.Errors {
				t.Errorf("lint error: %v", err)
			}
		})
	}
}
