package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/conformance"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres"
)

// TestReplicasClaimByPriority: three replicas on one database, some of
// their workers taking only urgent work (as an engine does when only the
// budget's urgent share is left), claim a dirty set of every priority. FOR
// UPDATE SKIP LOCKED keeps the claims disjoint and complete, every claim
// comes highest priority first, and a worker taking only urgent work gets
// nothing below it.
func TestReplicasClaimByPriority(t *testing.T) {
	dsn := freshSchema(t)
	replicas := []*postgres.Store{open(t, dsn), open(t, dsn), open(t, dsn)}
	ctx := t.Context()
	const users = 400
	for i := range users {
		if err := replicas[i%3].MarkDirtyAs(ctx, store.Priorities()[i%4], fmt.Sprintf("u-%04d", i)); err != nil {
			t.Fatalf("MarkDirtyAs: %v", err)
		}
	}
	now := time.Now().Add(time.Second)
	// Three workers a replica; the first of each takes only urgent work.
	minOf := func(w int) store.Priority {
		if w%3 == 0 {
			return store.PriorityUrgent
		}
		return store.PriorityLow
	}
	conformance.ClaimConcurrently(t, users, 3*len(replicas), func(w int, owner string) ([]store.Dirty, error) {
		return replicas[w/3].ClaimDirtyMin(ctx, owner, minOf(w), 7, time.Hour, now)
	}, func(w int, owner string, ds []store.Dirty) error {
		for i, d := range ds {
			if d.Priority < minOf(w) || i > 0 && d.Priority > ds[i-1].Priority {
				return fmt.Errorf("claim of %s out of order: %+v", owner, ds)
			}
		}
		return nil
	})
}

// BenchmarkClaimDirty measures one claim of 50 entries (and the urgent
// claim the engine makes when only the urgent share of the budget is left)
// with 100,000 entries pending, of every priority.
func BenchmarkClaimDirty(b *testing.B) {
	s := open(b, freshSchema(b))
	ctx := b.Context()
	const pending = 100000
	ids := make([]string, 0, 1000)
	for i := range pending {
		ids = append(ids, fmt.Sprintf("u-%06d", i))
		if len(ids) == cap(ids) {
			if err := s.MarkDirtyAs(ctx, store.Priorities()[i/1000%3], ids...); err != nil {
				b.Fatal(err)
			}
			ids = ids[:0]
		}
	}
	if err := s.MarkDirtyAs(ctx, store.PriorityUrgent, "urgent-1"); err != nil {
		b.Fatal(err)
	}
	// Each claim leases for a second from an instant an hour after the
	// previous claim's: every claim sees the whole pending set.
	start, step := time.Now(), 0
	for _, tc := range []struct {
		name string
		min  store.Priority
	}{{"any", store.PriorityLow}, {"urgent", store.PriorityUrgent}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				step++
				now := start.Add(time.Duration(step) * time.Hour)
				ds, err := s.ClaimDirtyMin(ctx, "bench", tc.min, 50, time.Second, now)
				if err != nil || len(ds) == 0 {
					b.Fatalf("ClaimDirtyMin = %d entries, %v", len(ds), err)
				}
			}
		})
	}
}
