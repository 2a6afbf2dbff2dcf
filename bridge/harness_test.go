package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/sqlite"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

const (
	testToken     = "test-token-0123456789"
	testAccessKey = "sim-access-key"
)

// harness is one bridge wired to one simulator and one SQLite file, all in
// process, listening on 127.0.0.1.
type harness struct {
	t          *testing.T
	sim        *gainsighttest.Server
	simURL     string
	cfg        *config.Config
	store      store.Store
	bridge     *bridge.Bridge
	reg        *prometheus.Registry
	scimURL    string
	adminURL   string
	cancel     context.CancelFunc
	done       chan error
	dbPath     string
	configPath string
	openStore  func(ctx context.Context) (store.Store, error)
	owner      string
	// refused are the values the simulated tenant refuses (Tenant.Refuse):
	// a user whose planned record holds one ends failed, its status
	// still synced.
	refused map[string][]string
	// allowConflicts: users whose groups conflict (after a reload) end
	// failed, their status still synced, instead of failing the check.
	allowConflicts bool
}

type harnessOpts struct {
	tenant    gainsighttest.Tenant
	configure func(*config.Config)
	// window shrinks Gainsight's hour window (and the client's) for tests
	// that exercise the rate budget.
	window time.Duration
	// sim, when set, is used instead of a new simulator (a restart test
	// keeps Gainsight's state).
	sim    *gainsighttest.Server
	simURL string
	dbPath string
	// configPath, when set, is the file the bridge watches for reloads.
	configPath string
	// openStore, when set, opens the store instead of a SQLite file.
	openStore func(ctx context.Context) (store.Store, error)
	// owner names the replica in dirty-set leases.
	owner string
}

func newTenant() gainsighttest.Tenant {
	return gainsighttest.Tenant{
		AccessKey:         testAccessKey,
		PermissionBundles: []string{"Admin", "Manager", "User", "Analyst"},
		CustomFields: map[string]string{
			"Region__gc":     "multiPicklist",
			"Department__gc": "string",
			"Division__gc":   "dropdown",
			"Beta__gc":       "boolean",
		},
	}
}

func testConfig(t testing.TB, simURL string, dbPath string) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Listen.SCIM = "127.0.0.1:0"
	cfg.Listen.Admin = "127.0.0.1:0"
	cfg.SCIM.Tokens = []config.Token{{Name: "test", SHA256: config.Secret(config.HashToken(testToken))}}
	cfg.Gainsight.BaseURL = simURL
	cfg.Gainsight.AccessKey = testAccessKey
	cfg.Gainsight.Timeout = 5 * time.Second
	cfg.Store.SQLite.Path = dbPath
	cfg.Sync.BatchWindow = 100 * time.Millisecond
	cfg.Sync.MinBackoff = 50 * time.Millisecond
	cfg.Sync.MaxBackoff = 500 * time.Millisecond
	cfg.Sync.Lease = 30 * time.Second
	// A handful of test users is a small tenant, where the
	// mass-deactivation guard's default share holds the second
	// deactivation of an hour; its own tests (rollout_e2e_test.go) turn
	// it on.
	cfg.Sync.Guard.Enabled = false
	cfg.Roles = []string{"Admin", "Manager", "User", "Analyst"}
	cfg.CustomFields = []config.CustomField{
		{Name: "Region__gc", Type: config.FieldMultiPicklist, Values: []string{"US", "EU", "APAC"}},
		{Name: "Department__gc", Type: config.FieldString},
		{Name: "Division__gc", Type: config.FieldDropdown, Values: []string{"East", "West"}},
		{Name: "Beta__gc", Type: config.FieldBoolean},
	}
	cfg.Mapping.Fields = []config.FieldMapping{{
		SCIM:      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
		Gainsight: "Department__gc",
	}}
	return &cfg
}

func startHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, sim: o.sim, simURL: o.simURL, dbPath: o.dbPath}
	if o.tenant.AccessKey == "" {
		o.tenant = newTenant()
	}
	h.refused = o.tenant.Refuse
	if o.window > 0 {
		o.tenant.HourWindow = o.window
		o.tenant.DayWindow = 24 * o.window
	}
	if h.sim == nil {
		h.sim = gainsighttest.New(o.tenant, gainsighttest.WithLogger(zaptest.NewLogger(t).Named("sim")))
		srv := httptest.NewServer(h.sim)
		t.Cleanup(srv.Close)
		h.simURL = srv.URL
	}
	if h.dbPath == "" {
		h.dbPath = filepath.Join(t.TempDir(), "bridge.db")
	}
	h.cfg = testConfig(t, h.simURL, h.dbPath)
	h.cfg.Gainsight.Budget.PerHour = o.tenant.PerHour
	h.cfg.Gainsight.Budget.PerDay = o.tenant.PerDay
	if o.window > 0 {
		h.cfg.Gainsight.Budget.WindowHour, h.cfg.Gainsight.Budget.WindowDay = o.window, 24*o.window
	}
	if o.configure != nil {
		o.configure(h.cfg)
	}
	if err := h.cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h.configPath = o.configPath
	h.openStore = o.openStore
	h.owner = o.owner
	if h.owner == "" {
		h.owner = "test"
	}
	h.start()
	return h
}

func (h *harness) start() {
	t := h.t
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	log := zaptest.NewLogger(t)
	var st store.Store
	var err error
	if h.openStore != nil {
		st, err = h.openStore(ctx)
	} else {
		st, err = sqlite.Open(ctx, h.dbPath, sqlite.Options{Logger: log})
	}
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	h.store = st
	h.reg = prometheus.NewRegistry()
	// A store that counts calls shares the budget between replicas, as
	// the command wires it.
	counter, _ := st.(gainsight.Counter)
	uopts := bridge.UpstreamOptions(h.cfg, "test")
	uopts.Counter = counter
	uopts.MaxBackoff = 200 * time.Millisecond
	uopts.Logger, uopts.Registerer = log, h.reg
	up, err := gainsight.New(uopts)
	if err != nil {
		t.Fatalf("gainsight client: %v", err)
	}
	scimLn := listenLocal(t)
	adminLn := listenLocal(t)
	h.bridge, err = bridge.New(bridge.Options{
		Config:        h.cfg,
		ConfigPath:    h.configPath,
		WatchInterval: 20 * time.Millisecond,
		Logger:        log,
		Registry:      h.reg,
		Store:         st,
		Upstream:      up,
		Version:       "test",
		Owner:         h.owner,
		SCIMListener:  scimLn,
		AdminListener: adminLn,
	})
	if err != nil {
		t.Fatalf("bridge: %v", err)
	}
	h.scimURL = "http://" + scimLn.Addr().String() + h.cfg.SCIM.BasePath
	h.adminURL = "http://" + adminLn.Addr().String()
	h.done = make(chan error, 1)
	go func() { h.done <- h.bridge.Run(ctx) }()
	t.Cleanup(h.stop)
}

// kill ends the bridge as a crash would: its database connections go
// first, so whatever it had claimed stays leased until the lease expires,
// and nothing it was doing is finished.
func (h *harness) kill() {
	if h.cancel == nil {
		return
	}
	_ = h.store.Close()
	h.cancel()
	h.cancel = nil
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		h.t.Errorf("bridge did not stop")
	}
}

// stop shuts the bridge down and closes its store; it is idempotent.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("bridge run: %v", err)
		}
	case <-time.After(30 * time.Second):
		h.t.Errorf("bridge did not stop")
	}
	if err := h.store.Close(); err != nil {
		h.t.Errorf("close store: %v", err)
	}
}

func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// do sends one SCIM request and decodes the JSON answer into out (when
// non-nil). It returns the status code.
func (h *harness) do(method, path string, body any, out any) int {
	h.t.Helper()
	status, _, data := h.doRaw(method, path, body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			h.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return status
}

func (h *harness) doRaw(method, path string, body any) (int, http.Header, []byte) {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.scimURL+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, data
}

// createUser creates a SCIM user and returns its id.
func (h *harness) createUser(doc map[string]any) string {
	h.t.Helper()
	if _, ok := doc["schemas"]; !ok {
		doc["schemas"] = []string{"urn:ietf:params:scim:schemas:core:2.0:User"}
	}
	var out map[string]any
	if status := h.do(http.MethodPost, "/Users", doc, &out); status != http.StatusCreated {
		h.t.Fatalf("create user %v: status %d: %v", doc["userName"], status, out)
	}
	id, _ := out["id"].(string)
	return id
}

func userDoc(name string, extra map[string]any) map[string]any {
	local := strings.SplitN(name, "@", 2)[0]
	doc := map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": name,
		"name":     map[string]any{"givenName": strings.ToUpper(local[:1]) + local[1:], "familyName": "Tester"},
		"emails":   []any{map[string]any{"value": name, "type": "work", "primary": true}},
		"active":   true,
	}
	for k, v := range extra {
		doc[k] = v
	}
	return doc
}

// waitSynced waits until the dirty set is empty and no user is pending.
func (h *harness) waitSynced(timeout time.Duration) {
	h.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for {
		n, _, err := h.store.DirtyStats(ctx)
		if err != nil {
			h.t.Fatalf("dirty stats: %v", err)
		}
		states, err := h.store.CountSyncStates(ctx)
		if err != nil {
			h.t.Fatalf("sync states: %v", err)
		}
		if n == 0 && states[store.StatePending] == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("not synced after %v: %d dirty, states %v, sim stats %+v", timeout, n, states, h.sim.Stats())
		}
		h.bridge.Engine().Kick()
		time.Sleep(20 * time.Millisecond)
	}
}

// checkConverged asserts the invariants every end-to-end test ends with:
// each SCIM user is linked to exactly one Gainsight user holding the
// planned fields and status; deleted users are inactive; Gainsight holds
// no duplicates. A user Gainsight refuses (h.refused), or whose groups
// conflict (h.allowConflicts), must end failed, and its Gainsight user, if
// it has one, must still have the status the IdP gave it.
func (h *harness) checkConverged() {
	h.t.Helper()
	ctx := context.Background()
	mapper, err := translate.NewMapper(h.bridge.Config())
	if err != nil {
		h.t.Fatal(err)
	}
	users, _, err := h.store.ListUsers(ctx, store.Query{})
	if err != nil {
		h.t.Fatal(err)
	}
	simUsers := h.sim.Users()
	byEmail := map[string]int{}
	byGSID := map[string]map[string]any{}
	for _, u := range simUsers {
		e := strings.ToLower(fmt.Sprint(u["Email"]))
		byEmail[e]++
		if byEmail[e] > 1 {
			h.t.Errorf("gainsight holds %d users with email %s", byEmail[e], e)
		}
		byGSID[fmt.Sprint(u["Gsid"])] = u
	}
	for _, u := range users {
		info, err := h.store.GetSync(ctx, u.ID)
		if err != nil {
			h.t.Errorf("user %s: sync info: %v", u.UserName, err)
			continue
		}
		groups, err := h.store.GroupsOfUser(ctx, u.ID)
		if err != nil {
			h.t.Fatal(err)
		}
		plan, planErr := mapper.Plan(u, groups)
		refused := planErr == nil && h.isRefused(plan.Record)
		if planErr != nil && !h.allowConflicts {
			h.t.Errorf("user %s: plan: %v", u.UserName, planErr)
			continue
		}
		if planErr != nil || refused {
			// The status follows the IdP whatever else failed.
			active := u.Active
			if planErr == nil {
				active = plan.Active
			}
			if info.State != store.StateFailed {
				h.t.Errorf("user %s: state %s (%s), want failed (plan error %v, refused %v)", u.UserName, info.State, info.LastError, planErr, refused)
			}
			if got, ok := byGSID[info.GSID]; ok && got["IsActiveUser"] != active {
				h.t.Errorf("user %s (failed: %s): active in gainsight %v, want %v", u.UserName, info.LastError, got["IsActiveUser"], active)
			}
			continue
		}
		if info.State != store.StateSynced {
			h.t.Errorf("user %s: state %s (%s)", u.UserName, info.State, info.LastError)
			continue
		}
		got, ok := byGSID[info.GSID]
		if !ok {
			h.t.Errorf("user %s: gsid %q not in gainsight", u.UserName, info.GSID)
			continue
		}
		if active, _ := got["IsActiveUser"].(bool); active != plan.Active {
			h.t.Errorf("user %s: active in gainsight %v, want %v", u.UserName, got["IsActiveUser"], plan.Active)
		}
		for k, want := range plan.Record {
			if !plan.Active && k == "LicenseType" {
				continue // Gainsight strips the license of inactive users
			}
			if !sameValue(got[k], want) {
				h.t.Errorf("user %s: gainsight %s = %#v, want %#v", u.UserName, k, got[k], want)
			}
		}
		if plan.ManagerID != "" {
			mgr, err := h.store.GetSync(ctx, plan.ManagerID)
			if err == nil && mgr.GSID != "" && got["Manager"] != mgr.GSID {
				h.t.Errorf("user %s: manager %v, want %s", u.UserName, got["Manager"], mgr.GSID)
			}
		}
	}
}

// isRefused reports whether rec holds a value the tenant refuses.
func (h *harness) isRefused(rec map[string]any) bool {
	for field, values := range h.refused {
		for _, v := range values {
			if rec[field] == v {
				return true
			}
		}
	}
	return false
}

// sameValue compares a value decoded from the simulator with a planned
// one: lists compare as sets of strings, everything else by its text.
func sameValue(got, want any) bool {
	toList := func(v any) ([]string, bool) {
		switch l := v.(type) {
		case []string:
			return l, true
		case []any:
			out := make([]string, len(l))
			for i, x := range l {
				out[i] = fmt.Sprint(x)
			}
			return out, true
		}
		return nil, false
	}
	gl, gok := toList(got)
	wl, wok := toList(want)
	if gok || wok {
		if len(gl) != len(wl) {
			return false
		}
		set := map[string]int{}
		for _, s := range gl {
			set[s]++
		}
		for _, s := range wl {
			if set[s] == 0 {
				return false
			}
			set[s]--
		}
		return true
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

// writeCalls counts the simulator's write calls.
func writeCalls(s gainsighttest.Stats) int {
	return s.Calls["create"] + s.Calls["update"] + s.Calls["status"]
}

func (h *harness) get(url string) (int, []byte) {
	h.t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		h.t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		h.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// getAuth is get with the SCIM bearer token, as an administrator calls the
// admin API.
func (h *harness) getAuth(url string) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, b
}
