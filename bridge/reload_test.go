package bridge_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// reloadableConfig is a config file for the harness's simulator, with the
// licence of the "Gainsight Viewers" profile as a parameter.
func reloadableConfig(simURL, dbPath, license string) string {
	return fmt.Sprintf(`
listen: {scim: "127.0.0.1:0", admin: "127.0.0.1:0"}
scim:
  tokens: [{name: test, sha256: %q}]
gainsight: {baseURL: %q, accessKey: %q}
store: {sqlite: {path: %q}}
sync: {batchWindow: 50ms, minBackoff: 50ms, maxBackoff: 500ms}
groups:
  - {name: viewers, displayName: Gainsight Viewers, licenseType: %s}
`, config.HashToken(testToken), simURL, testAccessKey, dbPath, license)
}

// TestConfigFileReload edits the config file under a running bridge: an
// invalid edit changes nothing; a valid one re-plans exactly the members of
// the changed profile's group.
func TestConfigFileReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	db := filepath.Join(dir, "bridge.db")
	// The simulator's URL is only known once it runs: start a harness on
	// a config struct, then write the same settings to the file it
	// watches (a placeholder until then, so the watcher has a baseline).
	if err := os.WriteFile(path, []byte("# written below\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHarness(t, harnessOpts{dbPath: db, configure: func(c *config.Config) {
		c.Groups = []config.GroupProfile{{Name: "viewers", DisplayName: "Gainsight Viewers", LicenseType: "Viewer"}}
	}, configPath: path})
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path+".tmp", []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	success := func() float64 { return metricValue(h, `scim_bridge_config_reloads_total{result="success"}`) }
	failure := func() float64 { return metricValue(h, `scim_bridge_config_reloads_total{result="failure"}`) }
	write(reloadableConfig(h.simURL, db, "Viewer"))
	waitFor(t, func() bool { return success() >= 1 })

	member := h.createUser(userDoc("member@example.com", nil))
	outsider := h.createUser(userDoc("outsider@example.com", nil))
	h.createGroup("Gainsight Viewers", "", member)
	h.waitSynced(30 * time.Second)
	if u := h.simUserByEmail("member@example.com"); u["LicenseType"] != "Viewer" {
		t.Fatalf("member: %v", u)
	}
	before := h.sim.Stats()

	// An invalid file is refused; the running config stays.
	okBefore := success()
	write(reloadableConfig(h.simURL, db, "Ful"))
	waitFor(t, func() bool { return failure() >= 1 })
	if got := h.bridge.Config().Groups[0].LicenseType; got != "Viewer" {
		t.Fatalf("invalid reload applied: %s", got)
	}

	if success() != okBefore {
		t.Fatalf("an invalid file counted as a successful reload")
	}
	write(reloadableConfig(h.simURL, db, "Full"))
	waitFor(t, func() bool { return success() > okBefore })
	h.waitSynced(30 * time.Second)
	if u := h.simUserByEmail("member@example.com"); u["LicenseType"] != "Full" {
		t.Errorf("member after reload: %v", u)
	}
	after := h.sim.Stats()
	if d := after.Records["update"] - before.Records["update"]; d != 1 {
		t.Errorf("reload updated %d records, want exactly the one member", d)
	}
	// The audit trail says why the member changed, and only of it.
	reloads := func(id string) []store.AuditEntry {
		t.Helper()
		entries, err := h.store.ListAudit(context.Background(), store.AuditQuery{UserID: id})
		if err != nil {
			t.Fatal(err)
		}
		var out []store.AuditEntry
		for _, e := range entries {
			if e.Op == store.AuditProfileReload {
				out = append(out, e)
			}
		}
		return out
	}
	if got := reloads(member); len(got) != 1 || got[0].Source != store.AuditSourceConfig ||
		!strings.Contains(got[0].Detail, "Gainsight Viewers") {
		t.Errorf("profile-reload entries of the member: %+v", got)
	}
	if got := reloads(outsider); len(got) != 0 {
		t.Errorf("profile-reload entries of a user in no changed group: %+v", got)
	}
}

// TestReconcileCostsNothingWhenInSync re-plans every user; nothing changed,
// so nothing is sent.
func TestReconcileCostsNothingWhenInSync(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	h.createMany("rec", 30)
	h.waitSynced(30 * time.Second)
	before := h.sim.Stats()
	n, err := h.bridge.Reconcile(t.Context())
	if err != nil || n != 30 {
		t.Fatalf("reconcile: %d, %v", n, err)
	}
	after := h.sim.Stats()
	if writeCalls(after) != writeCalls(before) || after.Calls["list"] != before.Calls["list"] {
		t.Errorf("reconcile of users in sync called gainsight: %v → %v", before.Calls, after.Calls)
	}
	h.checkConverged()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metricValue reads one sample from the admin listener's /metrics.
func metricValue(h *harness, series string) float64 {
	h.t.Helper()
	_, body := h.get(h.adminURL + "/metrics")
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}

// TestRepairDrift changes a user directly in Gainsight, behind the bridge's
// back: a drift repair reads it back and puts the managed field right,
// leaving fields the bridge does not manage alone.
func TestRepairDrift(t *testing.T) {
	h := startHarness(t, harnessOpts{configure: withProfiles})
	id := h.createUser(userDoc("drift@example.com", map[string]any{"title": "Engineer"}))
	// A custom field from a group profile, so drift checks read custom
	// fields back too.
	h.createGroup("Region US", "", id)
	h.createUser(userDoc("steady@example.com", map[string]any{"title": "Analyst"}))
	h.waitSynced(30 * time.Second)
	gsid := h.simUserByEmail("drift@example.com")["Gsid"]

	// An admin edits the user in Gainsight: a managed field and one the
	// bridge does not manage.
	body := fmt.Sprintf(`{"records":[{"Gsid":%q,"Title":"Changed in Gainsight","Locale":"fr_FR"}],"permissionBundleAction":"overwrite"}`, gsid)
	req, _ := http.NewRequest(http.MethodPut, h.simURL+"/v1/users/services?key=Gsid", strings.NewReader(body))
	req.Header.Set("accesskey", testAccessKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("edit in gainsight: %d", resp.StatusCode)
	}

	n, err := h.bridge.RepairDrift(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d users drifted, want 1", n)
	}
	// Repaired: a second check finds nothing to do and sends nothing.
	before := h.sim.Stats()
	if n, err := h.bridge.RepairDrift(t.Context()); err != nil || n != 0 {
		t.Errorf("second drift check: %d drifted, %v; want 0", n, err)
	}
	if after := h.sim.Stats(); writeCalls(after) != writeCalls(before) {
		t.Errorf("a drift check of users in sync wrote to gainsight: %v → %v", before.Calls, after.Calls)
	}
	u := h.simUserByEmail("drift@example.com")
	if u["Title"] != "Engineer" {
		t.Errorf("managed field not repaired: %v", u)
	}
	if u["Locale"] != "fr_FR" {
		t.Errorf("a field the bridge does not manage was touched: %v", u)
	}
	h.checkConverged()
}

// TestTokenRotationThroughSecretFile rotates the SCIM token the way a
// Kubernetes Secret does — only the mounted file changes — and the new
// token works without a restart while the old one stops working.
func TestTokenRotationThroughSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	tokenFile := filepath.Join(dir, "scim-token.sha256")
	db := filepath.Join(dir, "bridge.db")
	if err := os.WriteFile(tokenFile, []byte(config.HashToken(testToken)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("# written below\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHarness(t, harnessOpts{dbPath: db, configPath: path})
	cfg := fmt.Sprintf(`
listen: {scim: "127.0.0.1:0", admin: "127.0.0.1:0"}
scim:
  tokens: [{name: idp, sha256File: scim-token.sha256}]
gainsight: {baseURL: %q, accessKey: %q}
store: {sqlite: {path: %q}}
`, h.simURL, testAccessKey, db)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	success := func() float64 { return metricValue(h, `scim_bridge_config_reloads_total{result="success"}`) }
	waitFor(t, func() bool { return success() >= 1 })

	const rotated = "rotated-token-9876543210"
	if err := os.WriteFile(tokenFile+".new", []byte(config.HashToken(rotated)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tokenFile+".new", tokenFile); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return success() >= 2 })
	status := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, h.scimURL+"/Users", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status(rotated); s != http.StatusOK {
		t.Errorf("rotated token: %d", s)
	}
	if s := status(testToken); s != http.StatusUnauthorized {
		t.Errorf("old token after rotation: %d", s)
	}
}

// configMapVolume lays out a directory the way the kubelet's atomic writer
// keeps a ConfigMap volume: the files live in a timestamped directory,
// "..data" links to it, and each file name links through "..data". An
// update writes a new timestamped directory, swaps "..data" with one
// rename and removes the old directory, so the file's own name never
// changes and its inode and modification time are those of a new file.
type configMapVolume struct {
	t   *testing.T
	dir string
	gen int
}

func (v *configMapVolume) write(files map[string]string) {
	v.t.Helper()
	v.gen++
	ts := fmt.Sprintf("..2026_01_01_00_00_%02d.%09d", v.gen, v.gen)
	if err := os.Mkdir(filepath.Join(v.dir, ts), 0o755); err != nil {
		v.t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(v.dir, ts, name), []byte(content), 0o644); err != nil {
			v.t.Fatal(err)
		}
	}
	old, _ := os.Readlink(filepath.Join(v.dir, "..data"))
	if err := os.Symlink(ts, filepath.Join(v.dir, "..data_tmp")); err != nil {
		v.t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(v.dir, "..data_tmp"), filepath.Join(v.dir, "..data")); err != nil {
		v.t.Fatal(err)
	}
	for name := range files {
		link := filepath.Join(v.dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			v.t.Fatal(err)
		}
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(v.dir, old)); err != nil {
			v.t.Fatal(err)
		}
	}
}

// TestConfigReloadThroughConfigMapSwap edits the config the way Kubernetes
// updates a ConfigMap mounted as a directory: the bridge picks up each
// swap, refuses an invalid file (config_last_reload_successful 0, the
// running profiles stay) and applies the next valid one.
func TestConfigReloadThroughConfigMapSwap(t *testing.T) {
	vol := &configMapVolume{t: t, dir: t.TempDir()}
	path := filepath.Join(vol.dir, "config.yaml")
	db := filepath.Join(t.TempDir(), "bridge.db")
	vol.write(map[string]string{"config.yaml": "# written below\n"})
	h := startHarness(t, harnessOpts{dbPath: db, configure: func(c *config.Config) {
		c.Groups = []config.GroupProfile{{Name: "viewers", DisplayName: "Gainsight Viewers", LicenseType: "Viewer"}}
	}, configPath: path})
	success := func() float64 { return metricValue(h, `scim_bridge_config_reloads_total{result="success"}`) }
	lastOK := func() float64 { return metricValue(h, `scim_bridge_config_last_reload_successful`) }
	if got := lastOK(); got != 1 {
		t.Fatalf("config_last_reload_successful at start = %v, want 1", got)
	}

	vol.write(map[string]string{"config.yaml": reloadableConfig(h.simURL, db, "Viewer")})
	waitFor(t, func() bool { return success() >= 1 })

	vol.write(map[string]string{"config.yaml": reloadableConfig(h.simURL, db, "Ful")})
	waitFor(t, func() bool { return lastOK() == 0 })
	if got := h.bridge.Config().Groups[0].LicenseType; got != "Viewer" {
		t.Fatalf("refused file applied: licenseType %s", got)
	}

	vol.write(map[string]string{"config.yaml": reloadableConfig(h.simURL, db, "Full")})
	waitFor(t, func() bool { return lastOK() == 1 })
	if got := h.bridge.Config().Groups[0].LicenseType; got != "Full" {
		t.Errorf("after the swap licenseType = %s, want Full", got)
	}
}
