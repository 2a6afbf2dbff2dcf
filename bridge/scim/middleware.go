package scim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/gorilla/mux"
	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 {
		return id
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// observe logs one line per request, records metrics and turns panics
// into 500 responses.
func (h *handler) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := h.opts.Now()
		rid := requestID(r)
		w.Header().Set("X-Request-Id", rid)
		r = r.WithContext(withRequestID(r.Context(), rid))
		route := "unmatched"
		if cr := mux.CurrentRoute(r); cr != nil {
			if t, err := cr.GetPathTemplate(); err == nil {
				route = t
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				h.log.Error("panic serving request", zap.String("request_id", rid),
					zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
				if sw.status == 0 {
					writeError(sw, errInternal("unexpected failure"))
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := h.opts.Now().Sub(start)
			h.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
			h.metrics.duration.WithLabelValues(route, r.Method).Observe(d.Seconds())
			h.log.Info("scim request",
				zap.String("method", r.Method),
				zap.String("route", route),
				zap.Int("status", status),
				zap.Duration("duration", d),
				zap.String("request_id", rid))
		}()
		next.ServeHTTP(sw, r)
	})
}

// authenticate accepts a bearer token whose SHA-256 equals one of the
// configured hashes, compared in constant time.
func (h *handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hashes := h.opts.TokenHashes()
		i := config.MatchToken(config.BearerToken(r.Header.Get("Authorization")), hashes)
		if i < 0 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="scim-bridge"`)
			refuseUnread(w, r, scimError(http.StatusUnauthorized, "", "A valid bearer token is required."))
			return
		}
		next.ServeHTTP(w, r.WithContext(withTokenName(r.Context(), h.opts.TokenName(hashes[i]))))
	})
}

// refuseUnread answers e to a request whose body is not wanted (it is not
// authenticated, or not addressed to the API) without reading that body:
// the connection is closed after the answer, and the server's own
// clean-up, which would read up to 256 KiB of the body to keep the
// connection, gives up at once. So a client that sends or trickles a body
// nobody asked for costs no more than its headers did.
func refuseUnread(w http.ResponseWriter, r *http.Request, e scimerrors.ScimError) {
	if r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
		writeError(w, e)
		return
	}
	w.Header().Set("Connection", "close")
	writeError(w, e)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	_ = rc.SetReadDeadline(time.Now())
}

// limitBody enforces the body limit and checks the media type of request
// bodies, and leaves the body read into memory.
func (h *handler) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
			next.ServeHTTP(w, r)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || (mt != "application/scim+json" && mt != "application/json") {
				writeError(w, scimError(http.StatusUnsupportedMediaType, "", "Content-Type must be application/scim+json or application/json."))
				return
			}
		}
		// Read into one buffer of the announced size where there is one,
		// rather than growing it by doubling.
		var buf bytes.Buffer
		if r.ContentLength > 0 {
			buf.Grow(int(min(r.ContentLength, h.opts.MaxBodyBytes)) + 1)
		}
		_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
		body := buf.Bytes()
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, scimError(http.StatusRequestEntityTooLarge, "", "The request body exceeds "+strconv.FormatInt(h.opts.MaxBodyBytes, 10)+" bytes."))
				return
			}
			writeError(w, scimError(http.StatusBadRequest, scimerrors.ScimTypeInvalidSyntax, "The request body could not be read."))
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, body))
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

type bodyKey struct{}

// readBody returns the body limitBody read into memory, without copying
// it again.
func readBody(r *http.Request) ([]byte, error) {
	if b, ok := r.Context().Value(bodyKey{}).([]byte); ok {
		return b, nil
	}
	return io.ReadAll(r.Body)
}

// resourceBody returns middleware that normalises the POST, PUT and PATCH
// bodies of the kind ("Users" or "Groups") of resource before the library
// sees them (normalize.go).
func (h *handler) resourceBody(kind string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
				next.ServeHTTP(w, r)
				return
			}
			body, err := readBody(r)
			if err != nil {
				writeError(w, scimError(http.StatusBadRequest, scimerrors.ScimTypeInvalidSyntax, "The request body could not be read."))
				return
			}
			rs := h.schemasOf(r).user
			if kind == "Groups" {
				rs = h.schemasOf(r).group
			}
			body, doc, serr := rs.normalizeBody(r.Method, body, h.opts.Limits)
			if serr != nil {
				writeError(w, *serr)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			if kind == "Users" && r.Method == http.MethodPost && doc != nil && h.serveCreate(w, r, doc) {
				return
			}
			if kind == "Users" && r.Method == http.MethodPut && doc != nil && h.servePut(w, r, doc) {
				return
			}
			if kind == "Users" && r.Method == http.MethodPatch && h.servePatch(w, r, body) {
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
