package sync

import (
	"fmt"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
)

func TestDiffRecord(t *testing.T) {
	tests := []struct {
		name               string
		desired, confirmed gainsight.Record
		want               gainsight.Record
	}{
		{"equal", gainsight.Record{"Name": "a"}, gainsight.Record{"Name": "a"}, gainsight.Record{}},
		{"changed", gainsight.Record{"Name": "b"}, gainsight.Record{"Name": "a"}, gainsight.Record{"Name": "b"}},
		{"new field", gainsight.Record{"Name": "a", "Title": "x"}, gainsight.Record{"Name": "a"}, gainsight.Record{"Title": "x"}},
		{"removed field is cleared", gainsight.Record{"Name": "a"}, gainsight.Record{"Name": "a", "Title": "x"}, gainsight.Record{"Title": nil}},
		{"removed empty field is left", gainsight.Record{"Name": "a"}, gainsight.Record{"Name": "a", "Title": ""}, gainsight.Record{}},
		{"empty equals absent", gainsight.Record{"Title": ""}, gainsight.Record{}, gainsight.Record{}},
		{"list order ignored", gainsight.Record{"permissionBundles": []string{"b", "a"}}, gainsight.Record{"permissionBundles": []any{"a", "b"}}, gainsight.Record{}},
		{"list changed", gainsight.Record{"permissionBundles": []string{"a"}}, gainsight.Record{"permissionBundles": []any{"a", "b"}}, gainsight.Record{"permissionBundles": []string{"a"}}},
		{"numbers by value", gainsight.Record{"Seats__gc": 3}, gainsight.Record{"Seats__gc": 3.0}, gainsight.Record{}},
		{"bool changed", gainsight.Record{"VIP__gc": true}, gainsight.Record{"VIP__gc": false}, gainsight.Record{"VIP__gc": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := diffRecord(tc.desired, tc.confirmed); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("diff = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMaskEmails(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no address here", "no address here"},
		{"duplicate user alice.smith@example.com", "duplicate user a**********@example.com"},
		{"a@x and bob@y", "a@x and b**@y"},
	}
	for _, tc := range tests {
		if got := maskEmails(tc.in); got != tc.want {
			t.Errorf("maskEmails(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
