package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// Tenant snapshots. A batch of unlinked users costs a look-up call before
// its create call. When many users are unlinked (a first import), one
// listing of the tenant's join keys is far cheaper: 100 users per call
// (1,000 in the users-v1 dialect) instead of a look-up per batch, and it
// serves every batch while it is fresh. So at the start of a drain the
// engine compares what the pending unlinked users would cost in look-ups
// with what a listing costs (the tenant's size is known from the last
// listing), and takes a snapshot when it is cheaper (Options.Snapshot).
//
// The snapshot keeps, per Gainsight user, a keyed hash of the lower-cased
// user-name field and Email, the GSID and the status (store.Snapshot):
// nothing of a Gainsight user the bridge does not manage. Load matches the
// candidates of a batch against it by hashing their own keys; the plan is
// then made without a look-up call (snapshot matches are marked partial:
// nothing but the status of the matched user is known, so an adopted user
// is sent its whole record). Two cases still use a look-up: a user matched
// on Email only (the Gainsight user's user-name field must be checked
// against the bridge's other users, which a hash cannot tell), and users
// whose earlier write had an unknown outcome.
//
// A snapshot can be stale: a user created in Gainsight after it is not in
// it, and the create is refused as a duplicate (GU_2411). Execute then
// looks those users up and adopts them (adoptDuplicates), in the same
// pass: never a duplicate, never a failed state for that reason.
//
// The listing pages are spent from the budget like any call; a listing
// that runs out of budget goes on in a later drain where it stopped, and
// while it is under way only high and urgent work is claimed (the normal
// work is mostly the unlinked users it serves). Between pages urgent
// users are passed. Replicas take one listing at a time (a job in the
// store).

// snapshotView is the stored snapshot the passes plan from.
type snapshotView struct {
	salt  string
	taken time.Time
	total int
}

// listing is a snapshot being taken, page by page.
type listing struct {
	salt  string
	next  int // the page to list next
	keys  []store.SnapshotKey
	seen  int
	calls int
	// limit, when not negative, is the calls of look-ups the listing
	// replaces: a listing that turns out to cost more is abandoned.
	limit int
}

// jobSnapshot names the tenant listing in the store's job table.
const jobSnapshot = "tenant-snapshot"

// snapshotFields are the fields a listing selects: the join keys and the
// status.
func (e *Engine) snapshotFields() []string {
	if e.opts.UserNameField == fieldEmail {
		return []string{fieldEmail, fieldActive}
	}
	return []string{e.opts.UserNameField, fieldEmail, fieldActive}
}

func (e *Engine) lister() Lister {
	if e.opts.Snapshot == SnapshotOff {
		return nil
	}
	l, _ := e.opts.Upstream.(Lister)
	return l
}

func (e *Engine) setSnap(v *snapshotView) {
	e.mu.Lock()
	e.snap = v
	e.mu.Unlock()
}

func (e *Engine) currentSnap() *snapshotView {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.snap
}

// listingUnderWay reports whether a snapshot is being taken.
func (e *Engine) listingUnderWay() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.listing != nil
}

// noteTenant records the tenant's size from a listing.
func (e *Engine) noteTenant(total int) {
	if total < 0 {
		return
	}
	e.mu.Lock()
	e.tenantSize = total
	e.mu.Unlock()
	e.metrics.tenantUsers.Set(float64(total))
}

func (e *Engine) tenant() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tenantSize
}

// prepareSnapshot decides, at the start of a drain, which snapshot the
// passes plan adoptions from: the stored one while it is fresh, otherwise
// a new one when the pending unlinked users make it worth its calls (or
// always, by policy). It goes on with a listing under way. Problems are
// logged: the passes then look users up batch by batch.
func (e *Engine) prepareSnapshot(ctx context.Context) {
	l := e.lister()
	if l == nil {
		e.setSnap(nil)
		return
	}
	if e.listingUnderWay() {
		e.continueListing(ctx, l)
		return
	}
	now := e.opts.Now()
	info, err := e.opts.Store.SnapshotInfo(ctx)
	switch {
	case err == nil:
		e.noteTenant(info.Total)
		if now.Sub(info.Taken) < e.opts.SnapshotMaxAge {
			e.setSnap(&snapshotView{salt: info.Salt, taken: info.Taken, total: info.Total})
			return
		}
	case !errors.Is(err, store.ErrNotFound):
		e.log.Warn("cannot read the tenant snapshot; unlinked users are looked up batch by batch", zap.Error(err))
		e.setSnap(nil)
		return
	}
	e.setSnap(nil)
	unlinked, err := e.opts.Store.CountUnlinkedDirty(ctx)
	if err != nil {
		e.log.Warn("cannot count the unlinked users", zap.Error(err))
		return
	}
	if unlinked == 0 {
		return
	}
	tenant := e.tenant()
	batches := (unlinked + e.opts.BatchSize*claimBatches - 1) / (e.opts.BatchSize * claimBatches)
	lookups := batches * l.FindCost(max(tenant, 0))
	limit := -1
	if e.opts.Snapshot == SnapshotAuto {
		if tenant >= 0 && l.ListCost(tenant) > lookups {
			return
		}
		limit = lookups
	}
	if min, _, ok := e.budgetRoom(ctx); !ok || min > store.PriorityLow {
		return // no budget for it now; decided again next drain
	}
	due, err := e.opts.Store.ClaimJob(ctx, jobSnapshot, e.opts.SnapshotMaxAge/2, now)
	if err != nil {
		e.log.Warn("cannot claim the tenant listing", zap.Error(err))
		return
	}
	if !due {
		return // another replica lists, or listed not long ago
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	e.log.Info("taking a tenant snapshot: it costs fewer calls than looking the unlinked users up",
		zap.Int("unlinked_users", unlinked), zap.Int("lookup_calls", lookups), zap.Int("tenant_users", tenant))
	e.mu.Lock()
	e.listing = &listing{salt: hex.EncodeToString(salt), limit: limit}
	e.mu.Unlock()
	e.continueListing(ctx, l)
}

// continueListing lists pages of the tenant while the budget has room for
// them, passing urgent users between pages, and stores the snapshot once
// the last page is in.
func (e *Engine) continueListing(ctx context.Context, l Lister) {
	e.mu.Lock()
	ls := e.listing
	e.mu.Unlock()
	if ls == nil {
		return
	}
	abandon := func(msg string, fields ...zap.Field) {
		e.mu.Lock()
		e.listing = nil
		e.mu.Unlock()
		e.log.Info(msg, fields...)
	}
	for ctx.Err() == nil {
		if min, _, ok := e.budgetRoom(ctx); !ok || min > store.PriorityLow {
			return // goes on when the budget has room
		}
		pctx := gainsight.WithBudgetDeadline(ctx, e.opts.Now().Add(e.opts.Lease/2))
		start := time.Now()
		recs, total, err := l.ListPage(pctx, e.snapshotFields(), ls.next)
		e.noteCall(err)
		switch {
		case err != nil && budgetOnly(err):
			return
		case err != nil:
			abandon("tenant listing failed; unlinked users are looked up batch by batch", zap.Error(maskedError(err)))
			return
		}
		e.metrics.batchSize.WithLabelValues(batchList).Observe(float64(len(recs)))
		e.log.Info("gainsight batch", zap.String("operation", batchList), zap.String("purpose", "snapshot"),
			zap.Int("page", ls.next), zap.Int("found", len(recs)), zap.Duration("duration", time.Since(start)))
		ls.calls++
		e.noteTenant(total)
		if ls.limit >= 0 && total >= 0 && l.ListCost(total) > ls.limit {
			abandon("tenant listing abandoned: the tenant is larger than the look-ups it would replace",
				zap.Int("tenant_users", total), zap.Int("listing_calls", l.ListCost(total)), zap.Int("lookup_calls", ls.limit))
			return
		}
		for _, r := range recs {
			ls.keys = append(ls.keys, e.snapshotKeys(ls.salt, r)...)
		}
		ls.seen += len(recs)
		ls.next++
		if len(recs) < l.ListPageSize() || total >= 0 && ls.seen >= total {
			e.storeSnapshot(ctx, ls, max(total, ls.seen))
			return
		}
		e.preempt(ctx)
	}
}

// snapshotKeys are the snapshot keys of one listed Gainsight user.
func (e *Engine) snapshotKeys(salt string, r gainsight.Record) []store.SnapshotKey {
	gsid := r.GSID()
	if gsid == "" {
		return nil
	}
	active := activeOf(r)
	var out []store.SnapshotKey
	for _, f := range e.snapshotFields() {
		if f == fieldActive {
			continue
		}
		if v := stringField(r, f); v != "" && !store.Unindexable(v) {
			out = append(out, store.SnapshotKey{Hash: store.KeyHash(salt, f, v), GSID: gsid, Active: active})
		}
	}
	return out
}

// storeSnapshot stores a finished listing as the snapshot in use.
func (e *Engine) storeSnapshot(ctx context.Context, ls *listing, total int) {
	e.mu.Lock()
	e.listing = nil
	e.mu.Unlock()
	now := e.opts.Now()
	snap := store.Snapshot{Taken: now, Total: total, Salt: ls.salt, Keys: ls.keys}
	if err := e.opts.Store.ReplaceSnapshot(context.WithoutCancel(ctx), snap); err != nil {
		e.log.Warn("cannot store the tenant snapshot", zap.Error(err))
		return
	}
	e.setSnap(&snapshotView{salt: ls.salt, taken: now, total: total})
	e.metrics.snapshots.Inc()
	e.refreshSnapshotGauges(ctx)
	e.log.Info("tenant snapshot taken", zap.Int("tenant_users", total), zap.Int("keys", len(ls.keys)), zap.Int("calls", ls.calls))
}

// refreshSnapshotGauges sets the snapshot's age and size gauges.
func (e *Engine) refreshSnapshotGauges(ctx context.Context) {
	info, err := e.opts.Store.SnapshotInfo(ctx)
	if err != nil {
		e.metrics.snapshotAge.Set(-1)
		return
	}
	e.metrics.snapshotAge.Set(max(0, e.opts.Now().Sub(info.Taken).Seconds()))
	e.metrics.tenantUsers.Set(float64(info.Total))
}

// matchSnapshot matches candidates against the snapshot in use: by the
// user-name field, then by Email. It returns the Gainsight users matched
// on the user-name field as records that carry only the GSID, that field
// (the candidate's own value) and the status, and the candidates matched
// on Email only, which need a look-up.
func (e *Engine) matchSnapshot(ctx context.Context, v *snapshotView, cands []*subject) (found []gainsight.Record, byEmail []*subject, err error) {
	type keys struct{ name, email string }
	ks := make([]keys, len(cands))
	var hashes []string
	for i, s := range cands {
		name, email := e.joinKeys(s)
		if name != "" {
			ks[i].name = store.KeyHash(v.salt, e.opts.UserNameField, name)
			hashes = append(hashes, ks[i].name)
		}
		if email != "" && e.opts.UserNameField != fieldEmail {
			ks[i].email = store.KeyHash(v.salt, fieldEmail, email)
			hashes = append(hashes, ks[i].email)
		}
	}
	got, err := e.opts.Store.SnapshotKeys(ctx, hashes)
	if err != nil {
		return nil, nil, fmt.Errorf("read the tenant snapshot: %w", err)
	}
	byHash := map[string][]store.SnapshotKey{}
	for _, k := range got {
		byHash[k.Hash] = append(byHash[k.Hash], k)
	}
	seen := map[string]bool{}
	for i, s := range cands {
		name, _ := e.joinKeys(s)
		if m := byHash[ks[i].name]; len(m) > 0 {
			for _, k := range m {
				if !seen[k.GSID] {
					seen[k.GSID] = true
					found = append(found, gainsight.Record{fieldGsid: k.GSID, e.opts.UserNameField: name, fieldActive: k.Active})
				}
			}
			continue
		}
		if len(byHash[ks[i].email]) > 0 {
			byEmail = append(byEmail, s)
		}
	}
	return found, byEmail, nil
}

// joinKeys returns the user-name and email a candidate is matched on.
func (e *Engine) joinKeys(s *subject) (name, email string) {
	name = stringField(s.Desired, e.opts.UserNameField)
	if name == "" {
		name = s.UserName
	}
	return name, stringField(s.Desired, fieldEmail)
}
