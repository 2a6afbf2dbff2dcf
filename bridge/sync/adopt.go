package sync

import (
	"fmt"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// Adoption, part of the pure plan: which Gainsight user, if any, a user
// without a link is linked to. The join keys are the user-name field
// (SFDCUserName by default) and then Email; a Gainsight user linked to
// another user of the bridge is never taken, one linked to a deleted
// user's tombstone is taken over.

// joinKeys returns the user-name and email a candidate is matched on.
func (p *batchPlan) joinKeys(c *Change) (name, email string) {
	s := c.sub
	name = stringField(s.Desired, p.field)
	if name == "" {
		name = s.UserName
	}
	return name, stringField(s.Desired, fieldEmail)
}

// adopt matches the candidates against the look-up's records in the join
// order and plans the adoption of every match. It returns the candidates
// nothing matched (to be created).
//
// Every candidate is first matched on the user-name field, and only then
// are the remaining ones matched on Email, so a record that one
// candidate's user name names is never given to another candidate whose
// email it happens to carry. A record linked to a user of this batch is
// never matched: a candidate whose only match is one fails as a
// duplicate, or is retried when the holder is a deleted user whose link
// the next pass may take over.
func (p *batchPlan) adopt(cands []*Change, lk lookup) []*Change {
	recs := make([]gainsight.Record, len(cands))
	byEmail := make([]bool, len(cands))
	for _, email := range []bool{false, true} {
		field := p.field
		if email {
			field = fieldEmail
		}
		for i, c := range cands {
			if recs[i] != nil || c.retryErr != nil || c.failErr != nil {
				continue
			}
			name, addr := p.joinKeys(c)
			key := name
			if email {
				key = addr
			}
			rec, held := match(lk.Found, field, key, p.taken)
			switch {
			case rec != nil:
				recs[i], byEmail[i] = rec, email
				p.taken[rec.GSID()] = c
			case held != nil && held.sub.Deleted:
				c.retry(fmt.Errorf("the Gainsight user %s with this %s is being unlinked from a deleted user", held.GSID, field))
			case held != nil:
				// Gainsight's unique keys make a create fail as well.
				c.fail(gainsight.ReasonDuplicate, fmt.Errorf("duplicate: the Gainsight user %s with this %s is linked to user %s", heldGSID(held), field, held.UserID))
			}
		}
	}
	var unmatched []*Change
	for i, c := range cands {
		if c.retryErr != nil || c.failErr != nil {
			continue
		}
		rec := recs[i]
		if rec == nil {
			unmatched = append(unmatched, c)
			continue
		}
		if byEmail[i] && !p.emailMatchIsOwn(c, rec, lk) {
			continue
		}
		if !p.mayTake(c, rec.GSID(), lk) {
			continue
		}
		c.GSID = rec.GSID()
		c.confirmed, c.active = confirmedOf(rec, c.sub.Desired)
		if lk.Partial[c.GSID] {
			// Matched in the snapshot: only the status is known, so the
			// update sends the whole record.
			c.confirmed, c.partial = withStatus(gainsight.Record{}, c.active), true
		}
		c.known = true
		c.Match = p.field
		if byEmail[i] {
			c.Match = fieldEmail
		}
		c.add(KindAdopt)
		p.planLinked(c)
	}
	return unmatched
}

// heldGSID returns the GSID a batch user holds or is being linked to.
func heldGSID(c *Change) string {
	if c.GSID != "" {
		return c.GSID
	}
	if c.sub.Link != nil {
		return c.sub.Link.GSID
	}
	return ""
}

// emailMatchIsOwn checks a record matched on Email only: when its
// user-name field names another user of the bridge, the record is that
// user's (the user-name field ranks before Email in the join order) and c
// fails as a duplicate instead of taking it over and renaming it.
func (p *batchPlan) emailMatchIsOwn(c *Change, rec gainsight.Record, lk lookup) bool {
	if p.field == fieldEmail {
		return true
	}
	other := stringField(rec, p.field)
	if other == "" {
		return true
	}
	for _, id := range lk.NameOwners[store.Fold(other)] {
		if id != c.UserID {
			c.fail(gainsight.ReasonDuplicate, fmt.Errorf("duplicate: the Gainsight user %s has this Email but the %s of another user of the bridge, which is user %s",
				rec.GSID(), p.field, id))
			return false
		}
	}
	return true
}

// mayTake checks that gsid is not linked to another user outside the
// batch. A tombstone's link is taken over (the person was deleted and
// provisioned again under another userName); a live user's is not, and c
// fails as a duplicate.
func (p *batchPlan) mayTake(c *Change, gsid string, lk lookup) bool {
	h, held := lk.Holders[gsid]
	switch {
	case !held || h.UserID == c.UserID:
		return true
	case !h.Tombstone:
		c.fail(gainsight.ReasonDuplicate, fmt.Errorf("duplicate: the matching Gainsight user %s is already linked to user %s", gsid, h.UserID))
		return false
	}
	c.takeFrom = h.LinkID
	return true
}

// adoptOrphans links each orphan to the Gainsight user its lost create
// may have made (found by userName and linked to no one else), so the
// deletion deactivates it instead of leaving it active and unmanaged.
func (p *batchPlan) adoptOrphans(orphans []*Change, lk lookup) {
	for _, c := range orphans {
		c.known = true // the look-up settles whether a Gainsight user exists
		rec, _ := match(lk.Found, p.field, c.sub.UserName, p.taken)
		if rec == nil {
			continue
		}
		if h, held := lk.Holders[rec.GSID()]; held && h.UserID != c.UserID {
			continue // provisioned again and adopted by its new owner
		}
		p.taken[rec.GSID()] = c
		c.GSID = rec.GSID()
		c.confirmed, c.active = confirmedOf(rec, nil)
		c.add(KindAdopt)
		if c.active {
			c.add(KindDeactivate)
		}
	}
}

// adoptDuplicates plans the users Gainsight refused to create as
// duplicates, against a fresh look-up: each is adopted, or fails as a
// duplicate no look-up resolves.
func (p *batchPlan) adoptDuplicates(dups []*Change, lk lookup) {
	for _, c := range dups {
		c.Kinds = c.Kinds[:0]
		c.create, c.Fields = nil, nil
	}
	if lk.Err != nil {
		for _, c := range dups {
			c.retry(fmt.Errorf("look up the users Gainsight reports as duplicates: %w", lk.Err))
		}
		return
	}
	for _, c := range p.adopt(dups, lk) {
		c.fail(gainsight.ReasonDuplicate, fmt.Errorf("duplicate: gainsight reports a duplicate but no unlinked user matches %s or Email", p.field))
	}
}

// match finds the record whose field equals key (case-insensitively) and
// whose GSID no batch user holds. When only held records match, it returns
// the holder of one of them.
func match(found []gainsight.Record, field, key string, taken map[string]*Change) (gainsight.Record, *Change) {
	var held *Change
	for _, r := range found {
		gsid := r.GSID()
		if gsid == "" || !equalFold(key, stringField(r, field)) {
			continue
		}
		if taken[gsid] == nil {
			return r, nil
		}
		held = taken[gsid]
	}
	return nil, held
}
