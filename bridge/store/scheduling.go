package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Priority orders the dirty set: what users wait for is the queue in front
// of Gainsight's rate limit, so the work that matters most goes first.
// ClaimDirty takes higher priorities first, oldest first within one.
type Priority int

// Priorities, lowest first. The zero value is no priority (nothing marked).
const (
	// PriorityLow: only profile fields change (title, phone, locale,
	// manager, names).
	PriorityLow Priority = 1
	// PriorityNormal: creates and adoption, and marks that do not say what
	// changed (reconcile, repairs).
	PriorityNormal Priority = 2
	// PriorityHigh: license, roles (permission bundles), super admin, or a
	// reactivation.
	PriorityHigh Priority = 3
	// PriorityUrgent: the user should lose access (disabled, deleted,
	// unassigned, left every access-granting profiled group, deprovisioned
	// by a source).
	PriorityUrgent Priority = 4
)

// Priorities returns every priority, lowest first.
func Priorities() []Priority {
	return []Priority{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}
}

// String returns the priority's name (a metric label).
func (p Priority) String() string {
	switch p {
	case PriorityLow:
		return "low"
	case PriorityNormal:
		return "normal"
	case PriorityHigh:
		return "high"
	case PriorityUrgent:
		return "urgent"
	}
	return "none"
}

// Valid reports whether p is one of the four priorities.
func (p Priority) Valid() bool { return p >= PriorityLow && p <= PriorityUrgent }

// Clamp returns p, or PriorityNormal when p is not a priority, so a write
// never stores a mark outside the range the claim index orders.
func (p Priority) Clamp() Priority {
	if !p.Valid() {
		return PriorityNormal
	}
	return p
}

// Prioritizer decides the priority of the dirty marks that user and group
// writes make, from what they change. It runs inside the write's
// transaction, so the priority is stored with the mark it belongs to; it
// must be quick, must not call the store and may be called more than once
// for one write (a transaction that is run again). Without one, a store
// marks a user that becomes inactive urgent, one that becomes active high
// and everything else normal.
//
// Creates are always PriorityNormal and deletions PriorityUrgent: the store
// decides those itself.
type Prioritizer interface {
	// UserPriority is the priority of an update of a user from old to new;
	// groups are the groups the user is in.
	UserPriority(old, new User, groups []GroupRef) Priority
	// GroupPriority is the priority of a group change for one affected
	// user that was in the groups before and will be in the groups after.
	GroupPriority(before, after []GroupRef) Priority
}

// DefaultUserPriority is the priority of a user update when the store has
// no Prioritizer: becoming inactive is urgent, becoming active high,
// anything else normal.
func DefaultUserPriority(old, new User) Priority {
	switch {
	case old.Active && !new.Active:
		return PriorityUrgent
	case !old.Active && new.Active:
		return PriorityHigh
	}
	return PriorityNormal
}

// PriorityStats describes the pending entries of one priority.
type PriorityStats struct {
	Priority Priority
	Count    int
	// Oldest is when the longest-waiting entry got this priority (its
	// first mark, or the mark that raised it).
	Oldest time.Time
}

// Snapshot is a listing of the Gainsight tenant's join keys, taken so that
// many unlinked users can be adopted or created without a look-up call per
// batch. It holds only what the join needs: a keyed hash of each
// lower-cased key value (never the value), the GSID and the status, so the
// store does not accumulate personal data of Gainsight users the bridge
// does not manage.
type Snapshot struct {
	Taken time.Time
	// Total is how many Gainsight users the listing returned: the tenant's
	// size, which prices the next listing.
	Total int
	// Salt keys the hashes (KeyHash); a new listing gets a new salt.
	Salt string
	Keys []SnapshotKey
}

// SnapshotKey is one join key of one Gainsight user.
type SnapshotKey struct {
	Hash   string // KeyHash(salt, field, value)
	GSID   string
	Active bool
}

// SnapshotInfo describes the stored snapshot without its keys.
type SnapshotInfo struct {
	Taken time.Time
	Total int
	Salt  string
	Keys  int
}

// KeyHash is the hash under which a snapshot keeps the value of the join
// field field: HMAC-SHA-256 keyed with salt over the field name and the
// folded value (store.Fold), hex-encoded. Values compare
// case-insensitively, as Gainsight's own uniqueness does.
func KeyHash(salt, field, value string) string {
	m := hmac.New(sha256.New, []byte(salt))
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(Fold(value)))
	return hex.EncodeToString(m.Sum(nil))
}

// Scheduling is the part of Store that orders the dirty set by priority and
// keeps the tenant snapshot. Every backend implements it.
type Scheduling interface {
	// MarkDirtyAs is MarkDirty with a priority: a new entry gets p; a
	// pending entry keeps the higher of its priority and p (a mark can
	// raise an entry's priority, never lower it while it is pending).
	MarkDirtyAs(ctx context.Context, p Priority, userIDs ...string) error
	// ClaimDirtyMin is ClaimDirty restricted to entries of priority min or
	// higher: what the engine claims when only the rate budget's urgent
	// share is left.
	ClaimDirtyMin(ctx context.Context, owner string, min Priority, limit int, lease time.Duration, now time.Time) ([]Dirty, error)
	// DirtyByPriority returns the pending entries per priority, every
	// priority present (zero when none).
	DirtyByPriority(ctx context.Context) ([]PriorityStats, error)
	// CountUnlinkedDirty returns how many dirty entries belong to live
	// users that are not linked to a Gainsight user: the users that need
	// adoption or a create.
	CountUnlinkedDirty(ctx context.Context) (int, error)
	// SetPrioritizer sets what decides the priority of the marks user and
	// group writes make; nil restores the defaults. Set it before the store
	// is shared.
	SetPrioritizer(p Prioritizer)

	// ReplaceSnapshot stores s as the tenant snapshot, replacing the
	// previous one in one transaction.
	ReplaceSnapshot(ctx context.Context, s Snapshot) error
	// SnapshotInfo returns the stored snapshot's description, or
	// ErrNotFound when no snapshot was taken.
	SnapshotInfo(ctx context.Context) (SnapshotInfo, error)
	// SnapshotKeys returns the keys of the stored snapshot whose Hash is
	// one of hashes (an indexed lookup), in no particular order.
	SnapshotKeys(ctx context.Context, hashes []string) ([]SnapshotKey, error)
}
