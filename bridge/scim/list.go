package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	elscim "github.com/elimity-com/scim"
	libfilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// lister is what listMatching needs of one resource type.
type lister[T any] struct {
	// find returns the page (offset, limit) of the resources the store
	// selects and how many it selects in all.
	find func(offset, limit int) ([]T, int, error)
	// views returns, for each of items, the representation filters are
	// tested against.
	views func(items []T) ([]map[string]any, error)
	// chunk is how many candidates are read and tested at once.
	chunk int
	// kind names the resources in messages ("users").
	kind string
}

// listMatching answers one page of a list request (RFC 7644 §3.4.2): the
// count resources from startIndex (1-based) on that match expr (nil for
// all), and how many match. When exact, the store selects exactly the
// matches and pages them itself. Otherwise the resources it selects are
// candidates, read chunk by chunk and tested against expr, so memory holds
// one chunk and one page whatever their number; more than maxCandidates
// are refused (400 tooMany, RFC 7644 §3.4.2) before any is tested.
// Candidates are paged by offset like any list, so resources created or
// deleted meanwhile may shift what a later chunk holds.
func listMatching[T any](expr filter.Expression, exact bool, startIndex, count, maxCandidates int, l lister[T]) ([]T, int, error) {
	offset := max(startIndex-1, 0)
	count = max(count, 0)
	if expr == nil || exact {
		limit := count
		if count == 0 {
			limit = 1 // only totalResults is wanted
		}
		items, total, err := l.find(offset, limit)
		if err != nil {
			return nil, 0, err
		}
		if count == 0 {
			items = nil
		}
		return items, total, nil
	}
	var (
		out     []T
		matched int
	)
	for from := 0; ; from += l.chunk {
		items, total, err := l.find(from, l.chunk)
		if err != nil {
			return nil, 0, err
		}
		if from == 0 && total > maxCandidates {
			return nil, 0, errTooMany("The filter would have %d %s tested one by one; at most %d are (scim.limits.maxFilterCandidates). "+
				"Narrow it with an \"eq\" the store answers itself: %s.", total, l.kind, maxCandidates, indexedAttrs[l.kind])
		}
		views, err := l.views(items)
		if err != nil {
			return nil, 0, err
		}
		for i, it := range items {
			if !evalFilter(expr, views[i]) {
				continue
			}
			if matched >= offset && len(out) < count {
				out = append(out, it)
			}
			matched++
		}
		if len(items) < l.chunk || from+l.chunk >= total {
			return out, matched, nil
		}
	}
}

// indexedAttrs names, per kind, the comparisons narrowUsers and
// narrowGroups hand to the store.
var indexedAttrs = map[string]string{
	"users":  "id, userName, externalId, emails.value, active, groups.value, groups.display, " + URNBridge + ":syncState or :gsid",
	"groups": "id, displayName, externalId, members.value",
}

// page returns the count items of all from offset on.
func page[T any](all []T, offset, count int) []T {
	if offset >= len(all) {
		return nil
	}
	end := len(all)
	if count >= 0 && offset+count < end {
		end = offset + count
	}
	return all[offset:end]
}

// metaView is the meta attribute filters are evaluated against.
func metaView(resourceType, location string, created, modified time.Time, version int64) map[string]any {
	return map[string]any{
		"resourceType": resourceType,
		"location":     location,
		"created":      created.UTC().Format(time.RFC3339Nano),
		"lastModified": modified.UTC().Format(time.RFC3339Nano),
		"version":      etag(version),
	}
}

// filterOf returns the filter of a list request r, or nil: the one
// serveLibrary validated (listFilter) and carried past the library, or
// else the one the library parsed and validated.
func filterOf(r *http.Request, params elscim.ListRequestParams) filter.Expression {
	var e filter.Expression
	if f, ok := r.Context().Value(listFilterKey{}).(filter.Expression); ok {
		e = f
	} else if params.FilterValidator != nil {
		e = params.FilterValidator.GetFilter()
	} else {
		return nil
	}
	unescapeFilter(e)
	return e
}

type listFilterKey struct{}

// listFilter parses raw, the filter of a list of resource type rt, and
// resolves it (resolveFilter); ok reports whether it is valid.
func listFilter(raw string, rt elscim.ResourceType) (e filter.Expression, ok bool) {
	raw = strings.TrimSpace(raw) // as the library reads it
	if raw == "" {
		return nil, false
	}
	e, err := filter.ParseFilter([]byte(raw))
	if err != nil {
		return nil, false
	}
	return e, resolveFilter(e, rt)
}

// resolveFilter reports whether e is a valid filter for resource type rt,
// and names the schema of each attribute of an extension that e names
// without it (RFC 7644 §3.10 lets clients omit only the core schema's URN,
// but the library accepts a short name it finds in an extension), so it is
// looked up there, as validated.
//
// The library validates a filter against one schema at a time, the core
// schema and then each extension, the whole filter each time, so it
// refuses a filter comparing attributes of two schemas
// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department
// eq "Sales" and active eq true`, RFC 7644 §3.4.2.2): none holds them all.
// Here each attribute expression must pass the library's own validation
// alone, which finds it the schema its URN names, or the first that has
// the attribute. Every filter the library accepts passes (each of its
// attribute expressions passes in the schema the whole did), so only such
// filters are answered differently.
func resolveFilter(e filter.Expression, rt elscim.ResourceType) bool {
	// The schemas the library validates a list filter against.
	core := rt.Schema
	core.Attributes = append(slices.Clip(rt.Schema.Attributes), schema.CommonAttributes()...)
	exts := make([]schema.Schema, len(rt.SchemaExtensions))
	for i, x := range rt.SchemaExtensions {
		exts[i] = x.Schema
	}
	qualify := func(p *filter.AttributePath) {
		if p.URIPrefix != nil {
			return
		}
		if _, ok := core.Attributes.ContainsAttribute(p.AttributeName); ok {
			return
		}
		for _, x := range exts {
			if _, ok := x.Attributes.ContainsAttribute(p.AttributeName); ok {
				p.URIPrefix = &x.ID
				return
			}
		}
	}
	var valid func(e filter.Expression) bool
	valid = func(e filter.Expression) bool {
		switch x := e.(type) {
		case *filter.LogicalExpression:
			return valid(x.Left) && valid(x.Right)
		case *filter.NotExpression:
			return valid(x.Expression)
		}
		if libfilter.NewFilterValidator(e, core, exts...).Validate() != nil {
			return false
		}
		switch x := e.(type) {
		case *filter.AttributeExpression:
			qualify(&x.AttributePath)
		case *filter.ValuePath:
			qualify(&x.AttributePath)
		}
		return true
	}
	return valid(e)
}

// unescapeFilter decodes, in place, the escapes of e's string values: a
// filter's strings are JSON strings (RFC 7644 §3.4.2.2), which the parser
// keeps as written between their quotes. Call it once per parsed filter.
func unescapeFilter(e filter.Expression) {
	switch x := e.(type) {
	case *filter.AttributeExpression:
		if s, ok := x.CompareValue.(string); ok && strings.IndexByte(s, '\\') >= 0 {
			var v string
			if json.Unmarshal([]byte(`"`+s+`"`), &v) == nil {
				x.CompareValue = v
			}
		}
	case *filter.LogicalExpression:
		unescapeFilter(x.Left)
		unescapeFilter(x.Right)
	case *filter.NotExpression:
		unescapeFilter(x.Expression)
	case *filter.ValuePath:
		unescapeFilter(x.ValueFilter)
	}
}

// Large list pages are built a few at a time. A page of the largest users
// the limits allow (200 of scim.limits.maxDocumentBytes) takes several
// times its stored size to decode, render and encode, and concurrent ones
// add up; pages of less than smallPage stored bytes (every identity
// provider look-up) never wait.
const (
	// pageBudget is how many stored bytes of large pages are built at
	// once; a larger page is built alone.
	pageBudget = 2 << 20
	smallPage  = 256 << 10
)

type pageHoldKey struct{}

// pageHold is the share of the page budget a request holds; the handler
// releases it once the library has written the response.
type pageHold struct{ held int64 }

// holdPage waits until a page of size stored bytes may be built, and
// keeps that share of the page budget until the response is written. A
// request never holds more than the whole budget (the server root lists
// users, then groups), so it never waits for itself.
func (h *handler) holdPage(r *http.Request, size int64) error {
	hold, ok := r.Context().Value(pageHoldKey{}).(*pageHold)
	if !ok {
		return nil
	}
	if err := h.holdPageFor(r.Context(), hold, size); err != nil {
		return fmt.Errorf("scim: wait to build a page: %w", err)
	}
	return nil
}

// releasePage gives back what the request's hold took.
func (h *handler) releasePage(hold *pageHold) {
	if hold.held > 0 {
		h.pages.Release(hold.held)
		hold.held = 0
	}
}
