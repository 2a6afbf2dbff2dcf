package scimreplay

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	cases := []struct {
		name  string
		files fstest.MapFS
		steps int
		err   string
	}{
		{"two files in order", fstest.MapFS{
			"d/02.json": {Data: []byte(`[{"method":"GET","path":"/b","status":200}]`)},
			"d/01.json": {Data: []byte(`[{"name":"first","method":"GET","path":"/a","status":200}]`)},
			"d/x.txt":   {Data: []byte(`ignored`)},
		}, 2, ""},
		{"unknown field", fstest.MapFS{"d/01.json": {Data: []byte(`[{"method":"GET","path":"/a","status":200,"bogus":1}]`)}}, 0, "bogus"},
		{"missing status", fstest.MapFS{"d/01.json": {Data: []byte(`[{"method":"GET","path":"/a"}]`)}}, 0, "required"},
		{"empty", fstest.MapFS{"d/01.json": {Data: []byte(`[]`)}}, 0, "no steps"},
		{"missing dir", fstest.MapFS{}, 0, "read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			steps, err := Load(c.files, "d")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || len(steps) != c.steps || steps[0].Name != "first" {
				t.Fatalf("steps %+v err %v", steps, err)
			}
		})
	}
}

func TestRunStep(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Location", "/x/"+r.URL.Query().Get("id"))
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"id":"abc","list":[{"v":1}],"echo":"` + r.URL.Query().Get("id") + `"}`))
	})
	vars := map[string]string{"prev": "p1"}
	cases := []struct {
		name string
		step Step
		err  string
	}{
		{"match and capture", Step{Method: "GET", Path: "/?id=${prev}", Status: 201,
			Expect:        raw(map[string]string{"echo": `"p1"`, "list/0/v": `1`, "missing": `null`, "id": `"*"`}),
			ExpectHeaders: map[string]string{"Location": "/x/p1"}, Capture: map[string]string{"got": "id"}}, ""},
		{"status", Step{Method: "GET", Path: "/", Status: 200}, "status 201"},
		{"value", Step{Method: "GET", Path: "/", Status: 201, Expect: raw(map[string]string{"id": `"zzz"`})}, "id ="},
		{"absent", Step{Method: "GET", Path: "/", Status: 201, Expect: raw(map[string]string{"id": `null`})}, "want absent"},
		{"undefined variable", Step{Method: "GET", Path: "/${nope}", Status: 201}, "undefined"},
		{"header", Step{Method: "GET", Path: "/", Status: 201, ExpectHeaders: map[string]string{"Etag": "*"}}, "Etag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := runStep(h, "tok", c.step, vars)
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("err = %v, want %q", err, c.err)
			}
		})
	}
	if vars["got"] != "abc" {
		t.Errorf("captured %q", vars["got"])
	}
}

func raw(m map[string]string) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = json.RawMessage(v)
	}
	return out
}
