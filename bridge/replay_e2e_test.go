package bridge_test

import (
	"os"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/scim/scimreplay"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// TestIdPReplaysEndToEnd replays the recorded request sequences of each
// identity provider, and the conformance suite's checks
// (bridge/scim/testdata/<idp>/), through the whole bridge
// and checks where they end: every user in Gainsight with the right fields
// and status, exactly once.
func TestIdPReplaysEndToEnd(t *testing.T) {
	fsys := os.DirFS("scim/testdata")
	for _, idp := range []string{"okta", "entra", "entra-2020", "onelogin", "jumpcloud", "conformance"} {
		t.Run(idp, func(t *testing.T) {
			steps, err := scimreplay.Load(fsys, idp)
			if err != nil {
				t.Fatal(err)
			}
			if len(steps) == 0 {
				t.Fatalf("no recorded steps for %s", idp)
			}
			h := startHarness(t, harnessOpts{configure: withProfiles})
			scimreplay.Run(t, h.bridge.SCIMHandler(), testToken, steps)
			h.waitSynced(30 * time.Second)
			h.checkConverged()
			users, total, err := h.store.ListUsers(t.Context(), store.Query{})
			if err != nil {
				t.Fatal(err)
			}
			active := 0
			for _, u := range users {
				if u.Active {
					active++
				}
			}
			t.Logf("%s: %d SCIM users (%d active), %d Gainsight users, calls %v", idp, total, active, len(h.sim.Users()), h.sim.Stats().Calls)
		})
	}
}
