package bridge

import (
	"slices"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// TestRolloutSettingsAreReloaded: sync.mode and sync.guard take effect on
// a reload; the rest of sync still needs a restart.
func TestRolloutSettingsAreReloaded(t *testing.T) {
	a := config.Default()
	b := a
	b.Sync.Mode = config.ModeShadow
	b.Sync.Guard = config.Guard{Enabled: false, MaxUsers: 5, Window: 2 * time.Hour}
	if got := restartOnly(&a, &b); len(got) != 0 {
		t.Errorf("restartOnly for mode and guard = %v, want none", got)
	}
	c := b
	c.Sync.Lease = time.Minute
	if got := restartOnly(&a, &c); !slices.Equal(got, []string{"sync"}) {
		t.Errorf("restartOnly for the lease = %v", got)
	}

	ro := rolloutOf(&b)
	if !ro.Shadow || ro.Guard != nil {
		t.Errorf("rolloutOf(shadow, guard off) = %+v", ro)
	}
	ro = rolloutOf(&a)
	if ro.Shadow || ro.Guard == nil || ro.Guard.MaxUsers != 50 || ro.Guard.MaxPercent != 10 || ro.Guard.Window != time.Hour {
		t.Errorf("rolloutOf(defaults) = %+v %+v", ro, ro.Guard)
	}
}
