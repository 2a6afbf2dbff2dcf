package google

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/source/google/googletest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// TestAuditOfPolls: what a poll writes is handed to Options.Audit as
// changes of intent made by the Google source.
func TestAuditOfPolls(t *testing.T) {
	var (
		mu      sync.Mutex
		entries []store.AuditEntry
	)
	e := newEnv(t, baseConfig(), func(o *Options) {
		o.Audit = func(_ context.Context, es []store.AuditEntry) {
			mu.Lock()
			defer mu.Unlock()
			entries = append(entries, es...)
		}
	})
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, a := range entries {
			if a.Source != store.AuditSourceGoogle || a.Actor != store.AuditSourceGoogle {
				t.Errorf("entry %+v not from the Google source", a)
			}
			name := a.UserName
			if name == "" {
				u, err := e.store.GetUser(context.Background(), a.UserID)
				if err == nil {
					name = u.UserName
				}
			}
			out = append(out, fmt.Sprintf("%s %s %s", name, a.Op, a.Detail))
		}
		entries = nil
		sort.Strings(out)
		return out
	}
	seed(e.fake)
	e.poll(t)
	first := take()
	var created int
	for _, s := range first {
		if len(s) > 0 && strings.Contains(s, string(store.AuditUserCreated)) {
			created++
		}
	}
	if created != 4 {
		t.Fatalf("first poll recorded %v; want four users created", first)
	}
	e.fake.UpdateUser("bob@example.com", func(u *googletest.User) { u.Suspended = true })
	e.fake.AddMember("gs-viewers@example.com", googletest.MemberUser, "carol@example.com")
	e.poll(t)
	got := take()
	want := []string{
		"bob@example.com user-deactivated ",
		"carol@example.com group-membership added to group Gainsight Viewers",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("second poll recorded\n%q\nwant\n%q", got, want)
	}
	e.fake.DeleteUser("alice@example.com")
	e.poll(t)
	got = take()
	found := false
	for _, s := range got {
		if s == "alice@example.com user-deleted " {
			found = true
		}
	}
	if !found {
		t.Errorf("deleting alice recorded %q", got)
	}
	e.poll(t)
	if got := take(); len(got) != 0 {
		t.Errorf("a poll without changes recorded %q", got)
	}
}

// TestStatus: the source reports its last poll, successful or not.
func TestStatus(t *testing.T) {
	e := newEnv(t, baseConfig())
	if st := e.src.Status(); !st.LastPoll.IsZero() {
		t.Fatalf("status before any poll: %+v", st)
	}
	seed(e.fake)
	e.poll(t)
	st := e.src.Status()
	if st.LastPoll.IsZero() || !st.LastSuccess.Equal(st.LastPoll) || st.LastError != "" || st.UsersInScope != 4 || st.GroupsInScope != 2 {
		t.Errorf("status after a poll: %+v", st)
	}
}
