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

// DriftPageSize is how many links one drift lookup reads: one Find with a
// "Gsid EQ" condition of at most this many values.
const DriftPageSize = 100

// RepairDrift compares what Gainsight holds for every linked user, live or
// deleted, with what the bridge last confirmed, so changes made in
// Gainsight by hand are undone by the normal drain. It returns how many
// users it marked dirty.
//
// Links are read from the store in pages of DriftPageSize; for each page
// one Find reads the linked users' Gainsight records by GSID. For each
// user whose record differs from the confirmed one in the fields the
// bridge manages (the fields of its desired record, Manager, and its
// status), the confirmed record is replaced by Gainsight's, and the user
// is marked dirty when its desired state differs from it; fields the
// bridge does not set are never looked at. A deleted user's link (a
// tombstone) is checked for its status only: a departed user re-enabled by
// hand in Gainsight is deactivated again. So is a user whose groups
// conflict. A linked live user that Gainsight no longer has loses its link
// and is marked dirty, so the drain adopts or creates it again.
//
// Budget: the services dialect spends ceil(links / 100) list calls, plus
// the drain's writes for the users that drifted (batched as usual). The
// users-v1 dialect has no list filter: it spends one GET per link. When a
// listing of the whole tenant costs no more (the tenant is not much larger
// than what the bridge manages, or the dialect is users-v1, which lists
// 1,000 users per call), the tenant is listed once instead, and the same
// listing refreshes the tenant snapshot (snapshot.go): one listing serves
// both. Links written while it runs may be skipped until the next run.
func (e *Engine) RepairDrift(ctx context.Context) (int, error) {
	planner := e.opts.Planner()
	if planner == nil {
		return 0, errors.New("sync: drift: no planner configured")
	}
	start := time.Now()
	read, err := e.driftReader(ctx)
	if err != nil {
		return 0, fmt.Errorf("sync: drift: %w", err)
	}
	marked, checked := 0, 0
	after := ""
	for {
		links, err := e.opts.Store.ListLinks(ctx, after, DriftPageSize)
		if err != nil {
			return marked, fmt.Errorf("sync: drift: list links: %w", err)
		}
		n, c, err := e.repairPage(ctx, planner, links, read)
		marked += n
		checked += c
		if err != nil {
			return marked, fmt.Errorf("sync: drift: %w", err)
		}
		if len(links) < DriftPageSize {
			break
		}
		after = links[len(links)-1].LinkID
	}
	e.log.Info("drift check", zap.Int("checked", checked), zap.Int("marked_dirty", marked),
		zap.Duration("duration", time.Since(start)))
	return marked, nil
}

// driftItem is one link to check and what its user should have.
type driftItem struct {
	link    store.SyncInfo
	desired gainsight.Record
	active  bool
	// statusOnly: only the status is compared (a tombstone, or a user that
	// cannot be planned).
	statusOnly bool
}

// driftRead returns the Gainsight records of gsids (absent: no such user).
type driftRead func(ctx context.Context, gsids []string) (map[string]gainsight.Record, error)

// driftReader returns how drift repair reads Gainsight: from one listing
// of the tenant when that costs no more than reading the linked users by
// GSID (the listing then refreshes the tenant snapshot), otherwise by
// GSID, one Find per page of links.
func (e *Engine) driftReader(ctx context.Context) (driftRead, error) {
	byGSID := func(ctx context.Context, gsids []string) (map[string]gainsight.Record, error) {
		found, err := e.opts.Upstream.Find(ctx, []gainsight.Condition{{Name: fieldGsid, Operator: "EQ", Values: gsids}})
		e.noteCall(err)
		if err != nil {
			return nil, fmt.Errorf("read %d linked users from gainsight: %w", len(gsids), err)
		}
		out := make(map[string]gainsight.Record, len(found))
		for _, rec := range found {
			out[rec.GSID()] = rec
		}
		return out, nil
	}
	l, ok := e.opts.Upstream.(Lister)
	if !ok {
		return byGSID, nil
	}
	links := 0
	for after := ""; ; {
		page, err := e.opts.Store.ListLinks(ctx, after, DriftPageSize)
		if err != nil {
			return nil, fmt.Errorf("count links: %w", err)
		}
		links += len(page)
		if len(page) < DriftPageSize {
			break
		}
		after = page[len(page)-1].LinkID
	}
	byPages := (links + DriftPageSize - 1) / DriftPageSize
	if t := e.tenant(); t >= 0 && l.ListCost(t) > byPages {
		return byGSID, nil
	}
	recs, ok, err := e.listTenant(ctx, l, byPages)
	if err != nil {
		return nil, err
	}
	if !ok {
		return byGSID, nil
	}
	all := make(map[string]gainsight.Record, len(recs))
	for _, r := range recs {
		all[r.GSID()] = r
	}
	return func(_ context.Context, gsids []string) (map[string]gainsight.Record, error) {
		out := make(map[string]gainsight.Record, len(gsids))
		for _, g := range gsids {
			if r, ok := all[g]; ok {
				out[g] = r
			}
		}
		return out, nil
	}, nil
}

// listTenant lists the whole tenant with the fields Find returns, unless
// its first page shows the listing would cost more than limit calls (ok
// false), and refreshes the tenant snapshot from it.
func (e *Engine) listTenant(ctx context.Context, l Lister, limit int) ([]gainsight.Record, bool, error) {
	var out []gainsight.Record
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	ls := &listing{salt: hex.EncodeToString(salt), limit: -1}
	for page := 0; ; page++ {
		recs, total, err := l.ListPage(ctx, nil, page)
		e.noteCall(err)
		if err != nil {
			return nil, false, fmt.Errorf("list the tenant: %w", err)
		}
		ls.calls++
		e.noteTenant(total)
		if page == 0 && total >= 0 && l.ListCost(total) > limit {
			e.log.Info("drift repair reads linked users by GSID: the tenant is too large to list",
				zap.Int("tenant_users", total), zap.Int("listing_calls", l.ListCost(total)), zap.Int("gsid_calls", limit))
			return nil, false, nil
		}
		out = append(out, recs...)
		for _, r := range recs {
			ls.keys = append(ls.keys, e.snapshotKeys(ls.salt, r)...)
		}
		ls.seen += len(recs)
		if len(recs) < l.ListPageSize() || total >= 0 && ls.seen >= total {
			if e.opts.Snapshot != SnapshotOff {
				e.storeSnapshot(ctx, ls, max(total, ls.seen))
			}
			return out, true, nil
		}
	}
}

// repairPage checks one page of links; it returns how many users it marked
// dirty and how many links it checked.
func (e *Engine) repairPage(ctx context.Context, planner Planner, links []store.SyncInfo, read driftRead) (int, int, error) {
	var items []driftItem
	var gsids []string
	for _, l := range links {
		it := driftItem{link: l, statusOnly: true}
		if !l.Tombstone {
			s := e.loadUser(ctx, l.UserID, planner)
			switch {
			case s.LoadErr != nil:
				return 0, 0, s.LoadErr
			case s.Deleted || s.Link == nil || s.Link.LinkID != l.LinkID:
				continue // changed since the page was read
			}
			it.link, it.active = *s.Link, s.Active
			if s.PlanErr == nil {
				it.desired, it.statusOnly = s.Desired, false
			}
		}
		items = append(items, it)
		gsids = append(gsids, it.link.GSID)
	}
	if len(items) == 0 {
		return 0, 0, nil
	}
	byGSID, err := read(ctx, gsids)
	if err != nil {
		return 0, 0, err
	}
	dirty := map[store.Priority][]string{}
	n := 0
	for _, it := range items {
		rec := byGSID[it.link.GSID]
		mark, err := e.repairLink(ctx, it, rec)
		if err != nil {
			return 0, 0, err
		}
		if mark {
			// Someone gave access back in Gainsight to a user who should
			// not have it: that is offboarding work.
			p := store.PriorityNormal
			if rec != nil && activeOf(rec) && (it.link.Tombstone || !it.active) {
				p = store.PriorityUrgent
			}
			dirty[p] = append(dirty[p], it.link.UserID)
			n++
		}
	}
	for p, ids := range dirty {
		if err := e.opts.Store.MarkDirtyAs(ctx, p, ids...); err != nil {
			return 0, len(items), fmt.Errorf("mark %d drifted users dirty: %w", len(ids), err)
		}
	}
	return n, len(items), nil
}

// errLinkMoved means a pass wrote the link after drift repair read it.
var errLinkMoved = errors.New("the link changed since it was read")

// repairLink replaces the link's confirmed state with rec (Gainsight's
// record, or nil when Gainsight has no such user) if they differ, and
// reports whether the user must be synced again.
func (e *Engine) repairLink(ctx context.Context, it driftItem, rec gainsight.Record) (bool, error) {
	info := it.link
	log := e.log.With(zap.String("user_id", info.UserID), zap.String("gsid", info.GSID))
	next := info
	var want bool
	switch {
	case rec == nil && info.Tombstone:
		// Nothing left to deactivate.
		if !info.Active {
			return false, nil
		}
		next.Active = false
	case rec == nil:
		log.Warn("linked Gainsight user no longer exists; the link is dropped and the user synced again")
		next.GSID, next.Record, next.Active = "", nil, false
		want = true
	default:
		confirmed, active := confirmedOf(rec, it.desired)
		want = active != it.active
		if !it.statusOnly {
			want = want || len(diffRecord(sendable(it.desired, it.active), withStatus(confirmed, it.active))) > 0
		}
		drifted := active != info.Active || !it.statusOnly && len(diffRecord(confirmed, info.Record)) > 0
		if !drifted {
			// A user whose desired state differs is pending or failed
			// already; marking it again would only repeat a failing
			// write, except for a user that claims to be synced.
			return want && info.State == store.StateSynced, nil
		}
		log.Info("gainsight record drifted from the last confirmed one", zap.Bool("resync", want))
		next.Active = active
		if !it.statusOnly {
			next.Record = confirmed
		}
	}
	// Written only if no pass recorded anything since the link was read;
	// otherwise that pass's view is newer and the user is synced again.
	_, err := e.opts.Store.UpdateSync(ctx, info.LinkID, func(old store.SyncInfo) (store.SyncInfo, error) {
		if old.Version != info.Version || old.GSID != info.GSID {
			return old, errLinkMoved
		}
		old.GSID, old.Record, old.Active, old.Updated = next.GSID, next.Record, next.Active, e.opts.Now()
		return old, nil
	})
	switch {
	case errors.Is(err, errLinkMoved):
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store the link of %s: %w", info.UserID, err)
	}
	return want, nil
}

// PurgeTombstones removes the links of deleted users that are settled in
// Gainsight (confirmed inactive, or never created) and older than
// Options.TombstoneRetention, and returns how many it removed. A later
// re-create of such a userName finds its Gainsight user again by adoption.
func (e *Engine) PurgeTombstones(ctx context.Context) (int, error) {
	if e.opts.TombstoneRetention <= 0 {
		return 0, nil
	}
	n, err := e.opts.Store.PurgeTombstones(ctx, e.opts.Now().Add(-e.opts.TombstoneRetention))
	if err != nil {
		return 0, fmt.Errorf("sync: purge tombstones: %w", err)
	}
	e.metrics.tombstones.Add(float64(n))
	if n > 0 {
		e.log.Info("tombstones purged", zap.Int("purged", n), zap.Duration("retention", e.opts.TombstoneRetention))
	}
	return n, nil
}
