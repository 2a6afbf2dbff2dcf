package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	bsync "github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/sync"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func (b *Bridge) adminHandler() http.Handler {
	r := mux.NewRouter()
	r.Handle("/metrics", promhttp.HandlerFor(b.opts.Registry, promhttp.HandlerOpts{
		ErrorLog: zap.NewStdLog(b.log.Named("metrics")),
	})).Methods(http.MethodGet)
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	}).Methods(http.MethodGet)
	r.HandleFunc("/readyz", b.readyz).Methods(http.MethodGet)
	// /admin shows personal data: it takes the same bearer tokens as the
	// SCIM API. /metrics and the probes stay open for Prometheus and the
	// kubelet.
	r.Handle("/admin/users/{id}/explain", b.requireToken(http.HandlerFunc(b.explainHandler))).Methods(http.MethodGet)
	// Shadow mode's plan and the guard's held users (rollout.go); reads
	// take the SCIM or the admin tokens, decisions an admin token
	// (console.tokens), whose name the audit trail records.
	r.Handle("/admin/plan", b.requireToken(http.HandlerFunc(b.planHandler))).Methods(http.MethodGet)
	r.Handle("/admin/guard/approve", b.requireAdmin(b.guardHandler(true))).Methods(http.MethodPost)
	r.Handle("/admin/guard/reject", b.requireAdmin(b.guardHandler(false))).Methods(http.MethodPost)
	// The operator console, 404 unless console.enabled (console.go).
	r.PathPrefix("/ui").Handler(b.console)
	if b.Config().Listen.Pprof {
		// Profiles show what the process does and, through goroutine
		// stacks, some of what it holds: the SCIM tokens guard them, as
		// they guard /admin.
		r.PathPrefix("/debug/pprof/").Handler(b.requireToken(pprofHandler()))
	}
	return r
}

// pprofHandler serves net/http/pprof's index, named profiles, CPU
// profile and trace on a mux of its own (the package also registers them
// on http.DefaultServeMux, which the bridge never serves).
func pprofHandler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m
}

// requireToken lets through requests with a SCIM token or an admin token
// (console.tokens).
func (b *Bridge) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := b.cur.Load()
		h := r.Header.Get("Authorization")
		if !config.AuthorizationMatches(h, st.tokens) && !config.AuthorizationMatches(h, st.console.hashes) {
			unauthorized(w, "a valid bearer token is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// adminNameKey carries the name of the admin token a request presented.
type adminNameKey struct{}

// requireAdmin lets through requests with an admin token (console.tokens)
// and hands its name to next.
func (b *Bridge) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens := b.cur.Load().console
		i := config.MatchToken(config.BearerToken(r.Header.Get("Authorization")), tokens.hashes)
		if i < 0 {
			unauthorized(w, "an admin bearer token (console.tokens) is required")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminNameKey{}, tokens.names[i])))
	})
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="scim-bridge"`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// defaultPlanLimit is how many stored plans GET /admin/plan returns when
// the request names no limit.
const defaultPlanLimit = 1000

// planHandler serves GET /admin/plan?only=KIND&offset=N&limit=N.
func (b *Bridge) planHandler(w http.ResponseWriter, r *http.Request) {
	q := PlanQuery{Only: r.URL.Query().Get("only"), Limit: defaultPlanLimit}
	for name, dst := range map[string]*int{"offset": &q.Offset, "limit": &q.Limit} {
		if v := r.URL.Query().Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": name + " must be a number ≥ 0"})
				return
			}
			*dst = n
		}
	}
	rep, err := Plan(r.Context(), b.opts.Store, b.Config(), q, b.opts.Now())
	switch {
	case errors.Is(err, ErrUnknownKind):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	case err != nil:
		b.log.Error("plan", zap.Error(err))
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "plan failed"})
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}

// guardDecision is the body of POST /admin/guard/approve and reject.
type guardDecision struct {
	Users []string `json:"users"`
	All   bool     `json:"all"`
}

// guardHandler serves POST /admin/guard/approve (approve) or reject.
func (b *Bridge) guardHandler(approve bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body guardDecision
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.All == (len(body.Users) > 0) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": `send {"users": [id, userName or GSID, …]} or {"all": true}`})
			return
		}
		by, _ := r.Context().Value(adminNameKey{}).(string)
		decided, err := b.decideHolds(r.Context(), HoldRequest{Users: body.Users, All: body.All, Approve: approve, By: by,
			Source: store.AuditSourceAdmin})
		switch {
		case errors.Is(err, ErrNotHeld):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		case err != nil:
			b.log.Error("guard decision", zap.Error(err))
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "the decision could not be recorded"})
			return
		}
		users := make([]HeldUser, len(decided))
		for i, h := range decided {
			users[i] = heldUser(h)
		}
		key := "rejected"
		if approve {
			key = "approved"
		}
		writeJSON(w, http.StatusOK, map[string]any{key: len(users), "by": by, "users": users})
	})
}

// readyz reports ready when the store answers and a configuration is
// loaded; a replica that cannot reach its database is taken out of the
// Service until it can again.
func (b *Bridge) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if b.cur.Load() == nil {
		writeText(w, http.StatusServiceUnavailable, "config not loaded")
		return
	}
	if err := b.opts.Store.Ping(ctx); err != nil {
		b.log.Warn("readiness: store unreachable", zap.Error(err))
		writeText(w, http.StatusServiceUnavailable, "store unreachable")
		return
	}
	writeText(w, http.StatusOK, "ready")
}

func (b *Bridge) explainHandler(w http.ResponseWriter, r *http.Request) {
	ex, err := b.Explain(r.Context(), mux.Vars(r)["id"])
	w.Header().Set("Content-Type", "application/json")
	switch {
	case errors.Is(err, store.ErrNotFound):
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	case err != nil:
		b.log.Error("explain", zap.Error(err))
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "explain failed"})
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(ex)
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// Explanation is what `scim-bridge explain` and the admin endpoint show
// for one user: where each effective attribute came from, what was last
// pushed to Gainsight and the sync state.
type Explanation struct {
	UserID     string                 `json:"userId"`
	UserName   string                 `json:"userName"`
	Deleted    bool                   `json:"deleted,omitempty"`
	Effective  *translate.Explanation `json:"effective,omitempty"`
	Conflict   string                 `json:"conflict,omitempty"`
	GSID       string                 `json:"gsid,omitempty"`
	SyncState  string                 `json:"syncState,omitempty"`
	LastError  string                 `json:"lastError,omitempty"`
	LastPushed map[string]any         `json:"lastPushed,omitempty"`
	Active     *bool                  `json:"activeInGainsight,omitempty"`
	Updated    *time.Time             `json:"updated,omitempty"`
	// Held is the mass-deactivation guard's hold of the user, Planned
	// the plan shadow mode stored for it (nil: none).
	Held    *HeldUser    `json:"held,omitempty"`
	Planned *PlannedUser `json:"planned,omitempty"`
}

// Explain finds a user by SCIM id, userName or GSID and explains it.
func (b *Bridge) Explain(ctx context.Context, key string) (Explanation, error) {
	return Explain(ctx, b.opts.Store, b.cur.Load().mapper, key)
}

// Explain finds a user by SCIM id, userName or GSID in st and explains it
// with mapper. It is what the explain command runs without a server.
func Explain(ctx context.Context, st store.Store, mapper *translate.Mapper, key string) (Explanation, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return Explanation{}, fmt.Errorf("explain: empty user: %w", store.ErrNotFound)
	}
	var ex Explanation
	u, err := findUser(ctx, st, key)
	var info store.SyncInfo
	switch {
	case err == nil:
		ex.UserID, ex.UserName = u.ID, u.UserName
		info, err = st.GetSync(ctx, u.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Explanation{}, fmt.Errorf("explain: sync info: %w", err)
		}
		groups, err := st.GroupsOfUser(ctx, u.ID)
		if err != nil {
			return Explanation{}, fmt.Errorf("explain: groups: %w", err)
		}
		e, err := mapper.Explain(u, groups)
		if err != nil {
			return Explanation{}, fmt.Errorf("explain %s: %w", u.UserName, err)
		}
		if e.Conflict != nil {
			ex.Conflict = e.Conflict.Error()
		}
		ex.Effective = &e
	case errors.Is(err, store.ErrNotFound):
		// A deleted user survives as a tombstone linked to its GSID.
		info, err = st.SyncByGSID(ctx, key)
		if err != nil {
			return Explanation{}, fmt.Errorf("explain: no user %q: %w", key, err)
		}
		ex.UserID, ex.UserName, ex.Deleted = info.UserID, info.UserName, info.Tombstone
	default:
		return Explanation{}, fmt.Errorf("explain: %w", err)
	}
	if info.UserID != "" {
		ex.GSID, ex.SyncState, ex.LastError = info.GSID, info.State, info.LastError
		ex.LastPushed = info.Record
		if info.GSID != "" {
			active := info.Active
			ex.Active = &active
		}
		if !info.Updated.IsZero() {
			t := info.Updated
			ex.Updated = &t
		}
	}
	if err := explainRollout(ctx, st, &ex); err != nil {
		return Explanation{}, err
	}
	return ex, nil
}

// explainRollout adds the user's hold and stored plan to ex.
func explainRollout(ctx context.Context, st store.Store, ex *Explanation) error {
	holds, err := st.HoldsOf(ctx, []string{ex.UserID})
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	if h, ok := holds[ex.UserID]; ok {
		u := heldUser(h)
		ex.Held = &u
	}
	p, err := st.PlanOf(ctx, ex.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("explain: %w", err)
	default:
		d, err := bsync.DecodePlanned(p)
		if err != nil {
			return fmt.Errorf("explain: %w", err)
		}
		ex.Planned = &PlannedUser{Planned: d, PlannedAt: p.Planned}
	}
	return nil
}

// findUser resolves key as a SCIM id, then a userName, then a GSID.
func findUser(ctx context.Context, st store.Store, key string) (store.User, error) {
	if u, err := st.GetUser(ctx, key); err == nil || !errors.Is(err, store.ErrNotFound) {
		return u, err
	}
	users, _, err := st.ListUsers(ctx, store.Query{Field: "userName", Value: key, Limit: 1})
	if err != nil {
		return store.User{}, err
	}
	if len(users) == 1 {
		return users[0], nil
	}
	info, err := st.SyncByGSID(ctx, key)
	if err != nil {
		return store.User{}, err
	}
	if info.Tombstone {
		return store.User{}, store.ErrNotFound
	}
	return st.GetUser(ctx, info.UserID)
}
