package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	elscim "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/scim2/filter-parser/v2"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// userHandler serves /Users for the library.
type userHandler struct{ h *handler }

var _ elscim.ResourceHandler = (*userHandler)(nil)

func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reports whether an If-Match header admits version.
func ifMatch(header string, version int64) bool {
	header = strings.TrimSpace(header)
	if header == "" || header == "*" {
		return true
	}
	want := strconv.FormatInt(version, 10)
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		t = strings.Trim(t, `"`)
		if t == want {
			return true
		}
	}
	return false
}

// cleanDoc removes what is never stored: server-assigned and read-only
// attributes, the write-only password, and empty extension objects.
func cleanDoc(doc map[string]any) map[string]any {
	for _, k := range []string{"id", "meta", "schemas", "groups", "password", URNBridge} {
		if key, _, ok := getKey(doc, k); ok {
			delete(doc, key)
		}
	}
	for k, v := range doc {
		if m, ok := v.(map[string]any); ok && len(m) == 0 && strings.HasPrefix(strings.ToLower(k), "urn:") {
			delete(doc, k)
		}
		if v == nil {
			delete(doc, k)
		}
	}
	return doc
}

func stringAt(m map[string]any, keys ...string) string {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		_, cur, ok = getKey(mm, k)
		if !ok {
			return ""
		}
	}
	s, _ := cur.(string)
	return s
}

// userFromDoc derives the indexed fields of a user from its document.
func userFromDoc(doc map[string]any) (store.User, error) {
	_, un, _ := getKey(doc, "userName")
	userName, ok := un.(string)
	if !ok || strings.TrimSpace(userName) == "" {
		return store.User{}, errInvalidValue("userName is required and must be a non-empty string.")
	}
	u := store.User{
		UserName:   userName,
		ExternalID: stringAt(doc, "externalId"),
		ManagerID:  stringAt(doc, URNEnterprise, "manager", "value"),
		Active:     true,
		Doc:        doc,
	}
	if _, a, ok := getKey(doc, "active"); ok && a != nil {
		b, isBool := a.(bool)
		if !isBool {
			return store.User{}, errInvalidValue("active must be a boolean.")
		}
		u.Active = b
	}
	if _, e, ok := getKey(doc, "emails"); ok {
		list, _ := e.([]any)
		for _, el := range list {
			if m, ok := el.(map[string]any); ok {
				if s := stringAt(m, "value"); s != "" {
					u.Emails = append(u.Emails, s)
				}
			}
		}
	}
	checks := []error{checkIndexed("userName", u.UserName), checkIndexed("externalId", u.ExternalID), checkIndexed(URNEnterprise+":manager.value", u.ManagerID)}
	for _, e := range u.Emails {
		checks = append(checks, checkIndexed("emails.value", e), checkEmail("emails.value", e))
	}
	for _, err := range checks {
		if err != nil {
			return store.User{}, err
		}
	}
	return u, nil
}

// checkEmail refuses, naming attr, a value that is not a bare email
// address as net/mail reads one (RFC 5322 addr-spec): a display name, angle
// brackets, a comment or surrounding spaces are refused, and so is a quoted
// local part ("j doe"@example.com), which net/mail unquotes and no IdP or
// Gainsight tenant uses. Gainsight would refuse such a user at sync time;
// refusing it now shows the IdP the error at once.
func checkEmail(attr, v string) error {
	if a, err := mail.ParseAddress(v); err != nil || a.Name != "" || a.Address != v {
		return errInvalidValue("%s: %q is not an email address.", attr, v)
	}
	return nil
}

// checkUser turns a user document as written (after a POST, PUT or PATCH)
// into the user to store: what is never stored is removed, multi-valued
// attributes are tidied (tidyMultiValued), and the result is validated.
func (h *handler) checkUser(doc map[string]any) (store.User, error) {
	doc = cleanDoc(doc)
	tidyMultiValued(doc)
	if err := h.checkDocument("user", doc); err != nil {
		return store.User{}, err
	}
	u, err := userFromDoc(doc)
	if err != nil {
		return store.User{}, err
	}
	if err := h.opts.Validator.ValidateUser(doc); err != nil {
		return store.User{}, errInvalidValue("%s", validationMessage(err))
	}
	return u, nil
}

func (u *userHandler) Create(r *http.Request, attrs elscim.ResourceAttributes) (elscim.Resource, error) {
	created, link, err := u.create(r, attrs)
	if err != nil {
		return elscim.Resource{}, err
	}
	return u.created(r, created, link, projectionFrom(r))
}

// create stores the user attrs describe, as validated by the library, and
// returns it with its link (nil when the store does not return it).
func (u *userHandler) create(r *http.Request, attrs elscim.ResourceAttributes) (store.User, *store.SyncInfo, error) {
	ctx := r.Context()
	usr, err := u.h.checkUser(copyDoc(attrs))
	if err != nil {
		return store.User{}, nil, err
	}
	usr.ID = u.h.opts.NewID()
	usr.Source = store.SourceSCIM
	var (
		created store.User
		link    *store.SyncInfo
	)
	if lc, ok := u.h.opts.Store.(store.LinkedCreator); ok {
		var l store.SyncInfo
		created, l, err = lc.CreateUserLinked(ctx, usr)
		link = &l
	} else {
		created, err = u.h.opts.Store.CreateUser(ctx, usr)
	}
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			if owner, ok := u.h.userNameOwner(ctx, usr.UserName); ok {
				return store.User{}, nil, errNameOwnedBy("User", "userName", usr.UserName, owner.ID, owner.Source)
			}
		}
		return store.User{}, nil, storeError(err, "User", usr.ID)
	}
	u.h.audit(r, store.UserAudit(store.User{}, created))
	u.h.opts.Notify()
	return created, link, nil
}

// created renders a user just created: it is in no group (its id is
// new), and its link is the one the create returned (link), or read.
func (u *userHandler) created(r *http.Request, usr store.User, link *store.SyncInfo, proj projection) (elscim.Resource, error) {
	var ex userExtras
	if proj.wants("groups") {
		ex.groups = map[string][]store.GroupRef{}
	}
	if proj.wants(URNBridge) {
		if link != nil {
			ex.sync = map[string]store.SyncInfo{usr.ID: *link}
		} else {
			var err error
			if ex.sync, err = u.h.opts.Store.SyncOfUsers(r.Context(), []string{usr.ID}); err != nil {
				return elscim.Resource{}, fmt.Errorf("scim: sync state of users: %w", err)
			}
		}
	}
	return u.render(usr, copyDoc(usr.Doc), proj, ex, u.h.baseURL(r)), nil
}

func (u *userHandler) Get(r *http.Request, id string) (elscim.Resource, error) {
	usr, err := u.h.opts.Store.GetUser(r.Context(), id)
	if err != nil {
		return elscim.Resource{}, storeError(err, "User", id)
	}
	return u.resource(r, usr, projectionFrom(r))
}

func (u *userHandler) Replace(r *http.Request, id string, attrs elscim.ResourceAttributes) (elscim.Resource, error) {
	next, err := u.h.checkUser(copyDoc(attrs))
	if err != nil {
		return elscim.Resource{}, keepStatus(r, err)
	}
	res, err := u.update(r, id, func(store.User) (store.User, error) {
		n := next
		n.Doc = copyDoc(next.Doc)
		return n, nil
	})
	return res, keepStatus(r, err)
}

func (u *userHandler) Patch(r *http.Request, id string, ops []elscim.PatchOperation) (elscim.Resource, error) {
	unescapePaths(ops)
	res, err := u.update(r, id, func(old store.User) (store.User, error) {
		doc := copyDoc(old.Doc)
		if err := u.h.schemasOf(r).user.applyPatch(doc, ops); err != nil {
			return store.User{}, err
		}
		return u.h.checkUser(doc)
	})
	return res, keepStatus(r, err)
}

// update stores the user next computes from the stored one, after the
// ownership and If-Match checks, and answers with the result. A document
// equal to the stored one is not written (see unchanged).
func (u *userHandler) update(r *http.Request, id string, next func(old store.User) (store.User, error)) (elscim.Resource, error) {
	ctx := r.Context()
	match := r.Header.Get("If-Match")
	var before store.User
	updated, err := u.h.opts.Store.UpdateUser(ctx, id, func(old store.User) (store.User, error) {
		before = old
		if err := writable("User", old.ID, old.Source, old.Version, match); err != nil {
			return store.User{}, err
		}
		n, err := next(old)
		if err != nil {
			return store.User{}, err
		}
		if sameDoc(n.Doc, old.Doc) {
			return store.User{}, unchanged{old}
		}
		n.ID, n.Source, n.Version, n.Created, n.Modified = old.ID, old.Source, old.Version, old.Created, old.Modified
		return n, nil
	})
	var same unchanged
	if errors.As(err, &same) {
		return u.resource(r, same.user, projectionFrom(r))
	}
	if err != nil {
		return elscim.Resource{}, storeError(err, "User", id)
	}
	u.h.audit(r, store.UserAudit(before, updated))
	u.h.opts.Notify()
	return u.resource(r, updated, projectionFrom(r))
}

func (u *userHandler) Delete(r *http.Request, id string) error {
	ctx := r.Context()
	cur, err := u.h.opts.Store.GetUser(ctx, id)
	if err != nil {
		return storeError(err, "User", id)
	}
	if err := writable("User", id, cur.Source, cur.Version, r.Header.Get("If-Match")); err != nil {
		return err
	}
	if err := u.h.opts.Store.DeleteUser(ctx, id); err != nil {
		return storeError(err, "User", id)
	}
	u.h.audit(r, store.UserAudit(cur, store.User{}))
	u.h.opts.Notify()
	return nil
}

func (u *userHandler) GetAll(r *http.Request, params elscim.ListRequestParams) (elscim.Page, error) {
	return notePage(r)(u.list(r, filterOf(r, params), params.StartIndex, params.Count))
}

// list answers one page of users matching expr (nil for all), projected by
// the request's attributes and excludedAttributes. The store answers what
// it can of the filter (narrowUsers); a page's groups and sync states are
// read in one query each.
func (u *userHandler) list(r *http.Request, expr filter.Expression, startIndex, count int) (elscim.Page, error) {
	ctx := r.Context()
	proj := projectionFrom(r)
	needSync := mentions(expr, func(p filter.AttributePath) bool { return strings.EqualFold(p.URI(), URNBridge) })
	needGroups := mentions(expr, coreAttribute("groups"))
	loc := newLocator("/Users", u.h.baseURL(r))
	var sel store.UserFilter
	exact := true
	if expr != nil {
		sel, exact = narrowUsers(expr)
	}
	if vf, ok := u.h.opts.Store.(store.ViewFinder); ok && exact {
		return u.listViews(r, vf, sel, startIndex, count, proj)
	}
	users, total, err := listMatching(expr, exact, startIndex, count, u.h.opts.Limits.MaxFilterCandidates, lister[store.User]{
		kind:  "users",
		chunk: candidateChunk,
		find: func(offset, limit int) ([]store.User, int, error) {
			q := sel
			q.Offset, q.Limit = offset, limit
			users, total, err := u.h.opts.Store.FindUsers(ctx, q)
			if err != nil {
				return nil, 0, fmt.Errorf("scim: list users: %w", err)
			}
			return users, total, nil
		},
		views: func(items []store.User) ([]map[string]any, error) {
			ex, err := u.extras(ctx, items, needSync, needGroups)
			if err != nil {
				return nil, err
			}
			views := make([]map[string]any, len(items))
			for i, usr := range items {
				views[i] = filterView(usr, ex, loc)
			}
			return views, nil
		},
	})
	if err != nil {
		return elscim.Page{}, err
	}
	var size int64
	for _, usr := range users {
		n, _, _ := measure(usr.Doc, "", math.MaxInt)
		size += int64(n)
	}
	if err := u.h.holdPage(r, size); err != nil {
		return elscim.Page{}, err
	}
	ex, err := u.extras(ctx, users, proj.wants(URNBridge), proj.wants("groups"))
	if err != nil {
		return elscim.Page{}, err
	}
	res := make([]elscim.Resource, 0, len(users))
	for _, usr := range users {
		// The page's users were read for this request alone: rendered
		// in place rather than copied.
		res = append(res, u.render(usr, usr.Doc, proj, ex, loc.base))
	}
	return elscim.Page{TotalResults: total, Resources: res}, nil
}

// listViews answers a page the store selects exactly, from the users'
// views: one query for the users, their links and their groups.
func (u *userHandler) listViews(r *http.Request, vf store.ViewFinder, sel store.UserFilter, startIndex, count int, proj projection) (elscim.Page, error) {
	count = max(count, 0)
	sel.Offset, sel.Limit = max(startIndex-1, 0), max(count, 1) // count 0: only the total is wanted
	views, total, err := vf.FindUserViews(r.Context(), sel)
	if err != nil {
		return elscim.Page{}, fmt.Errorf("scim: list users: %w", err)
	}
	if count == 0 {
		views = nil
	}
	var size int64
	for _, v := range views {
		size += int64(len(v.Doc))
	}
	if err := u.h.holdPage(r, size); err != nil {
		return elscim.Page{}, err
	}
	users, ex, err := viewUsers(views)
	if err != nil {
		return elscim.Page{}, fmt.Errorf("scim: list users: %w", err)
	}
	if !proj.wants(URNBridge) {
		ex.sync = nil
	}
	if !proj.wants("groups") {
		ex.groups = nil
	}
	base := u.h.baseURL(r)
	res := make([]elscim.Resource, 0, len(users))
	for _, usr := range users {
		res = append(res, u.render(usr, usr.Doc, proj, ex, base))
	}
	return elscim.Page{TotalResults: total, Resources: res}, nil
}

// candidateChunk is how many users or member-less groups a filter the
// store cannot answer reads and tests at once.
const candidateChunk = 100

// userNameOwner returns the user holding userName when another source
// owns it.
func (h *handler) userNameOwner(ctx context.Context, userName string) (store.User, bool) {
	users, _, err := h.opts.Store.ListUsers(ctx, store.Query{Field: "userName", Value: userName, Limit: 1})
	if err != nil || len(users) == 0 || scimOwned(users[0].Source) {
		return store.User{}, false
	}
	return users[0], true
}

// userExtras is what a user's representation needs beyond the user:
// its sync state and its groups, for a page of users at once. A nil map
// was not read.
type userExtras struct {
	sync   map[string]store.SyncInfo
	groups map[string][]store.GroupRef
}

// extras reads the sync states (withSync) and groups (withGroups) of
// users, one query each.
func (u *userHandler) extras(ctx context.Context, users []store.User, withSync, withGroups bool) (userExtras, error) {
	var ex userExtras
	if len(users) == 0 || (!withSync && !withGroups) {
		return ex, nil
	}
	ids := make([]string, len(users))
	for i, usr := range users {
		ids[i] = usr.ID
	}
	var err error
	if withSync {
		if ex.sync, err = u.h.opts.Store.SyncOfUsers(ctx, ids); err != nil {
			return ex, fmt.Errorf("scim: sync state of users: %w", err)
		}
	}
	if withGroups {
		if ex.groups, err = u.h.opts.Store.GroupsOfUsers(ctx, ids); err != nil {
			return ex, fmt.Errorf("scim: groups of users: %w", err)
		}
	}
	return ex, nil
}

// filterView is the representation filters are evaluated against, with
// the sync extension and groups when ex holds them, and meta.location and
// the groups' $ref as loc (the users' locator) answers them.
func filterView(usr store.User, ex userExtras, loc locator) map[string]any {
	view := make(map[string]any, len(usr.Doc)+4)
	for k, v := range usr.Doc {
		view[k] = v
	}
	view["id"] = usr.ID
	if _, _, ok := getKey(view, "active"); !ok {
		view["active"] = usr.Active
	}
	view["meta"] = metaView("User", loc.of(usr.ID), usr.Created, usr.Modified, usr.Version)
	if ex.sync != nil {
		info, ok := ex.sync[usr.ID]
		view[URNBridge] = syncExtension(info, ok)
	}
	if ex.groups != nil {
		view["groups"] = groupsAttr(ex.groups[usr.ID], loc.base)
	}
	return view
}

// groupsAttr is a user's groups attribute; with a base URL, each group
// carries its $ref.
func groupsAttr(refs []store.GroupRef, base string) []any {
	out := make([]any, 0, len(refs))
	for _, g := range refs {
		el := map[string]any{"value": g.ID, "display": g.DisplayName, "type": "direct"}
		if base != "" {
			el["$ref"] = base + "/Groups/" + url.PathEscape(g.ID)
		}
		out = append(out, el)
	}
	return out
}

// syncExtension is the bridge extension of a user whose SyncInfo is info
// (found reports that it has one).
func syncExtension(info store.SyncInfo, found bool) map[string]any {
	ext := map[string]any{"syncState": store.StatePending}
	if !found {
		return ext
	}
	if info.State != "" {
		ext["syncState"] = info.State
	}
	if info.GSID != "" {
		ext["gsid"] = info.GSID
	}
	if info.LastError != "" {
		ext["lastError"] = info.LastError
	}
	if info.State == store.StateSynced && !info.Updated.IsZero() {
		ext["lastSyncedAt"] = info.Updated.UTC().Format(time.RFC3339)
	}
	return ext
}

// resource renders a stored user for the library, answering r.
func (u *userHandler) resource(r *http.Request, usr store.User, proj projection) (elscim.Resource, error) {
	ex, err := u.extras(r.Context(), []store.User{usr}, proj.wants(URNBridge), proj.wants("groups"))
	if err != nil {
		return elscim.Resource{}, err
	}
	return u.render(usr, copyDoc(usr.Doc), proj, ex, u.h.baseURL(r)), nil
}

// render renders a user with what ex holds of its sync state and groups;
// attrs is the user's document, which render changes (a copy when the
// caller keeps the user), base the SCIM base URL.
func (u *userHandler) render(usr store.User, attrs map[string]any, proj projection, ex userExtras, base string) elscim.Resource {
	if attrs == nil {
		attrs = map[string]any{}
	}
	if _, _, ok := getKey(attrs, "active"); !ok {
		attrs["active"] = usr.Active
	}
	if ex.groups != nil {
		if g := groupsAttr(ex.groups[usr.ID], base); len(g) > 0 {
			attrs["groups"] = g
		}
	}
	if ex.sync != nil {
		info, ok := ex.sync[usr.ID]
		attrs[URNBridge] = syncExtension(info, ok)
	}
	return libResource(usr.ID, attrs, proj, "userName", usr.UserName, usr.Created, usr.Modified, usr.Version)
}

// libResource renders a stored resource's attributes for the library:
// externalId moves to its own field, the projection applies, and a
// resource the projection leaves empty keeps key (the library answers a
// PATCH without attributes with 204, and clients must get the resource).
func libResource(id string, attrs map[string]any, proj projection, key, value string, created, modified time.Time, version int64) elscim.Resource {
	var extID string
	if k, v, ok := getKey(attrs, "externalId"); ok {
		extID, _ = v.(string)
		delete(attrs, k)
	}
	proj.apply(attrs)
	if len(attrs) == 0 {
		attrs[key] = value
	}
	created, modified = created.UTC(), modified.UTC()
	res := elscim.Resource{
		ID:         id,
		Attributes: attrs,
		Meta:       elscim.Meta{Created: &created, LastModified: &modified, Version: etag(version)},
	}
	if extID != "" && proj.wants("externalId") {
		res.ExternalID = optional.NewString(extID)
	}
	return res
}

// unchanged aborts an update that would store the same document again: the
// IdP repeats itself (Okta's full PUTs, JumpCloud's repeated calls), and a
// write would bump meta.version and queue a sync for nothing.
type unchanged struct{ user store.User }

func (unchanged) Error() string { return "scim: resource unchanged" }

// sameDoc compares two documents by their JSON form, so numbers and nested
// values compare alike whether they were decoded or built.
func sameDoc(a, b map[string]any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
