package store

import (
	"context"
	"time"
)

// AuditOp names what an audit entry records. The set is open: a feature
// that records a new kind of event adds a constant here, and the backends,
// the console and the history command show it without change.
type AuditOp string

// Gainsight writes, recorded by the sync engine with their outcome.
const (
	AuditCreate     AuditOp = "create"     // a Gainsight user was created
	AuditAdopt      AuditOp = "adopt"      // an existing Gainsight user was linked
	AuditUpdate     AuditOp = "update"     // fields were sent
	AuditDeactivate AuditOp = "deactivate" // status false
	AuditReactivate AuditOp = "reactivate" // status true
	// AuditHold: the mass-deactivation guard held a deactivation; nothing
	// was sent.
	AuditHold AuditOp = "hold"
)

// Operator actions, recorded with the operator's name.
const (
	AuditRetry AuditOp = "retry" // the user was queued again by hand
	// AuditApprove and AuditReject: an operator decided on a deactivation
	// the mass-deactivation guard held.
	AuditApprove AuditOp = "approve"
	AuditReject  AuditOp = "reject"
)

// Changes of intent: what an identity source or the configuration asked
// for, recorded with the request id and the token's name.
const (
	AuditUserCreated     AuditOp = "user-created"
	AuditUserUpdated     AuditOp = "user-updated"
	AuditUserDeactivated AuditOp = "user-deactivated" // active became false
	AuditUserReactivated AuditOp = "user-reactivated" // active became true
	AuditUserDeleted     AuditOp = "user-deleted"
	AuditMembership      AuditOp = "group-membership" // added to or removed from a group
	AuditProfileReload   AuditOp = "profile-reload"   // a configuration reload changed what the user should get
)

// Who caused an entry (AuditEntry.Source).
const (
	AuditSourceSync    = "sync"    // the sync engine, writing to Gainsight
	AuditSourceSCIM    = "scim"    // a SCIM request
	AuditSourceGoogle  = "google"  // the Google Workspace source
	AuditSourceConsole = "console" // an operator in the console
	AuditSourceConfig  = "config"  // a configuration reload
	AuditSourceAdmin   = "admin"   // the admin API or a command run by an operator
)

// Results of an entry (AuditEntry.Result).
const (
	AuditOK      = "ok"      // applied
	AuditFailed  = "failed"  // refused; nothing changed
	AuditUnknown = "unknown" // sent, but whether it was applied is not known
)

// AuditEntry is one line of the audit trail: one event for one user.
type AuditEntry struct {
	// ID increases with every entry appended (assigned by the store).
	ID   int64
	Time time.Time // when it happened; the store's clock when zero
	// UserID and UserName identify the user (the SCIM id and userName at
	// the time). Both are empty for an event about no one user.
	UserID   string
	UserName string
	Op       AuditOp
	Source   string // AuditSource*
	// Actor names who acted: the SCIM token's name, the operator's name,
	// the replica of the sync engine.
	Actor string
	// Replica is the bridge replica that recorded the entry.
	Replica string
	// RequestID is Gainsight's requestId of a write, or the X-Request-Id of
	// a SCIM request.
	RequestID string
	GSID      string
	Result    string // AuditOK, AuditFailed or AuditUnknown
	Error     string
	// Detail is a short free text: the group of a membership change, the
	// profiles of a reload.
	Detail  string
	Changes []AuditChange
}

// AuditChange is one changed field. A personal field (email, names, phone)
// is recorded as Masked, without its values, unless the audit is
// configured to record personal data.
type AuditChange struct {
	Field  string `json:"field"`
	Old    any    `json:"old,omitempty"`
	New    any    `json:"new,omitempty"`
	Masked bool   `json:"masked,omitempty"`
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	// UserID selects one user's entries; when empty, UserName (compared
	// case-insensitively) does; when both are empty, every entry.
	UserID   string
	UserName string
	// Since and Until bound Time (Since inclusive, Until exclusive); zero
	// is unbounded.
	Since, Until time.Time
	// BeforeTime and BeforeID page back: when BeforeID is set, only the
	// entries that come after the entry (BeforeTime, BeforeID) in the
	// newest-first order (the last entry of the previous page).
	BeforeTime time.Time
	BeforeID   int64
	Limit      int // 0 = DefaultAuditLimit
}

// DefaultAuditLimit is how many entries ListAudit returns when the query
// sets no limit.
const DefaultAuditLimit = 100

// AuditLog is the append-only audit trail. It is indexed by user and time,
// so a user's history and a time range never scan the trail.
type AuditLog interface {
	// AppendAudit appends entries in one transaction, assigning IDs in
	// order (and Time when zero). An entry with a user id and no userName
	// (a group's membership change) is recorded under the userName of the
	// user of that id, when there is one. Not idempotent: a retried append
	// may record an entry twice. ErrInvalid when a user id or userName
	// cannot be indexed.
	AppendAudit(ctx context.Context, entries []AuditEntry) error
	// ListAudit returns the entries q selects, newest first (by Time, then
	// ID).
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
	// PruneAudit removes at most limit entries, oldest first, of those
	// written before before (zero: none by age) and those beyond the
	// newest keep entries (keep <= 0: none by count), and returns how many
	// it removed. Callers prune in small batches until it returns fewer
	// than limit, so appends never wait long behind a prune.
	PruneAudit(ctx context.Context, before time.Time, keep, limit int) (int, error)
}

// UserSearch selects users for the console's user list.
type UserSearch struct {
	// Text matches a userName prefix (case-insensitive), an email address
	// (case-insensitive), a GSID or a SCIM id; empty matches every user.
	Text string
	// States keeps the users whose sync state is one of them; empty keeps
	// every state.
	States []string
	Offset int
	Limit  int // 0 = 50
}

// UserSummary is one row of the console's user list.
type UserSummary struct {
	ID        string
	UserName  string
	Active    bool // the SCIM active flag
	Source    string
	State     string
	GSID      string
	LastError string
	Updated   time.Time // of the link
}

// UserSearcher lists users with their sync state, for the console.
type UserSearcher interface {
	// SearchUsers returns a page of the users q selects, ordered by
	// userName, and how many match in all.
	SearchUsers(ctx context.Context, q UserSearch) ([]UserSummary, int, error)
}
