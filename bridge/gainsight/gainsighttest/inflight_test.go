package gainsighttest

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestInFlightPerUser: writes of one user that overlap in time are seen,
// by SFDCUserName whichever way the call names the user; writes of
// different users, or one after the other, are not.
func TestInFlightPerUser(t *testing.T) {
	h := newHarness(t, seedTenant())
	h.sim.SetFaults(Faults{Latency: 100 * time.Millisecond})
	overlap := func(calls ...func()) {
		var wg sync.WaitGroup
		for _, c := range calls {
			wg.Add(1)
			go func() { defer wg.Done(); c() }()
		}
		wg.Wait()
	}
	update := func(gsid, title string) func() {
		return func() {
			h.must(http.MethodPut, "/v1/users/services", records(map[string]any{"Gsid": gsid, "Title": title}))
		}
	}
	deactivate := func(gsid string) func() {
		return func() { h.must(http.MethodPut, "/v1/users/services/status?status=false", []string{gsid}) }
	}
	// Different users at once, then one user twice in a row.
	overlap(update("G-ADA", "a"), update("G-ROOT", "b"))
	update("G-ADA", "c")()
	deactivate("G-ADA")()
	if st := h.sim.Stats(); st.MaxInFlightPerUser != 1 || st.ConcurrentWrites != 0 {
		t.Fatalf("after writes that never overlap per user: max %d, concurrent %d; want 1, 0", st.MaxInFlightPerUser, st.ConcurrentWrites)
	}
	// One user by Gsid in an update and in a status call at once.
	overlap(update("G-ADA", "d"), deactivate("G-ADA"))
	if st := h.sim.Stats(); st.MaxInFlightPerUser != 2 || st.ConcurrentWrites != 1 {
		t.Fatalf("after two overlapping writes of one user: max %d, concurrent %d; want 2, 1", st.MaxInFlightPerUser, st.ConcurrentWrites)
	}
	// A create of a user whose SFDCUserName an update in flight carries.
	h.sim.Reset()
	h.sim.SetFaults(Faults{Latency: 100 * time.Millisecond})
	overlap(update("G-ADA", "e"), func() {
		_, _ = h.do(http.MethodPost, "/v1/users/services", records(map[string]any{"SFDCUserName": "ADA@example.com", "Email": "ada2@example.com", "Name": "Ada"}))
	})
	if st := h.sim.Stats(); st.MaxInFlightPerUser != 2 {
		t.Fatalf("a create and an update of one SFDCUserName at once: max %d; want 2", st.MaxInFlightPerUser)
	}
}

// TestRefusedValues: a value the tenant's rules refuse fails that record
// of a create or update; a status change of the user still applies.
func TestRefusedValues(t *testing.T) {
	tn := seedTenant()
	tn.Refuse = map[string][]string{"Title": {"Forbidden"}}
	h := newHarness(t, tn)
	r := h.must(http.MethodPut, "/v1/users/services", records(map[string]any{"Gsid": "G-ADA", "Title": "Forbidden"}))
	if b := r.batch(t); len(b.Errors) != 1 || len(b.Success) != 0 {
		t.Fatalf("refused update: %+v", b)
	}
	r = h.must(http.MethodPost, "/v1/users/services", records(with(newUser("new@example.com"), "Title", "Forbidden")))
	if b := r.batch(t); len(b.Errors) != 1 || len(b.Success) != 0 {
		t.Fatalf("refused create: %+v", b)
	}
	h.must(http.MethodPut, "/v1/users/services/status?status=false", []string{"G-ADA"})
	if u, _ := h.sim.User("G-ADA"); u["IsActiveUser"] != false || u["Title"] != nil {
		t.Fatalf("user after a refused update and a deactivation: %v", u)
	}
	if err := (Tenant{Refuse: map[string][]string{"permissionBundles": {"x"}}}).Validate(); err == nil {
		t.Error("Validate accepts a refusal of a list field")
	}
}
