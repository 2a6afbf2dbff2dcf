package sync

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// This file is the engine's pure core: from what Load read (the claimed
// users with their desired state, what Gainsight last confirmed, what the
// look-ups found) it decides what one pass sends, without any I/O. Every
// ordering rule lives here:
//
//  1. A user who should be inactive is deactivated first, in a call of its
//     own, whatever else fails about the user (a refused field, a group
//     conflict, a failed look-up): nothing else of the user gates it.
//  2. Users are linked (adopted) before anything is written to their
//     Gainsight user, and adoption follows the join order: every
//     candidate is matched on the user-name field before any is matched
//     on Email, and a Gainsight user linked to another user of the bridge
//     is never taken (the matching is in adopt.go).
//  3. Creates come next; a created user who should be inactive is then
//     deactivated.
//  4. Reactivation comes before the update, which sends the license again
//     (Gainsight dropped it on deactivation; see rules.go).
//  5. The update comes last, after the managers created or adopted in the
//     same pass, so it can carry their GSIDs; a manager not linked yet is
//     waited for (defer-manager).
//  6. The mass-deactivation guard (guard): a deactivation of a Gainsight
//     user that is active is let through while the guard's window has
//     room, or when an operator approved it; otherwise the user is held
//     (hold), and nothing at all is sent for it until an operator
//     approves or its identity source no longer deactivates it. A
//     deactivation of a user created inactive in the same pass removes no
//     one's access and is not counted.
//
// The executor (execute.go) runs the steps in that order and records each
// write's outcome.

// batchPlan is the plan of one batch, and the state adoption needs when
// it runs again for users Gainsight refused to create as duplicates.
type batchPlan struct {
	Changes []*Change
	field   string             // the user-name join field
	taken   map[string]*Change // GSID → the batch user linked (or being linked) to it
}

// planBatch plans a claimed batch. It does no I/O: subs and lk hold all it
// needs.
func planBatch(subs []*subject, lk lookup, userNameField string) *batchPlan {
	p := &batchPlan{field: userNameField, taken: map[string]*Change{}}
	byUser := map[string]*Change{}
	var cands, orphans []*Change
	for _, s := range subs {
		c := &Change{UserID: s.UserID, sub: s, Kinds: []Kind{}}
		p.Changes = append(p.Changes, c)
		byUser[s.UserID] = c
		if s.Link != nil && s.Link.GSID != "" {
			p.taken[s.Link.GSID] = c
		}
	}
	for _, c := range p.Changes {
		s := c.sub
		switch {
		case s.LoadErr != nil:
			c.retry(s.LoadErr)
		case s.Deleted:
			if p.planDeleted(c) {
				orphans = append(orphans, c)
			}
		default:
			if p.planLive(c) {
				cands = append(cands, c)
			}
		}
	}
	if len(cands) > 0 || len(orphans) > 0 {
		if lk.Err != nil {
			for _, c := range append(cands, orphans...) {
				c.retry(fmt.Errorf("look up existing Gainsight users: %w", lk.Err))
			}
		} else {
			for _, c := range p.adopt(cands, lk) {
				p.planCreate(c)
			}
			p.adoptOrphans(orphans, lk)
		}
	}
	p.planManagers(byUser)
	return p
}

// planDeleted plans a deleted user: deactivate its Gainsight user if that
// may be active. It reports whether the user is an orphan candidate: never
// linked, but a write of unknown outcome (a create whose answer was lost)
// may have made its Gainsight user, which is then looked up by userName.
func (p *batchPlan) planDeleted(c *Change) bool {
	s := c.sub
	if s.Link == nil {
		return false
	}
	if s.Link.GSID == "" {
		return s.Link.Unknown && s.UserName != ""
	}
	c.GSID = s.Link.GSID
	c.confirmed, c.active = cloneRecord(s.Link.Record), s.Link.Active
	switch {
	case s.Reread && s.Current == nil:
		c.confirmed, c.active, c.known = nil, false, true // nothing left to deactivate
	case s.Reread:
		c.confirmed, c.active = confirmedOf(s.Current, nil)
		c.known = true
	case s.RereadErr != nil:
		c.active = true // unknown: deactivating is safe either way
		c.retry(fmt.Errorf("re-read the Gainsight user after a write of unknown outcome: %w", s.RereadErr))
	}
	if c.active {
		c.add(KindDeactivate)
	}
	return false
}

// planLive plans a live user that has a link; it reports whether the user
// is an adoption candidate (not linked to a Gainsight user).
func (p *batchPlan) planLive(c *Change) bool {
	s := c.sub
	if s.Link == nil {
		c.retry(errors.New("the user has no link row"))
		return false
	}
	gsid := s.Link.GSID
	if gsid != "" && s.Reread && s.Current == nil {
		// Gainsight no longer has it: adopt or create again.
		delete(p.taken, gsid)
		c.vanished, gsid = gsid, ""
	}
	if gsid == "" {
		if s.PlanErr != nil {
			c.fail(gainsight.ReasonValidation, s.PlanErr)
			return false
		}
		return true
	}
	c.GSID = gsid
	c.confirmed, c.active = cloneRecord(s.Link.Record), s.Link.Active
	switch {
	case s.Reread:
		c.confirmed, c.active = confirmedOf(s.Current, s.Desired)
		c.known = true
	case s.RereadErr != nil:
		// Unknown state: the deactivation is sent anyway (it is safe
		// either way); the rest waits for a re-read that succeeds.
		if !s.Active {
			c.add(KindDeactivate)
		}
		c.retry(fmt.Errorf("re-read the Gainsight user after a write of unknown outcome: %w", s.RereadErr))
		return false
	}
	p.planLinked(c)
	return false
}

// planLinked plans the status change and update of a linked live user
// from its confirmed state.
func (p *batchPlan) planLinked(c *Change) {
	s := c.sub
	want := s.Active
	switch {
	case !want && c.active:
		c.add(KindDeactivate)
	case want && !c.active && s.PlanErr == nil:
		c.add(KindReactivate)
	}
	if s.PlanErr != nil {
		c.fail(gainsight.ReasonValidation, s.PlanErr)
		return
	}
	update := diffRecord(sendable(s.Desired, want), withStatus(c.confirmed, want))
	if len(update) > 0 {
		c.update = update
		c.add(KindUpdate)
	}
	c.Fields = fieldChanges(c.confirmed, update)
}

// planCreate plans the create of a user nothing matched.
func (p *batchPlan) planCreate(c *Change) {
	s := c.sub
	c.create = cloneRecord(s.Desired)
	c.add(KindCreate)
	if !s.Active {
		c.add(KindDeactivate)
	}
	c.Fields = fieldChanges(nil, c.create)
}

// planManagers decides, for users whose manager is not linked yet, whether
// the manager is linked in this pass (its GSID then joins the update) or
// the user waits for it.
func (p *batchPlan) planManagers(byUser map[string]*Change) {
	for _, c := range p.Changes {
		s := c.sub
		if s.ManagerID == "" || !s.ManagerWait || c.failErr != nil || c.retryErr != nil {
			continue
		}
		if m := byUser[s.ManagerID]; m != nil && (m.has(KindCreate) || m.has(KindAdopt)) && m.failErr == nil && m.retryErr == nil {
			c.managerOf = s.ManagerID
			continue
		}
		c.add(KindDeferManager)
		c.Reason = fmt.Sprintf("waiting for manager %s to be linked to Gainsight", s.ManagerID)
	}
}

// managerUpdate adds the Manager of a user whose manager was linked in
// this pass (GSID gsid, "" when it was not) to the user's update. A user
// whose manager was not linked waits for it.
func managerUpdate(c *Change, confirmed gainsight.Record, gsid string) {
	if c.managerOf == "" {
		return
	}
	if gsid == "" {
		c.add(KindDeferManager)
		c.Reason = fmt.Sprintf("waiting for manager %s to be linked to Gainsight", c.managerOf)
		c.managerOf = ""
		return
	}
	c.managerOf = ""
	if sameValue(confirmed[fieldManager], gsid) {
		return
	}
	if c.update == nil {
		c.update = gainsight.Record{}
	}
	c.update[fieldManager] = gsid
	c.Fields = fieldChanges(confirmed, c.update)
	// The update comes after the create and status steps.
	kinds := c.Kinds[:0:0]
	for _, k := range c.Kinds {
		if k != KindUpdate {
			kinds = append(kinds, k)
		}
	}
	c.Kinds = kinds
	c.add(KindUpdate)
}

// carryOver holds back, in a batch that is one of several (its claim was
// full, so more users are waiting), the users that would make a create or
// update call go out part-empty: they wait for the next pass, where they
// are claimed first (they are the oldest) and fill its calls. So a long
// import or fan-out sends every call but the last with size users, and
// costs ceil(users/size) calls of each kind, not one part-empty call more
// per pass. Only users whose one call is that create or update are held
// back, never urgent ones, and never users a look-up call was spent on in
// this pass (lookedUp: unlinked users adopted or created after one) or
// whose manager is linked in this pass.
func (p *batchPlan) carryOver(size int, lookedUp bool) {
	for _, kind := range []Kind{KindCreate, KindUpdate} {
		total := 0
		var movable []*Change
		for _, c := range p.Changes {
			if c.failErr != nil || c.retryErr != nil || !c.has(kind) {
				continue
			}
			total++
			if c.sub.Dirty.Priority >= store.PriorityUrgent || c.managerOf != "" || !onlyCall(c, kind) {
				continue
			}
			if lookedUp && (kind == KindCreate || c.has(KindAdopt) && !c.partial) {
				continue
			}
			movable = append(movable, c)
		}
		hold := min(total%size, len(movable))
		for _, c := range movable[len(movable)-hold:] {
			c.Kinds = []Kind{KindCarry}
			c.create, c.update, c.Fields = nil, nil, nil
			c.Reason = "waits for the next pass, to fill its " + string(kind) + " call"
		}
	}
}

// onlyCall reports whether kind is the one call c makes (an adoption is a
// store write, not a call).
func onlyCall(c *Change, kind Kind) bool {
	for _, k := range c.Kinds {
		if k != kind && k != KindAdopt {
			return false
		}
	}
	return kind == KindUpdate || !c.has(KindAdopt)
}

// fieldChanges lists the fields of sent with their confirmed values, in
// field order.
func fieldChanges(confirmed, sent gainsight.Record) []FieldChange {
	out := make([]FieldChange, 0, len(sent))
	for k, v := range sent {
		out = append(out, FieldChange{Field: k, Old: confirmed[k], New: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// guarded reports whether c deactivates a Gainsight user that may be
// active: what the mass-deactivation guard counts. A user created and
// deactivated in the same pass never had access.
func guarded(c *Change) bool {
	return c.has(KindDeactivate) && !c.has(KindCreate)
}

// guard applies the holds Load found and returns the deactivations the
// guard must count (in the batch's order). A held user stays held, and a
// user whose hold an operator approved is let through uncounted; a held
// user that no longer needs a deactivation loses its hold.
func (p *batchPlan) guard() []*Change {
	var count []*Change
	for _, c := range p.Changes {
		s := c.sub
		if !guarded(c) {
			c.unhold = s.Hold != nil && s.LoadErr == nil && c.retryErr == nil
			continue
		}
		switch {
		case s.Hold != nil && s.Hold.ApprovedBy != "":
			c.approved = true
		case s.Hold != nil:
			p.hold(c, heldReason(*s.Hold))
		default:
			count = append(count, c)
		}
	}
	return count
}

// hold turns c into a held user: nothing is sent for it, and reason says
// why. A failure or retry of the user's other changes waits with them.
func (p *batchPlan) hold(c *Change, reason string) {
	if c.failErr != nil {
		reason += "; besides: " + c.Reason
	}
	c.Kinds = []Kind{KindHold}
	c.create, c.update, c.Fields, c.managerOf = nil, nil, nil, ""
	c.retryErr, c.Retry, c.failErr, c.failReason = nil, false, nil, ""
	c.Reason = reason
}

// heldReason says why a user that is held stays held.
func heldReason(h store.Hold) string {
	if h.RejectedBy != "" {
		return fmt.Sprintf("deactivation held by the mass-deactivation guard since %s and rejected by %s: nothing is sent until the identity source no longer deactivates the user, or someone approves",
			h.Held.UTC().Format(time.RFC3339), h.RejectedBy)
	}
	return fmt.Sprintf("deactivation held by the mass-deactivation guard since %s, waiting for approval (scim-bridge guard approve)",
		h.Held.UTC().Format(time.RFC3339))
}

// guardReason says why the guard held deactivations: the limit of policy
// res was decided under.
func guardReason(policy store.GuardPolicy, res store.GuardResult) string {
	var limits []string
	if policy.MaxUsers > 0 {
		limits = append(limits, fmt.Sprintf("%d users", policy.MaxUsers))
	}
	if policy.MaxPercent > 0 {
		limits = append(limits, fmt.Sprintf("%d%% of the %d managed users active in Gainsight", policy.MaxPercent, res.Active))
	}
	return fmt.Sprintf("deactivation held by the mass-deactivation guard: %d deactivations were let through within %s, the limit (%s); waiting for approval (scim-bridge guard approve)",
		res.Counted, policy.Window, strings.Join(limits, " or "))
}
