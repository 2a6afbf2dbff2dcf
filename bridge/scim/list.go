package scim

import (
	"time"

	elscim "github.com/elimity-com/scim"
	"github.com/scim2/filter-parser/v2"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// listMatching answers one page of a list request (RFC 7644 §3.4.2) for
// users or groups. An "eq" on an indexed attribute becomes a store query;
// when that comparison is the whole filter the store pages the result
// itself, otherwise its candidates (or, without an indexed comparison,
// every resource) are filtered in memory against view and paged here.
// list receives filtering=true when its results will be filtered in memory.
// expr is the filter (nil for none), startIndex is 1-based.
func listMatching[T any](
	expr filter.Expression,
	startIndex, count int,
	index func(string) (string, bool),
	list func(q store.Query, filtering bool) ([]T, int, error),
	view func(T) (map[string]any, error),
) ([]T, int, error) {
	offset := max(startIndex-1, 0)
	count = max(count, 0)
	q := store.Query{}
	filtering := expr != nil
	if expr != nil {
		if f, v, exact, ok := indexedEq(expr, index); ok {
			q.Field, q.Value = f, v
			filtering = !exact
		}
	}
	if !filtering {
		q.Offset, q.Limit = offset, count
		if count == 0 {
			q.Limit = 1 // only totalResults is wanted
		}
		items, total, err := list(q, false)
		if err != nil {
			return nil, 0, err
		}
		if count == 0 {
			items = nil
		}
		return items, total, nil
	}
	all, _, err := list(q, true)
	if err != nil {
		return nil, 0, err
	}
	var matched []T
	for _, item := range all {
		v, err := view(item)
		if err != nil {
			return nil, 0, err
		}
		if evalFilter(expr, v) {
			matched = append(matched, item)
		}
	}
	return page(matched, offset, count), len(matched), nil
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
func metaView(resourceType string, created, modified time.Time, version int64) map[string]any {
	return map[string]any{
		"resourceType": resourceType,
		"created":      created.UTC().Format(time.RFC3339Nano),
		"lastModified": modified.UTC().Format(time.RFC3339Nano),
		"version":      etag(version),
	}
}

// filterOf returns the filter the library parsed and validated for a list
// request, or nil.
func filterOf(params elscim.ListRequestParams) filter.Expression {
	if params.FilterValidator == nil {
		return nil
	}
	return params.FilterValidator.GetFilter()
}
