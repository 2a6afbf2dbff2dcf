package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

func auditBatch(n, from int, at time.Time) []store.AuditEntry {
	es := make([]store.AuditEntry, n)
	for i := range es {
		u := fmt.Sprintf("user-%05d", (from+i)%1000)
		es[i] = store.AuditEntry{Time: at.Add(time.Duration(from+i) * time.Millisecond), UserID: u, UserName: u + "@example.com",
			Op: store.AuditUpdate, Source: store.AuditSourceSync, Actor: "replica-a", Replica: "replica-a", GSID: "GS-" + u,
			RequestID: "req", Result: store.AuditOK, Changes: []store.AuditChange{
				{Field: "LicenseType", Old: "Viewer", New: "Full"}, {Field: "Email", Masked: true}}}
	}
	return es
}

// BenchmarkAppendAudit appends one batch's entries (50 users) per
// operation: what the sync engine adds per Gainsight call.
func BenchmarkAppendAudit(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	defer s.Close()
	at := time.Now()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.AppendAudit(b.Context(), auditBatch(50, i*50, at)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*50)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkUserHistory reads one user's newest 50 entries out of 100,000
// (1,000 users): the console's user page.
func BenchmarkUserHistory(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	defer s.Close()
	at := time.Now()
	for i := 0; i < 100000; i += 500 {
		if err := s.AppendAudit(b.Context(), auditBatch(500, i, at)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		es, err := s.ListAudit(b.Context(), store.AuditQuery{UserID: fmt.Sprintf("user-%05d", i%1000), Limit: 50})
		if err != nil || len(es) != 50 {
			b.Fatalf("%d entries, %v", len(es), err)
		}
	}
}

// BenchmarkPruneAudit removes 1,000 entries by age per operation (one
// prune batch) from a trail of 100,000.
func BenchmarkPruneAudit(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	defer s.Close()
	at := time.Now()
	total := 100000
	for i := 0; i < total; i += 500 {
		if err := s.AppendAudit(b.Context(), auditBatch(500, i, at)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		n, err := s.PruneAudit(b.Context(), at.Add(time.Hour), 0, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.StopTimer()
			for i := 0; i < total; i += 500 {
				if err := s.AppendAudit(b.Context(), auditBatch(500, i, at)); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
	}
}
