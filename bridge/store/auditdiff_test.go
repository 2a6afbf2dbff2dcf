package store

import (
	"reflect"
	"testing"
)

func TestUserAudit(t *testing.T) {
	old := User{ID: "u1", UserName: "jane@example.com", Active: true, Doc: map[string]any{
		"userName": "jane@example.com", "title": "Analyst", "active": true,
		"name": map[string]any{"givenName": "Jane", "familyName": "Doe"},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "Sales"},
	}}
	next := old
	next.Active = false
	next.Doc = map[string]any{
		"userName": "jane@example.com", "title": "Lead", "active": false,
		"name": map[string]any{"givenName": "Janet", "familyName": "Doe"},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "Sales"},
		"locale": "fr-FR",
	}
	got := UserAudit(old, next)
	want := []AuditEntry{
		{UserID: "u1", UserName: "jane@example.com", Op: AuditUserDeactivated, Result: AuditOK},
		{UserID: "u1", UserName: "jane@example.com", Op: AuditUserUpdated, Result: AuditOK, Changes: []AuditChange{
			{Field: "locale", New: "fr-FR"},
			{Field: "name.givenName", Old: "Jane", New: "Janet"},
			{Field: "title", Old: "Analyst", New: "Lead"},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("update:\n got %+v\nwant %+v", got, want)
	}
	if got := UserAudit(next, old); len(got) != 2 || got[0].Op != AuditUserReactivated {
		t.Errorf("re-enabling: %+v", got)
	}
	if got := UserAudit(old, old); got != nil {
		t.Errorf("no change: %+v", got)
	}
	if got := UserAudit(User{}, old); len(got) != 1 || got[0].Op != AuditUserCreated || got[0].UserID != "u1" || len(got[0].Changes) != 6 {
		t.Errorf("create: %+v", got)
	}
	if got := UserAudit(old, User{}); len(got) != 1 || got[0].Op != AuditUserDeleted || got[0].UserName != "jane@example.com" {
		t.Errorf("delete: %+v", got)
	}
	got = AuditFrom(UserAudit(old, User{}), AuditSourceSCIM, "okta", "req-1")
	if got[0].Source != AuditSourceSCIM || got[0].Actor != "okta" || got[0].RequestID != "req-1" {
		t.Errorf("AuditFrom: %+v", got[0])
	}
}

func TestMembershipAudit(t *testing.T) {
	got := MembershipAudit("Admins", []string{"a", "b", "c"}, []string{"c", "d", "a", "d"})
	want := []AuditEntry{
		{UserID: "d", Op: AuditMembership, Result: AuditOK, Detail: "added to group Admins"},
		{UserID: "b", Op: AuditMembership, Result: AuditOK, Detail: "removed from group Admins"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
