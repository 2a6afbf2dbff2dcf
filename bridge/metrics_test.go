package bridge_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/sqlite"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

var metricName = regexp.MustCompile(`\bscim_bridge_[a-z0-9_]+`)

// exported scrapes the admin listener and returns the metric family names.
func (h *harness) exported() map[string]bool {
	h.t.Helper()
	status, body := h.get(h.adminURL + "/metrics")
	if status != http.StatusOK {
		h.t.Fatalf("/metrics: %d", status)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			names[strings.Fields(line)[2]] = true
		}
	}
	return names
}

// TestDashboardAndAlertsUseExportedMetrics checks that every metric the
// Grafana dashboard and the Prometheus rules query is one the bridge
// exports, so neither silently shows nothing.
func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	h := startHarness(t, harnessOpts{configure: withProfiles})
	// Some traffic, so nothing depends on lazily created series.
	h.createUser(userDoc("metrics@example.com", nil))
	h.waitSynced(30 * time.Second)
	names := h.exported()

	for _, file := range []string{"../deploy/grafana/scim-bridge.json", "../deploy/prometheus/rules.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("read %s: %v", file, err)
		}
		used := map[string]bool{}
		for _, m := range metricName.FindAllString(string(data), -1) {
			used[m] = true
		}
		if len(used) == 0 {
			t.Errorf("%s uses no scim_bridge_ metric", file)
		}
		var missing []string
		for m := range used {
			if strings.HasPrefix(m, "scim_bridge_google_") {
				// Exported only with the Google source configured;
				// TestGoogleSourceEndToEnd checks those.
				continue
			}
			base := m
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(m, suffix); ok && names[b] {
					base = b
				}
			}
			if !names[base] {
				missing = append(missing, m)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s uses metrics the bridge does not export: %v", file, missing)
		}
	}
}

// TestAdminEndpoints checks health, readiness and explain on the admin
// listener.
func TestAdminEndpoints(t *testing.T) {
	h := startHarness(t, harnessOpts{configure: withProfiles})
	id := h.createUser(userDoc("explained@example.com", nil))
	h.createGroup("Gainsight Full", "", id)
	h.waitSynced(30 * time.Second)

	if s, _ := h.get(h.adminURL + "/healthz"); s != http.StatusOK {
		t.Errorf("healthz: %d", s)
	}
	if s, _ := h.get(h.adminURL + "/readyz"); s != http.StatusOK {
		t.Errorf("readyz: %d", s)
	}
	if s, _ := h.get(h.adminURL + "/admin/users/" + id + "/explain"); s != http.StatusUnauthorized {
		t.Errorf("explain without a token: %d, want 401", s)
	}
	for _, key := range []string{id, "explained@example.com"} {
		s, body := h.getAuth(h.adminURL + "/admin/users/" + key + "/explain")
		if s != http.StatusOK {
			t.Fatalf("explain %s: %d %s", key, s, body)
		}
		for _, want := range []string{`"syncState": "synced"`, "Gainsight Full", `"gsid"`, "Full"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("explain %s lacks %s:\n%s", key, want, body)
			}
		}
	}
	if s, _ := h.getAuth(h.adminURL + "/admin/users/nobody/explain"); s != http.StatusNotFound {
		t.Errorf("explain unknown user: %d", s)
	}
}

// unreachableStore is a store whose database has gone away.
type unreachableStore struct {
	store.Store
	down atomic.Bool
}

func (s *unreachableStore) Ping(ctx context.Context) error {
	if s.down.Load() {
		return errors.New("connection refused")
	}
	return s.Store.Ping(ctx)
}

// TestReadyzFollowsTheStore takes the replica out of service while its
// database is unreachable and back in when it returns.
func TestReadyzFollowsTheStore(t *testing.T) {
	var us *unreachableStore
	h := startHarness(t, harnessOpts{openStore: func(ctx context.Context) (store.Store, error) {
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"), sqlite.Options{})
		us = &unreachableStore{Store: st}
		return us, err
	}})
	if s, _ := h.get(h.adminURL + "/readyz"); s != http.StatusOK {
		t.Fatalf("readyz: %d", s)
	}
	us.down.Store(true)
	if s, _ := h.get(h.adminURL + "/readyz"); s != http.StatusServiceUnavailable {
		t.Errorf("readyz with the store down: %d", s)
	}
	if s, _ := h.get(h.adminURL + "/healthz"); s != http.StatusOK {
		t.Errorf("healthz must not depend on the store: %d", s)
	}
	us.down.Store(false)
	if s, _ := h.get(h.adminURL + "/readyz"); s != http.StatusOK {
		t.Errorf("readyz after the store returned: %d", s)
	}
}

// TestPprofOnlyWhenConfigured serves Go's profiles on the admin listener
// only with listen.pprof, and there only to a holder of a token.
func TestPprofOnlyWhenConfigured(t *testing.T) {
	off := startHarness(t, harnessOpts{})
	if s, _ := off.getAuth(off.adminURL + "/debug/pprof/"); s != http.StatusNotFound {
		t.Errorf("profiles without listen.pprof: %d, want 404", s)
	}
	on := startHarness(t, harnessOpts{configure: func(c *config.Config) { c.Listen.Pprof = true }})
	if s, _ := on.get(on.adminURL + "/debug/pprof/heap"); s != http.StatusUnauthorized {
		t.Errorf("heap profile without a token: %d, want 401", s)
	}
	s, body := on.getAuth(on.adminURL + "/debug/pprof/goroutine?debug=1")
	if s != http.StatusOK || !strings.Contains(string(body), "goroutine profile:") {
		t.Errorf("goroutine profile with a token: %d %.200s", s, body)
	}
}
