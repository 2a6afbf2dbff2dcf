package translate

import (
	"reflect"
	"testing"

	"github.com/scim2/filter-parser/v2"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// pathDoc is a user document with the shapes mapping paths reach into.
func pathDoc() map[string]any {
	return normaliseDoc(map[string]any{
		"userName": "ann@example.com",
		"name":     map[string]any{"givenName": "Ann", "familyName": "Lee"},
		"emails": []any{
			map[string]any{"value": "ann@home.example", "type": "home"},
			map[string]any{"value": "ann@example.com", "type": "work", "primary": true},
			map[string]any{"value": "ann.lee@example.com", "type": "work", "primary": "false"},
		},
		"addresses": []any{
			map[string]any{"type": "home office", "locality": "Lyon"},
			map[string]any{"type": "work", "locality": "Paris", "postalCode": "75002"},
		},
		"x509Certificates": []any{map[string]any{"value": "a", "rank": 2}, map[string]any{"value": "b", "rank": 10}},
		EnterpriseURN: map[string]any{
			"department": "Sales",
			"manager":    map[string]any{"value": "m-1", "displayName": "Mo"},
		},
	})
}

// TestPathLookup covers the paths a mapping may name: the RFC 7644 PATH
// grammar, which the SCIM front end's PATCH accepts too.
func TestPathLookup(t *testing.T) {
	tests := []struct {
		path string
		want any // nil: absent
	}{
		{"userName", "ann@example.com"},
		{"USERNAME", "ann@example.com"},
		{"name.givenName", "Ann"},
		{"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", "Lee"},
		{EnterpriseURN + ":department", "Sales"},
		{EnterpriseURN + ":manager.value", "m-1"},
		{"urn:ietf:params:scim:schemas:extension:other:2.0:User:department", nil},
		{"emails.value", []any{"ann@home.example", "ann@example.com", "ann.lee@example.com"}},
		{`addresses[type eq "home office"].locality`, "Lyon"},
		{`addresses[type eq "HOME OFFICE"].locality`, "Lyon"},
		{`addresses[type eq "work"].postalCode`, "75002"},
		{`addresses[type eq "mobile"].locality`, nil},
		{`emails[type eq "work" and primary eq true].value`, "ann@example.com"},
		{`emails[not (primary eq true)].value`, []any{"ann@home.example", "ann.lee@example.com"}},
		{`emails[type eq "work"].value`, []any{"ann@example.com", "ann.lee@example.com"}},
		{`emails[type ne "work"].value`, "ann@home.example"},
		{`emails[value ew "@example.com" or type sw "ho"].type`, []any{"home", "work", "work"}},
		{`emails[value co "lee"].value`, "ann.lee@example.com"},
		{`emails[primary pr].value`, []any{"ann@example.com", "ann.lee@example.com"}},
		{`x509Certificates[rank gt 5].value`, "b"},
		{`x509Certificates[rank le 2].value`, "a"},
		{`addresses[type eq "work"]`, map[string]any{"type": "work", "locality": "Paris", "postalCode": "75002"}},
		{`nickName`, nil},
	}
	doc := pathDoc()
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if _, err := filter.ParsePath([]byte(tt.path)); err != nil {
				t.Fatalf("the SCIM front end's parser refuses %q: %v", tt.path, err)
			}
			p, err := parsePath(tt.path)
			if err != nil {
				t.Fatalf("parsePath: %v", err)
			}
			got, ok := p.lookup(doc)
			if ok != (tt.want != nil) || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lookup = %#v, %v; want %#v", got, ok, tt.want)
			}
		})
	}
}

// TestPathsAcceptedLikeThePatchParser checks that a mapping path is
// accepted exactly when the SCIM front end's PATCH path parser accepts it.
func TestPathsAcceptedLikeThePatchParser(t *testing.T) {
	for _, raw := range []string{
		"title", "name.givenName", `addresses[type eq "home office"].locality`,
		`emails[type eq "work" and primary eq true].value`, EnterpriseURN + ":manager.value",
		"", "name..givenName", "a.b.c", `emails[type eq "w".value`, `emails[type eq]`, EnterpriseURN + ":", "[x]",
	} {
		_, want := filter.ParsePath([]byte(raw))
		_, got := parsePath(raw)
		if (got == nil) != (want == nil) {
			t.Errorf("%q: parsePath error %v, PATCH parser error %v", raw, got, want)
		}
	}
}

// TestFilteredMappingReachesTheRecord maps a path whose filter value holds
// a space, which a mapping must accept and apply.
func TestFilteredMappingReachesTheRecord(t *testing.T) {
	cfg := testConfig()
	cfg.Mapping.Fields = append(cfg.Mapping.Fields, config.FieldMapping{SCIM: `addresses[type eq "home office"].locality`, Gainsight: "Title"})
	m, err := NewMapper(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Plan(store.User{UserName: "ann@example.com", Doc: pathDoc()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Record[FieldTitle]; got != "Lyon" {
		t.Errorf("Title = %#v, want Lyon", got)
	}
}
