package gainsight

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBatchResults(t *testing.T) {
	three := []Record{
		{"Email": "a@x.com", "SFDCUserName": "a@x.com", "Name": "A"},
		{"Email": "b@x.com", "SFDCUserName": "b@x.com", "Name": "B"},
		{"Email": "c@x.com", "SFDCUserName": "c.sfdc@x.com", "Name": "C"},
	}
	type want struct {
		gsid   string
		reason string // "" = success
		msg    string
	}
	tests := []struct {
		name     string
		route    string
		status   int
		answer   string
		call     func(context.Context, Client) ([]Result, error)
		want     []want
		okCount  float64
		errCount float64
	}{
		{
			name:  "create partial success out of order",
			route: "POST /v1/users/services", status: 200,
			answer: `{"result":true,"requestId":"r","data":{
				"success":[{"Gsid":"G3","Email":"C@X.com","SFDCUserName":"c.sfdc@x.com"},{"Gsid":"G1","Email":"a@x.com","SFDCUserName":"a@x.com"}],
				"errors":[{"Email":"b@x.com","SFDCUserName":"b@x.com","errorCode":"GU_2411","errorMessage":"duplicate: a user with Email \"b@x.com\" already exists"}]}}`,
			call:    func(ctx context.Context, c Client) ([]Result, error) { return c.Create(ctx, three) },
			want:    []want{{gsid: "G1"}, {reason: ReasonDuplicate, msg: "already exists"}, {gsid: "G3"}},
			okCount: 2, errCount: 1,
		},
		{
			name:  "create all rejected with 400 still reports per record",
			route: "POST /v1/users/services", status: 400,
			answer: `{"result":false,"errorCode":"GU_2401","errorDesc":"bulk create failed","data":{"success":[],
				"errors":[{"record":{"SFDCUserName":"c.sfdc@x.com"},"errorMessage":"LicenseType \"Gold\" does not exist"},
				{"Email":"a@x.com","errorMessage":"a name is required"},
				{"index":1,"errorMessage":"Email is required"}]}}`,
			call:    func(ctx context.Context, c Client) ([]Result, error) { return c.Create(ctx, three) },
			want:    []want{{reason: ReasonValidation, msg: "a name"}, {reason: ReasonValidation, msg: "Email is required"}, {reason: ReasonValidation, msg: "Gold"}},
			okCount: 0, errCount: 3,
		},
		{
			name:  "create entry missing",
			route: "POST /v1/users/services", status: 200,
			answer:  `{"result":true,"data":{"success":[{"Gsid":"G1","SFDCUserName":"a@x.com"}],"errors":[]}}`,
			call:    func(ctx context.Context, c Client) ([]Result, error) { return c.Create(ctx, three[:2]) },
			want:    []want{{gsid: "G1"}, {reason: ReasonOther, msg: "no result"}},
			okCount: 1, errCount: 1,
		},
		{
			name:  "update by gsid with unknown user",
			route: "PUT /v1/users/services", status: 200,
			answer: `{"result":true,"data":{"success":[{"Gsid":"G2","Title":"t"}],
				"errors":[{"Gsid":"G1","errorCode":"GU_2402","errorMessage":"user G1 not found"}]}}`,
			call: func(ctx context.Context, c Client) ([]Result, error) {
				return c.Update(ctx, []Record{{"Gsid": "G1", "Title": "t"}, {"Gsid": "G2", "Title": "t"}})
			},
			want:    []want{{gsid: "G1", reason: ReasonNotFound, msg: "not found"}, {gsid: "G2"}},
			okCount: 1, errCount: 1,
		},
		{
			name:  "update self manager",
			route: "PUT /v1/users/services", status: 200,
			answer: `{"result":true,"data":{"success":[],"errors":[{"Gsid":"G1","errorCode":"GU_2410","errorMessage":"a user cannot be their own manager"}]}}`,
			call: func(ctx context.Context, c Client) ([]Result, error) {
				return c.Update(ctx, []Record{{"Gsid": "G1", "Manager": "G1"}})
			},
			want:    []want{{gsid: "G1", reason: ReasonValidation, msg: "own manager"}},
			okCount: 0, errCount: 1,
		},
		{
			name:  "status success as GSID strings",
			route: "PUT /v1/users/services/status", status: 200,
			answer: `{"result":true,"data":{"success":["G2"],"errors":[{"Gsid":"G1","errorMessage":"an inactive External user cannot be reactivated"}]}}`,
			call: func(ctx context.Context, c Client) ([]Result, error) {
				return c.SetStatus(ctx, []string{"G1", "G2"}, true)
			},
			want:    []want{{gsid: "G1", reason: ReasonValidation, msg: "External"}, {gsid: "G2"}},
			okCount: 1, errCount: 1,
		},
		{
			name:  "status without per-record data",
			route: "PUT /v1/users/services/status", status: 200,
			answer: okEmpty,
			call: func(ctx context.Context, c Client) ([]Result, error) {
				return c.SetStatus(ctx, []string{"G1", "G2"}, false)
			},
			want:    []want{{gsid: "G1"}, {gsid: "G2"}},
			okCount: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGainsight(t, nil, map[string][]canned{tt.route: {{status: tt.status, body: tt.answer}}})
			c, reg := testClient(t, f.srv.URL, nil)
			res, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if len(res) != len(tt.want) {
				t.Fatalf("%d results, want %d", len(res), len(tt.want))
			}
			for i, w := range tt.want {
				r := res[i]
				if r.GSID != w.gsid {
					t.Errorf("result %d GSID = %q, want %q", i, r.GSID, w.gsid)
				}
				if w.reason == "" {
					if r.Err != nil {
						t.Errorf("result %d: %v, want success", i, r.Err)
					}
					continue
				}
				e, ok := errorsAs(r.Err)
				if !ok {
					t.Errorf("result %d: err %v, want *Error", i, r.Err)
					continue
				}
				if e.Reason() != w.reason || !strings.Contains(e.Message, w.msg) {
					t.Errorf("result %d: reason %q message %q, want %q containing %q", i, e.Reason(), e.Message, w.reason, w.msg)
				}
			}
			op := map[string]string{"POST": OpCreate, "PUT /v1/users/services": OpUpdate, "PUT /v1/users/services/status": OpStatus}
			name := op[strings.Fields(tt.route)[0]]
			if name == "" {
				name = op[tt.route]
			}
			if got := testutil.ToFloat64(clientMetrics(t, reg, "scim_bridge_upstream_records_total", name, "ok")); got != tt.okCount {
				t.Errorf("records ok = %v, want %v", got, tt.okCount)
			}
			if got := testutil.ToFloat64(clientMetrics(t, reg, "scim_bridge_upstream_records_total", name, "error")); got != tt.errCount {
				t.Errorf("records error = %v, want %v", got, tt.errCount)
			}
		})
	}
}

func TestBatchLimits(t *testing.T) {
	f := newFakeGainsight(t, nil, nil)
	c, _ := testClient(t, f.srv.URL, nil)
	big := make([]Record, MaxBatch+1)
	for i := range big {
		big[i] = Record{"Gsid": fmt.Sprint(i)}
	}
	ctx := context.Background()
	if _, err := c.Create(ctx, big); err == nil {
		t.Error("Create of 51 records succeeded")
	}
	if _, err := c.Update(ctx, big); err == nil {
		t.Error("Update of 51 records succeeded")
	}
	if _, err := c.Update(ctx, []Record{{"Title": "no gsid"}}); err == nil {
		t.Error("Update without Gsid succeeded")
	}
	if res, err := c.Create(ctx, nil); err != nil || res != nil {
		t.Errorf("empty Create = %v, %v", res, err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent for invalid batches", n)
	}
}

func TestFindPaging(t *testing.T) {
	page := func(from, n, total int) string {
		recs := make([]map[string]any, n)
		for i := range recs {
			recs[i] = map[string]any{"Gsid": fmt.Sprintf("G%d", from+i), "Email": fmt.Sprintf("u%d@x.com", from+i)}
		}
		b, _ := json.Marshal(map[string]any{"result": true, "data": map[string]any{"records": recs, "totalCount": total}})
		return string(b)
	}
	tests := []struct {
		name      string
		answers   []canned
		wantUsers int
		wantCalls int
	}{
		{"three pages, short last", []canned{{status: 200, body: page(0, 100, 250)}, {status: 200, body: page(100, 100, 250)}, {status: 200, body: page(200, 50, 250)}}, 250, 3},
		{"exact multiple stops at total", []canned{{status: 200, body: page(0, 100, 200)}, {status: 200, body: page(100, 100, 200)}}, 200, 2},
		{"empty", []canned{{status: 200, body: `{"result":true,"data":{"records":[],"totalCount":0}}`}}, 0, 1},
		{"bare array data", []canned{{status: 200, body: `{"result":true,"data":[{"Gsid":"G1"}]}`}}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGainsight(t, nil, map[string][]canned{"POST /v1/users/services/list": tt.answers})
			c, _ := testClient(t, f.srv.URL, nil)
			recs, err := c.Find(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tt.wantUsers {
				t.Errorf("%d users, want %d", len(recs), tt.wantUsers)
			}
			reqs := f.requests()
			if len(reqs) != tt.wantCalls {
				t.Fatalf("%d calls, want %d", len(reqs), tt.wantCalls)
			}
			for i, r := range reqs {
				body := r.json(t).(map[string]any)
				if body["page"] != float64(i) || body["limit"] != float64(listPageSize) {
					t.Errorf("call %d: page %v limit %v", i, body["page"], body["limit"])
				}
				if _, ok := body["where"]; ok {
					t.Errorf("call %d: where sent without conditions", i)
				}
			}
			for i, r := range recs {
				if r.GSID() != fmt.Sprintf("G%d", i) && tt.name != "bare array data" {
					t.Errorf("record %d = %v", i, r.GSID())
				}
			}
		})
	}
}

func TestAlias(t *testing.T) {
	for i, want := range map[int]string{0: "A", 1: "B", 25: "Z", 26: "AA", 27: "AB", 51: "AZ", 52: "BA"} {
		if got := alias(i); got != want {
			t.Errorf("alias(%d) = %q, want %q", i, got, want)
		}
	}
}
