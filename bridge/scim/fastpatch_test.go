package scim

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	elscim "github.com/elimity-com/scim"
)

const patchOp = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`

// fastPatchBodies are user PATCH bodies identity providers send: each is
// validated without the library.
var fastPatchBodies = []string{
	patchOp + `[{"op":"replace","value":{"active":false}}]}`,
	patchOp + `[{"op":"Replace","path":"active","value":false}]}`,
	patchOp + `[{"op":"Replace","path":"title","value":"Engineer"},{"op":"Replace","path":"name.givenName","value":"Ann"}]}`,
	patchOp + `[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"R&D"}]}`,
	patchOp + `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m-1"}}]}`,
	patchOp + `[{"op":"replace","value":{"name.givenName":"A","displayName":"A B","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"x"}}}]}`,
	patchOp + `[{"op":"add","path":"emails","value":[{"value":"a@example.com","type":"work","primary":true}]}]}`,
	patchOp + `[{"op":"add","path":"emails","value":{"value":"a@example.com"}}]}`,
	patchOp + `[{"op":"remove","path":"nickName"},{"op":"remove","path":"emails","value":[{"value":"a@example.com"}]}]}`,
	patchOp + `[{"op":"replace","value":{"ID":"x","nickName":"n"}}]}`,
	patchOp + `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User":{"nickName":"n"}}}]}`,
	patchOp + `[{"op":"replace","path":"NAME.GIVENNAME","value":"A"},{"op":"add","path":"emails","value":[]}]}`,
}

// libraryPatchBodies are PATCH bodies the library validates itself:
// refused ones, whose errors are the library's, and paths with a value
// filter.
var libraryPatchBodies = []string{
	patchOp + `[{"op":"Add","path":"emails[type eq \"work\"].value","value":"x@y"}]}`,
	patchOp + `[{"op":"replace","value":{"emails[type eq \"work\"].value":"x@y"}}]}`,
	patchOp + `[{"op":"remove"}]}`,
	patchOp + `[{"op":"move","path":"title","value":"x"}]}`,
	patchOp + `[{"op":"add","path":"title"}]}`,
	patchOp + `[{"op":"add","path":"noSuchAttribute","value":"x"}]}`,
	patchOp + `[{"op":"add","path":"name.noSuch","value":"x"}]}`,
	patchOp + `[{"op":"add","path":"title","value":7}]}`,
	patchOp + `[{"op":"add","value":"title"}]}`,
	patchOp + `[{"op":"add","value":{"title":7}}]}`,
	patchOp + `[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}}]}`,
	patchOp + `[{"op":"replace","value":{"id":"x","Id":"y"}}]}`,
	patchOp + `[{"op":"replace","path":7,"value":"x"}]}`,
	patchOp + `[]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Patch"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`,
	`{"Operations":[{"op":"replace","path":"title","value":"x"}]}`,
	`[]`, `{"Operations":null}`, `not json`,
}

// opsRecorder is a library resource handler that keeps the operations the
// library hands its Patch.
type opsRecorder struct {
	ops    []elscim.PatchOperation
	called bool
}

var errUnused = errors.New("not used")

func (o *opsRecorder) Create(*http.Request, elscim.ResourceAttributes) (elscim.Resource, error) {
	return elscim.Resource{}, errUnused
}
func (o *opsRecorder) Get(*http.Request, string) (elscim.Resource, error) {
	return elscim.Resource{}, errUnused
}
func (o *opsRecorder) GetAll(*http.Request, elscim.ListRequestParams) (elscim.Page, error) {
	return elscim.Page{}, errUnused
}
func (o *opsRecorder) Replace(*http.Request, string, elscim.ResourceAttributes) (elscim.Resource, error) {
	return elscim.Resource{}, errUnused
}
func (o *opsRecorder) Delete(*http.Request, string) error { return errUnused }
func (o *opsRecorder) Search(*http.Request, elscim.SearchParams) (elscim.Page, error) {
	return elscim.Page{}, errUnused
}
func (o *opsRecorder) Patch(_ *http.Request, id string, ops []elscim.PatchOperation) (elscim.Resource, error) {
	o.ops, o.called = ops, true
	return elscim.Resource{ID: id, Attributes: map[string]any{"userName": "x"}}, nil
}

// libraryPatchOps returns the operations the library validates from body
// for the user resource type of set, and whether it accepts them.
func libraryPatchOps(t testing.TB, set *schemaSet, body string) ([]elscim.PatchOperation, bool) {
	t.Helper()
	rec := &opsRecorder{}
	rt := set.resourceTypes[0]
	rt.Handler = rec
	srv, err := elscim.NewServer(&elscim.ServerArgs{ServiceProviderConfig: &elscim.ServiceProviderConfig{}, ResourceTypes: []elscim.ResourceType{rt}})
	if err != nil {
		t.Fatal(err)
	}
	srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPatch, "/Users/u-1", strings.NewReader(body)))
	return rec.ops, rec.called
}

// checkPatchOps fails t when the operations validated without the library
// differ from the library's, or are accepted where the library refuses
// them; it returns whether they were validated without the library.
func checkPatchOps(t testing.TB, set *schemaSet, body string) bool {
	t.Helper()
	fast, ok := set.patchOps([]byte(body))
	if !ok {
		return false
	}
	lib, accepted := libraryPatchOps(t, set, body)
	if !accepted {
		t.Errorf("%s: accepted, the library refuses it", body)
	} else if !reflect.DeepEqual(fast, lib) {
		t.Errorf("%s:\n%#v\nthe library's:\n%#v", body, fast, lib)
	}
	return true
}

// TestFastPatchOpsMatchLibrary: the operations of the PATCH bodies
// identity providers send are validated without the library, into the
// library's operations; the others are left to the library.
func TestFastPatchOpsMatchLibrary(t *testing.T) {
	f := newFixture(t, nil)
	set := f.handler.currentSchemas()
	for _, body := range fastPatchBodies {
		// Twice: the second time its paths are remembered.
		for range 2 {
			if !checkPatchOps(t, set, body) {
				t.Errorf("%s: left to the library", body)
			}
		}
	}
	for _, body := range libraryPatchBodies {
		if checkPatchOps(t, set, body) {
			t.Errorf("%s: validated without the library", body)
		}
	}
}

// TestFastPatchMatchesLibrary: a user PATCH answered without the library's
// validation is what the library answers, and stores the same user; a
// request with excludedAttributes is the library's.
func TestFastPatchMatchesLibrary(t *testing.T) {
	fast := newFixture(t, nil, countedIDs)
	lib := newFixture(t, nil, countedIDs)
	user := `,"externalId":"00u-ann","name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"ann@example.com","type":"work","primary":true}]`
	id := fast.createUser("ann@example.com", user)
	if lid := lib.createUser("ann@example.com", user); lid != id {
		t.Fatalf("ids %s and %s", id, lid)
	}
	bodies := append(append([]string{}, fastPatchBodies...), libraryPatchBodies...)
	bodies = append(bodies, patchOp+`[{"op":"replace","path":"userName","value":"ann@example.com"}]}`, // unchanged
		patchOp+`[{"op":"replace","path":"userName","value":""}]}`)
	for _, body := range bodies {
		a := fast.do(http.MethodPatch, "/scim/v2/Users/"+id, body)
		b := lib.do(http.MethodPatch, "/scim/v2/Users/"+id+"?excludedAttributes=nickNameX", body)
		if a.status != b.status || a.raw != b.raw {
			t.Errorf("%s: %d %s\nthe library answers: %d %s", body, a.status, a.raw, b.status, b.raw)
		}
		for _, h := range []string{"Content-Type", "Etag"} {
			if got, want := a.header.Get(h), b.header.Get(h); got != want {
				t.Errorf("%s: %s %q, the library's %q", body, h, got, want)
			}
		}
	}
	for _, path := range []string{"/scim/v2/Users/" + id, "/scim/v2/Users/no-such-user"} {
		body := fastPatchBodies[2]
		a, b := fast.do(http.MethodPatch, path, body), lib.do(http.MethodPatch, path+"?excludedAttributes=nickNameX", body)
		if a.status != b.status || a.raw != b.raw {
			t.Errorf("PATCH %s: %d %s\nthe library answers: %d %s", path, a.status, a.raw, b.status, b.raw)
		}
	}
	// A PATCH whose result is over scim.limits.maxDocumentBytes is 413,
	// as the library's path answers it.
	big := patchOp + `[{"op":"replace","path":"title","value":"` + strings.Repeat("x", 40<<10) + `"}]}`
	a, b := fast.do(http.MethodPatch, "/scim/v2/Users/"+id, big), lib.do(http.MethodPatch, "/scim/v2/Users/"+id+"?excludedAttributes=nickNameX", big)
	if a.status != http.StatusRequestEntityTooLarge || a.status != b.status || a.raw != b.raw {
		t.Errorf("PATCH over the document limit: %d %s\nthe library answers: %d %s", a.status, a.raw, b.status, b.raw)
	}
	if a, b := fast.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users", ""), lib.mustDo(http.StatusOK, http.MethodGet, "/scim/v2/Users", ""); a.raw != b.raw {
		t.Errorf("stored users:\n%s\nthrough the library:\n%s", a.raw, b.raw)
	}
}

// FuzzFastPatchOps: whatever the body, operations validated without the
// library are the library's, and never accepted where it refuses them.
func FuzzFastPatchOps(f *testing.F) {
	for _, b := range append(append([]string{}, fastPatchBodies...), libraryPatchBodies...) {
		f.Add(b)
	}
	fx := newFixture(f, nil)
	set := fx.handler.currentSchemas()
	f.Fuzz(func(t *testing.T, body string) {
		checkPatchOps(t, set, body)
	})
}

// TestServePatchAnswersValidBodies: servePatch answers a user PATCH whose
// operations it validates, and leaves the others to the library untouched.
func TestServePatchAnswersValidBodies(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createUser("ann@example.com", "")
	for _, tc := range []struct {
		path, body string
		answered   bool
	}{
		{"/scim/v2/Users/" + id, fastPatchBodies[2], true},
		{"/scim/v2/Users/no-such-user", fastPatchBodies[2], true},
		{"/scim/v2/Users/" + id, libraryPatchBodies[0], false},
		{"/scim/v2/Users/" + id + "?attributes=title", fastPatchBodies[2], false},
	} {
		req := httptest.NewRequest(http.MethodPatch, "http://bridge.test"+tc.path, strings.NewReader(tc.body))
		rec := httptest.NewRecorder()
		if got := f.handler.servePatch(rec, req, []byte(tc.body)); got != tc.answered {
			t.Errorf("PATCH %s %s: answered %v", tc.path, tc.body, got)
		}
		if !tc.answered {
			checkUntouched(t, rec, "PATCH "+tc.path)
		}
	}
}

// TestPercentIDsAreTheLibrarys: the library unescapes a resource id once
// more than the router does, so /Users/u%2541 names the user "uA" there;
// the fast GET and PATCH leave an id holding % to it.
func TestPercentIDsAreTheLibrarys(t *testing.T) {
	ids := []string{"u%41", "uA"}
	f := newFixture(t, nil, func(o *Options) {
		o.NewID = func() string { id := ids[0]; ids = ids[1:]; return id }
	})
	f.createUser("percent@example.com", "")
	f.createUser("plain@example.com", "")
	fast := f.do(http.MethodGet, "/scim/v2/Users/u%2541", "")
	lib := f.do(http.MethodGet, "/scim/v2/Users/u%2541?excludedAttributes=nickNameX", "")
	if fast.status != lib.status || fast.raw != lib.raw {
		t.Errorf("GET: %d %s\nthe library answers: %d %s", fast.status, fast.raw, lib.status, lib.raw)
	}
	r := f.do(http.MethodPatch, "/scim/v2/Users/u%2541", fastPatchBodies[2])
	if r.status != http.StatusOK || r.body["id"] != "uA" {
		t.Errorf("PATCH /Users/u%%2541: %d %s; want the library's reading, user uA", r.status, r.raw)
	}
}
