package sqlite_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCreateUserConcurrent creates users from 32 goroutines, each
// followed by its audit entry, as SCIM creates do: what group commit
// batches. It reports creates per second and the CPU time of one.
func BenchmarkCreateUserConcurrent(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	defer s.Close()
	var n atomic.Int64
	b.SetParallelism(16)
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			name := fmt.Sprintf("user-%d@example.com", i)
			u, err := s.CreateUser(b.Context(), store.User{UserName: name, ExternalID: fmt.Sprint("00u", i), Emails: []string{name}, Active: true,
				Doc: map[string]any{"userName": name, "active": true, "emails": []any{map[string]any{"value": name, "type": "work", "primary": true}},
					"name": map[string]any{"givenName": "Load", "familyName": fmt.Sprint("User ", i)}}})
			if err != nil {
				b.Error(err)
				return
			}
			if err := s.AppendAudit(b.Context(), store.UserAudit(store.User{}, u)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkCreateBesideUnchangedGroupPushes is BenchmarkCreateUserConcurrent
// with one operation in eight a group push that changes nothing (Okta
// sends a group's name again with every push; the SCIM handler's update
// function then refuses to write), in the same batches as the creates.
// It reports creates per second.
func BenchmarkCreateBesideUnchangedGroupPushes(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	defer s.Close()
	g, err := s.CreateGroup(b.Context(), store.Group{DisplayName: "Pushed", Doc: map[string]any{"displayName": "Pushed"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	errSame := errors.New("unchanged")
	var n, creates atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if i%8 == 0 {
				_, err := s.UpdateGroup(b.Context(), g.ID, func(store.Group) (store.Group, error) { return store.Group{}, errSame }, nil)
				if !errors.Is(err, errSame) {
					b.Errorf("unchanged push: %v", err)
					return
				}
				continue
			}
			name := fmt.Sprintf("user-%d@example.com", i)
			if _, err := s.CreateUser(b.Context(), store.User{UserName: name, Emails: []string{name}, Active: true,
				Doc: map[string]any{"userName": name, "active": true}}); err != nil {
				b.Error(err)
				return
			}
			creates.Add(1)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(creates.Load())/b.Elapsed().Seconds(), "creates/s")
}
