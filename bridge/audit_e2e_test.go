package bridge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func withAdminsProfile(c *config.Config) {
	c.Groups = []config.GroupProfile{{Name: "admins", DisplayName: "Gainsight Admins", LicenseType: "Full"}}
}

// history returns a user's audit trail, oldest first.
func history(t *testing.T, h *harness, key string) []store.AuditEntry {
	t.Helper()
	es, err := bridge.History(context.Background(), h.store, key, store.AuditQuery{})
	if err != nil {
		t.Fatalf("history of %s: %v", key, err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

func findEntry(es []store.AuditEntry, op store.AuditOp) (store.AuditEntry, bool) {
	for _, e := range es {
		if e.Op == op {
			return e, true
		}
	}
	return store.AuditEntry{}, false
}

func changeOf(e store.AuditEntry, field string) (store.AuditChange, bool) {
	for _, c := range e.Changes {
		if c.Field == field {
			return c, true
		}
	}
	return store.AuditChange{}, false
}

// TestAuditTrailEndToEnd follows one user through SCIM and Gainsight: the
// trail holds the IdP's create with the token's name, the engine's create
// with Gainsight's request id, the group change and the update it caused,
// with personal fields recorded as changed only.
func TestAuditTrailEndToEnd(t *testing.T) {
	h := startHarness(t, harnessOpts{configure: withAdminsProfile})
	id := h.createUser(userDoc("jane.doe@example.com", map[string]any{"title": "Analyst"}))
	h.waitSynced(10 * time.Second)
	var g map[string]any
	if s := h.do(http.MethodPost, "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Gainsight Admins",
		"members": []any{map[string]any{"value": id}},
	}, &g); s != http.StatusCreated {
		t.Fatalf("create group: %d", s)
	}
	h.waitSynced(10 * time.Second)

	es := history(t, h, "jane.doe@example.com")
	var ops []string
	for _, e := range es {
		ops = append(ops, string(e.Op))
	}
	want := []store.AuditOp{store.AuditUserCreated, store.AuditCreate, store.AuditMembership, store.AuditUpdate}
	if len(es) != len(want) {
		t.Fatalf("history %v, want %v", ops, want)
	}
	for i, op := range want {
		if es[i].Op != op || es[i].UserID != id || es[i].Result != store.AuditOK {
			t.Errorf("entry %d = %s %s %s, want %s ok for %s", i, es[i].Op, es[i].UserID, es[i].Result, op, id)
		}
	}
	created := es[0]
	if created.Source != store.AuditSourceSCIM || created.Actor != "test" || created.RequestID == "" || created.Replica != "test" {
		t.Errorf("SCIM create entry %+v", created)
	}
	push := es[1]
	info, _ := h.store.GetSync(context.Background(), id)
	if push.Source != store.AuditSourceSync || push.GSID != info.GSID || push.RequestID == "" || push.UserName != "jane.doe@example.com" {
		t.Errorf("Gainsight create entry %+v (link %s)", push, info.GSID)
	}
	if c, _ := changeOf(push, "Title"); c.New != "Analyst" || c.Masked {
		t.Errorf("Title %+v, want Analyst recorded", c)
	}
	for _, f := range []string{"Email", "SFDCUserName", "FirstName", "LastName"} {
		if c, ok := changeOf(push, f); !ok || !c.Masked || c.New != nil || c.Old != nil {
			t.Errorf("%s %+v (%t), want recorded as changed only", f, c, ok)
		}
	}
	if es[2].Detail != "added to group Gainsight Admins" {
		t.Errorf("membership entry %+v", es[2])
	}
	if c, _ := changeOf(es[3], "LicenseType"); c.Old != "Viewer" || c.New != "Full" {
		t.Errorf("update's license %+v, want Viewer → Full", c)
	}
	for _, e := range es {
		raw, _ := json.Marshal(e.Changes)
		if strings.Contains(string(raw), "@") {
			t.Errorf("%s entry records an email address: %s", e.Op, raw)
		}
	}
}

// TestAuditPersonalDataOptIn records personal values when configured to.
func TestAuditPersonalDataOptIn(t *testing.T) {
	h := startHarness(t, harnessOpts{configure: func(c *config.Config) { c.Audit.RecordPersonalData = true }})
	h.createUser(userDoc("max@example.com", nil))
	h.waitSynced(10 * time.Second)
	push, ok := findEntry(history(t, h, "max@example.com"), store.AuditCreate)
	if !ok {
		t.Fatal("no create entry")
	}
	if c, _ := changeOf(push, "Email"); c.Masked || c.New != "max@example.com" {
		t.Errorf("Email %+v, want the value recorded", c)
	}
}

// TestAuditRetention prunes the trail down to audit.maxRows in the
// background.
func TestAuditRetention(t *testing.T) {
	h := startHarness(t, harnessOpts{configure: func(c *config.Config) {
		c.Audit.MaxRows = 3
		c.Audit.PruneInterval = 50 * time.Millisecond
	}})
	for _, n := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		h.createUser(userDoc(n, nil))
	}
	h.waitSynced(10 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		es, err := h.store.ListAudit(context.Background(), store.AuditQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) <= 3 {
			if len(es) == 0 || es[0].UserName != "c@example.com" {
				t.Errorf("kept %+v, want the newest entries", es)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d entries; want at most 3", len(es))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
