package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// started is a running simulator process.
type started struct {
	addr   string
	logs   *syncBuffer
	stop   func() int
	client *http.Client
}

func start(t *testing.T, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	addrc := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), logs, func(a string) { addrc <- a })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case code := <-done:
		cancel()
		t.Fatalf("run exited with %d before serving: %s", code, logs)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("run did not start serving")
	}
	var once sync.Once
	code := -1
	stop := func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(10 * time.Second):
				t.Error("run did not stop")
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return &started{addr: addr, logs: logs, stop: stop, client: &http.Client{Timeout: 5 * time.Second}}
}

func (s *started) call(t *testing.T, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("accesskey", key)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var env map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, env
}

const createBody = `{"records":[{"Email":"new@example.com","SFDCUserName":"new","Name":"New","permissionBundles":["User"]}]}`

func TestRunServes(t *testing.T) {
	type call struct {
		method, path, key, body string
		wantStatus              int
	}
	tests := []struct {
		name  string
		args  []string
		calls []call
	}{
		{name: "defaults", calls: []call{
			{http.MethodPost, "/v1/users/services/list", "", `{}`, 401},
			{http.MethodPost, "/v1/users/services", "sim-access-key", createBody, 200},
			{http.MethodGet, "/v1/users", "sim-access-key", "", 200},
		}},
		{name: "config file with faults and seed", args: []string{"--config", "testdata/sim.yaml"}, calls: []call{
			{http.MethodGet, "/v1/users/G-SEED", "sim-access-key", "", 401},
			{http.MethodGet, "/v1/users/G-SEED", "file-key", "", 500},
			{http.MethodGet, "/v1/users/G-SEED", "file-key", "", 200},
		}},
		{name: "flags override the config file", args: []string{"--config", "testdata/sim.yaml", "--access-key", "flag-key", "--per-hour", "1"}, calls: []call{
			{http.MethodGet, "/v1/users/G-SEED", "file-key", "", 401},
			{http.MethodGet, "/v1/users/G-SEED", "flag-key", "", 500},
			{http.MethodGet, "/v1/users/G-SEED", "flag-key", "", 429},
		}},
		{name: "per-day", args: []string{"--per-day", "1", "--access-key", "k"}, calls: []call{
			{http.MethodPost, "/v1/users/services", "k", createBody, 200},
			{http.MethodPost, "/v1/users/services", "k", createBody, 429},
		}},
		{name: "admin endpoints", args: []string{"--access-key", "k"}, calls: []call{
			{http.MethodPost, "/_sim/faults", "k", `{"force429":true}`, 200},
			{http.MethodGet, "/v1/users", "k", "", 429},
			{http.MethodPost, "/_sim/reset", "k", "", 200},
			{http.MethodGet, "/v1/users", "k", "", 200},
			{http.MethodGet, "/_sim/stats", "k", "", 200},
			{http.MethodGet, "/_sim/users", "", "", 401},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.args...)
			for i, c := range tc.calls {
				if got, env := s.call(t, c.method, c.path, c.key, c.body); got != c.wantStatus {
					t.Fatalf("call %d %s %s: status %d, want %d (%v)", i, c.method, c.path, got, c.wantStatus, env)
				}
			}
			if code := s.stop(); code != 0 {
				t.Errorf("exit status %d, want 0: %s", code, s.logs)
			}
			logs := s.logs.String()
			if !strings.Contains(logs, `"msg":"call"`) || !strings.Contains(logs, `"msg":"stopped"`) {
				t.Errorf("logs lack call or stop lines: %s", logs)
			}
			for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
				if !json.Valid([]byte(line)) {
					t.Errorf("log line is not JSON: %s", line)
				}
			}
			for _, secret := range []string{"file-key", "flag-key", `"k"`, "sim-access-key"} {
				if strings.Contains(logs, secret) {
					t.Errorf("logs contain the access key %s: %s", secret, logs)
				}
			}
		})
	}
}

func TestRunFails(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantLog  string
	}{
		{name: "unknown flag", args: []string{"--nope"}, wantCode: 2, wantLog: "flag provided but not defined"},
		{name: "extra argument", args: []string{"serve"}, wantCode: 2, wantLog: "unexpected arguments"},
		{name: "negative limit", args: []string{"--per-hour", "-1"}, wantCode: 2, wantLog: "must not be negative"},
		{name: "missing config", args: []string{"--config", "testdata/none.yaml"}, wantCode: 1, wantLog: "no such file"},
		{name: "bad listen address", args: []string{"--listen", "127.0.0.1:bad"}, wantCode: 1, wantLog: "listen"},
		{name: "help", args: []string{"--help"}, wantCode: 0, wantLog: "-per-hour"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			ready := func(string) { t.Error("started serving") }
			if code := run(context.Background(), tc.args, &logs, ready); code != tc.wantCode {
				t.Errorf("exit status %d, want %d: %s", code, tc.wantCode, logs.String())
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("output %q lacks %q", logs.String(), tc.wantLog)
			}
		})
	}
}
