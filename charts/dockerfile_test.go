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
	for _, line := range strings.Split(strings.ReplaceAll(df, "\\\n", " "), "\n") {
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
	if len(froms) != 2 {
		t.Fatalf("stages = %v, want a builder and the runtime image", froms)
	}
	builder, runtime := fromImage(froms[0]), fromImage(froms[1])
	goVersion := goDirective(t)
	if !strings.HasPrefix(builder, "golang:"+goVersion+"-") && !strings.HasPrefix(builder, "golang:"+goVersion+"@") {
		t.Errorf("builder image %s is not Go %s, the version go.mod names", builder, goVersion)
	}
	if !strings.HasPrefix(runtime, "gcr.io/distroless/static-debian12:nonroot@") {
		t.Errorf("runtime image = %s, want distroless static nonroot", runtime)
	}
	// Pinned by digest: a tag can move under a rebuild of the same source.
	pinned := regexp.MustCompile(`^[^@\s]+:[^@\s]+@sha256:[0-9a-f]{64}$`)
	for _, img := range []string{builder, runtime} {
		if !pinned.MatchString(img) {
			t.Errorf("base image %s is not pinned by digest (name:tag@sha256:…)", img)
		}
	}
	if !strings.Contains(froms[0], "--platform=$BUILDPLATFORM") {
		t.Errorf("builder %q does not run on the build platform: a multi-arch build would emulate it", froms[0])
	}
	for _, label := range []string{"org.opencontainers.image.source=", "org.opencontainers.image.version=\"${VERSION}\"", "org.opencontainers.image.revision=\"${REVISION}\"", "org.opencontainers.image.title="} {
		if !strings.Contains(strings.Join(final, "\n"), label) {
			t.Errorf("final stage lacks the OCI label %s", label)
		}
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

// fromImage returns the image of a FROM line, without flags and stage name.
func fromImage(from string) string {
	for _, f := range strings.Fields(from)[1:] {
		if !strings.HasPrefix(f, "--") {
			return f
		}
	}
	return ""
}

// goDirective returns the go directive of the main module's go.mod.
func goDirective(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(readRepoFile(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}
