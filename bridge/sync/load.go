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

// Load is the first step of a pass: reads only. It reads the claimed
// users, their links and groups from the store and plans each one's
// desired state; then it asks Gainsight, in at most two list calls for
// the whole batch, for what the plan cannot do without: the linked users
// whose last write had an unknown outcome, and the users that may already
// exist (unlinked users, and deleted users whose create may have been
// applied). With a tenant snapshot in use (snapshot.go), unlinked users
// are matched against it instead, and only those matched on Email alone
// are looked up. before, when set, runs before each call. It also reads
// the mass-deactivation guard's holds of the batch, and, for the plans
// shadow mode stores (sources), where each desired value came from.

// load reads a claimed batch.
func (e *Engine) load(ctx context.Context, claimed []store.Dirty, planner Planner, before func(), sources bool) ([]*subject, lookup) {
	subs := make([]*subject, 0, len(claimed))
	for _, d := range claimed {
		s := e.loadUser(ctx, d.UserID, planner)
		s.Dirty = d
		if sources {
			e.loadSources(s, planner)
		}
		subs = append(subs, s)
	}
	e.loadHolds(ctx, subs)
	e.reread(ctx, subs, before)
	var names, emails []string
	lookUpUser := func(s *subject) {
		name, email := e.joinKeys(s)
		if name != "" {
			names = append(names, name)
		}
		if email != "" {
			emails = append(emails, email)
		}
	}
	snap := e.currentSnap()
	var fromSnapshot []*subject
	for _, s := range subs {
		switch {
		case s.LoadErr != nil || s.Link == nil:
		case s.Deleted && s.Link.GSID == "" && s.Link.Unknown && s.UserName != "":
			names = append(names, s.UserName)
		case !s.Deleted && s.PlanErr == nil && s.Link.GSID == "" && !s.Link.Unknown && snap != nil:
			// A user whose create may have been applied after the
			// snapshot was taken is looked up instead.
			fromSnapshot = append(fromSnapshot, s)
		case !s.Deleted && s.PlanErr == nil && (s.Link.GSID == "" || s.Reread && s.Current == nil):
			lookUpUser(s)
		}
	}
	var partial []gainsight.Record
	if len(fromSnapshot) > 0 {
		found, byEmail, err := e.matchSnapshot(ctx, snap, fromSnapshot)
		if err != nil {
			e.log.Warn("cannot match users against the tenant snapshot; looking them up", zap.Error(err))
			byEmail = fromSnapshot
		}
		partial = found
		for _, s := range byEmail {
			lookUpUser(s)
		}
	}
	lk := e.lookUp(ctx, names, emails, before)
	return subs, e.withPartial(ctx, lk, partial)
}

// withPartial adds the Gainsight users the snapshot matched to a look-up,
// marked partial (only their GSID, user-name field and status are known),
// unless the look-up found them in full.
func (e *Engine) withPartial(ctx context.Context, lk lookup, partial []gainsight.Record) lookup {
	if len(partial) == 0 || lk.Err != nil {
		return lk
	}
	if lk.Holders == nil {
		lk.Holders, lk.NameOwners = map[string]store.SyncInfo{}, map[string][]string{}
	}
	lk.Partial = map[string]bool{}
	full := map[string]bool{}
	for _, r := range lk.Found {
		full[r.GSID()] = true
	}
	var added []gainsight.Record
	for _, r := range partial {
		if !full[r.GSID()] {
			added = append(added, r)
			lk.Partial[r.GSID()] = true
		}
	}
	if err := e.resolveFound(ctx, added, &lk); err != nil {
		return lookup{Err: err}
	}
	lk.Found = append(lk.Found, added...)
	return lk
}

// loadUser reads one user, its link and groups, and plans its desired
// state. Errors are kept in the subject: a store error in LoadErr, a user
// that cannot be planned in PlanErr.
func (e *Engine) loadUser(ctx context.Context, id string, planner Planner) *subject {
	s := &subject{UserID: id}
	user, err := e.opts.Store.GetUser(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.Deleted = true
	case err != nil:
		s.LoadErr = fmt.Errorf("load user: %w", err)
		return s
	}
	link, err := e.opts.Store.GetSync(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		s.LoadErr = fmt.Errorf("load link: %w", err)
		return s
	default:
		s.Link = &link
		s.UserName = link.UserName
	}
	if s.Deleted {
		return s
	}
	s.UserName = user.UserName
	groups, err := e.opts.Store.GroupsOfUser(ctx, id)
	if err != nil {
		s.LoadErr = fmt.Errorf("load groups: %w", err)
		return s
	}
	s.user, s.groups = user, groups
	plan, err := planner.Plan(user, groups)
	if err != nil {
		// The status still follows the IdP: a disabled user is
		// deactivated whatever is wrong with the rest.
		s.PlanErr, s.Active = err, user.Active
		return s
	}
	if plan.SuperAdmin {
		e.noteSuperAdmin(id)
	}
	s.Active, s.SuperAdmin = plan.Active, plan.SuperAdmin
	s.Desired = managedFields(plan.Record)
	if mid := plan.ManagerID; mid != "" && mid != id {
		if err := e.resolveManager(ctx, s, mid); err != nil {
			s.LoadErr = err
		}
	}
	return s
}

// loadHolds reads the guard's holds of the batch's users. A failed read
// leaves every user to be retried: deciding without it could send a
// deactivation an operator has not approved.
func (e *Engine) loadHolds(ctx context.Context, subs []*subject) {
	ids := make([]string, 0, len(subs))
	for _, s := range subs {
		ids = append(ids, s.UserID)
	}
	holds, err := e.opts.Store.HoldsOf(ctx, ids)
	for _, s := range subs {
		switch {
		case err != nil && s.LoadErr == nil:
			s.LoadErr = fmt.Errorf("load the guard's holds: %w", err)
		case err == nil:
			if h, ok := holds[s.UserID]; ok {
				s.Hold = &h
			}
		}
	}
}

// loadSources notes where each of s's desired fields came from, when the
// planner can say (Explainer). It runs only for the plans shadow mode
// stores; a user that cannot be explained is planned without sources.
func (e *Engine) loadSources(s *subject, planner Planner) {
	ex, ok := planner.(Explainer)
	if !ok || s.LoadErr != nil || s.Deleted || s.PlanErr != nil {
		return
	}
	exp, err := ex.Explain(s.user, s.groups)
	if err != nil {
		return
	}
	s.Sources = map[string][]string{fieldManager: {"user"}}
	for _, a := range exp.Attributes {
		s.Sources[a.Name] = a.Sources
	}
}

// resolveManager puts the GSID of the manager mid into s's desired record,
// or, when the manager is not linked yet, keeps whatever manager Gainsight
// has and notes whether the manager is worth waiting for.
func (e *Engine) resolveManager(ctx context.Context, s *subject, mid string) error {
	mgr, err := e.opts.Store.GetSync(ctx, mid)
	switch {
	case err == nil && mgr.GSID != "":
		s.Desired[fieldManager] = mgr.GSID
		return nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("load manager's link: %w", err)
	}
	if s.Link != nil {
		if cur, ok := s.Link.Record[fieldManager]; ok {
			s.Desired[fieldManager] = cur
		}
	}
	wait, err := e.managerWillLink(ctx, mid, mgr, err == nil)
	if err != nil {
		return err
	}
	s.ManagerID, s.ManagerWait = mid, wait
	return nil
}

// managerWillLink reports whether a manager that has no GSID yet is worth
// waiting for: it is a user of the bridge that is not failed. A manager id
// that names no user (not provisioned to this app) or a failed manager
// would keep the report dirty forever; the report is synced without it
// instead, and linking the manager later marks its reports dirty anyway.
func (e *Engine) managerWillLink(ctx context.Context, mid string, mgr store.SyncInfo, hasLink bool) (bool, error) {
	if hasLink && mgr.State == store.StateFailed {
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

// reread reads back from Gainsight, with one list call, the linked users
// whose last write had an unknown outcome (a lost answer, a timeout): the
// confirmed state cannot be trusted, as diffing against it could skip a
// status change that Gainsight never saw, or miss one it did.
func (e *Engine) reread(ctx context.Context, subs []*subject, before func()) {
	var ws []*subject
	var gsids []string
	for _, s := range subs {
		if s.LoadErr == nil && s.Link != nil && s.Link.GSID != "" && s.Link.Unknown {
			ws = append(ws, s)
			gsids = append(gsids, s.Link.GSID)
		}
	}
	if len(ws) == 0 {
		return
	}
	if before != nil {
		before()
	}
	found, err := e.find(ctx, len(ws), []gainsight.Condition{{Name: fieldGsid, Operator: "EQ", Values: gsids}})
	byGSID := make(map[string]gainsight.Record, len(found))
	for _, rec := range found {
		byGSID[rec.GSID()] = rec
	}
	for _, s := range ws {
		if err != nil {
			s.RereadErr = err
			continue
		}
		s.Reread, s.Current = true, byGSID[s.Link.GSID]
	}
}

// lookUp finds, with one list call, the Gainsight users whose user-name
// field is one of names or whose Email is one of emails, and reads from
// the store who holds each of them and which bridge users own their user
// names.
func (e *Engine) lookUp(ctx context.Context, names, emails []string, before func()) lookup {
	var conds []gainsight.Condition
	if len(names) > 0 {
		conds = append(conds, gainsight.Condition{Name: e.opts.UserNameField, Operator: "EQ", Values: names})
	}
	if len(emails) > 0 {
		conds = append(conds, gainsight.Condition{Name: fieldEmail, Operator: "EQ", Values: emails})
	}
	if len(conds) == 0 {
		return lookup{}
	}
	if before != nil {
		before()
	}
	found, err := e.find(ctx, max(len(names), len(emails)), conds)
	if err != nil {
		return lookup{Err: err, Called: true}
	}
	lk := lookup{Found: found, Holders: map[string]store.SyncInfo{}, NameOwners: map[string][]string{}, Called: true}
	if err := e.resolveFound(ctx, found, &lk); err != nil {
		return lookup{Err: err, Called: true}
	}
	return lk
}

// resolveFound reads from the store who holds each found Gainsight user
// and which bridge users own their user names, into lk.
func (e *Engine) resolveFound(ctx context.Context, found []gainsight.Record, lk *lookup) error {
	for _, rec := range found {
		if gsid := rec.GSID(); gsid != "" {
			h, err := e.opts.Store.SyncByGSID(ctx, gsid)
			switch {
			case err == nil:
				lk.Holders[gsid] = h
			case !errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("look up the link of %s: %w", gsid, err)
			}
		}
		name := stringField(rec, e.opts.UserNameField)
		key := store.Fold(name)
		if name == "" || lk.NameOwners[key] != nil {
			continue
		}
		users, _, err := e.opts.Store.ListUsers(ctx, store.Query{Field: "userName", Value: name, Limit: 2})
		if err != nil {
			return fmt.Errorf("look up the owner of a %s: %w", e.opts.UserNameField, err)
		}
		owners := []string{}
		for _, u := range users {
			owners = append(owners, u.ID)
		}
		lk.NameOwners[key] = owners
	}
	return nil
}

// find makes one list call for users users, logging it.
func (e *Engine) find(ctx context.Context, users int, conds []gainsight.Condition) ([]gainsight.Record, error) {
	if until := e.paused(); e.opts.Now().Before(until) {
		return nil, fmt.Errorf("not sent: gainsight is failing, draining is paused until %s", until.Format(time.RFC3339))
	}
	e.metrics.batchSize.WithLabelValues(batchList).Observe(float64(users))
	start := time.Now()
	found, err := e.opts.Upstream.Find(ctx, conds)
	e.noteCall(err)
	if err != nil {
		e.log.Warn("gainsight lookup failed", zap.String("operation", batchList), zap.Int("users", users),
			zap.String("reason", gainsight.ReasonOf(err)), zap.Error(maskedError(err)))
		return nil, err
	}
	e.log.Info("gainsight batch", zap.String("operation", batchList), zap.Int("users", users),
		zap.Int("found", len(found)), zap.Duration("duration", time.Since(start)))
	return found, nil
}
