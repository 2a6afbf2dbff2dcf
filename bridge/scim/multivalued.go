package scim

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// tidyMultiValued makes every multi-valued complex attribute of a user
// document (core and extension) obey RFC 7643 §2.4 before it is stored:
//
//   - an element repeating the (type, value) pair of an earlier one is
//     dropped (compared case-insensitively, as the store compares emails);
//     when the dropped one was primary the kept one becomes primary;
//   - when several elements are primary, the first keeps it and the others
//     are demoted to primary false, as a PATCH that sets a new primary does.
//
// IdPs send both: Okta's and OneLogin's templates repeat the work email as
// the primary one, and a PUT built from two sources marks two primaries.
// Gainsight gets the primary email, so exactly one must be.
func tidyMultiValued(doc map[string]any) {
	rewriteLists(doc, func(list []any) []any {
		return onePrimary(dedupeElements(list))
	})
}

// rewriteLists replaces every list of doc and of its extension objects by
// what fn returns for it.
func rewriteLists(doc map[string]any, fn func([]any) []any) {
	for k, v := range doc {
		switch x := v.(type) {
		case []any:
			doc[k] = fn(x)
		case map[string]any:
			for ik, iv := range x {
				if l, ok := iv.([]any); ok {
					x[ik] = fn(l)
				}
			}
		}
	}
}

// dedupeElements drops the complex elements of list whose (type, value)
// repeats an earlier element's. Elements without a value (addresses) are
// compared whole, apart from primary. Simple values are left alone.
func dedupeElements(list []any) []any {
	seen := make(map[string]map[string]any, len(list))
	out := list[:0:0]
	for _, el := range list {
		m, ok := el.(map[string]any)
		if !ok {
			out = append(out, el)
			continue
		}
		key, ok := elementKey(m)
		if !ok {
			out = append(out, el)
			continue
		}
		if kept, dup := seen[key]; dup {
			if _, primary := primaryKey(m); primary {
				setPrimary(kept, true)
			}
			continue
		}
		seen[key] = m
		out = append(out, el)
	}
	return out
}

// elementKey identifies an element by its type and value.
func elementKey(m map[string]any) (string, bool) {
	_, t, _ := getKey(m, "type")
	typ, _ := t.(string)
	if _, v, ok := getKey(m, "value"); ok && v != nil {
		s, isStr := v.(string)
		if !isStr {
			s = fmt.Sprint(v)
		}
		return "t=" + store.Fold(typ) + "\x00v=" + store.Fold(s), true
	}
	rest := make(map[string]any, len(m))
	for k, v := range m {
		if strings.EqualFold(k, "primary") {
			continue
		}
		rest[k] = v
	}
	raw, err := json.Marshal(rest)
	if err != nil {
		return "", false
	}
	return "o=" + string(raw), true
}

// onePrimary demotes every primary element of list after the first.
func onePrimary(list []any) []any {
	found := false
	for _, el := range list {
		k, primary := primaryKey(el)
		if !primary {
			continue
		}
		if found {
			el.(map[string]any)[k] = false
		}
		found = true
	}
	return list
}

// setPrimary sets the element's primary sub-attribute, keeping the key's
// spelling when it has one.
func setPrimary(m map[string]any, v bool) {
	k, _, ok := getKey(m, "primary")
	if !ok {
		k = "primary"
	}
	m[k] = v
}
