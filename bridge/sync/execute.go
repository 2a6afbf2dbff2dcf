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

// Execute is the third step of a pass: it carries a batch's plan out in
// the plan's order (plan.go), sending each step's users in calls of at
// most BatchSize, and keeps, per user, what Gainsight now holds. An
// adopted Gainsight user's link is claimed in the store (compare-and-swap)
// before anything is written to it; the rest of the outcome is recorded by
// finish.

// run is one user's execution of its Change.
type run struct {
	c *Change
	// What Gainsight holds for the user as far as this pass knows.
	gsid   string
	record gainsight.Record
	active bool
	// known: record and active were established this pass (re-read,
	// adopted, created); otherwise deltas and statusSet say what this pass
	// changed of the link's confirmed state.
	known     bool
	deltas    gainsight.Record
	statusSet bool
	// unknown: a write whose outcome is unknown was sent.
	unknown bool
	linked  bool // created or adopted this pass
	late    bool // linked after the first status step (created, or adopted after a duplicate)
	done    []Kind
	budget  bool // a call was held back for want of rate budget
	// claimErr: the link could not be claimed; nothing is written to the
	// Gainsight user.
	claimErr bool
	// seen is the link's version as this pass last read or wrote it.
	seen int64
	// deactivateErr: the deactivation was not done but may pass later (not
	// sent for want of budget, or a failure worth retrying). The user is
	// retried for it even when something else failed it for good.
	deactivateErr error
	audit         []store.AuditEntry // audit.go
}

func (r *run) open() bool { return r.c.retryErr == nil && r.c.failErr == nil && !r.budget }

func (r *run) did(k Kind) bool {
	for _, d := range r.done {
		if d == k {
			return true
		}
	}
	return false
}

// errNotSent marks a call the engine did not send because Gainsight is
// failing as a whole (the drain is paused).
var errNotSent = errors.New("not sent")

// execute carries out the plan of one batch. before, when set, runs before
// each call (the drain passes urgent users there). Deactivations may spend
// the rate budget's urgent share.
func (e *Engine) execute(ctx context.Context, bp *batchPlan, before func()) []*run {
	runs := make([]*run, len(bp.Changes))
	for i, c := range bp.Changes {
		r := &run{c: c, gsid: c.GSID, record: cloneRecord(c.confirmed), active: c.active, known: c.known, deltas: gainsight.Record{}}
		if c.sub.Link != nil {
			r.seen = c.sub.Link.Version
		}
		runs[i] = r
		if c.newHold {
			e.auditHold(r)
		}
		if c.has(KindAdopt) {
			e.claimLink(ctx, r, c.GSID, c.takeFrom)
		}
	}
	e.setStatus(ctx, pick(runs, func(r *run) bool {
		return r.c.has(KindDeactivate) && !r.c.has(KindCreate) && r.gsid != "" && !r.claimErr
	}), false, true, before)
	if dups := e.create(ctx, bp, pick(runs, func(r *run) bool { return r.c.has(KindCreate) && r.open() }), before); len(dups) > 0 {
		e.adoptDuplicates(ctx, bp, dups, before)
	}
	// A user who should be inactive and was linked in this pass: one it
	// adopted after a refused create had access before the bridge came,
	// so its deactivation is urgent; one it created had none, so an
	// import of inactive users does not spend the urgent share.
	e.setStatus(ctx, pick(runs, func(r *run) bool {
		return r.c.has(KindDeactivate) && r.late && !r.did(KindCreate) && r.open()
	}), false, true, before)
	e.setStatus(ctx, pick(runs, func(r *run) bool {
		return r.c.has(KindDeactivate) && r.late && r.did(KindCreate) && r.open()
	}), false, false, before)
	e.setStatus(ctx, pick(runs, func(r *run) bool { return r.c.has(KindReactivate) && r.open() }), true, false, before)
	linked := map[string]string{}
	for _, r := range runs {
		if r.linked && r.open() {
			linked[r.c.UserID] = r.gsid
		}
	}
	for _, r := range runs {
		if r.c.managerOf != "" && r.open() {
			managerUpdate(r.c, r.record, linked[r.c.managerOf])
		}
	}
	e.update(ctx, pick(runs, func(r *run) bool { return r.c.has(KindUpdate) && r.open() }), before)
	return runs
}

func pick(runs []*run, keep func(*run) bool) []*run {
	var out []*run
	for _, r := range runs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// claimLink links r's user to gsid in the store before anything is written
// to that Gainsight user: takeFrom (a tombstone's link holding gsid) lets
// go of it first. If the link is no longer free the user is retried and
// the pass writes nothing to gsid.
func (e *Engine) claimLink(ctx context.Context, r *run, gsid, takeFrom string) {
	now := e.opts.Now()
	if takeFrom != "" {
		_, err := e.opts.Store.UpdateSync(ctx, takeFrom, func(old store.SyncInfo) (store.SyncInfo, error) {
			switch {
			case old.GSID != gsid:
				return old, nil // let go already
			case !old.Tombstone:
				return old, fmt.Errorf("the Gainsight user %s is linked to user %s again", gsid, old.UserID)
			}
			old.GSID, old.Record, old.Active, old.Unknown, old.Updated = "", nil, false, false, now
			return old, nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			r.claimErr = true
			r.c.retry(fmt.Errorf("unlink the tombstone holding %s: %w", gsid, err))
			return
		}
	}
	info, err := e.opts.Store.UpdateSync(ctx, r.c.sub.Link.LinkID, func(old store.SyncInfo) (store.SyncInfo, error) {
		if old.GSID != "" && old.GSID != gsid && old.GSID != r.c.vanished {
			return old, fmt.Errorf("the link was linked to the Gainsight user %s meanwhile", old.GSID)
		}
		old.GSID, old.Record, old.Active, old.Unknown, old.Updated = gsid, cloneRecord(r.record), r.active, false, now
		return old, nil
	})
	if err != nil {
		r.claimErr = true
		r.c.retry(fmt.Errorf("link the Gainsight user %s: %w", gsid, err))
		return
	}
	r.gsid, r.linked, r.known, r.seen = gsid, true, true, info.Version
	e.auditAdopt(r, gsid)
}

// create creates the users in calls of at most BatchSize. It returns the
// users Gainsight refused as duplicates, for adoption. A new Gainsight user
// needs no claim: no one else can hold its GSID, and finish links it even
// if the link moved to another user meanwhile (a process that dies first
// leaves it to the next pass's look-up, which adopts it).
func (e *Engine) create(ctx context.Context, bp *batchPlan, runs []*run, before func()) []*run {
	var dups []*run
	for _, chunk := range chunks(runs, e.opts.BatchSize) {
		records := make([]gainsight.Record, len(chunk))
		for i, r := range chunk {
			records[i] = cloneRecord(r.c.create)
		}
		results, err := e.call(ctx, batchCreate, len(chunk), before, func() ([]gainsight.Result, error) {
			return e.opts.Upstream.Create(ctx, records)
		})
		for i, r := range chunk {
			if err != nil {
				// The answer may be lost after Gainsight created the
				// users: the next attempt looks them up first.
				e.record(r, write{kind: KindCreate, err: err, call: true})
				continue
			}
			res := results[i]
			gsid := res.GSID
			if gsid == "" {
				gsid = res.Record.GSID()
			}
			switch {
			case gainsight.ReasonOf(res.Err) == gainsight.ReasonDuplicate:
				dups = append(dups, r)
			case res.Err != nil:
				e.record(r, write{kind: KindCreate, fields: records[i], err: res.Err})
			case gsid == "":
				e.record(r, write{kind: KindCreate, fields: records[i], err: errors.New("gainsight returned no Gsid")})
			case bp.taken[gsid] != nil:
				// Gainsight answered with a user linked to another user of
				// the batch: never link it twice.
				e.record(r, write{kind: KindCreate, fields: records[i],
					err: &gainsight.Error{Op: batchCreate, Code: gainsight.CodeDuplicate,
						Message: fmt.Sprintf("gainsight answered with user %s, which is linked to another user", gsid)}})
			default:
				bp.taken[gsid] = r.c
				e.record(r, write{kind: KindCreate, fields: records[i], gsid: gsid, result: res.Record, requestID: res.RequestID})
			}
		}
	}
	return dups
}

// adoptDuplicates looks up the users Gainsight refused to create as
// duplicates (a user made since the batch's look-up) and links them.
func (e *Engine) adoptDuplicates(ctx context.Context, bp *batchPlan, dups []*run, before func()) {
	var names, emails []string
	cs := make([]*Change, len(dups))
	for i, r := range dups {
		cs[i] = r.c
		name, email := bp.joinKeys(r.c)
		if name != "" {
			names = append(names, name)
		}
		if email != "" {
			emails = append(emails, email)
		}
	}
	bp.adoptDuplicates(cs, e.lookUp(ctx, names, emails, before))
	for _, r := range dups {
		if r.c.has(KindAdopt) && r.open() {
			r.record, r.active = cloneRecord(r.c.confirmed), r.c.active
			e.claimLink(ctx, r, r.c.GSID, r.c.takeFrom)
			r.late = true
		}
	}
}

// update sends each user's changed fields.
func (e *Engine) update(ctx context.Context, runs []*run, before func()) {
	for _, chunk := range chunks(runs, e.opts.BatchSize) {
		records := make([]gainsight.Record, len(chunk))
		for i, r := range chunk {
			rec := cloneRecord(r.c.update)
			rec[fieldGsid] = r.gsid
			records[i] = rec
		}
		results, err := e.call(ctx, batchUpdate, len(chunk), before, func() ([]gainsight.Result, error) {
			return e.opts.Upstream.Update(ctx, records)
		})
		for i, r := range chunk {
			w := write{kind: KindUpdate, fields: r.c.update, err: err, call: err != nil}
			if err == nil {
				w.err, w.requestID = results[i].Err, results[i].RequestID
			}
			e.record(r, w)
		}
	}
}

// setStatus activates or deactivates the users. An urgent deactivation
// removes access: it may spend the budget's urgent share, and nothing is
// passed before it.
func (e *Engine) setStatus(ctx context.Context, runs []*run, active, urgent bool, before func()) {
	kind := KindDeactivate
	if active {
		kind = KindReactivate
	}
	if urgent {
		ctx, before = gainsight.WithUrgent(ctx), nil
	}
	for _, chunk := range chunks(runs, e.opts.BatchSize) {
		gsids := make([]string, len(chunk))
		for i, r := range chunk {
			gsids[i] = r.gsid
		}
		results, err := e.call(ctx, batchStatus, len(chunk), before, func() ([]gainsight.Result, error) {
			return e.opts.Upstream.SetStatus(ctx, gsids, active)
		})
		for i, r := range chunk {
			w := write{kind: kind, err: err, call: err != nil}
			if err == nil {
				w.err, w.requestID = results[i].Err, results[i].RequestID
			}
			e.record(r, w)
		}
	}
}

// call makes one batch call, checks the result count and logs one line;
// before, when set, runs first.
func (e *Engine) call(ctx context.Context, op string, n int, before func(), fn func() ([]gainsight.Result, error)) ([]gainsight.Result, error) {
	if before != nil {
		before()
	}
	if until := e.paused(); e.opts.Now().Before(until) {
		// An earlier call of this batch found Gainsight failing.
		return nil, fmt.Errorf("%w: gainsight is failing, draining is paused until %s", errNotSent, until.Format(time.RFC3339))
	}
	e.metrics.batchSize.WithLabelValues(op).Observe(float64(n))
	start := time.Now()
	results, err := fn()
	if err == nil && len(results) != n {
		err = fmt.Errorf("gainsight returned %d results for %d records", len(results), n)
	}
	e.noteCall(err)
	if err != nil {
		e.log.Warn("gainsight batch failed", zap.String("operation", op), zap.Int("users", n),
			zap.String("reason", gainsight.ReasonOf(err)), zap.Duration("duration", time.Since(start)),
			zap.Error(maskedError(err)))
		return nil, err
	}
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
		}
	}
	e.log.Info("gainsight batch", zap.String("operation", op), zap.Int("users", n),
		zap.Int("failed", failed), zap.Duration("duration", time.Since(start)))
	return results, nil
}

func chunks(runs []*run, size int) [][]*run {
	var out [][]*run
	for len(runs) > 0 {
		n := min(size, len(runs))
		out = append(out, runs[:n])
		runs = runs[n:]
	}
	return out
}
