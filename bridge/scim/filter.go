package scim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scim2/filter-parser/v2"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// evalFilter reports whether res (a SCIM resource or one element of a
// multi-valued attribute) matches e. Attribute names are compared
// case-insensitively; values of id, externalId and gsid case-sensitively,
// other strings case-insensitively (RFC 7643 caseExact of the attributes
// the bridge stores).
func evalFilter(e filter.Expression, res map[string]any) bool {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		vals := collect(res, e.AttributePath)
		name := e.AttributePath.AttributeName
		if sub := e.AttributePath.SubAttributeName(); sub != "" {
			name = sub
		}
		exact := strings.EqualFold(name, "id") || strings.EqualFold(name, "externalId") || strings.EqualFold(name, "gsid")
		switch e.Operator {
		case filter.PR:
			for _, v := range vals {
				if present(v) {
					return true
				}
			}
			return false
		case filter.NE:
			for _, v := range vals {
				if compare(filter.EQ, v, e.CompareValue, exact) {
					return false
				}
			}
			return true
		default:
			if e.CompareValue == nil && e.Operator == filter.EQ {
				for _, v := range vals {
					if present(v) {
						return false
					}
				}
				return true
			}
			for _, v := range vals {
				if compare(e.Operator, v, e.CompareValue, exact) {
					return true
				}
			}
			return false
		}
	case *filter.LogicalExpression:
		switch e.Operator {
		case filter.AND:
			return evalFilter(e.Left, res) && evalFilter(e.Right, res)
		case filter.OR:
			return evalFilter(e.Left, res) || evalFilter(e.Right, res)
		}
		return false
	case *filter.NotExpression:
		return !evalFilter(e.Expression, res)
	case *filter.ValuePath:
		container, ok := containerFor(res, e.AttributePath)
		if !ok {
			return false
		}
		_, v, ok := getKey(container, e.AttributePath.AttributeName)
		if !ok {
			return false
		}
		var elems []any
		switch x := v.(type) {
		case []any:
			elems = x
		case map[string]any:
			elems = []any{x}
		}
		for _, el := range elems {
			if m, ok := el.(map[string]any); ok && evalFilter(e.ValueFilter, m) {
				return true
			}
		}
		return false
	}
	return false
}

// containerFor returns the map an attribute path's name is looked up in:
// res itself, or the extension object named by the path's URI.
func containerFor(res map[string]any, p filter.AttributePath) (map[string]any, bool) {
	uri := p.URI()
	if uri == "" || strings.EqualFold(uri, URNUser) || strings.EqualFold(uri, URNGroup) {
		return res, true
	}
	_, v, ok := getKey(res, uri)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// collect returns the values an attribute path designates in res; for
// multi-valued complex attributes without a sub-attribute, each element's
// "value".
func collect(res map[string]any, p filter.AttributePath) []any {
	container, ok := containerFor(res, p)
	if !ok {
		return nil
	}
	_, v, ok := getKey(container, p.AttributeName)
	if !ok {
		return nil
	}
	sub := p.SubAttributeName()
	var out []any
	pick := func(el any) {
		m, isMap := el.(map[string]any)
		switch {
		case sub != "" && isMap:
			if _, sv, ok := getKey(m, sub); ok {
				out = append(out, sv)
			}
		case sub == "" && isMap:
			if _, sv, ok := getKey(m, "value"); ok {
				out = append(out, sv)
			} else {
				out = append(out, m)
			}
		case sub == "":
			out = append(out, el)
		}
	}
	if list, ok := v.([]any); ok {
		for _, el := range list {
			pick(el)
		}
		return out
	}
	if sub == "" {
		if m, ok := v.(map[string]any); ok {
			return []any{m}
		}
	}
	pick(v)
	return out
}

func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	}
	return 0, false
}

// compare applies op to an attribute value v and the filter's value ref.
func compare(op filter.CompareOperator, v, ref any, exact bool) bool {
	switch r := ref.(type) {
	case bool:
		b, ok := v.(bool)
		if !ok {
			if s, isStr := v.(string); isStr {
				pb, err := strconv.ParseBool(strings.ToLower(s))
				b, ok = pb, err == nil
			}
		}
		return ok && op == filter.EQ && b == r
	case string:
		s, ok := v.(string)
		if !ok {
			if v == nil {
				return false
			}
			s = fmt.Sprint(v)
		}
		if !exact {
			s, r = store.Fold(s), store.Fold(r)
		}
		switch op {
		case filter.EQ:
			return s == r
		case filter.CO:
			return strings.Contains(s, r)
		case filter.SW:
			return strings.HasPrefix(s, r)
		case filter.EW:
			return strings.HasSuffix(s, r)
		case filter.GT, filter.GE, filter.LT, filter.LE:
			c := strings.Compare(s, r)
			if ts, err1 := time.Parse(time.RFC3339Nano, s); err1 == nil {
				if tr, err2 := time.Parse(time.RFC3339Nano, r); err2 == nil {
					c = ts.Compare(tr)
				}
			}
			return ordered(op, c)
		}
		return false
	default:
		rf, ok := toFloat(ref)
		if !ok {
			return false
		}
		vf, ok := toFloat(v)
		if !ok {
			if s, isStr := v.(string); isStr {
				f, err := strconv.ParseFloat(s, 64)
				vf, ok = f, err == nil
			}
		}
		if !ok {
			return false
		}
		c := 0
		if vf < rf {
			c = -1
		} else if vf > rf {
			c = 1
		}
		if op == filter.EQ {
			return c == 0
		}
		return ordered(op, c)
	}
}

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

// indexedEq finds an "eq" on an indexed field in e. fields maps the
// lower-cased attribute path to the store.Query field. exact reports that
// the whole filter is that comparison, so the store's result is the
// answer; otherwise the candidates must still be filtered in memory.
func indexedEq(e filter.Expression, fields func(string) (string, bool)) (field, value string, exact, ok bool) {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		if e.Operator != filter.EQ {
			return "", "", false, false
		}
		s, isStr := e.CompareValue.(string)
		if !isStr {
			return "", "", false, false
		}
		if uri := e.AttributePath.URI(); uri != "" && !strings.EqualFold(uri, URNUser) && !strings.EqualFold(uri, URNGroup) {
			return "", "", false, false
		}
		key := strings.ToLower(e.AttributePath.AttributeName)
		if sub := e.AttributePath.SubAttributeName(); sub != "" {
			key += "." + strings.ToLower(sub)
		}
		f, found := fields(key)
		return f, s, found, found
	case *filter.LogicalExpression:
		if e.Operator != filter.AND {
			return "", "", false, false
		}
		if f, v, _, ok := indexedEq(e.Left, fields); ok {
			return f, v, false, true
		}
		if f, v, _, ok := indexedEq(e.Right, fields); ok {
			return f, v, false, true
		}
	case *filter.ValuePath:
		if vf, ok := e.ValueFilter.(*filter.AttributeExpression); ok && vf.AttributePath.SubAttribute == nil {
			name := strings.ToLower(e.AttributePath.AttributeName + "." + vf.AttributePath.AttributeName)
			if f, found := fields(name); found && vf.Operator == filter.EQ {
				if s, isStr := vf.CompareValue.(string); isStr {
					return f, s, false, true
				}
			}
		}
	}
	return "", "", false, false
}

// userIndex maps a lower-cased user attribute path to its store.Query
// field.
func userIndex(path string) (string, bool) {
	switch path {
	case "id":
		return "id", true
	case "username":
		return "userName", true
	case "externalid":
		return "externalId", true
	case "emails", "emails.value":
		return "emails", true
	}
	return "", false
}

// groupIndex maps a lower-cased group attribute path to its store.Query
// field.
func groupIndex(path string) (string, bool) {
	switch path {
	case "id":
		return "id", true
	case "displayname":
		return "displayName", true
	case "externalid":
		return "externalId", true
	}
	return "", false
}
