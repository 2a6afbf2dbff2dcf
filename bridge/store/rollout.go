package store

import (
	"context"
	"time"
)

// StateHeld is the sync state of a user whose deactivation the
// mass-deactivation guard holds until an operator approves it (or the
// identity source no longer deactivates the user).
const StateHeld = "held"

// SyncStates returns every sync state, in display order.
func SyncStates() []string {
	return []string{StatePending, StateSynced, StateFailed, StateHeld}
}

// ValidSyncState reports whether s is one of SyncStates.
func ValidSyncState(s string) bool {
	switch s {
	case StatePending, StateSynced, StateFailed, StateHeld:
		return true
	}
	return false
}

// PlannedUser is what shadow mode stored for one user: the change the sync
// engine would have made, kept until the engine runs live.
type PlannedUser struct {
	UserID   string
	UserName string
	// Kinds are the kinds of the change (create, adopt, update, …), as
	// the engine names them; ListPlans filters and CountPlans counts by
	// them.
	Kinds []string
	// Priority is the dirty entry's priority when the user was planned:
	// releasing the plan marks the user with it again.
	Priority Priority
	Planned  time.Time
	// Change is the engine's description of the change (JSON), stored
	// as it is given.
	Change []byte
}

// PlanQuery selects stored plans, ordered by userName (then user id).
type PlanQuery struct {
	// Kind keeps the plans with this kind; empty keeps every plan.
	Kind   string
	Offset int
	Limit  int // 0 = no limit
}

// GuardPolicy is the mass-deactivation guard's threshold: within any
// Window, at most MaxUsers deactivations and at most MaxPercent percent of
// the managed users active in Gainsight, whichever is lower.
type GuardPolicy struct {
	Window     time.Duration
	MaxUsers   int // 0: no absolute limit
	MaxPercent int // 0: no limit by share
}

// Limit is the number of deactivations the policy allows in one window
// when active managed users are active in Gainsight; -1 means no limit
// (both limits 0). The share is rounded up, so a policy with a share
// always lets one deactivation of an active user through.
func (p GuardPolicy) Limit(active int) int {
	limit := -1
	if p.MaxUsers > 0 {
		limit = p.MaxUsers
	}
	if p.MaxPercent > 0 {
		share := (max(active, 0)*p.MaxPercent + 99) / 100
		if limit < 0 || share < limit {
			limit = share
		}
	}
	return limit
}

// Deactivation is a deactivation the guard is asked to let through.
type Deactivation struct {
	UserID   string
	UserName string
	GSID     string
}

// GuardResult is what ReserveDeactivations decided.
type GuardResult struct {
	// Granted are the ids of the users whose deactivation may be sent.
	Granted []string
	// Held are the rest, now held.
	Held []Hold
	// Limit is the threshold in force (-1: none); Counted the
	// deactivations counted in the window, those granted now included;
	// Active the managed users active in Gainsight the share is of.
	Limit, Counted, Active int
}

// Hold is a user whose deactivation the guard holds.
type Hold struct {
	UserID   string
	UserName string
	GSID     string
	Held     time.Time // when it was first held
	// ApprovedBy and Approved: an operator let the deactivation through
	// (empty and zero until then). RejectedBy and Rejected: an operator
	// refused it; the user stays held while its identity source still
	// deactivates it.
	ApprovedBy string
	Approved   time.Time
	RejectedBy string
	Rejected   time.Time
}

// Decided reports whether an operator approved or rejected the hold.
func (h Hold) Decided() bool { return h.ApprovedBy != "" || h.RejectedBy != "" }

// HoldDecision is an operator's decision on held users.
type HoldDecision struct {
	// UserIDs are the held users decided on; All decides on every held
	// user instead.
	UserIDs []string
	All     bool
	// Approve lets the deactivations through; otherwise they are
	// rejected.
	Approve bool
	By      string // who decided: a token's or an operator's name
	At      time.Time
}

// GuardStats describes the guard's state for the gauges.
type GuardStats struct {
	Held     int // users held
	Awaiting int // held users no operator decided on
	// Counted is the deactivations counted in the window ending now;
	// Active the managed users active in Gainsight.
	Counted, Active int
}

// Rollout is the part of Store behind a safe rollout: the plans shadow
// mode stores, and the mass-deactivation guard's count and holds. Every
// backend implements it; several replicas share one count.
type Rollout interface {
	// RecordPlans stores save (replacing each user's previous plan) and
	// removes the plans of drop, in one transaction.
	RecordPlans(ctx context.Context, save []PlannedUser, drop []string) error
	// ListPlans returns the plans q selects and how many match in all.
	ListPlans(ctx context.Context, q PlanQuery) ([]PlannedUser, int, error)
	// PlanOf returns the stored plan of a user, or ErrNotFound.
	PlanOf(ctx context.Context, userID string) (PlannedUser, error)
	// CountPlans returns the number of stored plans and, per kind, the
	// plans that have it.
	CountPlans(ctx context.Context) (total int, byKind map[string]int, err error)
	// ReleasePlans marks up to limit planned users dirty, each with the
	// priority it was planned with, and removes their plans, in one
	// transaction: what shadow mode planned is synced by the engine live,
	// and nothing is lost between the two. It returns how many it
	// released.
	ReleasePlans(ctx context.Context, limit int) (int, error)

	// ReserveDeactivations asks the guard to let the deactivations ds
	// through at now, in one transaction that every replica's
	// reservations queue on, so the window's count is shared and never
	// exceeded. In order: a held user is granted, uncounted, when its hold
	// is approved and stays held otherwise; a user already counted in the
	// window is granted again (a retry is not counted twice); others are
	// granted and counted while the window's count is below policy's
	// limit, and held beyond it. A deactivation is counted for
	// policy.Window.
	ReserveDeactivations(ctx context.Context, policy GuardPolicy, now time.Time, ds []Deactivation) (GuardResult, error)
	// Holds returns every hold, oldest first (then by user id).
	Holds(ctx context.Context) ([]Hold, error)
	// HoldsOf returns the holds of those of ids that are held.
	HoldsOf(ctx context.Context, ids []string) (map[string]Hold, error)
	// DecideHolds records an operator's decision and marks the users it
	// applies to dirty (approved ones urgent), in one transaction. An
	// approval applies to holds not approved yet, a rejection to holds
	// not rejected yet (a rejection withdraws an approval that the engine
	// has not acted on); it returns the holds the decision changed, so
	// two operators approving at once release each user once.
	DecideHolds(ctx context.Context, d HoldDecision) ([]Hold, error)
	// ReleaseHolds removes the holds of ids: the deactivation was sent,
	// or the user no longer needs one.
	ReleaseHolds(ctx context.Context, ids ...string) error
	// GuardStats returns the guard's counts, the deactivations counted
	// in the window of policy ending at now.
	GuardStats(ctx context.Context, window time.Duration, now time.Time) (GuardStats, error)
}
