package scim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

func TestZZProbeLarge(t *testing.T) {
	f := newFixture(t, nil)
	var ids []string
	for i := 0; i < 5000; i++ {
		u, err := f.store.CreateUser(t.Context(), store.User{ID: fmt.Sprintf("u-%05d", i), UserName: fmt.Sprintf("u%d@x", i), Active: true, Doc: map[string]any{"userName": fmt.Sprintf("u%d@x", i)}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	g := f.createGroup("Big")
	var ms []string
	for _, id := range ids {
		ms = append(ms, `{"value":"`+id+`"}`)
	}
	st := time.Now()
	r := f.do("PATCH", "/scim/v2/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[`+strings.Join(ms, ",")+`]}]}`)
	fmt.Println("patch add 5000", r.status, time.Since(st))
	st = time.Now()
	r = f.do("PATCH", "/scim/v2/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[`+strings.Join(ms, ",")+`]}]}`)
	fmt.Println("patch re-add 5000", r.status, time.Since(st))
	st = time.Now()
	r = f.do("PATCH", "/scim/v2/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"u-00003\"]"}]}`)
	fmt.Println("patch remove 1", r.status, time.Since(st))
	st = time.Now()
	r = f.do("GET", "/scim/v2/Groups/"+g, "")
	fmt.Println("get", r.status, time.Since(st))
	st = time.Now()
	r = f.do("GET", "/scim/v2/Groups/"+g+"?excludedAttributes=members", "")
	fmt.Println("get excl", r.status, time.Since(st))
	st = time.Now()
	r = f.do("GET", "/scim/v2/Users?count=100", "")
	fmt.Println("list users 100", r.status, time.Since(st))
	st = time.Now()
	r = f.do("GET", "/scim/v2/Users?filter="+urlq(`userName sw "u1"`)+"&count=100", "")
	fmt.Println("list users sw", r.status, time.Since(st), r.body["totalResults"])
	st = time.Now()
	r = f.do("PUT", "/scim/v2/Groups/"+g, `{"displayName":"Big","members":[`+strings.Join(ms, ",")+`]}`)
	fmt.Println("put 5000", r.status, time.Since(st))
	r = f.do("PATCH", "/scim/v2/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members[value eq \"u-00009\"]"}]}`)
	fmt.Println("add no value", r.status, r.raw[:200])
}
