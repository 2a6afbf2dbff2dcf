package scim

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	elscim "github.com/elimity-com/scim"
	"github.com/scim2/filter-parser/v2"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// countingStore counts the store calls whose number must not grow with a
// group's size.
type countingStore struct {
	Store
	getUser     atomic.Int64
	getGroup    atomic.Int64
	memberLoads atomic.Int64
}

func (c *countingStore) GetUser(ctx context.Context, id string) (store.User, error) {
	c.getUser.Add(1)
	return c.Store.GetUser(ctx, id)
}

func (c *countingStore) GetGroup(ctx context.Context, id string) (store.Group, error) {
	c.getGroup.Add(1)
	return c.Store.GetGroup(ctx, id)
}

func (c *countingStore) ListGroups(ctx context.Context, q store.Query, withMembers bool) ([]store.Group, int, error) {
	if withMembers {
		c.memberLoads.Add(1)
	}
	return c.Store.ListGroups(ctx, q, withMembers)
}

func (c *countingStore) reset() {
	c.getUser.Store(0)
	c.getGroup.Store(0)
	c.memberLoads.Store(0)
}

// newCountingFixture is a fixture whose store counts calls, with n users
// (ids u-0000…) created directly in the store.
func newCountingFixture(t *testing.T, n int) (*fixture, *countingStore, []string) {
	t.Helper()
	base := newFixture(t, nil)
	cs := &countingStore{Store: base.sqlite}
	f := newFixture(t, cs)
	ids := make([]string, n)
	for i := range ids {
		name := fmt.Sprintf("u%04d@example.com", i)
		u, err := base.sqlite.CreateUser(t.Context(), store.User{ID: fmt.Sprintf("u-%04d", i), UserName: name, Active: true, Doc: map[string]any{"userName": name}})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	return f, cs, ids
}

func memberValues(ids []string) string {
	ms := make([]string, len(ids))
	for i, id := range ids {
		ms[i] = `{"value":"` + id + `"}`
	}
	return "[" + strings.Join(ms, ",") + "]"
}

// TestGroupWritesLookNoMemberUpOneByOne: creating, replacing or patching a
// large group costs no store lookup per member (the store checks all added
// members in one query); only a refused change names its unknown ids.
func TestGroupWritesLookNoMemberUpOneByOne(t *testing.T) {
	const n = 300
	f, cs, ids := newCountingFixture(t, n)
	gid := f.createGroup("Big")
	cases := []struct {
		name, method, path, body string
		status                   int
		detail                   string
		members                  int
	}{
		{"create", "POST", "/scim/v2/Groups", `{"displayName":"Big2","members":` + memberValues(ids) + `}`, 201, "", n},
		{"patch add", "PATCH", "/scim/v2/Groups/" + gid, `{` + patchSchema + `,"Operations":[{"op":"add","path":"members","value":` + memberValues(ids[:n/2]) + `}]}`, 200, "", n / 2},
		{"path-less add", "PATCH", "/scim/v2/Groups/" + gid, `{` + patchSchema + `,"Operations":[{"op":"add","value":{"members":` + memberValues(ids) + `}}]}`, 200, "", n},
		{"put", "PUT", "/scim/v2/Groups/" + gid, `{"displayName":"Big","members":` + memberValues(ids[:n-1]) + `}`, 200, "", n - 1},
		{"patch with one unknown", "PATCH", "/scim/v2/Groups/" + gid, `{` + patchSchema + `,"Operations":[{"op":"add","path":"members","value":` + memberValues(append([]string{"ghost-9"}, ids...)) + `}]}`, 400, "Unknown member ids: ghost-9.", n - 1},
		{"create with one unknown", "POST", "/scim/v2/Groups", `{"displayName":"Big3","members":` + memberValues(append(ids[:3:3], "ghost-8")) + `}`, 400, "Unknown member ids: ghost-8.", -1},
		{"patch of a missing group", "PATCH", "/scim/v2/Groups/nope", `{` + patchSchema + `,"Operations":[{"op":"add","path":"members","value":` + memberValues(ids[:1]) + `}]}`, 404, "", -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs.reset()
			r := f.do(c.method, c.path, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %.300s", r.status, c.status, r.raw)
			}
			if c.status < 300 && cs.getUser.Load() != 0 {
				t.Errorf("%d GetUser calls for one group write", cs.getUser.Load())
			}
			if d, _ := r.body["detail"].(string); !strings.Contains(d, c.detail) {
				t.Errorf("detail %q, want %q", d, c.detail)
			}
			if c.members >= 0 {
				id := gid
				if c.method == "POST" {
					id, _ = r.body["id"].(string)
				}
				if got := len(memberSet(t, f, id)); got != c.members {
					t.Errorf("%d members, want %d", got, c.members)
				}
			}
		})
	}
}

// TestGroupReadsWithoutMembersLoadNoMembers: a GET that excludes members
// (Entra asks so) never reads the member list.
func TestGroupReadsWithoutMembersLoadNoMembers(t *testing.T) {
	f, cs, ids := newCountingFixture(t, 20)
	gid := f.createGroup("Readers", ids...)
	cases := []struct {
		name, path  string
		status      int
		wantMembers bool
	}{
		{"excludedAttributes=members", "/scim/v2/Groups/" + gid + "?excludedAttributes=members", 200, false},
		{"attributes=displayName", "/scim/v2/Groups/" + gid + "?attributes=displayName", 200, false},
		{"missing group", "/scim/v2/Groups/nope?excludedAttributes=members", 404, false},
		{"list excluding members", "/scim/v2/Groups?filter=" + urlq(`displayName eq "readers"`) + "&excludedAttributes=members", 200, false},
		{"full group", "/scim/v2/Groups/" + gid, 200, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs.reset()
			r := f.mustDo(c.status, http.MethodGet, c.path, "")
			loads := cs.getGroup.Load() + cs.memberLoads.Load()
			if c.wantMembers {
				if n := len(r.body["members"].([]any)); n != len(ids) {
					t.Errorf("%d members, want %d", n, len(ids))
				}
				return
			}
			if loads != 0 {
				t.Errorf("members loaded %d times", loads)
			}
			if r.body["members"] != nil || at(r.body, "Resources", "0", "members") != nil {
				t.Errorf("members returned: %.300s", r.raw)
			}
		})
	}
}

// TestPatchLargeMemberListIsLinear: adding and removing thousands of
// members compares them through an index, not each against each.
func TestPatchLargeMemberListIsLinear(t *testing.T) {
	const n = 20000
	rs := groupResourceSchema()
	members := make([]any, n)
	add := make([]any, n)
	remove := make([]any, n/2)
	for i := range n {
		members[i] = map[string]any{"value": fmt.Sprintf("m-%d", i)}
		add[i] = map[string]any{"value": fmt.Sprintf("m-%d", i+n/2)}
	}
	for i := range remove {
		remove[i] = map[string]any{"value": fmt.Sprintf("m-%d", 2*i)}
	}
	doc := map[string]any{"displayName": "Huge", "members": members}
	path := &filter.Path{AttributePath: filter.AttributePath{AttributeName: "members"}}
	start := time.Now()
	err := rs.applyPatch(doc, []elscim.PatchOperation{
		{Op: "add", Path: path, Value: add},
		{Op: "remove", Path: path, Value: remove},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("patching %d members took %v", n, d)
	}
	if got, want := len(doc["members"].([]any)), n+n/2-n/2; got != want {
		t.Errorf("%d members, want %d", got, want)
	}
}
