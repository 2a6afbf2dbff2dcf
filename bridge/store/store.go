package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned by every backend. Callers test them with errors.Is.
var (
	// ErrNotFound means the addressed resource does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a uniqueness constraint (userName, group
	// displayName) would be violated, or a compare-and-swap lost.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid means a value cannot be stored: a NUL character in a
	// userName, displayName, externalId, email or other indexed string, or
	// one longer than MaxIndexedBytes. PostgreSQL text cannot hold NUL and
	// its indexes refuse long entries, so every backend refuses both alike.
	ErrInvalid = errors.New("store: invalid value")
)

// MaxIndexedBytes bounds the indexed strings (userName, externalId, emails,
// manager, displayName, ids): longer ones are ErrInvalid on every backend.
const MaxIndexedBytes = 1024

// Sync states shown to administrators.
const (
	StatePending = "pending"
	StateSynced  = "synced"
	StateFailed  = "failed"
)

// Sources of a resource. A source never modifies or deprovisions what
// another source owns.
const (
	SourceSCIM   = "scim"
	SourceGoogle = "google"
)

// User is one SCIM user as the bridge stores it. Doc holds the SCIM
// attributes exactly as accepted (without id, meta and the read-only bridge
// extension); the indexed fields are derived from Doc by the caller and
// stored beside it so lookups never scan.
type User struct {
	ID         string
	UserName   string   // compared case-insensitively
	ExternalID string   // compared case-sensitively
	Emails     []string // every emails[].value, compared case-insensitively
	ManagerID  string   // enterprise manager.value (a SCIM id), "" if none
	Active     bool
	Source     string // SourceSCIM when empty
	Doc        map[string]any
	Version    int64 // meta.version; incremented on every write
	Created    time.Time
	Modified   time.Time
}

// Group is one SCIM group. Members are SCIM user ids, in no particular
// order and without duplicates.
type Group struct {
	ID          string
	DisplayName string // unique, compared case-insensitively
	ExternalID  string
	Members     []string
	// MemberNames maps member ids to the members' display names (the
	// user's displayName, or its userName when it has none). GetGroup and
	// ListGroups with members fill it in the query that reads the members;
	// writes ignore it.
	MemberNames map[string]string
	Source      string
	Doc         map[string]any // other attributes as accepted, without members
	Version     int64
	Created     time.Time
	Modified    time.Time
}

// GroupRef names a group a user belongs to.
type GroupRef struct {
	ID          string
	DisplayName string
	ExternalID  string
}

// SyncInfo is what the bridge knows of a user's Gainsight counterpart. It
// outlives the SCIM user: after a DELETE it stays as a tombstone so that a
// re-create of the same userName is linked to the same Gainsight user.
type SyncInfo struct {
	UserID   string
	UserName string // userName at the time of the last write, for tombstone matching
	GSID     string // "" until linked
	// Record is the last Gainsight record Gainsight confirmed (field name →
	// value), used to send only the difference.
	Record map[string]any
	// Active is the last status Gainsight confirmed.
	Active    bool
	State     string // StatePending, StateSynced or StateFailed
	LastError string
	Tombstone bool // the SCIM resource was deleted
	Updated   time.Time
}

// Dirty is a claimed entry of the dirty set.
type Dirty struct {
	UserID string
	// Generation increases every time the user is marked dirty; Complete
	// only removes the entry when it has not changed since the claim.
	Generation int64
	Attempts   int
	Since      time.Time // when the entry was first marked dirty
}

// Query selects users or groups. Field "" lists everything; otherwise Value
// is compared for equality through an index: for users "id", "userName"
// (case-insensitive), "externalId", "emails" (case-insensitive); for groups
// "id", "displayName" (case-insensitive), "externalId". An empty Value or
// one holding a NUL character matches nothing: an absent externalId is not
// the value "". Results are ordered by creation (then id), so offsets are
// stable.
type Query struct {
	Field  string
	Value  string
	Offset int // zero-based
	Limit  int // 0 = no limit
}

// GroupCheck validates a group change inside the transaction that applies
// it. after is the group after the change (its zero value for a deletion);
// affected maps every user whose membership changes to all the groups that
// user will be in after the change. Returning an error aborts the change and
// is returned unchanged to the caller.
type GroupCheck func(after Group, affected map[string][]GroupRef) error

// Store is the bridge's durable state. All methods are safe for concurrent
// use. Every write to a user or a group marks the affected users dirty in
// the same transaction, so nothing accepted is lost if the process dies.
type Store interface {
	// CreateUser inserts u with a fresh Version 1 and Created/Modified set
	// to now, marks it dirty and sets its sync state to pending. If a
	// tombstone SyncInfo with the same userName (case-insensitive) exists it
	// is re-attached to the new user id (same GSID). ErrConflict when the
	// userName is taken; ErrInvalid when an indexed string (userName,
	// externalId, an email, manager) holds a NUL character.
	CreateUser(ctx context.Context, u User) (User, error)
	// GetUser returns the user with id, or ErrNotFound.
	GetUser(ctx context.Context, id string) (User, error)
	// UpdateUser applies fn to the current user and stores the result with
	// Version+1, marking the user dirty and pending. fn may be called more
	// than once; an error from fn aborts and is returned unchanged.
	// ErrNotFound if absent, ErrConflict on a userName clash, ErrInvalid as
	// for CreateUser.
	UpdateUser(ctx context.Context, id string, fn func(User) (User, error)) (User, error)
	// DeleteUser removes the user and its group memberships, turns its
	// SyncInfo into a tombstone and marks it dirty so the sync engine
	// deactivates it in Gainsight. ErrNotFound if absent.
	DeleteUser(ctx context.Context, id string) error
	// ListUsers returns the users matching q and the total number of
	// matches (before Offset/Limit).
	ListUsers(ctx context.Context, q Query) ([]User, int, error)
	// UsersByManager returns the ids of users whose ManagerID is id (none
	// for "").
	UsersByManager(ctx context.Context, id string) ([]string, error)

	// CreateGroup inserts g (Version 1), runs check, and marks its members
	// dirty. ErrConflict when the displayName is taken; ErrNotFound (wrapped,
	// naming the ids) when a member does not exist; ErrInvalid when the
	// displayName or externalId holds a NUL character.
	CreateGroup(ctx context.Context, g Group, check GroupCheck) (Group, error)
	// GetGroup returns the group with id, members (and MemberNames)
	// included, or ErrNotFound.
	GetGroup(ctx context.Context, id string) (Group, error)
	// UpdateGroup applies fn to the current group inside one transaction
	// (so concurrent membership changes never lose each other), runs check,
	// stores the result with Version+1 and marks added and removed members
	// dirty. A change of displayName or externalId may change how every
	// member resolves, so then all members count as affected (in check's map
	// and in the dirty set). fn may be called more than once.
	UpdateGroup(ctx context.Context, id string, fn func(Group) (Group, error), check GroupCheck) (Group, error)
	// DeleteGroup removes the group, runs check and marks its members dirty.
	DeleteGroup(ctx context.Context, id string, check GroupCheck) error
	// ListGroups is ListUsers for groups. Members and MemberNames are
	// filled only when withMembers is true.
	ListGroups(ctx context.Context, q Query, withMembers bool) ([]Group, int, error)
	// GroupsOfUser returns the groups user id is a member of.
	GroupsOfUser(ctx context.Context, id string) ([]GroupRef, error)

	// GetSync returns the SyncInfo of a user id (tombstones included), or
	// ErrNotFound.
	GetSync(ctx context.Context, userID string) (SyncInfo, error)
	// SyncByGSID returns the SyncInfo linked to a Gainsight GSID, or
	// ErrNotFound.
	SyncByGSID(ctx context.Context, gsid string) (SyncInfo, error)
	// PutSync creates or replaces the SyncInfo of info.UserID. ErrConflict
	// when info.GSID is linked to another user (live or tombstone): one
	// Gainsight user has one link. A zero
	// Updated is stored as now, an empty State as pending.
	PutSync(ctx context.Context, info SyncInfo) error
	// CountSyncStates returns the number of (non-tombstone) users per state;
	// the three states are always present, zero when empty.
	CountSyncStates(ctx context.Context) (map[string]int, error)

	// MarkDirty marks users dirty (idempotent; bumps their generation,
	// makes them due now and resets their attempts; a lease in force is
	// kept, so no second worker takes a user that is being pushed). It does
	// not require the users to exist: a deleted user's tombstone is synced
	// through the dirty set too.
	MarkDirty(ctx context.Context, userIDs ...string) error
	// ClaimDirty leases up to limit due, unleased dirty entries to owner
	// until now+lease, oldest first. A lease that expires makes the entry
	// claimable again (another worker or replica finishes the work).
	ClaimDirty(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]Dirty, error)
	// CompleteDirty removes the entry if its generation is still gen;
	// otherwise (the user changed meanwhile) it only drops the lease.
	CompleteDirty(ctx context.Context, userID string, gen int64) error
	// RetryDirty drops the lease and makes the entry due again at notBefore
	// with attempts recorded, unless the generation changed (then it is due
	// now with attempts reset).
	RetryDirty(ctx context.Context, userID string, gen int64, attempts int, notBefore time.Time) error
	// DirtyStats returns the size of the dirty set and the time the oldest
	// entry was first marked (zero when empty).
	DirtyStats(ctx context.Context) (count int, oldest time.Time, err error)

	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}
