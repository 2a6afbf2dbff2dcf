package translate

import (
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/scim2/filter-parser/v2"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/resolve"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
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

// attrPath is a parsed SCIM attribute path, in the PATH grammar of RFC 7644
// section 3.5.2 that PATCH uses: "title", "name.givenName",
// "urn:…:User:manager.value", or a value filter on a multi-valued attribute
// with an optional sub-attribute after it, "addresses[type eq \"home
// office\"].locality". It is parsed by scim2/filter-parser, as the SCIM
// front end parses PATCH paths, so a mapping accepts what a PATCH accepts.
type attrPath struct {
	raw  string
	urn  string            // schema URN; "" or the core User schema means the document itself
	pre  []string          // attribute and sub-attribute before the filter
	expr filter.Expression // value filter; nil when the path has none
	post string            // sub-attribute after the filter
}

// parsePath parses a mapping's SCIM attribute path.
func parsePath(raw string) (attrPath, error) {
	p := attrPath{raw: raw}
	parsed, err := filter.ParsePath([]byte(raw))
	if err != nil {
		return p, fmt.Errorf("path %q is not a SCIM attribute path (attribute, attribute.subAttribute, urn:…:attribute or attribute[filter].subAttribute): %v", raw, err)
	}
	ap := parsed.AttributePath
	p.urn = ap.URI()
	p.pre = []string{ap.AttributeName}
	if sub := ap.SubAttributeName(); sub != "" {
		p.pre = append(p.pre, sub)
	}
	p.expr = parsed.ValueExpression
	if parsed.SubAttribute != nil {
		p.post = *parsed.SubAttribute
	}
	return p, nil
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
	if p.urn != "" && !strings.EqualFold(p.urn, coreUserURN) {
		ext, ok := getCI(doc, p.urn)
		if !ok {
			return nil, false
		}
		node = ext
	}
	for _, name := range p.pre {
		node = step(node, name)
	}
	if p.expr != nil {
		node = keep(node, p.expr)
	}
	if p.post != "" {
		node = step(node, p.post)
	}
	return node, node != nil
}

// coreUserURN is the core User schema; a path may name it before a core
// attribute ("urn:ietf:params:scim:schemas:core:2.0:User:userName").
const coreUserURN = "urn:ietf:params:scim:schemas:core:2.0:User"

// step returns the attribute name of node; of a list, the attribute of
// every element, flattened.
func step(node any, name string) any {
	switch n := node.(type) {
	case map[string]any:
		v, _ := getCI(n, name)
		return v
	case []any:
		var out []any
		for _, e := range n {
			v := step(e, name)
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

// keep returns the elements of a multi-valued attribute that match expr:
// nil for none, the element itself for one, a list for several. A single
// complex value is treated as a list of one.
func keep(v any, expr filter.Expression) any {
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case map[string]any:
		list = []any{x}
	}
	var out []any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && matches(expr, m) {
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

// matches reports whether el, one element of a multi-valued attribute,
// satisfies a value filter (RFC 7644 section 3.4.2.2 operators, and, or,
// not). Attribute names match case-insensitively; strings compare
// case-insensitively, numbers as numbers and booleans as booleans, also
// when the document carries them as strings.
func matches(expr filter.Expression, el map[string]any) bool {
	switch e := expr.(type) {
	case *filter.LogicalExpression:
		if e.Operator == filter.AND {
			return matches(e.Left, el) && matches(e.Right, el)
		}
		return matches(e.Left, el) || matches(e.Right, el)
	case *filter.NotExpression:
		return !matches(e.Expression, el)
	case *filter.AttributeExpression:
		var vals []any
		switch v := step(el, e.AttributePath.AttributeName); {
		case e.AttributePath.SubAttributeName() != "":
			vals = flatten(step(v, e.AttributePath.SubAttributeName()))
		default:
			vals = flatten(v)
		}
		switch {
		case e.Operator == filter.PR:
			return len(vals) > 0
		case e.Operator == filter.NE:
			return !anyCompares(filter.EQ, vals, e.CompareValue)
		case e.Operator == filter.EQ && e.CompareValue == nil:
			return len(vals) == 0
		}
		return anyCompares(e.Operator, vals, e.CompareValue)
	}
	return false
}

// flatten returns the non-empty values of v: its elements when it is a
// list.
func flatten(v any) []any {
	var out []any
	add := func(x any) {
		if s, ok := x.(string); x == nil || ok && s == "" {
			return
		}
		out = append(out, x)
	}
	if l, ok := v.([]any); ok {
		for _, x := range l {
			add(x)
		}
		return out
	}
	add(v)
	return out
}

func anyCompares(op filter.CompareOperator, vals []any, ref any) bool {
	for _, v := range vals {
		if compareValue(op, v, ref) {
			return true
		}
	}
	return false
}

// compareValue applies op to a document value v and a filter's value ref.
func compareValue(op filter.CompareOperator, v, ref any) bool {
	switch r := ref.(type) {
	case bool:
		s, ok := resolve.AsString(v)
		b, err := strconv.ParseBool(strings.ToLower(s))
		return ok && err == nil && op == filter.EQ && b == r
	case string:
		s, ok := resolve.AsString(v)
		if !ok {
			return false
		}
		s, r = store.Fold(s), store.Fold(r)
		switch op {
		case filter.EQ:
			return s == r
		case filter.CO:
			return strings.Contains(s, r)
		case filter.SW:
			return strings.HasPrefix(s, r)
		case filter.EW:
			return strings.HasSuffix(s, r)
		}
		return ordered(op, strings.Compare(s, r))
	}
	rs, ok := resolve.AsString(ref)
	if !ok {
		return false
	}
	rf, err := strconv.ParseFloat(rs, 64)
	if err != nil {
		return false
	}
	s, ok := resolve.AsString(v)
	if !ok {
		return false
	}
	vf, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return false
	}
	if op == filter.EQ {
		return vf == rf
	}
	return ordered(op, cmp.Compare(vf, rf))
}

// ordered applies an ordering operator to the result of a comparison.
func ordered(op filter.CompareOperator, c int) bool {
	switch op {
	case filter.GT:
		return c > 0
	case filter.GE:
		return c >= 0
	case filter.LT:
		return c < 0
	case filter.LE:
		return c <= 0
	}
	return false
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
