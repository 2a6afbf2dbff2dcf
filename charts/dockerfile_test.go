package charts

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDockerfile checks the image against what the chart and the Makefile
// expect; the image itself cannot be built without a container engine, but
// CI runs the same `go build` through `make build`.
func TestDockerfile(t *testing.T) {
	df := string(readRepoFile(t, "Dockerfile"))
	var froms []string
	var final []string // instructions of the last stage
	for _, line := range strings.Split(df, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "FROM ") {
			froms = append(froms, line)
			final = nil
		}
		final = append(final, line)
	}
	if len(froms) != 2 || !strings.Contains(froms[0], "golang:1.26") || !strings.HasSuffix(froms[1], "gcr.io/distroless/static-debian12:nonroot") {
		t.Errorf("stages = %v, want a golang:1.26 builder and distroless static nonroot", froms)
	}
	want := []string{
		"USER 65532:65532",
		`ENTRYPOINT ["/scim-bridge"]`,
		`CMD ["serve", "--config", "` + configPath + `"]`,
	}
	for _, w := range want {
		if !slices.Contains(final, w) {
			t.Errorf("final stage lacks %s", w)
		}
	}
	for _, l := range final {
		if strings.HasPrefix(l, "RUN ") {
			t.Errorf("final stage runs %q: the runtime image has no shell", l)
		}
	}
	if !strings.Contains(df, "CGO_ENABLED=0") {
		t.Errorf("build is not static (CGO_ENABLED=0 missing)")
	}
	flags := regexp.MustCompile(`(go|\$\(GO\)) build -trimpath -ldflags "-s -w -X main\.version=`)
	if !flags.MatchString(df) {
		t.Errorf("Dockerfile go build flags differ from the release build")
	}
	if mk := string(readRepoFile(t, "Makefile")); !flags.MatchString(mk) || !strings.Contains(mk, "./cmd/scim-bridge") {
		t.Errorf("Makefile's build target no longer uses the Dockerfile's go build flags")
	}
	if !strings.Contains(df, "./cmd/scim-bridge") {
		t.Errorf("Dockerfile does not build ./cmd/scim-bridge")
	}
}
