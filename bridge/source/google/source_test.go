package google

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/source/google/googletest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
)

func TestInitialSync(t *testing.T) {
	e := newEnv(t, baseConfig())
	seed(e.fake)
	ch := e.poll(t)
	want := counts{InScope: 4, GroupsInScope: 2, Created: 4, GroupsChanged: 2}
	if got := countsOf(ch); got != want {
		t.Fatalf("changes = %+v, want %+v", got, want)
	}
	if e.hasUser(t, "erin@example.com") {
		t.Error("erin (/Contractors) is out of scope but was created")
	}
	// 5 users at 2 per page: 3 pages.
	if got := e.fake.Requests(googletest.KindUsers); got != 3 {
		t.Errorf("user list requests = %d, want 3 (paged)", got)
	}
	alice, bob, carol, dave := e.user(t, "alice@example.com"), e.user(t, "bob@example.com"), e.user(t, "carol@example.com"), e.user(t, "dave@example.com")
	gAlice, _ := e.fake.User("alice@example.com")
	wantDoc := map[string]any{
		"userName":              "alice@example.com",
		"externalId":            gAlice.ID,
		"active":                true,
		"displayName":           "Alice Admin",
		"name":                  map[string]any{"givenName": "Alice", "familyName": "Admin", "formatted": "Alice Admin"},
		"emails":                []any{map[string]any{"value": "alice@example.com", "type": "work", "primary": true}},
		"title":                 "CTO",
		translate.EnterpriseURN: map[string]any{"department": "Engineering"},
	}
	if !reflect.DeepEqual(normalize(alice.Doc), normalize(wantDoc)) {
		t.Errorf("alice doc = %#v\nwant %#v", alice.Doc, wantDoc)
	}
	if alice.Source != store.SourceGoogle || alice.ExternalID != gAlice.ID || !alice.Active {
		t.Errorf("alice = source %q externalId %q active %t", alice.Source, alice.ExternalID, alice.Active)
	}
	if bob.ManagerID != alice.ID || stringAt(bob.Doc, translate.EnterpriseURN, "manager", "value") != alice.ID {
		t.Errorf("bob's manager = %q (doc %v), want alice %s", bob.ManagerID, bob.Doc[translate.EnterpriseURN], alice.ID)
	}
	if carol.ManagerID != "" {
		t.Errorf("carol's manager = %q, want none (manager not in scope)", carol.ManagerID)
	}
	if dave.Active || dave.Doc["active"] != false {
		t.Errorf("dave (suspended) active = %t / %v, want false", dave.Active, dave.Doc["active"])
	}
	if got, want := e.memberNames(t, "Gainsight Full"), []string{"alice@example.com", "bob@example.com", "carol@example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Gainsight Full members = %v, want %v (nested group flattened)", got, want)
	}
	if got, want := e.memberNames(t, "Gainsight Viewers"), []string{"dave@example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Gainsight Viewers members = %v, want %v (erin is out of scope)", got, want)
	}
	g, _ := e.group(t, "Gainsight Full")
	if g.Source != store.SourceGoogle || g.ExternalID != "gs-full@example.com" {
		t.Errorf("group source %q externalId %q", g.Source, g.ExternalID)
	}
	for _, name := range []string{"Engineering", "Everyone"} {
		if _, ok := e.group(t, name); ok {
			t.Errorf("group %q does not match groupPatterns but was created", name)
		}
	}
	if got, want := e.dirtyNames(t), []string{"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dirty = %v, want %v", got, want)
	}
	if e.notified == 0 {
		t.Error("Notify was not called after changes")
	}
}

func stringAt(m map[string]any, keys ...string) string {
	var cur any = m
	for _, k := range keys {
		mm, _ := cur.(map[string]any)
		cur = mm[k]
	}
	s, _ := cur.(string)
	return s
}

func TestPollChanges(t *testing.T) {
	tests := []struct {
		name      string
		change    func(f *googletest.Server)
		want      counts
		wantDirty []string
		check     func(t *testing.T, e *env)
	}{
		{
			name:      "nothing changed",
			change:    func(*googletest.Server) {},
			want:      counts{InScope: 4, GroupsInScope: 2},
			wantDirty: nil,
		},
		{
			name: "title change",
			change: func(f *googletest.Server) {
				f.UpdateUser("carol@example.com", func(u *googletest.User) { u.Title = "Staff Engineer" })
			},
			want:      counts{InScope: 4, GroupsInScope: 2, Updated: 1},
			wantDirty: []string{"carol@example.com"},
			check: func(t *testing.T, e *env) {
				if got := e.user(t, "carol@example.com").Doc["title"]; got != "Staff Engineer" {
					t.Errorf("title = %v", got)
				}
			},
		},
		{
			name: "suspension",
			change: func(f *googletest.Server) {
				f.UpdateUser("bob@example.com", func(u *googletest.User) { u.Suspended = true })
			},
			want:      counts{InScope: 4, GroupsInScope: 2, Deactivated: 1},
			wantDirty: []string{"bob@example.com"},
			check: func(t *testing.T, e *env) {
				if u := e.user(t, "bob@example.com"); u.Active || u.Doc["active"] != false {
					t.Errorf("bob active = %t, want false", u.Active)
				}
			},
		},
		{
			name: "unsuspension",
			change: func(f *googletest.Server) {
				f.UpdateUser("dave@example.com", func(u *googletest.User) { u.Suspended = false })
			},
			want:      counts{InScope: 4, GroupsInScope: 2, Updated: 1},
			wantDirty: []string{"dave@example.com"},
			check: func(t *testing.T, e *env) {
				if !e.user(t, "dave@example.com").Active {
					t.Error("dave still inactive")
				}
			},
		},
		{
			name: "group membership change",
			change: func(f *googletest.Server) {
				f.AddMember("gs-viewers@example.com", googletest.MemberUser, "carol@example.com")
			},
			want:      counts{InScope: 4, GroupsInScope: 2, GroupsChanged: 1},
			wantDirty: []string{"carol@example.com"},
			check: func(t *testing.T, e *env) {
				if got, want := e.memberNames(t, "Gainsight Viewers"), []string{"carol@example.com", "dave@example.com"}; !reflect.DeepEqual(got, want) {
					t.Errorf("members = %v, want %v", got, want)
				}
			},
		},
		{
			name:      "nested group membership removed",
			change:    func(f *googletest.Server) { f.RemoveMember("eng@example.com", "bob@example.com") },
			want:      counts{InScope: 4, GroupsInScope: 2, GroupsChanged: 1},
			wantDirty: []string{"bob@example.com"},
		},
		{
			name: "user leaves scope",
			change: func(f *googletest.Server) {
				f.UpdateUser("carol@example.com", func(u *googletest.User) { u.OrgUnitPath = "/Contractors" })
			},
			want:      counts{InScope: 3, GroupsInScope: 2, Deprovisioned: 1, GroupsChanged: 1},
			wantDirty: []string{"carol@example.com"},
			check: func(t *testing.T, e *env) {
				u := e.user(t, "carol@example.com")
				if u.Active || u.Source != store.SourceGoogle {
					t.Errorf("carol active %t source %q, want deactivated and still owned", u.Active, u.Source)
				}
				if got, want := e.memberNames(t, "Gainsight Full"), []string{"alice@example.com", "bob@example.com"}; !reflect.DeepEqual(got, want) {
					t.Errorf("members = %v, want %v", got, want)
				}
			},
		},
		{
			name:      "user deleted in Google",
			change:    func(f *googletest.Server) { f.DeleteUser("alice@example.com") },
			want:      counts{InScope: 3, GroupsInScope: 2, Deprovisioned: 1, GroupsChanged: 1, Updated: 1},
			wantDirty: []string{"alice@example.com", "bob@example.com"},
			check: func(t *testing.T, e *env) {
				if e.hasUser(t, "alice@example.com") {
					t.Error("alice is still stored")
				}
				if u := e.user(t, "bob@example.com"); u.ManagerID != "" {
					t.Errorf("bob's manager = %q, want none once alice is gone", u.ManagerID)
				}
			},
		},
		{
			name:      "group no longer matching",
			change:    func(f *googletest.Server) { f.DeleteGroup("gs-viewers@example.com") },
			want:      counts{InScope: 4, GroupsInScope: 1, GroupsChanged: 1},
			wantDirty: []string{"dave@example.com"},
			check: func(t *testing.T, e *env) {
				if _, ok := e.group(t, "Gainsight Viewers"); ok {
					t.Error("group still stored")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, baseConfig())
			seed(e.fake)
			e.poll(t)
			e.drain(t)
			tt.change(e.fake)
			if got := countsOf(e.poll(t)); got != tt.want {
				t.Errorf("changes = %+v, want %+v", got, tt.want)
			}
			if got := e.dirtyNames(t); !reflect.DeepEqual(got, tt.wantDirty) {
				t.Errorf("dirty = %v, want %v", got, tt.wantDirty)
			}
			if tt.check != nil {
				tt.check(t, e)
			}
			// A second poll finds nothing more to do.
			e.drain(t)
			if got := countsOf(e.poll(t)); got.Total() != 0 {
				t.Errorf("second poll changed %+v", got)
			}
			if got := e.dirtyNames(t); len(got) != 0 {
				t.Errorf("second poll marked %v dirty", got)
			}
		})
	}
}

func (c counts) Total() int {
	return c.Created + c.Updated + c.Deactivated + c.Deprovisioned + c.GroupsChanged
}

func TestScopes(t *testing.T) {
	tests := []struct {
		name string
		mod  func(c *configSource)
		want []string
	}{
		{"all", func(c *configSource) { c.OrgUnits = nil }, []string{"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com", "erin@example.com"}},
		{"org unit with sub-units", func(c *configSource) { c.OrgUnits = []string{"/Staff/Eng", "/Contractors"} }, []string{"bob@example.com", "carol@example.com", "erin@example.com"}},
		{"user groups, nested", func(c *configSource) {
			c.OrgUnits, c.UserGroups = nil, []string{"gs-full@example.com"}
		}, []string{"alice@example.com", "bob@example.com", "carol@example.com"}},
		{"user groups, whole customer as member", func(c *configSource) {
			c.OrgUnits, c.UserGroups = nil, []string{"all@example.com"}
		}, []string{"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com", "erin@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			tt.mod(&cfg)
			e := newEnv(t, cfg)
			seed(e.fake)
			// A membership cycle must not loop.
			e.fake.AddMember("eng@example.com", googletest.MemberGroup, "gs-full@example.com")
			ch := e.poll(t)
			users, _, err := e.store.ListUsers(context.Background(), store.Query{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range users {
				got = append(got, u.UserName)
			}
			sortStrings(got)
			if !reflect.DeepEqual(got, tt.want) || ch.UsersInScope != len(tt.want) {
				t.Errorf("users = %v (in scope %d), want %v", got, ch.UsersInScope, tt.want)
			}
		})
	}
}

func TestPlanWritesNothing(t *testing.T) {
	e := newEnv(t, baseConfig())
	seed(e.fake)
	ch, err := e.src.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := countsOf(ch), (counts{InScope: 4, GroupsInScope: 2, Created: 4, GroupsChanged: 2}); got != want {
		t.Errorf("plan = %+v, want %+v", got, want)
	}
	if len(ch.Details) != 6 {
		t.Errorf("details = %+v, want 6", ch.Details)
	}
	users, n, err := e.store.ListUsers(context.Background(), store.Query{})
	if err != nil || n != 0 {
		t.Errorf("store has %d users (%v) after Plan, want none", len(users), err)
	}
	if e.notified != 0 {
		t.Error("Plan notified the sync engine")
	}
	// What Plan announced is what PollOnce does.
	if got := countsOf(e.poll(t)); got != countsOf(ch) {
		t.Errorf("poll = %+v, plan said %+v", got, countsOf(ch))
	}
}

func TestOwnership(t *testing.T) {
	e := newEnv(t, baseConfig())
	seed(e.fake)
	ctx := context.Background()
	scimUser, err := e.store.CreateUser(ctx, store.User{ID: "scim-bob", UserName: "bob@example.com", Active: true, Source: store.SourceSCIM,
		Doc: map[string]any{"userName": "bob@example.com", "title": "Pushed by SCIM"}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.store.CreateUser(ctx, store.User{ID: "scim-zed", UserName: "zed@example.com", Active: true, Source: store.SourceSCIM,
		Doc: map[string]any{"userName": "zed@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateGroup(ctx, store.Group{ID: "scim-viewers", DisplayName: "Gainsight Viewers", Members: []string{other.ID}, Source: store.SourceSCIM,
		Doc: map[string]any{"displayName": "Gainsight Viewers"}}, nil); err != nil {
		t.Fatal(err)
	}
	ch := e.poll(t)
	if got, want := countsOf(ch), (counts{InScope: 4, GroupsInScope: 2, Created: 3, GroupsChanged: 1, Skipped: 2}); got != want {
		t.Errorf("changes = %+v, want %+v", got, want)
	}
	var skipped []string
	for _, d := range ch.Details {
		if d.Kind == KindSkipped {
			skipped = append(skipped, d.Resource+" "+d.Name+": "+d.Detail)
		}
	}
	if len(skipped) != 2 || !strings.Contains(skipped[0]+skipped[1], "owned by the scim source") {
		t.Errorf("skipped = %q", skipped)
	}
	got, err := e.store.GetUser(ctx, scimUser.ID)
	if err != nil || got.Source != store.SourceSCIM || got.Doc["title"] != "Pushed by SCIM" || got.Version != scimUser.Version {
		t.Errorf("SCIM user was touched: %+v %v", got, err)
	}
	if g, _ := e.group(t, "Gainsight Viewers"); g.Source != store.SourceSCIM || len(g.Members) != 1 || g.Members[0] != other.ID {
		t.Errorf("SCIM group was touched: %+v", g)
	}
	// Google's members exclude the SCIM-owned bob.
	if got, want := e.memberNames(t, "Gainsight Full"), []string{"alice@example.com", "carol@example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("members = %v, want %v", got, want)
	}
	// A SCIM user Google does not list is never deprovisioned.
	e.fake.DeleteUser("bob@example.com")
	e.poll(t)
	if got, err := e.store.GetUser(ctx, scimUser.ID); err != nil || !got.Active {
		t.Errorf("SCIM user deprovisioned by the Google source: %+v %v", got, err)
	}
}

func TestGroupConflictSkipped(t *testing.T) {
	// Full and Viewers disagree: nobody may be in both.
	check := func(refs []store.GroupRef) error {
		var full, viewers bool
		for _, r := range refs {
			full = full || r.DisplayName == "Gainsight Full"
			viewers = viewers || r.DisplayName == "Gainsight Viewers"
		}
		if full && viewers {
			return errConflictingProfiles
		}
		return nil
	}
	e := newEnv(t, baseConfig(), func(o *Options) { o.CheckGroups = check })
	seed(e.fake)
	e.poll(t)
	e.drain(t)
	e.fake.AddMember("gs-viewers@example.com", googletest.MemberUser, "alice@example.com")
	e.fake.UpdateUser("carol@example.com", func(u *googletest.User) { u.Title = "Lead" })
	ch := e.poll(t)
	if got, want := countsOf(ch), (counts{InScope: 4, GroupsInScope: 2, Updated: 1, Skipped: 1}); got != want {
		t.Errorf("changes = %+v, want %+v", got, want)
	}
	if got, want := e.memberNames(t, "Gainsight Viewers"), []string{"dave@example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("members = %v, want %v (conflicting change skipped)", got, want)
	}
	if got := e.dirtyNames(t); !reflect.DeepEqual(got, []string{"carol@example.com"}) {
		t.Errorf("dirty = %v, want only carol", got)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name       string
		faults     []googletest.Fault
		wantErr    string // "" for success
		wantReason string
		wantUsers  int // user list requests
	}{
		{"rate limited then served", []googletest.Fault{{Kind: googletest.KindUsers, Status: 403, Reason: "rateLimitExceeded", Times: 2}}, "", "", 5},
		{"429 then served", []googletest.Fault{{Kind: googletest.KindUsers, Status: 429, Reason: "rateLimitExceeded"}}, "", "", 4},
		{"server errors then served", []googletest.Fault{{Kind: googletest.KindMembers, Status: 503, Reason: "backendError", Times: 3}}, "", "", 3},
		{"quota never recovers", []googletest.Fault{{Kind: googletest.KindUsers, Status: 403, Reason: "rateLimitExceeded", Times: 10}}, "gave up after 4 attempts", ReasonRateLimited, 4},
		{"server error never recovers", []googletest.Fault{{Kind: googletest.KindGroups, Status: 500, Reason: "backendError", Times: 10}}, "list groups", ReasonServerError, 3},
		{"missing scope is not retried", []googletest.Fault{{Kind: googletest.KindMembers, Status: 403, Reason: "insufficientPermissions", Message: "Request had insufficient authentication scopes."}},
			ScopeGroupMemberReadonly, ReasonAuth, 3},
		{"not authorised is not retried", []googletest.Fault{{Kind: googletest.KindUsers, Status: 403, Reason: "forbidden", Message: "Not Authorized to access this resource/api"}},
			"domain-wide delegation must grant " + ScopeUserReadonly, ReasonAuth, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, baseConfig())
			seed(e.fake)
			for _, f := range tt.faults {
				e.fake.Fail(f)
			}
			_, err := e.src.PollOnce(context.Background())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("PollOnce: %v", err)
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				var ge *Error
				if !errors.As(err, &ge) || ge.Reason != tt.wantReason {
					t.Errorf("reason = %q, want %q", ReasonOf(err), tt.wantReason)
				}
				if got := testutil.ToFloat64(e.src.metrics.errors.WithLabelValues(tt.wantReason)); got != 1 {
					t.Errorf("errors_total{reason=%q} = %v, want 1", tt.wantReason, got)
				}
				if n, _, _ := e.store.DirtyStats(context.Background()); n != 0 {
					t.Errorf("a failed poll wrote: %d dirty", n)
				}
				if got := testutil.ToFloat64(e.src.metrics.lastSuccess); got != 0 {
					t.Errorf("last success = %v after a failure", got)
				}
			}
			if got := e.fake.Requests(googletest.KindUsers); got != tt.wantUsers {
				t.Errorf("user list requests = %d, want %d", got, tt.wantUsers)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	e := newEnv(t, baseConfig(), func(o *Options) { o.Now = func() time.Time { return now } })
	seed(e.fake)
	e.poll(t)
	want := `
# HELP scim_bridge_google_changes_total Changes the Google source wrote to the store, by kind.
# TYPE scim_bridge_google_changes_total counter
scim_bridge_google_changes_total{kind="created"} 4
scim_bridge_google_changes_total{kind="deactivated"} 0
scim_bridge_google_changes_total{kind="deprovisioned"} 0
scim_bridge_google_changes_total{kind="group_changed"} 2
scim_bridge_google_changes_total{kind="updated"} 0
# HELP scim_bridge_google_errors_total Failed polls of the Google Directory API, by reason.
# TYPE scim_bridge_google_errors_total counter
scim_bridge_google_errors_total{reason="auth"} 0
scim_bridge_google_errors_total{reason="network"} 0
scim_bridge_google_errors_total{reason="other"} 0
scim_bridge_google_errors_total{reason="rate_limited"} 0
scim_bridge_google_errors_total{reason="server_error"} 0
# HELP scim_bridge_google_groups_in_scope Google groups pushed at the last successful poll.
# TYPE scim_bridge_google_groups_in_scope gauge
scim_bridge_google_groups_in_scope 2
# HELP scim_bridge_google_last_success_timestamp_seconds Unix time of the last successful poll of the Google Directory API.
# TYPE scim_bridge_google_last_success_timestamp_seconds gauge
scim_bridge_google_last_success_timestamp_seconds 1.8e+09
# HELP scim_bridge_google_users_in_scope Google users in scope at the last successful poll.
# TYPE scim_bridge_google_users_in_scope gauge
scim_bridge_google_users_in_scope 4
`
	if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want),
		"scim_bridge_google_changes_total", "scim_bridge_google_errors_total", "scim_bridge_google_groups_in_scope",
		"scim_bridge_google_last_success_timestamp_seconds", "scim_bridge_google_users_in_scope"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(e.src.metrics.pollDuration); n != 1 {
		t.Errorf("poll duration series = %d", n)
	}
}

func TestRunPollsUntilCancelled(t *testing.T) {
	cfg := baseConfig()
	cfg.Interval = 5 * time.Millisecond
	e := newEnv(t, cfg)
	seed(e.fake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.src.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for e.fake.Requests(googletest.KindUsers) < 6 { // two polls of 3 pages
		if time.Now().After(deadline) {
			t.Fatal("Run did not poll twice")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if !e.hasUser(t, "alice@example.com") {
		t.Error("Run did not write users")
	}
}

func TestAttributeMapping(t *testing.T) {
	cfg := baseConfig()
	cfg.Attributes = []configAttribute{
		{Google: "organizations.costCenter", SCIM: "URN:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"},
		{Google: "customSchemas.HR.level", SCIM: "urn:ietf:params:scim:schemas:extension:gainsight:2.0:User:Level__gc"},
		{Google: "customSchemas.HR.missing", SCIM: "nickName"},
	}
	e := newEnv(t, cfg)
	seed(e.fake)
	e.fake.UpdateUser("alice@example.com", func(u *googletest.User) {
		u.CostCenter = "CC-1"
		u.Extra = map[string]any{"customSchemas": map[string]any{"HR": map[string]any{"level": "L7"}}}
	})
	e.poll(t)
	doc := e.user(t, "alice@example.com").Doc
	if got := stringAt(doc, translate.EnterpriseURN, "costCenter"); got != "CC-1" {
		t.Errorf("costCenter = %q (doc %v)", got, doc)
	}
	if got := stringAt(doc, translate.GainsightURN, "Level__gc"); got != "L7" {
		t.Errorf("Level__gc = %q (doc %v)", got, doc)
	}
	if _, ok := doc["nickName"]; ok {
		t.Error("a missing Google attribute was mapped")
	}
	if got := stringAt(doc, translate.EnterpriseURN, "department"); got != "Engineering" {
		t.Errorf("department = %q, lost beside the mapped attributes", got)
	}
}
