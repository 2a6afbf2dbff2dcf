package gainsight

import (
	"context"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
)

// lister is what the sync engine's snapshot asks of a client.
type lister interface {
	ListAll(ctx context.Context, fields []string, page ListPage) error
	ListCost(total int) int
	FindCost(total int) int
}

// TestListAll: both dialects list the whole tenant a page at a time, with
// the total, inactive users included; the services dialect selects only
// the fields asked for; a page callback that says stop ends the listing.
func TestListAll(t *testing.T) {
	tests := []struct {
		api              string
		users            int
		wantCalls        int
		findCost         int
		onlySelected     bool
		op               string
		stopAfterOneCall bool
	}{
		{api: APIServices, users: 250, wantCalls: 3, findCost: 1, onlySelected: true, op: gainsighttest.OpList},
		{api: APIServices, users: 200, wantCalls: 2, findCost: 1, onlySelected: true, op: gainsighttest.OpList},
		{api: APIServices, users: 0, wantCalls: 1, findCost: 1, onlySelected: true, op: gainsighttest.OpList},
		{api: APIUsersV1, users: 2100, wantCalls: 3, findCost: 3, op: gainsighttest.OpV1List},
	}
	for _, tt := range tests {
		t.Run(tt.api, func(t *testing.T) {
			var seed []map[string]any
			for i := range tt.users {
				u := seedUser(i)
				if i%10 == 0 {
					u["IsActiveUser"] = false
				}
				seed = append(seed, u)
			}
			h := newSimHarness(t, tt.api, gainsighttest.Tenant{Users: seed}, nil)
			l := h.client.(lister)
			if got := l.ListCost(tt.users); got != tt.wantCalls {
				t.Errorf("ListCost(%d) = %d, want %d", tt.users, got, tt.wantCalls)
			}
			if got := l.FindCost(tt.users); got != tt.findCost {
				t.Errorf("FindCost(%d) = %d, want %d", tt.users, got, tt.findCost)
			}
			var got []Record
			totals := map[int]bool{}
			err := l.ListAll(context.Background(), []string{"SFDCUserName", "Email", "IsActiveUser"}, func(recs []Record, total int) (bool, error) {
				got = append(got, recs...)
				totals[total] = true
				return true, nil
			})
			if err != nil {
				t.Fatalf("ListAll: %v", err)
			}
			if len(got) != tt.users || !totals[tt.users] || len(totals) != 1 {
				t.Fatalf("listed %d users with totals %v; want %d", len(got), totals, tt.users)
			}
			inactive := 0
			for _, r := range got {
				if r.GSID() == "" || r["SFDCUserName"] == nil || r["Email"] == nil {
					t.Fatalf("listed record %v lacks a join key", r)
				}
				if _, ok := r["Name"]; ok && tt.onlySelected {
					t.Fatalf("listed record %v carries a field not selected", r)
				}
				if r["IsActiveUser"] == false {
					inactive++
				}
			}
			if inactive != (tt.users+9)/10 {
				t.Errorf("%d inactive users listed, want %d", inactive, (tt.users+9)/10)
			}
			if calls := h.sim.Stats().Calls[tt.op]; calls != tt.wantCalls {
				t.Errorf("%d list calls, want %d", calls, tt.wantCalls)
			}
			// Stopping after the first page costs one call.
			h.sim.Reset()
			err = l.ListAll(context.Background(), []string{"Email"}, func([]Record, int) (bool, error) { return false, nil })
			if err != nil || h.sim.Stats().Calls[tt.op] != 1 {
				t.Errorf("stopped listing: %v, %d calls; want 1", err, h.sim.Stats().Calls[tt.op])
			}
		})
	}
}
