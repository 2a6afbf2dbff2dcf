package scim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// BenchmarkPageOfLargestUsers builds a page of 40 users of the largest
// size the limits allow (100 emails, a document of just under
// scim.limits.maxDocumentBytes): it reports the page's size and what
// building it allocates (B/op), the figure the large-page budget is sized
// by.
func BenchmarkPageOfLargestUsers(b *testing.B) {
	f := newFixture(b, nil, func(o *Options) { o.Logger = zapNop() })
	max := config.Default().SCIM.Limits.MaxDocumentBytes
	for i := range 40 {
		emails := make([]string, 100)
		for j := range emails {
			emails[j] = fmt.Sprintf(`{"value":"big%d.%d@example.com","type":"t%d"}`, i, j, j)
		}
		f.mustDo(201, "POST", "/scim/v2/Users", fmt.Sprintf(`{"userName":"big%d@example.com","title":"%s","emails":[%s]}`,
			i, strings.Repeat("t", max-6<<10), strings.Join(emails, ",")))
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "http://bench.test/scim/v2/Users?count=200", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %.200s", rec.Code, rec.Body.String())
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size), "page-bytes")
}

// BenchmarkPatchRemoveMembersOneByOne removes 1,000 members of a group of
// 5,000 with one operation each, as Okta and Entra send removals, and adds
// them back.
func BenchmarkPatchRemoveMembersOneByOne(b *testing.B) {
	f := newFixture(b, nil, func(o *Options) { o.Logger = zapNop() })
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = f.createUser(fmt.Sprintf("m%04d@example.com", i), "")
	}
	gid := f.createGroup("Big", ids...)
	ops := make([]string, 1000)
	for i := range ops {
		ops[i] = fmt.Sprintf(`{"op":"remove","path":"members[value eq \"%s\"]"}`, ids[i])
	}
	remove := `{` + patchSchema + `,"Operations":[` + strings.Join(ops, ",") + `]}`
	add := `{` + patchSchema + `,"Operations":[{"op":"add","path":"members","value":` + memberValues(ids[:1000]) + `}]}`
	b.ResetTimer()
	for range b.N {
		f.mustDo(200, "PATCH", "/scim/v2/Groups/"+gid+"?excludedAttributes=members", remove)
		b.StopTimer()
		f.mustDo(200, "PATCH", "/scim/v2/Groups/"+gid+"?excludedAttributes=members", add)
		b.StartTimer()
	}
}
