package sync

import (
	"context"
	"fmt"
	stdsync "sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// TestGaugesFollowTheBacklogDuringALongPass: the backlog gauges are read
// from the store from Run's start and on their own timer, so they show
// the users waiting before the first pass ends and follow users written
// while a pass is held up in Gainsight, instead of reading 0 until the
// pass ends.
func TestGaugesFollowTheBacklogDuringALongPass(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.GaugeInterval = 10 * time.Millisecond
		o.BatchSize = 10
	})
	h.storeNow = time.Now
	h.eng.opts.Now = time.Now
	for i := range 30 {
		h.create(fmt.Sprintf("u%02d", i), fmt.Sprintf("user%02d", i), nil)
	}
	release := make(chan struct{})
	inCall := make(chan struct{})
	var once stdsync.Once
	h.up.before = func(string) {
		once.Do(func() { close(inCall) })
		<-release
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()

	gauge := func() (dirty, pending, oldest float64) {
		return testutil.ToFloat64(h.eng.metrics.dirtyUsers),
			testutil.ToFloat64(h.eng.metrics.users.WithLabelValues(store.StatePending)),
			testutil.ToFloat64(h.eng.metrics.oldestDirty)
	}
	waitFor := func(what string, ok func(dirty, pending, oldest float64) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			d, p, o := gauge()
			if ok(d, p, o) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: dirty %v, pending %v, oldest %vs", what, d, p, o)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	select {
	case <-inCall:
	case <-time.After(5 * time.Second):
		t.Fatal("the first pass never called Gainsight")
	}
	waitFor("the backlog at start, the first pass still running", func(d, p, _ float64) bool { return d == 30 && p == 30 })
	for i := 30; i < 75; i++ {
		h.create(fmt.Sprintf("u%02d", i), fmt.Sprintf("user%02d", i), nil)
	}
	time.Sleep(20 * time.Millisecond)
	waitFor("users written during the pass", func(d, p, o float64) bool { return d == 75 && p == 75 && o > 0 })

	close(release)
	released = true
	waitFor("the drained backlog", func(d, p, o float64) bool { return d == 0 && p == 0 && o == 0 })
	if synced := testutil.ToFloat64(h.eng.metrics.users.WithLabelValues(store.StateSynced)); synced != 75 {
		t.Errorf("synced users %v, want 75", synced)
	}
}
