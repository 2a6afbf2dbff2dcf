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
	"slices"
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
		{name: "demo flag without --demo", args: []string{"serve", "--config", "x.yaml", "--token", "t"}, wantErr: "--token is a --demo flag"},
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

// TestCheckConfigRefusesWhatServeRefuses writes files the config loader
// accepts but the bridge cannot be built from: check-config must refuse
// each with the error serve stops on, not call it valid.
func TestCheckConfigRefusesWhatServeRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("user-key.json", `{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`)
	write("sa-key.json", `{"type":"service_account","client_email":"sb@p.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n","token_uri":"https://oauth2.googleapis.com/token"}`)
	base := fmt.Sprintf(`
listen: {scim: "127.0.0.1:0", admin: "127.0.0.1:0"}
scim:
  tokens: [{name: t, sha256: %q}]
gainsight: {baseURL: "http://127.0.0.1:1", accessKey: key}
store: {sqlite: {path: %q}}
`, config.HashToken("tok"), filepath.Join(dir, "bridge.db"))
	tests := []struct {
		name, extra, wantErr string
	}{
		{"valid", "mapping:\n  fields: [{scim: 'addresses[type eq \"home office\"].locality', gainsight: Title}]\n", ""},
		{"valid google source", "google: {credentialsFile: sa-key.json, subject: admin@example.com, customer: my_customer}\n", ""},
		{"mapping path the bridge cannot parse", "mapping:\n  fields: [{scim: 'addresses[type eq \"home\".locality', gainsight: Title}]\n",
			`mapping.fields[0]: path "addresses[type eq \"home\".locality" is not a SCIM attribute path`},
		{"google key that is not a service account key", "google: {credentialsFile: user-key.json, subject: admin@example.com, customer: my_customer}\n",
			`want a service account key`},
		{"google key file missing", "google: {credentialsFile: missing.json, subject: admin@example.com, customer: my_customer}\n",
			`missing.json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(strings.ReplaceAll(tt.name, " ", "-")+".yaml", base+tt.extra)
			if _, err := config.Load(path); err != nil {
				t.Fatalf("the loader refuses the file, so it tests nothing here: %v", err)
			}
			var out, errOut bytes.Buffer
			checkErr := dispatch(t.Context(), []string{"check-config", path}, testEnv(&out, &errOut))
			if tt.wantErr == "" {
				if checkErr != nil || !strings.Contains(errOut.String(), "valid") {
					t.Fatalf("check-config: %v\n%s", checkErr, errOut.String())
				}
				return
			}
			if checkErr == nil || !strings.Contains(checkErr.Error(), tt.wantErr) {
				t.Fatalf("check-config: %v (%s), want an error containing %q", checkErr, errOut.String(), tt.wantErr)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			serveErr := dispatch(ctx, []string{"serve", "--config", path}, testEnv(io.Discard, io.Discard))
			if serveErr == nil || !strings.Contains(serveErr.Error(), tt.wantErr) {
				t.Fatalf("serve: %v, want an error containing %q", serveErr, tt.wantErr)
			}
		})
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

// demoRun is a running `scim-bridge --demo`.
type demoRun struct {
	base, admin string
	out, errOut *lockedBuffer
}

// startDemo runs `scim-bridge --demo` with args until the test ends.
func startDemo(t *testing.T, args ...string) *demoRun {
	t.Helper()
	d := &demoRun{out: &lockedBuffer{}, errOut: &lockedBuffer{}}
	e := testEnv(d.out, d.errOut)
	type urls struct{ base, admin string }
	ready := make(chan urls, 1)
	e.ready = func(base, admin string) { ready <- urls{base, admin} }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- dispatch(ctx, append([]string{"--demo"}, args...), e) }()
	select {
	case u := <-ready:
		d.base, d.admin = u.base, u.admin
	case err := <-done:
		cancel()
		t.Fatalf("demo exited: %v\n%s", err, d.errOut.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("demo did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	return d
}

// bannerCommands returns the shell commands the banner prints, each with
// its continuation lines joined.
func bannerCommands(banner string) []string {
	var cmds []string
	var cur strings.Builder
	for _, line := range strings.Split(banner, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur.Len() > 0:
			cur.WriteString("\n" + line)
		case strings.HasPrefix(line, "  curl ") || strings.HasPrefix(line, "  USER_ID="):
			cur.WriteString(trimmed)
		default:
			continue
		}
		if !strings.HasSuffix(trimmed, "\\") {
			cmds = append(cmds, cur.String())
			cur.Reset()
		}
	}
	return cmds
}

// TestDemo runs `scim-bridge --demo`, follows the printed instructions and
// sees the user arrive in the simulated Gainsight.
func TestDemo(t *testing.T) {
	d := startDemo(t, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	base, out := d.base, d.out
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
	// The console is on, behind the sign-in form.
	if !strings.Contains(banner, "Console         "+admin[1]+"/ui/") {
		t.Errorf("banner lacks the console:\n%s", banner)
	}
	resp, err = http.Get(admin[1] + "/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="token"`) {
		t.Errorf("console sign-in: %d %s", resp.StatusCode, page)
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

// TestDemoBannerCommands pastes the banner's commands into a shell, as a
// newcomer would: the user is created, put into a profiled group and
// explained with the group's attribute.
func TestDemoBannerCommands(t *testing.T) {
	for _, tool := range []string{"sh", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH: the demo banner's commands are not pasted into a shell", tool)
		}
	}
	d := startDemo(t, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	cmds := bannerCommands(d.out.String())
	if len(cmds) != 4 {
		t.Fatalf("banner commands = %d, want create, sim users, group, explain:\n%s", len(cmds), strings.Join(cmds, "\n---\n"))
	}
	run := func(script string) string { return runScript(t, script) }
	// Create and group in one shell: the group command uses $USER_ID.
	out := run(cmds[0] + "\n" + cmds[2])
	id := regexp.MustCompile(`user ([0-9a-f-]{36})`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("the create command printed no user id:\n%s", out)
	}
	if !strings.Contains(out, `"displayName":"Dept Sales"`) || !strings.Contains(out, id[1]) {
		t.Fatalf("the group command did not create Dept Sales with the user:\n%s", out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		users := run(cmds[1])
		explained := run(cmds[3])
		if strings.Contains(users, "alan@example.com") && strings.Contains(explained, `"Department__gc"`) && strings.Contains(explained, "Sales") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("user not synced with its group attribute:\n%s\n%s", users, explained)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDemoFixedTokenAndAdminAcrossRestarts starts the demo twice with
// --token and --admin-listen: the printed SCIM, group and explain commands
// are the same both times, so commands saved from the first run work on
// the second.
func TestDemoFixedTokenAndAdminAcrossRestarts(t *testing.T) {
	port := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	scimAddr, adminAddr := port(), port()
	const token = "demo-token-0123456789"
	var runs [][]string
	for i := range 2 {
		t.Run(fmt.Sprintf("run %d", i+1), func(t *testing.T) {
			d := startDemo(t, "--listen", scimAddr, "--admin-listen", adminAddr, "--token", token)
			if d.admin != "http://"+adminAddr || d.base != "http://"+scimAddr+"/scim/v2" {
				t.Fatalf("listening on %s and %s, want %s and %s", d.base, d.admin, scimAddr, adminAddr)
			}
			if !strings.Contains(d.out.String(), "Bearer token    "+token) {
				t.Errorf("banner does not show the fixed token:\n%s", d.out.String())
			}
			req, _ := http.NewRequest(http.MethodGet, d.base+"/Users", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET /Users with the fixed token: %d", resp.StatusCode)
			}
			cmds := bannerCommands(d.out.String())
			var bridgeCmds []string
			for _, c := range cmds {
				if !strings.Contains(c, "/_sim/") {
					bridgeCmds = append(bridgeCmds, c)
				}
			}
			runs = append(runs, bridgeCmds)
		})
	}
	if len(runs) != 2 || len(runs[0]) != 3 || !slices.Equal(runs[0], runs[1]) {
		t.Errorf("commands differ between runs:\n%q\n%q", runs[0], runs[1])
	}
	var out, errOut bytes.Buffer
	err := dispatch(t.Context(), []string{"--demo", "--token", "it's"}, testEnv(&out, &errOut))
	if err == nil || !strings.Contains(err.Error(), "--token may hold only") {
		t.Errorf("a token with a quote: %v", err)
	}
}

// TestCrashRecovery kills a real bridge process with SIGKILL while users
// are still waiting for Gainsight, starts it again on the same SQLite file
// and checks that everything converges with no user lost or duplicated.
func TestCrashRecovery(t *testing.T) {
	p := newProcessSetup(t, gainsighttest.Tenant{AccessKey: "crash-key"}, "127.0.0.1:0", "batchSize: 10", `
sync:
  batchWindow: 50ms
  minBackoff: 50ms
  maxBackoff: 200ms
  lease: 1s
`)
	sim, cfgPath, base := p.sim, p.cfgPath, p.base
	// Slow Gainsight: the bridge is certain to be killed mid-way.
	sim.SetFaults(gainsighttest.Faults{Latency: 300 * time.Millisecond})

	start := func() *exec.Cmd { return startProcess(t, cfgPath, base) }
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

// processSetup is what a test of the real bridge process starts from: a
// simulator as Gainsight, and a config file in a temporary directory with
// the SQLite store beside it.
type processSetup struct {
	sim     *gainsighttest.Server
	dir     string
	cfgPath string
	port    int    // the SCIM listener's
	base    string // the SCIM base URL
}

// newProcessSetup serves a simulator of tenant (closed when the test ends)
// and writes a config: the SCIM listener on a free port with the token
// "tok", the admin listener at admin, the simulator as Gainsight with the
// tenant's access key and gainsightKeys (more keys of gainsight in flow
// style, e.g. "batchSize: 10"), a SQLite store, and rest as more top-level
// YAML.
func newProcessSetup(t *testing.T, tenant gainsighttest.Tenant, admin, gainsightKeys, rest string) processSetup {
	t.Helper()
	sim := gainsighttest.New(tenant, gainsighttest.WithLogger(zaptest.NewLogger(t)))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	if gainsightKeys != "" {
		gainsightKeys = ", " + gainsightKeys
	}
	p := processSetup{sim: sim, dir: t.TempDir(), port: freePort(t)}
	p.cfgPath = filepath.Join(p.dir, "config.yaml")
	p.base = fmt.Sprintf("http://127.0.0.1:%d/scim/v2", p.port)
	cfg := fmt.Sprintf(`
listen: {scim: "127.0.0.1:%d", admin: %q}
scim:
  tokens: [{name: test, sha256: %q}]
gainsight: {baseURL: %q, accessKey: %q%s}
store:
  sqlite: {path: %q}
`, p.port, admin, config.HashToken("tok"), srv.URL, tenant.AccessKey, gainsightKeys, filepath.Join(p.dir, "bridge.db")) + rest
	if err := os.WriteFile(p.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startProcess starts this test binary as `scim-bridge serve --config
// cfgPath`, its log in a file beside the config, and waits until its SCIM
// API at base answers.
func startProcess(t *testing.T, cfgPath, base string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "SCIM_BRIDGE_TEST_AS_MAIN=1")
	logs, err := os.Create(filepath.Join(filepath.Dir(cfgPath), fmt.Sprintf("bridge-%d.log", time.Now().UnixNano())))
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

// waitUntil polls cond every 50 ms and fails the test, naming what it
// waited for, when cond is not true within 30 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
	return syncStateInSCIM(t, base, userName) == "synced"
}

// TestSIGHUPReloads sends SIGHUP to a running bridge process: it reloads
// its config file and says so.
func TestSIGHUPReloads(t *testing.T) {
	p := newProcessSetup(t, gainsighttest.Tenant{AccessKey: "hup-key"}, "127.0.0.1:0", "", "")
	port, cfgPath := p.port, p.cfgPath
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

// syncStateInSCIM reads a user's sync state from the bridge's read-only
// SCIM extension.
func syncStateInSCIM(t *testing.T, base, userName string) string {
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
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Resources) != 1 {
		return ""
	}
	ext, _ := list.Resources[0]["urn:ietf:params:scim:schemas:extension:gainsight-scim-bridge:2.0:User"].(map[string]any)
	s, _ := ext["syncState"].(string)
	return s
}

// metricOf reads one sample from a bridge's /metrics.
func metricOf(t *testing.T, adminURL, series string) float64 {
	t.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return -1
}

// TestHeldUsersSurviveKill kills a real bridge process with SIGKILL while
// the mass-deactivation guard holds users, starts it again on the same
// SQLite file, and checks that they are still held — also once planned
// again after a rejection, with nothing sent — until an approval with the
// guard command deactivates them.
func TestHeldUsersSurviveKill(t *testing.T) {
	adminPort := freePort(t)
	p := newProcessSetup(t, gainsighttest.Tenant{AccessKey: "guard-key"}, fmt.Sprintf("127.0.0.1:%d", adminPort), "", `
sync:
  batchWindow: 50ms
  minBackoff: 50ms
  maxBackoff: 200ms
  lease: 1s
  guard: {maxUsers: 3, maxPercent: 0, window: 1h}
`)
	sim, cfgPath, base := p.sim, p.cfgPath, p.base
	adminURL := fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	start := func() *exec.Cmd { return startProcess(t, cfgPath, base) }
	name := func(i int) string { return fmt.Sprintf("held-%d@example.com", i) }
	inactive := func() int {
		n := 0
		for _, u := range sim.Users() {
			if u["IsActiveUser"] == false {
				n++
			}
		}
		return n
	}
	cmd := start()
	const n, leaving, limit = 10, 8, 3
	ids := make([]string, n)
	for i := range n {
		body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"name":{"givenName":"H","familyName":"%d"},"emails":[{"value":%q,"primary":true}]}`, name(i), i, name(i))
		req, _ := http.NewRequest(http.MethodPost, base+"/Users", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var created map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		ids[i], _ = created["id"].(string)
	}
	waitUntil(t, "users synced", func() bool { return len(sim.Users()) == n && syncedInSCIM(t, base, name(n-1)) })
	for i := range leaving {
		if s := scimDo(t, http.MethodPatch, base+"/Users/"+ids[i], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`); s != http.StatusOK {
			t.Fatalf("disable %d: %d", i, s)
		}
	}
	held := func() int {
		h := 0
		for i := range leaving {
			if syncStateInSCIM(t, base, name(i)) == "held" {
				h++
			}
		}
		return h
	}
	waitUntil(t, "deactivations held", func() bool { return inactive() == limit && held() == leaving-limit })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	cmd = start()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	if got := held(); got != leaving-limit {
		t.Fatalf("%d held after the restart, want %d", got, leaving-limit)
	}
	// Rejected, they are planned again by the restarted bridge: the IdP
	// still disables them, so they stay held and nothing is sent.
	status := sim.Stats().Calls[gainsighttest.OpStatus]
	var out, errOut bytes.Buffer
	if err := dispatch(t.Context(), []string{"guard", "reject", "--config", cfgPath, "--all"}, testEnv(&out, &errOut)); err != nil {
		t.Fatalf("guard reject: %v\n%s", err, errOut.String())
	}
	waitUntil(t, "rejected users planned again", func() bool {
		return metricOf(t, adminURL, `scim_bridge_sync_outcomes_total{outcome="deferred",reason="held"}`) >= leaving-limit
	})
	if got := held(); got != leaving-limit || inactive() != limit || sim.Stats().Calls[gainsighttest.OpStatus] != status {
		t.Fatalf("after the rejection: %d held, %d inactive, %d status calls", got, inactive(), sim.Stats().Calls[gainsighttest.OpStatus]-status)
	}
	out.Reset()
	if err := dispatch(t.Context(), []string{"guard", "approve", "--config", cfgPath, "--all", "--by", "it-oncall"}, testEnv(&out, &errOut)); err != nil {
		t.Fatalf("guard approve: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), fmt.Sprintf("approved %d held deactivations as it-oncall", leaving-limit)) {
		t.Errorf("guard approve printed %q", out.String())
	}
	waitUntil(t, "approved users deactivated", func() bool { return inactive() == leaving && held() == 0 })
	for i := leaving; i < n; i++ {
		if !syncedInSCIM(t, base, name(i)) {
			t.Errorf("%s is not synced", name(i))
		}
	}
}

// TestDemoShadow runs `scim-bridge --demo --shadow`: a user pushed over
// SCIM is planned, not sent; the banner's commands read the plan and, by
// editing the demo's config file, go live, and the user reaches the
// simulated Gainsight.
func TestDemoShadow(t *testing.T) {
	for _, tool := range []string{"sh", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH: the demo banner's commands are not pasted into a shell", tool)
		}
	}
	d := startDemo(t, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--shadow")
	banner := d.out.String()
	token := regexp.MustCompile(`Bearer token\s+(\S+)`).FindStringSubmatch(banner)[1]
	sim := regexp.MustCompile(`Gainsight sim\s+(\S+)\s+\(access key (\S+)\)`).FindStringSubmatch(banner)
	planCmd := regexp.MustCompile(`(?m)^  (curl -s -H 'Authorization: Bearer \S+' \S+/admin/plan)$`).FindStringSubmatch(banner)
	liveCmd := regexp.MustCompile(`(?m)^  (sed -i 's/mode: shadow/mode: live/' \S+)$`).FindStringSubmatch(banner)
	if planCmd == nil || liveCmd == nil {
		t.Fatalf("the banner lacks the plan and go-live commands:\n%s", banner)
	}
	run := func(script string) string { return runScript(t, script) }
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alan@example.com","name":{"givenName":"Alan","familyName":"Turing"},"emails":[{"value":"alan@example.com","type":"work","primary":true}]}`
	req, _ := http.NewRequest(http.MethodPost, d.base+"/Users", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	simUsers := func() string {
		req, _ := http.NewRequest(http.MethodGet, sim[1]+"/_sim/users", nil)
		req.Header.Set("accesskey", sim[2])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	waitUntil(t, "planned", func() bool { return strings.Contains(run(planCmd[1]), `"create": 1`) })
	if strings.Contains(simUsers(), "alan@example.com") {
		t.Fatal("shadow mode sent the user to gainsight")
	}
	run(liveCmd[1])
	waitUntil(t, "live", func() bool { return strings.Contains(simUsers(), "alan@example.com") })
	if plan := run(planCmd[1]); !strings.Contains(plan, `"mode": "live"`) || !strings.Contains(plan, `"planned": 0`) {
		t.Errorf("plan after going live:\n%s", plan)
	}
}

// runScript runs script with sh -e, as a user pastes the demo's commands,
// and returns its output; a failing command fails t.
func runScript(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("sh", "-ec", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s\n--- output\n%s", err, script, out)
	}
	return string(out)
}
