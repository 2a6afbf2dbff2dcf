package scim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/sqlite"
)

const testToken = "s3cret-token"

// testValidator accepts LicenseType Full or Viewer and rejects a user in
// both the East and West groups (a dropdown "Region" conflict).
type testValidator struct{}

type fieldErr struct{ attr, msg string }

func (e *fieldErr) Error() string         { return e.attr + ": " + e.msg }
func (e *fieldErr) SCIMAttribute() string { return e.attr }

func (testValidator) ValidateUser(doc map[string]any) error {
	var errs []error
	if lt := stringAt(doc, URNGainsight, "LicenseType"); lt != "" && lt != "Full" && lt != "Viewer" {
		errs = append(errs, &fieldErr{URNGainsight + ":LicenseType", fmt.Sprintf("%q is not a configured license type", lt)})
	}
	if tz := stringAt(doc, "timezone"); tz != "" {
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			errs = append(errs, &fieldErr{"timezone", fmt.Sprintf("%q is not an IANA time zone", tz)})
		}
	}
	return errors.Join(errs...)
}

func (testValidator) CheckGroups(groups []store.GroupRef) error {
	var east, west bool
	for _, g := range groups {
		east = east || g.DisplayName == "East"
		west = west || g.DisplayName == "West"
	}
	if east && west {
		return errors.New(`field Region__gc: "East" (groups East) vs "West" (groups West)`)
	}
	return nil
}

type fixture struct {
	t        testing.TB
	h        http.Handler
	handler  *handler // h is its router
	store    Store
	sqlite   *sqlite.Store
	reg      *prometheus.Registry
	notified atomic.Int64
	mu       sync.Mutex
	now      time.Time
}

type fixtureOption func(*Options)

func newFixture(t testing.TB, st Store, opts ...fixtureOption) *fixture {
	t.Helper()
	f := &fixture{t: t, reg: prometheus.NewRegistry(), now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var logger *zap.Logger
	if tt, ok := t.(*testing.T); ok {
		logger = zaptest.NewLogger(tt)
	} else {
		logger = zap.NewNop()
	}
	if st == nil {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "bridge.db"), sqlite.Options{Now: f.clock})
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() { _ = db.Close() })
		f.sqlite = db
		st = db
	}
	f.store = st
	sum := sha256.Sum256([]byte(testToken))
	o := Options{
		Store:       st,
		Validator:   testValidator{},
		TokenHashes: func() [][]byte { return [][]byte{sum[:]} },
		Notify:      func() { f.notified.Add(1) },
		Logger:      logger,
		Registerer:  f.reg,
		Now:         f.clock,
	}
	for _, fn := range opts {
		fn(&o)
	}
	h, err := newHandler(o)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	f.handler, f.h = h, h.router()
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(time.Second)
	return f.now
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (f *fixture) do(method, path, body string, headers ...string) response {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://bridge.test"+path, rd)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if rec.Body.Len() > 0 {
		d := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
		d.UseNumber()
		if err := d.Decode(&res.body); err != nil {
			f.t.Fatalf("%s %s: response is not a JSON object: %v: %s", method, path, err, rec.Body.String())
		}
	}
	return res
}

// mustDo is do that fails the test unless the status is want.
func (f *fixture) mustDo(want int, method, path, body string, headers ...string) response {
	f.t.Helper()
	r := f.do(method, path, body, headers...)
	if r.status != want {
		f.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r
}

func (f *fixture) createUser(userName string, extra string) string {
	f.t.Helper()
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `","active":true` + extra + `}`
	r := f.mustDo(http.StatusCreated, http.MethodPost, "/scim/v2/Users", body)
	return r.body["id"].(string)
}

func (f *fixture) createGroup(name string, members ...string) string {
	f.t.Helper()
	var ms []string
	for _, m := range members {
		ms = append(ms, `{"value":"`+m+`"}`)
	}
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"` + name + `","members":[` + strings.Join(ms, ",") + `]}`
	r := f.mustDo(http.StatusCreated, http.MethodPost, "/scim/v2/Groups", body)
	return r.body["id"].(string)
}

// at walks a decoded JSON value by keys and indexes ("emails", "0", "value").
func at(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func urlq(s string) string { return url.QueryEscape(s) }

func jsonNum(i int) json.Number { return json.Number(fmtInt(i)) }

// metric sums every sample (counter, gauge, or histogram count) of name.
func (f *fixture) metric(name string) float64 {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

func hashOf(tok string) []byte {
	s := sha256.Sum256([]byte(tok))
	return s[:]
}

func zapNop() *zap.Logger { return zap.NewNop() }

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

// gatherText renders the registry in the text exposition format.
func (f *fixture) gatherText() string {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			f.t.Fatal(err)
		}
	}
	return b.String()
}

// doRaw sends a request and returns only the status, for fuzzing.
func (f *fixture) doRaw(method, path, body string) int {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://bridge.test"+path, rd)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec.Code
}
