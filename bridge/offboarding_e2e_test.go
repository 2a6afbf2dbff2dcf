package bridge_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// Offboarding never waits behind an import: a user the IdP disables while
// thousands of users are being pushed into Gainsight is deactivated by the
// next call, and by the share of the rate budget kept for urgent work when
// the import has spent the rest. Run with -v to see the times.

const importUsers = 2000

// disable sends the IdP's PATCH active=false and returns when it was
// accepted.
func (h *harness) disable(id string) time.Time {
	h.t.Helper()
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}}}
	if s := h.do(http.MethodPatch, "/Users/"+id, body, nil); s != http.StatusOK {
		h.t.Fatalf("disable: %d", s)
	}
	return time.Now()
}

// gainsightActive reports the leaver's status in the simulated Gainsight.
func (h *harness) gainsightActive(email string) bool {
	h.t.Helper()
	us := h.sim.FindByEmail(email)
	if len(us) != 1 {
		h.t.Fatalf("%d gainsight users with email %s", len(us), email)
	}
	return us[0]["IsActiveUser"] == true
}

// waitInactive polls the simulator until the leaver is inactive and
// returns when it was seen so, and the create calls served by then.
func (h *harness) waitInactive(email string, timeout time.Duration) (time.Time, int) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for h.gainsightActive(email) {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s still active in gainsight after %v; calls %v", email, timeout, h.sim.Stats().Calls)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Now(), h.sim.Stats().Calls[gainsighttest.OpCreate]
}

// TestOffboardingDuringImport: with 2,000 users being imported against a
// Gainsight that takes 150 ms per call, a user disabled mid-import is
// inactive in Gainsight after the create call in flight, not after the
// import's last create.
func TestOffboardingDuringImport(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	leaver := h.createUser(userDoc("leaver@example.com", nil))
	h.waitSynced(30 * time.Second)
	h.sim.SetFaults(gainsighttest.Faults{Latency: 150 * time.Millisecond})

	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.createMany("import", importUsers)
	}()
	// Mid-import: a few batches are in Gainsight, most are not.
	for len(h.sim.Users()) < 300 {
		time.Sleep(5 * time.Millisecond)
	}
	createsBefore := h.sim.Stats().Calls[gainsighttest.OpCreate]
	disabledAt := h.disable(leaver)
	inactiveAt, createsAfter := h.waitInactive("leaver@example.com", time.Minute)
	<-done
	h.waitSynced(3 * time.Minute)
	importedAt := time.Now()
	h.checkConverged()

	t.Logf("disabled %v into the import of %d users: inactive in gainsight %v later, after %d create call(s); the import's last user was in gainsight %v after the disable (%v after it began)",
		disabledAt.Sub(start).Round(time.Millisecond), importUsers, inactiveAt.Sub(disabledAt).Round(time.Millisecond),
		createsAfter-createsBefore, importedAt.Sub(disabledAt).Round(time.Millisecond), importedAt.Sub(start).Round(time.Millisecond))
	// The create in flight when the IdP disabled the user may finish, and
	// a second may have started just before the mark; nothing more goes
	// first.
	if n := createsAfter - createsBefore; n > 2 {
		t.Errorf("%d create calls went out between the disable and the deactivation; want at most the one in flight", n)
	}
	if !inactiveAt.Before(importedAt) {
		t.Errorf("deactivated at %v, not before the import ended at %v", inactiveAt, importedAt)
	}
	if total := h.sim.Stats().Calls[gainsighttest.OpCreate]; createsAfter >= total {
		t.Errorf("the deactivation came after the last create (%d of %d)", createsAfter, total)
	}
}

// TestOffboardingWithinTheReserve: an import spends every call of the hour
// that is not reserved for urgent work; a user disabled then is still
// deactivated at once, from the reserved share, without a 429.
func TestOffboardingWithinTheReserve(t *testing.T) {
	for attempt := 1; ; attempt++ {
		if offboardWithinReserve(t) {
			return
		}
		if attempt == 2 {
			t.Skip("skipped: the clock hour changed during both runs, so neither ran within one budget window")
		}
		// The clock hour ended while the test ran: the share spent was
		// that of two windows; once more, in one window.
		t.Logf("the hour window rolled during the test; running it again")
	}
}

// offboardWithinReserve runs TestOffboardingWithinTheReserve once; it
// reports false when the clock hour changed while it ran, which proves
// nothing.
func offboardWithinReserve(t *testing.T) bool {
	tenant := newTenant()
	tenant.PerHour, tenant.PerDay = 30, 1000
	h := startHarness(t, harnessOpts{tenant: tenant, configure: func(c *config.Config) {
		c.Gainsight.Budget.ReservedPercent = 10 // 3 calls of the 30
	}})
	defer h.stop()
	hour := time.Now().Truncate(time.Hour)
	leaver := h.createUser(userDoc("leaver@example.com", nil))
	h.waitSynced(30 * time.Second)
	h.createMany("import", importUsers)
	// The import stops at 27 calls: the rest of the hour is urgent work's.
	deadline := time.Now().Add(time.Minute)
	for h.sim.Stats().TotalCalls < 27 {
		if time.Now().After(deadline) {
			t.Fatalf("the import made %d calls; want it to spend the hour's 27 ordinary calls", h.sim.Stats().TotalCalls)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // nothing more goes out
	spent := h.sim.Stats()
	if spent.TotalCalls != 27 {
		t.Fatalf("%d calls before the disable; want 27 (30 less the 3 reserved): %v", spent.TotalCalls, spent.Calls)
	}
	disabledAt := h.disable(leaver)
	inactiveAt, _ := h.waitInactive("leaver@example.com", 30*time.Second)
	st := h.sim.Stats()
	if !time.Now().Truncate(time.Hour).Equal(hour) {
		return false
	}
	t.Logf("the import spent the hour's %d ordinary calls; the user disabled then was inactive in gainsight %v later, call %d of the hour's 30, %d users still waiting for the next hour",
		spent.TotalCalls, inactiveAt.Sub(disabledAt).Round(time.Millisecond), st.TotalCalls, importUsers+1-len(h.sim.Users()))
	if st.Rejected429 != 0 {
		t.Errorf("%d calls answered 429", st.Rejected429)
	}
	if st.TotalCalls != 28 || st.Calls[gainsighttest.OpStatus] != 1 {
		t.Errorf("calls %v; want the 27 of the import and one deactivation", st.Calls)
	}
	if !strings.Contains(metricText(h), `scim_bridge_upstream_budget_remaining{window="hour"} 2`) {
		t.Errorf("hour budget remaining is not 2 of the reserve:\n%s", metricLines(h, "scim_bridge_upstream_budget_remaining"))
	}
	return true
}

// metricText returns the admin listener's /metrics page.
func metricText(h *harness) string {
	_, body := h.get(h.adminURL + "/metrics")
	return string(body)
}

// metricLines returns the lines of /metrics about name.
func metricLines(h *harness, name string) string {
	var out []string
	for _, l := range strings.Split(metricText(h), "\n") {
		if strings.HasPrefix(l, name) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
