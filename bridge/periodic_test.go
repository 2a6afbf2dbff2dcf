package bridge

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/memory"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// noUpstream answers every call with an error: the reconcile under test
// only marks users and purges tombstones.
type noUpstream struct{}

var errNoUpstream = errors.New("no upstream in this test")

func (noUpstream) Create(context.Context, []gainsight.Record) ([]gainsight.Result, error) {
	return nil, errNoUpstream
}
func (noUpstream) Update(context.Context, []gainsight.Record) ([]gainsight.Result, error) {
	return nil, errNoUpstream
}
func (noUpstream) SetStatus(context.Context, []string, bool) ([]gainsight.Result, error) {
	return nil, errNoUpstream
}
func (noUpstream) Find(context.Context, []gainsight.Condition) ([]gainsight.Record, error) {
	return nil, errNoUpstream
}

// TestReconcileOncePerInterval: replicas sharing a store run the periodic
// reconcile once per interval between them, marking every user dirty and
// purging the tombstones older than the retention.
func TestReconcileOncePerInterval(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := memory.New(memory.Options{Now: clock})
	cfg := config.Default()
	cfg.Sync.TombstoneRetention = 24 * time.Hour
	replicas := make([]*Bridge, 2)
	for i := range replicas {
		b, err := New(Options{Config: &cfg, Logger: zaptest.NewLogger(t), Registry: prometheus.NewRegistry(),
			Store: st, Upstream: noUpstream{}, Now: clock, Owner: "replica"})
		if err != nil {
			t.Fatal(err)
		}
		replicas[i] = b
	}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := st.CreateUser(ctx, store.User{ID: name, UserName: name}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteUser(ctx, "c"); err != nil { // never linked: purged after the retention
		t.Fatal(err)
	}
	settle := func() {
		ds, err := st.ClaimDirty(ctx, "settle", 100, time.Minute, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if err := st.CompleteDirty(ctx, "settle", d.UserID, d.Generation); err != nil {
				t.Fatal(err)
			}
		}
	}
	settle()
	steps := []struct {
		replica int
		after   time.Duration
		want    bool
	}{
		{0, 0, true},
		{1, time.Minute, false},
		{0, 30 * time.Minute, false},
		{1, 25 * time.Hour, true},
		{0, time.Minute, false},
	}
	for i, s := range steps {
		now = now.Add(s.after)
		n, ran, err := replicas[s.replica].reconcileOnce(ctx, 2*time.Hour)
		if err != nil || ran != s.want {
			t.Fatalf("step %d: replica %d ran %v (%v), want %v", i, s.replica, ran, err, s.want)
		}
		dirty, _, _ := st.DirtyStats(ctx)
		if ran && (n != 2 || dirty != 2) {
			t.Fatalf("step %d: marked %d, %d dirty; want both live users", i, n, dirty)
		}
		if !ran && dirty != 0 {
			t.Fatalf("step %d: %d dirty after a reconcile that did not run", i, dirty)
		}
		settle()
	}
	if _, err := st.GetSync(ctx, "c"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tombstone older than the retention: %v, want purged", err)
	}
	// The command's reconcile runs whenever asked, and counts as a run.
	if _, ran, err := replicas[0].reconcileOnce(ctx, 0); err != nil || !ran {
		t.Errorf("reconcile command: ran %v, %v", ran, err)
	}
	if _, ran, _ := replicas[1].reconcileOnce(ctx, 2*time.Hour); ran {
		t.Error("periodic reconcile ran right after the command's")
	}
}
