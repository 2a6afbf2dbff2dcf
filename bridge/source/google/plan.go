package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// Change is one change of a poll, planned or applied.
type Change struct {
	// Kind is KindCreated, KindUpdated, KindDeactivated, KindDeprovisioned,
	// KindGroupChanged, or "skipped" for a change the store refused or the
	// source may not make.
	Kind     string
	Resource string // "user" or "group"
	ID       string // store id
	Name     string // userName or group displayName
	Detail   string
}

// KindSkipped marks a change that was not made.
const KindSkipped = "skipped"

// Changes summarises one poll: what is in scope and what changed (or, from
// Plan, would change).
type Changes struct {
	UsersInScope  int
	GroupsInScope int
	Created       int // users created
	Updated       int // users whose document changed (reactivations included)
	Deactivated   int // users suspended in Google
	Deprovisioned int // users that left scope (deactivated) or were deleted in Google (removed)
	GroupsChanged int // groups created, changed or removed
	Skipped       int // changes refused: names owned by another source, resolution conflicts
	Details       []Change
}

// Total is the number of changes made (or planned), skipped ones excluded.
func (c Changes) Total() int {
	return c.Created + c.Updated + c.Deactivated + c.Deprovisioned + c.GroupsChanged
}

func (c *Changes) add(ch Change) {
	switch ch.Kind {
	case KindCreated:
		c.Created++
	case KindUpdated:
		c.Updated++
	case KindDeactivated:
		c.Deactivated++
	case KindDeprovisioned:
		c.Deprovisioned++
	case KindGroupChanged:
		c.GroupsChanged++
	case KindSkipped:
		c.Skipped++
	}
	c.Details = append(c.Details, ch)
}

// userOp is one planned user write.
type userOp struct {
	change Change
	create bool
	remove bool       // deleted in Google: DeleteUser
	user   store.User // desired user for create and update
}

// groupOp is one planned group write.
type groupOp struct {
	change Change
	create bool
	remove bool
	group  store.Group
}

// plan is everything one poll will write, in order: users, groups, then
// deprovisioning (after groups have dropped the leaving users).
type plan struct {
	usersInScope, groupsInScope int
	users                       []userOp
	groups                      []groupOp
	deprovision                 []userOp
	skipped                     []Change
}

func (p *plan) changes() Changes {
	c := Changes{UsersInScope: p.usersInScope, GroupsInScope: p.groupsInScope}
	for _, op := range p.users {
		c.add(op.change)
	}
	for _, op := range p.groups {
		c.add(op.change)
	}
	for _, op := range p.deprovision {
		c.add(op.change)
	}
	for _, ch := range p.skipped {
		c.add(ch)
	}
	return c
}

// owned reports whether the Google source owns a resource.
func owned(source string) bool { return source == store.SourceGoogle }

func sourceName(source string) string {
	if source == "" {
		return store.SourceSCIM
	}
	return source
}

// normalize returns v as decoded JSON, so documents built here compare
// equal to documents read back from the store.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}

func sameDoc(a, b map[string]any) bool { return reflect.DeepEqual(normalize(a), normalize(b)) }

// plan compares a snapshot of Google with the store.
func (s *Source) plan(ctx context.Context, snap *snapshot) (*plan, error) {
	users, _, err := s.opts.Store.ListUsers(ctx, store.Query{})
	if err != nil {
		return nil, fmt.Errorf("google: list stored users: %w", err)
	}
	ownedUsers := map[string]store.User{} // by Google user id
	byName := map[string]store.User{}
	for _, u := range users {
		byName[strings.ToLower(u.UserName)] = u
		if owned(u.Source) && u.ExternalID != "" {
			ownedUsers[u.ExternalID] = u
		}
	}
	if len(snap.users) == 0 && len(ownedUsers) > 0 {
		return nil, &Error{Op: "list users", Reason: ReasonOther,
			Err: fmt.Errorf("Google listed no users while the store holds %d users of the source; refusing to deprovision them all", len(ownedUsers))}
	}
	p := &plan{groupsInScope: len(snap.groups)}

	// Store ids of the users in scope, existing or to be created; users
	// whose userName another source owns are left out.
	ids := map[string]string{}
	byEmail := map[string]gUser{}
	var inScope []gUser
	for _, gu := range snap.users {
		if !snap.inScope[gu.id] {
			continue
		}
		inScope = append(inScope, gu)
		byEmail[gu.email] = gu
		if cur, ok := ownedUsers[gu.id]; ok {
			ids[gu.id] = cur.ID
			continue
		}
		if other, taken := byName[gu.email]; taken {
			p.skipped = append(p.skipped, Change{Kind: KindSkipped, Resource: "user", ID: other.ID, Name: gu.email,
				Detail: fmt.Sprintf("userName is owned by the %s source (user %s); the Google source does not take it over", sourceName(other.Source), other.ID)})
			continue
		}
		ids[gu.id] = s.opts.NewID()
	}
	p.usersInScope = len(inScope)

	for _, gu := range inScope {
		id, ok := ids[gu.id]
		if !ok {
			continue
		}
		managerID := ""
		if m, ok := byEmail[managerEmail(gu)]; ok && m.id != gu.id {
			managerID = ids[m.id]
		}
		doc := userDoc(gu, managerID, s.opts.Config.Attributes)
		want := store.User{
			ID: id, UserName: gu.email, ExternalID: gu.id, Emails: []string{gu.email},
			ManagerID: managerID, Active: !gu.suspended, Source: store.SourceGoogle, Doc: doc,
		}
		cur, exists := ownedUsers[gu.id]
		switch {
		case !exists:
			detail := "new in scope"
			if gu.suspended {
				detail = "new in scope, suspended"
			}
			p.users = append(p.users, userOp{create: true, user: want,
				change: Change{Kind: KindCreated, Resource: "user", ID: id, Name: gu.email, Detail: detail}})
		case sameDoc(cur.Doc, doc):
		case cur.Active && !want.Active:
			p.users = append(p.users, userOp{user: want,
				change: Change{Kind: KindDeactivated, Resource: "user", ID: id, Name: gu.email, Detail: "suspended in Google"}})
		default:
			detail := "changed in Google: " + strings.Join(diffKeys(cur.Doc, doc), ", ")
			if !cur.Active && want.Active {
				detail = "active again: " + strings.Join(diffKeys(cur.Doc, doc), ", ")
			}
			p.users = append(p.users, userOp{user: want,
				change: Change{Kind: KindUpdated, Resource: "user", ID: id, Name: gu.email, Detail: detail}})
		}
	}

	listed := map[string]bool{}
	for _, gu := range snap.users {
		listed[gu.id] = true
	}
	gids := make([]string, 0, len(ownedUsers))
	for gid := range ownedUsers {
		gids = append(gids, gid)
	}
	sort.Strings(gids)
	for _, gid := range gids {
		cur := ownedUsers[gid]
		switch {
		case snap.inScope[gid]:
		case !listed[gid]:
			p.deprovision = append(p.deprovision, userOp{remove: true,
				change: Change{Kind: KindDeprovisioned, Resource: "user", ID: cur.ID, Name: cur.UserName, Detail: "deleted in Google: removed (deactivated in Gainsight)"}})
		case cur.Active:
			want := cur
			want.Doc = copyMap(cur.Doc)
			want.Doc["active"] = false
			want.Active = false
			p.deprovision = append(p.deprovision, userOp{user: want,
				change: Change{Kind: KindDeprovisioned, Resource: "user", ID: cur.ID, Name: cur.UserName, Detail: "left scope: deactivated"}})
		}
	}

	if err := s.planGroups(ctx, snap, ids, p); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Source) planGroups(ctx context.Context, snap *snapshot, ids map[string]string, p *plan) error {
	groups, _, err := s.opts.Store.ListGroups(ctx, store.Query{}, true)
	if err != nil {
		return fmt.Errorf("google: list stored groups: %w", err)
	}
	ownedGroups := map[string]store.Group{} // by lower-case email
	byName := map[string]store.Group{}
	for _, g := range groups {
		byName[strings.ToLower(g.DisplayName)] = g
		if owned(g.Source) {
			ownedGroups[strings.ToLower(g.ExternalID)] = g
		}
	}
	wanted := map[string]bool{}
	for _, gg := range snap.groups {
		wanted[gg.email] = true
		members := []string{}
		for _, gid := range gg.members {
			if id, ok := ids[gid]; ok {
				members = append(members, id)
			}
		}
		sort.Strings(members)
		want := store.Group{
			DisplayName: gg.name, ExternalID: gg.email, Members: members, Source: store.SourceGoogle,
			Doc: map[string]any{"displayName": gg.name, "externalId": gg.email},
		}
		cur, exists := ownedGroups[gg.email]
		if !exists {
			if other, taken := byName[strings.ToLower(gg.name)]; taken {
				p.skipped = append(p.skipped, Change{Kind: KindSkipped, Resource: "group", ID: other.ID, Name: gg.name,
					Detail: fmt.Sprintf("displayName is owned by the %s source (group %s)", sourceName(other.Source), other.ID)})
				continue
			}
			want.ID = s.opts.NewID()
			p.groups = append(p.groups, groupOp{create: true, group: want,
				change: Change{Kind: KindGroupChanged, Resource: "group", ID: want.ID, Name: gg.name, Detail: fmt.Sprintf("created with %d members", len(members))}})
			continue
		}
		want.ID = cur.ID
		added, removed := diffMembers(cur.Members, members)
		var what []string
		if cur.DisplayName != want.DisplayName {
			what = append(what, fmt.Sprintf("renamed from %q", cur.DisplayName))
		}
		if len(added) > 0 {
			what = append(what, fmt.Sprintf("%d members added", len(added)))
		}
		if len(removed) > 0 {
			what = append(what, fmt.Sprintf("%d members removed", len(removed)))
		}
		if len(what) == 0 && !sameDoc(cur.Doc, want.Doc) {
			what = append(what, "attributes changed")
		}
		if len(what) > 0 {
			p.groups = append(p.groups, groupOp{group: want,
				change: Change{Kind: KindGroupChanged, Resource: "group", ID: cur.ID, Name: gg.name, Detail: strings.Join(what, ", ")}})
		}
	}
	emails := make([]string, 0, len(ownedGroups))
	for e := range ownedGroups {
		emails = append(emails, e)
	}
	sort.Strings(emails)
	for _, e := range emails {
		if wanted[e] {
			continue
		}
		g := ownedGroups[e]
		p.groups = append(p.groups, groupOp{remove: true, group: g,
			change: Change{Kind: KindGroupChanged, Resource: "group", ID: g.ID, Name: g.DisplayName, Detail: "removed: deleted in Google or no longer matching groupPatterns"}})
	}
	return nil
}

func diffMembers(old, next []string) (added, removed []string) {
	o := map[string]bool{}
	for _, id := range old {
		o[id] = true
	}
	n := map[string]bool{}
	for _, id := range next {
		n[id] = true
		if !o[id] {
			added = append(added, id)
		}
	}
	for _, id := range old {
		if !n[id] {
			removed = append(removed, id)
		}
	}
	return added, removed
}

// diffKeys names the top-level attributes that differ.
func diffKeys(a, b map[string]any) []string {
	na, _ := normalize(a).(map[string]any)
	nb, _ := normalize(b).(map[string]any)
	var keys []string
	for k, v := range na {
		if !reflect.DeepEqual(v, nb[k]) {
			keys = append(keys, k)
		}
	}
	for k := range nb {
		if _, ok := na[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func copyMap(m map[string]any) map[string]any {
	out, _ := normalize(m).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

// errNotOwned refuses a write to a resource another source owns.
var errNotOwned = errors.New("owned by another source")

// conflictError is a resolution conflict a GroupCheck found for one user.
type conflictError struct {
	userID string
	err    error
}

func (e *conflictError) Error() string { return fmt.Sprintf("user %s: %v", e.userID, e.err) }
func (e *conflictError) Unwrap() error { return e.err }

func (s *Source) groupCheck() store.GroupCheck {
	check := s.opts.CheckGroups
	if check == nil {
		return nil
	}
	return func(_ store.Group, affected map[string][]store.GroupRef) error {
		ids := make([]string, 0, len(affected))
		for id := range affected {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if err := check(affected[id]); err != nil {
				return &conflictError{userID: id, err: err}
			}
		}
		return nil
	}
}

// refused reports whether a store error means "skip this change" rather
// than "the store is failing".
func refused(err error) bool {
	var ce *conflictError
	return errors.Is(err, store.ErrConflict) || errors.Is(err, errNotOwned) || errors.As(err, &ce) || errors.Is(err, store.ErrNotFound)
}

// apply writes a plan into the store.
func (s *Source) apply(ctx context.Context, p *plan) (Changes, error) {
	ch := Changes{UsersInScope: p.usersInScope, GroupsInScope: p.groupsInScope}
	for _, c := range p.skipped {
		ch.add(c)
		s.logger.Warn("google: change skipped", zap.String("resource", c.Resource), zap.String("id", c.ID),
			zap.String("name", mask(c.Name)), zap.String("reason", c.Detail))
	}
	wrote := false
	var audit []store.AuditEntry
	defer func() {
		if len(audit) > 0 {
			s.opts.Audit(context.WithoutCancel(ctx), store.AuditFrom(audit, store.AuditSourceGoogle, store.AuditSourceGoogle, ""))
		}
		if wrote {
			s.opts.Notify()
		}
	}()
	done := func(c Change) {
		wrote = true
		ch.add(c)
		s.metrics.changes.WithLabelValues(c.Kind).Inc()
		s.logger.Debug("google: change", zap.String("kind", c.Kind), zap.String("resource", c.Resource),
			zap.String("id", c.ID), zap.String("name", c.Name), zap.String("detail", c.Detail))
	}
	skip := func(c Change, err error) {
		c.Detail = fmt.Sprintf("%s: refused: %v", c.Detail, err)
		c.Kind = KindSkipped
		ch.add(c)
		s.logger.Warn("google: change refused", zap.String("resource", c.Resource), zap.String("id", c.ID),
			zap.String("name", mask(c.Name)), zap.Error(err))
	}

	missing := map[string]bool{} // users that could not be created
	for _, op := range p.users {
		var (
			err         error
			old, stored store.User
		)
		if op.create {
			stored, err = s.opts.Store.CreateUser(ctx, op.user)
		} else {
			stored, err = s.opts.Store.UpdateUser(ctx, op.user.ID, keepOld(&old, replaceOwnedUser(op.user)))
		}
		switch {
		case err == nil:
			audit = append(audit, store.UserAudit(old, stored)...)
			done(op.change)
		case refused(err):
			if op.create {
				missing[op.user.ID] = true
			}
			skip(op.change, err)
		default:
			return ch, fmt.Errorf("google: write user %s: %w", op.user.ID, err)
		}
	}

	check := s.groupCheck()
	for _, op := range p.groups {
		g := op.group
		g.Members = withoutIDs(g.Members, missing)
		var (
			err         error
			old, stored store.Group
		)
		switch {
		case op.remove:
			old, err = s.deleteOwnedGroup(ctx, g.ID, check)
		case op.create:
			stored, err = s.opts.Store.CreateGroup(ctx, g, check)
		default:
			stored, err = s.opts.Store.UpdateGroup(ctx, g.ID, func(cur store.Group) (store.Group, error) {
				old = cur
				return replaceOwnedGroup(g)(cur)
			}, check)
		}
		switch {
		case err == nil:
			name := stored.DisplayName
			if op.remove {
				name = old.DisplayName
			}
			audit = append(audit, store.MembershipAudit(name, old.Members, stored.Members)...)
			done(op.change)
		case refused(err):
			skip(op.change, err)
		default:
			return ch, fmt.Errorf("google: write group %s: %w", g.ID, err)
		}
	}

	for _, op := range p.deprovision {
		var (
			err         error
			old, stored store.User
		)
		if op.remove {
			old, err = s.deleteOwnedUser(ctx, op.change.ID)
		} else {
			stored, err = s.opts.Store.UpdateUser(ctx, op.change.ID, keepOld(&old, deactivateOwnedUser))
		}
		switch {
		case err == nil:
			audit = append(audit, store.UserAudit(old, stored)...)
			done(op.change)
		case refused(err):
			skip(op.change, err)
		default:
			return ch, fmt.Errorf("google: deprovision user %s: %w", op.change.ID, err)
		}
	}
	return ch, nil
}

func withoutIDs(ids []string, drop map[string]bool) []string {
	if len(drop) == 0 {
		return ids
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !drop[id] {
			out = append(out, id)
		}
	}
	return out
}

// replaceOwnedUser replaces a user's content with want, unless another
// source took the user over meanwhile.
func replaceOwnedUser(want store.User) func(store.User) (store.User, error) {
	return func(old store.User) (store.User, error) {
		if !owned(old.Source) {
			return store.User{}, fmt.Errorf("user %s: %w (%s)", old.ID, errNotOwned, sourceName(old.Source))
		}
		n := want
		n.Doc = copyMap(want.Doc)
		n.ID, n.Source, n.Version, n.Created, n.Modified = old.ID, old.Source, old.Version, old.Created, old.Modified
		return n, nil
	}
}

// deactivateOwnedUser sets active false on a user the source owns.
func deactivateOwnedUser(old store.User) (store.User, error) {
	if !owned(old.Source) {
		return store.User{}, fmt.Errorf("user %s: %w (%s)", old.ID, errNotOwned, sourceName(old.Source))
	}
	n := old
	n.Doc = copyMap(old.Doc)
	n.Doc["active"] = false
	n.Active = false
	return n, nil
}

func replaceOwnedGroup(want store.Group) func(store.Group) (store.Group, error) {
	return func(old store.Group) (store.Group, error) {
		if !owned(old.Source) {
			return store.Group{}, fmt.Errorf("group %s: %w (%s)", old.ID, errNotOwned, sourceName(old.Source))
		}
		n := want
		n.Doc = copyMap(want.Doc)
		n.Members = append([]string{}, want.Members...)
		n.ID, n.Source, n.Version, n.Created, n.Modified = old.ID, old.Source, old.Version, old.Created, old.Modified
		return n, nil
	}
}

// keepOld wraps an update function so that *old receives the user it was
// last given (the user before the write).
func keepOld(old *store.User, fn func(store.User) (store.User, error)) func(store.User) (store.User, error) {
	return func(cur store.User) (store.User, error) {
		*old = cur
		return fn(cur)
	}
}

// deleteOwnedUser deletes a user the source owns and returns it as it was.
func (s *Source) deleteOwnedUser(ctx context.Context, id string) (store.User, error) {
	cur, err := s.opts.Store.GetUser(ctx, id)
	if err != nil {
		return store.User{}, err
	}
	if !owned(cur.Source) {
		return store.User{}, fmt.Errorf("user %s: %w (%s)", id, errNotOwned, sourceName(cur.Source))
	}
	return cur, s.opts.Store.DeleteUser(ctx, id)
}

// deleteOwnedGroup deletes a group the source owns and returns it as it
// was, members included.
func (s *Source) deleteOwnedGroup(ctx context.Context, id string, check store.GroupCheck) (store.Group, error) {
	cur, err := s.opts.Store.GetGroup(ctx, id)
	if err != nil {
		return store.Group{}, err
	}
	if !owned(cur.Source) {
		return store.Group{}, fmt.Errorf("group %s: %w (%s)", id, errNotOwned, sourceName(cur.Source))
	}
	return cur, s.opts.Store.DeleteGroup(ctx, id, check)
}

// mask shortens an email for logs at warning level ("j…@example.com").
func mask(name string) string {
	at := strings.LastIndex(name, "@")
	if at <= 0 {
		return name
	}
	return name[:1] + "…" + name[at:]
}
