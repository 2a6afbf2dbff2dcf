package gainsight

import (
	"context"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
)

// TestBudgetStatusAndRequestIDs checks, in both dialects, that a write's
// result carries Gainsight's requestId and that the budget's windows count
// the calls made, without BudgetStatus spending any.
func TestBudgetStatusAndRequestIDs(t *testing.T) {
	for _, api := range []string{APIServices, APIUsersV1} {
		t.Run(api, func(t *testing.T) {
			h := newSimHarness(t, api, gainsighttest.Tenant{}, func(o *Options) { o.PerHour, o.PerDay = 10, 100 })
			ctx := context.Background()
			res, err := h.client.Create(ctx, []Record{newRecord(1)})
			if err != nil || len(res) != 1 || res[0].Err != nil {
				t.Fatalf("Create = %+v, %v", res, err)
			}
			if res[0].RequestID == "" {
				t.Errorf("create result has no request id: %+v", res[0])
			}
			res, err = h.client.SetStatus(ctx, []string{res[0].GSID}, false)
			if err != nil || res[0].Err != nil || res[0].RequestID == "" {
				t.Fatalf("SetStatus = %+v, %v; want a request id", res, err)
			}
			bs, ok := h.client.(interface {
				BudgetStatus(context.Context, time.Time) ([]WindowStatus, error)
			})
			if !ok {
				t.Fatalf("%T has no BudgetStatus", h.client)
			}
			for range 2 {
				ws, err := bs.BudgetStatus(ctx, h.clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				if len(ws) != 2 || ws[0].Name != WindowHour || ws[1].Name != WindowDay {
					t.Fatalf("windows = %+v", ws)
				}
				hour, day := ws[0], ws[1]
				if hour.Used != 2 || hour.Limit != 10 || hour.Left() != 8 || day.Used != 2 || day.Left() != 98 {
					t.Errorf("hour %+v (left %d), day %+v (left %d); want 2 used of 10 and of 100", hour, hour.Left(), day, day.Left())
				}
				if !hour.Start.Equal(h.clock.Now().Truncate(time.Hour)) || !hour.Ends().Equal(hour.Start.Add(time.Hour)) {
					t.Errorf("hour window %s..%s", hour.Start, hour.Ends())
				}
			}
		})
	}
}

func TestWindowLeftUnlimited(t *testing.T) {
	if got := (WindowStatus{Limit: 0, Used: 7}).Left(); got != -1 {
		t.Errorf("Left of an unlimited window = %d, want -1", got)
	}
	if got := (WindowStatus{Limit: 5, Used: 7}).Left(); got != 0 {
		t.Errorf("Left of an overspent window = %d, want 0", got)
	}
}
