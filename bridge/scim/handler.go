package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	elscim "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/semaphore"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// Validator checks SCIM input against the current configuration.
type Validator interface {
	// ValidateUser checks a user document as it would be stored. It returns
	// nil, or errors naming the offending attribute (possibly several joined
	// with errors.Join). It must be pure: it is called inside store
	// transactions and may be called more than once per request.
	ValidateUser(doc map[string]any) error
	// CheckGroups checks the set of groups a user would be in after a group
	// change; it returns nil or a conflict error whose message names the
	// field, the values and the groups.
	CheckGroups(groups []store.GroupRef) error
}

// SwappableValidator is a Validator whose implementation can be replaced at
// run time (on config reload) while requests are being served.
type SwappableValidator struct {
	v atomic.Pointer[Validator]
}

// NewSwappableValidator returns a SwappableValidator delegating to v.
func NewSwappableValidator(v Validator) *SwappableValidator {
	s := &SwappableValidator{}
	s.Store(v)
	return s
}

// Store makes v the validator used by subsequent requests.
func (s *SwappableValidator) Store(v Validator) { s.v.Store(&v) }

// ValidateUser delegates to the current validator.
func (s *SwappableValidator) ValidateUser(doc map[string]any) error {
	return (*s.v.Load()).ValidateUser(doc)
}

// CheckGroups delegates to the current validator.
func (s *SwappableValidator) CheckGroups(groups []store.GroupRef) error {
	return (*s.v.Load()).CheckGroups(groups)
}

// Store is the part of store.Store the SCIM front end uses.
type Store interface {
	CreateUser(ctx context.Context, u store.User) (store.User, error)
	GetUser(ctx context.Context, id string) (store.User, error)
	UpdateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error)
	DeleteUser(ctx context.Context, id string) error
	ListUsers(ctx context.Context, q store.Query) ([]store.User, int, error)
	CreateGroup(ctx context.Context, g store.Group, check store.GroupCheck) (store.Group, error)
	GetGroup(ctx context.Context, id string) (store.Group, error)
	UpdateGroup(ctx context.Context, id string, fn func(store.Group) (store.Group, error), check store.GroupCheck) (store.Group, error)
	DeleteGroup(ctx context.Context, id string, check store.GroupCheck) error
	ListGroups(ctx context.Context, q store.Query, withMembers bool) ([]store.Group, int, error)
	store.Finder
}

var _ Store = store.Store(nil)

// Options configures NewHandler.
type Options struct {
	// Store holds users and groups; store.Store satisfies it.
	Store Store
	// Validator checks users and group memberships. To swap it at run time
	// pass a *SwappableValidator and call its Store method.
	Validator Validator
	// TokenHashes returns the currently accepted SHA-256 hashes (32 bytes
	// each) of bearer tokens; it is called on every request, so rotation
	// takes effect at once.
	TokenHashes func() [][]byte
	// BasePath is where the SCIM API is mounted (default /scim/v2).
	BasePath string
	// MaxBodyBytes limits request bodies (default 1 MiB); larger → 413.
	MaxBodyBytes int64
	// ExternalURL is the base URL IdPs use. When its path is empty BasePath
	// is appended; otherwise it is used as the SCIM base URL as is. Empty
	// means derived from each request (Host, TLS, X-Forwarded-Proto).
	ExternalURL string
	// Schema returns the part of the user schema that follows the
	// configuration: the Gainsight custom fields accepted beside
	// LicenseType, and the values /Schemas advertises as canonical. It is
	// called on every request, so a config reload takes effect at once; it
	// must return the same pointer while the configuration is unchanged,
	// because the schema built from it is cached by that pointer. Nil means
	// no custom fields and no canonical values.
	Schema func() *SchemaConfig
	// MaxResults caps list page sizes (default 200).
	MaxResults int
	// Limits bound what one request may store or make the handler do;
	// unset (zero) limits take config.Default's values.
	Limits config.SCIMLimits
	// Notify is called after every successful write; may be nil.
	Notify func()
	// Audit, when set, receives the audit entries of every successful
	// write (audit.go); it must not fail the request.
	Audit func(ctx context.Context, entries []store.AuditEntry)
	// TokenName names the token whose hash (one of TokenHashes) a request
	// presented, for the audit trail; may be nil.
	TokenName func(hash []byte) string
	// Logger receives one line per request.
	Logger *zap.Logger
	// Registerer receives the SCIM metrics.
	Registerer prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// NewID mints resource ids (default random UUIDs).
	NewID func() string
}

func (o *Options) validate() error {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("Store is nil"))
	}
	if o.Validator == nil {
		errs = append(errs, errors.New("Validator is nil"))
	}
	if o.TokenHashes == nil {
		errs = append(errs, errors.New("TokenHashes is nil"))
	}
	if o.Logger == nil {
		errs = append(errs, errors.New("Logger is nil"))
	}
	if o.Registerer == nil {
		errs = append(errs, errors.New("Registerer is nil"))
	}
	if o.BasePath == "" {
		o.BasePath = "/scim/v2"
	}
	if !strings.HasPrefix(o.BasePath, "/") {
		errs = append(errs, fmt.Errorf("BasePath %q must start with /", o.BasePath))
	}
	o.BasePath = strings.TrimRight(o.BasePath, "/")
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxResults <= 0 {
		o.MaxResults = 200
	}
	o.Limits = withDefaults(o.Limits)
	if o.ExternalURL != "" {
		u, err := url.Parse(o.ExternalURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("ExternalURL %q is not an absolute URL", o.ExternalURL))
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = newUUID
	}
	if o.Notify == nil {
		o.Notify = func() {}
	}
	if o.Audit == nil {
		o.Audit = func(context.Context, []store.AuditEntry) {}
	}
	if o.TokenName == nil {
		o.TokenName = func([]byte) string { return "" }
	}
	if o.Schema == nil {
		o.Schema = func() *SchemaConfig { return nil }
	}
	if len(errs) > 0 {
		return fmt.Errorf("scim: invalid options: %w", errors.Join(errs...))
	}
	return nil
}

// handler is the SCIM front end.
type handler struct {
	opts    Options
	log     *zap.Logger
	metrics *metrics
	spc     elscim.ServiceProviderConfig
	users   *userHandler
	groups  *groupHandler
	// schemas caches the schemas built from the last Options.Schema value.
	schemas atomic.Pointer[schemaSet]
	// noSchema stands for a nil Options.Schema value, so it is cached too.
	noSchema SchemaConfig
	// pages is the budget of large list pages built at once (holdPage).
	pages *semaphore.Weighted
}

// NewHandler returns the SCIM API as an http.Handler serving everything
// under opts.BasePath; other paths answer 404.
func NewHandler(opts Options) (http.Handler, error) {
	h, err := newHandler(opts)
	if err != nil {
		return nil, err
	}
	return h.router(), nil
}

func newHandler(opts Options) (*handler, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	h := &handler{
		pages:   semaphore.NewWeighted(pageBudget),
		opts:    opts,
		log:     opts.Logger.Named("scim"),
		metrics: m,
		spc: elscim.ServiceProviderConfig{
			AuthenticationSchemes: []elscim.AuthenticationScheme{{
				Type:        elscim.AuthenticationTypeOauthBearerToken,
				Name:        "OAuth Bearer Token",
				Description: "Authentication with a bearer token configured in scim-bridge.",
				Primary:     true,
			}},
			MaxResults:       opts.MaxResults,
			SupportFiltering: true,
			SupportPatch:     true,
		},
	}
	h.users = &userHandler{h: h}
	h.groups = &groupHandler{h: h}
	// Fail early if the library refuses the configuration.
	if _, err := h.server(h.currentSchemas(), ""); err != nil {
		return nil, err
	}
	return h, nil
}

// schemaSet is the user and group schemas and resource types built from
// one SchemaConfig.
type schemaSet struct {
	src           *SchemaConfig
	user, group   resourceSchema
	resourceTypes []elscim.ResourceType // User, then Group
	// userSchemasJSON is the schemas attribute of every user, encoded.
	userSchemasJSON []byte
	// userCreate is the schema a created user is validated against
	// (fastcreate.go), and a user PATCH's operations (fastpatch.go), with
	// userExtensions.
	userCreate     schema.Schema
	userExtensions []schema.Schema
	// userSchemas are userCreate and userExtensions by URN.
	userSchemas map[string]schema.Schema
	// userPatchPaths are the user PATCH paths validated (fastpatch.go).
	userPatchPaths *patchPaths
}

// currentSchemas returns the schemas of the configuration in effect,
// building them when Options.Schema returns a new value.
func (h *handler) currentSchemas() *schemaSet {
	src := h.opts.Schema()
	if src == nil {
		src = &h.noSchema
	}
	if cur := h.schemas.Load(); cur != nil && cur.src == src {
		return cur
	}
	set := &schemaSet{src: src, user: userResourceSchema(*src), group: groupResourceSchema()}
	set.resourceTypes = []elscim.ResourceType{
		set.user.resourceType("User", "User Account", "/Users", h.users),
		set.group.resourceType("Group", "Group", "/Groups", h.groups),
	}
	ids := []string{set.resourceTypes[0].Schema.ID}
	for _, e := range set.resourceTypes[0].SchemaExtensions {
		ids = append(ids, e.Schema.ID)
	}
	set.userSchemasJSON, _ = json.Marshal(ids)
	set.userCreate = withCommonAttributes(set.resourceTypes[0].Schema)
	set.userSchemas = map[string]schema.Schema{set.userCreate.ID: set.userCreate}
	for _, e := range set.resourceTypes[0].SchemaExtensions {
		set.userExtensions = append(set.userExtensions, e.Schema)
		set.userSchemas[e.Schema.ID] = e.Schema
	}
	set.userPatchPaths = &patchPaths{}
	h.schemas.Store(set)
	return set
}

type schemasKey struct{}

// withSchemas pins the schemas in effect when a request arrives for the
// whole request, so a config reload never changes them half-way.
func (h *handler) withSchemas(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), schemasKey{}, h.currentSchemas())))
	})
}

// schemasOf returns the schemas pinned for r.
func (h *handler) schemasOf(r *http.Request) *schemaSet {
	if s, ok := r.Context().Value(schemasKey{}).(*schemaSet); ok {
		return s
	}
	return h.currentSchemas()
}

// server builds the library server for one request; it is a cheap value
// copy and lets meta.location follow the request's base URL.
func (h *handler) server(schemas *schemaSet, baseURL string) (elscim.Server, error) {
	opts := []elscim.ServerOption{elscim.WithLogger(libLogger{h.log}), elscim.WithRootQueryHandler(rootHandler{h})}
	if baseURL != "" {
		opts = append(opts, elscim.WithBaseURL(baseURL))
	}
	s, err := elscim.NewServer(&elscim.ServerArgs{
		ServiceProviderConfig: &h.spc,
		ResourceTypes:         schemas.resourceTypes,
	}, opts...)
	if err != nil {
		return elscim.Server{}, fmt.Errorf("scim: build server: %w", err)
	}
	return s, nil
}

// baseURL is the absolute SCIM base URL for r.
func (h *handler) baseURL(r *http.Request) string {
	if h.opts.ExternalURL != "" {
		u, _ := url.Parse(h.opts.ExternalURL) // validated in Options.validate
		if u.Path == "" || u.Path == "/" {
			u.Path = h.opts.BasePath
		}
		return strings.TrimRight(u.String(), "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	return scheme + "://" + host + h.opts.BasePath
}

func (h *handler) router() http.Handler {
	r := mux.NewRouter()
	r.Use(h.observe)
	api := r.PathPrefix(h.opts.BasePath).Subrouter()
	api.Use(h.authenticate, h.limitBody, h.withSchemas)
	lib := http.HandlerFunc(h.serveLibrary)
	get := []string{http.MethodGet}
	// RFC 7644 §3.4.3: POST …/.search is a query. Registered before the
	// resource routes, whose {id} would take ".search".
	api.Handle("/.search", allow(h.search("/"), http.MethodPost))
	api.Handle("/Users/.search", allow(h.search("/Users"), http.MethodPost))
	api.Handle("/Groups/.search", allow(h.search("/Groups"), http.MethodPost))
	for _, kind := range []string{"Users", "Groups"} {
		body := h.resourceBody(kind)
		api.Handle("/"+kind, allow(body(lib), http.MethodGet, http.MethodPost))
		api.Handle("/"+kind+"/{id}", allow(body(lib), http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete))
	}
	// The server root answers queries across both resource types
	// (RFC 7644 §3.4.2.1), with or without the trailing slash.
	api.Handle("", allow(lib, get...))
	api.Handle("/", allow(lib, get...))
	api.Handle("/ServiceProviderConfig", allow(http.HandlerFunc(h.serveServiceProviderConfig), get...))
	for _, p := range []string{"/Schemas", "/Schemas/{id}", "/ResourceTypes", "/ResourceTypes/{name}"} {
		api.Handle(p, allow(lib, get...))
	}
	// RFC 7644 §3.11: a server without /Me answers 501; the library does.
	api.Handle("/Me", lib)
	api.PathPrefix("/").Handler(http.HandlerFunc(h.notFound))
	// Outside the base path nothing is authenticated, so no body is read.
	r.NotFoundHandler = h.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuseUnread(w, r, scimError(http.StatusNotFound, "", "Specified endpoint does not exist."))
	}))
	return r
}

// allow serves the listed methods with next and answers any other with
// 405, an Allow header naming them (RFC 9110 §15.5.6) and a SCIM error.
// Where GET is served, HEAD is too (RFC 9110 §9.3.2): the GET without its
// body, which net/http drops for a HEAD request.
func allow(next http.Handler, methods ...string) http.Handler {
	if slices.Contains(methods, http.MethodGet) {
		methods = append(slices.Clone(methods), http.MethodHead)
	}
	list := strings.Join(methods, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead && slices.Contains(methods, http.MethodHead) {
			get := r.Clone(r.Context())
			get.Method = http.MethodGet
			next.ServeHTTP(w, get)
			return
		}
		if slices.Contains(methods, r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Allow", list)
		writeError(w, scimError(http.StatusMethodNotAllowed, "",
			fmt.Sprintf("Method %s is not allowed on this endpoint; allowed: %s.", r.Method, list)))
	})
}

// serveLibrary hands the request to the library server, below the base
// path.
func (h *handler) serveLibrary(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		// Before the library parses it.
		if serr := h.checkFilter(q.Get("filter")); serr != nil {
			writeError(w, *serr)
			return
		}
		if r.URL.Path == h.opts.BasePath+"/Users" && h.serveUserList(w, r, q) {
			return
		}
		if id, ok := strings.CutPrefix(r.URL.Path, h.opts.BasePath+"/Users/"); ok && h.serveUser(w, r, id, q) {
			return
		}
	}
	set := h.schemasOf(r)
	s, err := h.server(set, h.baseURL(r))
	if err != nil {
		h.log.Error("build server", zap.Error(err))
		writeError(w, errInternal("server configuration"))
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, h.opts.BasePath)
	r2.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, h.opts.BasePath)
	if r2.URL.Path == "" {
		r2.URL.Path = "/"
	}
	// The library strips a leading /v2 from every path, which would break
	// a resource path that starts with it; there is none below the base
	// path, so nothing else needs escaping.
	r2.Body = r.Body
	list := r2.URL.Path == "/Users" || r2.URL.Path == "/Groups" || r2.URL.Path == "/"
	inm := r.Header.Get("If-None-Match")
	if r.Method == http.MethodPut || r.Method == http.MethodPatch {
		kw := &keptWriter{ResponseWriter: w}
		s.ServeHTTP(kw, r2.WithContext(context.WithValue(r2.Context(), keptErrorKey{}, &kw.kept)))
		return
	}
	if r.Method != http.MethodGet || (!list && inm == "") {
		s.ServeHTTP(w, r2)
		return
	}
	if list {
		pw := &pageWriter{ResponseWriter: w}
		hold := &pageHold{}
		defer h.releasePage(hold)
		ctx := context.WithValue(context.WithValue(r2.Context(), pageSizeKey{}, &pw.page), pageHoldKey{}, hold)
		if r2.URL.Path != "/" {
			// A filter listFilter finds valid is handed to the list
			// beside the request, without the query parameter the
			// library would refuse it from; an invalid one stays there
			// for the library to answer.
			rt := set.resourceTypes[0]
			if r2.URL.Path == "/Groups" {
				rt = set.resourceTypes[1]
			}
			q := r2.URL.Query()
			if e, ok := listFilter(q.Get("filter"), rt); ok {
				q.Del("filter")
				r2.URL.RawQuery = q.Encode()
				ctx = context.WithValue(ctx, listFilterKey{}, e)
			}
		}
		s.ServeHTTP(pw, r2.WithContext(ctx))
		return
	}
	lw := &listWriter{ResponseWriter: w}
	s.ServeHTTP(lw, r2)
	// RFC 7644 §3.14, RFC 9110 §13.1.2: a GET whose If-None-Match names
	// the resource's current version is 304 without a body.
	if (lw.status == 0 || lw.status == http.StatusOK) && etagListed(inm, w.Header().Get("Etag")) {
		w.Header().Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	lw.flush()
}

type keptErrorKey struct{}

// keepStatus lets a 413 answer a PUT or PATCH: the library allows 413
// only on POST (RFC 7644 §3.12 lists it for bulk requests) and turns it
// into a 500. The error is kept beside the request, and keptWriter writes
// it in place of the library's answer. A PUT or PATCH body over
// scim.maxBodyBytes is 413 too, so the status does not depend on which
// limit a large write meets.
func keepStatus(r *http.Request, err error) error {
	var se scimerrors.ScimError
	if err != nil && errors.As(err, &se) && se.Status == http.StatusRequestEntityTooLarge {
		if kept, ok := r.Context().Value(keptErrorKey{}).(*scimerrors.ScimError); ok {
			*kept = se
		}
	}
	return err
}

// keptWriter answers with the error keepStatus kept, if any, instead of
// what the library writes.
type keptWriter struct {
	http.ResponseWriter
	kept     scimerrors.ScimError
	replaced bool
}

func (k *keptWriter) WriteHeader(code int) {
	if k.kept.Status != 0 && !k.replaced {
		k.replaced = true
		writeError(k.ResponseWriter, k.kept)
		return
	}
	if !k.replaced {
		k.ResponseWriter.WriteHeader(code)
	}
}

func (k *keptWriter) Write(b []byte) (int, error) {
	if k.replaced {
		return len(b), nil
	}
	return k.ResponseWriter.Write(b)
}

// etagListed reports whether an If-None-Match header names etag, compared
// weakly (W/ prefixes ignored), or is "*".
func etagListed(header, etag string) bool {
	if etag == "" {
		return false
	}
	opaque := func(t string) string { return strings.TrimPrefix(strings.TrimSpace(t), "W/") }
	for _, t := range strings.Split(header, ",") {
		if strings.TrimSpace(t) == "*" || opaque(t) == opaque(etag) {
			return true
		}
	}
	return false
}

// listWriter holds back a conditional GET's response, to answer 304
// instead when the client has the current version.
type listWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (l *listWriter) WriteHeader(code int) {
	if l.status == 0 {
		l.status = code
	}
}

func (l *listWriter) Write(b []byte) (int, error) { return l.body.Write(b) }

// flush writes the held response, with its itemsPerPage corrected when it
// is a list (/Schemas, /ResourceTypes: a few small resources).
func (l *listWriter) flush() {
	body := l.body.Bytes()
	if l.status == 0 || l.status == http.StatusOK {
		var page map[string]any
		if err := decodeJSON(body, &page); err == nil {
			if res, ok := page["Resources"].([]any); ok {
				page["itemsPerPage"] = len(res)
				if out, err := json.Marshal(page); err == nil {
					body = out
				}
			}
		}
	}
	if l.status != 0 {
		l.ResponseWriter.WriteHeader(l.status)
	}
	_, _ = l.ResponseWriter.Write(body)
}

// pageWriter passes a list response through, with its itemsPerPage set to
// the number of resources on the page, as RFC 7644 §3.4.2 defines it (the
// library reports the requested count, which tells a client paging until
// a short page that there is always more). The page is neither held nor
// decoded: the library writes a list response in one Write, in which the
// number is replaced on the way.
type pageWriter struct {
	http.ResponseWriter
	status int
	page   pageSize
	done   bool
}

func (p *pageWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *pageWriter) Write(b []byte) (int, error) {
	if p.done || !p.page.set || (p.status != 0 && p.status != http.StatusOK) {
		return p.ResponseWriter.Write(b)
	}
	p.done = true
	j, k, ok := itemsPerPageAt(b)
	if !ok {
		return p.ResponseWriter.Write(b)
	}
	var digits [20]byte
	for _, part := range [][]byte{b[:j], strconv.AppendInt(digits[:0], int64(p.page.n), 10), b[k:]} {
		if _, err := p.ResponseWriter.Write(part); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// pageSize is the number of resources a list handler put on its page.
type pageSize struct {
	n   int
	set bool
}

type pageSizeKey struct{}

// notePage returns a function that records, for the listWriter serving r,
// how many resources a list handler's page holds, and passes the page on.
func notePage(r *http.Request) func(elscim.Page, error) (elscim.Page, error) {
	return func(p elscim.Page, err error) (elscim.Page, error) {
		if ps, ok := r.Context().Value(pageSizeKey{}).(*pageSize); ok && err == nil {
			ps.n, ps.set = len(p.Resources), true
		}
		return p, err
	}
}

// itemsPerPageAt returns where the number of a list response's
// itemsPerPage starts (j) and ends (k) in body, as the library encodes the
// response: a map, whose keys encoding/json sorts, so Resources comes first
// and the last "itemsPerPage": is the response's own (a resource's string
// holding those bytes has its quotes escaped).
func itemsPerPageAt(body []byte) (j, k int, ok bool) {
	key := []byte(`"itemsPerPage":`)
	i := bytes.LastIndex(body, key)
	if i < 0 {
		return 0, 0, false
	}
	j = i + len(key)
	k = j
	for k < len(body) && (body[k] == '-' || (body[k] >= '0' && body[k] <= '9')) {
		k++
	}
	return j, k, true
}

func (h *handler) notFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, scimError(http.StatusNotFound, "", "Specified endpoint does not exist."))
}

// libLogger adapts zap to the library's Logger.
type libLogger struct{ l *zap.Logger }

func (l libLogger) Error(args ...any) {
	l.l.Error("scim library", zap.String("detail", fmt.Sprint(args...)))
}
