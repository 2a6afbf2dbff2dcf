package gainsighttest

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.uber.org/zap"
)

// Operation names, as counted in Stats and as the client labels its calls.
const (
	OpCreate   = "create"
	OpUpdate   = "update"
	OpStatus   = "status"
	OpList     = "list"
	OpV1Get    = "v1_get"
	OpV1List   = "v1_list"
	OpV1Create = "v1_create"
	OpV1Update = "v1_update"
	OpV1Delete = "v1_delete"
)

// Operations returns every operation name.
func Operations() []string {
	return []string{OpCreate, OpUpdate, OpStatus, OpList, OpV1Get, OpV1List, OpV1Create, OpV1Update, OpV1Delete}
}

// isWrite reports whether op changes users (and so can lose its response).
func isWrite(op string) bool {
	switch op {
	case OpCreate, OpUpdate, OpStatus, OpV1Create, OpV1Update, OpV1Delete:
		return true
	}
	return false
}

// maxBody is the largest request body read.
const maxBody = 8 << 20

// Stats are the counts of what the simulator has served since it started or
// was last Reset.
type Stats struct {
	// Calls counts authenticated calls per operation, including those
	// answered 429 or failed by a fault.
	Calls map[string]int `json:"calls"`
	// Records counts the records each operation wrote successfully.
	Records map[string]int `json:"records"`
	// Rejected429 counts calls answered 429 (rate window full or Force429).
	Rejected429 int `json:"rejected429"`
	// MaxCallsPerHourWindow is the highest number of calls, rejected ones
	// included, seen in any one hour window.
	MaxCallsPerHourWindow int `json:"maxCallsPerHourWindow"`
	// TotalCalls is the sum of Calls.
	TotalCalls int `json:"totalCalls"`
	// MaxInFlightPerUser is the most write calls that were ever being
	// served at once for one user (from arrival to answer). Writers that
	// never push one user twice at once keep it at 1.
	MaxInFlightPerUser int `json:"maxInFlightPerUser"`
	// ConcurrentWrites counts the write calls that arrived while another
	// write of one of their users was in flight.
	ConcurrentWrites int `json:"concurrentWrites"`
}

func (s Stats) clone() Stats {
	c := s
	c.Calls = make(map[string]int, len(s.Calls))
	c.Records = make(map[string]int, len(s.Records))
	for k, v := range s.Calls {
		c.Calls[k] = v
	}
	for k, v := range s.Records {
		c.Records[k] = v
	}
	return c
}

func newStats() Stats {
	s := Stats{Calls: map[string]int{}, Records: map[string]int{}}
	for _, op := range Operations() {
		s.Calls[op] = 0
		s.Records[op] = 0
	}
	return s
}

// Option configures a Server.
type Option func(*Server)

// WithClock sets the clock the rate windows follow; default time.Now.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithLogger sets the logger that records each call; default no logging.
func WithLogger(l *zap.Logger) Option { return func(s *Server) { s.log = l } }

// user is one row of the user table.
type user struct {
	rec map[string]any // services-dialect fields
	seq int            // creation order
	// lastLicense is the license the user had when last deactivated; an
	// inactive user that was External cannot be reactivated.
	lastLicense string
}

// window counts the calls of one fixed window.
type window struct {
	start    time.Time
	accepted int
	all      int
}

// roll moves w to the window of length d that contains now.
func (w *window) roll(now time.Time, d time.Duration) {
	start := now.Truncate(d)
	if !start.Equal(w.start) {
		*w = window{start: start}
	}
}

// Server is the simulated Gainsight tenant. It is an http.Handler serving
// both API dialects and the admin endpoints; its methods give tests the same
// view. It is safe for concurrent use.
type Server struct {
	tenant Tenant
	now    func() time.Time
	log    *zap.Logger

	mu     sync.Mutex
	users  []*user
	byGsid map[string]*user
	// byKey indexes users by their folded Email ("e:…") and SFDCUserName
	// ("s:…"), so duplicate checks and look-ups do not scan the tenant.
	byKey    map[string][]*user
	nextSeq  int
	nextGsid int
	nextReq  int
	faults   Faults
	rng      *rand.Rand
	inFlight map[string]int // write calls being served, per user key
	stats    Stats
	hour     window
	day      window
}

// New returns a simulator of tenant t with t.Users loaded.
func New(t Tenant, opts ...Option) *Server {
	s := &Server{tenant: t.withDefaults(), now: time.Now, log: zap.NewNop()}
	for _, o := range opts {
		o(s)
	}
	if err := t.Validate(); err != nil {
		s.log.Warn("invalid tenant", zap.Error(err))
	}
	s.reset()
	return s
}

// reset loads the seed users, zeroes the stats and clears the faults. The
// caller holds s.mu or has the only reference.
func (s *Server) reset() {
	s.users = nil
	s.byGsid = map[string]*user{}
	s.byKey = map[string][]*user{}
	for _, seed := range s.tenant.Users {
		rec := cloneRecord(seed)
		if g, _ := rec["Gsid"].(string); g == "" {
			rec["Gsid"] = s.newGsid()
		}
		if _, ok := rec["IsActiveUser"]; !ok {
			rec["IsActiveUser"] = true
		}
		if isTrue(rec["IsSuperAdmin"]) && isTrue(rec["IsActiveUser"]) {
			rec["LicenseType"] = "Full"
		}
		lastLicense := ""
		if !isTrue(rec["IsActiveUser"]) {
			// An inactive user holds no license; the one seeded is what it
			// had when it was deactivated.
			lastLicense = str(rec, "LicenseType")
			delete(rec, "LicenseType")
		}
		s.insert(rec).lastLicense = lastLicense
	}
	s.stats = newStats()
	s.inFlight = map[string]int{}
	s.setFaults(Faults{})
	s.hour, s.day = window{}, window{}
}

func (s *Server) newGsid() string {
	s.nextGsid++
	return fmt.Sprintf("1P01SIM%029d", s.nextGsid)
}

func (s *Server) insert(rec map[string]any) *user {
	s.nextSeq++
	u := &user{rec: rec, seq: s.nextSeq}
	s.users = append(s.users, u)
	s.byGsid[rec["Gsid"].(string)] = u
	s.index(u, true)
	return u
}

// setRec replaces u's record, keeping the key index in step.
func (s *Server) setRec(u *user, rec map[string]any) {
	s.index(u, false)
	u.rec = rec
	s.index(u, true)
}

// index adds u to (or removes it from) the key index.
func (s *Server) index(u *user, add bool) {
	for _, k := range userKeys(u.rec) {
		list := s.byKey[k]
		if add {
			s.byKey[k] = append(list, u)
			continue
		}
		for i, x := range list {
			if x == u {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.byKey, k)
		} else {
			s.byKey[k] = list
		}
	}
}

// userKeys are the index keys of a record.
func userKeys(rec map[string]any) []string {
	var out []string
	if e := str(rec, "Email"); e != "" {
		out = append(out, "e:"+foldKey(e))
	}
	if n := str(rec, "SFDCUserName"); n != "" {
		out = append(out, "s:"+foldKey(n))
	}
	return out
}

// foldKey is the key under which strings.EqualFold strings are equal:
// each rune replaced by the smallest rune of its simple folding orbit.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}

func (s *Server) setFaults(f Faults) {
	s.faults = f
	s.rng = rand.New(rand.NewSource(f.Seed))
}

// Users returns copies of all users (active or not), in creation order.
func (s *Server) Users() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, len(s.users))
	for i, u := range s.users {
		out[i] = cloneRecord(u.rec)
	}
	return out
}

// User returns a copy of the user with that Gsid.
func (s *Server) User(gsid string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.byGsid[gsid]
	if !ok {
		return nil, false
	}
	return cloneRecord(u.rec), true
}

// FindByEmail returns copies of the users whose Email equals email, ignoring
// case, in creation order.
func (s *Server) FindByEmail(email string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	us := append([]*user(nil), s.byKey["e:"+foldKey(email)]...)
	sort.Slice(us, func(i, j int) bool { return us[i].seq < us[j].seq })
	var out []map[string]any
	for _, u := range us {
		out = append(out, cloneRecord(u.rec))
	}
	return out
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.clone()
}

// SetFaults replaces the injected faults and reseeds their generator with
// f.Seed.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaults(f)
}

// Faults returns the injected faults, with FailNext and LoseNext counted
// down by the faults already fired.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Reset puts the users back to the seed, zeroes the stats, clears the
// faults and the rate windows. Gsids are not reused.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

// sortedUsers returns the table in creation order; s.users is kept in it.
func (s *Server) sortedUsers() []*user {
	out := append([]*user(nil), s.users...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// verdict is what the fault and rate checks decided for one call.
type verdict int

const (
	verdictServe verdict = iota
	verdictRateLimited
	verdictFail
	verdictDrop
	verdictLose // serve, then drop the connection
)

func (v verdict) String() string {
	return [...]string{"", "rate_limited", "fail", "drop", "lose_response"}[v]
}

// admit counts one authenticated call of op and decides its fate.
func (s *Server) admit(op string) verdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Calls[op]++
	s.stats.TotalCalls++
	now := s.now()
	s.hour.roll(now, s.tenant.HourWindow)
	s.day.roll(now, s.tenant.DayWindow)
	s.hour.all++
	s.day.all++
	if s.hour.all > s.stats.MaxCallsPerHourWindow {
		s.stats.MaxCallsPerHourWindow = s.hour.all
	}
	f := &s.faults
	if f.Force429 ||
		(s.tenant.PerHour > 0 && s.hour.accepted >= s.tenant.PerHour) ||
		(s.tenant.PerDay > 0 && s.day.accepted >= s.tenant.PerDay) {
		s.stats.Rejected429++
		return verdictRateLimited
	}
	s.hour.accepted++
	s.day.accepted++
	switch {
	case f.DropRate > 0 && s.rng.Float64() < f.DropRate:
		return verdictDrop
	case f.FailNext > 0:
		f.FailNext--
		return verdictFail
	case f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate:
		return verdictFail
	}
	if isWrite(op) {
		switch {
		case f.LoseNext > 0:
			f.LoseNext--
			return verdictLose
		case f.LoseResponseRate > 0 && s.rng.Float64() < f.LoseResponseRate:
			return verdictLose
		}
	}
	return verdictServe
}

// response is an answer before it is written.
type response struct {
	status  int
	env     envelope
	records int // records written, for Stats.Records
}

// envelope is Gainsight's response body; empty strings are written as null.
type envelope struct {
	Result    bool
	ErrorCode string
	ErrorDesc string
	RequestID string
	Data      any
	Message   string
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// MarshalJSON writes every key of the envelope, null when empty.
func (e envelope) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"result":    e.Result,
		"errorCode": nullable(e.ErrorCode),
		"errorDesc": nullable(e.ErrorDesc),
		"requestId": e.RequestID,
		"data":      e.Data,
		"message":   nullable(e.Message),
	})
}

func ok(data any) response {
	return response{status: http.StatusOK, env: envelope{Result: true, Data: data}}
}

func fail(status int, code, desc string) response {
	return response{status: status, env: envelope{ErrorCode: code, ErrorDesc: desc, Message: desc}}
}

// Gainsight error codes the simulator answers.
const (
	codeUnexpected   = "GU_1101"
	codeTooMany      = "GU_2400"
	codeBulkCreate   = "GU_2401"
	codeBulkUpdate   = "GU_2402"
	codeLookup       = "GU_2403"
	codeKeyNotSupp   = "GU_2409"
	codeSelfManager  = "GU_2410"
	codeDuplicate    = "GU_2411"
	codeUnauthorized = "GS_APIG_2401"
)

// route is a resolved request: its operation and handler.
type route struct {
	op     string
	handle func(s *Server, r *http.Request, body []byte) response
}

// match resolves method and path to an API route.
func match(method, path string) (route, bool) {
	switch {
	case path == "/v1/users/services" && method == http.MethodPost:
		return route{OpCreate, (*Server).handleCreate}, true
	case path == "/v1/users/services" && method == http.MethodPut:
		return route{OpUpdate, (*Server).handleUpdate}, true
	case path == "/v1/users/services/status" && method == http.MethodPut:
		return route{OpStatus, (*Server).handleStatus}, true
	case path == "/v1/users/services/list" && method == http.MethodPost:
		return route{OpList, (*Server).handleList}, true
	case path == "/v1/users" && method == http.MethodGet:
		return route{OpV1List, (*Server).handleV1List}, true
	case path == "/v1/users" && method == http.MethodPost:
		return route{OpV1Create, (*Server).handleV1Create}, true
	}
	if id, found := strings.CutPrefix(path, "/v1/users/"); found && id != "" && !strings.Contains(id, "/") {
		switch method {
		case http.MethodGet:
			return route{OpV1Get, (*Server).handleV1Get}, true
		case http.MethodPut:
			return route{OpV1Update, (*Server).handleV1Update}, true
		case http.MethodDelete:
			return route{OpV1Delete, (*Server).handleV1Delete}, true
		}
	}
	return route{}, false
}

// ServeHTTP serves the services and users-v1 dialects and the /_sim/ admin
// endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.mu.Lock()
	s.nextReq++
	reqID := fmt.Sprintf("sim-%d", s.nextReq)
	s.mu.Unlock()

	op, verdict, resp, done := s.serve(r)
	defer done()
	resp.env.RequestID = reqID
	fields := []zap.Field{
		zap.String("requestId", reqID), zap.String("method", r.Method),
		zap.String("path", r.URL.Path), zap.String("operation", op),
		zap.Duration("duration", time.Since(start)),
	}
	if verdict != verdictServe {
		fields = append(fields, zap.String("fault", verdict.String()))
	}
	if verdict == verdictDrop || verdict == verdictLose {
		s.log.Info("call", append(fields, zap.Int("records", resp.records))...)
		dropConnection(w)
		return
	}
	s.log.Info("call", append(fields, zap.Int("status", resp.status), zap.Int("records", resp.records))...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.status)
	_ = json.NewEncoder(w).Encode(resp.env)
}

// serve authenticates, applies rate windows and faults, and runs the
// handler. done ends the call's in-flight count once its answer is out.
func (s *Server) serve(r *http.Request) (string, verdict, response, func()) {
	done := func() {}
	if r.Header.Get("accesskey") != s.tenant.AccessKey {
		return "", verdictServe, fail(http.StatusUnauthorized, codeUnauthorized, "unauthorized: missing or invalid access key"), done
	}
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		return "admin", verdictServe, s.serveAdmin(r), done
	}
	rt, found := match(r.Method, r.URL.Path)
	if !found {
		return "", verdictServe, fail(http.StatusNotFound, "", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)), done
	}
	body, err := readAll(r)
	if err != nil {
		return rt.op, verdictServe, fail(http.StatusBadRequest, "", err.Error()), done
	}
	if isWrite(rt.op) {
		s.mu.Lock()
		keys := s.writeTargets(rt.op, r, body)
		s.mu.Unlock()
		done = s.enter(keys)
	}
	if lat := s.Faults().Latency; lat > 0 {
		t := time.NewTimer(lat)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	v := s.admit(rt.op)
	switch v {
	case verdictRateLimited:
		return rt.op, v, fail(http.StatusTooManyRequests, codeTooMany, "too many requests"), done
	case verdictFail:
		return rt.op, v, fail(http.StatusInternalServerError, codeUnexpected, "unexpected processing error"), done
	case verdictDrop:
		return rt.op, v, response{}, done
	}
	s.mu.Lock()
	resp := rt.handle(s, r, body)
	s.stats.Records[rt.op] += resp.records
	s.mu.Unlock()
	return rt.op, v, resp, done
}

// readAll reads the request body, up to maxBody bytes.
func readAll(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
