package gainsight

import (
	"context"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
)

// lister is what the sync engine's snapshot asks of a client.
type lister interface {
	ListPage(ctx context.Context, fields []string, page int) ([]Record, int, error)
	ListPageSize() int
	ListCost(total int) int
	FindCost(total int) int
}

// listAll pages through the tenant as the sync engine does.
func listAll(t *testing.T, l lister, fields []string) ([]Record, map[int]bool) {
	t.Helper()
	var out []Record
	totals := map[int]bool{}
	for page := 0; ; page++ {
		recs, total, err := l.ListPage(context.Background(), fields, page)
		if err != nil {
			t.Fatalf("ListPage(%d): %v", page, err)
		}
		out = append(out, recs...)
		totals[total] = true
		if len(recs) < l.ListPageSize() || len(out) >= total {
			return out, totals
		}
	}
}

// TestListPage: both dialects list the whole tenant a page at a time, with
// the total, inactive users included, in as many calls as ListCost says;
// the services dialect selects only the fields asked for.
func TestListPage(t *testing.T) {
	tests := []struct {
		api          string
		users        int
		wantCalls    int
		findCost     int
		onlySelected bool
		op           string
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
			got, totals := listAll(t, l, []string{"SFDCUserName", "Email", "IsActiveUser"})
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
		})
	}
}
