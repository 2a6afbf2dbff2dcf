package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	ctx := r.Context()
	usr, err := u.h.checkUser(copyDoc(attrs))
	if err != nil {
		return elscim.Resource{}, err
	}
	usr.ID = u.h.opts.NewID()
	usr.Source = store.SourceSCIM
	created, err := u.h.opts.Store.CreateUser(ctx, usr)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			if owner, ok := u.h.userNameOwner(ctx, usr.UserName); ok {
				return elscim.Resource{}, errNameOwnedBy("User", "userName", usr.UserName, owner.ID, owner.Source)
			}
		}
		return elscim.Resource{}, storeError(err, "User", usr.ID)
	}
	u.h.audit(r, store.UserAudit(store.User{}, created))
	u.h.opts.Notify()
	return u.resource(r, created, projectionFrom(r))
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
		return elscim.Resource{}, err
	}
	return u.update(r, id, func(store.User) (store.User, error) {
		n := next
		n.Doc = copyDoc(next.Doc)
		return n, nil
	})
}

func (u *userHandler) Patch(r *http.Request, id string, ops []elscim.PatchOperation) (elscim.Resource, error) {
	return u.update(r, id, func(old store.User) (store.User, error) {
		doc := copyDoc(old.Doc)
		if err := u.h.schemasOf(r).user.applyPatch(doc, ops); err != nil {
			return store.User{}, err
		}
		return u.h.checkUser(doc)
	})
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
	return u.list(r, filterOf(params), params.StartIndex, params.Count)
}

// list answers one page of users matching expr (nil for all), projected by
// the request's attributes and excludedAttributes.
func (u *userHandler) list(r *http.Request, expr filter.Expression, startIndex, count int) (elscim.Page, error) {
	ctx := r.Context()
	proj := projectionFrom(r)
	raw := strings.ToLower(r.URL.Query().Get("filter"))
	needSync := strings.Contains(raw, strings.ToLower(URNBridge))
	needGroups := strings.Contains(raw, "groups")
	users, total, err := listMatching(expr, startIndex, count, userIndex,
		func(q store.Query, _ bool) ([]store.User, int, error) {
			users, total, err := u.h.opts.Store.ListUsers(ctx, q)
			if err != nil {
				return nil, 0, fmt.Errorf("scim: list users: %w", err)
			}
			return users, total, nil
		},
		func(usr store.User) (map[string]any, error) {
			return u.filterView(ctx, usr, needSync, needGroups)
		})
	if err != nil {
		return elscim.Page{}, err
	}
	res := make([]elscim.Resource, 0, len(users))
	for _, usr := range users {
		rsc, err := u.resource(r, usr, proj)
		if err != nil {
			return elscim.Page{}, err
		}
		res = append(res, rsc)
	}
	return elscim.Page{TotalResults: total, Resources: res}, nil
}

// userNameOwner returns the user holding userName when another source
// owns it.
func (h *handler) userNameOwner(ctx context.Context, userName string) (store.User, bool) {
	users, _, err := h.opts.Store.ListUsers(ctx, store.Query{Field: "userName", Value: userName, Limit: 1})
	if err != nil || len(users) == 0 || scimOwned(users[0].Source) {
		return store.User{}, false
	}
	return users[0], true
}

// filterView is the representation filters are evaluated against.
func (u *userHandler) filterView(ctx context.Context, usr store.User, withSync, withGroups bool) (map[string]any, error) {
	view := make(map[string]any, len(usr.Doc)+4)
	for k, v := range usr.Doc {
		view[k] = v
	}
	view["id"] = usr.ID
	if _, _, ok := getKey(view, "active"); !ok {
		view["active"] = usr.Active
	}
	view["meta"] = metaView("User", usr.Created, usr.Modified, usr.Version)
	if withSync {
		ext, err := u.syncExtension(ctx, usr.ID)
		if err != nil {
			return nil, err
		}
		view[URNBridge] = ext
	}
	if withGroups {
		g, err := u.groupsOf(ctx, usr.ID, "")
		if err != nil {
			return nil, err
		}
		view["groups"] = g
	}
	return view, nil
}

// groupsOf returns the groups attribute of user id; with a base URL, each
// group carries its $ref.
func (u *userHandler) groupsOf(ctx context.Context, id, base string) ([]any, error) {
	refs, err := u.h.opts.Store.GroupsOfUser(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("scim: groups of user %s: %w", id, err)
	}
	out := make([]any, 0, len(refs))
	for _, g := range refs {
		el := map[string]any{"value": g.ID, "display": g.DisplayName, "type": "direct"}
		if base != "" {
			el["$ref"] = base + "/Groups/" + url.PathEscape(g.ID)
		}
		out = append(out, el)
	}
	return out, nil
}

func (u *userHandler) syncExtension(ctx context.Context, id string) (map[string]any, error) {
	ext := map[string]any{"syncState": store.StatePending}
	info, err := u.h.opts.Store.GetSync(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ext, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scim: sync state of user %s: %w", id, err)
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
	return ext, nil
}

// resource renders a stored user for the library, answering r.
func (u *userHandler) resource(r *http.Request, usr store.User, proj projection) (elscim.Resource, error) {
	ctx := r.Context()
	attrs := copyDoc(usr.Doc)
	if _, _, ok := getKey(attrs, "active"); !ok {
		attrs["active"] = usr.Active
	}
	if proj.wants("groups") {
		g, err := u.groupsOf(ctx, usr.ID, u.h.baseURL(r))
		if err != nil {
			return elscim.Resource{}, err
		}
		if len(g) > 0 {
			attrs["groups"] = g
		}
	}
	if proj.wants(URNBridge) {
		ext, err := u.syncExtension(ctx, usr.ID)
		if err != nil {
			return elscim.Resource{}, err
		}
		attrs[URNBridge] = ext
	}
	return libResource(usr.ID, attrs, proj, "userName", usr.UserName, usr.Created, usr.Modified, usr.Version), nil
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
