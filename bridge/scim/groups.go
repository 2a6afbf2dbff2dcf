package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	elscim "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/scim2/filter-parser/v2"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// groupHandler serves /Groups for the library.
type groupHandler struct{ h *handler }

var _ elscim.ResourceHandler = (*groupHandler)(nil)

// memberIDs extracts the member ids of a members value, deduplicated, in
// order.
func memberIDs(v any) []string {
	list, ok := v.([]any)
	if !ok && v != nil {
		list = []any{v}
	}
	seen := map[string]bool{}
	var out []string
	for _, el := range list {
		id, ok := elementValue(el)
		if !ok {
			if s, isStr := el.(string); isStr {
				id, ok = s, true
			}
		}
		if ok && id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// groupFromDoc derives a store.Group from a group document (members
// included); the returned Doc has no members.
func groupFromDoc(doc map[string]any) (store.Group, error) {
	_, dn, _ := getKey(doc, "displayName")
	name, ok := dn.(string)
	if !ok || strings.TrimSpace(name) == "" {
		return store.Group{}, errInvalidValue("displayName is required and must be a non-empty string.")
	}
	g := store.Group{DisplayName: name, ExternalID: stringAt(doc, "externalId")}
	if k, v, ok := getKey(doc, "members"); ok {
		g.Members = memberIDs(v)
		delete(doc, k)
	}
	if g.Members == nil {
		g.Members = []string{}
	}
	g.Doc = doc
	return g, nil
}

// groupDoc is the document PATCH operations apply to.
func groupDoc(g store.Group) map[string]any {
	doc := copyDoc(g.Doc)
	doc["displayName"] = g.DisplayName
	if g.ExternalID != "" {
		doc["externalId"] = g.ExternalID
	} else if k, _, ok := getKey(doc, "externalId"); ok {
		delete(doc, k)
	}
	if len(g.Members) > 0 {
		members := make([]any, 0, len(g.Members))
		for _, id := range g.Members {
			members = append(members, map[string]any{"value": id})
		}
		doc["members"] = members
	}
	return doc
}

// checkMembers answers 400 naming every id that is not a stored user.
func (h *handler) checkMembers(ctx context.Context, ids []string) error {
	var unknown []string
	for _, id := range ids {
		if _, err := h.opts.Store.GetUser(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				unknown = append(unknown, id)
				continue
			}
			return fmt.Errorf("scim: look up member %s: %w", id, err)
		}
	}
	if len(unknown) > 0 {
		return errInvalidValue("Unknown member ids: %s.", strings.Join(unknown, ", "))
	}
	return nil
}

// groupCheck checks every affected user's future groups with the current
// Validator and records how many users the change affects.
func (h *handler) groupCheck(fanout *int) store.GroupCheck {
	v := h.opts.Validator
	return func(_ store.Group, affected map[string][]store.GroupRef) error {
		*fanout = len(affected)
		ids := make([]string, 0, len(affected))
		for id := range affected {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if err := v.CheckGroups(affected[id]); err != nil {
				return &conflictError{userID: id, err: err}
			}
		}
		return nil
	}
}

// groupWriteError maps errors of group writes, naming the user of a
// resolution conflict.
func (h *handler) groupWriteError(ctx context.Context, err error, id string) error {
	var ce *conflictError
	if errors.As(err, &ce) {
		h.metrics.conflicts.Inc()
		who := ce.userID
		if u, gerr := h.opts.Store.GetUser(ctx, ce.userID); gerr == nil {
			who = fmt.Sprintf("%s (%s)", u.UserName, u.ID)
		}
		return errInvalidValue("Group change rejected: user %s would have conflicting group attributes: %v", who, ce.err)
	}
	return storeError(err, "Group", id)
}

func (g *groupHandler) Create(r *http.Request, attrs elscim.ResourceAttributes) (elscim.Resource, error) {
	ctx := r.Context()
	doc := cleanDoc(copyDoc(attrs))
	grp, err := groupFromDoc(doc)
	if err != nil {
		return elscim.Resource{}, err
	}
	if err := g.h.checkMembers(ctx, grp.Members); err != nil {
		return elscim.Resource{}, err
	}
	grp.ID = g.h.opts.NewID()
	grp.Source = store.SourceSCIM
	var fanout int
	created, err := g.h.opts.Store.CreateGroup(ctx, grp, g.h.groupCheck(&fanout))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return elscim.Resource{}, errInvalidValue("Unknown member ids: %v", err)
		}
		if errors.Is(err, store.ErrConflict) {
			if owner, ok := g.h.displayNameOwner(ctx, grp.DisplayName); ok {
				return elscim.Resource{}, errNameOwnedBy("Group", "displayName", grp.DisplayName, owner.ID, owner.Source)
			}
		}
		return elscim.Resource{}, g.h.groupWriteError(ctx, err, grp.ID)
	}
	g.h.metrics.fanout.Observe(float64(fanout))
	g.h.opts.Notify()
	return g.resource(created, projection{}), nil
}

func (g *groupHandler) Get(r *http.Request, id string) (elscim.Resource, error) {
	grp, err := g.h.opts.Store.GetGroup(r.Context(), id)
	if err != nil {
		return elscim.Resource{}, storeError(err, "Group", id)
	}
	return g.resource(grp, projectionFrom(r)), nil
}

func (g *groupHandler) Replace(r *http.Request, id string, attrs elscim.ResourceAttributes) (elscim.Resource, error) {
	ctx := r.Context()
	doc := cleanDoc(copyDoc(attrs))
	next, err := groupFromDoc(doc)
	if err != nil {
		return elscim.Resource{}, err
	}
	if err := g.h.checkMembers(ctx, next.Members); err != nil {
		return elscim.Resource{}, err
	}
	match := r.Header.Get("If-Match")
	var fanout int
	updated, err := g.h.opts.Store.UpdateGroup(ctx, id, func(old store.Group) (store.Group, error) {
		if !scimOwned(old.Source) {
			return store.Group{}, errOwnedBy("Group", old.ID, old.Source)
		}
		if !ifMatch(match, old.Version) {
			return store.Group{}, errPrecondition
		}
		n := next
		n.Doc = copyDoc(next.Doc)
		n.Members = append([]string(nil), next.Members...)
		n.ID, n.Source, n.Version, n.Created, n.Modified = old.ID, old.Source, old.Version, old.Created, old.Modified
		return n, nil
	}, g.h.groupCheck(&fanout))
	if err != nil {
		return elscim.Resource{}, g.h.groupWriteError(ctx, err, id)
	}
	g.h.metrics.fanout.Observe(float64(fanout))
	g.h.opts.Notify()
	return g.resource(updated, projection{}), nil
}

// addedMemberIDs lists the member ids add and replace operations name, so
// they can be checked before the transaction.
func addedMemberIDs(ops []elscim.PatchOperation) []string {
	var ids []string
	for _, op := range ops {
		if strings.EqualFold(op.Op, "remove") {
			continue
		}
		if op.Path == nil {
			if vm, ok := op.Value.(map[string]any); ok {
				if _, v, ok := getKey(vm, "members"); ok {
					ids = append(ids, memberIDs(v)...)
				}
			}
			continue
		}
		if !strings.EqualFold(op.Path.AttributePath.AttributeName, "members") {
			continue
		}
		if op.Path.ValueExpression != nil {
			if id, ok := elementFromFilter(op.Path.ValueExpression)["value"].(string); ok {
				ids = append(ids, id)
			}
			if op.Path.SubAttributeName() != "" {
				continue
			}
		}
		ids = append(ids, memberIDs(op.Value)...)
	}
	return ids
}

func (g *groupHandler) Patch(r *http.Request, id string, ops []elscim.PatchOperation) (elscim.Resource, error) {
	ctx := r.Context()
	if err := g.h.checkMembers(ctx, dedupe(addedMemberIDs(ops))); err != nil {
		return elscim.Resource{}, err
	}
	match := r.Header.Get("If-Match")
	var fanout int
	updated, err := g.h.opts.Store.UpdateGroup(ctx, id, func(old store.Group) (store.Group, error) {
		if !scimOwned(old.Source) {
			return store.Group{}, errOwnedBy("Group", old.ID, old.Source)
		}
		if !ifMatch(match, old.Version) {
			return store.Group{}, errPrecondition
		}
		doc := groupDoc(old)
		if err := g.h.groupSchema.applyPatch(doc, ops); err != nil {
			return store.Group{}, err
		}
		n, err := groupFromDoc(cleanDoc(doc))
		if err != nil {
			return store.Group{}, err
		}
		n.ID, n.Source, n.Version, n.Created, n.Modified = old.ID, old.Source, old.Version, old.Created, old.Modified
		return n, nil
	}, g.h.groupCheck(&fanout))
	if err != nil {
		return elscim.Resource{}, g.h.groupWriteError(ctx, err, id)
	}
	g.h.metrics.fanout.Observe(float64(fanout))
	g.h.opts.Notify()
	return g.resource(updated, projectionFrom(r)), nil
}

// displayNameOwner returns the group holding displayName when another
// source owns it.
func (h *handler) displayNameOwner(ctx context.Context, displayName string) (store.Group, bool) {
	groups, _, err := h.opts.Store.ListGroups(ctx, store.Query{Field: "displayName", Value: displayName, Limit: 1}, false)
	if err != nil || len(groups) == 0 || scimOwned(groups[0].Source) {
		return store.Group{}, false
	}
	return groups[0], true
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (g *groupHandler) Delete(r *http.Request, id string) error {
	ctx := r.Context()
	cur, err := g.h.opts.Store.GetGroup(ctx, id)
	if err != nil {
		return storeError(err, "Group", id)
	}
	if !scimOwned(cur.Source) {
		return errOwnedBy("Group", id, cur.Source)
	}
	if !ifMatch(r.Header.Get("If-Match"), cur.Version) {
		return errPrecondition
	}
	var fanout int
	if err := g.h.opts.Store.DeleteGroup(ctx, id, g.h.groupCheck(&fanout)); err != nil {
		return g.h.groupWriteError(ctx, err, id)
	}
	g.h.metrics.fanout.Observe(float64(fanout))
	g.h.opts.Notify()
	return nil
}

func (g *groupHandler) GetAll(r *http.Request, params elscim.ListRequestParams) (elscim.Page, error) {
	ctx := r.Context()
	proj := projectionFrom(r)
	var expr filter.Expression
	if params.FilterValidator != nil {
		expr = params.FilterValidator.GetFilter()
	}
	offset, count := params.StartIndex-1, params.Count
	q := store.Query{}
	inMemory := expr != nil
	if expr != nil {
		if f, v, exact, ok := indexedEq(expr, groupIndex); ok {
			q.Field, q.Value = f, v
			inMemory = !exact
		}
	}
	raw := strings.ToLower(r.URL.Query().Get("filter"))
	withMembers := proj.wants("members") || (inMemory && strings.Contains(raw, "members"))
	var (
		groups []store.Group
		total  int
	)
	if inMemory {
		all, _, err := g.h.opts.Store.ListGroups(ctx, q, withMembers)
		if err != nil {
			return elscim.Page{}, fmt.Errorf("scim: list groups: %w", err)
		}
		var matched []store.Group
		for _, grp := range all {
			view := groupDoc(grp)
			view["id"] = grp.ID
			view["meta"] = map[string]any{
				"resourceType": "Group",
				"created":      grp.Created.UTC().Format(time.RFC3339Nano),
				"lastModified": grp.Modified.UTC().Format(time.RFC3339Nano),
				"version":      etag(grp.Version),
			}
			if evalFilter(expr, view) {
				matched = append(matched, grp)
			}
		}
		total = len(matched)
		groups = page(matched, offset, count)
	} else {
		q.Offset, q.Limit = offset, count
		if count == 0 {
			q.Limit = 1
		}
		var err error
		groups, total, err = g.h.opts.Store.ListGroups(ctx, q, withMembers)
		if err != nil {
			return elscim.Page{}, fmt.Errorf("scim: list groups: %w", err)
		}
		if count == 0 {
			groups = nil
		}
	}
	res := make([]elscim.Resource, 0, len(groups))
	for _, grp := range groups {
		res = append(res, g.resource(grp, proj))
	}
	return elscim.Page{TotalResults: total, Resources: res}, nil
}

// resource renders a stored group for the library.
func (g *groupHandler) resource(grp store.Group, proj projection) elscim.Resource {
	attrs := groupDoc(grp)
	var extID string
	if k, v, ok := getKey(attrs, "externalId"); ok {
		extID, _ = v.(string)
		delete(attrs, k)
	}
	if list, ok := attrs["members"].([]any); ok {
		for _, el := range list {
			el.(map[string]any)["type"] = "User"
		}
	}
	proj.apply(attrs)
	if len(attrs) == 0 {
		attrs["displayName"] = grp.DisplayName
	}
	created, modified := grp.Created.UTC(), grp.Modified.UTC()
	res := elscim.Resource{
		ID:         grp.ID,
		Attributes: attrs,
		Meta:       elscim.Meta{Created: &created, LastModified: &modified, Version: etag(grp.Version)},
	}
	if extID != "" && proj.wants("externalId") {
		res.ExternalID = optional.NewString(extID)
	}
	return res
}
