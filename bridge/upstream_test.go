package bridge_test

import (
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// TestUpstreamOptionsBudget: the budget keys reach the Gainsight client:
// the limits, the urgent share of each window in calls, and the window
// lengths (Gainsight's when unset).
func TestUpstreamOptionsBudget(t *testing.T) {
	cfg := config.Default()
	cfg.Gainsight.BaseURL, cfg.Gainsight.AccessKey = "https://tenant.example.com", "k"
	o := bridge.UpstreamOptions(&cfg, "test")
	if o.PerHour != 100 || o.PerDay != 1000 || o.ReservedPerHour != 10 || o.ReservedPerDay != 100 ||
		o.HourWindow != time.Hour || o.DayWindow != 24*time.Hour {
		t.Errorf("defaults: %d/%d per hour/day, %d/%d reserved, windows %s/%s", o.PerHour, o.PerDay,
			o.ReservedPerHour, o.ReservedPerDay, o.HourWindow, o.DayWindow)
	}
	cfg.Gainsight.Budget = config.Budget{PerHour: 14, PerDay: 0, ReservedPercent: 20, WindowHour: 30 * time.Second}
	o = bridge.UpstreamOptions(&cfg, "test")
	if o.PerHour != 14 || o.ReservedPerHour != 3 || o.ReservedPerDay != 0 || o.HourWindow != 30*time.Second || o.DayWindow != 24*time.Hour {
		t.Errorf("set: %d per hour, %d/%d reserved, windows %s/%s", o.PerHour, o.ReservedPerHour, o.ReservedPerDay, o.HourWindow, o.DayWindow)
	}
}
