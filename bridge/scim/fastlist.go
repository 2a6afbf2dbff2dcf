package scim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	elscim "github.com/elimity-com/scim"
	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// The user look-ups identity providers make before every push — GET
// /Users?filter=userName eq "…" (Okta, Entra), externalId or emails.value
// eq — and plain pages of users are answered here rather than by the
// library: its filter parser costs more than the rest of such a request
// together, and its response is built from maps copied twice and encoded
// by reflection. The store answers the look-up and the page with one query
// (store.ViewFinder) and each user's stored document is written out as it
// is stored, with id, meta, schemas, groups and the bridge extension added,
// in encoding/json's key order: the response is the library's, byte for
// byte, except that numbers keep the form they were sent in. Anything
// else — other filters, attributes or excludedAttributes, a malformed
// count — goes to the library as before.

// eqAttributes are the attributes a fast look-up compares, by their lower
// case name, with the store's field.
var eqAttributes = map[string]string{
	"id":           "id",
	"username":     "userName",
	"externalid":   "externalId",
	"emails":       "emails",
	"emails.value": "emails",
}

// parseEq reads a filter of the form `attr eq "value"` on one of
// eqAttributes (optionally prefixed with the core User schema URN), with
// single spaces and a string holding no escape: the form identity
// providers send. Anything else is not read here.
func parseEq(raw string) (field, value string, ok bool) {
	attr, rest, ok := strings.Cut(raw, " ")
	if !ok {
		return "", "", false
	}
	op, lit, ok := strings.Cut(rest, " ")
	if !ok || !strings.EqualFold(op, "eq") || len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", "", false
	}
	value = lit[1 : len(lit)-1]
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == '"' || c == '\\' || c < 0x20 {
			return "", "", false
		}
	}
	// The schema URN is matched as the library matches it, exactly; the
	// attribute name after it in any case.
	if len(attr) > len(URNUser)+1 && strings.HasPrefix(attr, URNUser+":") {
		attr = attr[len(URNUser)+1:]
	}
	if field, ok = eqAttributes[strings.ToLower(attr)]; !ok {
		return "", "", false
	}
	return field, value, true
}

// listParams reads count and startIndex as the library does: count at most
// maxResults (its default) and at least 0, startIndex at least 1. ok is
// false when one is not an integer: the library answers that.
func listParams(q url.Values, maxResults int) (count, startIndex int, ok bool) {
	count, startIndex = maxResults, 1
	if s := q.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, 0, false
		}
		count = min(max(n, 0), maxResults)
	}
	if s := q.Get("startIndex"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, 0, false
		}
		startIndex = max(n, 1)
	}
	return count, startIndex, true
}

// serveUserList answers GET /Users when it is a look-up or page the store
// answers alone, and reports whether it did; q is r's query.
func (h *handler) serveUserList(w http.ResponseWriter, r *http.Request, q url.Values) bool {
	vf, ok := h.opts.Store.(store.ViewFinder)
	if !ok {
		return false
	}
	if q.Get("attributes") != "" || q.Get("excludedAttributes") != "" {
		return false
	}
	count, startIndex, ok := listParams(q, h.opts.MaxResults)
	if !ok {
		return false
	}
	var sel store.UserFilter
	if raw := strings.TrimSpace(q.Get("filter")); raw != "" {
		if sel.Field, sel.Value, ok = parseEq(raw); !ok {
			return false
		}
	}
	sel.Offset, sel.Limit = startIndex-1, max(count, 1) // count 0: only the total is wanted
	hold := &pageHold{}
	defer h.releasePage(hold)
	ctx := r.Context()
	views, total, err := vf.FindUserViews(ctx, sel)
	if err != nil {
		h.log.Error("list users", zap.Error(err))
		writeError(w, errInternal("list users"))
		return true
	}
	if count == 0 {
		views = nil
	}
	size := 0
	for _, v := range views {
		size += len(v.Doc)
	}
	if err := h.holdPageFor(ctx, hold, int64(size)); err != nil {
		writeError(w, errInternal("wait to build a page"))
		return true
	}
	set := h.schemasOf(r)
	base := h.baseURL(r)
	loc := newLocator("/Users", base)
	buf := make([]byte, 0, 256+2*size+512*len(views))
	buf = append(buf, `{"Resources":[`...)
	for i, v := range views {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = h.users.appendView(buf, v, set, base, loc); err != nil {
			h.log.Error("render user", zap.String("id", v.ID), zap.Error(err))
			writeError(w, errInternal("render users"))
			return true
		}
	}
	buf = append(buf, `],"itemsPerPage":`...)
	buf = appendInt(buf, len(views))
	buf = append(buf, `,"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"startIndex":`...)
	buf = appendInt(buf, startIndex)
	buf = append(buf, `,"totalResults":`...)
	buf = appendInt(buf, total)
	buf = append(buf, '}')
	w.Header().Set("Content-Type", "application/scim+json")
	_, _ = w.Write(buf)
	return true
}

// serveUser answers GET /Users/{id} from the same one query, and reports
// whether it did: the library reads the user, its link and its groups in
// three and builds the response from maps. A request with attributes or
// excludedAttributes, and an id the store does not know (404), go to the
// library. The ETag header and a conditional GET's 304 are as the
// library's path answers them (serveLibrary). q is r's query.
func (h *handler) serveUser(w http.ResponseWriter, r *http.Request, id string, q url.Values) bool {
	vf, ok := h.opts.Store.(store.ViewFinder)
	// The library unescapes the id once more: one holding % is its.
	if !ok || id == "" || strings.Contains(id, "%") {
		return false
	}
	if q.Get("attributes") != "" || q.Get("excludedAttributes") != "" {
		return false
	}
	views, _, err := vf.FindUserViews(r.Context(), store.UserFilter{Query: store.Query{Field: "id", Value: id, Limit: 1}})
	if err != nil {
		h.log.Error("get user", zap.Error(err))
		writeError(w, errInternal("get user"))
		return true
	}
	if len(views) != 1 || views[0].ID != id {
		return false
	}
	v := views[0]
	base := h.baseURL(r)
	buf, err := h.users.appendView(make([]byte, 0, 512+2*len(v.Doc)), v, h.schemasOf(r), base, newLocator("/Users", base))
	if err != nil {
		h.log.Error("render user", zap.String("id", v.ID), zap.Error(err))
		writeError(w, errInternal("render user"))
		return true
	}
	tag := etag(v.Version)
	w.Header().Set("Etag", tag)
	// RFC 7644 §3.14, RFC 9110 §13.1.2: a GET whose If-None-Match names
	// the current version is 304 without a body.
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagListed(inm, tag) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	w.Header().Set("Content-Type", "application/scim+json")
	_, _ = w.Write(buf)
	return true
}

// appendView appends the user of v as the library shows it in a list with
// the default attributes.
func (u *userHandler) appendView(dst []byte, v store.UserView, set *schemaSet, base string, loc locator) ([]byte, error) {
	ms, plain, err := viewMembers(v)
	if err != nil {
		return dst, err
	}
	if !plain {
		// A document the bridge did not write itself (a key in another
		// case than it writes, an empty externalId): shown as the
		// library shows it.
		return u.appendDecoded(dst, v, set, base)
	}
	if len(v.Groups) > 0 {
		ms = append(ms, member{key: "groups", val: appendGroupRefs(nil, v.Groups, base)})
	}
	ms = append(ms,
		member{key: "id", val: appendJSONString(nil, v.ID)},
		member{key: "meta", val: appendMeta(nil, "User", loc.of(v.ID), v.Created, v.Modified, v.Version)},
		member{key: "schemas", val: set.userSchemasJSON},
		member{key: URNBridge, val: appendSyncExtension(nil, v.Sync, v.HasSync)},
	)
	return appendObject(dst, ms), nil
}

// viewMembers returns the members of v's document, with active added when
// the document has none. plain is false when the document holds a key
// the library would rename or drop (externalId in another case or empty,
// or a key the bridge never stores).
func viewMembers(v store.UserView) (ms []member, plain bool, err error) {
	ms, err = topLevel(v.Doc, make([]member, 0, 16))
	if err != nil {
		return nil, false, err
	}
	active := false
	for _, m := range ms {
		switch {
		case strings.EqualFold(m.key, "active"):
			active = true
		case strings.EqualFold(m.key, "externalId"):
			if m.key != "externalId" || len(m.val) < 3 || m.val[0] != '"' {
				return nil, false, nil
			}
		case strings.EqualFold(m.key, "id"), strings.EqualFold(m.key, "meta"), strings.EqualFold(m.key, "schemas"),
			strings.EqualFold(m.key, "groups"), strings.EqualFold(m.key, URNBridge):
			return nil, false, nil
		}
	}
	if !active {
		ms = append(ms, member{key: "active", val: strconv.AppendBool(nil, v.Active)})
	}
	return ms, true, nil
}

// appendDecoded appends v as the library writes it, from its decoded
// document.
func (u *userHandler) appendDecoded(dst []byte, v store.UserView, set *schemaSet, base string) ([]byte, error) {
	usr, ex, err := viewUsers([]store.UserView{v})
	if err != nil {
		return dst, err
	}
	res := u.render(usr[0], usr[0].Doc, projection{}, ex, base)
	raw, err := json.Marshal(libResponse(res, set.resourceTypes[0], base))
	if err != nil {
		return dst, err
	}
	return append(dst, raw...), nil
}

// viewUsers decodes the documents of views, and returns their links and
// groups as extras.
func viewUsers(views []store.UserView) ([]store.User, userExtras, error) {
	users := make([]store.User, len(views))
	ex := userExtras{sync: make(map[string]store.SyncInfo, len(views)), groups: make(map[string][]store.GroupRef, len(views))}
	for i, v := range views {
		users[i] = store.User{ID: v.ID, UserName: v.UserName, Active: v.Active, Source: v.Source, Version: v.Version,
			Created: v.Created, Modified: v.Modified}
		if err := json.Unmarshal(v.Doc, &users[i].Doc); err != nil {
			return nil, ex, err
		}
		if v.HasSync {
			ex.sync[v.ID] = v.Sync
		}
		if len(v.Groups) > 0 {
			ex.groups[v.ID] = v.Groups
		}
	}
	return users, ex, nil
}

// libMeta is the library's meta attribute, with its fields in the same
// order.
type libMeta struct {
	ResourceType string `json:"resourceType"`
	Created      string `json:"created,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Location     string `json:"location"`
	Version      string `json:"version,omitempty"`
}

// libResponse is what the library encodes for res of type rt.
func libResponse(res elscim.Resource, rt elscim.ResourceType, base string) map[string]any {
	out := make(map[string]any, len(res.Attributes)+4)
	for k, v := range res.Attributes {
		out[k] = v
	}
	out["id"] = res.ID
	if res.ExternalID.Present() {
		out["externalId"] = res.ExternalID.Value()
	}
	schemas := []string{rt.Schema.ID}
	for _, e := range rt.SchemaExtensions {
		schemas = append(schemas, e.Schema.ID)
	}
	out["schemas"] = schemas
	m := libMeta{ResourceType: rt.Name, Location: resourceLocation(rt.Endpoint, res.ID, base), Version: res.Meta.Version}
	if res.Meta.Created != nil {
		m.Created = res.Meta.Created.Format(time.RFC3339)
	}
	if res.Meta.LastModified != nil {
		m.LastModified = res.Meta.LastModified.Format(time.RFC3339)
	}
	out["meta"] = m
	return out
}

// resourceLocation is the library's meta.location of resource id at
// endpoint ("/Users"), base the SCIM base URL.
func resourceLocation(endpoint, id, base string) string {
	rel := endpoint[1:] + "/" + url.PathEscape(id)
	if base == "" {
		return rel
	}
	u, err := url.Parse(base)
	if err != nil {
		return rel
	}
	u.Path = u.Path + "/" + rel
	return u.String()
}

// locator computes meta.location as resourceLocation does, for the
// resources of one endpoint and base URL: ids made of unreserved
// characters (UUIDs) are appended to a prefix computed once.
type locator struct {
	endpoint, base, prefix string
}

func newLocator(endpoint, base string) locator {
	return locator{endpoint: endpoint, base: base, prefix: resourceLocation(endpoint, "", base)}
}

func (l locator) of(id string) string {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return resourceLocation(l.endpoint, id, l.base)
		}
	}
	if id == "" || id == "." || id == ".." {
		return resourceLocation(l.endpoint, id, l.base)
	}
	return l.prefix + id
}

// appendMeta appends the library's meta of a resource at location.
func appendMeta(dst []byte, resourceType, location string, created, modified time.Time, version int64) []byte {
	dst = append(dst, `{"resourceType":`...)
	dst = appendJSONString(dst, resourceType)
	dst = append(dst, `,"created":"`...)
	dst = created.UTC().AppendFormat(dst, time.RFC3339)
	dst = append(dst, `","lastModified":"`...)
	dst = modified.UTC().AppendFormat(dst, time.RFC3339)
	dst = append(dst, `","location":`...)
	dst = appendJSONString(dst, location)
	dst = append(dst, `,"version":`...)
	dst = appendJSONString(dst, etag(version))
	return append(dst, '}')
}

// appendGroupRefs appends a user's groups attribute (groupsAttr), each
// element's keys in encoding/json's order.
func appendGroupRefs(dst []byte, refs []store.GroupRef, base string) []byte {
	dst = append(dst, '[')
	for i, g := range refs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"$ref":`...)
		dst = appendJSONString(dst, base+"/Groups/"+url.PathEscape(g.ID))
		dst = append(dst, `,"display":`...)
		dst = appendJSONString(dst, g.DisplayName)
		dst = append(dst, `,"type":"direct","value":`...)
		dst = appendJSONString(dst, g.ID)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendSyncExtension appends syncExtension(info, found).
func appendSyncExtension(dst []byte, info store.SyncInfo, found bool) []byte {
	state := store.StatePending
	if found && info.State != "" {
		state = info.State
	}
	dst = append(dst, '{')
	if found && info.GSID != "" {
		dst = append(dst, `"gsid":`...)
		dst = appendJSONString(dst, info.GSID)
		dst = append(dst, ',')
	}
	if found && info.LastError != "" {
		dst = append(dst, `"lastError":`...)
		dst = appendJSONString(dst, info.LastError)
		dst = append(dst, ',')
	}
	if found && info.State == store.StateSynced && !info.Updated.IsZero() {
		dst = append(dst, `"lastSyncedAt":"`...)
		dst = info.Updated.UTC().AppendFormat(dst, time.RFC3339)
		dst = append(dst, `",`...)
	}
	dst = append(dst, `"syncState":`...)
	dst = appendJSONString(dst, state)
	return append(dst, '}')
}

// holdPageFor is holdPage for a request whose hold is hold.
func (h *handler) holdPageFor(ctx context.Context, hold *pageHold, size int64) error {
	if size < smallPage {
		return nil
	}
	w := min(size, pageBudget-hold.held)
	if w <= 0 {
		return nil
	}
	if err := h.pages.Acquire(ctx, w); err != nil {
		return err
	}
	hold.held += w
	return nil
}
