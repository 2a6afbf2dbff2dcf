package store

import (
	"testing"
	"time"
)

func TestGuardPolicyLimit(t *testing.T) {
	tests := []struct {
		users, percent, active, want int
	}{
		{50, 10, 1000, 50}, // the absolute limit is lower
		{50, 10, 300, 30},  // the share is lower
		{50, 10, 21, 3},    // a share is rounded up
		{50, 10, 1, 1},     // one active user can always be deactivated
		{50, 10, 0, 0},     // no active user: nothing to deactivate
		{50, 0, 10, 50},    // no share limit
		{0, 10, 1000, 100}, // no absolute limit
		{0, 0, 1000, -1},   // no limit at all
		{500, 100, 20, 20}, // a share of 100% is everyone
		{7, 10, -3, 0},     // a negative count counts as none
	}
	for _, tc := range tests {
		p := GuardPolicy{Window: time.Hour, MaxUsers: tc.users, MaxPercent: tc.percent}
		if got := p.Limit(tc.active); got != tc.want {
			t.Errorf("%+v.Limit(%d) = %d, want %d", p, tc.active, got, tc.want)
		}
	}
}

func TestSyncStates(t *testing.T) {
	for _, s := range SyncStates() {
		if !ValidSyncState(s) {
			t.Errorf("%s is not valid", s)
		}
	}
	for _, s := range []string{"", "Held", "unknown"} {
		if ValidSyncState(s) {
			t.Errorf("%q is valid", s)
		}
	}
}
