package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/source/google/googletest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres/pgtest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// The end-to-end tests of a safe rollout: shadow mode against the
// simulator, then live; the mass-deactivation guard on a mass unassignment
// over SCIM and on a Google org unit leaving scope; its one count across
// replicas on PostgreSQL. The kill -9 test of held users is in
// cmd/scim-bridge (TestHeldUsersSurviveKill).

// withAdmin configures the admin token (adminToken) under the name "ops",
// which the guard's decisions take.
func withAdmin(c *config.Config) {
	c.Console.Tokens = []config.Token{{Name: "ops", SHA256: config.Secret(config.HashToken(adminToken))}}
}

// admin sends a request to the admin listener with the admin token and
// decodes the JSON answer into out.
func (h *harness) admin(method, path string, body, out any) int {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.adminURL+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			h.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

func (h *harness) plan(only string) bridge.PlanReport {
	h.t.Helper()
	var rep bridge.PlanReport
	if s := h.admin(http.MethodGet, "/admin/plan?limit=5&only="+only, nil, &rep); s != http.StatusOK {
		h.t.Fatalf("GET /admin/plan: %d", s)
	}
	return rep
}

// waitPlanned waits until the dirty set is empty and n users have a
// stored plan: shadow mode has planned everything.
func (h *harness) waitPlanned(n int, timeout time.Duration) {
	h.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for {
		dirty, _, err := h.store.DirtyStats(ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		total, _, err := h.store.CountPlans(ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		if dirty == 0 && total == n {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("not planned after %v: %d dirty, %d plans of %d", timeout, dirty, total, n)
		}
		h.bridge.Engine().Kick()
		time.Sleep(20 * time.Millisecond)
	}
}

// rolloutConfig is a config file for the harness's simulator and store
// with the sync mode as a parameter.
func rolloutConfig(h *harness, mode string) string {
	return fmt.Sprintf(`
listen: {scim: "127.0.0.1:0", admin: "127.0.0.1:0"}
scim:
  tokens: [{name: test, sha256: %q}]
console:
  tokens: [{name: ops, sha256: %q}]
gainsight: {baseURL: %q, accessKey: %q, timeout: 5s}
store: {sqlite: {path: %q}}
sync:
  batchWindow: 100ms
  minBackoff: 50ms
  maxBackoff: 500ms
  lease: 30s
  mode: %s
  guard: {enabled: false}
roles: [Admin, Manager, User, Analyst]
customFields:
  - {name: Region__gc, type: multiPicklist, values: [US, EU, APAC]}
  - {name: Department__gc, type: string}
  - {name: Division__gc, type: dropdown, values: [East, West]}
  - {name: Beta__gc, type: boolean}
mapping:
  fields:
    - {scim: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", gainsight: Department__gc}
`, config.HashToken(testToken), config.HashToken(adminToken), h.simURL, testAccessKey, h.dbPath, mode)
}

// seededTenant is a tenant where existing of the users shadow-N already
// are, with another title than the IdP's, so adopting them costs an
// update each.
func seededTenant(existing int) gainsighttest.Tenant {
	tenant := newTenant()
	for i := range existing {
		name := fmt.Sprintf("shadow-%04d@example.com", i)
		tenant.Users = append(tenant.Users, map[string]any{"SFDCUserName": name, "Email": name, "FirstName": "Old",
			"LastName": "Name", "Name": "Old Name", "LicenseType": "Viewer", "SystemType": "Internal", "IsActiveUser": true})
	}
	return tenant
}

// checkShadowPlan checks what shadow mode planned for n users of which
// existing are in Gainsight, and that Gainsight got no write. unread: the
// adoptions matched in a tenant snapshot, so Gainsight's old values are
// not known.
func checkShadowPlan(t *testing.T, h *harness, n, existing int, unread bool) {
	t.Helper()
	st := h.sim.Stats()
	if w := writeCalls(st); w != 0 {
		t.Fatalf("shadow mode sent %d writes to gainsight: %v", w, st.Calls)
	}
	// Reads cost what they cost live: a snapshot of the tenant (a page per
	// 100 users), or at most a look-up per batch of 50.
	lists, most := st.Calls[gainsighttest.OpList], (n+49)/50
	if unread {
		most = existing/100 + 1
	}
	if lists == 0 || lists > most {
		t.Errorf("shadow mode made %d list calls, want 1 to %d", lists, most)
	}
	if got := len(h.sim.Users()); got != existing {
		t.Fatalf("gainsight holds %d users in shadow mode, want the %d it had", got, existing)
	}
	rep := h.plan("adopt")
	if rep.Mode != config.ModeShadow || rep.Planned != n || rep.Counts["adopt"] != existing || rep.Counts["create"] != n-existing ||
		rep.Counts["update"] != existing || rep.Counts["deactivate"] != 0 {
		t.Fatalf("plan: mode %s, %d planned, counts %v", rep.Mode, rep.Planned, rep.Counts)
	}
	if len(rep.Users) == 0 {
		t.Fatal("plan lists no adoption")
	}
	u := rep.Users[0]
	if u.Match != "SFDCUserName" || u.GSID == "" || u.Unread != unread {
		t.Errorf("adoption = %+v", u.Planned)
	}
	var want any = "Old"
	if unread {
		want = nil
	}
	found := false
	for _, f := range u.Fields {
		if f.Field == "FirstName" && f.Old == want && f.New == "Shadow-0000" && len(f.Sources) == 1 && f.Sources[0] == "user" {
			found = true
		}
	}
	if !found {
		t.Errorf("adoption's fields lack FirstName %v → Shadow-0000, from the user: %+v", want, u.Fields)
	}
	var list struct {
		Resources []map[string]any `json:"Resources"`
	}
	h.do(http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "shadow-0000@example.com"`), nil, &list)
	if len(list.Resources) != 1 || list.Resources[0][bridgeURN].(map[string]any)["syncState"] != store.StatePending {
		t.Errorf("a user in shadow mode: %v", list.Resources)
	}
}

const bridgeURN = "urn:ietf:params:scim:schemas:extension:gainsight-scim-bridge:2.0:User"

// checkLive checks that going live sent exactly what was planned: the
// creates, one update per adopted user, nothing twice.
func checkLive(t *testing.T, h *harness, n, existing int) {
	t.Helper()
	h.waitSynced(2 * time.Minute)
	h.checkConverged()
	st := h.sim.Stats()
	if got := len(h.sim.Users()); got != n {
		t.Errorf("gainsight holds %d users, want %d", got, n)
	}
	if st.Records[gainsighttest.OpCreate] != n-existing || st.Records[gainsighttest.OpUpdate] != existing || st.Records[gainsighttest.OpStatus] != 0 {
		t.Errorf("live wrote %v records, want %d created, %d updated", st.Records, n-existing, existing)
	}
	if want := (n - existing + 49) / 50; st.Calls[gainsighttest.OpCreate] != want {
		t.Errorf("%d create calls, want %d", st.Calls[gainsighttest.OpCreate], want)
	}
	if rep := h.plan(""); rep.Planned != 0 || rep.Mode != config.ModeLive {
		t.Errorf("after going live: mode %s, %d plans left", rep.Mode, rep.Planned)
	}
	before := h.sim.Stats()
	if _, err := h.bridge.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := writeCalls(h.sim.Stats()) - writeCalls(before); w != 0 {
		t.Errorf("a reconcile after going live wrote %d calls: something was left", w)
	}
}

// TestShadowModeThenLive provisions 500 users, 100 of them already in
// Gainsight, in shadow mode: the plan shows 100 adoptions and 400 creates
// and Gainsight receives no write. A config reload to live then makes
// exactly those writes, with no duplicate.
func TestShadowModeThenLive(t *testing.T) {
	const n, existing = 500, 100
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("# written below\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHarness(t, harnessOpts{tenant: seededTenant(existing), dbPath: filepath.Join(dir, "bridge.db"), configPath: path,
		configure: func(c *config.Config) {
			withAdmin(c)
			c.Sync.Mode = config.ModeShadow
		}})
	write := func(mode string) {
		if err := os.WriteFile(path+".tmp", []byte(rolloutConfig(h, mode)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	write(config.ModeShadow)
	waitFor(t, func() bool { return metricValue(h, `scim_bridge_config_reloads_total{result="success"}`) >= 1 })
	h.createMany("shadow", n)
	h.waitPlanned(n, 2*time.Minute)
	checkShadowPlan(t, h, n, existing, true)
	if v := metricValue(h, `scim_bridge_sync_planned_users{kind="create"}`); v != n-existing {
		t.Errorf("planned_users{kind=create} = %v", v)
	}

	write(config.ModeLive)
	waitFor(t, func() bool { return h.bridge.Config().Sync.Mode == config.ModeLive })
	checkLive(t, h, n, existing)
}

// TestShadowModeThenLiveAcrossARestart is the same switch through a
// restart: the plans are in the store, and the live bridge syncs them.
// Without tenant snapshots, adoptions are looked up, so the plan shows
// Gainsight's old values.
func TestShadowModeThenLiveAcrossARestart(t *testing.T) {
	const n, existing = 120, 30
	h := startHarness(t, harnessOpts{tenant: seededTenant(existing), configure: func(c *config.Config) {
		withAdmin(c)
		c.Sync.Mode = config.ModeShadow
		c.Sync.Snapshot = config.SnapshotOff
	}})
	h.createMany("shadow", n)
	h.waitPlanned(n, time.Minute)
	checkShadowPlan(t, h, n, existing, false)
	h.stop()

	live := startHarness(t, harnessOpts{sim: h.sim, simURL: h.simURL, dbPath: h.dbPath, configure: withAdmin})
	checkLive(t, live, n, existing)
}

// setActive sends the IdP's PATCH of active for each of ids, from a few
// clients at once, as one push.
func (h *harness) setActive(ids []string, active bool) {
	h.t.Helper()
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": active}}}
	h.parallel(ids, func(id string) {
		if s := h.do(http.MethodPatch, "/Users/"+id, body, nil); s != http.StatusOK {
			h.t.Errorf("PATCH active=%v of %s: %d", active, id, s)
		}
	})
}

func (h *harness) parallel(ids []string, fn func(id string)) {
	var wg sync.WaitGroup
	next := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				fn(id)
			}
		}()
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
}

// waitSettled waits until the dirty set is empty and no user is pending:
// what waitSynced does, for a bridge that holds users.
func (h *harness) waitSettled(timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n, _, _ := h.store.DirtyStats(context.Background())
		states, _ := h.store.CountSyncStates(context.Background())
		if n == 0 && states[store.StatePending] == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("not settled after %v: %d dirty, states %v", timeout, n, states)
		}
		h.bridge.Engine().Kick()
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) inactiveInGainsight(prefix string) int {
	n := 0
	for _, u := range h.sim.Users() {
		if strings.HasPrefix(fmt.Sprint(u["Email"]), prefix) && u["IsActiveUser"] == false {
			n++
		}
	}
	return n
}

func (h *harness) holds() []store.Hold {
	h.t.Helper()
	hs, err := h.store.Holds(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return hs
}

// TestGuardOnMassUnassignment provisions 1,000 users, then unassigns 40%
// of them in one push (300 disabled, 100 deleted) while other users are
// created and changed: deactivations up to the guard's threshold go out,
// the rest are held, the alert's metric is set, and the other changes
// flow. Approving deactivates them all. A second wave, re-enabled by the
// IdP before anyone approves, sends nothing for its users.
func TestGuardOnMassUnassignment(t *testing.T) {
	const n, limit = 1000, 50
	h := startHarness(t, harnessOpts{configure: func(c *config.Config) {
		withAdmin(c)
		c.Sync.Guard = config.Guard{Enabled: true, MaxUsers: limit, MaxPercent: 10, Window: time.Hour}
	}})
	ids := h.createMany("mass", n)
	h.waitSynced(2 * time.Minute)

	// One push: 300 disabled, 100 deleted, 10 new users, 10 changed.
	disabled, deleted, changed := ids[:300], ids[300:400], ids[990:]
	before := h.sim.Stats()
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); h.setActive(disabled, false) }()
	go func() {
		defer wg.Done()
		h.parallel(deleted, func(id string) {
			if s := h.do(http.MethodDelete, "/Users/"+id, nil, nil); s != http.StatusNoContent {
				t.Errorf("DELETE %s: %d", id, s)
			}
		})
	}()
	go func() {
		defer wg.Done()
		for i := range 10 {
			h.createUser(userDoc(fmt.Sprintf("newcomer-%d@example.com", i), nil))
		}
	}()
	go func() {
		defer wg.Done()
		h.parallel(changed, func(id string) {
			body := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "Moved"}}}
			if s := h.do(http.MethodPatch, "/Users/"+id, body, nil); s != http.StatusOK {
				t.Errorf("PATCH title of %s: %d", id, s)
			}
		})
	}()
	wg.Wait()
	h.waitSettled(2 * time.Minute)

	after := h.sim.Stats()
	if got := after.Records[gainsighttest.OpStatus] - before.Records[gainsighttest.OpStatus]; got != limit {
		t.Errorf("%d deactivations sent, want the guard's %d", got, limit)
	}
	if got := h.inactiveInGainsight("mass-"); got != limit {
		t.Errorf("%d users inactive in gainsight, want %d", got, limit)
	}
	if got := len(h.holds()); got != 400-limit {
		t.Fatalf("%d users held, want %d", got, 400-limit)
	}
	if got := after.Records[gainsighttest.OpCreate] - before.Records[gainsighttest.OpCreate]; got != 10 {
		t.Errorf("%d creates went out beside the held deactivations, want 10", got)
	}
	for _, id := range changed {
		info, _ := h.store.GetSync(context.Background(), id)
		if info.Record["Title"] != "Moved" || info.State != store.StateSynced {
			t.Errorf("changed user %s: %s %v", id, info.State, info.Record["Title"])
		}
	}
	// The alert's metric, the held state in SCIM, in explain and in the
	// plan.
	if v := metricValue(h, "scim_bridge_sync_guard_awaiting_users"); v != 400-limit {
		t.Errorf("guard_awaiting_users = %v", v)
	}
	if v := metricValue(h, "scim_bridge_sync_guard_holds_total"); v != 400-limit {
		t.Errorf("guard_holds_total = %v", v)
	}
	liveHeld := metricValue(h, `scim_bridge_sync_users{state="held"}`)
	var list struct {
		TotalResults int `json:"totalResults"`
	}
	h.do(http.MethodGet, "/Users?count=1&filter="+url.QueryEscape(bridgeURN+`:syncState eq "held"`), nil, &list)
	if liveHeld == 0 || float64(list.TotalResults) != liveHeld {
		t.Errorf("held users: %v in sync_users, %d by the SCIM filter", liveHeld, list.TotalResults)
	}
	hs := h.holds()
	var heldID string
	for _, hd := range hs {
		if !slices.Contains(deleted, hd.UserID) {
			heldID = hd.UserID
			break
		}
	}
	var ex bridge.Explanation
	h.admin(http.MethodGet, "/admin/users/"+heldID+"/explain", nil, &ex)
	if ex.SyncState != store.StateHeld || ex.Held == nil || ex.Held.ApprovedBy != "" || !strings.Contains(ex.LastError, "held") {
		t.Errorf("explain of a held user: %s %q %+v", ex.SyncState, ex.LastError, ex.Held)
	}
	if rep := h.plan(bridge.PlanHeld); rep.Held != 400-limit || len(rep.HeldUsers) != 400-limit {
		t.Errorf("plan: %d held, %d listed", rep.Held, len(rep.HeldUsers))
	}

	// Approve them all: every one is deactivated, once.
	var decided struct {
		Approved int    `json:"approved"`
		By       string `json:"by"`
	}
	if s := h.admin(http.MethodPost, "/admin/guard/approve", map[string]any{"all": true}, &decided); s != http.StatusOK ||
		decided.Approved != 400-limit || decided.By != "ops" {
		t.Fatalf("approve: %d %+v", s, decided)
	}
	h.waitSynced(2 * time.Minute)
	h.checkConverged()
	if got := h.inactiveInGainsight("mass-"); got != 400 {
		t.Errorf("%d unassigned users inactive after approval, want 400", got)
	}
	if got := h.sim.Stats().Records[gainsighttest.OpStatus] - before.Records[gainsighttest.OpStatus]; got != 400 {
		t.Errorf("%d deactivations in all, want each of the 400 once", got)
	}
	if len(h.holds()) != 0 || metricValue(h, "scim_bridge_sync_guard_awaiting_users") != 0 {
		t.Error("holds left after approval")
	}
	entries, err := h.store.ListAudit(context.Background(), store.AuditQuery{UserID: heldID})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, e := range entries {
		ops = append(ops, string(e.Op))
		if e.Op == store.AuditApprove && (e.Actor != "ops" || e.Time.IsZero()) {
			t.Errorf("approval recorded as %+v", e)
		}
	}
	if got := strings.Join(ops, " "); !strings.Contains(got, "deactivate approve hold") {
		t.Errorf("audit trail of a held user, newest first: %s", got)
	}

	// A second wave, which the IdP takes back before anyone approves:
	// the window is spent, so all of it is held, and nothing is sent.
	wave := ids[400:600]
	before = h.sim.Stats()
	h.setActive(wave, false)
	h.waitSettled(time.Minute)
	if got := len(h.holds()); got != len(wave) {
		t.Fatalf("%d of the second wave held, want all %d", got, len(wave))
	}
	// Decisions take an admin token; reading the plan takes a token.
	req, err := http.NewRequest(http.MethodPost, h.adminURL+"/admin/guard/reject", strings.NewReader(`{"all":true}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("reject with a SCIM token: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	if s, _ := h.get(h.adminURL + "/admin/plan"); s != http.StatusUnauthorized {
		t.Errorf("plan without a token: %d, want 401", s)
	}
	// Rejected, they stay held until the IdP takes them back.
	var rejected struct {
		Rejected int    `json:"rejected"`
		By       string `json:"by"`
	}
	if s := h.admin(http.MethodPost, "/admin/guard/reject", map[string]any{"all": true}, &rejected); s != http.StatusOK ||
		rejected.Rejected != len(wave) || rejected.By != "ops" {
		t.Fatalf("reject: %d %+v", s, rejected)
	}
	if got := len(h.holds()); got != len(wave) {
		t.Fatalf("%d of the rejected wave held, want all %d", got, len(wave))
	}
	h.setActive(wave, true)
	h.waitSynced(time.Minute)
	h.checkConverged()
	if got := writeCalls(h.sim.Stats()) - writeCalls(before); got != 0 {
		t.Errorf("%d writes for users the IdP took back before approval", got)
	}
	if len(h.holds()) != 0 {
		t.Errorf("holds left: %v", h.holds())
	}
	if got := h.inactiveInGainsight("mass-"); got != 400 {
		t.Errorf("%d users inactive, want the first 400 only", got)
	}
}

// TestGuardOnGoogleOrgUnitLeavingScope: an org unit moved out of the
// configured scope deprovisions its users through the same guard.
func TestGuardOnGoogleOrgUnitLeavingScope(t *testing.T) {
	const staff, emea, limit = 20, 30, 5
	dir := googletest.New()
	endpoint := dir.Start(t)
	tokens := &googletest.TokenServer{}
	keyFile := googletest.WriteServiceAccountKey(t, t.TempDir(), tokens.Start(t))
	put := func(i int, ou string) {
		dir.PutUser(googletest.User{Email: fmt.Sprintf("g-%02d@example.com", i), GivenName: "G", FamilyName: fmt.Sprint(i), OrgUnitPath: ou})
	}
	for i := range staff {
		put(i, "/Staff")
	}
	for i := staff; i < staff+emea; i++ {
		put(i, "/Sales/EMEA")
	}
	h := startHarness(t, harnessOpts{configure: func(c *config.Config) {
		withAdmin(c)
		c.Sync.Guard = config.Guard{Enabled: true, MaxUsers: limit, MaxPercent: 50, Window: time.Hour}
		c.Google = &config.GoogleSource{CredentialsFile: keyFile, Subject: "admin@example.com", Customer: "my_customer",
			Endpoint: endpoint, Interval: 100 * time.Millisecond, OrgUnits: []string{"/Staff", "/Sales"}}
	}})
	waitFor(t, func() bool { return len(h.sim.Users()) == staff+emea })
	h.waitSynced(time.Minute)

	// /Sales/EMEA moves under /Archive: its users leave scope.
	for i := staff; i < staff+emea; i++ {
		put(i, "/Archive/EMEA")
	}
	polls := dir.Requests(googletest.KindUsers)
	waitFor(t, func() bool { return dir.Requests(googletest.KindUsers) >= polls+2 })
	h.waitSettled(time.Minute)
	if got := h.inactiveInGainsight("g-"); got != limit {
		t.Errorf("%d deprovisioned users inactive, want the guard's %d", got, limit)
	}
	if got := len(h.holds()); got != emea-limit {
		t.Fatalf("%d held, want %d", got, emea-limit)
	}
	if s := h.admin(http.MethodPost, "/admin/guard/approve", map[string]any{"users": []string{"nobody@example.com"}}, nil); s != http.StatusNotFound {
		t.Errorf("approving a user that is not held: %d", s)
	}
	if s := h.admin(http.MethodPost, "/admin/guard/approve", map[string]any{"all": true}, nil); s != http.StatusOK {
		t.Fatalf("approve: %d", s)
	}
	h.waitSynced(time.Minute)
	if got := h.inactiveInGainsight("g-"); got != emea {
		t.Errorf("%d inactive after approval, want %d", got, emea)
	}
	for i := range staff {
		if !h.gainsightActive(fmt.Sprintf("g-%02d@example.com", i)) {
			t.Errorf("g-%02d, still in scope, is inactive", i)
		}
	}
}

// TestGuardAcrossReplicasOnPostgres runs two replicas on one PostgreSQL
// store: a mass deactivation through both is let through up to the one
// shared threshold, and an approval sent to both releases each user once.
func TestGuardAcrossReplicasOnPostgres(t *testing.T) {
	dsn := pgtest.FreshSchema(t)
	const n, limit = 200, 20
	tenant := newTenant()
	sim := gainsighttest.New(tenant, gainsighttest.WithLogger(zaptest.NewLogger(t).Named("sim")))
	srv := newLocalServer(t, sim)
	replicas := make([]*harness, 2)
	for i := range replicas {
		replicas[i] = startHarness(t, harnessOpts{tenant: tenant, sim: sim, simURL: srv, owner: fmt.Sprintf("replica-%d", i),
			configure: func(c *config.Config) {
				withAdmin(c)
				c.Sync.Guard = config.Guard{Enabled: true, MaxUsers: limit, Window: time.Hour}
			},
			openStore: func(ctx context.Context) (store.Store, error) {
				return postgres.Open(ctx, dsn, postgres.Options{Logger: zaptest.NewLogger(t), MaxConns: 6})
			}})
	}
	ids := replicas[0].createMany("rep", n)
	replicas[1].waitSynced(time.Minute)
	before := sim.Stats()
	var wg sync.WaitGroup
	for i, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.setActive(ids[i*n/4:(i+1)*n/4], false)
		}()
	}
	wg.Wait()
	replicas[0].waitSettled(time.Minute)
	if got := sim.Stats().Records[gainsighttest.OpStatus] - before.Records[gainsighttest.OpStatus]; got != limit {
		t.Errorf("%d deactivations sent by two replicas, want the shared limit of %d", got, limit)
	}
	if got := len(replicas[1].holds()); got != n/2-limit {
		t.Fatalf("%d held, want %d", got, n/2-limit)
	}
	approved := make([]int, 2)
	for i, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct {
				Approved int `json:"approved"`
			}
			r.admin(http.MethodPost, "/admin/guard/approve", map[string]any{"all": true}, &out)
			approved[i] = out.Approved
		}()
	}
	wg.Wait()
	if approved[0]+approved[1] != n/2-limit {
		t.Errorf("approvals %v, want %d between them", approved, n/2-limit)
	}
	replicas[0].waitSynced(time.Minute)
	replicas[0].checkConverged()
	if got := sim.Stats().Records[gainsighttest.OpStatus] - before.Records[gainsighttest.OpStatus]; got != n/2 {
		t.Errorf("%d deactivations in all, want each of %d once", got, n/2)
	}
	if st := sim.Stats(); st.MaxInFlightPerUser > 1 {
		t.Errorf("a user was pushed by both replicas at once")
	}
}
