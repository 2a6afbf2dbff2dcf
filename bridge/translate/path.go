package translate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/resolve"
)

// Schema URNs of the user extensions the mapping reads.
const (
	EnterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	GainsightURN  = "urn:ietf:params:scim:schemas:extension:gainsight:2.0:User"
)

// getCI returns m[key], matching the key case-insensitively as RFC 7643
// section 2.1 requires of attribute names. An exact match is preferred;
// among several case-insensitive matches the smallest key wins so the result
// does not depend on map order.
func getCI(m map[string]any, key string) (any, bool) {
	if m == nil {
		return nil, false
	}
	if v, ok := m[key]; ok {
		return v, true
	}
	var found []string
	for k := range m {
		if strings.EqualFold(k, key) {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		return nil, false
	}
	sort.Strings(found)
	return m[found[0]], true
}

// pathStep is one dotted segment of an attribute path, optionally with a
// value filter: emails[type eq "work"].
type pathStep struct {
	name        string
	filterAttr  string
	filterValue string
	filtered    bool
}

// attrPath is a parsed SCIM attribute path: an optional schema URN and the
// steps below it.
type attrPath struct {
	raw   string
	urn   string
	steps []pathStep
}

// parsePath parses "name.givenName", "emails[type eq \"work\"].value" and
// "urn:…:User:manager.value". Only the eq operator is supported in filters:
// it is what mappings need to pick one value of a multi-valued attribute.
func parsePath(raw string) (attrPath, error) {
	p := attrPath{raw: raw}
	rest := raw
	if strings.HasPrefix(strings.ToLower(raw), "urn:") {
		// The attribute follows the last colon outside a filter.
		cut := strings.LastIndex(stripFilters(raw), ":")
		if cut < 0 || cut == len(raw)-1 {
			return p, fmt.Errorf("path %q: no attribute after the schema URN", raw)
		}
		p.urn, rest = raw[:cut], raw[cut+1:]
	}
	for _, seg := range splitSteps(rest) {
		st := pathStep{name: seg}
		if i := strings.IndexByte(seg, '['); i >= 0 {
			if !strings.HasSuffix(seg, "]") {
				return p, fmt.Errorf("path %q: unterminated filter", raw)
			}
			st.name = seg[:i]
			f := strings.Fields(seg[i+1 : len(seg)-1])
			if len(f) != 3 || !strings.EqualFold(f[1], "eq") {
				return p, fmt.Errorf("path %q: filter must be `attr eq \"value\"`", raw)
			}
			st.filterAttr, st.filterValue, st.filtered = f[0], strings.Trim(f[2], `"`), true
		}
		if st.name == "" {
			return p, fmt.Errorf("path %q: empty attribute name", raw)
		}
		p.steps = append(p.steps, st)
	}
	if len(p.steps) == 0 {
		return p, fmt.Errorf("path %q: empty", raw)
	}
	return p, nil
}

// stripFilters blanks out bracketed filters (keeping length) so colons and
// dots inside filter values are not taken as separators.
func stripFilters(s string) string {
	b := []byte(s)
	depth := 0
	for i, c := range b {
		switch {
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth > 0:
			b[i] = ' '
		}
	}
	return string(b)
}

func splitSteps(s string) []string {
	mask := stripFilters(s)
	var out []string
	start := 0
	for i := 0; i < len(mask); i++ {
		if mask[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// lookup returns the value at path in doc, or false when absent or null.
// Below a multi-valued attribute, the sub-attribute of every (filtered)
// element is collected into a list; a filtered list that matches one
// element yields that element.
func (p attrPath) lookup(doc map[string]any) (any, bool) {
	if v, ok := getCI(doc, p.raw); ok && v != nil && strings.Contains(p.raw, ".") {
		// A flattened key as some PATCH bodies carry it ("name.givenName").
		return v, true
	}
	var node any = doc
	if p.urn != "" {
		ext, ok := getCI(doc, p.urn)
		if !ok {
			return nil, false
		}
		node = ext
	}
	for _, st := range p.steps {
		node = step(node, st)
		if node == nil {
			return nil, false
		}
	}
	return node, true
}

func step(node any, st pathStep) any {
	switch n := node.(type) {
	case map[string]any:
		v, _ := getCI(n, st.name)
		if st.filtered {
			return filter(v, st)
		}
		return v
	case []any:
		var out []any
		for _, e := range n {
			v := step(e, st)
			if l, ok := v.([]any); ok {
				out = append(out, l...)
			} else if v != nil {
				out = append(out, v)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return nil
}

func filter(v any, st pathStep) any {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []any
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		fv, _ := getCI(m, st.filterAttr)
		if s, ok := resolve.AsString(fv); ok && strings.EqualFold(s, st.filterValue) {
			out = append(out, e)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

// normaliseDoc returns doc with every nested map and slice in the shapes a
// JSON decoder produces (map[string]any, []any), so documents built in Go
// ([]map[string]any, []string, map[string]string …) map the same as those
// read from the store.
func normaliseDoc(doc map[string]any) map[string]any {
	if doc == nil {
		return nil
	}
	out, _ := normaliseValue(doc).(map[string]any)
	return out
}

func normaliseValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, float64, int, int64:
		return v
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normaliseValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normaliseValue(e)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return v
		}
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			out[iter.Key().String()] = normaliseValue(iter.Value().Interface())
		}
		return out
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normaliseValue(rv.Index(i).Interface())
		}
		return out
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	case reflect.Float32:
		return rv.Float()
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return normaliseValue(rv.Elem().Interface())
	}
	return v
}
