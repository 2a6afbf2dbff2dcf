package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// bookkeepingTimeout bounds the store writes that record a pass's results;
// they run even when the pass's context was cancelled, so a user created in
// Gainsight just before shutdown keeps its GSID.
const bookkeepingTimeout = 30 * time.Second

// work is one claimed user during a pass.
type work struct {
	d       store.Dirty
	user    store.User
	deleted bool // the SCIM user no longer exists
	loaded  bool // info was read from the store (or is known to be absent)
	hadInfo bool
	info    store.SyncInfo // what Gainsight is known to hold, updated as calls succeed

	desired        gainsight.Record // managed fields the user should have
	active         bool             // status the user should have
	managerPending string           // SCIM id of a manager not linked yet
	changes        gainsight.Record // fields to update in this pass

	created, adopted, updated, reactivated, deactivated bool

	retryErr   error
	failErr    error
	failReason string
}

func (w *work) open() bool { return w.retryErr == nil && w.failErr == nil }

func (w *work) retry(err error) {
	if w.open() {
		w.retryErr = err
	}
}

func (w *work) fail(reason string, err error) {
	if w.open() {
		w.failErr, w.failReason = err, reason
	}
}

// linked reports whether the user was linked to a Gainsight user in this
// pass.
func (w *work) linked() bool { return w.created || w.adopted }

// processBatch runs one batch of claimed users through planning, adoption,
// creation, status changes and updates, then records each user's outcome.
// ctx bounds the batch's work; parent is the pass's context, whose end
// means shutdown.
func (e *Engine) processBatch(ctx, parent context.Context, claimed []store.Dirty) {
	planner := e.opts.Planner()
	works := make([]*work, 0, len(claimed))
	for _, d := range claimed {
		works = append(works, e.load(ctx, d, planner))
	}

	e.verifyUnknown(ctx, works)

	// taken holds every GSID linked to a user of this batch, so no two
	// users of one batch are ever linked to the same Gainsight user (their
	// links reach the store only when the batch is finished).
	taken := map[string]*work{}
	var cands []*work
	for _, w := range works {
		if w.info.GSID != "" {
			taken[w.info.GSID] = w
		}
		if w.open() && !w.deleted && w.info.GSID == "" {
			cands = append(cands, w)
		}
	}
	e.findOrphans(ctx, works, taken)
	if len(cands) > 0 {
		rest := e.adopt(ctx, cands, taken)
		if dups := e.create(ctx, rest, taken); len(dups) > 0 {
			// Gainsight says these exist already: link them instead.
			for _, w := range e.adopt(ctx, dups, taken) {
				w.fail(reasonDuplicate, fmt.Errorf("gainsight reports a duplicate but no unlinked user matches %s or Email", e.opts.UserNameField))
			}
		}
	}

	e.resolveManagersInBatch(works)

	var activate, update, deactivate []*work
	for _, w := range works {
		if !w.open() || w.info.GSID == "" {
			continue
		}
		if w.deleted {
			if w.info.Active {
				deactivate = append(deactivate, w)
			}
			continue
		}
		changes := diffRecord(w.desired, w.info.Record)
		if w.active && !w.info.Active {
			activate = append(activate, w)
			// Gainsight drops the license on deactivation.
			if lic, ok := w.desired[fieldLicense]; ok {
				changes[fieldLicense] = lic
			}
		}
		if !w.active {
			// An inactive user holds no license; sending one would either
			// fail or grant it.
			delete(changes, fieldLicense)
			if w.info.Active {
				deactivate = append(deactivate, w)
			}
		}
		if len(changes) > 0 {
			w.changes = changes
			update = append(update, w)
		}
	}
	e.setStatus(ctx, activate, true)
	e.update(ctx, update)
	e.setStatus(ctx, deactivate, false)

	for _, w := range works {
		e.finish(ctx, parent, w)
	}
}

// resolveManagersInBatch gives users waiting for a manager that was linked
// earlier in this batch their Manager now, instead of in a later pass.
func (e *Engine) resolveManagersInBatch(works []*work) {
	linked := map[string]string{}
	for _, w := range works {
		if w.open() && w.linked() {
			linked[w.d.UserID] = w.info.GSID
		}
	}
	for _, w := range works {
		if gsid, ok := linked[w.managerPending]; ok && w.open() {
			w.desired[fieldManager] = gsid
			w.managerPending = ""
		}
	}
}

// load reads a claimed user, its link and groups, and plans its desired
// state.
func (e *Engine) load(ctx context.Context, d store.Dirty, planner Planner) *work {
	w := &work{d: d}
	user, err := e.opts.Store.GetUser(ctx, d.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		w.deleted = true
	case err != nil:
		w.retry(fmt.Errorf("load user: %w", err))
		return w
	default:
		w.user = user
	}
	info, err := e.opts.Store.GetSync(ctx, d.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		info = store.SyncInfo{UserID: d.UserID}
	case err != nil:
		w.retry(fmt.Errorf("load sync state: %w", err))
		return w
	default:
		w.hadInfo = true
	}
	w.info, w.loaded = info, true
	if w.deleted {
		return w
	}
	w.info.UserName = user.UserName

	groups, err := e.opts.Store.GroupsOfUser(ctx, d.UserID)
	if err != nil {
		w.retry(fmt.Errorf("load groups: %w", err))
		return w
	}
	plan, err := planner.Plan(user, groups)
	if err != nil {
		w.fail(reasonValidation, err)
		return w
	}
	if plan.SuperAdmin {
		e.noteSuperAdmin(d.UserID)
	}
	w.active = plan.Active
	w.desired = gainsight.Record{}
	for k, v := range plan.Record {
		switch k {
		case fieldGsid, fieldActive, fieldSuperAdmin, fieldManager:
			continue
		}
		if v != nil {
			w.desired[k] = v
		}
	}
	if mid := plan.ManagerID; mid != "" && mid != d.UserID {
		mgr, err := e.opts.Store.GetSync(ctx, mid)
		switch {
		case err == nil && mgr.GSID != "":
			w.desired[fieldManager] = mgr.GSID
		case err == nil || errors.Is(err, store.ErrNotFound):
			// Keep whatever manager Gainsight has until the new one links.
			if cur, ok := w.info.Record[fieldManager]; ok {
				w.desired[fieldManager] = cur
			}
			wait, werr := e.managerWillLink(ctx, mid, mgr, err == nil)
			switch {
			case werr != nil:
				w.retry(werr)
			case wait:
				w.managerPending = mid
			}
		default:
			w.retry(fmt.Errorf("load manager's sync state: %w", err))
		}
	}
	return w
}

// managerWillLink reports whether a manager that has no GSID yet is worth
// waiting for: it is a user of the bridge that is not failed. A manager id
// that names no user (not provisioned to this app) or a failed manager
// would keep the report dirty forever; the report is synced without it
// instead, and linking the manager later marks its reports dirty anyway.
func (e *Engine) managerWillLink(ctx context.Context, mid string, mgr store.SyncInfo, hasInfo bool) (bool, error) {
	if hasInfo && mgr.State == store.StateFailed {
		return false, nil
	}
	if _, err := e.opts.Store.GetUser(ctx, mid); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("load manager: %w", err)
	}
	return true, nil
}

// joinKeys returns the user-name and email a candidate is matched on.
func (e *Engine) joinKeys(w *work) (name, email string) {
	name = stringField(w.desired, e.opts.UserNameField)
	if name == "" {
		name = w.user.UserName
	}
	return name, stringField(w.desired, fieldEmail)
}

// adopt looks the candidates up in Gainsight with one Find call (user-name
// field or Email) and links every match. It returns the candidates nothing
// matched; on a failed call every candidate is put back for a retry.
//
// Matching follows the join order: every candidate is first matched on the
// user-name field, and only then are the remaining ones matched on Email,
// so a record that one candidate's user name names is never given to
// another candidate whose email it happens to carry. GSIDs in taken
// (linked to another user of the batch) are never matched; a candidate
// whose only match is taken fails as a duplicate, or is retried when the
// holder is a deleted user whose link the next pass may take over. taken
// gains every GSID linked here.
func (e *Engine) adopt(ctx context.Context, cands []*work, taken map[string]*work) []*work {
	var names, emails []string
	for _, w := range cands {
		name, email := e.joinKeys(w)
		if name != "" {
			names = append(names, name)
		}
		if email != "" {
			emails = append(emails, email)
		}
	}
	var conds []gainsight.Condition
	if len(names) > 0 {
		conds = append(conds, gainsight.Condition{Name: e.opts.UserNameField, Operator: "EQ", Values: names})
	}
	if len(emails) > 0 {
		conds = append(conds, gainsight.Condition{Name: fieldEmail, Operator: "EQ", Values: emails})
	}
	if len(conds) == 0 {
		return cands
	}
	e.metrics.batchSize.WithLabelValues(batchList).Observe(float64(len(cands)))
	start := time.Now()
	found, err := e.opts.Upstream.Find(ctx, conds)
	e.noteCall(err)
	if err != nil {
		e.log.Warn("gainsight lookup failed", zap.String("operation", batchList), zap.Int("users", len(cands)),
			zap.String("reason", gainsight.ReasonOf(err)), zap.Error(maskedError(err)))
		for _, w := range cands {
			w.retry(fmt.Errorf("look up existing Gainsight users: %w", err))
		}
		return nil
	}

	recs := make([]gainsight.Record, len(cands))
	byEmail := make([]bool, len(cands))
	for _, email := range []bool{false, true} {
		field := e.opts.UserNameField
		if email {
			field = fieldEmail
		}
		for i, w := range cands {
			if recs[i] != nil || !w.open() {
				continue
			}
			name, addr := e.joinKeys(w)
			key := name
			if email {
				key = addr
			}
			rec, held := match(found, field, key, taken)
			switch {
			case rec != nil:
				recs[i], byEmail[i] = rec, email
				taken[rec.GSID()] = w
			case held != "" && taken[held].deleted:
				w.retry(fmt.Errorf("the Gainsight user %s with this %s is being unlinked from a deleted user", held, field))
			case held != "":
				// Gainsight's unique keys make a create fail as well.
				w.fail(reasonDuplicate, fmt.Errorf("the Gainsight user %s with this %s is linked to another user of the bridge", held, field))
			}
		}
	}

	var unmatched []*work
	adopted := 0
	for i, w := range cands {
		if !w.open() {
			continue
		}
		rec := recs[i]
		if rec == nil {
			unmatched = append(unmatched, w)
			continue
		}
		gsid := rec.GSID()
		if byEmail[i] && !e.emailMatchIsOwn(ctx, w, rec) {
			continue
		}
		if !e.takeLink(ctx, w, gsid) {
			continue
		}
		w.info.GSID = gsid
		w.info.Record = restrict(rec, w.desired)
		w.info.Active = activeOf(rec)
		if !w.info.Active {
			delete(w.info.Record, fieldLicense)
		}
		w.adopted = true
		adopted++
	}
	e.log.Info("gainsight batch", zap.String("operation", batchList), zap.Int("users", len(cands)),
		zap.Int("found", len(found)), zap.Int("adopted", adopted), zap.Duration("duration", time.Since(start)))
	return unmatched
}

// emailMatchIsOwn checks a record matched on Email only: when its user-name
// field names another live user of the bridge, the record is that user's
// (the user-name field ranks before Email in the join order) and w fails as
// a duplicate instead of taking it over and renaming it.
func (e *Engine) emailMatchIsOwn(ctx context.Context, w *work, rec gainsight.Record) bool {
	if e.opts.UserNameField == fieldEmail {
		return true
	}
	other := stringField(rec, e.opts.UserNameField)
	if other == "" {
		return true
	}
	users, _, err := e.opts.Store.ListUsers(ctx, store.Query{Field: "userName", Value: other, Limit: 2})
	if err != nil {
		w.retry(fmt.Errorf("look up the owner of %s %q: %w", e.opts.UserNameField, other, err))
		return false
	}
	for _, u := range users {
		if u.ID != w.d.UserID {
			w.fail(reasonDuplicate, fmt.Errorf("the Gainsight user %s has this Email but %s %q, which is user %s", rec.GSID(), e.opts.UserNameField, other, u.ID))
			return false
		}
	}
	return true
}

// takeLink checks that gsid is not linked to another user. A tombstone's
// link is taken over (the person was deleted and provisioned again under
// another userName); a live user's is not, and w fails as a duplicate.
func (e *Engine) takeLink(ctx context.Context, w *work, gsid string) bool {
	other, err := e.opts.Store.SyncByGSID(ctx, gsid)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return true
	case err != nil:
		w.retry(fmt.Errorf("look up link of %s: %w", gsid, err))
		return false
	case other.UserID == w.d.UserID:
		return true
	case !other.Tombstone:
		w.fail(reasonDuplicate, fmt.Errorf("the matching Gainsight user %s is already linked to user %s", gsid, other.UserID))
		return false
	}
	other.GSID = ""
	other.Updated = e.opts.Now()
	if err := e.opts.Store.PutSync(ctx, other); err != nil {
		w.retry(fmt.Errorf("unlink tombstone %s from %s: %w", other.UserID, gsid, err))
		return false
	}
	return true
}

// match finds the record whose field equals key (case-insensitively) and
// whose GSID is not in taken. When only taken records match, it returns
// the GSID of one of them as held.
func match(found []gainsight.Record, field, key string, taken map[string]*work) (rec gainsight.Record, held string) {
	for _, r := range found {
		gsid := r.GSID()
		if gsid == "" || !equalFold(key, stringField(r, field)) {
			continue
		}
		if taken[gsid] == nil {
			return r, ""
		}
		held = gsid
	}
	return nil, held
}

// verifyUnknown re-reads from Gainsight, with one Find call, the linked
// users of the batch whose last attempt failed. A failed write may still
// have been applied (a lost answer, a timeout), so the last confirmed state
// cannot be trusted: diffing against it could skip a status change that
// Gainsight never saw, or miss one it did. Their confirmed state becomes
// what Gainsight holds now.
func (e *Engine) verifyUnknown(ctx context.Context, works []*work) {
	var ws []*work
	var gsids []string
	for _, w := range works {
		if w.open() && w.info.GSID != "" && w.info.LastError != "" {
			ws = append(ws, w)
			gsids = append(gsids, w.info.GSID)
		}
	}
	if len(ws) == 0 {
		return
	}
	found, err := e.opts.Upstream.Find(ctx, []gainsight.Condition{{Name: fieldGsid, Operator: "EQ", Values: gsids}})
	e.noteCall(err)
	if err != nil {
		for _, w := range ws {
			w.retry(fmt.Errorf("re-read the Gainsight user after a failed attempt: %w", err))
		}
		return
	}
	byGSID := make(map[string]gainsight.Record, len(found))
	for _, rec := range found {
		byGSID[rec.GSID()] = rec
	}
	for _, w := range ws {
		rec := byGSID[w.info.GSID]
		if rec == nil && w.deleted {
			w.info.Active = false // nothing left to deactivate
			continue
		}
		if rec == nil {
			// Gainsight no longer has it: adopt or create again.
			w.info.GSID, w.info.Record, w.info.Active = "", nil, false
			continue
		}
		confirmed := restrict(rec, w.desired)
		active := activeOf(rec)
		if !active {
			delete(confirmed, fieldLicense)
		}
		w.info.Record, w.info.Active = confirmed, active
	}
}

// findOrphans looks up, with one Find call, the deleted users of the batch
// that were never linked although a sync of theirs was attempted: a create
// whose answer was lost may have made them in Gainsight. Such a user is
// linked to its tombstone, so the deletion deactivates it instead of
// leaving an active user in Gainsight that no one manages. A match already
// linked to a live user is left alone.
func (e *Engine) findOrphans(ctx context.Context, works []*work, taken map[string]*work) {
	var dels []*work
	var names []string
	for _, w := range works {
		if w.open() && w.deleted && w.hadInfo && w.info.GSID == "" && w.info.LastError != "" && w.info.UserName != "" {
			dels = append(dels, w)
			names = append(names, w.info.UserName)
		}
	}
	if len(dels) == 0 {
		return
	}
	e.metrics.batchSize.WithLabelValues(batchList).Observe(float64(len(dels)))
	found, err := e.opts.Upstream.Find(ctx, []gainsight.Condition{{Name: e.opts.UserNameField, Operator: "EQ", Values: names}})
	e.noteCall(err)
	if err != nil {
		for _, w := range dels {
			w.retry(fmt.Errorf("look up a possibly created Gainsight user: %w", err))
		}
		return
	}
	for _, w := range dels {
		rec, _ := match(found, e.opts.UserNameField, w.info.UserName, taken)
		if rec == nil {
			continue
		}
		owner, err := e.opts.Store.SyncByGSID(ctx, rec.GSID())
		switch {
		case err == nil && owner.UserID != w.d.UserID && !owner.Tombstone:
			continue // provisioned again and adopted by its new owner
		case err != nil && !errors.Is(err, store.ErrNotFound):
			w.retry(fmt.Errorf("look up link of %s: %w", rec.GSID(), err))
			continue
		}
		taken[rec.GSID()] = w
		w.info.GSID, w.info.Active = rec.GSID(), activeOf(rec)
	}
}

// activeOf reads IsActiveUser from a found record; absent means active.
func activeOf(rec gainsight.Record) bool {
	switch v := rec[fieldActive].(type) {
	case bool:
		return v
	case string:
		return !strings.EqualFold(v, "false")
	}
	return true
}

// create creates the users in batches and adds the new GSIDs to taken. It
// returns the users Gainsight rejected as duplicates, for the caller to
// adopt.
func (e *Engine) create(ctx context.Context, ws []*work, taken map[string]*work) []*work {
	var dups []*work
	for _, chunk := range chunks(ws, e.opts.BatchSize) {
		records := make([]gainsight.Record, len(chunk))
		for i, w := range chunk {
			records[i] = cloneRecord(w.desired)
		}
		results, err := e.call(ctx, batchCreate, len(chunk), func() ([]gainsight.Result, error) {
			return e.opts.Upstream.Create(ctx, records)
		})
		if err != nil {
			// The response may be lost after Gainsight created the users:
			// the next attempt adopts them instead of creating again.
			for _, w := range chunk {
				w.retry(fmt.Errorf("create: %w", err))
			}
			continue
		}
		for i, w := range chunk {
			r := results[i]
			if r.Err != nil {
				if gainsight.ReasonOf(r.Err) == gainsight.ReasonDuplicate {
					dups = append(dups, w)
				} else {
					e.recordError(w, "create", r.Err)
				}
				continue
			}
			gsid := r.GSID
			if gsid == "" {
				gsid = r.Record.GSID()
			}
			if gsid == "" {
				w.retry(errors.New("create: gainsight returned no Gsid"))
				continue
			}
			if taken[gsid] != nil {
				// Gainsight answered with a user already linked in this
				// batch: never link it twice.
				w.fail(reasonDuplicate, fmt.Errorf("create: gainsight answered with user %s, which is linked to another user", gsid))
				continue
			}
			taken[gsid] = w
			w.info.GSID = gsid
			w.info.Record = records[i]
			w.info.Active = true
			if _, ok := r.Record[fieldActive]; ok {
				w.info.Active = activeOf(r.Record)
			}
			w.created = true
		}
	}
	return dups
}

// update sends each user's changed fields.
func (e *Engine) update(ctx context.Context, ws []*work) {
	for _, chunk := range chunks(openOnly(ws), e.opts.BatchSize) {
		records := make([]gainsight.Record, len(chunk))
		for i, w := range chunk {
			rec := cloneRecord(w.changes)
			rec[fieldGsid] = w.info.GSID
			records[i] = rec
		}
		results, err := e.call(ctx, batchUpdate, len(chunk), func() ([]gainsight.Result, error) {
			return e.opts.Upstream.Update(ctx, records)
		})
		if err != nil {
			for _, w := range chunk {
				w.retry(fmt.Errorf("update: %w", err))
			}
			continue
		}
		for i, w := range chunk {
			if err := results[i].Err; err != nil {
				e.recordError(w, "update", err)
				continue
			}
			w.info.Record = applyChanges(w.info.Record, w.changes)
			w.updated = true
		}
	}
}

// setStatus activates or deactivates the users.
func (e *Engine) setStatus(ctx context.Context, ws []*work, active bool) {
	verb := "deactivate"
	if active {
		verb = "activate"
	}
	for _, chunk := range chunks(openOnly(ws), e.opts.BatchSize) {
		gsids := make([]string, len(chunk))
		for i, w := range chunk {
			gsids[i] = w.info.GSID
		}
		results, err := e.call(ctx, batchStatus, len(chunk), func() ([]gainsight.Result, error) {
			return e.opts.Upstream.SetStatus(ctx, gsids, active)
		})
		if err != nil {
			for _, w := range chunk {
				w.retry(fmt.Errorf("%s: %w", verb, err))
			}
			continue
		}
		for i, w := range chunk {
			if err := results[i].Err; err != nil {
				e.recordError(w, verb, err)
				continue
			}
			w.info.Active = active
			if active {
				w.reactivated = true
			} else {
				// Gainsight drops the license of a deactivated user.
				w.info.Record = cloneRecord(w.info.Record)
				delete(w.info.Record, fieldLicense)
				w.deactivated = true
			}
		}
	}
}

// call makes one batch call, checks the result count and logs one line.
func (e *Engine) call(ctx context.Context, op string, n int, fn func() ([]gainsight.Result, error)) ([]gainsight.Result, error) {
	if until := e.paused(); e.opts.Now().Before(until) {
		// An earlier call of this batch found Gainsight failing.
		return nil, fmt.Errorf("not sent: gainsight is failing, draining is paused until %s", until.Format(time.RFC3339))
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

// recordError classifies a per-record error: retryable ones and those of
// unknown outcome (reason "other", such as a record Gainsight's answer did
// not mention, which may well have been written) are retried; the rest
// fail the user until it changes. A retried create adopts what the lost
// one made.
func (e *Engine) recordError(w *work, verb string, err error) {
	err = fmt.Errorf("%s: %w", verb, err)
	if gainsight.IsRetryable(err) || gainsight.ReasonOf(err) == gainsight.ReasonOther {
		w.retry(err)
		return
	}
	w.fail(failedReason(gainsight.ReasonOf(err)), err)
}

// finish records a user's outcome: its link and state, then completes the
// dirty entry or schedules its retry.
func (e *Engine) finish(ctx, parent context.Context, w *work) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	now := e.opts.Now()
	log := e.log.With(zap.String("user_id", w.d.UserID))
	shutdown := parent.Err() != nil && w.retryErr != nil

	outcome, reason := w.outcome()
	info := w.info
	info.Updated = now
	switch outcome {
	case outcomeSynced:
		info.State, info.LastError = store.StateSynced, ""
	case outcomeDeferred:
		info.State, info.LastError = store.StatePending, fmt.Sprintf("waiting for manager %s to be linked to Gainsight", w.managerPending)
	case outcomeRetry:
		info.State, info.LastError = store.StatePending, w.retryErr.Error()
	case outcomeFailed:
		info.State, info.LastError = store.StateFailed, w.failErr.Error()
	}
	if w.deleted {
		info.Tombstone = true
	}
	if err := e.saveSync(bctx, w, info); err != nil {
		log.Warn("cannot record sync state; the entry is retried when its lease expires", zap.Error(err))
		return
	}
	if w.linked() {
		if reports, err := e.opts.Store.UsersByManager(bctx, w.d.UserID); err != nil {
			log.Warn("cannot look up reports of a newly linked user", zap.Error(err))
		} else if len(reports) > 0 {
			if err := e.opts.Store.MarkDirty(bctx, reports...); err != nil {
				log.Warn("cannot mark reports of a newly linked user dirty", zap.Error(err))
			}
		}
	}

	var err error
	switch {
	case shutdown:
		err = e.opts.Store.RetryDirty(bctx, w.d.UserID, w.d.Generation, w.d.Attempts, now)
	case outcome == outcomeSynced || outcome == outcomeFailed:
		err = e.opts.Store.CompleteDirty(bctx, w.d.UserID, w.d.Generation)
	default:
		attempts := w.d.Attempts + 1
		next := now.Add(e.backoff(attempts))
		err = e.opts.Store.RetryDirty(bctx, w.d.UserID, w.d.Generation, attempts, next)
		if outcome == outcomeRetry {
			log.Info("user sync will be retried", zap.String("reason", reason), zap.Int("attempts", attempts),
				zap.Time("next_attempt", next), zap.Error(maskedError(w.retryErr)))
		} else {
			log.Debug("user deferred until its manager is linked", zap.String("manager_id", w.managerPending))
		}
	}
	if err != nil {
		log.Warn("cannot update the dirty entry; it is retried when its lease expires", zap.Error(err))
	}
	if shutdown {
		return
	}
	if outcome == outcomeFailed {
		log.Warn("user sync failed; it is retried after the user changes", zap.String("reason", reason),
			zap.Error(maskedError(w.failErr)))
	}
	e.metrics.outcomes.WithLabelValues(outcome, reason).Inc()
}

// saveSync writes info unless the store's view moved under the pass: a
// SCIM DELETE during the pass keeps its tombstone, and a tombstone
// re-attached to a new user id is left to that user.
func (e *Engine) saveSync(ctx context.Context, w *work, info store.SyncInfo) error {
	if !w.loaded {
		return nil
	}
	if w.deleted && !w.hadInfo {
		return nil
	}
	cur, err := e.opts.Store.GetSync(ctx, w.d.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if w.hadInfo {
			return e.handOver(ctx, w, info)
		}
	case err != nil:
		return fmt.Errorf("re-read sync state: %w", err)
	case cur.Tombstone:
		info.Tombstone = true
	}
	err = e.opts.Store.PutSync(ctx, info)
	if errors.Is(err, store.ErrConflict) {
		// The link moved to another user between the read above and
		// this write (a re-create of the same userName): that user
		// takes over, with what this pass did to Gainsight in mind.
		return e.handOver(ctx, w, info)
	}
	if err != nil {
		return fmt.Errorf("store sync state: %w", err)
	}
	return nil
}

// handOver runs when the link w was working on moved to another user
// during the pass: a user deleted and created again under the same
// userName. The pass may or may not have changed that Gainsight user (a
// deleted user's deactivation — even one whose answer was lost — or an
// update of the old user), so the new owner's confirmed state can no
// longer be trusted. It is marked unknown (a LastError, nothing confirmed)
// and the owner is synced again: its next pass re-reads the Gainsight user
// (verifyUnknown) and sends whatever status and fields differ from what
// the new owner asks for, so it is neither left deactivated nor left
// active against its wish.
func (e *Engine) handOver(ctx context.Context, w *work, info store.SyncInfo) error {
	if info.GSID == "" {
		return nil
	}
	owner, err := e.opts.Store.SyncByGSID(ctx, info.GSID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return e.keepOrphan(ctx, w, info)
	case err != nil:
		return fmt.Errorf("find the new owner of %s: %w", info.GSID, err)
	case owner.UserID == w.d.UserID:
		return nil
	}
	owner.Active, owner.Record = false, nil
	owner.State = store.StatePending
	owner.LastError = fmt.Sprintf("the Gainsight user %s was being synced for a deleted user; its state is re-read", info.GSID)
	owner.Updated = info.Updated
	if err := e.opts.Store.PutSync(ctx, owner); err != nil {
		return fmt.Errorf("hand %s over to user %s: %w", info.GSID, owner.UserID, err)
	}
	if err := e.opts.Store.MarkDirty(ctx, owner.UserID); err != nil {
		return fmt.Errorf("hand %s over to user %s: %w", info.GSID, owner.UserID, err)
	}
	return nil
}

// keepOrphan runs when the link w was working on moved to a user created
// again under the same userName before this pass linked w to info.GSID
// (the moved link had no GSID yet). No one holds info.GSID, so it is kept
// on w, which was deleted, as a tombstone of unknown state: w's next pass
// re-reads the Gainsight user and deactivates it, and the new user, when
// it is still there, adopts it by userName (taking the tombstone's link).
// Without it the Gainsight user the pass created or adopted would stay
// active with no link at all.
func (e *Engine) keepOrphan(ctx context.Context, w *work, info store.SyncInfo) error {
	info.Tombstone = true
	info.State = store.StatePending
	info.LastError = fmt.Sprintf("the Gainsight user %s was linked while its user was deleted; its state is re-read", info.GSID)
	if err := e.opts.Store.PutSync(ctx, info); err != nil {
		return fmt.Errorf("keep %s on deleted user %s: %w", info.GSID, w.d.UserID, err)
	}
	if err := e.opts.Store.MarkDirty(ctx, w.d.UserID); err != nil {
		return fmt.Errorf("keep %s on deleted user %s: %w", info.GSID, w.d.UserID, err)
	}
	return nil
}

// outcome classifies the pass's result for a user.
func (w *work) outcome() (string, string) {
	switch {
	case w.failErr != nil:
		return outcomeFailed, w.failReason
	case w.retryErr != nil:
		return outcomeRetry, retryReason(gainsight.ReasonOf(w.retryErr))
	case w.managerPending != "":
		return outcomeDeferred, reasonManagerPending
	case w.created:
		return outcomeSynced, reasonCreated
	case w.adopted:
		return outcomeSynced, reasonAdopted
	case w.reactivated:
		return outcomeSynced, reasonReactivated
	case w.deactivated:
		return outcomeSynced, reasonDeactivated
	case w.updated:
		return outcomeSynced, reasonUpdated
	case w.deleted && w.info.GSID == "":
		return outcomeSynced, reasonOK
	}
	return outcomeSynced, reasonUnchanged
}

func retryReason(r string) string {
	switch r {
	case reasonRateLimited, reasonServerError, reasonNetwork, reasonTimeout, reasonAuth:
		return r
	}
	return reasonOther
}

func failedReason(r string) string {
	switch r {
	case reasonValidation, reasonDuplicate, reasonAuth, reasonNotFound:
		return r
	}
	return reasonOther
}

func openOnly(ws []*work) []*work {
	var out []*work
	for _, w := range ws {
		if w.open() {
			out = append(out, w)
		}
	}
	return out
}

func chunks(ws []*work, size int) [][]*work {
	var out [][]*work
	for len(ws) > 0 {
		n := min(size, len(ws))
		out = append(out, ws[:n])
		ws = ws[n:]
	}
	return out
}

// maskedError hides the local part of email addresses in err's text, so
// logs at info level carry no full emails.
func maskedError(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(maskEmails(err.Error()))
}

func maskEmails(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		if b[i] != '@' {
			continue
		}
		j := i
		for j > 0 && isLocalChar(b[j-1]) {
			j--
		}
		for k := j + 1; k < i; k++ {
			b[k] = '*'
		}
	}
	return string(b)
}

func isLocalChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte(".!#$%&'*+-/=?^_`{|}~", c) >= 0
}
