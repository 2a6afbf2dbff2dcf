package gainsight

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUsersV1RequestShape(t *testing.T) {
	const user = `{"result":true,"data":{"userId":"G1","email":"a@x.com","firstName":"Ann","lastName":"Lee","role":"User","isActive":true}}`
	tests := []struct {
		name       string
		call       func(context.Context, Client) ([]Result, error)
		wantRoutes []string
		wantBodies []string // "" = no body
		wantGSIDs  []string
	}{
		{
			name: "create maps fields and defaults the role",
			call: func(ctx context.Context, c Client) ([]Result, error) {
				return c.Create(ctx, []Record{{"Email": "a@x.com", "SFDCUserName": "a@x.com", "Name": "Ann Lee", "Title": "CTO", "Region__gc": "EU", "LicenseType": "Full"}})
			},
			wantRoutes: []string{"POST /v1/users"},
			wantBodies: []string{`{"email":"a@x.com","sfdcUserName":"a@x.com","name":"Ann Lee","firstName":"Ann","lastName":"Lee","title":"CTO","Region__gc":"EU","licenseType":"Full","role":"User"}`},
			wantGSIDs:  []string{"G1"},
		},
		{
			name: "update puts the fields present",
			call: func(ctx context.Context, c Client) ([]Result, error) {
				return c.Update(ctx, []Record{{"Gsid": "G1", "Title": "CEO", "permissionBundles": []string{"Admin"}}})
			},
			wantRoutes: []string{"PUT /v1/users/G1"},
			wantBodies: []string{`{"title":"CEO","role":"Admin"}`},
			wantGSIDs:  []string{"G1"},
		},
		{
			name: "deactivate deletes",
			call: func(ctx context.Context, c Client) ([]Result, error) {
				return c.SetStatus(ctx, []string{"G1"}, false)
			},
			wantRoutes: []string{"DELETE /v1/users/G1"},
			wantBodies: []string{""},
			wantGSIDs:  []string{"G1"},
		},
		{
			name: "activate puts isActive",
			call: func(ctx context.Context, c Client) ([]Result, error) {
				return c.SetStatus(ctx, []string{"G1"}, true)
			},
			wantRoutes: []string{"PUT /v1/users/G1"},
			wantBodies: []string{`{"isActive":true}`},
			wantGSIDs:  []string{"G1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGainsight(t, nil, map[string][]canned{
				"POST /v1/users": {{status: 200, body: user}}, "PUT /v1/users/G1": {{status: 200, body: user}},
				"DELETE /v1/users/G1": {{status: 200, body: user}},
			})
			c, _ := testClient(t, f.srv.URL, func(o *Options) { o.API, o.DefaultRole = APIUsersV1, "User" })
			res, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Err != nil || r.GSID != tt.wantGSIDs[i] {
					t.Errorf("result %d = %+v", i, r)
				}
			}
			if res[0].Record["Email"] != "a@x.com" || !reflect.DeepEqual(res[0].Record["permissionBundles"], []string{"User"}) {
				t.Errorf("record = %v", res[0].Record)
			}
			reqs := f.requests()
			if len(reqs) != len(tt.wantRoutes) {
				t.Fatalf("%d requests, want %d", len(reqs), len(tt.wantRoutes))
			}
			for i, r := range reqs {
				if got := r.method + " " + r.path; got != tt.wantRoutes[i] {
					t.Errorf("route = %s, want %s", got, tt.wantRoutes[i])
				}
				if tt.wantBodies[i] == "" {
					if len(r.body) != 0 {
						t.Errorf("body %s, want none", r.body)
					}
				} else if !reflect.DeepEqual(r.json(t), mustJSON(t, tt.wantBodies[i])) {
					t.Errorf("body = %s\nwant %s", r.body, tt.wantBodies[i])
				}
				if r.header.Get("Accesskey") != "secret-key-123" {
					t.Errorf("Accesskey header = %q", r.header.Get("Accesskey"))
				}
			}
		})
	}
}

func TestUsersV1LocalValidation(t *testing.T) {
	f := newFakeGainsight(t, nil, map[string][]canned{
		"POST /v1/users": {{status: 200, body: `{"result":true,"data":{"userId":"G7","email":"ok@x.com"}}`}},
	})
	c, _ := testClient(t, f.srv.URL, func(o *Options) { o.API = APIUsersV1 })
	res, err := c.Create(context.Background(), []Record{
		{"Email": "a@x.com", "FirstName": "A", "LastName": "B"},                                          // no role, no default
		{"Email": "b@x.com", "Name": "B", "permissionBundles": []string{"User"}},                         // no last name
		{"Email": "c@x.com", "FirstName": "C", "LastName": "D", "permissionBundles": []string{"A", "B"}}, // two roles
		{"Email": "ok@x.com", "FirstName": "O", "LastName": "K", "permissionBundles": []any{"User"}},     // fine
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"role", "lastName", "one role", ""} {
		if want == "" {
			if res[i].Err != nil || res[i].GSID != "G7" {
				t.Errorf("result %d = %+v", i, res[i])
			}
			continue
		}
		e, ok := errorsAs(res[i].Err)
		if !ok || e.Reason() != ReasonValidation || !strings.Contains(e.Message, want) {
			t.Errorf("result %d err = %v, want validation about %q", i, res[i].Err, want)
		}
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d calls, want 1 (invalid records are not sent)", n)
	}
}

func TestUsersV1FanOutConcurrency(t *testing.T) {
	const conc, n = 3, 10
	var (
		mu       sync.Mutex
		inflight int
		peak     int
		gate     = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight++
		peak = max(peak, inflight)
		mu.Unlock()
		<-gate
		mu.Lock()
		inflight--
		mu.Unlock()
		id := strings.TrimPrefix(r.URL.Path, "/v1/users/")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"result":true,"data":{"userId":"` + id + `","isActive":false}}`))
	}))
	defer srv.Close()
	c, _ := testClient(t, srv.URL, func(o *Options) { o.API, o.Concurrency = APIUsersV1, conc })
	ids := make([]string, n)
	for i := range ids {
		ids[i] = string(rune('a' + i))
	}
	done := make(chan []Result, 1)
	go func() {
		res, err := c.SetStatus(context.Background(), ids, false)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		cur := inflight
		mu.Unlock()
		if cur == conc {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("in flight = %d, never reached %d", cur, conc)
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
	close(gate)
	res := <-done
	if peak != conc {
		t.Errorf("peak concurrency = %d, want %d", peak, conc)
	}
	for i, r := range res {
		if r.Err != nil || r.GSID != ids[i] {
			t.Errorf("result %d = %+v", i, r)
		}
	}
}

func TestUsersV1AllFailedIsCallError(t *testing.T) {
	f := newFakeGainsight(t, nil, map[string][]canned{
		"DELETE /v1/users/G1": {{status: 401, body: `{"result":false,"errorCode":"GS_APIG_2401","errorDesc":"unauthorized"}`}},
		"DELETE /v1/users/G2": {{status: 401, body: `{"result":false,"errorCode":"GS_APIG_2401","errorDesc":"unauthorized"}`}},
		"DELETE /v1/users/G3": {{status: 404, body: `{"result":false,"errorDesc":"user not found"}`}},
	})
	c, _ := testClient(t, f.srv.URL, func(o *Options) { o.API = APIUsersV1 })
	_, err := c.SetStatus(context.Background(), []string{"G1", "G2"}, false)
	if ReasonOf(err) != ReasonAuth {
		t.Errorf("all unauthorized: err = %v, want auth call error", err)
	}
	res, err := c.SetStatus(context.Background(), []string{"G1", "G3"}, false)
	if err != nil {
		t.Fatalf("mixed: err = %v, want per-record results", err)
	}
	if ReasonOf(res[0].Err) != ReasonAuth || ReasonOf(res[1].Err) != ReasonNotFound {
		t.Errorf("mixed results = %v, %v", res[0].Err, res[1].Err)
	}
}

func TestUsersV1Find(t *testing.T) {
	page1 := `{"result":true,"data":{"records":[{"userId":"G1","email":"a@x.com"},{"userId":"G2","email":"B@x.com"},{"userId":"G3","email":"c@x.com"}],"page":1,"pageSize":1000,"totalCount":3}}`
	tests := []struct {
		name       string
		conds      []Condition
		wantGSIDs  []string
		wantRoutes []string
	}{
		{"by email filters locally", []Condition{{Name: "Email", Operator: "EQ", Values: []string{"b@x.com", "c@x.com"}}},
			[]string{"G2", "G3"}, []string{"GET /v1/users"}},
		{"NE", []Condition{{Name: "Email", Operator: "NE", Values: []string{"a@x.com"}}},
			[]string{"G2", "G3"}, []string{"GET /v1/users"}},
		{"by gsid gets each", []Condition{{Name: "Gsid", Operator: "EQ", Values: []string{"G1", "G9"}}},
			[]string{"G1"}, []string{"GET /v1/users/G1", "GET /v1/users/G9"}},
		{"all", nil, []string{"G1", "G2", "G3"}, []string{"GET /v1/users"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGainsight(t, nil, map[string][]canned{
				"GET /v1/users":    {{status: 200, body: page1}},
				"GET /v1/users/G1": {{status: 200, body: `{"result":true,"data":{"userId":"G1","email":"a@x.com"}}`}},
				"GET /v1/users/G9": {{status: 404, body: `{"result":false,"errorDesc":"user not found"}`}},
			})
			c, _ := testClient(t, f.srv.URL, func(o *Options) { o.API = APIUsersV1 })
			recs, err := c.Find(context.Background(), tt.conds)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.GSID())
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tt.wantGSIDs) {
				t.Errorf("found %v, want %v", got, tt.wantGSIDs)
			}
			var routes []string
			for _, r := range f.requests() {
				routes = append(routes, r.method+" "+r.path)
				if r.path == "/v1/users" && (r.query["page"][0] != "1" || r.query["pageSize"][0] != "1000") {
					t.Errorf("list query = %v", r.query)
				}
			}
			if !reflect.DeepEqual(routes, tt.wantRoutes) {
				t.Errorf("routes = %v, want %v", routes, tt.wantRoutes)
			}
		})
	}
}
