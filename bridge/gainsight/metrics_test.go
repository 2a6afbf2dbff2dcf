package gainsight

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestMetricsPreinitialised(t *testing.T) {
	f := newFakeGainsight(t, nil, map[string][]canned{"PUT /v1/users/services/status": {{status: 200, body: okEmpty}}})
	c, reg := testClient(t, f.srv.URL, func(o *Options) { o.PerHour, o.PerDay = 100, 0 })
	tests := []struct {
		name string
		want int
	}{
		{"scim_bridge_upstream_retries_total", 9 * 4},
		{"scim_bridge_upstream_records_total", 9 * 2},
		{"scim_bridge_upstream_request_duration_seconds", 9},
		{"scim_bridge_upstream_budget_remaining", 2},
		{"scim_bridge_upstream_requests_total", 0},
	}
	for _, tt := range tests {
		if n, err := testutil.GatherAndCount(reg, tt.name); err != nil || n != tt.want {
			t.Errorf("%s: %d series (%v), want %d", tt.name, n, err, tt.want)
		}
	}
	if _, err := c.SetStatus(context.Background(), []string{"G1"}, true); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP scim_bridge_upstream_budget_remaining Calls left in the current rate budget window (hour, day); -1 when unlimited.
# TYPE scim_bridge_upstream_budget_remaining gauge
scim_bridge_upstream_budget_remaining{window="day"} -1
scim_bridge_upstream_budget_remaining{window="hour"} 99
# HELP scim_bridge_upstream_requests_total Calls sent to Gainsight, by operation and HTTP status (or network/timeout when no response arrived).
# TYPE scim_bridge_upstream_requests_total counter
scim_bridge_upstream_requests_total{code="200",operation="status"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"scim_bridge_upstream_budget_remaining", "scim_bridge_upstream_requests_total"); err != nil {
		t.Error(err)
	}
	// One registerer takes one client.
	if _, err := New(Options{BaseURL: f.srv.URL, Logger: zap.NewNop(), Registerer: reg}); err == nil {
		t.Error("second client on the same registerer accepted")
	}
}

func TestLogsHideSecretsAndEmails(t *testing.T) {
	f := newFakeGainsight(t, nil, map[string][]canned{
		"POST /v1/users/services": {{status: 400, body: `{"result":false,"errorCode":"GU_2411","errorDesc":"duplicate: a user with Email \"alice.smith@example.com\" already exists","requestId":"req-9"}`}},
	})
	core, logs := observer.New(zapcore.InfoLevel)
	c, err := New(Options{BaseURL: f.srv.URL, AccessKey: "secret-key-123", Logger: zap.New(core), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(context.Background(), []Record{{"Email": "alice.smith@example.com", "SFDCUserName": "alice.smith@example.com", "Name": "Alice"}})
	if ReasonOf(err) != ReasonDuplicate {
		t.Fatalf("err = %v, want duplicate", err)
	}
	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("%d log lines, want one per call", len(entries))
	}
	line := entries[0].Message
	for k, v := range entries[0].ContextMap() {
		line += " " + k + "=" + fmt.Sprint(v)
	}
	for _, secret := range []string{"secret-key-123", "alice.smith@example.com", "lice.smith@"} {
		if strings.Contains(line, secret) {
			t.Errorf("log line %q contains %q", line, secret)
		}
	}
	for _, field := range []string{"operation=create", "code=400", "request_id=req-9", "records=1", "duration="} {
		if !strings.Contains(line, field) {
			t.Errorf("log line %q lacks %q", line, field)
		}
	}
}
