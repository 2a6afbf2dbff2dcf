package translate

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
)

// fromJSON decodes a record as it comes back from the store or Gainsight.
func fromJSON(t *testing.T, s string) gainsight.Record {
	t.Helper()
	var r gainsight.Record
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name      string
		desired   gainsight.Record
		confirmed string // JSON
		want      gainsight.Record
	}{
		{
			name:      "nothing confirmed: everything",
			desired:   gainsight.Record{"Email": "a@x", "LicenseType": "Viewer"},
			confirmed: `null`,
			want:      gainsight.Record{"Email": "a@x", "LicenseType": "Viewer"},
		},
		{
			name:      "equal: nothing",
			desired:   gainsight.Record{"Email": "a@x", "IsX__gc": true, "N__gc": 42.0},
			confirmed: `{"Email":"a@x","IsX__gc":true,"N__gc":42}`,
			want:      gainsight.Record{},
		},
		{
			name:      "changed scalar",
			desired:   gainsight.Record{"Email": "a@x", "Title": "CEO"},
			confirmed: `{"Email":"a@x","Title":"CTO"}`,
			want:      gainsight.Record{"Title": "CEO"},
		},
		{
			name:      "string comparison is case-sensitive",
			desired:   gainsight.Record{"Name": "Ann Lee"},
			confirmed: `{"Name":"ann lee"}`,
			want:      gainsight.Record{"Name": "Ann Lee"},
		},
		{
			name:      "new field",
			desired:   gainsight.Record{"Email": "a@x", "Locale": "en_US"},
			confirmed: `{"Email":"a@x"}`,
			want:      gainsight.Record{"Locale": "en_US"},
		},
		{
			name:      "field no longer managed is not cleared",
			desired:   gainsight.Record{"Email": "a@x"},
			confirmed: `{"Email":"a@x","Title":"CTO","Region__gc":"east"}`,
			want:      gainsight.Record{},
		},
		{
			name:      "permissionBundles order-insensitive",
			desired:   gainsight.Record{"permissionBundles": []string{"Admin", "Basic"}},
			confirmed: `{"permissionBundles":["Basic","Admin"]}`,
			want:      gainsight.Record{},
		},
		{
			name:      "permissionBundles changed",
			desired:   gainsight.Record{"permissionBundles": []string{"Admin", "Basic"}},
			confirmed: `{"permissionBundles":["Basic"]}`,
			want:      gainsight.Record{"permissionBundles": []string{"Admin", "Basic"}},
		},
		{
			name:      "permissionBundles with a duplicate differ in count",
			desired:   gainsight.Record{"permissionBundles": []string{"Basic"}},
			confirmed: `{"permissionBundles":["Basic","Basic"]}`,
			want:      gainsight.Record{"permissionBundles": []string{"Basic"}},
		},
		{
			name:      "list vs scalar differ",
			desired:   gainsight.Record{"Regions__gc": []string{"US"}},
			confirmed: `{"Regions__gc":"US"}`,
			want:      gainsight.Record{"Regions__gc": []string{"US"}},
		},
		{
			name:      "multi-picklist as a set",
			desired:   gainsight.Record{"Regions__gc": []string{"APAC", "EU", "US"}},
			confirmed: `{"Regions__gc":["US","EU","APAC"]}`,
			want:      gainsight.Record{},
		},
		{
			name:      "confirmed null differs",
			desired:   gainsight.Record{"Title": "CEO"},
			confirmed: `{"Title":null}`,
			want:      gainsight.Record{"Title": "CEO"},
		},
		{
			name:      "number field confirmed as number, desired as float",
			desired:   gainsight.Record{"CostCenter__gc": 1234.5},
			confirmed: `{"CostCenter__gc":1234.5}`,
			want:      gainsight.Record{},
		},
		{
			name:      "boolean changed",
			desired:   gainsight.Record{"Beta__gc": false},
			confirmed: `{"Beta__gc":true}`,
			want:      gainsight.Record{"Beta__gc": false},
		},
		{
			name:      "nil desired values are never sent",
			desired:   gainsight.Record{"Title": nil, "Email": "a@x"},
			confirmed: `{"Email":"a@x"}`,
			want:      gainsight.Record{},
		},
		{
			name:      "objects compared deeply",
			desired:   gainsight.Record{"Obj__gc": map[string]any{"a": "b"}},
			confirmed: `{"Obj__gc":{"a":"c"}}`,
			want:      gainsight.Record{"Obj__gc": map[string]any{"a": "b"}},
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
