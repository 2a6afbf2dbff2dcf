package console

import (
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// Settings are the console's configuration in effect; Options.Settings is
// asked on every request, so a reload (a rotated admin token, a new
// session key) applies at once.
type Settings struct {
	Enabled bool
	// Tokens are the admin tokens' SHA-256 hashes, Names their names.
	Tokens [][]byte
	Names  []string
	// ForwardAuth trusts a proxy's user header.
	ForwardAuth config.ForwardAuth
	SessionTTL  time.Duration
	// SessionKey signs session cookies; "" uses a key of this process's.
	SessionKey string
	// Personal reports whether a Gainsight field holds personal data;
	// ShowPersonal shows such values all the same.
	Personal     func(field string) bool
	ShowPersonal bool
	// States are the sync states the users page filters by.
	States []string
}

// Options configures New.
type Options struct {
	Backend  Backend
	Settings func() Settings
	Logger   *zap.Logger
	Now      func() time.Time // default time.Now
}

// Console serves /ui/.
type Console struct {
	opts   Options
	log    *zap.Logger
	key    []byte // the process's own session key
	tmpl   map[string]*template.Template
	router *mux.Router
}

// New builds the console.
func New(opts Options) (*Console, error) {
	if opts.Backend == nil || opts.Settings == nil || opts.Logger == nil {
		return nil, errors.New("console: Backend, Settings and Logger are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Console{opts: opts, log: opts.Logger.Named("console"), key: make([]byte, 32)}
	if _, err := rand.Read(c.key); err != nil {
		return nil, fmt.Errorf("console: session key: %w", err)
	}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	c.router = c.routes()
	return c, nil
}

// page is one page of the console: a GET route rendered by a template.
// Pages are listed in pages(), the one place a page is added.
type page struct {
	path  string // route under /ui
	title string
	nav   bool   // shown in the navigation bar
	tmpl  string // template file, without .html
	// load returns the template's data; an error from errPage is shown
	// with its status.
	load func(c *Console, r *http.Request, p *principal) (any, error)
}

// pages are the console's pages, in navigation order.
func pages() []page {
	return []page{
		{path: "/", title: "Overview", nav: true, tmpl: "overview", load: (*Console).overviewPage},
		{path: "/users", title: "Users", nav: true, tmpl: "users", load: (*Console).usersPage},
		{path: "/users/{id}", title: "User", tmpl: "user", load: (*Console).userPage},
		{path: "/groups", title: "Groups", nav: true, tmpl: "groups", load: (*Console).groupsPage},
		{path: "/plan", title: "Plan", nav: true, tmpl: "plan", load: (*Console).planPage},
	}
}

// action is something an operator does to one user: a button on the user
// page that POSTs to /ui/users/{id}/{name}. Actions are listed in
// actions(), the one place an action is added.
type action struct {
	Name  string
	Label string
	// Help says what the button does.
	Help string
	// applies reports whether the action is offered for the user.
	applies func(UserView) bool
	// run carries it out as actor and returns what to tell the operator.
	run func(c *Console, r *http.Request, u UserView, actor string) (string, error)
}

// actions are the user actions, in button order.
func actions() []action {
	return []action{{
		Name: "approve", Label: "Approve deactivation",
		Help:    "Let the deactivation the mass-deactivation guard holds go out to Gainsight now.",
		applies: func(u UserView) bool { return u.Held != nil && u.Held.ApprovedBy == "" },
		run: func(c *Console, r *http.Request, u UserView, actor string) (string, error) {
			if _, err := c.opts.Backend.Decide(r.Context(), []string{u.ID}, false, true, actor); err != nil {
				return "", err
			}
			return "Deactivation approved: it is sent next.", nil
		},
	}, {
		Name: "reject", Label: "Reject deactivation",
		Help:    "Do not send the held deactivation: the user is planned again from what its identity source says now, and stays held while that still deactivates it.",
		applies: func(u UserView) bool { return u.Held != nil && u.Held.RejectedBy == "" },
		run: func(c *Console, r *http.Request, u UserView, actor string) (string, error) {
			if _, err := c.opts.Backend.Decide(r.Context(), []string{u.ID}, false, false, actor); err != nil {
				return "", err
			}
			return "Deactivation rejected: the user is planned again from its identity source.", nil
		},
	}, {
		Name: "retry", Label: "Retry now",
		Help:    "Queue the user for a sync pass now, without waiting for its backoff or a change.",
		applies: func(u UserView) bool { return !u.Deleted },
		run: func(c *Console, r *http.Request, u UserView, actor string) (string, error) {
			if err := c.opts.Backend.Retry(r.Context(), u.ID, actor); err != nil {
				return "", err
			}
			return "Queued for a sync pass.", nil
		},
	}}
}

func (c *Console) routes() *mux.Router {
	r := mux.NewRouter()
	ui := r.PathPrefix("/ui").Subrouter()
	assets, _ := fs.Sub(assetFiles, "assets")
	ui.PathPrefix("/assets/").Handler(http.StripPrefix("/ui/assets/", assetServer(assets))).Methods(http.MethodGet, http.MethodHead)
	ui.HandleFunc("/login", c.loginForm).Methods(http.MethodGet)
	ui.HandleFunc("/login", c.login).Methods(http.MethodPost)
	ui.Handle("/logout", c.authed(c.logout)).Methods(http.MethodPost)
	for _, p := range pages() {
		ui.Handle(p.path, c.authed(c.servePage(p))).Methods(http.MethodGet, http.MethodHead)
	}
	ui.Handle("/users/{id}/{action}", c.authed(c.serveAction)).Methods(http.MethodPost)
	ui.Handle("/guard/{decision:approve|reject}", c.authed(c.serveGuard)).Methods(http.MethodPost)
	r.Handle("/ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.renderError(w, r, nil, http.StatusNotFound, "No such page.")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.renderError(w, r, nil, http.StatusMethodNotAllowed, "Method not allowed.")
	})
	return r
}

// ServeHTTP serves the console, or 404 while it is disabled.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !c.opts.Settings().Enabled {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	c.router.ServeHTTP(w, r)
}

func assetServer(files fs.FS) http.Handler {
	fsrv := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// pageError is an error shown to the operator with a status.
type pageError struct {
	status int
	msg    string
}

func (e *pageError) Error() string { return e.msg }

func errPage(status int, format string, args ...any) error {
	return &pageError{status: status, msg: fmt.Sprintf(format, args...)}
}

func (c *Console) servePage(p page) func(w http.ResponseWriter, r *http.Request, pr *principal) {
	return func(w http.ResponseWriter, r *http.Request, pr *principal) {
		data, err := p.load(c, r, pr)
		if err != nil {
			var pe *pageError
			if errors.As(err, &pe) {
				c.renderError(w, r, pr, pe.status, pe.msg)
				return
			}
			c.log.Error("console page", zap.String("page", p.tmpl), zap.Error(err))
			c.renderError(w, r, pr, http.StatusInternalServerError, "The page could not be built; see the bridge's log.")
			return
		}
		c.render(w, r, pr, http.StatusOK, p.tmpl, p.title, data)
	}
}

func (c *Console) serveAction(w http.ResponseWriter, r *http.Request, pr *principal) {
	id, name := mux.Vars(r)["id"], mux.Vars(r)["action"]
	var act *action
	for _, a := range actions() {
		if a.Name == name {
			act = &a
			break
		}
	}
	if act == nil {
		c.renderError(w, r, pr, http.StatusNotFound, "No such action.")
		return
	}
	u, err := c.opts.Backend.User(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.renderError(w, r, pr, http.StatusNotFound, "No such user.")
		return
	case err != nil:
		c.log.Error("console action: find the user", zap.String("action", name), zap.Error(err))
		c.renderError(w, r, pr, http.StatusInternalServerError, "The user could not be read; see the bridge's log.")
		return
	}
	if !act.applies(u) {
		c.renderError(w, r, pr, http.StatusConflict, "This action does not apply to the user now.")
		return
	}
	msg, err := act.run(c, r, u, pr.name)
	if err != nil {
		c.log.Error("console action", zap.String("action", name), zap.String("user_id", u.ID), zap.Error(err))
		c.renderError(w, r, pr, http.StatusInternalServerError, "The action failed; see the bridge's log.")
		return
	}
	c.log.Info("console action", zap.String("action", name), zap.String("user_id", u.ID), zap.String("admin", pr.name))
	http.Redirect(w, r, "/ui/users/"+url.PathEscape(u.ID)+"?done="+url.QueryEscape(msg), http.StatusSeeOther)
}

// serveGuard approves or rejects every deactivation the guard holds: the
// plan page's buttons.
func (c *Console) serveGuard(w http.ResponseWriter, r *http.Request, pr *principal) {
	approve := mux.Vars(r)["decision"] == "approve"
	n, err := c.opts.Backend.Decide(r.Context(), nil, true, approve, pr.name)
	if err != nil {
		c.log.Error("console: guard decision", zap.Bool("approve", approve), zap.Error(err))
		c.renderError(w, r, pr, http.StatusInternalServerError, "The decision could not be recorded; see the bridge's log.")
		return
	}
	msg := fmt.Sprintf("%d held deactivations rejected: the users are planned again from their identity source.", n)
	if approve {
		msg = fmt.Sprintf("%d held deactivations approved: they are sent next.", n)
	}
	c.log.Info("console: guard decision", zap.Bool("approve", approve), zap.Int("users", n), zap.String("admin", pr.name))
	http.Redirect(w, r, "/ui/plan?done="+url.QueryEscape(msg), http.StatusSeeOther)
}

// safeNext returns next when it is a path of the console, else /ui/: the
// login form never redirects off the console.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") ||
		!strings.HasPrefix(path.Clean(u.Path)+"/", "/ui/") {
		return "/ui/"
	}
	return u.RequestURI()
}
