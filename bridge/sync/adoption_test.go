package sync

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

func TestAdoption(t *testing.T) {
	tests := []struct {
		name       string
		existing   map[string]any
		wantUpdate map[string]any // fields the update must carry (besides Gsid); nil = no update
		wantStatus bool           // a reactivation is sent
	}{
		{
			name:     "same userName and fields",
			existing: map[string]any{"SFDCUserName": "alice", "Email": "alice@example.com", "Name": "alice", "LicenseType": "Full"},
		},
		{
			name:       "matched by userName, fields differ",
			existing:   map[string]any{"SFDCUserName": "ALICE", "Email": "old@example.com", "Name": "Old", "LicenseType": "Full"},
			wantUpdate: map[string]any{"Email": "alice@example.com", "Name": "alice"},
		},
		{
			name:       "matched by email",
			existing:   map[string]any{"SFDCUserName": "a.smith", "Email": "Alice@Example.com", "Name": "alice", "LicenseType": "Viewer"},
			wantUpdate: map[string]any{"SFDCUserName": "alice", "LicenseType": "Full"},
		},
		{
			name:       "inactive user is reactivated with its license",
			existing:   map[string]any{"SFDCUserName": "alice", "Email": "alice@example.com", "Name": "alice", "IsActiveUser": false},
			wantUpdate: map[string]any{"LicenseType": "Full"},
			wantStatus: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			gsid := h.up.seed(tc.existing)
			h.create("a", "alice", nil)
			h.drain()
			if n := h.up.count("create"); n != 0 {
				t.Fatalf("%d creates, want none", n)
			}
			info := h.sync("a")
			if info.GSID != gsid || info.State != store.StateSynced || !info.Active {
				t.Fatalf("sync info %+v, want linked to %s, synced, active", info, gsid)
			}
			var updates []gainsight.Record
			for _, c := range h.up.calls {
				if c.op == "update" {
					updates = append(updates, nil)
				}
			}
			if tc.wantUpdate == nil && len(updates) != 0 {
				t.Fatalf("%d updates, want none", len(updates))
			}
			got := h.up.byName("alice")
			for k, v := range tc.wantUpdate {
				if got[k] != v {
					t.Errorf("gainsight %s = %v, want %v", k, got[k], v)
				}
			}
			if (h.up.count("status") == 1) != tc.wantStatus {
				t.Errorf("status calls %d, want reactivation %v", h.up.count("status"), tc.wantStatus)
			}
			if got["IsActiveUser"] != true {
				t.Errorf("gainsight user inactive")
			}
			if h.outcome(outcomeSynced, reasonAdopted) != 1 {
				t.Errorf("adopted outcome not counted")
			}
			// A second pass after a change sends only the change.
			h.update("a", func(u *store.User) { u.Doc["title"] = "CTO" })
			h.drain()
			if rec := h.up.byName("alice"); rec["Title"] != "CTO" {
				t.Errorf("title not updated: %v", rec)
			}
		})
	}
}

func TestLostCreateResponseIsAdopted(t *testing.T) {
	h := newHarness(t, nil)
	h.up.loseCreates = 1
	for i := range 10 {
		h.create(fmt.Sprintf("u%d", i), fmt.Sprintf("user%d", i), nil)
	}
	h.drain()
	for i := range 10 {
		info := h.sync(fmt.Sprintf("u%d", i))
		if info.State != store.StatePending || info.GSID != "" || !strings.Contains(info.LastError, "connection reset") {
			t.Fatalf("after lost response: %+v", info)
		}
	}
	if h.outcome(outcomeRetry, gainsight.ReasonNetwork) != 10 {
		t.Errorf("retry/network outcomes = %d", h.outcome(outcomeRetry, gainsight.ReasonNetwork))
	}
	if n := h.drain(); n != 0 {
		t.Fatalf("retried %d users before their backoff", n)
	}
	h.clock.Advance(time.Minute)
	h.drain()
	if n := h.up.count("create"); n != 1 {
		t.Errorf("%d create calls, want 1", n)
	}
	if len(h.up.users) != 10 {
		t.Errorf("%d users in gainsight, want 10", len(h.up.users))
	}
	for i := range 10 {
		info := h.sync(fmt.Sprintf("u%d", i))
		if info.State != store.StateSynced || info.GSID == "" {
			t.Fatalf("after retry: %+v", info)
		}
	}
	if h.outcome(outcomeSynced, reasonAdopted) != 10 {
		t.Errorf("adopted outcomes = %d", h.outcome(outcomeSynced, reasonAdopted))
	}
}

func TestDuplicateOnCreateIsAdopted(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	h.create("b", "bob", nil)
	// bob appears in Gainsight between the lookup and the create.
	h.up.failRecord = func(op string, rec gainsight.Record) error {
		if op == "create" && rec["SFDCUserName"] == "bob" {
			h.up.failRecord = nil
			h.up.nextID++
			gsid := fmt.Sprintf("gs-%04d", h.up.nextID)
			h.up.users[gsid] = gainsight.Record{"Gsid": gsid, "SFDCUserName": "bob", "Email": "bob@example.com", "IsActiveUser": true}
			return &gainsight.Error{Op: "create", Code: gainsight.CodeDuplicate, Message: "user already exists"}
		}
		return nil
	}
	h.drain()
	if len(h.up.users) != 2 {
		t.Fatalf("%d gainsight users, want 2", len(h.up.users))
	}
	b := h.sync("b")
	if b.State != store.StateSynced || b.GSID == "" {
		t.Fatalf("bob: %+v", b)
	}
	if got := h.up.byName("bob"); got["Name"] != "bob" || got["LicenseType"] != "Full" {
		t.Errorf("adopted bob not updated: %v", got)
	}
	if h.up.count("list") != 2 {
		t.Errorf("%d lookups, want 2 (before the create, after the duplicate)", h.up.count("list"))
	}
}

func TestAdoptionJoinOrder(t *testing.T) {
	tests := []struct {
		name      string
		batchSize int
		seed      []gainsight.Record
		emails    map[string]string // SCIM user name → work email
		// want maps each SCIM user name to the SFDCUserName of the
		// Gainsight record it must be linked to, or "" for a duplicate
		// failure.
		want  map[string]string
		users int // Gainsight users at the end
	}{
		{
			name:      "a user-name match beats another candidate's email match",
			batchSize: 50,
			seed:      []gainsight.Record{{"SFDCUserName": "bob", "Email": "alice@example.com", "Name": "Bob"}},
			emails:    map[string]string{"alice": "alice@example.com", "bob": "bob@example.com"},
			want:      map[string]string{"alice": "", "bob": "bob"},
			users:     1,
		},
		{
			name:      "an email match whose user name is another bridge user's",
			batchSize: 1,
			seed:      []gainsight.Record{{"SFDCUserName": "bob", "Email": "alice@example.com", "Name": "Bob"}},
			emails:    map[string]string{"alice": "alice@example.com", "bob": "bob@example.com"},
			want:      map[string]string{"alice": "", "bob": "bob"},
			users:     1,
		},
		{
			name:      "two users whose emails collide in one batch",
			batchSize: 50,
			emails:    map[string]string{"alice": "shared@example.com", "bob": "shared@example.com"},
			want:      map[string]string{"alice": "alice", "bob": ""},
			users:     1,
		},
		{
			name:      "an email match with a foreign user name is adopted",
			batchSize: 50,
			seed:      []gainsight.Record{{"SFDCUserName": "a.smith@sfdc", "Email": "alice@example.com", "Name": "A"}},
			emails:    map[string]string{"alice": "alice@example.com"},
			want:      map[string]string{"alice": "alice"},
			users:     1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.BatchSize = tc.batchSize })
			for _, rec := range tc.seed {
				h.up.seed(rec)
			}
			for _, name := range []string{"alice", "bob"} {
				if email, ok := tc.emails[name]; ok {
					h.create(name, name, func(u *store.User) { u.Emails = []string{email} })
				}
			}
			h.drain()
			h.drain()
			for name, want := range tc.want {
				info := h.sync(name)
				if want == "" {
					if info.State != store.StateFailed || info.GSID != "" || !strings.Contains(info.LastError, "linked to") &&
						!strings.Contains(info.LastError, "which is user") {
						t.Errorf("%s: %+v, want failed as a duplicate and unlinked", name, info)
					}
					continue
				}
				rec := h.up.users[info.GSID]
				if info.State != store.StateSynced || rec == nil || rec["SFDCUserName"] != want {
					t.Errorf("%s: %+v linked to %v, want the record of %s", name, info, rec, want)
				}
			}
			if len(h.up.users) != tc.users {
				t.Errorf("%d gainsight users, want %d", len(h.up.users), tc.users)
			}
			for _, rec := range h.up.users {
				for _, seed := range tc.seed {
					if rec["Email"] == seed["Email"] && seed["SFDCUserName"] == "bob" && rec["SFDCUserName"] != "bob" {
						t.Errorf("bob's Gainsight record was renamed: %v", rec)
					}
				}
			}
		})
	}
}

func TestCreateOfUnknownOutcomeIsRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.create("a", "alice", nil)
	h.create("b", "bob", nil)
	// Gainsight creates bob but its answer does not mention him.
	h.up.failRecord = func(op string, rec gainsight.Record) error {
		if op == "create" && rec["SFDCUserName"] == "bob" {
			h.up.nextID++
			gsid := fmt.Sprintf("gs-%04d", h.up.nextID)
			u := cloneRecord(rec)
			u["Gsid"], u["IsActiveUser"] = gsid, true
			h.up.users[gsid] = u
			return &gainsight.Error{Op: "create", Message: "Gainsight returned no result for this record"}
		}
		return nil
	}
	h.drain()
	if b := h.sync("b"); b.State != store.StatePending || b.GSID != "" {
		t.Fatalf("bob after an unknown outcome: %+v, want pending", b)
	}
	h.up.failRecord = nil
	h.clock.Advance(time.Minute)
	h.drain()
	b := h.sync("b")
	if b.State != store.StateSynced || b.GSID == "" || h.up.users[b.GSID]["SFDCUserName"] != "bob" {
		t.Fatalf("bob after the retry: %+v", b)
	}
	if len(h.up.users) != 2 || h.up.count("create") != 1 {
		t.Errorf("%d gainsight users after %d creates, want 2 after 1", len(h.up.users), h.up.count("create"))
	}
}
