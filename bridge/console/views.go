package console

import (
	"context"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
)

// Backend is what the console shows and does; the bridge implements it.
type Backend interface {
	// Overview is the bridge at a glance.
	Overview(ctx context.Context) (Overview, error)
	// SearchUsers lists users for the users page.
	SearchUsers(ctx context.Context, q store.UserSearch) ([]store.UserSummary, int, error)
	// User finds a user by SCIM id, userName or GSID and explains it;
	// store.ErrNotFound when there is none.
	User(ctx context.Context, key string) (UserView, error)
	// History is a user's audit trail, newest first.
	History(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error)
	// Groups are the configured group profiles and the pushed groups they
	// match.
	Groups(ctx context.Context) ([]GroupView, error)
	// Retry queues the user for a sync pass now and records it in the
	// audit trail as actor's.
	Retry(ctx context.Context, userID, actor string) error
	// Plan is shadow mode's stored plan (only: one of the kinds PlanView
	// counts, or "" for all)
	// and the users the mass-deactivation guard holds.
	Plan(ctx context.Context, only string, offset, limit int) (PlanView, error)
	// Decide approves or rejects the guard's holds of userIDs (all: of
	// every held user) as actor, records it in the audit trail, and
	// returns how many holds it changed.
	Decide(ctx context.Context, userIDs []string, all, approve bool, actor string) (int, error)
}

// PlanView is the plan page: what shadow mode planned and whom the guard
// holds.
type PlanView struct {
	// Shadow: the engine runs in shadow mode and writes nothing.
	Shadow bool
	// Guard describes the guard ("" when it is off); WouldHold is how
	// many planned deactivations it would hold if they went out now.
	Guard     string
	WouldHold int
	// Planned is the number of stored plans, Counts the plans per kind
	// (the kinds the page filters by, in order), Total the plans the
	// page's kind selects.
	Planned int
	Counts  []KindCount
	Total   int
	Users   []PlannedView
	// Held are the users the guard holds, oldest first.
	Held []HeldView
}

// KindCount is the number of plans of one kind.
type KindCount struct {
	Kind  string
	Users int
}

// PlannedView is one user's stored plan.
type PlannedView struct {
	UserID   string
	UserName string
	Deleted  bool
	GSID     string
	Kinds    []string
	Match    string
	Reason   string
	Fields   []PlannedFieldView
	Planned  time.Time
}

// PlannedFieldView is one field a plan would send.
type PlannedFieldView struct {
	Field    string
	Old, New any
	Sources  []string
	// Masked: a personal field, whose values are not shown.
	Masked bool
}

// HeldView is a user the guard holds.
type HeldView struct {
	UserID     string
	UserName   string
	GSID       string
	Held       time.Time
	ApprovedBy string
	Approved   time.Time
	RejectedBy string
	Rejected   time.Time
}

// Overview is the overview page.
type Overview struct {
	Now time.Time
	// States counts users per sync state, in display order.
	States []StateCount
	// QueueDepth is the dirty queue's size; Oldest when its oldest entry
	// was marked (zero when empty).
	QueueDepth int
	Oldest     time.Time
	// Windows are the rate budget's current windows (nil: unknown).
	Windows []gainsight.WindowStatus
	// ETA is the estimated time to drain the queue at the budget left;
	// ETAKnown false when it is too far out to estimate.
	ETA      time.Duration
	ETAKnown bool
	// Failures are the latest Gainsight writes that failed or whose outcome
	// is unknown, newest first; Reasons counts the failures among the
	// latest writes by their reason, most frequent first.
	Failures []store.AuditEntry
	Reasons  []ReasonCount
	// Google is the Google source's status; nil without one.
	Google *GoogleStatus
}

// ReasonCount is how many recent writes failed for one reason, and when
// the latest of them was.
type ReasonCount struct {
	Reason string
	Writes int
	Last   time.Time
}

// StateCount is the number of users in one sync state.
type StateCount struct {
	State string
	Users int
}

// GoogleStatus is the Google Workspace source as this replica sees it.
type GoogleStatus struct {
	LastPoll, LastSuccess time.Time
	LastError             string
	UsersInScope          int
	GroupsInScope         int
}

// UserView is the user page's subject.
type UserView struct {
	ID       string
	UserName string
	Deleted  bool
	// State, GSID, LastError, ActiveInGainsight and Updated are the link's.
	State             string
	GSID              string
	LastError         string
	ActiveInGainsight *bool
	Updated           time.Time
	// Effective is the user's effective attributes and the groups that
	// produced them; nil for a deleted user.
	Effective *translate.Explanation
	Conflict  string
	// LastPushed is the last record Gainsight confirmed.
	LastPushed map[string]any
	// Held is the guard's hold of the user, nil when it is not held.
	Held *HeldView
}

// GroupView is one group profile.
type GroupView struct {
	Profile     string
	Matcher     string // how pushed groups match it: displayName "…" or externalId "…"
	LicenseType string
	Roles       []string
	SuperAdmin  *bool
	Fields      map[string]any
	Groups      []GroupCount // the pushed groups it matches
	Members     int          // distinct members across them
}

// GroupCount is one pushed group and its member count.
type GroupCount struct {
	ID          string
	DisplayName string
	Members     int
}
