package scim

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

const benchUsers = 10000

// benchFixture returns a handler over a SQLite store holding benchUsers
// users, written directly to the store to keep setup short.
func benchFixture(b *testing.B) *fixture {
	b.Helper()
	f := newFixture(b, nil)
	ctx := b.Context()
	for i := 0; i < benchUsers; i++ {
		name := fmt.Sprintf("seed%05d@example.com", i)
		_, err := f.sqlite.CreateUser(ctx, store.User{
			ID: newUUID(), UserName: name, Emails: []string{name}, Active: true, Source: store.SourceSCIM,
			Doc: map[string]any{"userName": name, "active": true, "emails": []any{map[string]any{"value": name, "type": "work"}}},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return f
}

// reportRSS reports the resident set size in MiB from /proc/self/status.
func reportRSS(b *testing.B) {
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		return // not Linux: nothing to report
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				b.ReportMetric(kb/1024, "rss-MiB")
			}
		}
	}
}

func BenchmarkCreateUser(b *testing.B) {
	f := benchFixture(b)
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bench%d@example.com","active":true,"emails":[{"value":"bench%d@example.com","type":"work"}]}`, i, i)
		req := httptest.NewRequest(http.MethodPost, "http://bench.test/scim/v2/Users", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/scim+json")
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	reportRSS(b)
}

func BenchmarkLookupUserName(b *testing.B) {
	f := benchFixture(b)
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		q := url.QueryEscape(fmt.Sprintf(`userName eq "SEED%05d@example.com"`, i%benchUsers))
		req := httptest.NewRequest(http.MethodGet, "http://bench.test/scim/v2/Users?filter="+q+"&startIndex=1&count=100", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"totalResults":1`) {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	reportRSS(b)
}

// BenchmarkListPage pages through 10,000 stored users 100 at a time, as
// Okta's import does.
func BenchmarkListPage(b *testing.B) {
	f := benchFixture(b)
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		startIndex := 1 + (i*100)%benchUsers
		req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("http://bench.test/scim/v2/Users?startIndex=%d&count=100", startIndex), nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"itemsPerPage":100`) {
			b.Fatalf("status %d: %.200s", rec.Code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
	reportRSS(b)
}

// benchGroup stores a group whose members are all benchUsers users.
func benchGroup(b *testing.B, f *fixture) string {
	b.Helper()
	users, _, err := f.sqlite.ListUsers(b.Context(), store.Query{})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	g, err := f.sqlite.CreateGroup(b.Context(), store.Group{ID: newUUID(), DisplayName: "Everyone", Members: ids, Source: store.SourceSCIM, Doc: map[string]any{}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return g.ID
}

// BenchmarkGetLargeGroup reads a group of 10,000 members, each with its
// display name and $ref.
func BenchmarkGetLargeGroup(b *testing.B) {
	f := benchFixture(b)
	gid := benchGroup(b, f)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "http://bench.test/scim/v2/Groups/"+gid, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"display":"seed09999@example.com"`) {
			b.Fatalf("status %d: %.200s", rec.Code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	reportRSS(b)
}

// BenchmarkPatchLargeGroup removes and re-adds one member of a group of
// 10,000, as an IdP's membership push does, answering with the members.
func BenchmarkPatchLargeGroup(b *testing.B) {
	f := benchFixture(b)
	gid := benchGroup(b, f)
	users, _, err := f.sqlite.ListUsers(b.Context(), store.Query{Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	member := users[0].ID
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		op := "remove"
		if i%2 == 1 {
			op = "add"
		}
		body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"` + op + `","path":"members","value":[{"value":"` + member + `"}]}]}`
		req := httptest.NewRequest(http.MethodPatch, "http://bench.test/scim/v2/Groups/"+gid, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/scim+json")
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %.200s", rec.Code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	reportRSS(b)
}
