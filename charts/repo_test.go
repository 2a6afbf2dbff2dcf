package charts

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGoModTidy fails when a module's go.mod or go.sum is not what
// `go mod tidy` makes of it (a directly imported module marked indirect, a
// requirement nothing uses).
func TestGoModTidy(t *testing.T) {
	for _, dir := range []string{".", "charts"} {
		t.Run(dir, func(t *testing.T) {
			cmd := exec.Command("go", "mod", "tidy", "-diff")
			cmd.Dir = filepath.Join(repoRoot, dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("go mod tidy -diff in %s: %v (run go mod tidy there)\n%s", dir, err, out)
			}
		})
	}
}

// TestMakeTestReportsSkips reads what `make test` runs: both test runs go
// through testreport, which records their skipped tests, and the last step
// lists them; `make unit` alone lists its own.
func TestMakeTestReportsSkips(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skipf("make not on PATH: %v", err)
	}
	dryRun := func(target string) []string {
		t.Helper()
		cmd := exec.Command("make", "-n", "--no-print-directory", target)
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	lines := dryRun("test")
	var unit, chart string
	for _, l := range lines {
		switch {
		case strings.Contains(l, "go test -json") && strings.Contains(l, "skipped-unit.txt"):
			unit = l
		case strings.Contains(l, "go test -json") && strings.Contains(l, "skipped-chart.txt"):
			chart = l
		}
	}
	for name, l := range map[string]string{"unit": unit, "chart": chart} {
		if !strings.Contains(l, "| ") || !strings.Contains(l, "testreport -skipped ") {
			t.Errorf("make test's %s run does not go through testreport: %q", name, l)
		}
		if strings.Contains(l, "-list-skipped") {
			t.Errorf("make test's %s run lists its skips itself: %q", name, l)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, "testreport -list bin/skipped-unit.txt bin/skipped-chart.txt") {
		t.Errorf("make test does not end by listing the skipped tests: %q", last)
	}
	var listed bool
	for _, l := range dryRun("unit") {
		listed = listed || strings.Contains(l, "testreport -skipped bin/skipped-unit.txt -list-skipped")
	}
	if !listed {
		t.Errorf("make unit alone does not list its skipped tests")
	}
}

// TestReadmeGoVersion checks that the README asks for the Go version go.mod
// names: with GOTOOLCHAIN=local an older Go does not build the module.
func TestReadmeGoVersion(t *testing.T) {
	want := goDirective(t)
	m := regexp.MustCompile("`make test` needs Go ([0-9.]+)").FindStringSubmatch(string(readRepoFile(t, "README.md")))
	if m == nil {
		t.Fatal("README does not say which Go `make test` needs")
	}
	if m[1] != want {
		t.Errorf("README asks for Go %s, go.mod says %s", m[1], want)
	}
}
