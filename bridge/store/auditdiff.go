package store

import (
	"reflect"
	"sort"
	"strings"
)

// UserAudit returns the audit entries of one user write as an identity
// source made it: old is the zero User for a create, next the zero User for
// a delete. An update records the attributes that changed, and a change of
// the active flag as its own entry. Callers fill in Source, Actor and
// RequestID (AuditFrom).
func UserAudit(old, next User) []AuditEntry {
	switch {
	case old.ID == "" && next.ID == "":
		return nil
	case old.ID == "":
		return []AuditEntry{{UserID: next.ID, UserName: next.UserName, Op: AuditUserCreated, Result: AuditOK,
			Changes: docChanges(nil, next.Doc)}}
	case next.ID == "":
		return []AuditEntry{{UserID: old.ID, UserName: old.UserName, Op: AuditUserDeleted, Result: AuditOK}}
	}
	var out []AuditEntry
	entry := func(op AuditOp) AuditEntry {
		return AuditEntry{UserID: next.ID, UserName: next.UserName, Op: op, Result: AuditOK}
	}
	switch {
	case old.Active && !next.Active:
		out = append(out, entry(AuditUserDeactivated))
	case !old.Active && next.Active:
		out = append(out, entry(AuditUserReactivated))
	}
	var changes []AuditChange
	for _, c := range docChanges(old.Doc, next.Doc) {
		if c.Field != "active" {
			changes = append(changes, c)
		}
	}
	if len(changes) > 0 {
		e := entry(AuditUserUpdated)
		e.Changes = changes
		out = append(out, e)
	}
	return out
}

// MembershipAudit returns an entry for every user added to (or removed
// from) the group named group: old and next are its member ids before and
// after the write.
func MembershipAudit(group string, old, next []string) []AuditEntry {
	var out []AuditEntry
	add := func(ids []string, detail string) {
		for _, id := range ids {
			out = append(out, AuditEntry{UserID: id, Op: AuditMembership, Result: AuditOK, Detail: detail + group})
		}
	}
	add(Without(DistinctIDs(next), old), "added to group ")
	add(Without(DistinctIDs(old), next), "removed from group ")
	return out
}

// AuditFrom sets who made each entry and the request it came with.
func AuditFrom(entries []AuditEntry, source, actor, requestID string) []AuditEntry {
	for i := range entries {
		entries[i].Source, entries[i].Actor, entries[i].RequestID = source, actor, requestID
	}
	return entries
}

// docChanges lists the attributes that differ between two SCIM documents,
// complex attributes (name, an extension) one level down ("name.givenName",
// "urn:…:User:department"), in name order.
func docChanges(old, next map[string]any) []AuditChange {
	flat := func(doc map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range doc {
			sub, ok := v.(map[string]any)
			if !ok {
				out[k] = v
				continue
			}
			sep := "."
			if strings.HasPrefix(k, "urn:") {
				sep = ":"
			}
			for sk, sv := range sub {
				out[k+sep+sk] = sv
			}
		}
		return out
	}
	a, b := flat(old), flat(next)
	var names []string
	for k := range a {
		if !reflect.DeepEqual(a[k], b[k]) {
			names = append(names, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	out := make([]AuditChange, len(names))
	for i, k := range names {
		out[i] = AuditChange{Field: k, Old: a[k], New: b[k]}
	}
	return out
}
