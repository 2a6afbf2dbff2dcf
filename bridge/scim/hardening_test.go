package scim

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// withLimits sets the handler's limits; zero fields keep their defaults.
func withLimits(l config.SCIMLimits) fixtureOption {
	return func(o *Options) { o.Limits = l }
}

// wantRefused checks a refusal's status, scimType and that its detail
// names what it should.
func wantRefused(t *testing.T, r response, status int, scimType, detail string) {
	t.Helper()
	if r.status != status || at(r.body, "scimType") != nilIfEmpty(scimType) {
		t.Fatalf("status %d scimType %v, want %d %q: %.300s", r.status, at(r.body, "scimType"), status, scimType, r.raw)
	}
	if d, _ := r.body["detail"].(string); !strings.Contains(d, detail) {
		t.Errorf("detail %q does not mention %q", d, detail)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func emailList(n int) string {
	els := make([]string, n)
	for i := range els {
		els[i] = fmt.Sprintf(`{"value":"e%d@example.com","type":"other%d"}`, i, i)
	}
	return "[" + strings.Join(els, ",") + "]"
}

// TestValuesPerAttributeLimit: a user write that would store an attribute
// with more values than scim.limits.maxValuesPerAttribute is 400
// invalidValue naming it, whether it comes as POST, PUT or PATCH, and
// changes nothing; group members are not counted.
func TestValuesPerAttributeLimit(t *testing.T) {
	f := newFixture(t, nil) // default limit: 100
	uid := f.createUser("kept@example.com", `,"emails":`+emailList(100))
	wantRefused(t, f.do("POST", "/scim/v2/Users", `{"userName":"many@example.com","emails":`+emailList(101)+`}`),
		400, "invalidValue", "emails has 101 values")
	// Values are counted as sent, repeated ones too, before the body is
	// parsed a second time; and as they would be stored.
	wantRefused(t, f.do("POST", "/scim/v2/Users", `{"userName":"roles@example.com","roles":[`+strings.Repeat(`{"value":"r"},`, 100)+`{"value":"s"}]}`),
		400, "invalidValue", "roles has 101 values")
	f.mustDo(201, "POST", "/scim/v2/Users", `{"userName":"roles@example.com","roles":[`+strings.Repeat(`{"value":"r"},`, 99)+`{"value":"s"}]}`)
	wantRefused(t, f.do("POST", "/scim/v2/Users", `{"userName":"ext@example.com","urn:ietf:params:scim:schemas:extension:gainsight:2.0:User":{"Region__gc":[`+strings.Repeat(`"EU",`, 100)+`"US"]}}`),
		400, "invalidValue", "urn:ietf:params:scim:schemas:extension:gainsight:2.0:User:Region__gc has 101 values")
	wantRefused(t, f.do("PATCH", "/scim/v2/Users/"+uid, `{`+patchSchema+`,"Operations":[{"op":"replace","value":{"emails":`+emailList(101)+`}}]}`),
		400, "invalidValue", "emails has 101 values")
	roles := make([]string, 101)
	for i := range roles {
		roles[i] = fmt.Sprintf(`{"value":"r%d"}`, i)
	}
	wantRefused(t, f.do("PUT", "/scim/v2/Users/"+uid, `{"userName":"kept@example.com","roles":[`+strings.Join(roles, ",")+`]}`),
		400, "invalidValue", "roles has 101 values")
	wantRefused(t, f.do("PATCH", "/scim/v2/Users/"+uid, `{`+patchSchema+`,"Operations":[{"op":"add","path":"emails","value":[{"value":"one.more@example.com"}]}]}`),
		400, "invalidValue", "scim.limits.maxValuesPerAttribute")
	if u, err := f.store.GetUser(t.Context(), uid); err != nil || u.Version != 1 {
		t.Errorf("refused writes changed the user: version %d, %v", u.Version, err)
	}
	if r := f.mustDo(200, "GET", "/scim/v2/Users?count=0", ""); at(r.body, "totalResults") != jsonNum(2) { // kept and roles
		t.Errorf("refused creates stored users: %s", r.raw)
	}

	small := newFixture(t, nil, withLimits(config.SCIMLimits{MaxValuesPerAttribute: 3}))
	var members []string
	for i := range 10 {
		members = append(members, small.createUser(fmt.Sprintf("m%d@example.com", i), ""))
	}
	gid := small.createGroup("Big", members...)
	if g := small.mustDo(200, "GET", "/scim/v2/Groups/"+gid, ""); len(g.body["members"].([]any)) != 10 {
		t.Errorf("group members were counted against the limit: %s", g.raw)
	}
	wantRefused(t, small.do("POST", "/scim/v2/Users", `{"userName":"x@example.com",`+
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d"},"phoneNumbers":[{"value":"1"},{"value":"2"},{"value":"3"},{"value":"4"}]}`),
		400, "invalidValue", "phoneNumbers has 4 values")
}

// TestDocumentSizeLimit: a user or group that would be stored larger than
// scim.limits.maxDocumentBytes as JSON is 413 and changes nothing. Sizes
// are those of the stored JSON, escapes included.
func TestDocumentSizeLimit(t *testing.T) {
	f := newFixture(t, nil, withLimits(config.SCIMLimits{MaxDocumentBytes: 2048}))
	uid := f.createUser("kept@example.com", `,"title":"`+strings.Repeat("t", 1500)+`"`)
	wantRefused(t, f.do("POST", "/scim/v2/Users", `{"userName":"big@example.com","title":"`+strings.Repeat("t", 2100)+`"}`),
		413, "", "scim.limits.maxDocumentBytes")
	// 500 characters that JSON writes in six bytes each: 3,000 bytes stored.
	wantRefused(t, f.do("POST", "/scim/v2/Users", `{"userName":"esc@example.com","title":"`+strings.Repeat("<", 500)+`"}`),
		413, "", "user is")
	wantRefused(t, f.do("PATCH", "/scim/v2/Users/"+uid, `{`+patchSchema+`,"Operations":[{"op":"add","path":"nickName","value":"`+strings.Repeat("n", 600)+`"}]}`),
		413, "", "at most 2048")
	if u, err := f.store.GetUser(t.Context(), uid); err != nil || u.Version != 1 {
		t.Errorf("refused PATCH changed the user: %+v %v", u.Version, err)
	}
	f.mustDo(200, "PATCH", "/scim/v2/Users/"+uid, `{`+patchSchema+`,"Operations":[{"op":"add","path":"nickName","value":"short"}]}`)

	g := newFixture(t, nil, withLimits(config.SCIMLimits{MaxDocumentBytes: 64}))
	wantRefused(t, g.do("POST", "/scim/v2/Groups", `{"displayName":"`+strings.Repeat("g", 100)+`"}`), 413, "", "group is")
	gid := g.createGroup("Small")
	wantRefused(t, g.do("PATCH", "/scim/v2/Groups/"+gid, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"displayName","value":"`+strings.Repeat("g", 100)+`"}]}`),
		413, "", "group is")
}

// TestMeasureIsTheStoredSize: measure counts exactly the bytes
// encoding/json writes, for every kind of JSON value and every string
// escape, so the size limit is the size the store keeps.
func TestMeasureIsTheStoredSize(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	runes := []string{"a", "é", "€", "𝄞", "\"", "\\", "\n", "\t", "\b", "\f", "\r", "\x01", "\x1f", "<", ">", "&",
		"\u2028", "\u2029", "\xff", "\xc3", " ", "\x7f"}
	str := func() string {
		var b strings.Builder
		for range rng.Intn(12) {
			b.WriteString(runes[rng.Intn(len(runes))])
		}
		return b.String()
	}
	var value func(depth int) any
	value = func(depth int) any {
		switch k := rng.Intn(8); {
		case depth > 3 || k == 0:
			return str()
		case k == 1:
			return json.Number(fmt.Sprint(rng.Intn(100000) - 500))
		case k == 2:
			return rng.Intn(2) == 0
		case k == 3:
			return nil
		case k == 4:
			return float64(rng.Intn(1000)) / 8
		case k == 5 || k == 6:
			m := map[string]any{}
			for range rng.Intn(4) {
				m[str()] = value(depth + 1)
			}
			return m
		default:
			l := make([]any, rng.Intn(4))
			for i := range l {
				l[i] = value(depth + 1)
			}
			return l
		}
	}
	for i := range 2000 {
		v := value(0)
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _ := measure(v, "", 1<<30); got != len(raw) {
			t.Fatalf("case %d: measure = %d, json.Marshal wrote %d bytes: %s", i, got, len(raw), raw)
		}
	}
	_, over, n := measure(map[string]any{"a": []any{1, 2}, "urn:x:User": map[string]any{"b": []any{1, 2, 3}}}, "", 2)
	if over != "urn:x:User:b" || n != 3 {
		t.Errorf("over = %q (%d), want urn:x:User:b (3)", over, n)
	}
}

// TestPatchOperationsLimit: a PATCH of more operations than
// scim.limits.maxPatchOperations is 400 tooMany and changes nothing; the
// limit itself is accepted.
func TestPatchOperationsLimit(t *testing.T) {
	f := newFixture(t, nil, withLimits(config.SCIMLimits{MaxPatchOperations: 50}))
	uid := f.createUser("kept@example.com", "")
	ops := func(n int) string {
		o := make([]string, n)
		for i := range o {
			o[i] = fmt.Sprintf(`{"op":"replace","path":"title","value":"t%d"}`, i)
		}
		return `{` + patchSchema + `,"Operations":[` + strings.Join(o, ",") + `]}`
	}
	wantRefused(t, f.do("PATCH", "/scim/v2/Users/"+uid, ops(51)), 400, "tooMany", "51 operations")
	if u, _ := f.store.GetUser(t.Context(), uid); u.Version != 1 {
		t.Errorf("refused PATCH changed the user (version %d)", u.Version)
	}
	if r := f.mustDo(200, "PATCH", "/scim/v2/Users/"+uid, ops(50)); r.body["title"] != "t49" {
		t.Errorf("title %v after 50 operations", r.body["title"])
	}
	gid := f.createGroup("G")
	wantRefused(t, f.do("PATCH", "/scim/v2/Groups/"+gid, ops(51)), 400, "tooMany", "scim.limits.maxPatchOperations")

	// The default admits a thousand member removals, one operation each,
	// as Okta and Entra send them.
	d := newFixture(t, nil)
	if d.do("PATCH", "/scim/v2/Groups/"+d.createGroup("G"), ops(1001)).status != 400 {
		t.Error("1,001 operations accepted by default")
	}
}

// TestFilterLimits: a filter longer than scim.limits.maxFilterLength or
// nested deeper than scim.limits.maxFilterDepth is 400 invalidFilter, on
// every list endpoint and POST …/.search; parentheses inside strings do not
// count.
func TestFilterLimits(t *testing.T) {
	f := newFixture(t, nil, withLimits(config.SCIMLimits{MaxFilterLength: 200, MaxFilterDepth: 3}))
	f.createUser("a@example.com", "")
	nested := func(d int, attr string) string {
		return strings.Repeat("(", d) + attr + ` eq "a@example.com"` + strings.Repeat(")", d)
	}
	long := `userName eq "` + strings.Repeat("x", 200) + `"`
	for ep, attr := range map[string]string{"/scim/v2/Users": "userName", "/scim/v2/Groups": "displayName", "/scim/v2/": "userName"} {
		wantRefused(t, f.do("GET", ep+"?filter="+urlq(long), ""), 400, "invalidFilter", "scim.limits.maxFilterLength")
		wantRefused(t, f.do("GET", ep+"?filter="+urlq(nested(4, attr)), ""), 400, "invalidFilter", "scim.limits.maxFilterDepth")
		f.mustDo(200, "GET", ep+"?filter="+urlq(nested(3, attr)), "")
	}
	body, _ := json.Marshal(map[string]any{"filter": nested(4, "userName")})
	wantRefused(t, f.do("POST", "/scim/v2/Users/.search", string(body)), 400, "invalidFilter", "4 deep")
	body, _ = json.Marshal(map[string]any{"filter": long})
	wantRefused(t, f.do("POST", "/scim/v2/.search", string(body)), 400, "invalidFilter", "at most 200")
	wantRefused(t, f.do("GET", "/scim/v2/Users?filter="+urlq(`emails[value eq "x" and (type eq "y" or (type eq "z" or (type eq "w")))]`), ""),
		400, "invalidFilter", "4 deep")
	r := f.mustDo(200, "GET", "/scim/v2/Users?filter="+urlq(`userName eq "((((((a)]]]]" or userName eq "a@example.com"`), "")
	if at(r.body, "totalResults") != jsonNum(1) {
		t.Errorf("parentheses inside a string: %s", r.raw)
	}
	if d := filterShape(`a eq "\"((" and (b eq "[\\" or c[d eq ")"])`); d != 2 {
		t.Errorf("filterShape = %d, want 2", d)
	}
}

// findSpy records the pages the SCIM front end asks the store for.
type findSpy struct {
	Store
	mu         sync.Mutex
	userFinds  []store.UserFilter
	groupFinds []store.GroupFilter
	syncReads  int
	groupReads int
}

func (s *findSpy) FindUsers(ctx context.Context, f store.UserFilter) ([]store.User, int, error) {
	s.mu.Lock()
	s.userFinds = append(s.userFinds, f)
	s.mu.Unlock()
	return s.Store.FindUsers(ctx, f)
}

func (s *findSpy) FindGroups(ctx context.Context, f store.GroupFilter, withMembers bool) ([]store.Group, int, error) {
	s.mu.Lock()
	s.groupFinds = append(s.groupFinds, f)
	s.mu.Unlock()
	return s.Store.FindGroups(ctx, f, withMembers)
}

func (s *findSpy) SyncOfUsers(ctx context.Context, ids []string) (map[string]store.SyncInfo, error) {
	s.mu.Lock()
	s.syncReads++
	s.mu.Unlock()
	return s.Store.SyncOfUsers(ctx, ids)
}

func (s *findSpy) GroupsOfUsers(ctx context.Context, ids []string) (map[string][]store.GroupRef, error) {
	s.mu.Lock()
	s.groupReads++
	s.mu.Unlock()
	return s.Store.GroupsOfUsers(ctx, ids)
}

func (s *findSpy) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userFinds, s.groupFinds, s.syncReads, s.groupReads = nil, nil, 0, 0
}

// TestFiltersTheStoreAnswers: filters on active, a user's groups, the
// bridge extension's syncState and gsid, and a group's members are store
// queries that page in the store, never a read of every user; their
// results are those of the filter.
func TestFiltersTheStoreAnswers(t *testing.T) {
	base := newFixture(t, nil)
	spy := &findSpy{Store: base.sqlite}
	f := newFixture(t, spy)
	var ids []string
	for i := range 12 {
		active := i%3 != 0
		ids = append(ids, f.createUser(fmt.Sprintf("u%02d@example.com", i), fmt.Sprintf(`,"active":%v,"title":"T%d"`, active, i%2)))
	}
	sales := f.createGroup("Sales", ids[0], ids[1], ids[2], ids[4])
	f.createGroup("Other", ids[2], ids[5])
	for i, st := range map[int]string{1: store.StateSynced, 2: store.StateFailed, 4: store.StateSynced} {
		info, err := base.sqlite.GetSync(t.Context(), ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := base.sqlite.UpdateSync(t.Context(), info.LinkID, func(l store.SyncInfo) (store.SyncInfo, error) {
			l.State, l.GSID = st, fmt.Sprintf("GS-%d", i)
			return l, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	ext := URNBridge + ":"
	cases := []struct {
		filter string
		want   []int
	}{
		{`active eq true`, []int{1, 2, 4, 5, 7, 8, 10, 11}},
		{`active eq false`, []int{0, 3, 6, 9}},
		{`groups.value eq "` + sales + `"`, []int{0, 1, 2, 4}},
		{`groups eq "` + sales + `"`, []int{0, 1, 2, 4}},
		{`groups[value eq "` + sales + `"]`, []int{0, 1, 2, 4}},
		{`groups.value eq "` + strings.ToUpper(sales) + `"`, nil},
		{`groups.display eq "SALES"`, []int{0, 1, 2, 4}},
		{`groups[display eq "other"] and active eq true`, []int{2, 5}},
		{ext + `syncState eq "synced"`, []int{1, 4}},
		{ext + `syncState eq "FAILED"`, []int{2}},
		{ext + `syncState eq "pending"`, []int{0, 3, 5, 6, 7, 8, 9, 10, 11}},
		{`active eq true and groups.value eq "` + sales + `"`, []int{1, 2, 4}},
		{ext + `syncState eq "bogus"`, nil},
		{ext + `gsid eq "GS-4"`, []int{4}},
		{ext + `gsid eq "gs-4"`, nil},
		{`userName eq "U04@example.com" and groups.display eq "sales"`, []int{4}},
		{`active eq true and active eq false`, nil},
	}
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			spy.reset()
			r := f.mustDo(200, "GET", "/scim/v2/Users?count=3&filter="+urlq(c.filter), "")
			if at(r.body, "totalResults") != jsonNum(len(c.want)) {
				t.Errorf("totalResults %v, want %d", at(r.body, "totalResults"), len(c.want))
			}
			res, _ := r.body["Resources"].([]any)
			for i, want := range c.want[:min(3, len(c.want))] {
				if i >= len(res) || at(res[i], "id") != ids[want] {
					t.Errorf("resource %d is %v, want user %d", i, at(res, fmt.Sprint(i), "userName"), want)
				}
			}
			if len(spy.userFinds) != 1 || spy.userFinds[0].Limit != 3 {
				t.Errorf("store finds %+v, want one page of 3", spy.userFinds)
			}
			if spy.syncReads > 1 || spy.groupReads > 1 {
				t.Errorf("%d sync reads and %d group reads, want at most one of each per page", spy.syncReads, spy.groupReads)
			}
		})
	}
	spy.reset()
	r := f.mustDo(200, "GET", "/scim/v2/Groups?excludedAttributes=members&filter="+urlq(`members[value eq "`+ids[5]+`"]`), "")
	if at(r.body, "totalResults") != jsonNum(1) || at(r.body, "Resources", "0", "displayName") != "Other" || len(spy.groupFinds) != 1 {
		t.Errorf("groups of a member: %s (finds %+v)", r.raw, spy.groupFinds)
	}
}

// TestFilterCandidates: a filter the store cannot answer reads and tests
// users a chunk at a time (never all at once), after narrowing by what the
// store can answer, and is 400 tooMany when more than
// scim.limits.maxFilterCandidates users would be tested.
func TestFilterCandidates(t *testing.T) {
	base := newFixture(t, nil)
	spy := &findSpy{Store: base.sqlite}
	f := newFixture(t, spy, withLimits(config.SCIMLimits{MaxFilterCandidates: 250}))
	for i := range 300 {
		u := store.User{UserName: fmt.Sprintf("u%03d@example.com", i), Active: i < 240,
			Doc: map[string]any{"userName": fmt.Sprintf("u%03d@example.com", i), "title": fmt.Sprintf("T%d", i%7), "active": i < 240}}
		if _, err := base.sqlite.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	wantRefused(t, f.do("GET", "/scim/v2/Users?filter="+urlq(`title eq "T3"`), ""), 400, "tooMany", "300 users")
	wantRefused(t, f.do("GET", "/scim/v2/Users?filter="+urlq(`title eq "T3" or active eq true`), ""), 400, "tooMany", "scim.limits.maxFilterCandidates")

	spy.reset()
	r := f.mustDo(200, "GET", "/scim/v2/Users?startIndex=5&count=10&filter="+urlq(`active eq true and title eq "T3"`), "")
	// Users 3, 10, …, 234 among the 240 active ones: 34 matches.
	if at(r.body, "totalResults") != jsonNum(34) || at(r.body, "itemsPerPage") != jsonNum(10) ||
		at(r.body, "Resources", "0", "userName") != "u031@example.com" {
		t.Errorf("page: total %v, %v items, first %v", at(r.body, "totalResults"), at(r.body, "itemsPerPage"), at(r.body, "Resources", "0", "userName"))
	}
	for _, fnd := range spy.userFinds {
		if fnd.Active == nil || !*fnd.Active || fnd.Limit <= 0 || fnd.Limit > candidateChunk {
			t.Errorf("store find %+v: want active users, a chunk at a time", fnd)
		}
	}
	if len(spy.userFinds) != 3 {
		t.Errorf("%d store finds for 240 candidates, want 3 chunks", len(spy.userFinds))
	}
	// An exact filter pages in the store, whatever the number of matches.
	f.mustDo(200, "GET", "/scim/v2/Users?filter="+urlq(`active eq true`), "")
}

// TestUnauthenticatedBodyIsNotRead: a request without a valid token is
// answered 401 at once and its connection closed, without the server
// reading (or waiting for) the body it announced, so a client trickling a
// body costs no more than its headers.
func TestUnauthenticatedBodyIsNotRead(t *testing.T) {
	f := newFixture(t, nil)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	for _, c := range []struct{ name, head string }{
		{"announced length", "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Length: 100000\r\n\r\n"},
		{"chunked", "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n"},
		{"outside the API", "PUT /elsewhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write([]byte(c.head + "abc")); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer while the body is incomplete: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 && resp.StatusCode != 404 || !resp.Close {
				t.Errorf("status %d, close %v; want 401 or 404 and the connection closed", resp.StatusCode, resp.Close)
			}
			if _, err := br.ReadByte(); err == nil || strings.Contains(err.Error(), "timeout") {
				t.Errorf("connection still open after the answer: %v", err)
			}
		})
	}
	// A body that arrives in full is answered 401 too, not a reset.
	for _, n := range []int{10, 100 << 10, 2 << 20} {
		req, _ := http.NewRequest("POST", srv.URL+"/scim/v2/Users", strings.NewReader(strings.Repeat("x", n)))
		req.Header.Set("Authorization", "Bearer wrong")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%d-byte body: %v", n, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%d-byte body: status %d", n, resp.StatusCode)
		}
	}
}

// TestMemberIDsCompareExactly: group member ids and a user's group ids are
// resource ids; a PATCH path or filter naming one in another case names
// nothing.
func TestMemberIDsCompareExactly(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.NewID = func() string { return fmt.Sprintf("Id-%d", rand.Int63()) } })
	a := f.createUser("a@example.com", "")
	gid := f.createGroup("G", a)
	f.mustDo(200, "PATCH", "/scim/v2/Groups/"+gid, `{`+patchSchema+`,"Operations":[{"op":"remove","path":"members[value eq \"`+strings.ToLower(a)+`\"]"}]}`)
	if g := f.mustDo(200, "GET", "/scim/v2/Groups/"+gid, ""); len(at(g.body, "members").([]any)) != 1 {
		t.Errorf("a member was removed by an id in another case: %s", g.raw)
	}
	if r := f.mustDo(200, "GET", "/scim/v2/Groups?filter="+urlq(`members.value eq "`+strings.ToUpper(a)+`"`), ""); at(r.body, "totalResults") != jsonNum(0) {
		t.Errorf("members.value matched another case: %s", r.raw)
	}
	f.mustDo(200, "PATCH", "/scim/v2/Groups/"+gid, `{`+patchSchema+`,"Operations":[{"op":"remove","path":"members[value eq \"`+a+`\"]"}]}`)
	if g := f.mustDo(200, "GET", "/scim/v2/Groups/"+gid, ""); g.body["members"] != nil {
		t.Errorf("member not removed by its id: %s", g.raw)
	}
}

// TestItemsPerPageIgnoresResourceText: the page size is set in the
// encoded page without being fooled by resources holding the same text.
func TestItemsPerPageIgnoresResourceText(t *testing.T) {
	f := newFixture(t, nil)
	f.createUser("a@example.com", `,"title":"\"itemsPerPage\":7"`)
	f.createUser("b@example.com", `,"nickName":"itemsPerPage"`)
	r := f.mustDo(200, "GET", "/scim/v2/Users?count=1", "")
	if at(r.body, "itemsPerPage") != jsonNum(1) || at(r.body, "Resources", "0", "title") != `"itemsPerPage":7` {
		t.Errorf("page: %s", r.raw)
	}
	body := `{"Resources":[{"x":"\"itemsPerPage\":3"}],"itemsPerPage":100,"schemas":[]}`
	if j, k, ok := itemsPerPageAt([]byte(body)); !ok || body[j:k] != "100" {
		t.Errorf("itemsPerPageAt = %d, %d, %v", j, k, ok)
	}
}

// TestLargePagesShareABudget: a page under smallPage stored bytes never
// waits; large pages share pageBudget, a page larger than the budget takes
// it whole, and one request building two pages (the server root lists
// users, then groups) never waits for itself.
func TestLargePagesShareABudget(t *testing.T) {
	h := &handler{pages: semaphore.NewWeighted(pageBudget)}
	request := func(ctx context.Context) (*http.Request, *pageHold) {
		hold := &pageHold{}
		return httptest.NewRequest("GET", "/", nil).WithContext(context.WithValue(ctx, pageHoldKey{}, hold)), hold
	}
	a, holdA := request(t.Context())
	if err := h.holdPage(a, 3*pageBudget/2); err != nil || holdA.held != pageBudget {
		t.Fatalf("a page over the budget holds %d (%v), want the whole budget", holdA.held, err)
	}
	if err := h.holdPage(a, smallPage); err != nil || holdA.held != pageBudget {
		t.Fatalf("a second page of the same request: held %d (%v)", holdA.held, err)
	}
	small, holdSmall := request(t.Context())
	if err := h.holdPage(small, smallPage-1); err != nil || holdSmall.held != 0 {
		t.Errorf("a small page waited or held %d (%v)", holdSmall.held, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	b, _ := request(ctx)
	if err := h.holdPage(b, smallPage); err == nil {
		t.Fatal("a large page was built while the budget was taken")
	}
	h.releasePage(holdA)
	c, holdC := request(t.Context())
	if err := h.holdPage(c, smallPage); err != nil || holdC.held != smallPage {
		t.Errorf("after the release: held %d (%v)", holdC.held, err)
	}
	h.releasePage(holdC)
	if !h.pages.TryAcquire(pageBudget) {
		t.Error("the budget was not given back whole")
	}
}
