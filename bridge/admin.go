package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
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

func (b *Bridge) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !config.AuthorizationMatches(r.Header.Get("Authorization"), b.cur.Load().tokens) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="scim-bridge"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "a valid bearer token is required"})
			return
		}
		next.ServeHTTP(w, r)
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
	return ex, nil
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
