package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// target is the SCIM API of one bridge.
type target struct {
	client *rawClient
	path   string // the SCIM base path, without a trailing slash
	token  string
	// rss returns the bridge's resident memory in bytes (0 when unknown).
	rss func() int64
	// cpu returns the CPU time the bridge has used (0 when unknown).
	cpu func() time.Duration
	// runID keeps the userNames of one run apart from another's on the
	// same bridge.
	runID string
}

// newTarget returns the target of the SCIM API at base.
func newTarget(base, token string) (*target, error) {
	c, path, err := newRawClient(base)
	if err != nil {
		return nil, err
	}
	return &target{client: c, path: strings.TrimRight(path, "/"), token: token, runID: randomHex(4),
		rss: func() int64 { return 0 }, cpu: func() time.Duration { return 0 }}, nil
}

// errUnexpected is an answer the scenario did not expect.
var errUnexpected = errors.New("unexpected answer")

// do sends one request and returns the status and the body.
func (t *target) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	return t.client.do(ctx, method, t.path+path, t.token, body)
}

// userName is the userName of the i-th user of a kind ("seed", "new") in
// this run.
func (t *target) userName(kind string, i int64) string {
	return kind + "-" + t.runID + "-" + strconv.FormatInt(i, 10) + "@example.com"
}

// groupName is the displayName of the g-th seeded group.
func (t *target) groupName(g int) string {
	return "Load " + t.runID + " " + strconv.Itoa(g)
}

// expect sends one request and fails, naming it what, unless it is
// answered with one of the statuses want.
func (t *target) expect(ctx context.Context, method, path string, body []byte, what string, want ...int) error {
	status, resp, err := t.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	if !slices.Contains(want, status) {
		return fmt.Errorf("%w: %s: %d %.200s", errUnexpected, what, status, resp)
	}
	return nil
}

// userBody is a create as Okta sends it: the core attributes, one work
// email, an externalId and the enterprise extension.
func userBody(userName string, i int64) []byte {
	n := strconv.FormatInt(i, 10)
	b := make([]byte, 0, 640)
	b = append(b, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"`...)
	b = append(b, userName...)
	b = append(b, `","externalId":"00u`...)
	b = append(b, n...)
	b = append(b, `","name":{"givenName":"Load","familyName":"User `...)
	b = append(b, n...)
	b = append(b, `"},"displayName":"Load User `...)
	b = append(b, n...)
	b = append(b, `","emails":[{"primary":true,"value":"`...)
	b = append(b, userName...)
	b = append(b, `","type":"work"}],"title":"Engineer","locale":"en-US","active":true,`...)
	b = append(b, `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Engineering","employeeNumber":"`...)
	b = append(b, n...)
	b = append(b, `"}}`...)
	return b
}

// create creates user i of kind and returns its SCIM id when wantID.
func (t *target) create(ctx context.Context, kind string, i int64, wantID bool) (string, error) {
	name := t.userName(kind, i)
	status, body, err := t.do(ctx, http.MethodPost, "/Users", userBody(name, i))
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("%w: create %s: %d %.200s", errUnexpected, name, status, body)
	}
	if !wantID {
		return "", nil
	}
	var res struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &res); err != nil || res.ID == "" {
		return "", fmt.Errorf("%w: create %s: no id in %.200s", errUnexpected, name, body)
	}
	return res.ID, nil
}

// lookup asks for the user named name as Okta does, and checks how many
// were found.
func (t *target) lookup(ctx context.Context, name string, want int) error {
	q := "/Users?filter=" + url.QueryEscape(`userName eq "`+name+`"`) + "&startIndex=1&count=100"
	status, body, err := t.do(ctx, http.MethodGet, q, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK || !bytes.Contains(body, []byte(`"totalResults":`+strconv.Itoa(want))) {
		return fmt.Errorf("%w: look up %s: %d %.200s", errUnexpected, name, status, body)
	}
	return nil
}

// seeded is what seeding left for the scenarios: the ids of the seeded
// users, the i-th named userName("seed", i), and of the groups members are
// pushed to.
type seeded struct {
	ids    []string
	groups []string
}

// seedGroups is how many groups the group scenario pushes members to.
const seedGroups = 8

// seed creates n users through SCIM at concurrency c and returns their
// ids and how long it took.
func seed(ctx context.Context, t *target, n, c int) (*seeded, time.Duration, error) {
	s := &seeded{ids: make([]string, n)}
	var next atomic.Int64
	start := time.Now()
	errs := make(chan error, c)
	var wg sync.WaitGroup
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				id, err := t.create(ctx, "seed", i, true)
				if err != nil {
					errs <- err
					return
				}
				s.ids[i] = id
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, 0, fmt.Errorf("seed: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	took := time.Since(start)
	for g := range seedGroups {
		body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"` + t.groupName(g) + `","members":[]}`
		status, resp, err := t.do(ctx, http.MethodPost, "/Groups", []byte(body))
		if err != nil {
			return nil, 0, fmt.Errorf("seed groups: %w", err)
		}
		var res struct {
			ID string `json:"id"`
		}
		if status != http.StatusCreated || json.Unmarshal(resp, &res) != nil || res.ID == "" {
			return nil, 0, fmt.Errorf("%w: create group: %d %.200s", errUnexpected, status, resp)
		}
		s.groups = append(s.groups, res.ID)
	}
	return s, took, nil
}

// scenario is one kind of traffic.
type scenario struct {
	name string
	// unit names what one operation is ("req" or "users").
	unit string
	// c, when not 0, is the scenario's own concurrency: a latency
	// measured one request at a time.
	c int
	// op runs one operation; w is the worker's state.
	op func(ctx context.Context, w *worker) error
}

// worker is one client of a run.
type worker struct {
	t    *target
	s    *seeded
	rnd  *rand.Rand
	next *atomic.Int64 // shared counter: unique names and values
	list *atomic.Int64 // shared counter: list pages
}

// scenarios returns the traffic kinds, by name.
func scenarios() []scenario {
	return []scenario{
		{name: "create", unit: "req", op: func(ctx context.Context, w *worker) error {
			_, err := w.t.create(ctx, "new", w.next.Add(1), false)
			return err
		}},
		{name: "userName eq", unit: "req", op: func(ctx context.Context, w *worker) error {
			i := w.rnd.IntN(len(w.s.ids))
			return w.t.lookup(ctx, w.t.userName("seed", int64(i)), 1)
		}},
		{name: "okta lookup+create", unit: "users", op: func(ctx context.Context, w *worker) error {
			i := w.next.Add(1)
			if err := w.t.lookup(ctx, w.t.userName("okta", i), 0); err != nil {
				return err
			}
			_, err := w.t.create(ctx, "okta", i, false)
			return err
		}},
		{name: "patch", unit: "req", op: func(ctx context.Context, w *worker) error {
			id := w.s.ids[w.rnd.IntN(len(w.s.ids))]
			n := strconv.FormatInt(w.next.Add(1), 10)
			body := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` +
				`{"op":"Replace","path":"title","value":"Engineer ` + n + `"},` +
				`{"op":"Replace","path":"name.givenName","value":"Load ` + n + `"}]}`)
			return w.t.expect(ctx, http.MethodPatch, "/Users/"+id, body, "patch "+id, http.StatusOK, http.StatusNoContent)
		}},
		{name: "put", unit: "req", op: func(ctx context.Context, w *worker) error {
			// Okta's profile update: the whole user again, its title
			// changed.
			i := w.rnd.IntN(len(w.s.ids))
			id := w.s.ids[i]
			n := strconv.FormatInt(w.next.Add(1), 10)
			body := bytes.Replace(userBody(w.t.userName("seed", int64(i)), int64(i)),
				[]byte(`"title":"Engineer"`), []byte(`"title":"Engineer `+n+`"`), 1)
			return w.t.expect(ctx, http.MethodPut, "/Users/"+id, body, "put "+id, http.StatusOK)
		}},
		{name: "group add member", unit: "req", op: func(ctx context.Context, w *worker) error {
			g := w.s.groups[w.rnd.IntN(len(w.s.groups))]
			id := w.s.ids[w.rnd.IntN(len(w.s.ids))]
			body := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"` + id + `"}]}]}`)
			return w.t.expect(ctx, http.MethodPatch, "/Groups/"+g, body, "add "+id+" to group "+g, http.StatusOK, http.StatusNoContent)
		}},
		{name: "group unchanged", unit: "req", op: func(ctx context.Context, w *worker) error {
			// Okta's group push sends the group's name again, unchanged.
			g := w.rnd.IntN(len(w.s.groups))
			body := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"` +
				w.s.groups[g] + `","displayName":"` + w.t.groupName(g) + `"}}]}`)
			return w.t.expect(ctx, http.MethodPatch, "/Groups/"+w.s.groups[g], body, "push group "+w.s.groups[g], http.StatusOK, http.StatusNoContent)
		}},
		{name: "get by id", unit: "req", op: func(ctx context.Context, w *worker) error {
			id := w.s.ids[w.rnd.IntN(len(w.s.ids))]
			return w.t.expect(ctx, http.MethodGet, "/Users/"+id, nil, "get "+id, http.StatusOK)
		}},
		{name: "list page @90%", unit: "req", op: listDeep},
		{name: "list page @90% latency", unit: "req", c: 1, op: listDeep},
	}
}

// listDeep reads a page of 100 users from 90% of the seeded set on.
func listDeep(ctx context.Context, w *worker) error {
	n := len(w.s.ids)
	from := n * 9 / 10
	span := max((n-from)/100, 1)
	start := from + int(w.list.Add(1)%int64(span))*100 + 1
	path := "/Users?startIndex=" + strconv.Itoa(start) + "&count=100"
	status, body, err := w.t.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK || !bytes.Contains(body, []byte(`"startIndex":`+strconv.Itoa(start))) {
		return fmt.Errorf("%w: list from %d: %d %.200s", errUnexpected, start, status, body)
	}
	return nil
}

// result is what one scenario measured.
type result struct {
	scenario string
	unit     string
	c        int
	ops      int
	errors   int
	firstErr error
	elapsed  time.Duration
	p50, p99 time.Duration
	max      time.Duration
	rss      int64 // the highest resident memory sampled during the run
	// cpu is the bridge's CPU time during the measured window, self this
	// command's own.
	cpu, self time.Duration
}

// cpuPerOp is the bridge's CPU time per operation.
func (r result) cpuPerOp() time.Duration {
	if r.ops == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.ops)
}

// selfPerOp is this command's CPU time per operation.
func (r result) selfPerOp() time.Duration {
	if r.ops == 0 {
		return 0
	}
	return r.self / time.Duration(r.ops)
}

// rate is operations per second.
func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ops) / r.elapsed.Seconds()
}

// drive runs sc with c workers: warmup unmeasured, then duration measured.
// The resident memory of the bridge is sampled every 100 ms.
func drive(ctx context.Context, t *target, s *seeded, sc scenario, c int, warmup, duration time.Duration) result {
	var (
		next, list atomic.Int64
		wg         sync.WaitGroup
		mu         sync.Mutex
		lats       []time.Duration
		errCount   int
		firstErr   error
	)
	next.Store(time.Now().UnixNano() % 1e9 * 1000) // distinct from an earlier run's names
	measureFrom := time.Now().Add(warmup)
	end := measureFrom.Add(duration)
	runCtx, cancel := context.WithDeadline(ctx, end.Add(30*time.Second))
	defer cancel()
	for i := 0; i < c; i++ {
		wg.Add(1)
		go func(seedN uint64) {
			defer wg.Done()
			w := &worker{t: t, s: s, rnd: rand.New(rand.NewPCG(seedN, 7)), next: &next, list: &list}
			own := make([]time.Duration, 0, 4096)
			var errs int
			var first error
			for {
				t0 := time.Now()
				if !t0.Before(end) || runCtx.Err() != nil {
					break
				}
				err := sc.op(runCtx, w)
				d := time.Since(t0)
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				own = append(own, d)
			}
			mu.Lock()
			lats = append(lats, own...)
			errCount += errs
			if firstErr == nil {
				firstErr = first
			}
			mu.Unlock()
		}(uint64(i + 1))
	}
	var peak atomic.Int64
	var cpuFrom, cpuTo, selfFrom, selfTo time.Duration
	cpuTaken := make(chan struct{})
	go func() {
		defer close(cpuTaken)
		select {
		case <-time.After(time.Until(measureFrom)):
		case <-runCtx.Done():
			return
		}
		cpuFrom, selfFrom = t.cpu(), cpuOf(os.Getpid())
		select {
		case <-time.After(time.Until(end)):
		case <-runCtx.Done():
			return
		}
		cpuTo, selfTo = t.cpu(), cpuOf(os.Getpid())
	}()
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := t.rss(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-sampled
	<-cpuTaken
	elapsed := time.Since(measureFrom)
	if e := end.Sub(measureFrom); elapsed > e {
		// Operations that started before the end are counted; the window
		// is the measured one.
		elapsed = e
	}
	slices.Sort(lats)
	r := result{scenario: sc.name, unit: sc.unit, c: c, ops: len(lats), errors: errCount, firstErr: firstErr,
		elapsed: elapsed, rss: peak.Load()}
	if cpuFrom > 0 && cpuTo > cpuFrom {
		r.cpu = cpuTo - cpuFrom
	}
	if selfTo > selfFrom {
		r.self = selfTo - selfFrom
	}
	if n := len(lats); n > 0 {
		r.p50, r.p99, r.max = lats[n*50/100], lats[min(n*99/100, n-1)], lats[n-1]
	}
	return r
}
