package bridge_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
)

// TestRandomOperationsConverge drives the bridge with a random mix of what
// IdPs do — creates, renames, title changes, deactivations, reactivations,
// deletes and re-creates, group membership changes, conflicting adds —
// against a Gainsight that fails, drops and loses answers, then checks that
// Gainsight ends up holding exactly what the SCIM side says: every user
// once, with its planned fields and status, deleted users inactive.
func TestRandomOperationsConverge(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*7919))
			h := startHarness(t, harnessOpts{configure: withProfiles})
			h.sim.SetFaults(gainsighttest.Faults{ErrorRate: 0.1, DropRate: 0.05, LoseResponseRate: 0.05, Seed: int64(seed)})
			groupNames := []string{"Gainsight Viewers", "Gainsight Full", "Gainsight Admins", "Region US", "East", "West", "Unprofiled"}
			groups := map[string]string{}
			for _, g := range groupNames {
				groups[g] = h.createGroup(g, "")
			}
			type user struct{ id, name string }
			var live []user
			var deleted []string
			titles := []string{"Engineer", "Manager", "Director", ""}
			patch := func(path string, ops ...map[string]any) int {
				return h.do(http.MethodPatch, path, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}, nil)
			}
			for step := 0; step < 250; step++ {
				switch k := rng.IntN(10); {
				case k < 3 || len(live) == 0:
					name := fmt.Sprintf("rand-%d@example.com", step)
					if len(deleted) > 0 && rng.IntN(3) == 0 {
						name, deleted = deleted[0], deleted[1:] // re-create a deleted userName
					}
					live = append(live, user{h.createUser(userDoc(name, nil)), name})
				case k == 3:
					u := live[rng.IntN(len(live))]
					if s := patch("/Users/"+u.id, map[string]any{"op": "replace", "path": "title", "value": titles[rng.IntN(len(titles))]}); s != http.StatusOK {
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
			for _, name := range deleted {
				for _, u := range h.sim.Users() {
					if strings.EqualFold(fmt.Sprint(u["SFDCUserName"]), name) && u["IsActiveUser"] == true {
						t.Errorf("deleted user %s is active in gainsight: %v", name, u)
					}
				}
			}
			t.Logf("seed %d: %d live, %d deleted, gainsight %d users, calls %v", seed, len(live), len(deleted), len(h.sim.Users()), h.sim.Stats().Calls)
		})
	}
}
