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
	// is unknown, newest first.
	Failures []store.AuditEntry
	// Google is the Google source's status; nil without one.
	Google *GoogleStatus
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
