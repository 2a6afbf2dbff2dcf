package sync

import (
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// This file holds the values a pass plans with: what Load found of each
// claimed user (subject, lookup) and what the plan decides for it
// (Change, a plain value that can be shown, stored and audited).

// Kind is one thing a pass does for a user.
type Kind string

// Kinds, in the order a pass carries them out.
const (
	KindAdopt        Kind = "adopt"         // link an existing Gainsight user
	KindDeactivate   Kind = "deactivate"    // status false
	KindCreate       Kind = "create"        // create the Gainsight user
	KindReactivate   Kind = "reactivate"    // status true
	KindUpdate       Kind = "update"        // send the changed fields
	KindDeferManager Kind = "defer-manager" // the manager is not linked yet: synced again once it is
	KindFailed       Kind = "failed"        // cannot be synced as it is; retried once it changes
	// KindCarry: the user's create or update waits for the next pass, so
	// that this pass's calls and the next one's go out full (carryOver).
	KindCarry Kind = "carry"
	// KindHold: the mass-deactivation guard holds the user's deactivation
	// until an operator approves it; nothing is sent for the user.
	KindHold Kind = "hold"
)

// Kinds returns the kinds a plan can show, in the order a pass carries
// them out.
func Kinds() []Kind {
	return []Kind{KindAdopt, KindDeactivate, KindCreate, KindReactivate, KindUpdate, KindDeferManager, KindFailed, KindCarry, KindHold}
}

// FieldChange is one field a pass sends: what Gainsight was last confirmed
// to hold (nil: nothing) and what is sent (nil: cleared).
type FieldChange struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

// Change is what one pass does for one user: a plain value that can be
// shown or stored. The unexported fields are what the executor needs to
// carry it out.
type Change struct {
	UserID string `json:"userId"`
	// GSID is the Gainsight user acted on, "" until it is created.
	GSID   string        `json:"gsid,omitempty"`
	Kinds  []Kind        `json:"kinds"`
	Fields []FieldChange `json:"fields,omitempty"`
	// Reason says why the user failed, waits for its manager, or is
	// retried.
	Reason string `json:"reason,omitempty"`
	// Retry means the user could not be fully planned this pass (a store
	// read or a look-up failed); whatever was decided is still done.
	Retry bool `json:"retry,omitempty"`
	// Match names the join key an adoption matched the Gainsight user on:
	// the user-name field or Email.
	Match string `json:"match,omitempty"`

	sub        *subject
	confirmed  gainsight.Record // what Gainsight holds before this pass writes
	active     bool             // and its status
	known      bool             // confirmed/active were established this pass (re-read, adopted)
	takeFrom   string           // adopting from this tombstone link: unlink it first
	vanished   string           // Gainsight no longer has this GSID of the link
	create     gainsight.Record // the record a create sends
	update     gainsight.Record // the fields an update sends (nil clears)
	managerOf  string           // the SCIM id of a manager linked in this pass, whose GSID the update adds
	partial    bool             // adopted from a snapshot match: no look-up was spent on it
	approved   bool             // an operator approved the deactivation the guard held
	unhold     bool             // the user was held and no longer needs a deactivation: its hold goes
	newHold    bool             // the guard held the user in this pass
	retryErr   error
	failErr    error
	failReason string // metric label of a failure
}

func (c *Change) has(k Kind) bool {
	for _, x := range c.Kinds {
		if x == k {
			return true
		}
	}
	return false
}

func (c *Change) add(k Kind) {
	if !c.has(k) {
		c.Kinds = append(c.Kinds, k)
	}
}

func (c *Change) fail(reason string, err error) {
	if c.failErr == nil && c.retryErr == nil {
		c.failErr, c.failReason = err, reason
		c.Reason = maskEmails(err.Error())
		c.add(KindFailed)
	}
}

func (c *Change) retry(err error) {
	if c.failErr == nil && c.retryErr == nil {
		c.retryErr, c.Retry = err, true
		c.Reason = maskEmails(err.Error())
	}
}

// subject is one claimed user as Load found it.
type subject struct {
	UserID   string
	Dirty    store.Dirty
	Deleted  bool            // the SCIM user no longer exists; its link, if any, is a tombstone
	UserName string          // the user's userName, or the tombstone's
	Link     *store.SyncInfo // nil: no link
	// Desired state of a live user: the managed fields (Manager included
	// when the manager is linked) and the status. A deleted user should be
	// inactive.
	Desired    gainsight.Record
	Active     bool
	SuperAdmin bool
	// PlanErr: the user cannot be planned (a group conflict, an
	// unmappable value). Active still holds: it is the SCIM active flag.
	PlanErr error
	// ManagerID is the SCIM id of a manager that is not linked yet and
	// will be (ManagerWait); the user is synced again once it is.
	ManagerID   string
	ManagerWait bool
	// Reread: Gainsight was asked for the linked user because the link's
	// state is unknown; Current is what it holds (nil: no such user).
	Reread    bool
	Current   gainsight.Record
	RereadErr error
	// LoadErr: a store read failed; nothing is decided for the user.
	LoadErr error
	// Hold is the mass-deactivation guard's hold of the user, nil when
	// it is not held.
	Hold *store.Hold
	// Sources maps each desired field to what produced it (the groups,
	// "user" or "default"), for the plans shadow mode stores.
	Sources map[string][]string
	// user and groups are what the user was planned from.
	user   store.User
	groups []store.GroupRef
}

// lookup is what the batch's adoption look-up found, with who holds each
// found Gainsight user in the store.
type lookup struct {
	Found []gainsight.Record
	Err   error
	// Holders maps each found GSID to the link that holds it.
	Holders map[string]store.SyncInfo
	// NameOwners maps store.Fold of each found record's user-name field to
	// the ids of the bridge users with that userName.
	NameOwners map[string][]string
	// Partial holds the GSIDs of found records that come from the tenant
	// snapshot: of these only the GSID, the matched user-name field and
	// the status are known, so nothing else is taken as confirmed.
	Partial map[string]bool
	// Called says a look-up call was made for the batch.
	Called bool
}
