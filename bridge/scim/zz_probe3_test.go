package scim

import (
	"fmt"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres/pgtest"
)

func TestZZProbePG(t *testing.T) {
	db, err := postgres.Open(t.Context(), pgtest.FreshSchema(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := newFixture(t, db)
	u := f.createUser("a@x.com", "")
	g := f.createGroup("G", u)
	p := func(m, path, body string) {
		r := f.do(m, path, body)
		fmt.Printf("== %s %s %.120s\n  -> %d %.300s\n", m, path, body, r.status, r.raw)
	}
	p("GET", "/scim/v2/Users/a%00b", "")
	p("GET", "/scim/v2/Groups/a%00b", "")
	p("GET", "/scim/v2/Groups/a%00b?excludedAttributes=members", "")
	p("DELETE", "/scim/v2/Groups/a%00b", "")
	p("PATCH", "/scim/v2/Groups/"+g, `{"Operations":[{"op":"add","path":"members","value":[{"value":"x\u0000y"}]}]}`)
	p("POST", "/scim/v2/Groups", `{"displayName":"H","members":[{"value":"x\u0000y"}]}`)
	p("GET", "/scim/v2/Users?filter="+urlq(`emails.value eq "a\u0000"`), "")
	p("GET", "/scim/v2/Users?filter="+urlq(`externalId eq "`+"\x00"+`"`), "")
	p("POST", "/scim/v2/Users", `{"userName":"t@x.com","title":"a\u0000b","name":{"givenName":"\u0000"}}`)
	p("GET", "/scim/v2/Users?filter="+urlq(`title co "a"`), "")
}
