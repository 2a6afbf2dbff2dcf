package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/internal/demo"
)

// bridgeProc is a bridge process this command started.
type bridgeProc struct {
	cmd   *exec.Cmd
	base  string // SCIM base URL
	admin string // admin base URL
	token string
	log   string // the file the bridge logs to
	stop  func() error
}

// startOptions configure startBridge.
type startOptions struct {
	binary string // the scim-bridge binary
	dir    string // where the config, the SQLite file and the log go
	store  string // sqlite or postgres
	// dsn is the PostgreSQL server (store postgres); the bridge gets a
	// schema of its own there, dropped when it stops.
	dsn   string
	pprof bool
}

// configYAML is the demo's configuration (cmd/scim-bridge/demo.go) as a
// file: the defaults, the demo's group profiles, custom fields and roles
// (demo.ProfilesYAML), the simulator as Gainsight.
const configYAML = `listen:
  scim: %q
  admin: %q
  pprof: %t
scim:
  tokens: [{name: load, sha256: %q}]
gainsight:
  baseURL: %q
  accessKey: %q
store:
%s
sync:
  batchWindow: 1s
  minBackoff: 5s
` + demo.ProfilesYAML

// startBridge starts `scim-bridge serve` with the demo's configuration on
// a fresh store, beside a simulator served from this process, and waits
// until it is ready.
func startBridge(ctx context.Context, o startOptions) (*bridgeProc, error) {
	token, accessKey := randomHex(16), randomHex(16)
	sim := gainsighttest.New(demo.Tenant(accessKey))
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("simulator listener: %w", err)
	}
	simSrv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	cleanups := []func() error{simSrv.Close}
	cleanup := func() error {
		var errs []error
		for i := len(cleanups) - 1; i >= 0; i-- {
			errs = append(errs, cleanups[i]())
		}
		return errors.Join(errs...)
	}

	var storeYAML string
	switch o.store {
	case "sqlite":
		storeYAML = fmt.Sprintf("  type: sqlite\n  sqlite: {path: %q}", filepath.Join(o.dir, "bridge.db"))
	case "postgres":
		dsn, drop, err := freshSchema(ctx, o.dsn)
		if err != nil {
			_ = cleanup()
			return nil, err
		}
		cleanups = append(cleanups, drop)
		storeYAML = fmt.Sprintf("  type: postgres\n  postgres: {dsn: %q}", dsn)
	default:
		_ = cleanup()
		return nil, fmt.Errorf("unknown store %q (sqlite or postgres)", o.store)
	}
	scimAddr, adminAddr, err := freeAddrs()
	if err != nil {
		_ = cleanup()
		return nil, err
	}
	sum := sha256.Sum256([]byte(token))
	cfg := fmt.Sprintf(configYAML, scimAddr, adminAddr, o.pprof, hex.EncodeToString(sum[:]),
		"http://"+simLn.Addr().String(), accessKey, storeYAML)
	cfgPath := filepath.Join(o.dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		_ = cleanup()
		return nil, err
	}
	logPath := filepath.Join(o.dir, "bridge.log")
	logs, err := os.Create(logPath)
	if err != nil {
		_ = cleanup()
		return nil, err
	}
	cmd := exec.Command(o.binary, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		logs.Close()
		_ = cleanup()
		return nil, fmt.Errorf("start %s: %w", o.binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logs.Close() }()
	p := &bridgeProc{cmd: cmd, base: "http://" + scimAddr + "/scim/v2", admin: "http://" + adminAddr, token: token, log: logPath}
	p.stop = func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		return cleanup()
	}
	if err := waitReady(ctx, p.admin+"/readyz", exited); err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("%w (log: %s)", err, logPath)
	}
	return p, nil
}

// waitReady polls url until it answers 200, the process exits or ctx
// ends.
func waitReady(ctx context.Context, url string, exited <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("the bridge exited before it was ready: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("the bridge was not ready within 60s")
		}
	}
}

// freeAddrs returns two free addresses on 127.0.0.1.
func freeAddrs() (string, string, error) {
	var out []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		defer ln.Close()
		out = append(out, ln.Addr().String())
	}
	return out[0], out[1], nil
}

// freshSchema creates a schema of its own on the server of dsn and returns
// a DSN whose search_path is that schema, and the function that drops it.
func freshSchema(ctx context.Context, dsn string) (string, func() error, error) {
	if dsn == "" {
		return "", nil, errors.New("store postgres needs --postgres-dsn (or SCIM_BRIDGE_TEST_POSTGRES_DSN)")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", nil, errors.New("invalid PostgreSQL DSN")
	}
	db := stdlib.OpenDB(*cfg)
	name := "scim_load_" + randomHex(6)
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() error {
		defer db.Close()
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := db.ExecContext(dctx, `DROP SCHEMA `+name+` CASCADE`); err != nil {
			return fmt.Errorf("drop schema %s: %w", name, err)
		}
		return nil
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		_ = drop()
		return "", nil, errors.New("--postgres-dsn must be a postgres:// URL")
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// rssOf returns the resident memory of process pid, in bytes, read from
// /proc (0 when it cannot be read).
func rssOf(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	return vmRSS(f)
}

// cpuOf returns the CPU time process pid has used (user and system), read
// from /proc (0 when it cannot be read).
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return cpuTicks(string(b))
}

// cpuTicks reads utime and stime from a /proc/PID/stat line: fields 14 and
// 15, counted after the command name (which may hold spaces), in clock
// ticks of 10 ms (USER_HZ is 100 on Linux).
func cpuTicks(stat string) time.Duration {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(u+s) * 10 * time.Millisecond
}

// vmRSS reads the VmRSS line of a /proc/PID/status file.
func vmRSS(r io.Reader) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// settleLimit bounds how long settle waits; settleQuiet is how long the
// store must commit nothing, longer than the started bridge's batch window
// (1s), so the pass the seed's last write starts is not missed.
const (
	settleLimit = 2 * time.Minute
	settleQuiet = 3 * time.Second
)

// settle waits until the bridge's store has committed nothing for
// settleQuiet (scim_bridge_store_committed_writes_total on the admin
// listener, read every second), at most settleLimit, and returns how long
// it waited and whether the store went quiet. After the seed the sync
// engine spends its hourly Gainsight budget on the new users at once: a
// few seconds of its writes, which a scenario measured meanwhile would
// count as its own, in whichever scenario came first.
func settle(ctx context.Context, admin string) (time.Duration, bool, error) {
	start := time.Now()
	last, err := committedWrites(ctx, admin)
	if err != nil {
		return 0, false, err
	}
	quietSince := time.Now()
	for time.Since(start) < settleLimit {
		select {
		case <-ctx.Done():
			return time.Since(start), false, ctx.Err()
		case <-time.After(time.Second):
		}
		n, err := committedWrites(ctx, admin)
		if err != nil {
			return time.Since(start), false, err
		}
		if n != last {
			last, quietSince = n, time.Now()
			continue
		}
		if time.Since(quietSince) >= settleQuiet {
			return time.Since(start), true, nil
		}
	}
	return time.Since(start), false, nil
}

// committedWrites reads the writes the bridge's store has committed from
// its metrics.
func committedWrites(ctx context.Context, admin string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s/metrics: %s", admin, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "scim_bridge_store_committed_writes_total "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("the bridge's metrics hold no scim_bridge_store_committed_writes_total")
}
