package gainsighttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	tests := []struct {
		name       string
		header     string
		key        string
		method     string
		path       string
		wantStatus int
	}{
		{name: "lower-case header", header: "accesskey", key: testKey, method: http.MethodGet, path: "/v1/users/G-ADA", wantStatus: 200},
		{name: "documented spelling", header: "Accesskey", key: testKey, method: http.MethodGet, path: "/v1/users/G-ADA", wantStatus: 200},
		{name: "upper-case header", header: "ACCESSKEY", key: testKey, method: http.MethodPost, path: "/v1/users/services/list", wantStatus: 200},
		{name: "wrong key", header: "accesskey", key: "nope", method: http.MethodGet, path: "/v1/users/G-ADA", wantStatus: 401},
		{name: "missing key", method: http.MethodPost, path: "/v1/users/services/list", wantStatus: 401},
		{name: "admin without key", method: http.MethodGet, path: "/_sim/users", wantStatus: 401},
		{name: "admin with wrong key", header: "accesskey", key: "nope", method: http.MethodPost, path: "/_sim/reset", wantStatus: 401},
		{name: "admin with key", header: "accesskey", key: testKey, method: http.MethodGet, path: "/_sim/stats", wantStatus: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, seedTenant())
			var body any
			if tc.method == http.MethodPost {
				body = map[string]any{}
			}
			r, err := h.doKey(tc.method, tc.path, body, tc.header, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.wantStatus {
				t.Fatalf("status = %d, want %d", r.Status, tc.wantStatus)
			}
			if tc.wantStatus == 401 && (r.code() != codeUnauthorized || r.Result) {
				t.Errorf("401 answer = %+v, want %s", r, codeUnauthorized)
			}
			if tc.wantStatus == 401 && h.sim.Stats().TotalCalls != 0 {
				t.Errorf("refused call counted: %+v", h.sim.Stats())
			}
			if r.RequestID == "" {
				t.Error("no requestId")
			}
		})
	}
}

func TestDefaultAccessKey(t *testing.T) {
	tn := seedTenant()
	tn.AccessKey = ""
	h := newHarness(t, tn)
	r, err := h.doKey(http.MethodGet, "/v1/users", nil, "accesskey", DefaultAccessKey)
	if err != nil || r.Status != 200 {
		t.Fatalf("default key: %v %+v", err, r)
	}
}

func TestRateWindows(t *testing.T) {
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	type step struct {
		advance    time.Duration
		wantStatus int
	}
	tests := []struct {
		name        string
		perHour     int
		perDay      int
		hourWindow  time.Duration
		dayWindow   time.Duration
		start       time.Time
		steps       []step
		wantCreated int
		wantMax     int
	}{
		{name: "hour limit, then next clock hour", perHour: 2, start: base.Add(59 * time.Minute),
			steps:       []step{{0, 200}, {0, 200}, {0, 429}, {30 * time.Second, 429}, {30 * time.Second, 200}, {0, 200}, {0, 429}},
			wantCreated: 4, wantMax: 4},
		{name: "windows are clock-aligned, not sliding", perHour: 1, start: base.Add(59*time.Minute + 59*time.Second),
			steps:       []step{{0, 200}, {time.Second, 200}, {time.Second, 429}},
			wantCreated: 2, wantMax: 2},
		{name: "day limit spans hours", perHour: 10, perDay: 3, start: base,
			steps:       []step{{0, 200}, {time.Hour, 200}, {time.Hour, 200}, {time.Hour, 429}, {14 * time.Hour, 200}},
			wantCreated: 4, wantMax: 1},
		{name: "shrunk windows", perHour: 1, perDay: 2, hourWindow: time.Second, dayWindow: 10 * time.Second, start: base,
			steps:       []step{{0, 200}, {0, 429}, {time.Second, 200}, {time.Second, 429}, {8 * time.Second, 200}},
			wantCreated: 3, wantMax: 2},
		{name: "unlimited", start: base, steps: []step{{0, 200}, {0, 200}, {0, 200}, {0, 200}}, wantCreated: 4, wantMax: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{t: tc.start}
			tn := seedTenant()
			tn.PerHour, tn.PerDay, tn.HourWindow, tn.DayWindow = tc.perHour, tc.perDay, tc.hourWindow, tc.dayWindow
			h := newHarness(t, tn, WithClock(clock.Now))
			rejected := 0
			for i, st := range tc.steps {
				clock.Add(st.advance)
				r := h.must(http.MethodPost, "/v1/users/services", records(newUser(fmt.Sprintf("r%d", i))))
				if r.Status != st.wantStatus {
					t.Fatalf("step %d: status = %d, want %d", i, r.Status, st.wantStatus)
				}
				if r.Status == 429 {
					rejected++
					if r.code() != codeTooMany {
						t.Errorf("step %d: code = %q", i, r.code())
					}
				}
			}
			st := h.sim.Stats()
			if got := len(h.sim.Users()) - 3; got != tc.wantCreated {
				t.Errorf("created %d users, want %d (429s must not apply)", got, tc.wantCreated)
			}
			if st.Rejected429 != rejected || st.Calls[OpCreate] != len(tc.steps) || st.TotalCalls != len(tc.steps) {
				t.Errorf("stats = %+v, want %d rejected of %d", st, rejected, len(tc.steps))
			}
			if st.MaxCallsPerHourWindow != tc.wantMax {
				t.Errorf("MaxCallsPerHourWindow = %d, want %d", st.MaxCallsPerHourWindow, tc.wantMax)
			}
		})
	}
}

func TestAdminEndpoints(t *testing.T) {
	h := newHarness(t, seedTenant())
	h.must(http.MethodPost, "/v1/users/services", records(newUser("adm")))
	h.must(http.MethodPost, "/v1/users/services/list", map[string]any{})

	r := h.must(http.MethodGet, "/_sim/users", nil)
	var users []map[string]any
	if err := json.Unmarshal(r.Data, &users); err != nil || len(users) != 4 || users[3]["Email"] != "adm@example.com" || users[0]["Gsid"] != "G-ADA" {
		t.Fatalf("/_sim/users = %s (%v)", r.Data, err)
	}

	r = h.must(http.MethodGet, "/_sim/stats", nil)
	var st Stats
	if err := json.Unmarshal(r.Data, &st); err != nil {
		t.Fatal(err)
	}
	if st.Calls[OpCreate] != 1 || st.Calls[OpList] != 1 || st.Records[OpCreate] != 1 || st.TotalCalls != 2 || st.MaxCallsPerHourWindow != 2 {
		t.Errorf("/_sim/stats = %+v", st)
	}

	faultTests := []struct {
		body       string
		wantStatus int
		want       Faults
	}{
		{body: `{"latency":"200ms","errorRate":0.25,"failNext":2,"force429":true,"dropRate":0.1,"loseResponseRate":0.5,"loseNext":1,"seed":7}`, wantStatus: 200,
			want: Faults{Latency: 200 * time.Millisecond, ErrorRate: 0.25, FailNext: 2, Force429: true, DropRate: 0.1, LoseResponseRate: 0.5, LoseNext: 1, Seed: 7}},
		{body: `{"latency":"soon"}`, wantStatus: 400},
		{body: `{"errorRate":2}`, wantStatus: 400},
		{body: `{"failNext":-1}`, wantStatus: 400},
		{body: `{`, wantStatus: 400},
	}
	for _, ft := range faultTests {
		before := h.sim.Faults()
		r := h.must(http.MethodPost, "/_sim/faults", ft.body)
		if r.Status != ft.wantStatus {
			t.Fatalf("POST /_sim/faults %s: status %d, want %d", ft.body, r.Status, ft.wantStatus)
		}
		if ft.wantStatus != 200 {
			if h.sim.Faults() != before {
				t.Errorf("refused faults %s applied", ft.body)
			}
			continue
		}
		if got := h.sim.Faults(); got != ft.want {
			t.Errorf("Faults() = %+v, want %+v", got, ft.want)
		}
		r = h.must(http.MethodGet, "/_sim/faults", nil)
		var got Faults
		if err := json.Unmarshal(r.Data, &got); err != nil || got != ft.want {
			t.Errorf("GET /_sim/faults = %s (%v)", r.Data, err)
		}
	}

	if r := h.must(http.MethodPost, "/_sim/reset", nil); r.Status != 200 {
		t.Fatalf("reset: %d", r.Status)
	}
	if n := len(h.sim.Users()); n != 3 {
		t.Errorf("after reset %d users, want the 3 seeded", n)
	}
	if st := h.sim.Stats(); st.TotalCalls != 0 || st.Records[OpCreate] != 0 {
		t.Errorf("after reset stats = %+v", st)
	}
	if f := h.sim.Faults(); f != (Faults{}) {
		t.Errorf("after reset faults = %+v", f)
	}
	if r := h.must(http.MethodGet, "/_sim/nothing", nil); r.Status != 404 {
		t.Errorf("unknown admin route: %d", r.Status)
	}
	if st := h.sim.Stats(); st.TotalCalls != 0 {
		t.Errorf("admin calls counted: %+v", st)
	}
}

func TestGoAPI(t *testing.T) {
	s := New(seedTenant())
	users := s.Users()
	if len(users) != 3 || users[0]["Gsid"] != "G-ADA" || users[1]["Gsid"] != "G-ROOT" {
		t.Fatalf("Users() = %v", users)
	}
	ext := users[2]
	if g, _ := ext["Gsid"].(string); len(g) != 36 {
		t.Errorf("generated Gsid %q is not 36 characters", g)
	}
	if ext["LicenseType"] != nil {
		t.Errorf("inactive seed keeps license: %v", ext)
	}
	if users[1]["LicenseType"] != "Full" {
		t.Errorf("active super admin seeded with %v", users[1]["LicenseType"])
	}
	users[0]["Email"] = "changed@example.com"
	users[0]["permissionBundles"].([]any)[0] = "Admin"
	if u, _ := s.User("G-ADA"); u["Email"] != "ada@example.com" || fmt.Sprint(u["permissionBundles"]) != "[User]" {
		t.Errorf("Users() is not a copy: %v", u)
	}
	if _, ok := s.User("G-NONE"); ok {
		t.Error("User(unknown) found")
	}
	if got := s.FindByEmail("ROOT@example.com"); len(got) != 1 || got[0]["Gsid"] != "G-ROOT" {
		t.Errorf("FindByEmail = %v", got)
	}
	if got := s.FindByEmail("none@example.com"); len(got) != 0 {
		t.Errorf("FindByEmail(none) = %v", got)
	}
	s.SetFaults(Faults{FailNext: 1})
	s.Reset()
	if s.Faults() != (Faults{}) {
		t.Error("Reset kept faults")
	}
	if ops := s.Stats().Calls; len(ops) != len(Operations()) {
		t.Errorf("Stats.Calls not initialised per operation: %v", ops)
	}
}

// TestConcurrentCalls: parallel writers never duplicate a Gsid or lose a
// record, and the Go API reads safely meanwhile.
func TestConcurrentCalls(t *testing.T) {
	h := newHarness(t, seedTenant())
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r, err := h.do(http.MethodPost, "/v1/users/services", records(newUser(fmt.Sprintf("c%d-%d", w, i)), newUser("same")))
				if err != nil {
					errs <- err
					continue
				}
				if r.Status != 200 {
					errs <- fmt.Errorf("status %d", r.Status)
				}
				_ = h.sim.Users()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for _, u := range h.sim.Users() {
		g := u["Gsid"].(string)
		if seen[g] {
			t.Errorf("Gsid %s twice", g)
		}
		seen[g] = true
	}
	if want := 3 + writers*each + 1; len(seen) != want {
		t.Errorf("%d users, want %d (one of the %q creates wins)", len(seen), want, "same")
	}
	if st := h.sim.Stats(); st.Calls[OpCreate] != writers*each || st.Records[OpCreate] != writers*each+1 {
		t.Errorf("stats = %+v", st)
	}
}
