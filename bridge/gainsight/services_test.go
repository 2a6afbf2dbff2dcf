package gainsight

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"
)

const okEmpty = `{"result":true,"errorCode":null,"errorDesc":null,"requestId":"r1","data":null,"message":null}`

func TestNewValidation(t *testing.T) {
	log := zaptest.NewLogger(t)
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"services default", Options{BaseURL: "https://x.gainsightcloud.com", Logger: log}, ""},
		{"users-v1", Options{BaseURL: "http://127.0.0.1:1", API: APIUsersV1, Logger: log}, ""},
		{"nil logger", Options{BaseURL: "https://x"}, "logger is required"},
		{"unknown api", Options{BaseURL: "https://x", API: "soap", Logger: log}, `api "soap"`},
		{"bad url", Options{BaseURL: "x.example.com", Logger: log}, "baseURL"},
		{"negative budget", Options{BaseURL: "https://x", PerHour: -1, Logger: log}, "perHour must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Registerer = prometheus.NewRegistry()
			c, err := New(tt.opts)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := New(Options{BaseURL: "https://x", Logger: log}); err == nil || !strings.Contains(err.Error(), "registerer is required") {
		t.Fatalf("nil registerer: %v", err)
	}
}

func TestServicesRequestShape(t *testing.T) {
	type call func(context.Context, Client) error
	tests := []struct {
		name      string
		route     string
		answer    string
		call      call
		wantQuery map[string][]string
		wantBody  string
	}{
		{
			name:   "create",
			route:  "POST /v1/users/services",
			answer: `{"result":true,"requestId":"r","data":{"success":[{"Gsid":"G1","Email":"a@x.com","SFDCUserName":"a@x.com"}],"errors":[]}}`,
			call: func(ctx context.Context, c Client) error {
				_, err := c.Create(ctx, []Record{{"Email": "a@x.com", "SFDCUserName": "a@x.com", "Name": "A"}})
				return err
			},
			wantQuery: map[string][]string{"notify": {"false"}},
			wantBody:  `{"records":[{"Email":"a@x.com","SFDCUserName":"a@x.com","Name":"A"}]}`,
		},
		{
			name:   "update",
			route:  "PUT /v1/users/services",
			answer: `{"result":true,"data":{"success":[{"Gsid":"G1"}],"errors":[]}}`,
			call: func(ctx context.Context, c Client) error {
				_, err := c.Update(ctx, []Record{{"Gsid": "G1", "Title": "CTO", "permissionBundles": []string{"Admin"}}})
				return err
			},
			wantQuery: map[string][]string{"key": {"Gsid"}},
			wantBody:  `{"records":[{"Gsid":"G1","Title":"CTO","permissionBundles":["Admin"]}],"permissionBundleAction":"overwrite"}`,
		},
		{
			name:   "deactivate",
			route:  "PUT /v1/users/services/status",
			answer: okEmpty,
			call: func(ctx context.Context, c Client) error {
				_, err := c.SetStatus(ctx, []string{"G1", "G2"}, false)
				return err
			},
			wantQuery: map[string][]string{"status": {"false"}},
			wantBody:  `["G1","G2"]`,
		},
		{
			name:   "activate",
			route:  "PUT /v1/users/services/status",
			answer: okEmpty,
			call: func(ctx context.Context, c Client) error {
				_, err := c.SetStatus(ctx, []string{"G1"}, true)
				return err
			},
			wantQuery: map[string][]string{"status": {"true"}},
			wantBody:  `["G1"]`,
		},
		{
			name:   "find",
			route:  "POST /v1/users/services/list",
			answer: `{"result":true,"data":{"records":[],"totalCount":0}}`,
			call: func(ctx context.Context, c Client) error {
				_, err := c.Find(ctx, []Condition{
					{Name: "Email", Operator: "EQ", Values: []string{"a@x.com"}},
					{Name: "SFDCUserName", Values: []string{"a@x.com", "b@x.com"}},
				})
				return err
			},
			wantQuery: map[string][]string{},
			wantBody: `{"select":["Gsid","FirstName","LastName","Name","Email","SFDCUserName","SfdcUserId","Title","Timezone","Locale","Manager","LicenseType","SystemType","IsActiveUser","IsSuperAdmin","CompanyID","permissionBundles"],
				"where":{"conditions":[{"name":"Email","alias":"A","operator":"EQ","value":["a@x.com"]},{"name":"SFDCUserName","alias":"B","operator":"EQ","value":["a@x.com","b@x.com"]}],"expression":"A OR B"},
				"limit":100,"page":0,"includeTotal":true}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGainsight(t, nil, map[string][]canned{tt.route: {{status: 200, body: tt.answer}}})
			c, _ := testClient(t, f.srv.URL, nil)
			if err := tt.call(context.Background(), c); err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if got := r.method + " " + r.path; got != tt.route {
				t.Errorf("route = %s, want %s", got, tt.route)
			}
			if !reflect.DeepEqual(map[string][]string(r.query), tt.wantQuery) {
				t.Errorf("query = %v, want %v", r.query, tt.wantQuery)
			}
			if !reflect.DeepEqual(r.json(t), mustJSON(t, tt.wantBody)) {
				t.Errorf("body = %s\nwant %s", r.body, tt.wantBody)
			}
			if got := r.header.Get("accesskey"); got != "secret-key-123" {
				t.Errorf("accesskey = %q", got)
			}
			if got := r.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := r.header.Get("User-Agent"); got != "gainsight-scim-bridge/test" {
				t.Errorf("User-Agent = %q", got)
			}
		})
	}
}

func TestErrorClasses(t *testing.T) {
	const (
		err429  = `{"result":false,"errorCode":"GU_2400","errorDesc":"too many requests","requestId":"q429","data":null}`
		err500  = `{"result":false,"errorCode":"GU_1101","errorDesc":"unexpected processing error","requestId":"q500"}`
		updated = `{"result":true,"data":{"success":[{"Gsid":"G1"}],"errors":[]}}`
	)
	tests := []struct {
		name       string
		create     bool // Create (not idempotent) instead of Update
		answers    []canned
		timeout    time.Duration
		wantReason string // "" = success
		wantCode   string
		wantStatus int
		wantCalls  int
		retryable  bool
		permanent  bool
		retries    map[string]float64
	}{
		{name: "auth", answers: []canned{{status: 401, body: `{"result":false,"errorCode":"GS_APIG_2401","errorDesc":"unauthorized"}`}},
			wantReason: ReasonAuth, wantCode: CodeUnauthorized, wantStatus: 401, wantCalls: 1, permanent: true},
		{name: "ip allow-list", answers: []canned{{status: 403, body: `{"result":false,"errorCode":"GS_APIG_2402","errorDesc":"ip not allowed"}`}},
			wantReason: ReasonAuth, wantCode: CodeIPNotAllowed, wantStatus: 403, wantCalls: 1, permanent: true},
		{name: "self manager", answers: []canned{{status: 400, body: `{"result":false,"errorCode":"GU_2410","errorDesc":"a user cannot be their own manager"}`}},
			wantReason: ReasonValidation, wantCode: CodeSelfManager, wantStatus: 400, wantCalls: 1, permanent: true},
		{name: "duplicate", answers: []canned{{status: 400, body: `{"result":false,"errorCode":"GU_2411","errorDesc":"update conflict"}`}},
			wantReason: ReasonDuplicate, wantCode: CodeDuplicate, wantStatus: 400, wantCalls: 1, permanent: true},
		{name: "not found", answers: []canned{{status: 404, body: `{"result":false,"errorDesc":"no such route"}`}},
			wantReason: ReasonNotFound, wantStatus: 404, wantCalls: 1, permanent: true},
		{name: "result false on 200", answers: []canned{{status: 200, body: `{"result":false,"errorCode":"GU_2409","errorDesc":"key not supported"}`}},
			wantReason: ReasonValidation, wantCode: CodeKeyUnsupported, wantStatus: 200, wantCalls: 1, permanent: true},
		{name: "undecodable success", answers: []canned{{status: 200, body: `<html>`}},
			wantReason: ReasonOther, wantStatus: 200, wantCalls: 1},
		{name: "5xx then ok", answers: []canned{{status: 500, body: err500}, {status: 503, body: ""}, {status: 200, body: updated}},
			wantCalls: 3, retries: map[string]float64{ReasonServerError: 2}},
		{name: "429 then ok", answers: []canned{{status: 429, body: err429}, {status: 200, body: updated}},
			wantCalls: 2, retries: map[string]float64{ReasonRateLimited: 1}},
		{name: "connection drop then ok", answers: []canned{{drop: true}, {status: 200, body: updated}},
			wantCalls: 2, retries: map[string]float64{ReasonNetwork: 1}},
		{name: "timeout then ok", timeout: 100 * time.Millisecond, answers: []canned{{hang: true}, {status: 200, body: updated}},
			wantCalls: 2, retries: map[string]float64{ReasonTimeout: 1}},
		{name: "create 5xx not repeated", create: true, answers: []canned{{status: 500, body: err500}},
			wantReason: ReasonServerError, wantCode: CodeUnexpected, wantStatus: 500, wantCalls: 1, retryable: true},
		{name: "create lost response not repeated", create: true, answers: []canned{{drop: true}},
			wantReason: ReasonNetwork, wantCalls: 1, retryable: true},
		{name: "create timeout not repeated", create: true, timeout: 100 * time.Millisecond, answers: []canned{{hang: true}},
			wantReason: ReasonTimeout, wantCalls: 1, retryable: true},
		{name: "create 429 repeated", create: true, answers: []canned{{status: 429, body: err429},
			{status: 200, body: `{"result":true,"data":{"success":[{"Gsid":"G9","Email":"a@x.com"}],"errors":[]}}`}},
			wantCalls: 2, retries: map[string]float64{ReasonRateLimited: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			route, op := "PUT /v1/users/services", OpUpdate
			if tt.create {
				route, op = "POST /v1/users/services", OpCreate
			}
			clock := newFakeClock(time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC))
			f := newFakeGainsight(t, clock, map[string][]canned{route: tt.answers})
			c, reg := testClient(t, f.srv.URL, func(o *Options) {
				o.Clock = clock
				if tt.timeout > 0 {
					o.Timeout = tt.timeout
				}
			})
			var err error
			if tt.create {
				_, err = c.Create(context.Background(), []Record{{"Email": "a@x.com", "SFDCUserName": "a@x.com", "Name": "A"}})
			} else {
				_, err = c.Update(context.Background(), []Record{{"Gsid": "G1", "Title": "x"}})
			}
			if got := len(f.requests()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			for reason, want := range tt.retries {
				if got := testutil.ToFloat64(clientMetrics(t, reg, "scim_bridge_upstream_retries_total", op, reason)); got != want {
					t.Errorf("retries{%s,%s} = %v, want %v", op, reason, got, want)
				}
			}
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if e.Reason() != tt.wantReason || e.Code != tt.wantCode || e.Status != tt.wantStatus || e.Op != op {
				t.Errorf("error = reason %q code %q status %d op %q, want %q %q %d %q", e.Reason(), e.Code, e.Status, e.Op, tt.wantReason, tt.wantCode, tt.wantStatus, op)
			}
			if e.Retryable() != tt.retryable || e.Permanent() != tt.permanent {
				t.Errorf("retryable %v permanent %v, want %v %v", e.Retryable(), e.Permanent(), tt.retryable, tt.permanent)
			}
			if ReasonOf(err) != tt.wantReason {
				t.Errorf("ReasonOf = %q", ReasonOf(err))
			}
		})
	}
}

// clientMetrics returns a collector yielding one series of a metric, for
// testutil.ToFloat64.
func clientMetrics(t *testing.T, reg *prometheus.Registry, name string, labels ...string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			vals := make([]string, len(m.GetLabel()))
			for i, l := range m.GetLabel() {
				vals[i] = l.GetValue()
			}
			if !sameSet(vals, labels) {
				continue
			}
			v := 0.0
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			}
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
			g.Set(v)
			return g
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
