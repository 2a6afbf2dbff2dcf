package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// DriftPageSize is how many linked users one drift lookup reads: one Find
// with a "Gsid EQ" condition of at most this many values.
const DriftPageSize = 100

// RepairDrift compares what Gainsight holds for every linked SCIM user
// with what the bridge last confirmed, so changes made in Gainsight by
// hand are undone by the normal drain. It returns how many users it marked
// dirty.
//
// Users are read from the store in pages of DriftPageSize; for each page
// one Find reads the linked users' Gainsight records by GSID. For each
// user whose record differs from the confirmed one in the fields the
// bridge manages (the fields of its desired record, Manager, and its
// status), the confirmed record is replaced by Gainsight's, and the user
// is marked dirty when its desired state differs from it; fields the
// bridge does not set are never looked at. A linked user that Gainsight
// no longer has loses its link and is marked dirty, so the drain adopts or
// creates it again.
//
// Budget: the services dialect spends ceil(linked users / 100) list calls,
// plus the drain's writes for the users that drifted (batched as usual).
// The users-v1 dialect has no list filter: it spends one GET per linked
// user. Deleted users (tombstones) are not checked. Users created or
// deleted while it runs may be skipped until the next run.
func (e *Engine) RepairDrift(ctx context.Context) (int, error) {
	planner := e.opts.Planner()
	if planner == nil {
		return 0, errors.New("sync: drift: no planner configured")
	}
	start := time.Now()
	marked, checked := 0, 0
	for offset := 0; ; offset += DriftPageSize {
		users, _, err := e.opts.Store.ListUsers(ctx, store.Query{Offset: offset, Limit: DriftPageSize})
		if err != nil {
			return marked, fmt.Errorf("sync: drift: list users: %w", err)
		}
		n, c, err := e.repairPage(ctx, planner, users)
		marked += n
		checked += c
		if err != nil {
			return marked, fmt.Errorf("sync: drift: %w", err)
		}
		if len(users) < DriftPageSize {
			break
		}
	}
	e.log.Info("drift check", zap.Int("checked", checked), zap.Int("marked_dirty", marked),
		zap.Duration("duration", time.Since(start)))
	return marked, nil
}

// repairPage checks one page of users; it returns how many it marked dirty
// and how many linked users it checked.
func (e *Engine) repairPage(ctx context.Context, planner Planner, users []store.User) (int, int, error) {
	var works []*work
	var gsids []string
	for _, u := range users {
		w := e.load(ctx, store.Dirty{UserID: u.ID}, planner)
		if w.retryErr != nil {
			return 0, 0, w.retryErr
		}
		// A user that cannot be planned is failed already; one without a
		// link is for the drain to adopt or create.
		if w.failErr != nil || w.deleted || w.info.GSID == "" || w.info.Tombstone {
			continue
		}
		works = append(works, w)
		gsids = append(gsids, w.info.GSID)
	}
	if len(works) == 0 {
		return 0, 0, nil
	}
	found, err := e.opts.Upstream.Find(ctx, []gainsight.Condition{{Name: fieldGsid, Operator: "EQ", Values: gsids}})
	e.noteCall(err)
	if err != nil {
		return 0, 0, fmt.Errorf("read %d linked users from gainsight: %w", len(gsids), err)
	}
	byGSID := make(map[string]gainsight.Record, len(found))
	for _, rec := range found {
		byGSID[rec.GSID()] = rec
	}
	var dirty []string
	for _, w := range works {
		mark, err := e.repairUser(ctx, w, byGSID[w.info.GSID])
		if err != nil {
			return 0, 0, err
		}
		if mark {
			dirty = append(dirty, w.d.UserID)
		}
	}
	if len(dirty) > 0 {
		if err := e.opts.Store.MarkDirty(ctx, dirty...); err != nil {
			return 0, len(works), fmt.Errorf("mark %d drifted users dirty: %w", len(dirty), err)
		}
	}
	return len(dirty), len(works), nil
}

// repairUser replaces w's confirmed state with rec (Gainsight's record, or
// nil when Gainsight has no such user) if they differ, and reports whether
// the user must be synced again.
func (e *Engine) repairUser(ctx context.Context, w *work, rec gainsight.Record) (bool, error) {
	info := w.info
	log := e.log.With(zap.String("user_id", w.d.UserID), zap.String("gsid", info.GSID))
	var want bool
	if rec == nil {
		log.Warn("linked Gainsight user no longer exists; the link is dropped and the user synced again")
		info.GSID, info.Record, info.Active = "", nil, false
		want = true
	} else {
		confirmed := restrict(rec, w.desired)
		active := activeOf(rec)
		if !active {
			delete(confirmed, fieldLicense)
		}
		changes := diffRecord(w.desired, confirmed)
		if !w.active {
			delete(changes, fieldLicense)
		}
		want = len(changes) > 0 || w.active != active
		if len(diffRecord(confirmed, info.Record)) == 0 && active == info.Active {
			// No drift. A user whose desired state differs is pending or
			// failed already; marking it again would only repeat a failing
			// write, except for a user that claims to be synced.
			return want && info.State == store.StateSynced, nil
		}
		log.Info("gainsight record drifted from the last confirmed one", zap.Bool("resync", want))
		info.Record, info.Active = confirmed, active
	}
	// Write only if no sync pass recorded anything since the user was read;
	// otherwise that pass's view is newer and the user is synced again.
	cur, err := e.opts.Store.GetSync(ctx, w.d.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("re-read sync state of %s: %w", w.d.UserID, err)
	case !cur.Updated.Equal(w.info.Updated) || cur.GSID != w.info.GSID:
		return true, nil
	}
	info.Updated = e.opts.Now()
	if err := e.opts.Store.PutSync(ctx, info); err != nil {
		return false, fmt.Errorf("store sync state of %s: %w", w.d.UserID, err)
	}
	return want, nil
}
