package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// TestForecastSmall runs every scenario at a hundredth of its size: each
// meets its call target and the table names them all.
func TestForecastSmall(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"--scale", "0.01"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, sc := range scenarios() {
		if !strings.Contains(out.String(), sc.Name) {
			t.Errorf("the table lacks %q:\n%s", sc.Name, out.String())
		}
	}
	if !strings.Contains(out.String(), "ceil(N/50) + ceil(M/100) + 3") {
		t.Errorf("the table does not give the target:\n%s", out.String())
	}
}

// TestForecastCounts: the measured calls of a small import into a tenant
// with matching users: a listing, creates and the adopted users' updates,
// each call full.
func TestForecastCounts(t *testing.T) {
	r, err := forecast(context.Background(), scenario{Name: "t", Import: 300, Tenant: 250, Matching: 50})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"list": 3, "create": 5, "update": 1}
	for op, n := range want {
		if r.Calls[op] != n {
			t.Errorf("%s calls %d, want %d (all: %v)", op, r.Calls[op], n, r.Calls)
		}
	}
	if r.Total != 9 || r.Target != 6+3+3 {
		t.Errorf("total %d, target %d; want 9 of 12", r.Total, r.Target)
	}
}

// TestWindows: calls spread over hour windows of the budget's ordinary
// share, a new day once the day's share is spent.
func TestWindows(t *testing.T) {
	b := config.Budget{PerHour: 100, PerDay: 1000, ReservedPercent: 10}
	tests := []struct{ calls, hours, days int }{
		{1, 1, 1}, {90, 1, 1}, {91, 2, 1}, {201, 3, 1}, {900, 10, 1}, {901, 25, 2}, {1001, 26, 2}, {2700, 58, 3},
	}
	for _, tt := range tests {
		if h, d := Windows(tt.calls, b); h != tt.hours || d != tt.days {
			t.Errorf("Windows(%d) = %d hours, %d days; want %d, %d", tt.calls, h, d, tt.hours, tt.days)
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"--scale", "0"}, &out, &errs); code != 2 {
		t.Errorf("--scale 0: exit %d, want 2", code)
	}
	if code := run(context.Background(), []string{"--bogus"}, &out, &errs); code != 2 {
		t.Errorf("--bogus: exit %d, want 2", code)
	}
}
