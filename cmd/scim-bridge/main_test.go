package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"gopkg.in/yaml.v3"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// TestMain lets a test start this package's test binary as the real
// scim-bridge process (to kill it), without building it separately.
func TestMain(m *testing.M) {
	if os.Getenv("SCIM_BRIDGE_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func testEnv(stdout, stderr io.Writer) env {
	return env{stdout: stdout, stderr: stderr, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		stdin   string
		wantErr string
		wantOut string
	}{
		{name: "version", args: []string{"version"}, wantOut: "scim-bridge dev\n"},
		{name: "hash-token arg", args: []string{"hash-token", "s3cret"}, wantOut: config.HashToken("s3cret") + "\n"},
		{name: "hash-token stdin", args: []string{"hash-token"}, stdin: "s3cret\n", wantOut: config.HashToken("s3cret") + "\n"},
		{name: "hash-token empty", args: []string{"hash-token"}, wantErr: "empty token"},
		{name: "no command", args: nil, wantErr: "usage: no command"},
		{name: "unknown", args: []string{"frobnicate"}, wantErr: `unknown command "frobnicate"`},
		{name: "serve without config", args: []string{"serve"}, wantErr: "serve needs --config"},
		{name: "check-config missing file", args: []string{"check-config", "/nonexistent.yaml"}, wantErr: "nonexistent.yaml"},
		{name: "explain without user", args: []string{"explain", "--config", "x.yaml"}, wantErr: "explain --config FILE USER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			e := testEnv(&out, &errOut)
			e.stdin = strings.NewReader(tt.stdin)
			err := dispatch(t.Context(), tt.args, e)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.wantOut {
				t.Errorf("stdout = %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}

// TestCheckConfigExample validates the documented example config and checks
// that no secret is printed.
func TestCheckConfigExample(t *testing.T) {
	t.Setenv("SCIM_BRIDGE_GAINSIGHT_ACCESS_KEY", "super-secret-access-key")
	var out, errOut bytes.Buffer
	if err := dispatch(t.Context(), []string{"check-config", "../../config/example.yaml"}, testEnv(&out, &errOut)); err != nil {
		t.Fatalf("check-config: %v", err)
	}
	if strings.Contains(out.String(), "super-secret-access-key") {
		t.Errorf("check-config printed the access key:\n%s", out.String())
	}
	var printed map[string]any
	if err := yaml.Unmarshal(out.Bytes(), &printed); err != nil {
		t.Fatalf("printed config is not YAML: %v\n%s", err, out.String())
	}
	if printed["gainsight"] == nil || printed["scim"] == nil {
		t.Errorf("printed config lacks sections: %v", printed)
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDemo runs `scim-bridge --demo`, follows the printed instructions and
// sees the user arrive in the simulated Gainsight.
func TestDemo(t *testing.T) {
	var out, errOut lockedBuffer
	e := testEnv(&out, &errOut)
	ready := make(chan string, 1)
	e.ready = func(base, _ string) { ready <- base }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- dispatch(ctx, []string{"--demo", "--listen", "127.0.0.1:0"}, e) }()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("demo exited: %v\n%s", err, errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not start")
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	banner := out.String()
	token := regexp.MustCompile(`Bearer token\s+(\S+)`).FindStringSubmatch(banner)
	sim := regexp.MustCompile(`Gainsight sim\s+(\S+)\s+\(access key (\S+)\)`).FindStringSubmatch(banner)
	admin := regexp.MustCompile(`Admin\s+(\S+)`).FindStringSubmatch(banner)
	if token == nil || sim == nil || admin == nil || !strings.Contains(banner, base) || !strings.Contains(banner, "curl") {
		t.Fatalf("banner lacks URL, token, admin URL or curl:\n%s", banner)
	}
	// The group profiles are named, so a user can push a group that has one.
	for _, want := range []string{`"Gainsight Admins": super admin; roles Admin`, `"Sales US": license Viewer; Region__gc US`,
		`"Dept Sales": Department__gc Sales`, `"Dept Support": Department__gc Support`} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks profile %s:\n%s", want, banner)
		}
	}
	// Every command the banner prints must work as printed.
	explainCurl := fmt.Sprintf("curl -s -H 'Authorization: Bearer %s' %s/admin/users/alan@example.com/explain", token[1], admin[1])
	if !strings.Contains(banner, explainCurl) {
		t.Errorf("banner lacks %q:\n%s", explainCurl, banner)
	}
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alan@example.com","name":{"givenName":"Alan","familyName":"Turing"},"emails":[{"value":"alan@example.com","type":"work","primary":true}],"active":true}`
	req, _ := http.NewRequest(http.MethodPost, base+"/Users", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token[1])
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, sim[1]+"/_sim/users", nil)
		req.Header.Set("accesskey", sim[2])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "alan@example.com") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("user never reached the simulator: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	req, _ = http.NewRequest(http.MethodGet, admin[1]+"/admin/users/alan@example.com/explain", nil)
	req.Header.Set("Authorization", "Bearer "+token[1])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"userName": "alan@example.com"`) {
		t.Fatalf("explain from the banner: %d %s", resp.StatusCode, b)
	}
	// The two department profiles disagree: a user in both is refused.
	var userID string
	if m := regexp.MustCompile(`"userId": "([^"]+)"`).FindSubmatch(b); m != nil {
		userID = string(m[1])
	}
	group := func(name string) int {
		body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":%q,"members":[{"value":%q}]}`, name, userID)
		req, _ := http.NewRequest(http.MethodPost, base+"/Groups", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token[1])
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := group("Dept Sales"); s != http.StatusCreated {
		t.Fatalf("Dept Sales: %d", s)
	}
	if s := group("Dept Support"); s != http.StatusBadRequest {
		t.Errorf("Dept Support with a conflicting member: %d, want 400", s)
	}
}

// TestCrashRecovery kills a real bridge process with SIGKILL while users
// are still waiting for Gainsight, starts it again on the same SQLite file
// and checks that everything converges with no user lost or duplicated.
func TestCrashRecovery(t *testing.T) {
	tenant := gainsighttest.Tenant{AccessKey: "crash-key"}
	sim := gainsighttest.New(tenant, gainsighttest.WithLogger(zaptest.NewLogger(t)))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	// Slow Gainsight: the bridge is certain to be killed mid-way.
	sim.SetFaults(gainsighttest.Faults{Latency: 300 * time.Millisecond})

	dir := t.TempDir()
	port := freePort(t)
	cfgPath := filepath.Join(dir, "config.yaml")
	cfgYAML := fmt.Sprintf(`
listen: {scim: "127.0.0.1:%d", admin: "127.0.0.1:0"}
scim:
  tokens: [{name: test, sha256: %q}]
gainsight:
  baseURL: %q
  accessKey: crash-key
  batchSize: 10
store:
  sqlite: {path: %q}
sync:
  batchWindow: 50ms
  minBackoff: 50ms
  maxBackoff: 200ms
  lease: 1s
`, port, config.HashToken("tok"), srv.URL, filepath.Join(dir, "bridge.db"))
	if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d/scim/v2", port)

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "serve", "--config", cfgPath)
		cmd.Env = append(os.Environ(), "SCIM_BRIDGE_TEST_AS_MAIN=1")
		logs, err := os.Create(filepath.Join(dir, fmt.Sprintf("bridge-%d.log", time.Now().UnixNano())))
		if err != nil {
			t.Fatal(err)
		}
		defer logs.Close()
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitUp(t, base)
		return cmd
	}
	cmd := start()
	const n = 60
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"crash-%d@example.com","name":{"givenName":"C","familyName":"%d"},"emails":[{"value":"crash-%d@example.com","primary":true}]}`, i, i, i)
		if s := scimDo(t, http.MethodPost, base+"/Users", body); s != http.StatusCreated {
			t.Fatalf("create %d: %d", i, s)
		}
	}
	// Kill once Gainsight has some users but not all.
	deadline := time.Now().Add(30 * time.Second)
	for len(sim.Users()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killedAt := len(sim.Users())
	if killedAt >= n {
		t.Fatalf("all %d users synced before the kill; the test proves nothing", n)
	}
	sim.SetFaults(gainsighttest.Faults{})

	cmd = start()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	deadline = time.Now().Add(60 * time.Second)
	for {
		pending := 0
		for i := 0; i < n; i++ {
			if !syncedInSCIM(t, base, fmt.Sprintf("crash-%d@example.com", i)) {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d users never synced after restart (killed with %d in gainsight)", pending, killedAt)
		}
		time.Sleep(200 * time.Millisecond)
	}
	seen := map[string]bool{}
	for _, u := range sim.Users() {
		e := fmt.Sprint(u["Email"])
		if seen[e] {
			t.Errorf("duplicate in gainsight: %s", e)
		}
		seen[e] = true
	}
	if len(seen) != n {
		t.Errorf("gainsight holds %d users, want %d", len(seen), n)
	}
	t.Logf("killed with %d/%d users in gainsight; converged after restart", killedAt, n)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitUp(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/ServiceProviderConfig")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bridge did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func scimDo(t *testing.T, method, url, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// syncedInSCIM reads the bridge's read-only sync extension of a user, as an
// administrator would from the IdP side.
func syncedInSCIM(t *testing.T, base, userName string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/Users?filter="+url.QueryEscape(`userName eq "`+userName+`"`), nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Resources []map[string]any `json:"Resources"`
	}
	if err := json.NewDecoder(bufio.NewReader(resp.Body)).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Resources) != 1 {
		return false
	}
	ext, _ := list.Resources[0]["urn:ietf:params:scim:schemas:extension:gainsight-scim-bridge:2.0:User"].(map[string]any)
	return ext["syncState"] == "synced"
}

// TestSIGHUPReloads sends SIGHUP to a running bridge process: it reloads
// its config file and says so.
func TestSIGHUPReloads(t *testing.T) {
	sim := gainsighttest.New(gainsighttest.Tenant{AccessKey: "hup-key"}, gainsighttest.WithLogger(zaptest.NewLogger(t)))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	dir := t.TempDir()
	port := freePort(t)
	cfgPath := filepath.Join(dir, "config.yaml")
	cfgYAML := fmt.Sprintf(`
listen: {scim: "127.0.0.1:%d", admin: "127.0.0.1:0"}
scim: {tokens: [{name: test, sha256: %q}]}
gainsight: {baseURL: %q, accessKey: hup-key}
store: {sqlite: {path: %q}}
`, port, config.HashToken("tok"), srv.URL, filepath.Join(dir, "bridge.db"))
	if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	cmd := exec.Command(os.Args[0], "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "SCIM_BRIDGE_TEST_AS_MAIN=1")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if !strings.Contains(logs.String(), `"msg":"stopped"`) {
			t.Errorf("SIGTERM did not stop the bridge gracefully:\n%s", logs.String())
		}
	}()
	waitUp(t, fmt.Sprintf("http://127.0.0.1:%d/scim/v2", port))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), `"trigger":"signal"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
