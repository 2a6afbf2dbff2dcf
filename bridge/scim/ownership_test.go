package scim

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

func TestOtherSourcesOwnership(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	gu, err := f.store.CreateUser(ctx, store.User{ID: "g-user", UserName: "ann@example.com", ExternalID: "1001", Active: true, Source: store.SourceGoogle,
		Doc: map[string]any{"userName": "ann@example.com", "externalId": "1001", "active": true, "title": "From Google"}})
	if err != nil {
		t.Fatal(err)
	}
	gg, err := f.store.CreateGroup(ctx, store.Group{ID: "g-group", DisplayName: "Gainsight Full", ExternalID: "gs-full@example.com",
		Members: []string{gu.ID}, Source: store.SourceGoogle, Doc: map[string]any{"displayName": "Gainsight Full"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	scimUser := f.createUser("sam@example.com", "")
	patch := func(ops string) string { return `{` + patchSchema + `,"Operations":[` + ops + `]}` }
	cases := []struct {
		name, method, path, body string
		wantStatus               int
		wantType                 string
		wantDetail               string
	}{
		{"replace user", http.MethodPut, "/scim/v2/Users/g-user",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com","title":"From SCIM"}`,
			http.StatusConflict, "mutability", "User g-user is owned by the google source"},
		{"patch user", http.MethodPatch, "/scim/v2/Users/g-user", patch(`{"op":"replace","path":"active","value":false}`),
			http.StatusConflict, "mutability", "User g-user is owned by the google source"},
		{"delete user", http.MethodDelete, "/scim/v2/Users/g-user", "",
			http.StatusConflict, "mutability", "User g-user is owned by the google source"},
		{"create user with a Google userName", http.MethodPost, "/scim/v2/Users",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ANN@example.com"}`,
			http.StatusConflict, "uniqueness", `owned by the google source (User g-user)`},
		{"replace group", http.MethodPut, "/scim/v2/Groups/g-group",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Gainsight Full","members":[]}`,
			http.StatusConflict, "mutability", "Group g-group is owned by the google source"},
		{"patch group members", http.MethodPatch, "/scim/v2/Groups/g-group", patch(`{"op":"add","path":"members","value":[{"value":"` + scimUser + `"}]}`),
			http.StatusConflict, "mutability", "Group g-group is owned by the google source"},
		{"delete group", http.MethodDelete, "/scim/v2/Groups/g-group", "",
			http.StatusConflict, "mutability", "Group g-group is owned by the google source"},
		{"create group with a Google displayName", http.MethodPost, "/scim/v2/Groups",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"gainsight full"}`,
			http.StatusConflict, "uniqueness", `owned by the google source (Group g-group)`},
		{"SCIM duplicate keeps the plain message", http.MethodPost, "/scim/v2/Users",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"sam@example.com"}`,
			http.StatusConflict, "uniqueness", "A user with this userName already exists."},
		{"SCIM user still editable", http.MethodPatch, "/scim/v2/Users/" + scimUser, patch(`{"op":"replace","path":"title","value":"Lead"}`),
			http.StatusOK, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(c.method, c.path, c.body)
			if r.status != c.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, c.wantStatus, r.raw)
			}
			if c.wantType == "" {
				return
			}
			if got, _ := r.body["scimType"].(string); got != c.wantType {
				t.Errorf("scimType = %q, want %q", got, c.wantType)
			}
			if got, _ := r.body["detail"].(string); !strings.Contains(got, c.wantDetail) {
				t.Errorf("detail = %q, want it to contain %q", got, c.wantDetail)
			}
		})
	}
	u, err := f.store.GetUser(ctx, gu.ID)
	if err != nil || u.Version != gu.Version || u.Doc["title"] != "From Google" || !u.Active {
		t.Errorf("Google user changed over SCIM: %+v %v", u, err)
	}
	g, err := f.store.GetGroup(ctx, gg.ID)
	if err != nil || g.Version != gg.Version || len(g.Members) != 1 {
		t.Errorf("Google group changed over SCIM: %+v %v", g, err)
	}
}
