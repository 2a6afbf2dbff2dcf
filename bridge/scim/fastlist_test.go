package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func TestParseEq(t *testing.T) {
	for _, tc := range []struct {
		filter       string
		field, value string
		ok           bool
	}{
		{`userName eq "ann@example.com"`, "userName", "ann@example.com", true},
		{`USERNAME EQ "Ann@Example.com"`, "userName", "Ann@Example.com", true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"`, "userName", "a", true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:USERNAME eq "a"`, "userName", "a", true},
		// The URN in another case is the library's to refuse.
		{`urn:ietf:params:scim:schemas:core:2.0:user:userName eq "a"`, "", "", false},
		{`URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:userName eq "a"`, "", "", false},
		{`externalId eq "00u1"`, "externalId", "00u1", true},
		{`emails.value eq "a@b.c"`, "emails", "a@b.c", true},
		{`emails eq "a@b.c"`, "emails", "a@b.c", true},
		{`id eq "x"`, "id", "x", true},
		{`userName eq ""`, "userName", "", true},
		// Left to the library: other forms, attributes, operators,
		// escapes and spacing.
		{`userName  eq "a"`, "", "", false},
		{`userName eq "a" `, "", "", false},
		{`userName eq "a\"b"`, "", "", false},
		{`userName eq "a\\b"`, "", "", false},
		{`userName ne "a"`, "", "", false},
		{`userName sw "a"`, "", "", false},
		{`userName eq a`, "", "", false},
		{`userName eq "a" and active eq true`, "", "", false},
		{`(userName eq "a")`, "", "", false},
		{`displayName eq "a"`, "", "", false},
		{`active eq "true"`, "", "", false},
		{`emails[value eq "a"]`, "", "", false},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"`, "", "", false},
		{`userName`, "", "", false},
	} {
		field, value, ok := parseEq(tc.filter)
		if ok != tc.ok || field != tc.field || value != tc.value {
			t.Errorf("parseEq(%q) = %q, %q, %v; want %q, %q, %v", tc.filter, field, value, ok, tc.field, tc.value, tc.ok)
		}
	}
}

func TestTopLevel(t *testing.T) {
	doc := []byte(` {"a":1, "b\u0022c" : {"x":[1,"]",{"y":"}"}]},"d":"e\"f","g":null,"h":true,"i":-1.5e3} `)
	ms, err := topLevel(doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ key, val string }{{"a", "1"}, {`b"c`, `{"x":[1,"]",{"y":"}"}]}`}, {"d", `"e\"f"`}, {"g", "null"}, {"h", "true"}, {"i", "-1.5e3"}}
	if len(ms) != len(want) {
		t.Fatalf("%d members, want %d: %+v", len(ms), len(want), ms)
	}
	for i, w := range want {
		if ms[i].key != w.key || string(ms[i].val) != w.val {
			t.Errorf("member %d = %q: %s, want %q: %s", i, ms[i].key, ms[i].val, w.key, w.val)
		}
	}
	for _, bad := range []string{``, `[]`, `{"a"}`, `{"a":`, `{"a":"x`, `{"a":1`, `{"a":1,}`, `{"a":{"b":1}`} {
		if _, err := topLevel([]byte(bad), nil); err == nil {
			t.Errorf("topLevel(%q) read a member", bad)
		}
	}
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "<a href='x'>&amp;</a>", "\b\f\n\r\t\x00\x1f\x7f", "é ü 日本 🙂",
		"line\u2028para\u2029", "bad\xffutf8\xc3", "\u00e9\u0301"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

// fastFixture stores three users whose documents the fast paths must
// write out as the library does: ann with escapes, markup and an extension
// in two groups (one named with markup), bob synced with a last error,
// cid inactive.
func fastFixture(t *testing.T) (f *fixture, ann, bob, cid string) {
	t.Helper()
	f = newFixture(t, nil)
	ann = f.createUser("ann@example.com", `,"externalId":"00u-ann","name":{"givenName":"Ann","familyName":"<Lee> & co"},`+
		`"emails":[{"value":"ann@example.com","type":"work","primary":true}],"displayName":"Ann \u2028 Lee",`+
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","employeeNumber":"7"},"title":"Boss 🙂"`)
	bob = f.createUser("bob@example.com", `,"emails":[{"value":"bob@example.com"}],"nickName":"b\"ob"`)
	cid = f.createUser("cid@example.com", `,"externalId":"00u-cid"`)
	f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+cid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
	f.createGroup("Sales", ann, bob)
	f.createGroup("Admins & <Ops>", ann)
	if _, err := f.sqlite.UpdateSync(context.Background(), linkOf(t, f, bob), func(i store.SyncInfo) (store.SyncInfo, error) {
		i.State, i.GSID, i.LastError = store.StateSynced, "GS-BOB", "was <refused> once"
		return i, nil
	}); err != nil {
		t.Fatal(err)
	}
	return f, ann, bob, cid
}

// TestFastListMatchesLibrary checks that look-ups and pages answered
// without the library are what the library answers: the same bytes.
func TestFastListMatchesLibrary(t *testing.T) {
	f, _, bob, _ := fastFixture(t)

	for _, tc := range []struct{ fast, library string }{
		{`filter=` + urlq(`userName eq "ANN@example.com"`), `filter=` + urlq(`userName eq "ANN@example.com" and userName eq "ann@example.com"`)},
		{`filter=` + urlq(`userName eq "bob@example.com"`) + `&startIndex=1&count=100`, `filter=` + urlq(`userName eq "bob@example.com" and userName eq "bob@example.com"`) + `&startIndex=1&count=100`},
		{`filter=` + urlq(`externalId eq "00u-cid"`), `filter=` + urlq(`externalId eq "00u-cid" and externalId eq "00u-cid"`)},
		{`filter=` + urlq(`emails.value eq "ann@example.com"`), `filter=` + urlq(`emails.value eq "ann@example.com" and emails.value eq "ann@example.com"`)},
		{`filter=` + urlq(`id eq "`+bob+`"`), `filter=` + urlq(`id eq "`+bob+`" and id eq "`+bob+`"`)},
		{`filter=` + urlq(`userName eq "nobody@example.com"`), `filter=` + urlq(`userName eq "nobody@example.com" and userName eq "nobody@example.com"`)},
		{``, `excludedAttributes=nickNameX`},
		{`startIndex=2&count=1`, `startIndex=2&count=1&excludedAttributes=nickNameX`},
		{`startIndex=3&count=5`, `startIndex=3&count=5&excludedAttributes=nickNameX`},
		{`startIndex=9`, `startIndex=9&excludedAttributes=nickNameX`},
		{`count=0`, `count=0&excludedAttributes=nickNameX`},
		{`count=-3&startIndex=-1`, `count=-3&startIndex=-1&excludedAttributes=nickNameX`},
		{`count=5000`, `count=5000&excludedAttributes=nickNameX`},
	} {
		fast := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users?"+tc.fast, "")
		lib := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users?"+tc.library, "")
		if fast.raw != lib.raw {
			t.Errorf("GET /Users?%s:\n%s\nthe library answers:\n%s", tc.fast, fast.raw, lib.raw)
		}
		if ct := fast.header.Get("Content-Type"); ct != "application/scim+json" {
			t.Errorf("GET /Users?%s: Content-Type %q", tc.fast, ct)
		}
	}
	// A malformed count or another filter is the library's to answer.
	if r := f.do(http.MethodGet, "/scim/v2/Users?count=x", ""); r.status != http.StatusBadRequest {
		t.Errorf("count=x: %d %s", r.status, r.raw)
	}
	if r := f.do(http.MethodGet, "/scim/v2/Users?filter="+urlq(`userName eq`), ""); r.status != http.StatusBadRequest || !strings.Contains(r.raw, "invalidFilter") {
		t.Errorf("a broken filter: %d %s", r.status, r.raw)
	}
	// A URN the library does not know in that case is refused, whatever
	// else the request asks.
	for _, q := range []string{"", "&count=0", "&attributes=userName"} {
		r := f.do(http.MethodGet, "/scim/v2/Users?filter="+urlq(`urn:ietf:params:scim:schemas:core:2.0:user:userName eq "ann@example.com"`)+q, "")
		if r.status != http.StatusBadRequest || !strings.Contains(r.raw, "invalidFilter") {
			t.Errorf("a URN in lower case%s: %d %s", q, r.status, r.raw)
		}
	}
}

// TestFastGetMatchesLibrary: GET /Users/{id} answered from one query is
// the library's answer byte for byte (excluding an attribute no user has
// sends the same request down the library's path), its ETag and its 304
// too; an unknown id is the library's 404.
func TestFastGetMatchesLibrary(t *testing.T) {
	f, ann, bob, cid := fastFixture(t)

	for _, id := range []string{ann, bob, cid} {
		fast := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users/"+id, "")
		lib := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users/"+id+"?excludedAttributes=nickNameX", "")
		if fast.raw != lib.raw {
			t.Errorf("GET /Users/%s:\n%s\nthe library answers:\n%s", id, fast.raw, lib.raw)
		}
		for _, h := range []string{"Content-Type", "Etag"} {
			if got, want := fast.header.Get(h), lib.header.Get(h); got != want || got == "" {
				t.Errorf("GET /Users/%s: %s %q, the library's %q", id, h, got, want)
			}
		}
		// HEAD is the GET without its body: same headers.
		if head := f.mustDo(http.StatusOK, http.MethodHead, "/scim/v2/Users/"+id, ""); head.header.Get("Etag") != fast.header.Get("Etag") {
			t.Errorf("HEAD /Users/%s: Etag %q", id, head.header.Get("Etag"))
		}
		tag := fast.header.Get("Etag")
		for _, q := range []string{"", "?excludedAttributes=nickNameX"} {
			if r := f.do(http.MethodGet, "/scim/v2/Users/"+id+q, "", "If-None-Match", `"x", `+tag); r.status != http.StatusNotModified || r.raw != "" || r.header.Get("Content-Type") != "" {
				t.Errorf("GET /Users/%s%s If-None-Match its version: %d %q %q", id, q, r.status, r.header.Get("Content-Type"), r.raw)
			}
			if r := f.do(http.MethodGet, "/scim/v2/Users/"+id+q, "", "If-None-Match", `W/"999"`); r.status != http.StatusOK || r.raw != fast.raw {
				t.Errorf("GET /Users/%s%s If-None-Match another version: %d %s", id, q, r.status, r.raw)
			}
		}
	}
	// An unknown id, the id in another case, or a deleted user's id is the
	// library's 404.
	gone := f.createUser("gone@example.com", "")
	f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users/"+gone, "")
	f.mustDo(http.StatusNoContent, http.MethodDelete, "/scim/v2/Users/"+gone, "")
	for _, id := range []string{"no-such-user", strings.ToUpper(ann), gone} {
		fast := f.do(http.MethodGet, "/scim/v2/Users/"+id, "")
		lib := f.do(http.MethodGet, "/scim/v2/Users/"+id+"?excludedAttributes=nickNameX", "")
		if fast.status != http.StatusNotFound || fast.raw != lib.raw {
			t.Errorf("GET /Users/%s: %d %s; the library: %d %s", id, fast.status, fast.raw, lib.status, lib.raw)
		}
	}
	// After a write the next GET shows it.
	f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Users/"+ann, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Chief"}]}`)
	if r := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users/"+ann, ""); r.body["title"] != "Chief" {
		t.Errorf("GET after PATCH: title %v", r.body["title"])
	}
}

// TestFilterStringEscapes: a filter's strings are JSON strings, so their
// escapes are decoded before they are compared, in list filters, in the
// root search and in PATCH value filters.
func TestFilterStringEscapes(t *testing.T) {
	f := newFixture(t, nil)
	ann := f.createUser("ann@example.com", "")
	quoted := f.createUser(`o\"neil\\x@example.com`, "")
	for _, tc := range []struct{ filter, want string }{
		{`userName eq "\u0061nn@example.com"`, ann},
		{`userName eq "o\"neil\\x@example.com"`, quoted},
		{`userName eq "o\"neil\\x@example.com" or userName eq "\u0041NN@example.com"`, ann + "," + quoted},
		{`emails[value eq "\u0061nn@example.com"] or userName eq "\u0061nn@example.com"`, ann},
	} {
		for _, path := range []string{"/scim/v2/Users?filter=", "/scim/v2/?filter="} {
			r := f.mustDo(http.StatusOK, http.MethodGet, path+urlq(tc.filter), "")
			var got []string
			for _, res := range r.body["Resources"].([]any) {
				got = append(got, res.(map[string]any)["id"].(string))
			}
			slices.Sort(got)
			want := strings.Split(tc.want, ",")
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("GET %s%s: ids %v, want %v", path, tc.filter, got, want)
			}
		}
	}
	g := f.createGroup("Escaped", ann, quoted)
	f.mustDo(http.StatusOK, http.MethodPatch, "/scim/v2/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+
		`{"op":"remove","path":"members[value eq \"\\u00`+fmt.Sprintf("%x", ann[0])+ann[1:]+`\"]"}]}`)
	r := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Groups/"+g, "")
	if members := r.body["members"].([]any); len(members) != 1 || members[0].(map[string]any)["value"] != quoted {
		t.Errorf("members after removing %s through an escaped value filter: %v", ann, members)
	}
}

// TestTrailingDataRefused: a body holding more than its JSON object is
// refused whole (400 invalidSyntax) and creates nothing.
func TestTrailingDataRefused(t *testing.T) {
	f := newFixture(t, nil)
	for _, body := range []string{
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"t1@example.com"}{"garbage`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"t1@example.com"}}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"t1@example.com"} 7`,
	} {
		r := f.do(http.MethodPost, "/scim/v2/Users", body)
		if r.status != http.StatusBadRequest || !strings.Contains(r.raw, "invalidSyntax") {
			t.Errorf("POST %s: %d %s; want 400 invalidSyntax", body, r.status, r.raw)
		}
	}
	if r := f.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users?filter="+urlq(`userName eq "t1@example.com"`), ""); r.body["totalResults"] != jsonNum(0) {
		t.Errorf("a refused body created a user: %s", r.raw)
	}
	ok := f.do(http.MethodPost, "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"t2@example.com"}`+" \n\t ")
	if ok.status != http.StatusCreated {
		t.Errorf("a body with trailing white space: %d %s", ok.status, ok.raw)
	}
}

// linkOf returns the link id of user id.
func linkOf(t *testing.T, f *fixture, id string) string {
	t.Helper()
	info, err := f.sqlite.GetSync(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return info.LinkID
}

func TestLocatorMatchesResourceLocation(t *testing.T) {
	for _, base := range []string{"http://bridge.test/scim/v2", "https://h:8443/a b/scim", "", "http://h"} {
		l := newLocator("/Users", base)
		for _, id := range []string{"0196f8a2-7c1e-7d3a-9b1e-3f0c2a4d5e6f", "a b", "ü", "x/y", ".", "..", "", "a%20b", "A-Z_a~z.0"} {
			if got, want := l.of(id), resourceLocation("/Users", id, base); got != want {
				t.Errorf("base %q, id %q: %q, want %q", base, id, got, want)
			}
		}
	}
}

// TestPrecheckMatchesDecodedCount compares the walk of a POST or PUT body
// in place with counting its values after json.Unmarshal into raw messages
// (countRaw), on bodies of every shape the limits care about.
func TestPrecheckMatchesDecodedCount(t *testing.T) {
	const max = 3
	lim := withDefaults(config.SCIMLimits{MaxValuesPerAttribute: max})
	ext := "urn:ietf:params:scim:schemas:extension:gainsight:2.0:User"
	for _, rs := range []resourceSchema{userResourceSchema(SchemaConfig{}), groupResourceSchema()} {
		for _, body := range []string{
			`{"userName":"a","emails":[1,2,3]}`,
			`{"userName":"a","emails":[1,2,3,4]}`,
			`{"userName":"a","emails":[1,2,3,4],"addresses":[1,2,3,4,5]}`,
			`{"zz":[1,2,3,4,5],"aa":[1,2,3,4]}`,
			` { "emails" : [ {"a":[1,2,3,4,5]} , "x,y" , [1,2] , 4 ] } `,
			`{"emails":[],"roles":[[],[],[],[]]}`,
			`{"` + ext + `":{"Region__gc":["a","b","c","d"]}}`,
			`{"` + strings.ToUpper(ext) + `":{"Region__gc":["a","b","c","d"]}}`,
			`{"` + ext + `":{"Region__gc":["a","b"]},"` + ext + `":{"Region__gc":["a","b","c","d"]}}`,
			`{"emails":[1,2,3,4,5],"emails":[1]}`,
			`{"members":[1,2,3,4,5],"displayName":"g"}`,
			`{"userName":"\u0022[1,2,3,4,5]\u0022","k\"ey":[1,2,3,4]}`,
			`{"emails":[1,2,3,4,5]`,
			`[1,2,3,4,5]`,
			`"text"`,
			``,
			`{}`,
		} {
			var want *scimerrors.ScimError
			var doc map[string]json.RawMessage
			if json.Unmarshal([]byte(body), &doc) == nil {
				want = rs.countRaw("", doc, max)
			}
			got := rs.precheck(http.MethodPost, []byte(body), lim)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s body %s: precheck %v, decoded count %v", rs.core.ID, body, got, want)
			}
		}
	}
}

// TestMemberEntriesMatchDescribedMembers: the members encoded from
// memberEntries are the maps describeMembers builds, as encoding/json
// writes them.
func TestMemberEntriesMatchDescribedMembers(t *testing.T) {
	ids := []string{"0196f8a2-7c1e-7d3a-9b1e-3f0c2a4d5e6f", "a b", "x<y>&z", "no-name"}
	names := map[string]string{ids[0]: "Ann Lee", ids[1]: "B \"quoted\"", ids[2]: "<b>"}
	for _, base := range []string{"http://bridge.test/scim/v2", ""} {
		doc := groupDoc(store.Group{DisplayName: "g", Members: ids})
		describeMembers(doc, names, base)
		want, _ := json.Marshal(doc["members"])
		got, err := json.Marshal(memberEntries(ids, names, base))
		if err != nil || string(got) != string(want) {
			t.Errorf("base %q: %s, %v\nwant %s", base, got, err, want)
		}
	}
}
