package gainsight

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const simKey = "sim-key-for-client-tests"

// simHarness is the client against the simulator over real HTTP on
// 127.0.0.1, both following one fake clock.
type simHarness struct {
	sim    *gainsighttest.Server
	clock  *fakeClock
	client Client
	reg    *prometheus.Registry
}

func newSimHarness(t *testing.T, api string, tenant gainsighttest.Tenant, mod func(*Options)) *simHarness {
	t.Helper()
	clock := newFakeClock(time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC))
	if tenant.AccessKey == "" {
		tenant.AccessKey = simKey
	}
	sim := gainsighttest.New(tenant, gainsighttest.WithClock(clock.Now))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, reg := testClient(t, srv.URL, func(o *Options) {
		o.API, o.AccessKey, o.Clock, o.DefaultRole = api, simKey, clock, "User"
		if mod != nil {
			mod(o)
		}
	})
	return &simHarness{sim: sim, clock: clock, client: c, reg: reg}
}

func seedUser(n int) map[string]any {
	return map[string]any{"Email": fmt.Sprintf("seed%d@x.com", n), "SFDCUserName": fmt.Sprintf("seed%d@x.com", n), "Name": fmt.Sprintf("Seed %d", n)}
}

func newRecord(n int) Record {
	return Record{"Email": fmt.Sprintf("u%d@x.com", n), "SFDCUserName": fmt.Sprintf("u%d@x.com", n),
		"FirstName": "U", "LastName": fmt.Sprint(n), "LicenseType": "Viewer", "permissionBundles": []string{"User"}}
}

func TestSimServicesLifecycle(t *testing.T) {
	h := newSimHarness(t, APIServices, gainsighttest.Tenant{Users: []map[string]any{seedUser(1)}}, nil)
	ctx := context.Background()

	dup := newRecord(9)
	dup["Email"], dup["SFDCUserName"] = "SEED1@x.com", "seed1@x.com"
	superAdmin := newRecord(3)
	superAdmin["IsSuperAdmin"] = true
	res, err := h.client.Create(ctx, []Record{newRecord(1), dup, newRecord(2), superAdmin})
	if err != nil {
		t.Fatal(err)
	}
	wantReasons := []string{"", ReasonDuplicate, "", ReasonValidation}
	for i, want := range wantReasons {
		if got := ReasonOf(res[i].Err); got != want {
			t.Errorf("create %d: reason %q (%v), want %q", i, got, res[i].Err, want)
		}
	}
	g1, g2 := res[0].GSID, res[2].GSID
	if g1 == "" || g2 == "" || g1 == g2 {
		t.Fatalf("GSIDs %q %q", g1, g2)
	}
	if u, ok := h.sim.User(g1); !ok || u["Email"] != "u1@x.com" {
		t.Fatalf("simulator has %v for %s", u, g1)
	}

	res, err = h.client.Update(ctx, []Record{
		{"Gsid": g1, "Title": "CTO", "Manager": g2},
		{"Gsid": g2, "Manager": g2},
		{"Gsid": "1P01NOPE", "Title": "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"", ReasonValidation, ReasonNotFound} {
		if got := ReasonOf(res[i].Err); got != want {
			t.Errorf("update %d: reason %q (%v), want %q", i, got, res[i].Err, want)
		}
	}
	if e, ok := errorsAs(res[1].Err); !ok || e.Code != CodeSelfManager {
		t.Errorf("self manager error = %v", res[1].Err)
	}
	if u, _ := h.sim.User(g1); u["Title"] != "CTO" || u["Manager"] != g2 {
		t.Errorf("after update: %v", u)
	}

	res, err = h.client.SetStatus(ctx, []string{g2, "1P01NOPE"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || ReasonOf(res[1].Err) != ReasonNotFound {
		t.Errorf("status results %v, %v", res[0].Err, res[1].Err)
	}
	if u, _ := h.sim.User(g2); u["IsActiveUser"] != false {
		t.Errorf("after deactivate: %v", u)
	}

	found, err := h.client.Find(ctx, []Condition{
		{Name: "Email", Operator: "EQ", Values: []string{"u1@x.com"}},
		{Name: "SFDCUserName", Operator: "EQ", Values: []string{"u2@x.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found[0].GSID() != g1 || found[1].GSID() != g2 {
		t.Errorf("found %v", found)
	}
	if found[1]["IsActiveUser"] != false {
		t.Errorf("found inactive user as %v", found[1])
	}
}

func TestSimFindPages(t *testing.T) {
	seeds := make([]map[string]any, 230)
	for i := range seeds {
		seeds[i] = seedUser(i)
	}
	h := newSimHarness(t, APIServices, gainsighttest.Tenant{Users: seeds}, nil)
	all, err := h.client.Find(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(seeds) {
		t.Errorf("found %d users, want %d", len(all), len(seeds))
	}
	if got := h.sim.Stats().Calls[gainsighttest.OpList]; got != 3 {
		t.Errorf("%d list calls, want 3", got)
	}
}

func TestSimAuth(t *testing.T) {
	for _, api := range []string{APIServices, APIUsersV1} {
		t.Run(api, func(t *testing.T) {
			h := newSimHarness(t, api, gainsighttest.Tenant{}, func(o *Options) { o.AccessKey = "wrong" })
			_, err := h.client.SetStatus(context.Background(), []string{"G1"}, false)
			var e *Error
			if !errors.As(err, &e) || e.Reason() != ReasonAuth || e.Code != CodeUnauthorized || e.Status != 401 {
				t.Fatalf("err = %v, want 401 GS_APIG_2401", err)
			}
		})
	}
}

func TestSimFaults(t *testing.T) {
	tests := []struct {
		name     string
		tenant   gainsighttest.Tenant
		faults   gainsighttest.Faults
		clientPH int
		// calls: number of updates of one user to make
		calls      int
		minRetries map[string]float64
		want429    int
		// max429, when set, bounds the 429s instead of want429.
		max429    int
		wantHours time.Duration // fake time that must pass
	}{
		{name: "5xx retried", faults: gainsighttest.Faults{FailNext: 2}, calls: 1,
			minRetries: map[string]float64{ReasonServerError: 2}},
		{name: "connection drops retried", faults: gainsighttest.Faults{DropRate: 0.5, Seed: 7}, calls: 6,
			minRetries: map[string]float64{ReasonNetwork: 1}},
		// Each refused call probes again after 2s, 4s, 8s, … up to the
		// window's end: about ten 429s per spent half hour, never a call
		// lost.
		{name: "429 probes until the next window", tenant: gainsighttest.Tenant{PerHour: 2}, calls: 5, max429: 24,
			minRetries: map[string]float64{ReasonRateLimited: 2}, wantHours: 90 * time.Minute},
		{name: "budget keeps under the tenant limit", tenant: gainsighttest.Tenant{PerHour: 2}, clientPH: 2, calls: 5, want429: 0,
			wantHours: 90 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.tenant.Users = []map[string]any{seedUser(1)}
			h := newSimHarness(t, APIServices, tt.tenant, func(o *Options) { o.PerHour = tt.clientPH })
			gsid := h.sim.Users()[0]["Gsid"].(string)
			h.sim.SetFaults(tt.faults)
			for i := range tt.calls {
				title := fmt.Sprintf("T%d", i)
				res, err := h.client.Update(context.Background(), []Record{{"Gsid": gsid, "Title": title}})
				if err != nil || res[0].Err != nil {
					t.Fatalf("update %d: %v / %v", i, err, res)
				}
				if u, _ := h.sim.User(gsid); u["Title"] != title {
					t.Fatalf("title = %v, want %s", u["Title"], title)
				}
			}
			st := h.sim.Stats()
			switch {
			case tt.max429 > 0 && (st.Rejected429 < 2 || st.Rejected429 > tt.max429):
				t.Errorf("429s = %d, want 2 to %d", st.Rejected429, tt.max429)
			case tt.max429 == 0 && st.Rejected429 != tt.want429:
				t.Errorf("429s = %d, want %d", st.Rejected429, tt.want429)
			}
			if tt.tenant.PerHour > 0 && tt.clientPH > 0 && st.MaxCallsPerHourWindow > tt.clientPH {
				t.Errorf("max calls in an hour = %d, budget %d", st.MaxCallsPerHourWindow, tt.clientPH)
			}
			for reason, least := range tt.minRetries {
				if got := testutil.ToFloat64(clientMetrics(t, h.reg, "scim_bridge_upstream_retries_total", OpUpdate, reason)); got < least {
					t.Errorf("retries{%s} = %v, want at least %v", reason, got, least)
				}
			}
			start := time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)
			if passed := h.clock.Now().Sub(start); passed < tt.wantHours {
				t.Errorf("%s passed, want at least %s", passed, tt.wantHours)
			}
		})
	}
}

func TestSimLostCreateResponseIsNotRepeated(t *testing.T) {
	h := newSimHarness(t, APIServices, gainsighttest.Tenant{}, nil)
	h.sim.SetFaults(gainsighttest.Faults{LoseNext: 1})
	_, err := h.client.Create(context.Background(), []Record{newRecord(1)})
	if !IsRetryable(err) || ReasonOf(err) != ReasonNetwork {
		t.Fatalf("err = %v, want a retryable network error", err)
	}
	if n := len(h.sim.FindByEmail("u1@x.com")); n != 1 {
		t.Fatalf("%d users with the email after a lost response, want 1", n)
	}
	found, err := h.client.Find(context.Background(), []Condition{{Name: "SFDCUserName", Operator: "EQ", Values: []string{"u1@x.com"}}})
	if err != nil || len(found) != 1 {
		t.Fatalf("find after lost response: %v, %v", found, err)
	}
}

func TestSimUsersV1Lifecycle(t *testing.T) {
	h := newSimHarness(t, APIUsersV1, gainsighttest.Tenant{Users: []map[string]any{seedUser(1)}}, nil)
	ctx := context.Background()
	noRole := newRecord(2)
	delete(noRole, "permissionBundles")
	badRole := newRecord(3)
	badRole["permissionBundles"] = []string{"Nope"}
	dup := newRecord(4)
	dup["Email"] = "seed1@x.com"
	res, err := h.client.Create(ctx, []Record{newRecord(1), noRole, badRole, dup})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"", "", ReasonValidation, ReasonDuplicate} {
		if got := ReasonOf(res[i].Err); got != want {
			t.Errorf("create %d: reason %q (%v), want %q", i, got, res[i].Err, want)
		}
	}
	g1, g2 := res[0].GSID, res[1].GSID
	if u, _ := h.sim.User(g2); fmt.Sprint(u["permissionBundles"]) != "[User]" {
		t.Errorf("default role not applied: %v", u)
	}
	res, err = h.client.Update(ctx, []Record{{"Gsid": g1, "Title": "CTO", "permissionBundles": []string{"Admin"}}, {"Gsid": "1P01NOPE", "Title": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].Record["Title"] != "CTO" || ReasonOf(res[1].Err) != ReasonNotFound {
		t.Errorf("update results %+v", res)
	}
	if _, err := h.client.SetStatus(ctx, []string{g1}, false); err != nil {
		t.Fatal(err)
	}
	if u, _ := h.sim.User(g1); u["IsActiveUser"] != false {
		t.Errorf("after DELETE: %v", u)
	}
	res, err = h.client.SetStatus(ctx, []string{g1}, true)
	if err != nil || res[0].Err != nil {
		t.Fatalf("reactivate: %v %v", err, res)
	}
	if u, _ := h.sim.User(g1); u["IsActiveUser"] != true {
		t.Errorf("after reactivation: %v", u)
	}
	found, err := h.client.Find(ctx, []Condition{{Name: "Email", Operator: "EQ", Values: []string{"u2@x.com", "seed1@x.com"}}})
	if err != nil || len(found) != 2 {
		t.Fatalf("find: %v %v", found, err)
	}
	found, err = h.client.Find(ctx, []Condition{{Name: "Gsid", Operator: "EQ", Values: []string{g1}}})
	if err != nil || len(found) != 1 || found[0]["Title"] != "CTO" || found[0]["IsActiveUser"] != true {
		t.Fatalf("find by gsid: %v %v", found, err)
	}
	st := h.sim.Stats()
	want := map[string]int{gainsighttest.OpV1Create: 4, gainsighttest.OpV1Update: 3, gainsighttest.OpV1Delete: 1, gainsighttest.OpV1List: 1, gainsighttest.OpV1Get: 1}
	for op, n := range want {
		if st.Calls[op] != n {
			t.Errorf("%s calls = %d, want %d", op, st.Calls[op], n)
		}
	}
}
