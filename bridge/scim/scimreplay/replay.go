package scimreplay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Step is one recorded request and what its response must contain.
//
// Strings in Path, Headers, Body and Expect may contain ${name}, replaced by
// a value captured by an earlier step.
type Step struct {
	// Name describes the step in failure messages.
	Name string `json:"name"`
	// Method and Path (including the base path and query) of the request.
	Method string `json:"method"`
	Path   string `json:"path"`
	// Headers are extra request headers; Content-Type defaults to
	// application/scim+json when a body is sent.
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the JSON request body, if any.
	Body json.RawMessage `json:"body,omitempty"`
	// Status is the expected HTTP status.
	Status int `json:"status"`
	// Expect maps slash-separated response paths ("emails/0/value",
	// "Resources/0/id") to expected JSON values. The string "*" means
	// "present"; null means "absent".
	Expect map[string]json.RawMessage `json:"expect,omitempty"`
	// ExpectHeaders maps response headers to expected values ("*" =
	// present).
	ExpectHeaders map[string]string `json:"expectHeaders,omitempty"`
	// Capture maps a variable name to a response path whose value later
	// steps use as ${name}.
	Capture map[string]string `json:"capture,omitempty"`
}

// Load reads every *.json file in dir of fsys, in name order, each holding
// a JSON array of steps, and returns the steps in sequence.
func Load(fsys fs.FS, dir string) ([]Step, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("scimreplay: read %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var steps []Step
	for _, n := range names {
		raw, err := fs.ReadFile(fsys, path.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("scimreplay: read %s: %w", n, err)
		}
		var s []Step
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("scimreplay: decode %s: %w", path.Join(dir, n), err)
		}
		for i := range s {
			if s[i].Method == "" || s[i].Path == "" || s[i].Status == 0 {
				return nil, fmt.Errorf("scimreplay: %s step %d (%s): method, path and status are required", n, i, s[i].Name)
			}
			if s[i].Name == "" {
				s[i].Name = n + "#" + strconv.Itoa(i)
			}
		}
		steps = append(steps, s...)
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("scimreplay: no steps in %s", dir)
	}
	return steps, nil
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

func substitute(s string, vars map[string]string) (string, error) {
	var missing []string
	out := varRef.ReplaceAllStringFunc(s, func(m string) string {
		name := varRef.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("undefined variables %v", missing)
	}
	return out, nil
}

// Lookup walks a decoded JSON value by a slash-separated path.
func Lookup(v any, p string) (any, bool) {
	if p == "" {
		return v, true
	}
	for _, k := range strings.Split(p, "/") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, v != nil
}

// Run replays steps against h with bearer token, failing t on the first
// step whose response does not match. It returns the captured variables.
func Run(t testing.TB, h http.Handler, token string, steps []Step) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for i, s := range steps {
		if err := runStep(h, token, s, vars); err != nil {
			t.Fatalf("step %d %q: %v", i, s.Name, err)
		}
	}
	return vars
}

func runStep(h http.Handler, token string, s Step, vars map[string]string) error {
	p, err := substitute(s.Path, vars)
	if err != nil {
		return err
	}
	var body []byte
	if len(s.Body) > 0 {
		b, err := substitute(string(s.Body), vars)
		if err != nil {
			return err
		}
		body = []byte(b)
	}
	req := httptest.NewRequest(s.Method, "http://replay.test"+p, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for k, v := range s.Headers {
		v, err := substitute(v, vars)
		if err != nil {
			return err
		}
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != s.Status {
		return fmt.Errorf("%s %s: status %d, want %d: %s", s.Method, p, rec.Code, s.Status, rec.Body.String())
	}
	for k, want := range s.ExpectHeaders {
		got := rec.Header().Get(k)
		if (want == "*" && got == "") || (want != "*" && got != want) {
			return fmt.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	var resp any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			return fmt.Errorf("response is not JSON: %w: %s", err, rec.Body.String())
		}
	}
	keys := make([]string, 0, len(s.Expect))
	for k := range s.Expect {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw, err := substitute(string(s.Expect[k]), vars)
		if err != nil {
			return err
		}
		var want any
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			return fmt.Errorf("expect %s: %w", k, err)
		}
		got, present := Lookup(resp, k)
		switch {
		case want == nil:
			if present {
				return fmt.Errorf("%s = %v, want absent", k, got)
			}
		case want == "*":
			if !present {
				return fmt.Errorf("%s absent: %s", k, rec.Body.String())
			}
		default:
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if string(gj) != string(wj) {
				return fmt.Errorf("%s = %s, want %s: %s", k, gj, wj, rec.Body.String())
			}
		}
	}
	for name, k := range s.Capture {
		got, ok := Lookup(resp, k)
		str, isStr := got.(string)
		if !ok || !isStr {
			return fmt.Errorf("capture %s: %s is not a string in %s", name, k, rec.Body.String())
		}
		vars[name] = str
	}
	return nil
}
