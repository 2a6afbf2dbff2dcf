package gainsighttest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

const testKey = "test-key"

// fakeClock is a settable clock for the rate windows.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// seedTenant is the tenant most tests start from: two users, one of them an
// active super admin, plus an inactive external user.
func seedTenant() Tenant {
	return Tenant{
		AccessKey:    testKey,
		CustomFields: map[string]string{"Region__gc": FieldDropdown, "Remote__gc": FieldBoolean, "Level__gc": FieldNumber, "Skills__gc": FieldMultiPicklist, "Dept__gc": FieldString},
		Users: []map[string]any{
			{"Gsid": "G-ADA", "Email": "ada@example.com", "SFDCUserName": "ada@example.com", "Name": "Ada Lovelace", "LicenseType": "Viewer", "permissionBundles": []any{"User"}},
			{"Gsid": "G-ROOT", "Email": "root@example.com", "SFDCUserName": "root", "Name": "Root", "IsSuperAdmin": true, "LicenseType": "Viewer"},
			{"Email": "ext@partner.com", "SFDCUserName": "ext@partner.com", "Name": "Ext", "SystemType": "External", "CompanyID": "C1", "LicenseType": "External", "IsActiveUser": false},
		},
	}
}

type harness struct {
	t   *testing.T
	sim *Server
	srv *httptest.Server
}

func newHarness(t *testing.T, tn Tenant, opts ...Option) *harness {
	t.Helper()
	opts = append([]Option{WithLogger(zaptest.NewLogger(t))}, opts...)
	sim := New(tn, opts...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &harness{t: t, sim: sim, srv: srv}
}

// reply is a decoded answer.
type reply struct {
	Status    int
	Result    bool            `json:"result"`
	ErrorCode *string         `json:"errorCode"`
	ErrorDesc *string         `json:"errorDesc"`
	RequestID string          `json:"requestId"`
	Data      json.RawMessage `json:"data"`
	Message   *string         `json:"message"`
}

func (r reply) code() string {
	if r.ErrorCode == nil {
		return ""
	}
	return *r.ErrorCode
}

type batchData struct {
	Success []map[string]any `json:"success"`
	Errors  []map[string]any `json:"errors"`
}

func (r reply) batch(t *testing.T) batchData {
	t.Helper()
	var b batchData
	if err := json.Unmarshal(r.Data, &b); err != nil {
		t.Fatalf("batch data %s: %v", r.Data, err)
	}
	return b
}

func (r reply) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Data, &m); err != nil {
		t.Fatalf("data %s: %v", r.Data, err)
	}
	return m
}

// do sends a call with the access key; body is marshalled unless it is a
// string. A transport error is returned, not fatal.
func (h *harness) do(method, path string, body any) (reply, error) {
	return h.doKey(method, path, body, "accesskey", testKey)
}

func (h *harness) doKey(method, path string, body any, header, key string) (reply, error) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		req.Header[header] = []string{key} // the exact spelling, not canonicalised
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, &r); err != nil {
		h.t.Fatalf("%s %s: answer %q is not an envelope: %v", method, path, raw, err)
	}
	r.Status = resp.StatusCode
	return r, nil
}

// must is do that fails the test on a transport error.
func (h *harness) must(method, path string, body any) reply {
	h.t.Helper()
	r, err := h.do(method, path, body)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func records(recs ...map[string]any) map[string]any {
	if recs == nil {
		recs = []map[string]any{}
	}
	return map[string]any{"records": recs}
}

func newUser(n string) map[string]any {
	return map[string]any{"Email": n + "@example.com", "SFDCUserName": n + "@example.com", "FirstName": n, "LastName": "Test"}
}

func with(rec map[string]any, kv ...any) map[string]any {
	out := cloneRecord(rec)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}
