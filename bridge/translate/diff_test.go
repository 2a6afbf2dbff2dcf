package translate

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/record"
)

// fromJSON decodes a record as it comes back from the store or Gainsight.
func fromJSON(t *testing.T, s string) record.Record {
	t.Helper()
	var r record.Record
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name      string
		desired   record.Record
		confirmed string // JSON
		want      record.Record
	}{
		{
			name:      "nothing confirmed: everything",
			desired:   record.Record{"Email": "a@x", "LicenseType": "Viewer"},
			confirmed: `null`,
			want:      record.Record{"Email": "a@x", "LicenseType": "Viewer"},
		},
		{
			name:      "equal: nothing",
			desired:   record.Record{"Email": "a@x", "IsX__gc": true, "N__gc": 42.0},
			confirmed: `{"Email":"a@x","IsX__gc":true,"N__gc":42}`,
			want:      record.Record{},
		},
		{
			name:      "changed scalar",
			desired:   record.Record{"Email": "a@x", "Title": "CEO"},
			confirmed: `{"Email":"a@x","Title":"CTO"}`,
			want:      record.Record{"Title": "CEO"},
		},
		{
			name:      "string comparison is case-sensitive",
			desired:   record.Record{"Name": "Ann Lee"},
			confirmed: `{"Name":"ann lee"}`,
			want:      record.Record{"Name": "Ann Lee"},
		},
		{
			name:      "new field",
			desired:   record.Record{"Email": "a@x", "Locale": "en_US"},
			confirmed: `{"Email":"a@x"}`,
			want:      record.Record{"Locale": "en_US"},
		},
		{
			name:      "field no longer managed is not cleared",
			desired:   record.Record{"Email": "a@x"},
			confirmed: `{"Email":"a@x","Title":"CTO","Region__gc":"east"}`,
			want:      record.Record{},
		},
		{
			name:      "permissionBundles order-insensitive",
			desired:   record.Record{"permissionBundles": []string{"Admin", "Basic"}},
			confirmed: `{"permissionBundles":["Basic","Admin"]}`,
			want:      record.Record{},
		},
		{
			name:      "permissionBundles changed",
			desired:   record.Record{"permissionBundles": []string{"Admin", "Basic"}},
			confirmed: `{"permissionBundles":["Basic"]}`,
			want:      record.Record{"permissionBundles": []string{"Admin", "Basic"}},
		},
		{
			name:      "permissionBundles with a duplicate differ in count",
			desired:   record.Record{"permissionBundles": []string{"Basic"}},
			confirmed: `{"permissionBundles":["Basic","Basic"]}`,
			want:      record.Record{"permissionBundles": []string{"Basic"}},
		},
		{
			name:      "list vs scalar differ",
			desired:   record.Record{"Regions__gc": []string{"US"}},
			confirmed: `{"Regions__gc":"US"}`,
			want:      record.Record{"Regions__gc": []string{"US"}},
		},
		{
			name:      "multi-picklist as a set",
			desired:   record.Record{"Regions__gc": []string{"APAC", "EU", "US"}},
			confirmed: `{"Regions__gc":["US","EU","APAC"]}`,
			want:      record.Record{},
		},
		{
			name:      "confirmed null differs",
			desired:   record.Record{"Title": "CEO"},
			confirmed: `{"Title":null}`,
			want:      record.Record{"Title": "CEO"},
		},
		{
			name:      "number field confirmed as number, desired as float",
			desired:   record.Record{"CostCenter__gc": 1234.5},
			confirmed: `{"CostCenter__gc":1234.5}`,
			want:      record.Record{},
		},
		{
			name:      "boolean changed",
			desired:   record.Record{"Beta__gc": false},
			confirmed: `{"Beta__gc":true}`,
			want:      record.Record{"Beta__gc": false},
		},
		{
			name:      "nil desired values are never sent",
			desired:   record.Record{"Title": nil, "Email": "a@x"},
			confirmed: `{"Email":"a@x"}`,
			want:      record.Record{},
		},
		{
			name:      "objects compared deeply",
			desired:   record.Record{"Obj__gc": map[string]any{"a": "b"}},
			confirmed: `{"Obj__gc":{"a":"c"}}`,
			want:      record.Record{"Obj__gc": map[string]any{"a": "b"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.desired, fromJSON(t, tt.confirmed))
			if got == nil {
				t.Fatal("Diff returned nil")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Diff = %#v, want %#v", got, tt.want)
			}
		})
	}
}
