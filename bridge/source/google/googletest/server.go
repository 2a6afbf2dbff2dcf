package googletest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	admin "google.golang.org/api/admin/directory/v1"
)

// Largest maxResults the Directory API accepts: 500 for users, 200 for
// groups and members.
const (
	MaxPageSize      = 500
	MaxGroupPageSize = 200
)

// Member types, as the Directory API names them.
const (
	MemberUser     = "USER"
	MemberGroup    = "GROUP"
	MemberCustomer = "CUSTOMER"
)

// Request kinds counted by Requests and matched by Fault.Kind.
const (
	KindUsers   = "users"
	KindGroups  = "groups"
	KindMembers = "members"
)

// User is one Google user as the fake serves it.
type User struct {
	ID          string
	Email       string // primaryEmail
	GivenName   string
	FamilyName  string
	Suspended   bool
	OrgUnitPath string // "/" when empty
	Title       string // of the primary organization
	Department  string // of the primary organization
	CostCenter  string // of the primary organization
	Manager     string // email of the manager (relations type manager)
	// Extra is merged into the user's JSON (for example customSchemas).
	Extra map[string]any
}

// Group is one Google group.
type Group struct {
	ID    string
	Email string
	Name  string
}

// Member is one direct member of a group.
type Member struct {
	Type  string // MemberUser, MemberGroup or MemberCustomer
	ID    string // user or group id
	Email string
}

// Fault is an error the fake answers with instead of serving a request.
type Fault struct {
	Kind   string // KindUsers, KindGroups, KindMembers; "" for any
	Status int    // HTTP status, for example 403, 429, 503
	// Reason is the Google error reason (rateLimitExceeded,
	// insufficientPermissions, forbidden, backendError, …).
	Reason  string
	Message string
	Times   int // how many requests fail; 0 means once
}

// Server is the fake Directory API; it is an http.Handler. Its methods are
// safe for concurrent use.
type Server struct {
	mu       sync.Mutex
	pageSize int
	users    map[string]User // by id
	groups   map[string]Group
	members  map[string][]Member // by group id
	faults   []Fault
	requests map[string]int
	nextID   int
}

// New returns an empty fake that pages at MaxPageSize.
func New() *Server {
	return &Server{
		pageSize: MaxPageSize,
		users:    map[string]User{},
		groups:   map[string]Group{},
		members:  map[string][]Member{},
		requests: map[string]int{},
	}
}

// Start serves the fake on 127.0.0.1 until the test ends and returns its
// base URL, the endpoint to configure ("http://127.0.0.1:port/").
func (s *Server) Start(tb testing.TB) string {
	tb.Helper()
	srv := httptest.NewServer(s)
	tb.Cleanup(srv.Close)
	return srv.URL + "/"
}

// SetPageSize makes listings return at most n entries per page (so tests
// see paging with few entries); the client's maxResults still applies.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

func (s *Server) newID(prefix string) string {
	s.nextID++
	return fmt.Sprintf("%s%05d", prefix, s.nextID)
}

// PutUser creates or replaces a user (matched by ID, or by Email when ID
// is empty) and returns its id.
func (s *Server) PutUser(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		if old, ok := s.userByEmail(u.Email); ok {
			u.ID = old.ID
		} else {
			u.ID = s.newID("u")
		}
	}
	s.users[u.ID] = u
	return u.ID
}

// UpdateUser applies fn to the user with the email; it panics when there
// is none (a mistake in the test).
func (s *Server) UpdateUser(email string, fn func(*User)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.userByEmail(email)
	if !ok {
		panic("googletest: no user " + email)
	}
	fn(&u)
	s.users[u.ID] = u
}

// DeleteUser removes the user with the email and its memberships.
func (s *Server) DeleteUser(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.userByEmail(email)
	if !ok {
		return
	}
	delete(s.users, u.ID)
	for gid, list := range s.members {
		s.members[gid] = removeMember(list, u.ID)
	}
}

// User returns the user with the email.
func (s *Server) User(email string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userByEmail(email)
}

func (s *Server) userByEmail(email string) (User, bool) {
	for _, u := range s.users {
		if strings.EqualFold(u.Email, email) {
			return u, true
		}
	}
	return User{}, false
}

func (s *Server) groupByKey(key string) (Group, bool) {
	if g, ok := s.groups[key]; ok {
		return g, true
	}
	for _, g := range s.groups {
		if strings.EqualFold(g.Email, key) {
			return g, true
		}
	}
	return Group{}, false
}

// PutGroup creates or replaces a group (matched by ID, or by Email) and
// returns its id.
func (s *Server) PutGroup(g Group) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.ID == "" {
		if old, ok := s.groupByKey(g.Email); ok {
			g.ID = old.ID
		} else {
			g.ID = s.newID("g")
		}
	}
	s.groups[g.ID] = g
	return g.ID
}

// DeleteGroup removes a group (by email or id), its members and its
// membership in other groups.
func (s *Server) DeleteGroup(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groupByKey(key)
	if !ok {
		return
	}
	delete(s.groups, g.ID)
	delete(s.members, g.ID)
	for gid, list := range s.members {
		s.members[gid] = removeMember(list, g.ID)
	}
}

// AddMember adds a user (by email) or a group (by email) to a group; with
// MemberCustomer the whole customer becomes a member. It panics when the
// group or member does not exist.
func (s *Server) AddMember(group, typ, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groupByKey(group)
	if !ok {
		panic("googletest: no group " + group)
	}
	m := Member{Type: typ}
	switch typ {
	case MemberUser:
		u, ok := s.userByEmail(email)
		if !ok {
			panic("googletest: no user " + email)
		}
		m.ID, m.Email = u.ID, u.Email
	case MemberGroup:
		sub, ok := s.groupByKey(email)
		if !ok {
			panic("googletest: no group " + email)
		}
		m.ID, m.Email = sub.ID, sub.Email
	case MemberCustomer:
		m.ID = "C0customer"
	default:
		panic("googletest: unknown member type " + typ)
	}
	s.members[g.ID] = append(removeMember(s.members[g.ID], m.ID), m)
}

// RemoveMember removes a user or group (by email) from a group.
func (s *Server) RemoveMember(group, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groupByKey(group)
	if !ok {
		return
	}
	list := s.members[g.ID][:0:0]
	for _, m := range s.members[g.ID] {
		if !strings.EqualFold(m.Email, email) {
			list = append(list, m)
		}
	}
	s.members[g.ID] = list
}

func removeMember(list []Member, id string) []Member {
	out := list[:0:0]
	for _, m := range list {
		if m.ID != id {
			out = append(out, m)
		}
	}
	return out
}

// Fail queues a fault; faults are used in the order queued.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
}

// Requests returns how many requests of a kind (KindUsers, KindGroups,
// KindMembers) the fake received, failed ones included.
func (s *Server) Requests(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[kind]
}

// ServeHTTP serves GET admin/directory/v1/users, …/groups and
// …/groups/{key}/members.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/admin/directory/v1/"
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, prefix) {
		writeError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, prefix), "/")
	var kind string
	switch {
	case len(parts) == 1 && parts[0] == "users":
		kind = KindUsers
	case len(parts) == 1 && parts[0] == "groups":
		kind = KindGroups
	case len(parts) == 3 && parts[0] == "groups" && parts[2] == "members":
		kind = KindMembers
	default:
		writeError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[kind]++
	if f, ok := s.takeFault(kind); ok {
		if f.Status == http.StatusTooManyRequests || f.Reason == "rateLimitExceeded" || f.Reason == "userRateLimitExceeded" {
			w.Header().Set("Retry-After", "0")
		}
		msg := f.Message
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		writeError(w, f.Status, f.Reason, msg)
		return
	}
	q := r.URL.Query()
	size := s.pageSize
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		limit := MaxPageSize
		if kind != KindUsers {
			limit = MaxGroupPageSize
		}
		if err != nil || n < 1 || n > limit {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: maxResults")
			return
		}
		size = min(size, n)
	}
	offset := 0
	if tok := q.Get("pageToken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "p"))
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: pageToken")
			return
		}
		offset = n
	}
	if kind != KindMembers && q.Get("customer") == "" && q.Get("domain") == "" {
		writeError(w, http.StatusBadRequest, "badRequest", "Bad Request: customer or domain required")
		return
	}
	var body any
	switch kind {
	case KindUsers:
		body = s.usersPage(offset, size)
	case KindGroups:
		body = s.groupsPage(offset, size)
	case KindMembers:
		g, ok := s.groupByKey(parts[1])
		if !ok {
			writeError(w, http.StatusNotFound, "notFound", "Resource Not Found: groupKey")
			return
		}
		body = s.membersPage(g.ID, offset, size)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) takeFault(kind string) (Fault, bool) {
	for i, f := range s.faults {
		if f.Kind != "" && f.Kind != kind {
			continue
		}
		s.faults[i].Times--
		if s.faults[i].Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return f, true
	}
	return Fault{}, false
}

func pageBounds(n, offset, size int) (lo, hi int, next string) {
	lo = min(offset, n)
	hi = min(lo+size, n)
	if hi < n {
		next = "p" + strconv.Itoa(hi)
	}
	return lo, hi, next
}

func (s *Server) usersPage(offset, size int) map[string]any {
	list := make([]User, 0, len(s.users))
	for _, u := range s.users {
		list = append(list, u)
	}
	sort.Slice(list, func(i, j int) bool { return strings.ToLower(list[i].Email) < strings.ToLower(list[j].Email) })
	lo, hi, next := pageBounds(len(list), offset, size)
	out := make([]any, 0, hi-lo)
	for _, u := range list[lo:hi] {
		out = append(out, userJSON(u))
	}
	page := map[string]any{"kind": "admin#directory#users", "users": out}
	if next != "" {
		page["nextPageToken"] = next
	}
	return page
}

// userJSON renders a user the way the Directory API does.
func userJSON(u User) map[string]any {
	ou := u.OrgUnitPath
	if ou == "" {
		ou = "/"
	}
	m := map[string]any{
		"kind":         "admin#directory#user",
		"id":           u.ID,
		"primaryEmail": u.Email,
		"name": map[string]any{
			"givenName":  u.GivenName,
			"familyName": u.FamilyName,
			"fullName":   strings.TrimSpace(u.GivenName + " " + u.FamilyName),
		},
		"suspended":   u.Suspended,
		"orgUnitPath": ou,
		"emails":      []any{map[string]any{"address": u.Email, "primary": true}},
	}
	if u.Title != "" || u.Department != "" || u.CostCenter != "" {
		org := map[string]any{"primary": true, "customType": ""}
		for k, v := range map[string]string{"title": u.Title, "department": u.Department, "costCenter": u.CostCenter} {
			if v != "" {
				org[k] = v
			}
		}
		m["organizations"] = []any{map[string]any{"name": "Other", "title": "Former"}, org}
	}
	if u.Manager != "" {
		m["relations"] = []any{
			map[string]any{"type": "assistant", "value": "assistant@example.com"},
			map[string]any{"type": "manager", "value": u.Manager},
		}
	}
	if u.Suspended {
		m["suspensionReason"] = "ADMIN"
	}
	for k, v := range u.Extra {
		m[k] = v
	}
	return m
}

func (s *Server) groupsPage(offset, size int) *admin.Groups {
	list := make([]Group, 0, len(s.groups))
	for _, g := range s.groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool { return strings.ToLower(list[i].Email) < strings.ToLower(list[j].Email) })
	lo, hi, next := pageBounds(len(list), offset, size)
	out := &admin.Groups{Kind: "admin#directory#groups", NextPageToken: next, Groups: []*admin.Group{}}
	for _, g := range list[lo:hi] {
		out.Groups = append(out.Groups, &admin.Group{
			Kind: "admin#directory#group", Id: g.ID, Email: g.Email, Name: g.Name,
			DirectMembersCount: int64(len(s.members[g.ID])),
		})
	}
	return out
}

func (s *Server) membersPage(groupID string, offset, size int) *admin.Members {
	list := s.members[groupID]
	lo, hi, next := pageBounds(len(list), offset, size)
	out := &admin.Members{Kind: "admin#directory#members", NextPageToken: next}
	for _, m := range list[lo:hi] {
		status := "ACTIVE"
		if u, ok := s.users[m.ID]; ok && u.Suspended {
			status = "SUSPENDED"
		}
		out.Members = append(out.Members, &admin.Member{
			Kind: "admin#directory#member", Id: m.ID, Email: m.Email, Type: m.Type, Role: "MEMBER", Status: status,
		})
	}
	return out
}

// writeError answers in the Directory API's error format.
func writeError(w http.ResponseWriter, status int, reason, message string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	domain := "global"
	if reason == "rateLimitExceeded" || reason == "userRateLimitExceeded" || reason == "quotaExceeded" {
		domain = "usageLimits"
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": map[string]any{
			"code":    status,
			"message": message,
			"errors":  []any{map[string]any{"domain": domain, "reason": reason, "message": message}},
		},
	})
}
