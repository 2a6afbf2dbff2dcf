package charts

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCIRunPostgres runs .ci/run's PostgreSQL setup for real, with a
// command of its own in place of `make test`, the way a fresh CI machine
// would: as root, with LANG naming a locale the machine lacks and TMPDIR a
// directory the postgres user cannot enter. The database must come up as
// UTF8, the command's exit code must come back, and nothing may be left in
// /tmp.
//
// It runs only where .ci/run itself runs (which sets
// SCIM_BRIDGE_TEST_CI_RUN=1): on a developer's machine, as root, it would
// install Debian packages.
func TestCIRunPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	if os.Getenv("SCIM_BRIDGE_TEST_CI_RUN") != "1" {
		t.Skip(".ci/run's own test (it installs Debian packages and starts PostgreSQL as root): runs under .ci/run, which sets SCIM_BRIDGE_TEST_CI_RUN=1")
	}
	if os.Geteuid() != 0 {
		t.Skip(".ci/run runs as root (it starts PostgreSQL as the postgres user)")
	}
	const pgbin = "/usr/lib/postgresql/15/bin"
	if _, err := os.Stat(filepath.Join(pgbin, "initdb")); err != nil {
		t.Skipf("PostgreSQL 15 is not installed: %v", err)
	}
	before, err := filepath.Glob("/tmp/scim-bridge-ci-pg.*")
	if err != nil {
		t.Fatal(err)
	}

	script := `set -e
echo "dsn=$SCIM_BRIDGE_TEST_POSTGRES_DSN"
` + pgbin + `/psql "$SCIM_BRIDGE_TEST_POSTGRES_DSN" -Atc 'show server_encoding' | sed 's/^/encoding=/'
exit 3`
	cmd := exec.Command(filepath.Join(repoRoot, ".ci", "run"), "sh", "-c", script)
	cmd.Env = append(os.Environ(), "LANG=xx_XX.UTF-8", "LC_ALL=", "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf(".ci/run sh -c …: %v, want exit status 3 (the command's)\n%s", err, out)
	}
	for _, want := range []string{"dsn=postgres://postgres@127.0.0.1:", "encoding=UTF8"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	after, err := filepath.Glob("/tmp/scim-bridge-ci-pg.*")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) > len(before) {
		t.Errorf("data directories left behind: %v (before: %v)", after, before)
	}
}
