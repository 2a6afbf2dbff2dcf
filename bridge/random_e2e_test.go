package bridge_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// randomSeeds returns the seeds TestRandomOperationsConverge runs: 1, 2 and
// 3, or those SCIM_BRIDGE_RANDOM_SEEDS names ("1-40", or "4,9,17") for a
// longer run.
func randomSeeds(t *testing.T) []uint64 {
	spec := os.Getenv("SCIM_BRIDGE_RANDOM_SEEDS")
	if spec == "" {
		return []uint64{1, 2, 3}
	}
	var out []uint64
	for _, part := range strings.Split(spec, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		b := a
		if err == nil && isRange {
			b, err = strconv.ParseUint(hi, 10, 64)
		}
		if err != nil || b < a {
			t.Fatalf("SCIM_BRIDGE_RANDOM_SEEDS=%q: want seeds such as 1-40 or 4,9,17", spec)
		}
		for s := a; s <= b; s++ {
			out = append(out, s)
		}
	}
	return out
}

// conflictingProfiles makes users in both "Region US" and "East" conflict:
// the reload that applies it turns existing memberships into conflicts.
func conflictingProfiles(c *config.Config) {
	for i, g := range c.Groups {
		if g.Name == "us" {
			c.Groups[i].Fields = map[string]any{"Region__gc": []any{"US"}, "Division__gc": "West"}
		}
	}
}

// TestRandomOperationsConverge drives the bridge with a random mix of what
// IdPs do — creates, renames, title changes (some of which Gainsight
// refuses), deactivations, reactivations, deletes and re-creates, group
// membership changes, conflicting adds, and a reload that makes existing
// memberships conflict — and of people created in Gainsight by hand just
// before the IdP pushes them, against a Gainsight that fails, drops and
// loses answers, with priorities deciding the order of the work and
// tenant snapshots (taken whenever unlinked users wait, used for a
// second, so they are often stale) planning the adoptions. Then it
// checks that Gainsight ends up holding exactly what the SCIM side says:
// every user once, with its planned fields and status, deleted users
// inactive; users Gainsight refuses or whose groups conflict failed, with
// the status the IdP gave them all the same.
func TestRandomOperationsConverge(t *testing.T) {
	for _, seed := range randomSeeds(t) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*7919))
			tenant := newTenant()
			tenant.Refuse = map[string][]string{"Title": {"Refused"}}
			h := startHarness(t, harnessOpts{tenant: tenant, configure: func(c *config.Config) {
				withProfiles(c)
				c.Sync.Snapshot, c.Sync.SnapshotMaxAge = config.SnapshotAlways, time.Second
			}})
			h.allowConflicts = true
			h.sim.SetFaults(gainsighttest.Faults{ErrorRate: 0.1, DropRate: 0.05, LoseResponseRate: 0.05, Seed: int64(seed)})
			groupNames := []string{"Gainsight Viewers", "Gainsight Full", "Gainsight Admins", "Region US", "East", "West", "Unprofiled"}
			groups := map[string]string{}
			for _, g := range groupNames {
				groups[g] = h.createGroup(g, "")
			}
			type user struct{ id, name string }
			var live []user
			byHand := map[string]bool{}
			var deleted []string
			titles := []string{"Engineer", "Manager", "Director", "", "Refused"}
			patch := func(path string, ops ...map[string]any) int {
				return h.do(http.MethodPatch, path, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}, nil)
			}
			reloadAt := 100 + rng.IntN(100)
			for step := 0; step < 250; step++ {
				if step == reloadAt {
					next := *h.bridge.Config()
					next.Groups = profiles()
					conflictingProfiles(&next)
					if _, err := h.bridge.Apply(t.Context(), &next); err != nil {
						t.Fatalf("reload: %v", err)
					}
				}
				if step%25 == 24 {
					// Let passes run between the operations.
					h.bridge.Engine().Kick()
					time.Sleep(150 * time.Millisecond)
				}
				switch k := rng.IntN(10); {
				case k < 3 || len(live) == 0:
					name := fmt.Sprintf("rand-%d@example.com", step)
					switch {
					case len(deleted) > 0 && rng.IntN(3) == 0:
						name, deleted = deleted[0], deleted[1:] // re-create a deleted userName
					case rng.IntN(5) == 0:
						// Someone created the person in Gainsight by hand:
						// no snapshot taken before knows it.
						h.createInGainsight(name)
						byHand[name] = true
					}
					live = append(live, user{h.createUser(userDoc(name, nil)), name})
				case k == 3:
					u := live[rng.IntN(len(live))]
					title := titles[rng.IntN(len(titles))]
					ops := []map[string]any{{"op": "replace", "path": "title", "value": title}}
					if rng.IntN(3) == 0 {
						// A title change and a deactivation in one request.
						ops = append(ops, map[string]any{"op": "replace", "path": "active", "value": false})
					}
					if s := patch("/Users/"+u.id, ops...); s != http.StatusOK {
						t.Fatalf("patch title: %d", s)
					}
				case k == 4:
					u := live[rng.IntN(len(live))]
					active := []any{true, false, "False", "True"}[rng.IntN(4)]
					if s := patch("/Users/"+u.id, map[string]any{"op": "Replace", "path": "active", "value": active}); s != http.StatusOK {
						t.Fatalf("patch active: %d", s)
					}
				case k == 5:
					i := rng.IntN(len(live))
					u := live[i]
					if s := h.do(http.MethodDelete, "/Users/"+u.id, nil, nil); s != http.StatusNoContent {
						t.Fatalf("delete: %d", s)
					}
					live = append(live[:i], live[i+1:]...)
					deleted = append(deleted, u.name)
				case k == 6:
					// A rename, as IdPs do it: userName and email change
					// together; Gainsight's SFDCUserName and Email follow.
					i := rng.IntN(len(live))
					name := strings.Replace(live[i].name, "@", fmt.Sprintf("+r%d@", step), 1)
					if s := patch("/Users/"+live[i].id,
						map[string]any{"op": "replace", "path": "userName", "value": name},
						map[string]any{"op": "replace", "path": `emails[type eq "work"].value`, "value": name},
					); s != http.StatusOK {
						t.Fatalf("rename: %d", s)
					}
					live[i].name = name
				default:
					u := live[rng.IntN(len(live))]
					g := groupNames[rng.IntN(len(groupNames))]
					op := []string{"add", "remove"}[rng.IntN(2)]
					// East and West conflict: a 400 is a correct answer.
					if s := patch("/Groups/"+groups[g], map[string]any{"op": op, "path": "members", "value": []any{map[string]any{"value": u.id}}}); s != http.StatusOK && s != http.StatusBadRequest {
						t.Fatalf("membership %s %s: %d", op, g, s)
					}
				}
			}
			h.waitSynced(3 * time.Minute)
			h.sim.SetFaults(gainsighttest.Faults{})
			h.waitSynced(time.Minute)
			h.checkConverged()
			// Whatever else failed, a user the IdP disabled is inactive in
			// Gainsight.
			users, _, err := h.store.ListUsers(t.Context(), store.Query{})
			if err != nil {
				t.Fatal(err)
			}
			failed := 0
			for _, u := range users {
				info, err := h.store.GetSync(t.Context(), u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if info.State == store.StateFailed {
					failed++
				}
				if rec, ok := h.sim.User(info.GSID); ok && !u.Active && rec["IsActiveUser"] != false {
					t.Errorf("disabled user %s (%s, %q) is active in gainsight", u.UserName, info.State, info.LastError)
				}
			}
			for _, name := range deleted {
				for _, u := range h.sim.Users() {
					if !strings.EqualFold(fmt.Sprint(u["SFDCUserName"]), name) || u["IsActiveUser"] != true {
						continue
					}
					// A user made by hand that the bridge never adopted
					// (deleted before its first sync) is not the bridge's.
					_, err := h.store.SyncByGSID(t.Context(), fmt.Sprint(u["Gsid"]))
					if byHand[name] && errors.Is(err, store.ErrNotFound) {
						continue
					}
					t.Errorf("deleted user %s is active in gainsight: %v", name, u)
				}
			}
			t.Logf("seed %d: %d live (%d failed), %d deleted, gainsight %d users, calls %v, snapshots %v", seed, len(live), failed, len(deleted),
				len(h.sim.Users()), h.sim.Stats().Calls, metricValue(h, "scim_bridge_sync_snapshots_total"))
		})
	}
}

// createInGainsight creates a user in the simulated Gainsight directly, as
// an admin would by hand, through whatever faults are in force: it posts
// until the user exists.
func (h *harness) createInGainsight(email string) {
	h.t.Helper()
	body := fmt.Sprintf(`{"records":[{"Email":%q,"SFDCUserName":%q,"Name":"By Hand","LicenseType":"Viewer"}]}`, email, email)
	for try := 0; len(h.sim.FindByEmail(email)) == 0; try++ {
		if try == 50 {
			h.t.Fatalf("cannot create %s in gainsight", email)
		}
		req, err := http.NewRequest(http.MethodPost, h.simURL+"/v1/users/services", strings.NewReader(body))
		if err != nil {
			h.t.Fatal(err)
		}
		req.Header.Set("accesskey", testAccessKey)
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}
}
