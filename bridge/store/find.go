package store

import (
	"context"
	"time"
)

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

// UserView is a user as the SCIM front end shows it, read in one query:
// the stored fields, the document as the JSON text it is stored as (not
// decoded), the user's link and its groups.
type UserView struct {
	ID       string
	UserName string
	Active   bool
	Source   string
	// Doc is the user's document as stored: a JSON object.
	Doc      []byte
	Version  int64
	Created  time.Time
	Modified time.Time
	// Sync is the user's link without its Record; HasSync is false when
	// the user has none.
	Sync    SyncInfo
	HasSync bool
	// Groups are the groups the user is in, in creation order.
	Groups []GroupRef
}

// ViewFinder is an optional capability of a store: FindUsers answered
// with what showing each user needs, in one query per page rather than a
// query for the users, one for their links and one for their groups, and
// without decoding the documents.
type ViewFinder interface {
	// FindUserViews returns the views of the users FindUsers(ctx, f)
	// returns, in the same order, and the same total.
	FindUserViews(ctx context.Context, f UserFilter) ([]UserView, int, error)
}

// GroupCommitter is an optional capability of a store that commits
// concurrent writes together, one transaction for many (group commit).
type GroupCommitter interface {
	// GroupCommitStats returns how many write transactions the store has
	// committed and how many writes they held.
	GroupCommitStats() (commits, writes int64)
}

// LinkedCreator is an optional capability of a store: CreateUser that also
// returns the new user's link as the create left it, so showing the user
// needs no second read.
type LinkedCreator interface {
	// CreateUserLinked is CreateUser; the SyncInfo is what GetSync of the
	// new user returns once the create is committed.
	CreateUserLinked(ctx context.Context, u User) (User, SyncInfo, error)
}

// AuditQueuer is an optional capability of a store: AppendAudit without
// waiting for the write, for callers whose own write is already stored and
// whose answer should not wait for a second commit.
type AuditQueuer interface {
	// QueueAudit appends entries as AppendAudit does, in one of the
	// store's next write transactions, and returns at once. then is told
	// the outcome once it is known, from a goroutine of the store: it must
	// be quick and must not call the store. Entries without a Time get
	// the time of this call. Entries queued before Close are written
	// before Close returns.
	QueueAudit(entries []AuditEntry, then func(error))
}
