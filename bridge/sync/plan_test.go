package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// The plan is a pure function: these tables give it what Load would have
// read and check what it decides, kinds in order, fields sent and reasons.

// live returns a live user "id" with a desired record and status, linked to
// gsid ("" = unlinked) with the confirmed record and status given.
func live(id string, desired gainsight.Record, active bool, gsid string, confirmed gainsight.Record, confirmedActive bool) *subject {
	d := cloneRecord(desired)
	if _, ok := d["SFDCUserName"]; !ok {
		d["SFDCUserName"] = id
	}
	return &subject{
		UserID: id, UserName: id, Desired: d, Active: active,
		Link: &store.SyncInfo{LinkID: "l-" + id, UserID: id, UserName: id, GSID: gsid, Record: confirmed, Active: confirmedActive},
	}
}

// deleted returns a deleted user's tombstone.
func deleted(id, gsid string, active, unknown bool) *subject {
	return &subject{UserID: id, UserName: id, Deleted: true,
		Link: &store.SyncInfo{LinkID: "l-" + id, UserID: id, UserName: id, GSID: gsid, Active: active, Unknown: unknown, Tombstone: true}}
}

func with(s *subject, mut func(*subject)) *subject {
	mut(s)
	return s
}

var full = gainsight.Record{"Name": "N", "LicenseType": "Full"}

func TestPlanBatch(t *testing.T) {
	tests := []struct {
		name string
		subs []*subject
		lk   lookup
		// want maps each user to its kinds, then the fields sent
		// ("Title=CTO", "Manager=<nil>"), in order.
		want map[string]string
		// reasons maps users to a text their reason must contain.
		reasons map[string]string
		retry   []string
	}{
		{
			name: "a new user is created",
			subs: []*subject{live("a", full, true, "", nil, false)},
			want: map[string]string{"a": "create LicenseType=Full Name=N SFDCUserName=a"},
		},
		{
			name: "a new inactive user is created, then deactivated",
			subs: []*subject{live("a", full, false, "", nil, false)},
			want: map[string]string{"a": "create,deactivate LicenseType=Full Name=N SFDCUserName=a"},
		},
		{
			name: "unchanged",
			subs: []*subject{live("a", full, true, "gs-a", gainsight.Record{"Name": "N", "LicenseType": "Full", "SFDCUserName": "a"}, true)},
			want: map[string]string{"a": ""},
		},
		{
			name: "deactivation comes first and the update sends no license",
			subs: []*subject{live("a", gainsight.Record{"Name": "N", "LicenseType": "Full", "Title": "Gone"}, false,
				"gs-a", gainsight.Record{"Name": "N", "LicenseType": "Full", "SFDCUserName": "a"}, true)},
			want: map[string]string{"a": "deactivate,update Title=Gone"},
		},
		{
			name: "reactivation comes before the update that sends the license again",
			subs: []*subject{live("a", full, true, "gs-a", gainsight.Record{"Name": "N", "SFDCUserName": "a"}, false)},
			want: map[string]string{"a": "reactivate,update LicenseType=Full"},
		},
		{
			name: "a removed field is cleared",
			subs: []*subject{live("a", full, true, "gs-a", gainsight.Record{"Name": "N", "LicenseType": "Full", "SFDCUserName": "a", "Title": "x"}, true)},
			want: map[string]string{"a": "update Title=<nil>"},
		},
		{
			name: "a group conflict fails the user, who is deactivated all the same",
			subs: []*subject{
				with(live("a", nil, false, "gs-a", full, true), func(s *subject) { s.PlanErr = errors.New("conflict: East vs West") }),
				with(live("b", nil, true, "gs-b", full, true), func(s *subject) { s.PlanErr = errors.New("conflict: East vs West") }),
				with(live("c", nil, false, "", nil, false), func(s *subject) { s.PlanErr = errors.New("conflict: East vs West") }),
			},
			want:    map[string]string{"a": "deactivate,failed", "b": "failed", "c": "failed"},
			reasons: map[string]string{"a": "East vs West", "b": "East vs West", "c": "East vs West"},
		},
		{
			name: "a deleted user is deactivated once",
			subs: []*subject{deleted("a", "gs-a", true, false), deleted("b", "gs-b", false, false), deleted("c", "", false, false)},
			want: map[string]string{"a": "deactivate", "b": "", "c": ""},
		},
		{
			name: "an unknown state that cannot be re-read still deactivates",
			subs: []*subject{
				with(live("a", full, false, "gs-a", full, false), func(s *subject) { s.Link.Unknown, s.RereadErr = true, errors.New("503") }),
				with(live("b", full, true, "gs-b", full, true), func(s *subject) { s.Link.Unknown, s.RereadErr = true, errors.New("503") }),
				with(deleted("c", "gs-c", false, true), func(s *subject) { s.RereadErr = errors.New("503") }),
			},
			want:  map[string]string{"a": "deactivate", "b": "", "c": "deactivate"},
			retry: []string{"a", "b", "c"},
		},
		{
			name: "a re-read state replaces the confirmed one",
			subs: []*subject{
				with(live("a", full, true, "gs-a", full, true), func(s *subject) {
					s.Link.Unknown, s.Reread = true, true
					s.Current = gainsight.Record{"Gsid": "gs-a", "Name": "Old", "SFDCUserName": "a", "IsActiveUser": false}
				}),
			},
			want: map[string]string{"a": "reactivate,update LicenseType=Full Name=N"},
		},
		{
			name: "a Gainsight user that vanished is created again",
			subs: []*subject{with(live("a", full, true, "gs-a", full, true), func(s *subject) { s.Link.Unknown, s.Reread = true, true })},
			lk:   lookup{},
			want: map[string]string{"a": "create LicenseType=Full Name=N SFDCUserName=a"},
		},
		{
			name: "an existing user is adopted, reactivated and updated",
			subs: []*subject{live("a", full, true, "", nil, false)},
			lk: lookup{Found: []gainsight.Record{{"Gsid": "gs-9", "SFDCUserName": "A", "Name": "Old", "IsActiveUser": false}},
				Holders: map[string]store.SyncInfo{}},
			want: map[string]string{"a": "adopt,reactivate,update LicenseType=Full Name=N SFDCUserName=a"},
		},
		{
			name: "a tombstone's Gainsight user is taken over",
			subs: []*subject{live("a", full, true, "", nil, false)},
			lk: lookup{Found: []gainsight.Record{{"Gsid": "gs-9", "SFDCUserName": "a", "Name": "N", "LicenseType": "Full"}},
				Holders: map[string]store.SyncInfo{"gs-9": {LinkID: "l-old", UserID: "old", Tombstone: true, GSID: "gs-9"}}},
			want: map[string]string{"a": "adopt"},
		},
		{
			name: "a Gainsight user linked to a live user is not taken",
			subs: []*subject{live("a", full, true, "", nil, false)},
			lk: lookup{Found: []gainsight.Record{{"Gsid": "gs-9", "SFDCUserName": "a"}},
				Holders: map[string]store.SyncInfo{"gs-9": {LinkID: "l-z", UserID: "z", GSID: "gs-9"}}},
			want:    map[string]string{"a": "failed"},
			reasons: map[string]string{"a": "linked to user z"},
		},
		{
			name: "join order: a user-name match beats another candidate's email match",
			subs: []*subject{
				live("alice", gainsight.Record{"Email": "shared@x"}, true, "", nil, false),
				live("bob", gainsight.Record{"Email": "bob@x"}, true, "", nil, false),
			},
			lk: lookup{Found: []gainsight.Record{{"Gsid": "gs-9", "SFDCUserName": "bob", "Email": "shared@x"}},
				Holders: map[string]store.SyncInfo{}, NameOwners: map[string][]string{store.Fold("bob"): {"bob"}}},
			want:    map[string]string{"alice": "failed", "bob": "adopt,update Email=bob@x"},
			reasons: map[string]string{"alice": "linked to user bob"},
		},
		{
			name: "an email match whose user name is another bridge user's fails, naming that user by id",
			subs: []*subject{live("alice", gainsight.Record{"Email": "alice@x"}, true, "", nil, false)},
			lk: lookup{Found: []gainsight.Record{{"Gsid": "gs-9", "SFDCUserName": "bob@corp", "Email": "alice@x"}},
				Holders: map[string]store.SyncInfo{}, NameOwners: map[string][]string{store.Fold("bob@corp"): {"u-bob"}}},
			want:    map[string]string{"alice": "failed"},
			reasons: map[string]string{"alice": "which is user u-bob"},
		},
		{
			name: "a failed look-up retries the unlinked users only",
			subs: []*subject{live("a", full, true, "", nil, false),
				live("b", full, false, "gs-b", gainsight.Record{"Name": "N", "LicenseType": "Full", "SFDCUserName": "b"}, true)},
			lk:    lookup{Err: errors.New("503")},
			want:  map[string]string{"a": "", "b": "deactivate"},
			retry: []string{"a"},
		},
		{
			name: "an orphan's lost create is adopted and deactivated",
			subs: []*subject{deleted("a", "", false, true), deleted("b", "", false, true)},
			lk: lookup{Found: []gainsight.Record{{"Gsid": "gs-a", "SFDCUserName": "a"}, {"Gsid": "gs-b", "SFDCUserName": "b"}},
				Holders: map[string]store.SyncInfo{"gs-b": {LinkID: "l-b2", UserID: "b2", GSID: "gs-b"}}},
			want: map[string]string{"a": "adopt,deactivate", "b": ""},
		},
		{
			name: "a user matched in the tenant snapshot is adopted and sent its whole record",
			subs: []*subject{live("a", full, true, "", nil, false), live("b", full, true, "", nil, false)},
			lk: lookup{Found: []gainsight.Record{{"Gsid": "gs-a", "SFDCUserName": "a", "IsActiveUser": true}, {"Gsid": "gs-b", "SFDCUserName": "b", "IsActiveUser": false}},
				Partial: map[string]bool{"gs-a": true, "gs-b": true}},
			want: map[string]string{
				"a": "adopt,update LicenseType=Full Name=N SFDCUserName=a",
				"b": "adopt,reactivate,update LicenseType=Full Name=N SFDCUserName=b",
			},
		},
		{
			name: "managers: one created in the batch, one waited for",
			subs: []*subject{
				with(live("r1", full, true, "", nil, false), func(s *subject) { s.ManagerID, s.ManagerWait = "m", true }),
				with(live("r2", full, true, "gs-r2", gainsight.Record{"Name": "N", "LicenseType": "Full", "SFDCUserName": "r2"}, true),
					func(s *subject) { s.ManagerID, s.ManagerWait = "elsewhere", true }),
				live("m", full, true, "", nil, false),
			},
			want:    map[string]string{"r1": "create LicenseType=Full Name=N SFDCUserName=r1", "r2": "defer-manager", "m": "create LicenseType=Full Name=N SFDCUserName=m"},
			reasons: map[string]string{"r2": "waiting for manager elsewhere"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bp := planBatch(tc.subs, tc.lk, "SFDCUserName")
			for _, c := range bp.Changes {
				want, ok := tc.want[c.UserID]
				if !ok {
					continue
				}
				if got := describe(c); got != want {
					t.Errorf("%s: %q, want %q", c.UserID, got, want)
				}
				if r := tc.reasons[c.UserID]; !strings.Contains(c.Reason, r) {
					t.Errorf("%s: reason %q, want it to contain %q", c.UserID, c.Reason, r)
				}
				if c.Retry != slices.Contains(tc.retry, c.UserID) {
					t.Errorf("%s: retry %v", c.UserID, c.Retry)
				}
			}
		})
	}
}

// describe renders a change as "kind,kind Field=new ...".
func describe(c *Change) string {
	kinds := make([]string, len(c.Kinds))
	for i, k := range c.Kinds {
		kinds[i] = string(k)
	}
	out := strings.Join(kinds, ",")
	for _, f := range c.Fields {
		out += fmt.Sprintf(" %s=%v", f.Field, f.New)
	}
	return out
}

func TestManagerUpdate(t *testing.T) {
	confirmed := gainsight.Record{"Name": "N"}
	c := &Change{Kinds: []Kind{KindCreate, KindUpdate}, update: gainsight.Record{"Title": "x"}, managerOf: "m"}
	managerUpdate(c, confirmed, "gs-m")
	if got := describe(c); got != "create,update Manager=gs-m Title=x" {
		t.Errorf("linked manager: %q", got)
	}
	c = &Change{Kinds: []Kind{KindCreate}, managerOf: "m"}
	managerUpdate(c, confirmed, "")
	if got := describe(c); got != "create,defer-manager" || !strings.Contains(c.Reason, "manager m") {
		t.Errorf("manager not linked: %q (%s)", got, c.Reason)
	}
}

// TestChangeIsAPlainValue: a planned change serialises to what a plan
// listing shows (kinds, fields old → new, reason), nothing of the
// executor's.
func TestChangeIsAPlainValue(t *testing.T) {
	bp := planBatch([]*subject{
		live("a", gainsight.Record{"Name": "N", "Title": "CTO"}, false, "gs-a", gainsight.Record{"Name": "N", "SFDCUserName": "a", "Title": "Dev"}, true),
	}, lookup{}, "SFDCUserName")
	b, err := json.Marshal(bp.Changes[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"userId":"a","gsid":"gs-a","kinds":["deactivate","update"],"fields":[{"field":"Title","old":"Dev","new":"CTO"}]}`
	if string(b) != want {
		t.Errorf("change = %s\nwant     %s", b, want)
	}
}

// TestCarryOver: in a batch whose claim was full, the users that would
// make a create or update call go out part-empty wait for the next pass;
// never urgent ones, users a look-up was spent on, or users with another
// call.
func TestCarryOver(t *testing.T) {
	linked := func(id string) *subject {
		return live(id, gainsight.Record{"Name": "N", "Title": "new"}, true, "gs-"+id, gainsight.Record{"Name": "N", "SFDCUserName": id}, true)
	}
	creates := func(prefix string, n int) []*subject {
		var out []*subject
		for i := range n {
			out = append(out, live(fmt.Sprintf("%s%02d", prefix, i), full, true, "", nil, false))
		}
		return out
	}
	urgent := func(s *subject) *subject {
		s.Dirty.Priority = store.PriorityUrgent
		return s
	}
	tests := []struct {
		name     string
		subs     []*subject
		lookedUp bool
		// carried is the number of users held back; sent the users per
		// call kind that stay.
		carried       int
		creates, upds int
		notCarried    []string
	}{
		{name: "creates fill their calls", subs: creates("c", 7), carried: 2, creates: 5},
		{name: "a multiple of the call size goes whole", subs: creates("c", 10), carried: 0, creates: 10},
		{name: "after a look-up nothing waits", subs: creates("c", 7), lookedUp: true, carried: 0, creates: 7},
		{
			name:    "updates fill their calls; urgent and two-call users go",
			subs:    append([]*subject{urgent(linked("u1")), linked("u2"), linked("u3"), linked("u4"), linked("u5"), linked("u6"), with(linked("r"), func(s *subject) { s.Link.Active = false })}, creates("c", 5)...),
			carried: 2, creates: 5, upds: 5,
			notCarried: []string{"u1", "r"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bp := planBatch(tc.subs, lookup{}, "SFDCUserName")
			bp.carryOver(5, tc.lookedUp)
			carried, creates, upds := 0, 0, 0
			for _, c := range bp.Changes {
				switch {
				case c.has(KindCarry):
					carried++
					if len(c.Kinds) != 1 || c.create != nil || c.update != nil {
						t.Errorf("%s carried but still sends: %s", c.UserID, describe(c))
					}
					if slices.Contains(tc.notCarried, c.UserID) {
						t.Errorf("%s carried; it must go now", c.UserID)
					}
				case c.has(KindCreate):
					creates++
				case c.has(KindUpdate):
					upds++
				}
			}
			if carried != tc.carried || creates != tc.creates || upds != tc.upds {
				t.Errorf("carried %d, creates %d, updates %d; want %d, %d, %d", carried, creates, upds, tc.carried, tc.creates, tc.upds)
			}
		})
	}
}
