package gainsight

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

const updatedG1 = `{"result":true,"data":{"success":[{"Gsid":"G1"}],"errors":[]}}`

func TestBudgetWaitsForNextWindow(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 58, 0, 0, time.UTC)
	tests := []struct {
		name            string
		perHour, perDay int
		start           time.Time
		calls           int
		// wantAt are the fake times at which Gainsight saw each call.
		wantAt []time.Time
		// remaining budget gauges at the end
		wantHour, wantDay float64
	}{
		{
			name: "hour limit", perHour: 2, start: t0, calls: 5,
			wantAt:   []time.Time{t0, t0, t0.Add(2 * time.Minute), t0.Add(2 * time.Minute), t0.Add(62 * time.Minute)},
			wantHour: 1, wantDay: -1,
		},
		{
			name: "day limit", perDay: 2, start: time.Date(2026, 3, 2, 23, 0, 0, 0, time.UTC), calls: 3,
			wantAt: []time.Time{
				time.Date(2026, 3, 2, 23, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 23, 0, 0, 0, time.UTC),
				time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC),
			},
			wantHour: -1, wantDay: 1,
		},
		{
			name: "hour and day", perHour: 1, perDay: 2, start: time.Date(2026, 3, 2, 22, 30, 0, 0, time.UTC), calls: 3,
			wantAt: []time.Time{
				time.Date(2026, 3, 2, 22, 30, 0, 0, time.UTC), time.Date(2026, 3, 2, 23, 0, 0, 0, time.UTC),
				time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC),
			},
			wantHour: 0, wantDay: 1,
		},
		{
			name: "unlimited", start: t0, calls: 3, wantAt: []time.Time{t0, t0, t0},
			wantHour: -1, wantDay: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock(tt.start)
			f := newFakeGainsight(t, clock, map[string][]canned{"PUT /v1/users/services": {{status: 200, body: updatedG1}}})
			c, reg := testClient(t, f.srv.URL, func(o *Options) {
				o.Clock, o.PerHour, o.PerDay = clock, tt.perHour, tt.perDay
			})
			for i := range tt.calls {
				if _, err := c.Update(context.Background(), []Record{{"Gsid": "G1"}}); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			reqs := f.requests()
			if len(reqs) != len(tt.wantAt) {
				t.Fatalf("%d calls, want %d", len(reqs), len(tt.wantAt))
			}
			for i, r := range reqs {
				if !r.at.Equal(tt.wantAt[i]) {
					t.Errorf("call %d at %s, want %s", i, r.at.Format(time.TimeOnly), tt.wantAt[i].Format(time.TimeOnly))
				}
			}
			wantHour, wantDay := tt.wantHour, tt.wantDay
			if got := testutil.ToFloat64(clientMetrics(t, reg, "scim_bridge_upstream_budget_remaining", WindowHour)); got != wantHour {
				t.Errorf("hour budget remaining = %v, want %v", got, wantHour)
			}
			if got := testutil.ToFloat64(clientMetrics(t, reg, "scim_bridge_upstream_budget_remaining", WindowDay)); got != wantDay {
				t.Errorf("day budget remaining = %v, want %v", got, wantDay)
			}
		})
	}
}

// countingCounter counts the slots taken, per window name.
type countingCounter struct {
	Counter
	mu    sync.Mutex
	taken map[string]int
}

func (c *countingCounter) Take(ctx context.Context, w string, start time.Time, limit int) (bool, error) {
	ok, err := c.Counter.Take(ctx, w, start, limit)
	if ok {
		c.mu.Lock()
		c.taken[w]++
		c.mu.Unlock()
	}
	return ok, err
}

func TestBudgetKeepsDaySlotWhileWaitingForHour(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	f := newFakeGainsight(t, clock, map[string][]canned{"PUT /v1/users/services": {{status: 200, body: updatedG1}}})
	cc := &countingCounter{Counter: NewMemoryCounter(), taken: map[string]int{}}
	c, _ := testClient(t, f.srv.URL, func(o *Options) { o.Clock, o.PerHour, o.PerDay, o.Counter = clock, 1, 10, cc })
	for range 3 {
		if _, err := c.Update(context.Background(), []Record{{"Gsid": "G1"}}); err != nil {
			t.Fatal(err)
		}
	}
	if cc.taken[WindowDay] != 3 || cc.taken[WindowHour] != 3 {
		t.Errorf("slots taken = %v, want 3 day and 3 hour", cc.taken)
	}
}

func TestBudgetWaitEndsWithContext(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	f := newFakeGainsight(t, clock, map[string][]canned{"PUT /v1/users/services": {{status: 200, body: updatedG1}}})
	// A Clock whose After never fires: the only way out is the context.
	c, _ := testClient(t, f.srv.URL, func(o *Options) { o.Clock, o.PerHour = stuckClock{clock}, 1 })
	if _, err := c.Update(context.Background(), []Record{{"Gsid": "G1"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Update(ctx, []Record{{"Gsid": "G1"}})
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d calls sent, want 1", n)
	}
}

type stuckClock struct{ *fakeClock }

func (stuckClock) After(time.Duration) <-chan time.Time { return nil }

func TestMemoryCounterConcurrent(t *testing.T) {
	c := NewMemoryCounter()
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if took, _ := c.Take(context.Background(), WindowHour, start, 10); took {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 10 {
		t.Errorf("%d takes succeeded, want 10", ok.Load())
	}
	if took, _ := c.Take(context.Background(), WindowHour, start.Add(-time.Hour), 10); took {
		t.Error("take in a past window succeeded")
	}
	if took, _ := c.Take(context.Background(), WindowHour, start.Add(time.Hour), 10); !took {
		t.Error("take in the next window failed")
	}
}

// TestRateLimitedProbesAfterAPause: one 429 costs a short pause and one
// probe, not the rest of the hour (a proxy's stray 429 must not stop every
// call until the next clock hour).
func TestRateLimitedProbesAfterAPause(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	f := newFakeGainsight(t, clock, map[string][]canned{"PUT /v1/users/services": {
		{status: 429, body: `{"result":false,"errorCode":"GU_2400","errorDesc":"too many requests"}`},
		{status: 200, body: updatedG1},
	}})
	c, reg := testClient(t, f.srv.URL, func(o *Options) { o.Clock, o.PerHour = clock, 100 })
	if _, err := c.Update(context.Background(), []Record{{"Gsid": "G1"}}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d calls, want 2", len(reqs))
	}
	if want := t0.Add(probeBase); !reqs[1].at.Equal(want) {
		t.Errorf("probe at %s, want %s", reqs[1].at.Format(time.TimeOnly), want.Format(time.TimeOnly))
	}
	// A 429 followed by an accepted call teaches nothing.
	clock.After(time.Hour)
	if _, err := c.Update(context.Background(), []Record{{"Gsid": "G1"}}); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(clientMetrics(t, reg, "scim_bridge_upstream_budget_effective_limit", WindowHour)); got != 100 {
		t.Errorf("effective hour limit after a stray 429 = %v, want 100", got)
	}
}

// TestRateLimitedProbesGrowToTheWindowEnd: 429s in a row double the pause,
// and no pause runs past the end of the hour window.
func TestRateLimitedProbesGrowToTheWindowEnd(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 59, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	tooMany := canned{status: 429, body: `{"result":false,"errorCode":"GU_2400","errorDesc":"too many requests"}`}
	f := newFakeGainsight(t, clock, map[string][]canned{"PUT /v1/users/services": {
		tooMany, tooMany, tooMany, tooMany, tooMany, tooMany, {status: 200, body: updatedG1},
	}})
	c, _ := testClient(t, f.srv.URL, func(o *Options) { o.Clock = clock })
	if _, err := c.Update(context.Background(), []Record{{"Gsid": "G1"}}); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 64 * time.Second}
	if got := clock.Waits(); !slices.Equal(got, want) {
		t.Errorf("pauses %v, want %v (the fifth bounded by the hour's end at 11:00)", got, want)
	}
}

// TestUrgentReserve: calls that are not urgent see each window smaller by
// the reserve; urgent calls (WithUrgent) may spend it, and NextSlot says
// so for each.
func TestUrgentReserve(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 20, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	f := newFakeGainsight(t, clock, map[string][]canned{"PUT /v1/users/services": {{status: 200, body: updatedG1}}})
	c, reg := testClient(t, f.srv.URL, func(o *Options) {
		o.Clock, o.PerHour, o.ReservedPerHour, o.PerDay, o.ReservedPerDay = clock, 5, 2, 100, 10
	})
	slot := func(urgent bool) time.Time {
		t.Helper()
		at, err := c.(interface {
			NextSlot(context.Context, time.Time, bool) (time.Time, error)
		}).NextSlot(context.Background(), clock.Now(), urgent)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	update := func(ctx context.Context) {
		t.Helper()
		if _, err := c.Update(ctx, []Record{{"Gsid": "G1"}}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		update(context.Background())
	}
	next := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)
	if got := slot(false); !got.Equal(next) {
		t.Errorf("3 of 5 spent: next ordinary slot %s, want %s", got, next)
	}
	if got := slot(true); !got.Equal(t0) {
		t.Errorf("3 of 5 spent: next urgent slot %s, want now", got)
	}
	if got := testutil.ToFloat64(clientMetrics(t, reg, "scim_bridge_upstream_budget_remaining", WindowHour)); got != 2 {
		t.Errorf("hour budget remaining = %v, want 2 (the reserve)", got)
	}
	urgent := WithUrgent(context.Background())
	update(urgent)
	update(urgent)
	if got := slot(true); !got.Equal(next) {
		t.Errorf("reserve spent: next urgent slot %s, want %s", got, next)
	}
	if n := len(f.requests()); n != 5 {
		t.Fatalf("%d calls, want 5", n)
	}
	// An ordinary call waits for the next hour; so does an urgent one
	// once the reserve is spent too.
	update(context.Background())
	if at := f.requests()[5].at; !at.Equal(next) {
		t.Errorf("ordinary call after the reserve went at %s, want %s", at, next)
	}
}

// limitedGainsight accepts accept calls per clock hour from start's hour
// on; after that it answers 429 until the hour ends, as a tenant whose
// quota something else spends does.
func limitedGainsight(t *testing.T, clock *fakeClock, accept map[int]int) (*httptest.Server, func() []time.Time) {
	var mu sync.Mutex
	var at []time.Time
	seen := map[int]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := clock.Now()
		mu.Lock()
		h := now.Hour()
		n, limited := accept[h]
		ok := !limited || seen[h] < n
		if ok {
			seen[h]++
			at = append(at, now)
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"result":false,"errorCode":"GU_2400","errorDesc":"too many requests"}`)
			return
		}
		_, _ = io.WriteString(w, updatedG1)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), at...)
	}
}

// TestLearnsLowerLimit: when 429s come while the budget has room and keep
// coming until the window ends, something else spends the access key's
// quota: the budget learns the calls Gainsight accepted as the limit of
// the following windows (a gauge shows it), so it stops probing into a
// spent quota, and raises it by a tenth of the configured limit per window
// without a 429.
func TestLearnsLowerLimit(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	// Hour 10 takes 4 of our calls, hour 11 takes 4 again; later hours
	// take everything.
	srv, accepted := limitedGainsight(t, clock, map[int]int{10: 4, 11: 4})
	c, reg := testClient(t, srv.URL, func(o *Options) { o.Clock, o.PerHour = clock, 10 })
	effective := func() float64 {
		return testutil.ToFloat64(clientMetrics(t, reg, "scim_bridge_upstream_budget_effective_limit", WindowHour))
	}
	update := func() {
		t.Helper()
		if _, err := c.Update(context.Background(), []Record{{"Gsid": "G1"}}); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 { // the fifth is refused, probes until 11:00 and goes then
		update()
	}
	if got := effective(); got != 4 {
		t.Fatalf("effective hour limit after an hour of 429s = %v, want 4", got)
	}
	if got := testutil.ToFloat64(clientMetrics(t, reg, "scim_bridge_upstream_budget_limit", WindowHour)); got != 10 {
		t.Errorf("configured hour limit gauge = %v, want 10", got)
	}
	// Hour 11: three more calls fit the learned 4; the next waits for
	// 12:00 without being sent into a spent quota.
	for range 4 {
		update()
	}
	got := accepted()
	if len(got) != 9 {
		t.Fatalf("%d calls accepted, want 9", len(got))
	}
	noon := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	if !got[8].Equal(noon) {
		t.Errorf("fifth call of hour 11 at %s, want %s", got[8].Format(time.TimeOnly), noon.Format(time.TimeOnly))
	}
	// Hour 11 had no 429 (the budget kept to 4): the limit is raised by
	// a tenth of 10, and by as much again after hour 12.
	if got := effective(); got != 5 {
		t.Errorf("effective hour limit after a clean hour = %v, want 5", got)
	}
	clock.After(time.Hour)
	update()
	if got := effective(); got != 6 {
		t.Errorf("effective hour limit after two clean hours = %v, want 6", got)
	}
	// Enough clean hours restore the configured limit.
	clock.After(10 * time.Hour)
	update()
	if got := effective(); got != 10 {
		t.Errorf("effective hour limit after clean hours = %v, want 10", got)
	}
}

func TestBackoffBoundedByContext(t *testing.T) {
	const err500 = `{"result":false,"errorCode":"GU_1101","errorDesc":"unexpected processing error"}`
	tests := []struct {
		name       string
		maxBackoff time.Duration
		deadline   time.Duration
	}{
		{"deadline shorter than backoff cap", 5 * time.Minute, 20 * time.Second},
		{"low cap", 2 * time.Second, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock(time.Now())
			f := newFakeGainsight(t, clock, map[string][]canned{"PUT /v1/users/services": {{status: 500, body: err500}}})
			c, reg := testClient(t, f.srv.URL, func(o *Options) { o.Clock, o.MaxBackoff = clock, tt.maxBackoff })
			ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(tt.deadline))
			defer cancel()
			_, err := c.Update(ctx, []Record{{"Gsid": "G1"}})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want DeadlineExceeded", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason() != ReasonServerError || e.Status != 500 {
				t.Fatalf("err = %v, want the last 500 as *Error", err)
			}
			waits := clock.Waits()
			var total time.Duration
			for i, w := range waits {
				ceiling := tt.maxBackoff
				if i < 20 {
					ceiling = min(ceiling, baseBackoff<<i)
				}
				if w < 0 || w > ceiling {
					t.Errorf("backoff %d = %s, want within [0, %s]", i, w, ceiling)
				}
				total += w
			}
			if total > tt.deadline {
				t.Errorf("waited %s in total, beyond the %s deadline", total, tt.deadline)
			}
			calls := len(f.requests())
			if calls < 2 || calls != len(waits)+1 {
				t.Errorf("%d calls after %d backoffs", calls, len(waits))
			}
			if got := testutil.ToFloat64(clientMetrics(t, reg, "scim_bridge_upstream_retries_total", OpUpdate, ReasonServerError)); got != float64(len(waits)) {
				t.Errorf("retries = %v, want %d", got, len(waits))
			}
			if got := testutil.ToFloat64(clientMetrics(t, reg, "scim_bridge_upstream_requests_total", OpUpdate, "500")); got != float64(calls) {
				t.Errorf("requests{500} = %v, want %d", got, calls)
			}
		})
	}
}

// TestNextSlot: the budget tells when the next call could go without
// spending anything: now while every window has room, the next hour once
// the hour is spent, the next day once the day is, the end of a 429 pause.
func TestNextSlot(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 20, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	f := newFakeGainsight(t, clock, map[string][]canned{
		"PUT /v1/users/services": {{status: 200, body: updatedG1}},
	})
	cc := &countingCounter{Counter: NewMemoryCounter(), taken: map[string]int{}}
	c, _ := testClient(t, f.srv.URL, func(o *Options) { o.Clock, o.PerHour, o.PerDay, o.Counter = clock, 2, 3, cc })
	slot := func() time.Time {
		t.Helper()
		at, err := c.(interface {
			NextSlot(context.Context, time.Time, bool) (time.Time, error)
		}).NextSlot(context.Background(), clock.Now(), false)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	update := func() {
		t.Helper()
		if _, err := c.Update(context.Background(), []Record{{"Gsid": "G1"}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := slot(); !got.Equal(t0) {
		t.Errorf("fresh budget: next slot %s, want now", got)
	}
	update()
	update()
	if got, want := slot(), time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("hour spent: next slot %s, want %s", got, want)
	}
	if cc.taken[WindowHour] != 2 || cc.taken[WindowDay] != 2 {
		t.Errorf("NextSlot spent slots: %v", cc.taken)
	}
	update() // waits for 11:00
	if got, want := slot(), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("day spent: next slot %s, want %s", got, want)
	}
}

// TestBudgetWaitSpendsNothing: a call whose context ends while it waits
// for the next hour was never sent and took no day slot.
func TestBudgetWaitSpendsNothing(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	f := newFakeGainsight(t, clock, map[string][]canned{"PUT /v1/users/services": {{status: 200, body: updatedG1}}})
	cc := &countingCounter{Counter: NewMemoryCounter(), taken: map[string]int{}}
	c, _ := testClient(t, f.srv.URL, func(o *Options) { o.Clock, o.PerHour, o.PerDay, o.Counter = stuckClock{clock}, 1, 10, cc })
	if _, err := c.Update(context.Background(), []Record{{"Gsid": "G1"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Update(ctx, []Record{{"Gsid": "G1"}})
	if !errors.Is(err, ErrBudgetWait) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrBudgetWait and the deadline", err)
	}
	var gerr *Error
	if errors.As(err, &gerr) {
		t.Errorf("a call never sent carries a Gainsight error: %v", gerr)
	}
	if cc.taken[WindowDay] != 1 || cc.taken[WindowHour] != 1 || len(f.requests()) != 1 {
		t.Errorf("slots taken %v, %d calls; want 1 of each", cc.taken, len(f.requests()))
	}
}

// TestBudgetDeadline: under WithBudgetDeadline a call whose next slot
// comes later does not wait: it fails at once, unsent, taking nothing.
func TestBudgetDeadline(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	f := newFakeGainsight(t, clock, map[string][]canned{"PUT /v1/users/services": {{status: 200, body: updatedG1}}})
	cc := &countingCounter{Counter: NewMemoryCounter(), taken: map[string]int{}}
	c, _ := testClient(t, f.srv.URL, func(o *Options) { o.Clock, o.PerHour, o.PerDay, o.Counter = stuckClock{clock}, 1, 10, cc })
	ctx := WithBudgetDeadline(context.Background(), t0.Add(10*time.Minute))
	if _, err := c.Update(ctx, []Record{{"Gsid": "G1"}}); err != nil {
		t.Fatalf("call with a free slot: %v", err)
	}
	_, err := c.Update(ctx, []Record{{"Gsid": "G1"}})
	if !errors.Is(err, ErrBudgetWait) {
		t.Fatalf("err = %v, want ErrBudgetWait", err)
	}
	if cc.taken[WindowDay] != 1 || cc.taken[WindowHour] != 1 || len(f.requests()) != 1 {
		t.Errorf("slots taken %v, %d calls; want 1 of each", cc.taken, len(f.requests()))
	}
}
