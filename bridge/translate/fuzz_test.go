package translate

import (
	"encoding/json"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// FuzzMapUser feeds arbitrary JSON user documents through every entry
// point: whatever an IdP sends, mapping must not panic, and a document that
// ValidateUser accepts must plan.
func FuzzMapUser(f *testing.F) {
	seeds := []string{
		`{"userName":"a","active":"False","emails":[{"value":"a@x","type":"work","primary":"true"}]}`,
		`{"UserName":"b","Name":{"GivenName":"B"},"roles":["Admin",{"value":"Basic"},null,3]}`,
		`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m","department":["x"]}}`,
		`{"urn:ietf:params:scim:schemas:extension:gainsight:2.0:User":{"LicenseType":"Full","Region__gc":{"a":1},"Regions__gc":[[1]]}}`,
		`{"emails":"nope","roles":{"value":"Admin"},"name":"x","phoneNumbers":[{"type":"work"}],"timezone":"Europe/Paris"}`,
		`{"name.givenName":"flat","emails":[null,1,{"value":{"x":1}}],"active":null}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	m, err := NewMapper(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	groups := []store.GroupRef{ref("GS Full"), ref("APAC"), ref("East")}
	f.Fuzz(func(t *testing.T, raw string) {
		var doc map[string]any
		if json.Unmarshal([]byte(raw), &doc) != nil {
			return
		}
		verr := m.ValidateUser(doc)
		_, perr := m.Plan(store.User{UserName: "u", Doc: doc}, groups)
		if verr == nil && perr != nil {
			t.Fatalf("valid document does not plan: %v", perr)
		}
		_, _ = m.Explain(store.User{UserName: "u", Doc: doc}, groups)
	})
}
