package bridge_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The console's browser tests drive a real headless Chromium (Debian's
// chromium package) with chromedp. They skip when no Chromium is
// installed, unless SCIM_BRIDGE_REQUIRE_BROWSER=1 (set by .ci/run), which
// makes a missing browser a failure. Screenshots of each page go to
// $SCIM_BRIDGE_TEST_ARTIFACTS/console, or to
// $TMPDIR/scim-bridge-test-artifacts/console when that is unset.

// skipBrowser is the one message every browser test skips with.
const skipBrowser = "headless Chromium is not installed (apt-get install chromium); set SCIM_BRIDGE_REQUIRE_BROWSER=1 to fail instead"

func chromiumPath() string {
	if p := os.Getenv("SCIM_BRIDGE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns
// a chromedp context for one tab; it is stopped when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("SCIM_BRIDGE_REQUIRE_BROWSER") == "1" {
			t.Fatal("SCIM_BRIDGE_REQUIRE_BROWSER=1 but no Chromium is installed (apt-get install chromium)")
		}
		t.Skip(skipBrowser)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		// No network look-ups: the machine may have no internet, and
		// Chromium stalls on them otherwise.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first call starts the browser, which lives as long as ctx: no
	// timeout on it; each later step gets its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return ctx
}

// stepTimeout bounds one browse, read or screenshot.
const stepTimeout = 30 * time.Second

// run runs one action with a step timeout.
func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// artifactDir is where the browser tests write screenshots.
func artifactDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("SCIM_BRIDGE_TEST_ARTIFACTS")
	if base == "" {
		base = filepath.Join(os.TempDir(), "scim-bridge-test-artifacts")
	}
	dir := filepath.Join(base, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves the whole page as name.png in the artifact directory.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := run(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	path := filepath.Join(artifactDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// browse runs actions, failing the test with what it was doing.
func browse(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	run(t, ctx, what, chromedp.Steps(steps...))
}

// textOf returns the text of the first element sel matches.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(run(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}
