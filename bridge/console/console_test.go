package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

const (
	adminToken = "admin-token-for-console-tests"
	email      = "jane.doe@corp.example"
)

// fakeBackend serves one user, u1, and records retries and decisions;
// with held set, u1's deactivation is held.
type fakeBackend struct {
	mu        sync.Mutex
	retries   []string // "id by actor"
	held      bool
	decisions []string // "approve|reject ids|all by actor"
}

func (f *fakeBackend) Overview(context.Context) (Overview, error) {
	return Overview{States: []StateCount{{"pending", 0}, {"synced", 1}, {"failed", 0}}, ETAKnown: true}, nil
}

func (f *fakeBackend) SearchUsers(_ context.Context, q store.UserSearch) ([]store.UserSummary, int, error) {
	if q.Text != "" && !strings.HasPrefix("jdoe", q.Text) {
		return nil, 0, nil
	}
	return []store.UserSummary{{ID: "u1", UserName: "jdoe", State: store.StateSynced, Active: true}}, 1, nil
}

func (f *fakeBackend) User(_ context.Context, key string) (UserView, error) {
	if key != "u1" && key != "jdoe" {
		return UserView{}, store.ErrNotFound
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var held *HeldView
	if f.held {
		held = &HeldView{UserID: "u1", UserName: "jdoe", GSID: "GS-1", Held: time.Unix(100, 0)}
	}
	return UserView{
		Held: held,
		ID:   "u1", UserName: "jdoe", State: store.StateFailed, GSID: "GS-1", LastError: "update: refused",
		Effective: &translate.Explanation{Attributes: []translate.ExplainedAttribute{
			{Name: "Email", Value: email, Sources: []string{"user"}},
			{Name: "LicenseType", Value: "Full", Sources: []string{"Admins"}},
		}},
		LastPushed: map[string]any{"Email": email, "LicenseType": "Viewer"},
	}, nil
}

func (f *fakeBackend) History(context.Context, store.AuditQuery) ([]store.AuditEntry, error) {
	return []store.AuditEntry{{ID: 1, Time: time.Unix(1, 0), UserID: "u1", Op: store.AuditUpdate, Source: store.AuditSourceSync,
		Result: store.AuditOK, Changes: []store.AuditChange{{Field: "Email", Masked: true}, {Field: "LicenseType", Old: "Viewer", New: "Full"}}}}, nil
}

func (f *fakeBackend) Groups(context.Context) ([]GroupView, error) { return nil, nil }

func (f *fakeBackend) Retry(_ context.Context, id, actor string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retries = append(f.retries, id+" by "+actor)
	return nil
}

func (f *fakeBackend) Plan(_ context.Context, only string, offset, limit int) (PlanView, error) {
	v := PlanView{Shadow: true, Guard: "deactivations beyond 50 users per 1h0m0s are held", WouldHold: 2, Planned: 2, Total: 2,
		Counts: []KindCount{{"create", 1}, {"update", 1}, {"held", 0}}}
	if only == "" || only == "update" {
		v.Users = append(v.Users, PlannedView{UserID: "u1", UserName: "jdoe", Kinds: []string{"adopt", "update"}, Match: "SFDCUserName",
			Fields: []PlannedFieldView{{Field: "Email", Old: nil, New: email, Sources: []string{"user"}},
				{Field: "LicenseType", Old: "Viewer", New: "Full", Sources: []string{"Admins"}}}})
	}
	if only != "" {
		v.Total = len(v.Users)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held {
		v.Held = []HeldView{{UserID: "u1", UserName: "jdoe", GSID: "GS-1", Held: time.Unix(100, 0)}}
	}
	return v, nil
}

func (f *fakeBackend) Decide(_ context.Context, ids []string, all, approve bool, actor string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	verb, who := "reject", strings.Join(ids, ",")
	if approve {
		verb = "approve"
	}
	if all {
		who = "all"
	}
	f.decisions = append(f.decisions, verb+" "+who+" by "+actor)
	return 1, nil
}

type fixture struct {
	t        *testing.T
	c        *Console
	backend  *fakeBackend
	mu       sync.Mutex
	settings Settings
	now      time.Time
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, backend: &fakeBackend{}, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	f.settings = Settings{
		Enabled: true, Tokens: [][]byte{hash(adminToken)}, Names: []string{"alice"}, SessionTTL: time.Hour,
		Personal: func(f string) bool { return f == "Email" }, States: []string{"pending", "synced", "failed"},
		ForwardAuth: config.ForwardAuth{UserHeader: "X-Forwarded-User", TrustedProxies: []string{"127.0.0.1/32"}},
	}
	c, err := New(Options{Backend: f.backend, Settings: f.current, Logger: zaptest.NewLogger(t),
		Now: func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	return f
}

func hash(token string) []byte {
	c := config.Config{Console: config.Console{Tokens: []config.Token{{Name: "x", SHA256: config.Secret(config.HashToken(token))}}}}
	h, _ := c.ConsoleTokenHashes()
	return h[0]
}

func (f *fixture) current() Settings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.settings
}

func (f *fixture) set(fn func(*Settings)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.settings)
}

// request serves one request from 192.0.2.1 (or remote) with cookies.
func (f *fixture) request(method, path string, form url.Values, cookies []*http.Cookie, header ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, "http://bridge.test"+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, "http://bridge.test"+path, nil)
	}
	r.RemoteAddr = "192.0.2.1:4000"
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "RemoteAddr" {
			r.RemoteAddr = header[i+1]
			continue
		}
		r.Header.Set(header[i], header[i+1])
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	f.c.ServeHTTP(w, r)
	return w
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in %s", body)
	}
	return m[1]
}

func cookie(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signIn goes through the login form as a browser without JavaScript
// does and returns the session cookie.
func (f *fixture) signIn() *http.Cookie {
	f.t.Helper()
	w := f.request(http.MethodGet, "/ui/login?next=/ui/users", nil, nil)
	if w.Code != http.StatusOK {
		f.t.Fatalf("login form: %d", w.Code)
	}
	lc := cookie(w, loginCookie)
	w = f.request(http.MethodPost, "/ui/login", url.Values{"csrf": {csrfOf(f.t, w.Body.String())}, "token": {adminToken}, "next": {"/ui/users"}},
		[]*http.Cookie{lc})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/ui/users" {
		f.t.Fatalf("sign in: %d %s: %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	sc := cookie(w, sessionCookie)
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/ui/" {
		f.t.Fatalf("session cookie %+v", sc)
	}
	if strings.Contains(sc.Value, adminToken) {
		f.t.Fatalf("the session cookie holds the token")
	}
	return sc
}

func TestDisabledConsoleIsNotFound(t *testing.T) {
	f := newFixture(t)
	f.set(func(s *Settings) { s.Enabled = false })
	for _, p := range []string{"/ui/", "/ui/login", "/ui/assets/style.css"} {
		if w := f.request(http.MethodGet, p, nil, nil); w.Code != http.StatusNotFound {
			t.Errorf("GET %s while disabled: %d", p, w.Code)
		}
	}
}

func TestSignInAndReadWithoutJavaScript(t *testing.T) {
	f := newFixture(t)
	w := f.request(http.MethodGet, "/ui/users?q=jd", nil, nil)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/ui/login?next=") {
		t.Fatalf("a stranger's GET: %d %s", w.Code, w.Header().Get("Location"))
	}
	// A stale form, then a wrong token.
	form := f.request(http.MethodGet, "/ui/login", nil, nil)
	lc := cookie(form, loginCookie)
	if w := f.request(http.MethodPost, "/ui/login", url.Values{"csrf": {"forged"}, "token": {adminToken}}, []*http.Cookie{lc}); w.Code != http.StatusForbidden || cookie(w, sessionCookie) != nil {
		t.Errorf("sign in with a forged form: %d", w.Code)
	}
	if w := f.request(http.MethodPost, "/ui/login", url.Values{"csrf": {csrfOf(t, form.Body.String())}, "token": {"wrong"}}, []*http.Cookie{lc}); w.Code != http.StatusUnauthorized || cookie(w, sessionCookie) != nil {
		t.Errorf("sign in with a wrong token: %d", w.Code)
	}
	sc := f.signIn()
	for path, want := range map[string]string{
		"/ui/":           `data-state="synced">1<`,
		"/ui/users?q=jd": `href="/ui/users/u1">jdoe</a>`,
		"/ui/users/u1":   `LicenseType</code>: Viewer → Full`,
		"/ui/groups":     "No group profiles are configured.",
	} {
		w := f.request(http.MethodGet, path, nil, []*http.Cookie{sc})
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET %s: %d, want %q in\n%s", path, w.Code, want, w.Body)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: CSP %q, Cache-Control %q", path, csp, w.Header().Get("Cache-Control"))
		}
	}
	if w := f.request(http.MethodGet, "/ui/users/nobody", nil, []*http.Cookie{sc}); w.Code != http.StatusNotFound {
		t.Errorf("unknown user: %d", w.Code)
	}
	if w := f.request(http.MethodGet, "/ui/assets/htmx.min.js", nil, nil); w.Code != http.StatusOK {
		t.Errorf("htmx: %d", w.Code)
	}
	// Signing out clears the cookie.
	w = f.request(http.MethodPost, "/ui/logout", url.Values{"csrf": {f.c.csrfToken(f.current(), f.c.verifySession(f.current(), sc.Value))}}, []*http.Cookie{sc})
	if w.Code != http.StatusSeeOther || cookie(w, sessionCookie) == nil || cookie(w, sessionCookie).MaxAge >= 0 {
		t.Errorf("sign out: %d %+v", w.Code, cookie(w, sessionCookie))
	}
}

func TestMaskedFieldsNotShown(t *testing.T) {
	f := newFixture(t)
	sc := f.signIn()
	body := f.request(http.MethodGet, "/ui/users/u1", nil, []*http.Cookie{sc}).Body.String()
	for _, leak := range []string{email, "jane.doe", adminToken} {
		if strings.Contains(body, leak) {
			t.Errorf("the user page shows %q", leak)
		}
	}
	if !strings.Contains(body, personalText) || !strings.Contains(body, `<span class="masked">changed</span>`) {
		t.Errorf("masked fields not marked:\n%s", body)
	}
	f.set(func(s *Settings) { s.ShowPersonal = true })
	if body := f.request(http.MethodGet, "/ui/users/u1", nil, []*http.Cookie{sc}).Body.String(); !strings.Contains(body, email) {
		t.Errorf("with personal data shown, the email is missing")
	}
}

func TestActionsNeedCSRF(t *testing.T) {
	f := newFixture(t)
	sc := f.signIn()
	page := f.request(http.MethodGet, "/ui/users/u1", nil, []*http.Cookie{sc}).Body.String()
	if !strings.Contains(page, `action="/ui/users/u1/retry"`) {
		t.Fatalf("no retry button:\n%s", page)
	}
	csrf := csrfOf(t, page)
	for name, tc := range map[string]struct {
		form   url.Values
		header []string
	}{
		"no token":     {url.Values{}, nil},
		"forged token": {url.Values{"csrf": {"x" + csrf}}, nil},
		"other origin": {url.Values{"csrf": {csrf}}, []string{"Origin", "https://evil.example"}},
		"cross-site":   {url.Values{"csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		if w := f.request(http.MethodPost, "/ui/users/u1/retry", tc.form, []*http.Cookie{sc}, tc.header...); w.Code != http.StatusForbidden {
			t.Errorf("%s: %d", name, w.Code)
		}
	}
	if w := f.request(http.MethodPost, "/ui/users/u1/retry", url.Values{"csrf": {csrf}}, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("without a session: %d", w.Code)
	}
	if len(f.backend.retries) != 0 {
		t.Fatalf("refused POSTs retried: %v", f.backend.retries)
	}
	w := f.request(http.MethodPost, "/ui/users/u1/retry", url.Values{"csrf": {csrf}}, []*http.Cookie{sc}, "Origin", "http://bridge.test")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/ui/users/u1?done=") {
		t.Fatalf("retry: %d %s", w.Code, w.Header().Get("Location"))
	}
	if got := f.backend.retries; len(got) != 1 || got[0] != "u1 by alice" {
		t.Errorf("retries %v", got)
	}
	if w := f.request(http.MethodPost, "/ui/users/u1/delete", url.Values{"csrf": {csrf}}, []*http.Cookie{sc}); w.Code != http.StatusNotFound {
		t.Errorf("unknown action: %d", w.Code)
	}
	if w := f.request(http.MethodPost, "/ui/users/u1/approve", url.Values{"csrf": {csrf}}, []*http.Cookie{sc}); w.Code != http.StatusConflict {
		t.Errorf("approving a user that is not held: %d", w.Code)
	}
}

// TestPlanPageAndGuardDecisions shows the plan and the held users, and
// approves and rejects, one user and all, with the CSRF check.
func TestPlanPageAndGuardDecisions(t *testing.T) {
	f := newFixture(t)
	sc := f.signIn()
	page := f.request(http.MethodGet, "/ui/plan", nil, []*http.Cookie{sc}).Body.String()
	for _, want := range []string{`id="count-create">1<`, `<strong>Shadow</strong>`, `id="would-hold">2<`, "No deactivation is held.",
		`<code>LicenseType</code>: Viewer → Full <span class="hint">from Admins</span>`, "matched on SFDCUserName", `href="/ui/plan?only=update"`} {
		if !strings.Contains(page, want) {
			t.Errorf("plan page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, email) || strings.Contains(page, "approve-all") {
		t.Errorf("plan page shows a personal value or an approve button with nothing held:\n%s", page)
	}
	if p := f.request(http.MethodGet, "/ui/plan?only=create", nil, []*http.Cookie{sc}).Body.String(); !strings.Contains(p, "No plan of this kind.") {
		t.Errorf("plan of creates:\n%s", p)
	}
	user := f.request(http.MethodGet, "/ui/users/u1", nil, []*http.Cookie{sc}).Body.String()
	if strings.Contains(user, "action-approve") {
		t.Error("approve offered for a user that is not held")
	}

	f.backend.held = true
	user = f.request(http.MethodGet, "/ui/users/u1", nil, []*http.Cookie{sc}).Body.String()
	for _, want := range []string{`id="action-approve"`, `id="action-reject"`, "awaiting a decision"} {
		if !strings.Contains(user, want) {
			t.Errorf("held user's page lacks %q", want)
		}
	}
	csrf := csrfOf(t, user)
	if w := f.request(http.MethodPost, "/ui/users/u1/approve", url.Values{"csrf": {csrf}}, []*http.Cookie{sc}); w.Code != http.StatusSeeOther {
		t.Fatalf("approve: %d", w.Code)
	}
	page = f.request(http.MethodGet, "/ui/plan", nil, []*http.Cookie{sc}).Body.String()
	if !strings.Contains(page, `id="approve-all"`) || !strings.Contains(page, `href="/ui/users/u1">jdoe</a>`) {
		t.Fatalf("plan page with a held user:\n%s", page)
	}
	if w := f.request(http.MethodPost, "/ui/guard/reject", url.Values{"csrf": {"forged"}}, []*http.Cookie{sc}); w.Code != http.StatusForbidden {
		t.Errorf("reject all with a forged form: %d", w.Code)
	}
	w := f.request(http.MethodPost, "/ui/guard/reject", url.Values{"csrf": {csrfOf(t, page)}}, []*http.Cookie{sc})
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/ui/plan?done=") {
		t.Errorf("reject all: %d %s", w.Code, w.Header().Get("Location"))
	}
	if got := f.backend.decisions; len(got) != 2 || got[0] != "approve u1 by alice" || got[1] != "reject all by alice" {
		t.Errorf("decisions %v", got)
	}
}

func TestSessionEnds(t *testing.T) {
	for name, end := range map[string]func(f *fixture, sc *http.Cookie) *http.Cookie{
		"token removed": func(f *fixture, sc *http.Cookie) *http.Cookie {
			f.set(func(s *Settings) { s.Tokens, s.Names = [][]byte{hash("rotated")}, []string{"alice"} })
			return sc
		},
		"expired": func(f *fixture, sc *http.Cookie) *http.Cookie {
			f.mu.Lock()
			f.now = f.now.Add(time.Hour + time.Second)
			f.mu.Unlock()
			return sc
		},
		"session key changed": func(f *fixture, sc *http.Cookie) *http.Cookie {
			f.set(func(s *Settings) { s.SessionKey = "another-key-of-at-least-thirty-two-chars" })
			return sc
		},
		"tampered": func(_ *fixture, sc *http.Cookie) *http.Cookie {
			c := *sc
			c.Value = "Ym9i" + c.Value[strings.IndexByte(c.Value, '.'):]
			return &c
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			sc := f.signIn()
			sc = end(f, sc)
			if w := f.request(http.MethodGet, "/ui/", nil, []*http.Cookie{sc}); w.Code != http.StatusSeeOther {
				t.Errorf("GET after the session ended: %d", w.Code)
			}
		})
	}
}

func TestForwardAuth(t *testing.T) {
	f := newFixture(t)
	f.set(func(s *Settings) { s.ForwardAuth.Enabled = true })
	w := f.request(http.MethodGet, "/ui/users/u1", nil, nil, "RemoteAddr", "127.0.0.1:5000", "X-Forwarded-User", "bob@corp.example")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `<span id="admin">bob@corp.example</span>`) {
		t.Fatalf("through the proxy: %d", w.Code)
	}
	csrf := csrfOf(t, w.Body.String())
	w = f.request(http.MethodPost, "/ui/users/u1/retry", url.Values{"csrf": {csrf}}, nil, "RemoteAddr", "127.0.0.1:5000", "X-Forwarded-User", "bob@corp.example")
	if w.Code != http.StatusSeeOther || len(f.backend.retries) != 1 || f.backend.retries[0] != "u1 by bob@corp.example" {
		t.Fatalf("retry through the proxy: %d %v", w.Code, f.backend.retries)
	}
	// Another user's CSRF token does not pass.
	if w := f.request(http.MethodPost, "/ui/users/u1/retry", url.Values{"csrf": {csrf}}, nil, "RemoteAddr", "127.0.0.1:5000", "X-Forwarded-User", "eve"); w.Code != http.StatusForbidden {
		t.Errorf("another user's CSRF token: %d", w.Code)
	}
	// The header of an untrusted peer is ignored.
	if w := f.request(http.MethodGet, "/ui/", nil, nil, "RemoteAddr", "10.1.2.3:5000", "X-Forwarded-User", "mallory"); w.Code != http.StatusSeeOther {
		t.Errorf("header from an untrusted peer: %d", w.Code)
	}
	if w := f.request(http.MethodGet, "/ui/", nil, nil, "RemoteAddr", "127.0.0.1:5000"); w.Code != http.StatusForbidden {
		t.Errorf("trusted peer without the header: %d", w.Code)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/ui/users?q=a":            "/ui/users?q=a",
		"":                         "/ui/",
		"https://evil.example/ui/": "/ui/",
		"//evil.example/ui/":       "/ui/",
		"/ui\\..\\evil":            "/ui/",
		"/metrics":                 "/ui/",
		"/ui/../metrics":           "/ui/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
