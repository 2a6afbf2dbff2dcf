package config

import "testing"

func TestGoogleEffectiveScope(t *testing.T) {
	tests := []struct {
		name string
		src  GoogleSource
		want string
	}{
		{"nothing set", GoogleSource{}, GoogleScopeAll},
		{"org units", GoogleSource{OrgUnits: []string{"/Sales"}}, GoogleScopeOrgUnits},
		{"user groups", GoogleSource{UserGroups: []string{"staff@example.com"}}, GoogleScopeUserGroups},
		{"explicit all with lists", GoogleSource{Scope: GoogleScopeAll, OrgUnits: []string{"/Sales"}}, GoogleScopeAll},
		{"explicit user groups", GoogleSource{Scope: GoogleScopeUserGroups, OrgUnits: []string{"/Sales"}, UserGroups: []string{"a@example.com"}}, GoogleScopeUserGroups},
		{"both lists without scope", GoogleSource{OrgUnits: []string{"/Sales"}, UserGroups: []string{"a@example.com"}}, GoogleScopeAll},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.src.EffectiveScope(); got != tt.want {
				t.Errorf("EffectiveScope() = %q, want %q", got, tt.want)
			}
		})
	}
}
