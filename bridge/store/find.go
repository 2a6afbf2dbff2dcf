package store

import "context"

// UserFilter selects users by what the store holds beside their documents:
// the conditions of SCIM filters the store can answer without reading and
// testing every user. Every condition set must hold; the zero value matches
// every user. Results are ordered as for ListUsers.
type UserFilter struct {
	// Query is the indexed equality (Field, Value) and the page (Offset,
	// Limit), as for ListUsers.
	Query
	// Active, when not nil, matches users whose active flag is *Active.
	Active *bool
	// Group matches the members of the group with this id (compared
	// exactly).
	Group string
	// GroupName matches the members of the group with this displayName
	// (compared case-insensitively, as displayNames are).
	GroupName string
	// SyncState matches users in this sync state, one of SyncStates.
	// Another non-empty value matches no user.
	SyncState string
	// GSID matches the user linked to this Gainsight user id (compared
	// exactly).
	GSID string
}

// GroupFilter selects groups as UserFilter selects users.
type GroupFilter struct {
	// Query is the indexed equality (Field, Value) and the page (Offset,
	// Limit), as for ListGroups.
	Query
	// Member matches the groups the user with this id is a member of
	// (compared exactly).
	Member string
}

// Finder answers the SCIM queries that are not an equality on an indexed
// attribute, and reads what rendering or testing a page of users needs in
// one query per page rather than one per user.
type Finder interface {
	// FindUsers returns the users matching f, in creation order, and the
	// total number of matches (before Offset and Limit). A condition on a
	// value no stored value can hold (a NUL character, longer than
	// MaxIndexedBytes) matches nothing.
	FindUsers(ctx context.Context, f UserFilter) ([]User, int, error)
	// FindGroups is FindUsers for groups; Members and MemberNames are
	// filled only when withMembers is true.
	FindGroups(ctx context.Context, f GroupFilter, withMembers bool) ([]Group, int, error)
	// GroupsOfUsers returns the groups of each of the users ids; a user in
	// no group (or not stored) has no entry.
	GroupsOfUsers(ctx context.Context, ids []string) (map[string][]GroupRef, error)
	// SyncOfUsers returns the SyncInfo of each of the user ids that has
	// one.
	SyncOfUsers(ctx context.Context, ids []string) (map[string]SyncInfo, error)
}
