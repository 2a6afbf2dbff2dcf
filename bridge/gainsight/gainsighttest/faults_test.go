package gainsighttest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	type call struct {
		method, path string
		body         any
		wantStatus   int  // 0: the connection is dropped
		wantApplied  bool // for writes: the change is in the table afterwards
	}
	create := func(n string, status int, applied bool) call {
		return call{http.MethodPost, "/v1/users/services", records(newUser(n)), status, applied}
	}
	list := func(status int) call {
		return call{http.MethodPost, "/v1/users/services/list", map[string]any{}, status, false}
	}
	tests := []struct {
		name     string
		faults   Faults
		calls    []call
		wantLeft Faults // counters after the calls
		want429  int
	}{
		{name: "fail next", faults: Faults{FailNext: 2},
			calls: []call{create("f1", 500, false), list(500), create("f3", 200, true)}},
		{name: "error rate 1", faults: Faults{ErrorRate: 1},
			calls: []call{create("e1", 500, false), call{http.MethodGet, "/v1/users", nil, 500, false}}, wantLeft: Faults{ErrorRate: 1}},
		{name: "force 429", faults: Faults{Force429: true},
			calls: []call{create("q1", 429, false), call{http.MethodDelete, "/v1/users/G-ADA", nil, 429, false}}, wantLeft: Faults{Force429: true}, want429: 2},
		{name: "drop", faults: Faults{DropRate: 1},
			calls: []call{create("d1", 0, false), list(0)}, wantLeft: Faults{DropRate: 1}},
		{name: "lose next applies the write", faults: Faults{LoseNext: 1},
			calls: []call{list(200), create("l1", 0, true), create("l2", 200, true)}},
		{name: "lose response rate", faults: Faults{LoseResponseRate: 1},
			calls:    []call{create("r1", 0, true), list(200), call{http.MethodPost, "/v1/users", map[string]any{"email": "r2@example.com", "firstName": "r", "lastName": "2", "role": "User"}, 0, true}},
			wantLeft: Faults{LoseResponseRate: 1}},
		{name: "lost response of a refused write", faults: Faults{LoseNext: 1},
			calls: []call{call{http.MethodPost, "/v1/users/services", records(with(newUser("bad"), "LicenseType", "Gold")), 0, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, seedTenant())
			h.sim.SetFaults(tc.faults)
			for i, c := range tc.calls {
				r, err := h.do(c.method, c.path, c.body)
				switch {
				case c.wantStatus == 0 && err == nil:
					t.Fatalf("call %d: answered %d, want a dropped connection", i, r.Status)
				case c.wantStatus != 0 && err != nil:
					t.Fatalf("call %d: %v", i, err)
				case c.wantStatus != 0 && r.Status != c.wantStatus:
					t.Fatalf("call %d: status %d, want %d", i, r.Status, c.wantStatus)
				case c.wantStatus == 500 && r.code() != codeUnexpected:
					t.Errorf("call %d: code %q, want %s", i, r.code(), codeUnexpected)
				}
				if c.method == http.MethodPost && c.path != "/v1/users/services/list" {
					email := ""
					if rs, ok := c.body.(map[string]any)["records"].([]map[string]any); ok {
						email = rs[0]["Email"].(string)
					} else {
						email = c.body.(map[string]any)["email"].(string)
					}
					if applied := len(h.sim.FindByEmail(email)) == 1; applied != c.wantApplied {
						t.Errorf("call %d: applied = %v, want %v", i, applied, c.wantApplied)
					}
				}
			}
			if st := h.sim.Stats(); st.TotalCalls != len(tc.calls) || st.Rejected429 != tc.want429 {
				t.Errorf("stats = %+v", st)
			}
			if got := h.sim.Faults(); got != tc.wantLeft {
				t.Errorf("Faults() after = %+v, want %+v", got, tc.wantLeft)
			}
		})
	}
}

// TestFaultSeedIsReproducible: the same seed gives the same failures.
func TestFaultSeedIsReproducible(t *testing.T) {
	h := newHarness(t, seedTenant())
	pattern := func(seed int64) string {
		h.sim.SetFaults(Faults{ErrorRate: 0.5, Seed: seed})
		var b strings.Builder
		for i := 0; i < 24; i++ {
			r := h.must(http.MethodGet, "/v1/users?pageSize=1", nil)
			b.WriteString(fmt.Sprint(r.Status / 100))
		}
		return b.String()
	}
	first, again, other := pattern(42), pattern(42), pattern(43)
	if first != again {
		t.Errorf("seed 42 gave %s then %s", first, again)
	}
	if !strings.Contains(first, "2") || !strings.Contains(first, "5") {
		t.Errorf("error rate 0.5 gave %s", first)
	}
	if first == other {
		t.Errorf("seeds 42 and 43 gave the same %s", first)
	}
}

func TestLatency(t *testing.T) {
	h := newHarness(t, seedTenant())
	const lat = 150 * time.Millisecond
	h.sim.SetFaults(Faults{Latency: lat})
	start := time.Now()
	r := h.must(http.MethodGet, "/v1/users/G-ADA", nil)
	if el := time.Since(start); r.Status != 200 || el < lat {
		t.Errorf("answered %d after %v, want 200 after at least %v", r.Status, el, lat)
	}
	start = time.Now()
	if r := h.must(http.MethodGet, "/_sim/stats", nil); r.Status != 200 || time.Since(start) >= lat {
		t.Errorf("admin endpoint delayed by latency fault")
	}
}
