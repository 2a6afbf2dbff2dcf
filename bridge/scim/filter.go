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

// evalFilter reports whether res (a SCIM resource) matches e. Attribute
// names are compared case-insensitively; values of id, externalId and gsid
// case-sensitively, and so are the ids of a user's groups and a group's
// members (groups.value, members.value), which are resource ids; other
// strings case-insensitively (RFC 7643 caseExact of the attributes the
// bridge stores).
func evalFilter(e filter.Expression, res map[string]any) bool {
	return evalIn(e, res, "")
}

// evalIn is evalFilter for res, an element of the multi-valued attribute
// parent ("" for a resource).
func evalIn(e filter.Expression, res map[string]any, parent string) bool {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		vals := collect(res, e.AttributePath)
		exact := caseExact(parent, e.AttributePath)
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
			return evalIn(e.Left, res, parent) && evalIn(e.Right, res, parent)
		case filter.OR:
			return evalIn(e.Left, res, parent) || evalIn(e.Right, res, parent)
		}
		return false
	case *filter.NotExpression:
		return !evalIn(e.Expression, res, parent)
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
			if m, ok := el.(map[string]any); ok && evalIn(e.ValueFilter, m, e.AttributePath.AttributeName) {
				return true
			}
		}
		return false
	}
	return false
}

// isIDList reports whether name is an attribute whose elements' value is a
// resource id: a user's groups, a group's members.
func isIDList(name string) bool {
	return strings.EqualFold(name, "groups") || strings.EqualFold(name, "members")
}

// caseExact reports whether the values p designates in an element of
// parent ("" for a resource) compare case-sensitively.
func caseExact(parent string, p filter.AttributePath) bool {
	name, sub := p.AttributeName, p.SubAttributeName()
	if parent == "" && isIDList(name) && (sub == "" || strings.EqualFold(sub, "value")) {
		return true
	}
	if parent != "" && isIDList(parent) && strings.EqualFold(name, "value") {
		return true
	}
	leaf := name
	if sub != "" {
		leaf = sub
	}
	return strings.EqualFold(leaf, "id") || strings.EqualFold(leaf, "externalId") || strings.EqualFold(leaf, "gsid")
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

// mentions reports whether e (nil: no filter) compares an attribute whose
// path match accepts; a value path's own filter compares sub-attributes of
// its path, which is the one tested.
func mentions(e filter.Expression, match func(p filter.AttributePath) bool) bool {
	switch x := e.(type) {
	case *filter.AttributeExpression:
		return match(x.AttributePath)
	case *filter.ValuePath:
		return match(x.AttributePath)
	case *filter.LogicalExpression:
		return mentions(x.Left, match) || mentions(x.Right, match)
	case *filter.NotExpression:
		return mentions(x.Expression, match)
	}
	return false
}

// coreAttribute matches the paths of the core schema's attribute name,
// with or without the schema's URN, in any letter case.
func coreAttribute(name string) func(p filter.AttributePath) bool {
	return func(p filter.AttributePath) bool {
		return isCoreURN(p.URI()) && strings.EqualFold(p.AttributeName, name)
	}
}

// narrowUsers returns the conditions of e that the store answers itself
// (store.Finder), and whether they are the whole of e, so the store's
// result is the answer; otherwise the users it selects are candidates to
// test against e. Only "eq" comparisons joined by "and" are handed to the
// store: on id, userName, externalId, emails.value, active (a boolean),
// groups.value, groups.display and the bridge extension's syncState and
// gsid.
func narrowUsers(e filter.Expression) (f store.UserFilter, exact bool) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		if e.Operator != filter.AND {
			return store.UserFilter{}, false
		}
		l, le := narrowUsers(e.Left)
		r, re := narrowUsers(e.Right)
		m, ok := mergeUserFilters(l, r)
		return m, le && re && ok
	case *filter.AttributeExpression:
		return userCondition(e.AttributePath, e)
	case *filter.ValuePath:
		if vf, ok := e.ValueFilter.(*filter.AttributeExpression); ok && vf.AttributePath.SubAttribute == nil && vf.AttributePath.URI() == "" {
			sub := vf.AttributePath.AttributeName
			p := filter.AttributePath{URIPrefix: e.AttributePath.URIPrefix, AttributeName: e.AttributePath.AttributeName, SubAttribute: &sub}
			return userCondition(p, vf)
		}
		// The first "eq" of an "and" inside the brackets still narrows.
		if lf, ok := e.ValueFilter.(*filter.LogicalExpression); ok && lf.Operator == filter.AND {
			for _, side := range []filter.Expression{lf.Left, lf.Right} {
				if f, _ := narrowUsers(&filter.ValuePath{AttributePath: e.AttributePath, ValueFilter: side}); f != (store.UserFilter{}) {
					return f, false
				}
			}
		}
	}
	return store.UserFilter{}, false
}

// noMatch stands for a value no stored value equals (a NUL character
// cannot be stored), for comparisons nothing can satisfy.
const noMatch = "\x00"

// userCondition translates one comparison on path p, or reports that the
// store cannot answer it.
func userCondition(p filter.AttributePath, e *filter.AttributeExpression) (store.UserFilter, bool) {
	var f store.UserFilter
	if e.Operator != filter.EQ {
		return f, false
	}
	key := strings.ToLower(p.AttributeName)
	if sub := p.SubAttributeName(); sub != "" {
		key += "." + strings.ToLower(sub)
	}
	s, isStr := e.CompareValue.(string)
	switch uri := p.URI(); {
	case strings.EqualFold(uri, URNBridge):
		if !isStr {
			return f, false
		}
		switch key {
		case "syncstate":
			f.SyncState = noMatch
			for _, st := range store.SyncStates() {
				if store.Fold(s) == store.Fold(st) {
					f.SyncState = st
				}
			}
			return f, true
		case "gsid":
			f.GSID = s
			if s == "" {
				f.GSID = noMatch
			}
			return f, true
		}
		return f, false
	case !isCoreURN(uri):
		return f, false
	}
	if b, isBool := e.CompareValue.(bool); isBool && key == "active" {
		f.Active = &b
		return f, true
	}
	if !isStr {
		return f, false
	}
	switch key {
	case "id":
		f.Field, f.Value = "id", s
	case "username":
		f.Field, f.Value = "userName", s
	case "externalid":
		f.Field, f.Value = "externalId", s
	case "emails", "emails.value":
		f.Field, f.Value = "emails", s
	case "groups", "groups.value":
		f.Group = s
	case "groups.display":
		f.GroupName = s
	default:
		return f, false
	}
	// An empty value matches nothing stored; the store says so itself for
	// Field, and Group and GroupName would otherwise mean "any".
	if s == "" && f.Field == "" {
		f.Group, f.GroupName = noMatch, ""
	}
	return f, true
}

// mergeUserFilters combines the conditions of both sides of an "and".
// ok is false when both set the same condition to different values (a's
// is kept), except active, where that is a contradiction: nothing
// matches.
func mergeUserFilters(a, b store.UserFilter) (store.UserFilter, bool) {
	ok := true
	set := func(dst *string, v string) {
		switch {
		case v == "" || v == *dst:
		case *dst == "":
			*dst = v
		default:
			ok = false
		}
	}
	switch {
	case b.Field == "":
	case a.Field == "":
		a.Field, a.Value = b.Field, b.Value
	case a.Field != b.Field || a.Value != b.Value:
		ok = false
	}
	switch {
	case b.Active == nil:
	case a.Active == nil:
		a.Active = b.Active
	case *a.Active != *b.Active:
		a.Group = noMatch
	}
	set(&a.Group, b.Group)
	set(&a.GroupName, b.GroupName)
	set(&a.SyncState, b.SyncState)
	set(&a.GSID, b.GSID)
	return a, ok
}

// narrowGroups is narrowUsers for groups: "eq" on id, displayName,
// externalId and members.value.
func narrowGroups(e filter.Expression) (f store.GroupFilter, exact bool) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		if e.Operator != filter.AND {
			return store.GroupFilter{}, false
		}
		l, le := narrowGroups(e.Left)
		r, re := narrowGroups(e.Right)
		ok := true
		if r.Field != "" {
			if l.Field == "" {
				l.Field, l.Value = r.Field, r.Value
			} else {
				ok = false
			}
		}
		if r.Member != "" {
			if l.Member == "" {
				l.Member = r.Member
			} else {
				ok = false
			}
		}
		return l, le && re && ok
	case *filter.AttributeExpression:
		return groupCondition(e.AttributePath, e)
	case *filter.ValuePath:
		if vf, ok := e.ValueFilter.(*filter.AttributeExpression); ok && vf.AttributePath.SubAttribute == nil && vf.AttributePath.URI() == "" {
			sub := vf.AttributePath.AttributeName
			p := filter.AttributePath{URIPrefix: e.AttributePath.URIPrefix, AttributeName: e.AttributePath.AttributeName, SubAttribute: &sub}
			return groupCondition(p, vf)
		}
	}
	return store.GroupFilter{}, false
}

func groupCondition(p filter.AttributePath, e *filter.AttributeExpression) (store.GroupFilter, bool) {
	var f store.GroupFilter
	s, isStr := e.CompareValue.(string)
	if e.Operator != filter.EQ || !isStr || !isCoreURN(p.URI()) {
		return f, false
	}
	key := strings.ToLower(p.AttributeName)
	if sub := p.SubAttributeName(); sub != "" {
		key += "." + strings.ToLower(sub)
	}
	switch key {
	case "id":
		f.Field, f.Value = "id", s
	case "displayname":
		f.Field, f.Value = "displayName", s
	case "externalid":
		f.Field, f.Value = "externalId", s
	case "members", "members.value":
		f.Member = s
		if s == "" {
			f.Member = noMatch
		}
	default:
		return f, false
	}
	return f, true
}
