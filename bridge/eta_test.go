package bridge_test

import (
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
)

func windows(now time.Time, hourLimit, hourUsed, dayLimit, dayUsed int) []gainsight.WindowStatus {
	return []gainsight.WindowStatus{
		{Name: gainsight.WindowHour, Start: now.Truncate(time.Hour), Length: time.Hour, Limit: hourLimit, Used: hourUsed},
		{Name: gainsight.WindowDay, Start: now.Truncate(24 * time.Hour), Length: 24 * time.Hour, Limit: dayLimit, Used: dayUsed},
	}
}

func TestDrainETA(t *testing.T) {
	at := time.Date(2025, 3, 4, 10, 15, 0, 0, time.UTC)
	late := time.Date(2025, 3, 4, 22, 30, 0, 0, time.UTC)
	tests := []struct {
		name    string
		users   int
		batch   int
		windows []gainsight.WindowStatus
		now     time.Time
		want    time.Duration
		ok      bool
	}{
		{"empty queue", 0, 50, windows(at, 100, 100, 1000, 1000), at, 0, true},
		{"no budget reported", 5000, 50, nil, at, 0, true},
		{"unlimited budget", 5000, 50, windows(at, 0, 0, 0, 0), at, 0, true},
		{"what is left this hour covers it", 100, 50, windows(at, 100, 98, 1000, 500), at, 0, true},
		// 20 calls, none left this hour, 10 an hour: 11:00 and 12:00.
		{"hour spent", 1000, 50, windows(at, 10, 10, 1000, 10), at, time.Hour + 45*time.Minute, true},
		// 3 calls of 20 users; 1 left this hour, then 1 an hour.
		{"smaller batches", 50, 20, windows(at, 1, 0, 1000, 0), at, 45*time.Minute + time.Hour, true},
		// 300 calls; 50 left today, 100 an hour, 150 a day: 50 now,
		// 100 at midnight, 50 at 01:00, the last 50 the day after.
		{"day spent", 15000, 50, windows(late, 100, 0, 150, 100), late, 25*time.Hour + 30*time.Minute, true},
		{"day only", 20000, 50, windows(late, 0, 0, 100, 100), late, 3*24*time.Hour + 90*time.Minute, true},
		{"too far to tell", 1 << 30, 50, windows(at, 1, 1, 1, 1), at, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := bridge.DrainETA(tc.users, tc.batch, tc.windows, tc.now)
			if got != tc.want || ok != tc.ok {
				t.Errorf("DrainETA(%d users) = %s, %t; want %s, %t", tc.users, got, ok, tc.want, tc.ok)
			}
		})
	}
}
