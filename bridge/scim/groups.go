package scim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"

	elscim "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/scim2/filter-parser/v2"
	"go.uber.org/zap"

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
	for _, err := range []error{checkIndexed("displayName", g.DisplayName), checkIndexed("externalId", g.ExternalID)} {
		if err != nil {
			return store.Group{}, err
		}
	}
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

// groupFrom is groupFromDoc, refusing a document over the limits
// (checkDocument; members are not part of it).
func (h *handler) groupFrom(doc map[string]any) (store.Group, error) {
	g, err := groupFromDoc(doc)
	if err != nil {
		return store.Group{}, err
	}
	if err := h.checkDocument("group", g.Doc); err != nil {
		return store.Group{}, err
	}
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

// describeMembers adds to the members of a group document (as groupDoc
// builds them) their display names and, with a base URL, their type and
// $ref.
func describeMembers(doc map[string]any, names map[string]string, base string) {
	list, _ := doc["members"].([]any)
	for _, el := range list {
		m := el.(map[string]any)
		id, _ := m["value"].(string)
		if name := names[id]; name != "" {
			m["display"] = name
		}
		if base != "" {
			m["type"] = "User"
			m["$ref"] = base + "/Users/" + url.PathEscape(id)
		}
	}
}

// unknownMembers returns those of ids that are not stored users. It runs
// only after the store refused a membership change with ErrNotFound: the
// store checks every added member in one query, so a successful change of a
// group of thousands costs no lookup per member.
func (h *handler) unknownMembers(ctx context.Context, ids []string) ([]string, error) {
	var unknown []string
	for _, id := range ids {
		if _, err := h.opts.Store.GetUser(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				unknown = append(unknown, id)
				continue
			}
			return nil, fmt.Errorf("scim: look up member %s: %w", id, err)
		}
	}
	return unknown, nil
}

// group loads a group, with its members only when withMembers is set, so
// answering a request that excludes members never reads them.
func (h *handler) group(ctx context.Context, id string, withMembers bool) (store.Group, error) {
	if withMembers {
		g, err := h.opts.Store.GetGroup(ctx, id)
		if err != nil {
			return store.Group{}, fmt.Errorf("scim: get group %s: %w", id, err)
		}
		return g, nil
	}
	groups, _, err := h.opts.Store.ListGroups(ctx, store.Query{Field: "id", Value: id, Limit: 1}, false)
	if err != nil {
		return store.Group{}, fmt.Errorf("scim: get group %s: %w", id, err)
	}
	if len(groups) == 0 {
		return store.Group{}, fmt.Errorf("scim: group %s: %w", id, store.ErrNotFound)
	}
	return groups[0], nil
}

// memberBytes is about what one member adds to a group's page: its id,
// display name, $ref and type.
const memberBytes = 200

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
// resolution conflict, and the unknown ones among candidates (the member
// ids the write adds) when the store found a member missing.
func (h *handler) groupWriteError(ctx context.Context, err error, id string, candidates []string) error {
	var ce *conflictError
	if errors.As(err, &ce) {
		h.metrics.conflicts.Inc()
		who := ce.userID
		if u, gerr := h.opts.Store.GetUser(ctx, ce.userID); gerr == nil {
			who = fmt.Sprintf("%s (%s)", u.UserName, u.ID)
		}
		return errInvalidValue("Group change rejected: user %s would have conflicting group attributes: %v", who, ce.err)
	}
	var se scimerrors.ScimError
	if !errors.As(err, &se) && errors.Is(err, store.ErrNotFound) && len(candidates) > 0 {
		unknown, lerr := h.unknownMembers(ctx, candidates)
		if lerr != nil {
			return lerr
		}
		if len(unknown) > 0 {
			return errInvalidValue("Unknown member ids: %s.", strings.Join(unknown, ", "))
		}
	}
	return storeError(err, "Group", id)
}

func (g *groupHandler) Create(r *http.Request, attrs elscim.ResourceAttributes) (elscim.Resource, error) {
	ctx := r.Context()
	doc := cleanDoc(copyDoc(attrs))
	grp, err := g.h.groupFrom(doc)
	if err != nil {
		return elscim.Resource{}, err
	}
	grp.ID = g.h.opts.NewID()
	grp.Source = store.SourceSCIM
	var fanout int
	created, err := g.h.opts.Store.CreateGroup(ctx, grp, g.h.groupCheck(&fanout))
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			if owner, ok := g.h.displayNameOwner(ctx, grp.DisplayName); ok {
				return elscim.Resource{}, errNameOwnedBy("Group", "displayName", grp.DisplayName, owner.ID, owner.Source)
			}
		}
		return elscim.Resource{}, g.h.groupWriteError(ctx, err, grp.ID, grp.Members)
	}
	g.h.metrics.fanout.Observe(float64(fanout))
	g.h.audit(r, store.MembershipAudit(created.DisplayName, nil, created.Members))
	g.h.opts.Notify()
	return g.resource(r, created, projectionFrom(r)), nil
}

func (g *groupHandler) Get(r *http.Request, id string) (elscim.Resource, error) {
	proj := projectionFrom(r)
	grp, err := g.h.group(r.Context(), id, proj.wants("members"))
	if err != nil {
		return elscim.Resource{}, storeError(err, "Group", id)
	}
	return g.resource(r, grp, proj), nil
}

func (g *groupHandler) Replace(r *http.Request, id string, attrs elscim.ResourceAttributes) (elscim.Resource, error) {
	doc := cleanDoc(copyDoc(attrs))
	next, err := g.h.groupFrom(doc)
	if err != nil {
		return elscim.Resource{}, keepStatus(r, err)
	}
	res, err := g.update(r, id, func(store.Group) (store.Group, error) {
		n := next
		n.Doc = copyDoc(next.Doc)
		n.Members = append([]string(nil), next.Members...)
		return n, nil
	})
	return res, keepStatus(r, err)
}

func (g *groupHandler) Patch(r *http.Request, id string, ops []elscim.PatchOperation) (elscim.Resource, error) {
	unescapePaths(ops)
	res, err := g.update(r, id, func(old store.Group) (store.Group, error) {
		doc := groupDoc(old)
		if err := g.h.schemasOf(r).group.applyPatch(doc, ops); err != nil {
			return store.Group{}, err
		}
		return g.h.groupFrom(cleanDoc(doc))
	})
	return res, keepStatus(r, err)
}

// update stores the group next computes from the stored one, inside the
// store's transaction (so concurrent membership changes never lose each
// other), after the ownership and If-Match checks, and answers with the
// result. The store checks added members exist in one query; only when it
// finds one missing are they looked up one by one, to name them.
func (g *groupHandler) update(r *http.Request, id string, next func(old store.Group) (store.Group, error)) (elscim.Resource, error) {
	ctx := r.Context()
	proj := projectionFrom(r)
	match := r.Header.Get("If-Match")
	var (
		fanout int
		added  []string
		before []string
	)
	updated, err := g.h.opts.Store.UpdateGroup(ctx, id, func(old store.Group) (store.Group, error) {
		if err := writable("Group", old.ID, old.Source, old.Version, match); err != nil {
			return store.Group{}, err
		}
		n, err := next(old)
		if err != nil {
			return store.Group{}, err
		}
		added, before = store.Without(n.Members, old.Members), old.Members
		if sameGroup(old, n) {
			return store.Group{}, unchangedGroup{old}
		}
		n.ID, n.Source, n.Version, n.Created, n.Modified = old.ID, old.Source, old.Version, old.Created, old.Modified
		return n, nil
	}, g.h.groupCheck(&fanout))
	var same unchangedGroup
	if errors.As(err, &same) {
		return g.resource(r, same.group, proj), nil
	}
	if err != nil {
		return elscim.Resource{}, g.h.groupWriteError(ctx, err, id, added)
	}
	g.h.metrics.fanout.Observe(float64(fanout))
	g.h.audit(r, store.MembershipAudit(updated.DisplayName, before, updated.Members))
	g.h.opts.Notify()
	return g.resource(r, updated, proj), nil
}

// unchangedGroup aborts a group update that changes nothing (JumpCloud
// repeats member adds; Okta re-sends the name with every push), so the
// version stays and no one is woken.
type unchangedGroup struct{ group store.Group }

func (unchangedGroup) Error() string { return "scim: group unchanged" }

// sameGroup reports whether next stores exactly what old holds.
func sameGroup(old, next store.Group) bool {
	if old.DisplayName != next.DisplayName || old.ExternalID != next.ExternalID || len(old.Members) != len(next.Members) {
		return false
	}
	if len(store.Without(next.Members, old.Members)) > 0 {
		return false
	}
	return sameDoc(old.Doc, next.Doc)
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

func (g *groupHandler) Delete(r *http.Request, id string) error {
	ctx := r.Context()
	// The members, for the audit trail of their removal.
	cur, err := g.h.group(ctx, id, true)
	if err != nil {
		return storeError(err, "Group", id)
	}
	if err := writable("Group", id, cur.Source, cur.Version, r.Header.Get("If-Match")); err != nil {
		return err
	}
	var fanout int
	if err := g.h.opts.Store.DeleteGroup(ctx, id, g.h.groupCheck(&fanout)); err != nil {
		return g.h.groupWriteError(ctx, err, id, nil)
	}
	g.h.metrics.fanout.Observe(float64(fanout))
	g.h.audit(r, store.MembershipAudit(cur.DisplayName, cur.Members, nil))
	g.h.opts.Notify()
	return nil
}

func (g *groupHandler) GetAll(r *http.Request, params elscim.ListRequestParams) (elscim.Page, error) {
	return notePage(r)(g.list(r, filterOf(r, params), params.StartIndex, params.Count))
}

// list answers one page of groups matching expr (nil for all), projected
// by the request's attributes and excludedAttributes.
func (g *groupHandler) list(r *http.Request, expr filter.Expression, startIndex, count int) (elscim.Page, error) {
	ctx := r.Context()
	proj := projectionFrom(r)
	withMembers := proj.wants("members")
	testMembers := mentions(expr, coreAttribute("members"))
	loc := newLocator("/Groups", g.h.baseURL(r))
	var sel store.GroupFilter
	exact := true
	if expr != nil {
		sel, exact = narrowGroups(expr)
	}
	chunk := candidateChunk
	if withMembers || testMembers {
		// A group's members may be thousands: fewer groups at once.
		chunk = candidateChunk / 10
	}
	find := func(members bool) func(offset, limit int) ([]store.Group, int, error) {
		return func(offset, limit int) ([]store.Group, int, error) {
			q := sel
			q.Offset, q.Limit = offset, limit
			groups, total, err := g.h.opts.Store.FindGroups(ctx, q, members)
			if err != nil {
				return nil, 0, fmt.Errorf("scim: list groups: %w", err)
			}
			return groups, total, nil
		}
	}
	l := lister[store.Group]{
		kind:  "groups",
		chunk: chunk,
		find:  find(withMembers),
		views: func(items []store.Group) ([]map[string]any, error) {
			views := make([]map[string]any, len(items))
			for i, grp := range items {
				view := groupDoc(grp)
				describeMembers(view, grp.MemberNames, loc.base)
				view["id"] = grp.ID
				view["meta"] = metaView("Group", loc.of(grp.ID), grp.Created, grp.Modified, grp.Version)
				views[i] = view
			}
			return views, nil
		},
	}
	if !exact && expr != nil {
		// Candidates are read with their members when the filter tests
		// them or the page shows them.
		l.find = find(withMembers || testMembers)
	}
	groups, total, err := listMatching(expr, exact, startIndex, count, g.h.opts.Limits.MaxFilterCandidates, l)
	if err != nil {
		return elscim.Page{}, err
	}
	var size int64
	for _, grp := range groups {
		n, _, _ := measure(grp.Doc, "", math.MaxInt)
		size += int64(n) + memberBytes*int64(len(grp.Members))
	}
	if err := g.h.holdPage(r, size); err != nil {
		return elscim.Page{}, err
	}
	res := make([]elscim.Resource, 0, len(groups))
	for _, grp := range groups {
		res = append(res, g.resource(r, grp, proj))
	}
	return elscim.Page{TotalResults: total, Resources: res}, nil
}

// resource renders a stored group for the library, answering r. Members
// carry what /Schemas says is returned (RFC 7643 §4.2): value, $ref (the
// member's URL), type and display (the member's displayName, else its
// userName). Reads get the names with the members; a write's result does
// not carry them and is completed by one read of the group.
func (g *groupHandler) resource(r *http.Request, grp store.Group, proj projection) elscim.Resource {
	wantMembers := proj.wants("members")
	if wantMembers && len(grp.Members) > 0 && grp.MemberNames == nil {
		if fresh, err := g.h.opts.Store.GetGroup(r.Context(), grp.ID); err == nil {
			grp.MemberNames = fresh.MemberNames
		} else {
			g.h.log.Warn("read member names", zap.String("group", grp.ID), zap.Error(err))
		}
	}
	if wantMembers && proj.isDefault() && len(grp.Members) > 0 {
		// Nothing of the members is projected away: they are written
		// out directly, not built as thousands of maps and encoded by
		// reflection.
		members := grp.Members
		grp.Members = nil
		attrs := groupDoc(grp)
		attrs["members"] = memberEntries(members, grp.MemberNames, g.h.baseURL(r))
		return libResource(grp.ID, attrs, proj, "displayName", grp.DisplayName, grp.Created, grp.Modified, grp.Version)
	}
	attrs := groupDoc(grp)
	if wantMembers {
		describeMembers(attrs, grp.MemberNames, g.h.baseURL(r))
	}
	return libResource(grp.ID, attrs, proj, "displayName", grp.DisplayName, grp.Created, grp.Modified, grp.Version)
}

// memberEntry is one member of a group as describeMembers builds it, its
// fields in the order encoding/json writes a map's keys. A slice of them
// is encoded by encoding/json straight into its output: a custom
// MarshalJSON's result would be scanned and copied again (encoding/json
// compacts what a Marshaler returns), which costs more than writing it.
type memberEntry struct {
	Ref     string `json:"$ref,omitempty"`
	Display string `json:"display,omitempty"`
	Type    string `json:"type,omitempty"`
	Value   string `json:"value"`
}

// memberEntries is a group's members attribute as describeMembers builds
// it, for the members ids with their names, base the SCIM base URL.
func memberEntries(ids []string, names map[string]string, base string) []memberEntry {
	out := make([]memberEntry, len(ids))
	for i, id := range ids {
		e := memberEntry{Display: names[id], Value: id}
		if base != "" {
			e.Ref, e.Type = base+"/Users/"+url.PathEscape(id), "User"
		}
		out[i] = e
	}
	return out
}
