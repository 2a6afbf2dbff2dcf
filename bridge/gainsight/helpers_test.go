package gainsight

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

// fakeClock jumps forward by d whenever someone waits d, and remembers the
// waits, so tests cross window boundaries and back off without sleeping.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// canned is one answer of the fake Gainsight.
type canned struct {
	status int
	body   string // JSON; "" for an empty body
	drop   bool   // close the connection without answering
	hang   bool   // answer only when the client gives up
}

// seen is one request the fake Gainsight received.
type seen struct {
	method, path string
	query        map[string][]string
	header       http.Header
	rawHeader    []string // header names as sent
	body         []byte
	at           time.Time // fake clock time
}

func (s seen) json(t *testing.T) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(s.body, &v); err != nil {
		t.Fatalf("request body %q: %v", s.body, err)
	}
	return v
}

// fakeGainsight answers "METHOD /path" from a table of canned answers,
// in order; the last answer of a route repeats.
type fakeGainsight struct {
	t      *testing.T
	clock  *fakeClock
	mu     sync.Mutex
	routes map[string][]canned
	calls  map[string]int
	reqs   []seen
	srv    *httptest.Server
}

func newFakeGainsight(t *testing.T, clock *fakeClock, routes map[string][]canned) *fakeGainsight {
	f := &fakeGainsight{t: t, clock: clock, routes: routes, calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGainsight) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	var names []string
	for k := range r.Header {
		names = append(names, k)
	}
	s := seen{method: r.Method, path: r.URL.Path, query: r.URL.Query(), header: r.Header.Clone(), rawHeader: names, body: body}
	if f.clock != nil {
		s.at = f.clock.Now()
	}
	f.reqs = append(f.reqs, s)
	answers, ok := f.routes[key]
	n := f.calls[key]
	f.calls[key]++
	f.mu.Unlock()
	if !ok || len(answers) == 0 {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"result":false,"errorDesc":"no route"}`)
		return
	}
	a := answers[min(n, len(answers)-1)]
	switch {
	case a.drop:
		hj, _ := w.(http.Hijacker)
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	case a.hang:
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (f *fakeGainsight) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// testClient builds a client on the fake with a fresh registry.
func testClient(t *testing.T, base string, mod func(*Options)) (Client, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts := Options{
		BaseURL:    base,
		AccessKey:  "secret-key-123",
		UserAgent:  "gainsight-scim-bridge/test",
		Logger:     zaptest.NewLogger(t),
		Registerer: reg,
		Timeout:    5 * time.Second,
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, reg
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}
