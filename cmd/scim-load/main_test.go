package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/scim"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/sqlite"
)

type acceptAll struct{}

func (acceptAll) ValidateUser(map[string]any) error  { return nil }
func (acceptAll) CheckGroups([]store.GroupRef) error { return nil }

// TestDrivesABridge seeds a small SCIM server over SQLite through --url
// and runs every scenario briefly: each answers as the IdPs' traffic
// expects (no errors), and the table names every scenario with a rate.
func TestDrivesABridge(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "load.db"), sqlite.Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sum := sha256.Sum256([]byte("load-token"))
	h, err := scim.NewHandler(scim.Options{
		Store: st, Validator: acceptAll{}, TokenHashes: func() [][]byte { return [][]byte{sum[:]} },
		Logger: zaptest.NewLogger(t), Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	var out, log bytes.Buffer
	code := run(t.Context(), []string{"--url", srv.URL + "/scim/v2", "--token", "load-token", "--users", "300",
		"-c", "4", "--seed-c", "8", "--duration", "300ms", "--warmup", "50ms"}, &out, &log)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), log.String())
	}
	table := out.String()
	for _, name := range scenarioNames() {
		var found bool
		for _, sc := range scenarios() {
			if slug(sc.name) == name {
				found = strings.Contains(table, " "+sc.name+" ")
			}
		}
		if !found {
			t.Errorf("the table has no row for %s:\n%s", name, table)
		}
	}
	if !strings.Contains(table, "seeding external: 300 users") {
		t.Errorf("no seeding line:\n%s", table)
	}
	if n, err := st.CountSyncStates(t.Context()); err != nil || n[store.StatePending] < 300 {
		t.Errorf("users stored: %v, %v", n, err)
	}
}

func TestParseFlags(t *testing.T) {
	var log bytes.Buffer
	for _, bad := range [][]string{
		{"--store", "mysql"},
		{"--users", "10"},
		{"--scenarios", "nope"},
		{"-c", "0"},
		{"--url", "http://x/scim/v2"},
		{"extra"},
	} {
		if _, err := parse(bad, &log); err == nil {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
	o, err := parse([]string{"--users", "10_000,100000", "--store", "sqlite,postgres", "--scenarios", "create,username-eq"}, &log)
	if err != nil || len(o.sizes) != 2 || o.sizes[0] != 10000 || len(o.stores) != 2 || len(o.scenarios) != 2 {
		t.Errorf("parse = %+v, %v", o, err)
	}
}

func TestProcFiles(t *testing.T) {
	if got := vmRSS(strings.NewReader("Name:\tx\nVmRSS:\t  12345 kB\nVmHWM:\t1 kB\n")); got != 12345<<10 {
		t.Errorf("vmRSS = %d", got)
	}
	stat := "4242 (scim bridge) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0"
	if got := cpuTicks(stat); got != 4*time.Second {
		t.Errorf("cpuTicks = %v, want 4s", got)
	}
	if got := thousands(1234567); got != "1,234,567" {
		t.Errorf("thousands = %s", got)
	}
}

// TestSettleWaitsForAQuietStore: settle returns once the bridge's store
// has committed nothing for settleQuiet, and fails on metrics without the
// counter.
func TestSettleWaitsForAQuietStore(t *testing.T) {
	var polls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		n := min(polls.Add(1), 3) // writes until the third poll
		fmt.Fprintf(w, "# TYPE scim_bridge_store_committed_writes_total counter\nscim_bridge_store_committed_writes_total %d\n", n*100)
	}))
	defer srv.Close()
	waited, quiet, err := settle(t.Context(), srv.URL)
	if err != nil || !quiet {
		t.Fatalf("settle: quiet %v, %v", quiet, err)
	}
	// The count moves until the third reading (2s), then stays for 3s.
	if p := polls.Load(); p != 6 || waited < 5*time.Second {
		t.Errorf("settled after %d polls and %v; want 6 polls, 5s", p, waited)
	}
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer empty.Close()
	if _, _, err := settle(t.Context(), empty.URL); err == nil {
		t.Error("settle on metrics without the counter: no error")
	}
}
