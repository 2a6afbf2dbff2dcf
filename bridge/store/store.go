package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Sentinel errors returned by every backend. Callers test them with errors.Is.
var (
	// ErrNotFound means the addressed resource does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a uniqueness constraint (userName, group
	// displayName, a GSID linked twice) would be violated.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid means a value cannot be stored: a NUL character in a
	// userName, displayName, externalId, email or other indexed string, or
	// one longer than MaxIndexedBytes. PostgreSQL text cannot hold NUL and
	// its indexes refuse long entries, so every backend refuses both alike.
	ErrInvalid = errors.New("store: invalid value")
	// ErrLeaseLost means a dirty entry is no longer leased to the caller:
	// its lease expired and another worker claimed it (or finished it).
	// Whatever the caller meant to record about the entry is not applied.
	ErrLeaseLost = errors.New("store: lease lost")
)

// MaxIndexedBytes bounds the indexed strings (userName, externalId, emails,
// manager, displayName, ids): longer ones are ErrInvalid on every backend.
const MaxIndexedBytes = 1024

// Unindexable reports whether any of ss cannot be an indexed value: it
// holds a NUL character, or it is longer than MaxIndexedBytes. No stored
// value is like that, so a lookup of one matches nothing and a write of one
// is ErrInvalid, on every backend alike.
func Unindexable(ss ...string) bool {
	for _, v := range ss {
		if strings.IndexByte(v, 0) >= 0 || len(v) > MaxIndexedBytes {
			return true
		}
	}
	return false
}

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

// SyncInfo is a user's link to its Gainsight counterpart: what the bridge
// knows of that Gainsight user. It outlives the SCIM user: after a DELETE
// it stays as a tombstone so that a re-create of the same userName is
// linked to the same Gainsight user.
//
// The fields fall in two groups. UserID, UserName and Tombstone follow the
// SCIM user and are written only by the user writes (CreateUser,
// UpdateUser, DeleteUser). GSID, Record, Active, Unknown, State and
// LastError are the sync engine's, written only through UpdateSync.
type SyncInfo struct {
	// LinkID identifies the link for its whole life. A re-create of a
	// deleted userName takes the tombstone's link over: UserID changes,
	// LinkID does not, so a pass that finishes late still records what it
	// did to the Gainsight user on that user's link.
	LinkID   string
	UserID   string
	UserName string // userName at the time of the last write, for tombstone matching
	GSID     string // "" until linked
	// Record is the last Gainsight record Gainsight confirmed (field name →
	// value), used to send only the difference.
	Record map[string]any
	// Active is the last status Gainsight confirmed.
	Active bool
	// Unknown means a write was sent to Gainsight for this link and its
	// outcome is not known (a lost answer, a timeout): Record, Active and,
	// when GSID is empty, the absence of a Gainsight user cannot be
	// trusted, and the next pass reads Gainsight before it plans.
	Unknown   bool
	State     string // one of SyncStates: StatePending, StateSynced, StateFailed, StateHeld
	LastError string // shown to administrators; names other users by SCIM id only
	Tombstone bool   // the SCIM resource was deleted
	// Version increases with every write of the link.
	Version int64
	Updated time.Time
}

// Dirty is a claimed entry of the dirty set.
type Dirty struct {
	UserID string
	// Generation increases every time the user is marked dirty; Complete
	// only removes the entry when it has not changed since the claim.
	Generation int64
	Attempts   int
	Since      time.Time // when the entry was first marked dirty
	// Priority is the entry's priority when it was claimed (Scheduling).
	Priority Priority
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
	// The audit trail and the console's user search (audit.go).
	AuditLog
	UserSearcher

	// CreateUser inserts u with a fresh Version 1 and Created/Modified set
	// to now, marks it dirty and gives it a pending link. If a tombstone
	// with the same userName (case-insensitive) exists, the most recent one's
	// link is taken over by the new user (same LinkID and GSID, UserID
	// changed, Version+1). ErrConflict when the
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
	// ListUserIDs returns up to limit user ids that sort after after, in
	// id order, without loading the users: the pages of a walk over every
	// user.
	ListUserIDs(ctx context.Context, after string, limit int) ([]string, error)

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
	// and in the dirty set). fn may be called more than once. check sees
	// the memberships of the affected users as they are when it runs:
	// group writes that affect one user are serialised on that user, so two
	// concurrent writes can never each pass a check that both together
	// would fail (CreateGroup likewise).
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
	// UpdateSync applies fn to the current SyncInfo of the link linkID
	// (whichever user holds it now) and stores fn's result with Version+1,
	// in one transaction, so no concurrent write of the link is lost: fn
	// may be called more than once and must compute its result from the
	// SyncInfo it is given. Of fn's result only GSID, Record, Active,
	// Unknown, State, LastError and Updated are stored (a zero Updated as
	// now, an empty State as pending); the other fields belong to the user
	// writes. An error from fn aborts and is returned unchanged.
	// ErrNotFound when the link no longer exists; ErrConflict when the new
	// GSID is linked to another link (live or tombstone: one Gainsight user
	// has one link); ErrInvalid when a string cannot be stored.
	UpdateSync(ctx context.Context, linkID string, fn func(SyncInfo) (SyncInfo, error)) (SyncInfo, error)
	// ListLinks returns up to limit linked SyncInfos (GSID set; live users
	// and tombstones) whose LinkID sorts after after, in LinkID order: the
	// pages of a walk over every link, for drift repair.
	ListLinks(ctx context.Context, after string, limit int) ([]SyncInfo, error)
	// PurgeTombstones removes the tombstones last written before before
	// whose Gainsight side is settled: never linked, or confirmed inactive,
	// with no write of unknown outcome and no dirty entry. It returns how
	// many it removed. A later re-create of such a userName finds the
	// Gainsight user again by adoption.
	PurgeTombstones(ctx context.Context, before time.Time) (int, error)
	// CountSyncStates returns the number of (non-tombstone) users per state;
	// every state of SyncStates is present, zero when empty.
	CountSyncStates(ctx context.Context) (map[string]int, error)

	// MarkDirty marks users dirty (idempotent; bumps their generation,
	// makes them due now and resets their attempts; a lease in force is
	// kept, so no second worker takes a user that is being pushed). It does
	// not require the users to exist: a deleted user's tombstone is synced
	// through the dirty set too. It marks with PriorityNormal
	// (MarkDirtyAs names a priority).
	MarkDirty(ctx context.Context, userIDs ...string) error
	// ClaimDirty leases up to limit due, unleased dirty entries to owner
	// until now+lease, highest priority first and oldest first within a
	// priority (by when the entry got its priority). A lease that expires
	// makes the entry claimable again (another worker or replica finishes
	// the work). Completing an entry whose user changed while it was
	// leased leaves it with the priority of the marks made since the claim;
	// retrying it keeps the higher of the two.
	ClaimDirty(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]Dirty, error)
	// ExtendLease moves the lease of those of userIDs still leased to
	// owner to until, and returns the ids whose lease owner lost (another
	// worker claimed or finished them). A worker extends its leases while
	// its Gainsight calls are in flight, so a slow batch is not taken over.
	ExtendLease(ctx context.Context, owner string, userIDs []string, until time.Time) (lost []string, err error)
	// CompleteDirty removes the entry if its generation is still gen;
	// otherwise (the user changed meanwhile) it only drops the lease.
	// ErrLeaseLost, changing nothing, when the entry is not leased to
	// owner.
	CompleteDirty(ctx context.Context, owner, userID string, gen int64) error
	// RetryDirty drops the lease and makes the entry due again at notBefore
	// with attempts recorded, unless the generation changed (then it is due
	// now with attempts reset). ErrLeaseLost, changing nothing, when the
	// entry is not leased to owner.
	RetryDirty(ctx context.Context, owner, userID string, gen int64, attempts int, notBefore time.Time) error
	// DirtyStats returns the size of the dirty set and the time the oldest
	// entry was first marked (zero when empty).
	DirtyStats(ctx context.Context) (count int, oldest time.Time, err error)

	// ClaimJob records now as the last run of the periodic job name and
	// returns true if the job has not run since now-every (or never ran);
	// otherwise it changes nothing and returns false. Replicas sharing the
	// store run such a job once per interval between them.
	ClaimJob(ctx context.Context, name string, every time.Duration, now time.Time) (bool, error)

	// Finder answers the filters and batched reads of SCIM lists.
	Finder
	// Scheduling orders the dirty set and keeps the tenant snapshot.
	Scheduling
	// Rollout keeps shadow mode's plans and the mass-deactivation guard.
	Rollout

	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}
