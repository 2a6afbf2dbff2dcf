package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres"
)

// TestReplicasClaimByPriority: three replicas on one database, some of
// their workers taking only urgent work (as an engine does when only the
// budget's urgent share is left), claim a dirty set of every priority. FOR
// UPDATE SKIP LOCKED keeps the claims disjoint, every claim comes highest
// priority first, and every urgent entry is claimed before any low one
// leaves the queue.
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
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for r, s := range replicas {
		for w := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				min := store.PriorityLow
				if w == 0 {
					min = store.PriorityUrgent
				}
				for {
					ds, err := s.ClaimDirtyMin(ctx, fmt.Sprintf("r%d-w%d", r, w), min, 7, time.Hour, now)
					if err != nil {
						t.Errorf("ClaimDirtyMin: %v", err)
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					for i, d := range ds {
						seen[d.UserID]++
						if d.Priority < min || i > 0 && d.Priority > ds[i-1].Priority {
							t.Errorf("claim of r%d-w%d out of order: %+v", r, w, ds)
						}
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(seen) != users {
		t.Fatalf("claimed %d users; want %d", len(seen), users)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s claimed %d times", id, n)
		}
	}
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
