package charts

import (
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// workflow is the part of a GitHub Actions workflow the tests read.
type workflow struct {
	On   map[string]any    `yaml:"on"`
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		Uses           string            `yaml:"uses"`
		Needs          any               `yaml:"needs"`
		RunsOn         string            `yaml:"runs-on"`
		Container      any               `yaml:"container"`
		TimeoutMinutes int               `yaml:"timeout-minutes"`
		Permissions    map[string]string `yaml:"permissions"`
		Steps          []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]any    `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func loadWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	var w workflow
	if err := yaml.Unmarshal(readRepoFile(t, ".github/workflows/"+name), &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

// needs returns a job's needs as a list.
func needsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}

// TestWorkflowsLint runs actionlint on every workflow: the syntax, the jobs'
// needs, expressions and the inputs of well-known actions. (It runs
// shellcheck on run: scripts too when shellcheck is installed.)
func TestWorkflowsLint(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, ".github", "workflows", "*.yml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("workflows %v: %v", files, err)
	}
	opts := &actionlint.LinterOptions{LogWriter: io.Discard}
	if p, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = p
	}
	linter, err := actionlint.NewLinter(io.Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := linter.LintFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
	// The linter does find mistakes: a job needing one that does not exist
	// and an unknown action input.
	broken := []byte("on: push\njobs:\n  a:\n    needs: b\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n        with: {refs: main}\n")
	if errs, err := linter.Lint("broken.yml", broken, nil); err != nil || len(errs) < 2 {
		t.Errorf("actionlint on a broken workflow: %d errors, %v", len(errs), err)
	}
}

// TestReleaseWorkflow reads the release workflow: on a version tag it runs
// the tests, builds the image for amd64 and arm64 with the Dockerfile,
// pushes it to the repository the chart's values name, signs it, then
// packages, pushes and signs the chart.
func TestReleaseWorkflow(t *testing.T) {
	w := loadWorkflow(t, "release.yml")
	push, _ := w.On["push"].(map[string]any)
	if tags, _ := push["tags"].([]any); len(tags) == 0 || !strings.HasPrefix(tags[0].(string), "v") {
		t.Errorf("on.push.tags = %v, want version tags", push["tags"])
	}
	if len(w.On) != 1 {
		t.Errorf("release runs on %v, want only tag pushes", w.On)
	}

	var values struct {
		Image struct {
			Repository string `yaml:"repository"`
		} `yaml:"image"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "charts/scim-bridge/values.yaml"), &values); err != nil {
		t.Fatal(err)
	}
	if w.Env["IMAGE"] != values.Image.Repository {
		t.Errorf("release pushes %q, the chart pulls %q", w.Env["IMAGE"], values.Image.Repository)
	}
	registry, _, _ := strings.Cut(values.Image.Repository, "/")
	if !strings.HasPrefix(w.Env["CHART_REPOSITORY"], "oci://"+registry+"/") {
		t.Errorf("CHART_REPOSITORY = %q, want an OCI repository on %s", w.Env["CHART_REPOSITORY"], registry)
	}

	if got := w.Jobs["test"].Uses; got != "./.github/workflows/ci.yml" {
		t.Errorf("test job uses %q, want the CI workflow", got)
	}

	image, ok := w.Jobs["image"]
	if !ok {
		t.Fatal("no image job")
	}
	if !slices.Contains(needsOf(image.Needs), "test") {
		t.Errorf("image job needs %v, want test", image.Needs)
	}
	for perm, want := range map[string]string{"packages": "write", "id-token": "write"} {
		if image.Permissions[perm] != want {
			t.Errorf("image job permission %s = %q, want %q (push, keyless signing)", perm, image.Permissions[perm], want)
		}
	}
	var built, signed, buildx bool
	for _, s := range image.Steps {
		switch {
		case strings.HasPrefix(s.Uses, "docker/setup-buildx-action@"):
			buildx = true
		case strings.HasPrefix(s.Uses, "docker/build-push-action@"):
			built = true
			platforms, _ := s.With["platforms"].(string)
			for _, p := range []string{"linux/amd64", "linux/arm64"} {
				if !strings.Contains(platforms, p) {
					t.Errorf("image platforms %q lack %s", platforms, p)
				}
			}
			if s.With["push"] != true {
				t.Errorf("build-push-action push = %v", s.With["push"])
			}
			if ctx := s.With["context"]; ctx != "." {
				t.Errorf("build context %v, want the repository root (the Dockerfile)", ctx)
			}
			if args, _ := s.With["build-args"].(string); !strings.Contains(args, "VERSION=") {
				t.Errorf("build-args %q do not set VERSION", args)
			}
		case strings.Contains(s.Run, "cosign sign") && strings.Contains(s.Run, "${IMAGE}@${DIGEST}"):
			signed = true
		}
	}
	if !buildx || !built || !signed {
		t.Errorf("image job: buildx %v, build and push %v, cosign sign by digest %v", buildx, built, signed)
	}

	chart, ok := w.Jobs["chart"]
	if !ok {
		t.Fatal("no chart job")
	}
	if !slices.Contains(needsOf(chart.Needs), "image") {
		t.Errorf("chart job needs %v, want image (the chart must not name an image that is not there)", chart.Needs)
	}
	var run strings.Builder
	for _, s := range chart.Steps {
		run.WriteString(s.Run + "\n")
	}
	for _, want := range []string{
		"helm package charts/scim-bridge --version \"$version\" --app-version \"$version\"",
		"helm push ",
		"\"$CHART_REPOSITORY\"",
		"cosign sign --yes",
	} {
		if !strings.Contains(run.String(), want) {
			t.Errorf("chart job does not run %s", want)
		}
	}
	if chart.Permissions["id-token"] != "write" || chart.Permissions["packages"] != "write" {
		t.Errorf("chart job permissions %v", chart.Permissions)
	}
}

// TestCIWorkflow reads the CI workflow: it runs .ci/run, in the builder
// image of the Dockerfile, within the time CI is allowed.
func TestCIWorkflow(t *testing.T) {
	w := loadWorkflow(t, "ci.yml")
	for _, trigger := range []string{"push", "pull_request", "workflow_call"} {
		if _, ok := w.On[trigger]; !ok {
			t.Errorf("CI does not run on %s", trigger)
		}
	}
	job, ok := w.Jobs["test"]
	if !ok {
		t.Fatal("no test job")
	}
	if job.TimeoutMinutes == 0 || job.TimeoutMinutes > 90 {
		t.Errorf("timeout-minutes = %d, want at most 90", job.TimeoutMinutes)
	}
	var ran bool
	for _, s := range job.Steps {
		if strings.TrimSpace(s.Run) == ".ci/run" {
			ran = true
		}
	}
	if !ran {
		t.Errorf("CI does not run .ci/run")
	}
	var builder string
	for _, line := range strings.Split(string(readRepoFile(t, "Dockerfile")), "\n") {
		if strings.HasPrefix(line, "FROM ") {
			builder = fromImage(line)
			break
		}
	}
	if job.Container != builder {
		t.Errorf("CI container %v, Dockerfile builder %s: CI must test with the Go and Debian that build the image", job.Container, builder)
	}
}

// TestDependabot checks that updates are proposed for both Go modules, the
// Dockerfile's base images and the workflows' actions.
func TestDependabot(t *testing.T) {
	var cfg struct {
		Version int `yaml:"version"`
		Updates []struct {
			Ecosystem string `yaml:"package-ecosystem"`
			Directory string `yaml:"directory"`
			Schedule  struct {
				Interval string `yaml:"interval"`
			} `yaml:"schedule"`
		} `yaml:"updates"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, ".github/dependabot.yml"), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Version != 2 {
		t.Errorf("version = %d, want 2", cfg.Version)
	}
	var got []string
	for _, u := range cfg.Updates {
		if u.Schedule.Interval == "" {
			t.Errorf("%s %s has no schedule", u.Ecosystem, u.Directory)
		}
		got = append(got, u.Ecosystem+" "+u.Directory)
	}
	for _, want := range []string{"gomod /", "gomod /charts", "docker /", "github-actions /"} {
		if !slices.Contains(got, want) {
			t.Errorf("dependabot updates %v, missing %s", got, want)
		}
	}
}
