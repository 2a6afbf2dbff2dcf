package bridge

import (
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// TestConsoleFailuresByReason: the overview shows the latest failed or
// unknown Gainsight writes, at most failuresShown, and counts every one of
// them among the recent entries by reason; SCIM events and writes that
// succeeded are neither shown nor counted.
func TestConsoleFailuresByReason(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var recent []store.AuditEntry
	add := func(source, result, reason string) {
		at = at.Add(-time.Minute)
		recent = append(recent, store.AuditEntry{Time: at, Source: source, Result: result, Detail: reason, Op: store.AuditUpdate})
	}
	for range 12 {
		add(store.AuditSourceSync, store.AuditFailed, "validation")
	}
	add(store.AuditSourceSync, store.AuditUnknown, "server_error")
	add(store.AuditSourceSync, store.AuditOK, "")
	add(store.AuditSourceSCIM, store.AuditFailed, "validation")
	add(store.AuditSourceSync, store.AuditUnknown, "")

	shown, reasons := failures(recent)
	if len(shown) != failuresShown {
		t.Errorf("%d failures shown, want %d", len(shown), failuresShown)
	}
	want := []struct {
		reason string
		writes int
	}{{"validation", 12}, {"server_error", 1}, {store.AuditUnknown, 1}}
	if len(reasons) != len(want) {
		t.Fatalf("reasons %+v, want %v", reasons, want)
	}
	for i, w := range want {
		if reasons[i].Reason != w.reason || reasons[i].Writes != w.writes {
			t.Errorf("reason %d: %+v, want %s × %d", i, reasons[i], w.reason, w.writes)
		}
	}
	if !reasons[0].Last.Equal(recent[0].Time) {
		t.Errorf("latest validation failure at %s, want %s", reasons[0].Last, recent[0].Time)
	}
}
