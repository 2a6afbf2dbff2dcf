package google

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/source/google/googletest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/sqlite"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// env is one test's fake Google, store and source.
type env struct {
	fake     *googletest.Server
	store    store.Store
	src      *Source
	reg      *prometheus.Registry
	notified int
	// claims is the time dirty-set claims are made at; each claim moves
	// it past the leases of earlier ones.
	claims time.Time
}

func (e *env) claimTime() time.Time {
	if e.claims.IsZero() {
		e.claims = time.Now()
	}
	e.claims = e.claims.Add(time.Hour)
	return e.claims
}

// seed fills the fake with a small company: staff in /Staff (and below),
// a contractor in /Contractors, one suspended user, a manager relation,
// pushed groups with a nested group, and a group that is not pushed.
func seed(f *googletest.Server) {
	f.SetPageSize(2)
	f.PutUser(googletest.User{Email: "alice@example.com", GivenName: "Alice", FamilyName: "Admin", OrgUnitPath: "/Staff", Title: "CTO", Department: "Engineering"})
	f.PutUser(googletest.User{Email: "bob@example.com", GivenName: "Bob", FamilyName: "Builder", OrgUnitPath: "/Staff/Eng", Title: "Engineer", Department: "Engineering", Manager: "Alice@example.com"})
	f.PutUser(googletest.User{Email: "carol@example.com", GivenName: "Carol", FamilyName: "Coder", OrgUnitPath: "/Staff/Eng", Title: "Engineer", Manager: "nobody@elsewhere.example"})
	f.PutUser(googletest.User{Email: "dave@example.com", GivenName: "Dave", FamilyName: "Dormant", OrgUnitPath: "/Staff", Suspended: true})
	f.PutUser(googletest.User{Email: "erin@example.com", GivenName: "Erin", FamilyName: "Extern", OrgUnitPath: "/Contractors"})
	f.PutGroup(googletest.Group{Email: "gs-full@example.com", Name: "Gainsight Full"})
	f.PutGroup(googletest.Group{Email: "eng@example.com", Name: "Engineering"})
	f.PutGroup(googletest.Group{Email: "gs-viewers@example.com", Name: "Gainsight Viewers"})
	f.PutGroup(googletest.Group{Email: "all@example.com", Name: "Everyone"})
	f.AddMember("gs-full@example.com", googletest.MemberUser, "alice@example.com")
	f.AddMember("gs-full@example.com", googletest.MemberGroup, "eng@example.com")
	f.AddMember("eng@example.com", googletest.MemberUser, "bob@example.com")
	f.AddMember("eng@example.com", googletest.MemberUser, "carol@example.com")
	f.AddMember("gs-viewers@example.com", googletest.MemberUser, "dave@example.com")
	f.AddMember("gs-viewers@example.com", googletest.MemberUser, "erin@example.com")
	f.AddMember("all@example.com", googletest.MemberCustomer, "")
}

func baseConfig() config.GoogleSource {
	return config.GoogleSource{
		Customer:      "my_customer",
		Subject:       "admin@example.com",
		Interval:      time.Minute,
		OrgUnits:      []string{"/Staff"},
		GroupPatterns: []string{"gainsight *", "*@admin.example.com"},
	}
}

func newEnv(t *testing.T, cfg config.GoogleSource, mods ...func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{fake: googletest.New(), reg: prometheus.NewRegistry()}
	cfg.Endpoint = e.fake.Start(t)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bridge.db"), sqlite.Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e.store = st
	opts := Options{
		Config:      cfg,
		Store:       st,
		Notify:      func() { e.notified++ },
		Logger:      zaptest.NewLogger(t),
		Registerer:  e.reg,
		HTTPClient:  &http.Client{Timeout: 10 * time.Second},
		Backoff:     time.Millisecond,
		MaxBackoff:  5 * time.Millisecond,
		MaxAttempts: 4,
	}
	for _, m := range mods {
		m(&opts)
	}
	src, err := New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.src = src
	return e
}

func (e *env) poll(t *testing.T) Changes {
	t.Helper()
	ch, err := e.src.PollOnce(context.Background())
	if err != nil {
		t.Fatalf("PollOnce: %v", err)
	}
	return ch
}

// drain empties the dirty set, as the sync engine would.
func (e *env) drain(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for {
		d, err := e.store.ClaimDirty(ctx, "test", 100, time.Minute, e.claimTime())
		if err != nil {
			t.Fatal(err)
		}
		if len(d) == 0 {
			return
		}
		for _, x := range d {
			if err := e.store.CompleteDirty(ctx, "test", x.UserID, x.Generation); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// dirtyNames returns the userNames (or ids of removed users) in the dirty set.
func (e *env) dirtyNames(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	d, err := e.store.ClaimDirty(ctx, "peek", 1000, time.Minute, e.claimTime())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range d {
		name := x.UserID
		if u, err := e.store.GetUser(ctx, x.UserID); err == nil {
			name = u.UserName
		} else if info, err := e.store.GetSync(ctx, x.UserID); err == nil {
			name = info.UserName
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func (e *env) user(t *testing.T, email string) store.User {
	t.Helper()
	users, _, err := e.store.ListUsers(context.Background(), store.Query{Field: "userName", Value: email})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 {
		t.Fatalf("users named %s: %d, want 1", email, len(users))
	}
	return users[0]
}

func (e *env) hasUser(t *testing.T, email string) bool {
	t.Helper()
	users, _, err := e.store.ListUsers(context.Background(), store.Query{Field: "userName", Value: email})
	if err != nil {
		t.Fatal(err)
	}
	return len(users) > 0
}

func (e *env) group(t *testing.T, name string) (store.Group, bool) {
	t.Helper()
	groups, _, err := e.store.ListGroups(context.Background(), store.Query{Field: "displayName", Value: name}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) == 0 {
		return store.Group{}, false
	}
	return groups[0], true
}

// memberNames returns the userNames of a stored group's members.
func (e *env) memberNames(t *testing.T, name string) []string {
	t.Helper()
	g, ok := e.group(t, name)
	if !ok {
		t.Fatalf("no group %q", name)
	}
	var out []string
	for _, id := range g.Members {
		u, err := e.store.GetUser(context.Background(), id)
		if err != nil {
			t.Fatalf("member %s: %v", id, err)
		}
		out = append(out, u.UserName)
	}
	sort.Strings(out)
	return out
}

// counts is the comparable part of Changes.
type counts struct {
	InScope, GroupsInScope, Created, Updated, Deactivated, Deprovisioned, GroupsChanged, Skipped int
}

func countsOf(c Changes) counts {
	return counts{c.UsersInScope, c.GroupsInScope, c.Created, c.Updated, c.Deactivated, c.Deprovisioned, c.GroupsChanged, c.Skipped}
}

var errConflictingProfiles = errors.New("licenseType: Full and Viewer groups disagree")

type (
	configSource    = config.GoogleSource
	configAttribute = config.GoogleAttribute
)

func sortStrings(s []string) { sort.Strings(s) }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
