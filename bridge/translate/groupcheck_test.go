package translate

import (
	"errors"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/resolve"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

func TestGroupCheck(t *testing.T) {
	m, err := NewMapper(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	check := m.GroupCheck()
	tests := []struct {
		name     string
		affected map[string][]store.GroupRef
		wantUser string // "" = accepted
		wantMsg  string
	}{
		{"no affected users", nil, "", ""},
		{"compatible", map[string][]store.GroupRef{
			"u1": {ref("East"), ref("GS Full")},
			"u2": {ref("West")},
		}, "", ""},
		{"first conflicting user in id order", map[string][]store.GroupRef{
			"u9": {ref("East"), ref("West")},
			"u3": {ref("West"), ref("GS Admins"), ref("East")},
			"u1": {ref("East")},
		}, "u3", `user u3: Region__gc: groups "East" and "West" set different values "east", "west"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check(store.Group{DisplayName: "West"}, tt.affected)
			if tt.wantUser == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			var mc *MemberConflict
			var c *resolve.Conflict
			if !errors.As(err, &mc) || mc.UserID != tt.wantUser || !errors.As(err, &c) || c.Field != "Region__gc" {
				t.Fatalf("err = %v, want a conflict for %s", err, tt.wantUser)
			}
			if err.Error() != tt.wantMsg {
				t.Fatalf("message %q, want %q", err.Error(), tt.wantMsg)
			}
		})
	}
}
