package bridge_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// createMany creates n users named prefix-i@example.com over SCIM with a
// few concurrent clients, as an IdP's import does.
func (h *harness) createMany(prefix string, n int) []string {
	h.t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ids[i] = h.createUser(userDoc(fmt.Sprintf("%s-%04d@example.com", prefix, i), nil))
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return ids
}

// TestProvision500 pushes 500 users through SCIM against a Gainsight whose
// hourly budget is far below one call per user: every user arrives exactly
// once, in close to the minimum number of batched calls, and the bridge
// never exceeds the budget.
func TestProvision500(t *testing.T) {
	tenant := newTenant()
	tenant.PerHour = 14
	tenant.PerDay = 1000
	// The bridge is configured a little under the tenant's limit, as
	// operators are told to: calls sent at the end of a window may arrive
	// in the next one.
	h := startHarness(t, harnessOpts{tenant: tenant, window: time.Second, configure: func(c *config.Config) {
		c.Gainsight.Budget.PerHour = tenant.PerHour - 4
		// The import arrives within one batch window, as a burst from an
		// IdP does (the test's usual 100ms would let a loaded machine
		// drain it part by part).
		c.Sync.BatchWindow = 5 * time.Second
	}})
	const n = 500
	h.createMany("bulk", n)
	h.waitSynced(2 * time.Minute)
	h.checkConverged()

	st := h.sim.Stats()
	if got := len(h.sim.Users()); got != n {
		t.Errorf("gainsight holds %d users, want %d", got, n)
	}
	limit := int(1.1 * float64((n+49)/50))
	if w := writeCalls(st); w > limit {
		t.Errorf("%d write calls, want ≤ %d (1.1 × ceil(%d/50)); calls %v", w, limit, n, st.Calls)
	}
	if st.Rejected429 != 0 {
		t.Errorf("the bridge overran the budget: %d calls answered 429", st.Rejected429)
	}
	if st.MaxCallsPerHourWindow > tenant.PerHour {
		t.Errorf("max %d calls in one window, budget %d", st.MaxCallsPerHourWindow, tenant.PerHour)
	}
	t.Logf("500 users: %d write calls, %d list calls, calls %v", writeCalls(st), st.Calls["list"], st.Calls)
}

// TestProvisionThroughFaults loses responses of applied writes and answers
// 5xx for a while: the bridge retries, finds what it created, and every
// user still exists exactly once.
func TestProvisionThroughFaults(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	h.sim.SetFaults(gainsighttest.Faults{LoseNext: 3, FailNext: 4, Seed: 1})
	const n = 150
	h.createMany("faulty", n)
	h.waitSynced(2 * time.Minute)
	h.checkConverged()
	if got := len(h.sim.Users()); got != n {
		t.Errorf("gainsight holds %d users, want exactly %d", got, n)
	}
	// And once more with random faults on every kind of call.
	h.sim.SetFaults(gainsighttest.Faults{ErrorRate: 0.3, LoseResponseRate: 0.2, Seed: 7})
	h.createMany("flaky", 100)
	h.waitSynced(2 * time.Minute)
	h.sim.SetFaults(gainsighttest.Faults{})
	h.checkConverged()
	if got := len(h.sim.Users()); got != n+100 {
		t.Errorf("gainsight holds %d users, want exactly %d", got, n+100)
	}
}

// TestLifecycle follows one user through the operations identity teams
// care about: adoption of an existing Gainsight user, a change, a
// deactivation (license stripped), a reactivation (license sent again), a
// DELETE and a re-create that comes back as the same Gainsight user.
func TestLifecycle(t *testing.T) {
	tenant := newTenant()
	tenant.Users = []map[string]any{{
		"Gsid": "existing-1", "FirstName": "Old", "LastName": "Name", "Name": "Old Name",
		"Email": "ada@example.com", "SFDCUserName": "ada@example.com",
		"LicenseType": "Viewer", "SystemType": "Internal", "IsActiveUser": true,
	}}
	h := startHarness(t, harnessOpts{tenant: tenant})

	id := h.createUser(userDoc("ada@example.com", map[string]any{"title": "Engineer"}))
	h.waitSynced(30 * time.Second)
	h.checkConverged()
	if got := len(h.sim.Users()); got != 1 {
		t.Fatalf("adoption created a duplicate: %d users", got)
	}
	if u, _ := h.sim.User("existing-1"); u["Title"] != "Engineer" {
		t.Errorf("adopted user not updated: %v", u)
	}

	patch := func(ops ...map[string]any) {
		t.Helper()
		var out map[string]any
		body := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
		if s := h.do(http.MethodPatch, "/Users/"+id, body, &out); s != http.StatusOK {
			t.Fatalf("patch: %d %v", s, out)
		}
	}
	// Entra without the 2020 flag: a string boolean.
	patch(map[string]any{"op": "Replace", "path": "active", "value": "False"})
	h.waitSynced(30 * time.Second)
	h.checkConverged()
	u, _ := h.sim.User("existing-1")
	if u["IsActiveUser"] != false || (u["LicenseType"] != nil && u["LicenseType"] != "") {
		t.Errorf("after deactivation: %v", u)
	}
	// Okta: path-less replace.
	patch(map[string]any{"op": "replace", "value": map[string]any{"active": true}})
	h.waitSynced(30 * time.Second)
	h.checkConverged()
	u, _ = h.sim.User("existing-1")
	if u["IsActiveUser"] != true || u["LicenseType"] == nil || u["LicenseType"] == "" {
		t.Errorf("after reactivation the license must be sent again: %v", u)
	}

	if s := h.do(http.MethodDelete, "/Users/"+id, nil, nil); s != http.StatusNoContent {
		t.Fatalf("delete: %d", s)
	}
	if s := h.do(http.MethodGet, "/Users/"+id, nil, nil); s != http.StatusNotFound {
		t.Errorf("get after delete: %d", s)
	}
	h.waitSynced(30 * time.Second)
	if u, _ := h.sim.User("existing-1"); u["IsActiveUser"] != false {
		t.Errorf("delete must deactivate in gainsight: %v", u)
	}
	id2 := h.createUser(userDoc("ada@example.com", nil))
	if id2 == id {
		t.Errorf("re-create reused the SCIM id")
	}
	h.waitSynced(30 * time.Second)
	h.checkConverged()
	if u, _ := h.sim.User("existing-1"); u["IsActiveUser"] != true {
		t.Errorf("re-create must reactivate the same gainsight user: %v", u)
	}
	if got := len(h.sim.Users()); got != 1 {
		t.Errorf("re-create duplicated the user: %d users", got)
	}
}

// TestManagerDeferred creates a report before its manager: the manager
// field is pushed once the manager is linked.
func TestManagerDeferred(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	mgrID := h.createUser(userDoc("boss@example.com", nil))
	// Entra sends the manager as a bare string.
	h.createUser(userDoc("report@example.com", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"manager": mgrID, "department": "R&D"},
	}))
	h.waitSynced(30 * time.Second)
	h.checkConverged()
	var report map[string]any
	for _, u := range h.sim.Users() {
		if u["Email"] == "report@example.com" {
			report = u
		}
	}
	mgr, err := h.store.GetSync(t.Context(), mgrID)
	if err != nil || report == nil || report["Manager"] != mgr.GSID || report["Department__gc"] != "R&D" {
		t.Errorf("report %v, manager gsid %q (%v)", report, mgr.GSID, err)
	}
}
